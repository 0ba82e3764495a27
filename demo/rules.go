package demo

import (
	"context"
	"fmt"
)

// demoRules are the demo's whistle rules: which categories make the
// township raise a whistle instead of leaving the clue with the village's
// own people (the district default, set by the migrations, is "village").
// A rule on a category applies to its whole subtree. Township rows refine
// the district's: the three urban 街道 whistle street-order problems,
// the mountain 千家店镇 handles street vending in the village.
var demoRules = []struct {
	category, township, action string
	radiusM                    float64
	escalateAfter              int
}{
	{"CM.01.01", "", "whistle", 100, 3}, // 私搭乱建
	{"CM.01.03", "", "whistle", 100, 3}, // 占道经营
	{"CM.03", "", "whistle", 200, 3},    // 施工管理
	{"CM.04", "", "whistle", 300, 2},    // 突发事件: a second report escalates
	{"CM.06.01", "", "whistle", 50, 3},  // 井盖缺损
	{"HL.01", "", "whistle", 300, 5},    // 供暖: a building complains together
	{"HL.02", "", "whistle", 300, 5},    // 供水
	{"HL.03", "", "whistle", 300, 5},    // 供电
	{"HL.04", "", "whistle", 200, 2},    // 燃气
	{"HL.05.02", "", "whistle", 50, 3},  // 电梯故障
	{"HL.10.01", "", "whistle", 100, 3}, // 食品安全
	{"HL.11.02", "", "whistle", 100, 3}, // 土地承包纠纷
	{"HL.12.01", "", "whistle", 100, 3}, // 拖欠工资
	{"CM.05", "110119001", "whistle", 100, 3},
	{"CM.05", "110119002", "whistle", 100, 3},
	{"CM.05", "110119003", "whistle", 100, 3},
	{"CM.01.03", "110119107", "village", 100, 3},
}

const insertRule = `
INSERT INTO rules (category_id, township_id, township_level, action, join_radius_m, escalate_after)
SELECT c.id, t.id, t.level, $3, $4, $5
FROM categories c LEFT JOIN grids t ON t.code = $2 AND t.level = 'township'
WHERE c.code = $1 AND ($2 = '' OR t.id IS NOT NULL)`

func (l *loader) insertRules(ctx context.Context) error {
	for _, r := range demoRules {
		tag, err := l.tx.Exec(ctx, insertRule, r.category, r.township, r.action, r.radiusM, r.escalateAfter)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("rule for %s/%s: unknown category or township", r.category, r.township)
		}
	}
	return nil
}

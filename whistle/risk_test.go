package whistle

import (
	"strings"
	"testing"
)

// Each rule flags what it should, and only that.
func TestRiskJudge(t *testing.T) {
	r := RiskRules{Keywords: []string{"燃气泄漏", "坠落"}, SelfHarm: []string{"跳楼"}, WageKeywords: []string{"欠薪"},
		WageAmount: 100000, WagePeople: 10, Categories: []string{"SA"}, CallerRepeats: 3, CallerWindowDays: 30,
		PlaceClues: 5, PlaceRadiusM: 100, PlaceWindowDays: 7}
	for _, tt := range []struct {
		name string
		f    RiskFacts
		want string // a reason's prefix, "" for none
	}{
		{"plain", RiskFacts{Text: "门口摆摊", Category: "CM.01.03", CallerClues: 1, PlaceClues: 1}, ""},
		{"gas", RiskFacts{Text: "楼道里燃气泄漏，味道很大"}, "关键词：燃气泄漏"},
		{"fall", RiskFacts{Text: "工地有人坠落"}, "关键词：坠落"},
		{"self-harm", RiskFacts{Text: "他说要跳楼"}, "自伤风险：跳楼"},
		{"wage, large amount in 万", RiskFacts{Text: "老板欠薪 20万元 不给"}, "欠薪金额大"},
		{"wage, large amount", RiskFacts{Text: "欠薪150000元"}, "欠薪金额大"},
		{"wage, many people", RiskFacts{Text: "欠薪，30 名工人讨要"}, "欠薪涉及人数多"},
		{"wage, small", RiskFacts{Text: "欠薪 500 元，2 人"}, ""},
		{"a large number without wage", RiskFacts{Text: "楼下停了 30 辆车"}, ""},
		{"category", RiskFacts{Text: "x", Category: "SA.01"}, "高风险类别：SA"},
		{"category prefix is by code part", RiskFacts{Text: "x", Category: "SAB.01"}, ""},
		{"repeat caller", RiskFacts{CallerClues: 3}, "同一来电"},
		{"two calls", RiskFacts{CallerClues: 2}, ""},
		{"place", RiskFacts{PlaceClues: 5}, "同一地点"},
		{"place, fewer", RiskFacts{PlaceClues: 4}, ""},
	} {
		got := r.Judge(tt.f)
		if tt.want == "" {
			if len(got) != 0 {
				t.Errorf("%s: flagged %v", tt.name, got)
			}
			continue
		}
		if len(got) != 1 || !strings.HasPrefix(got[0], tt.want) {
			t.Errorf("%s: %v, want one reason %s…", tt.name, got, tt.want)
		}
	}
	// a count of 0 turns a rule off
	if got := (RiskRules{}).Judge(RiskFacts{Text: "燃气泄漏", CallerClues: 9, PlaceClues: 9}); len(got) != 0 {
		t.Errorf("no rules flag %v", got)
	}
}

func TestRiskRulesValidate(t *testing.T) {
	known := func(c string) bool { return c == "CM.01.03" }
	for _, tt := range []struct {
		r     RiskRules
		field string
	}{
		{RiskRules{Keywords: []string{" "}}, "keywords[0]"},
		{RiskRules{Keywords: []string{strings.Repeat("长", 33)}}, "keywords[0]"},
		{RiskRules{Categories: []string{"XX"}}, "categories[0]"},
		{RiskRules{PlaceClues: 3}, "place_window_days"},
		{RiskRules{CallerRepeats: 3}, "caller_window_days"},
		{RiskRules{WageAmount: -1}, "wage_amount"},
		{RiskRules{PlaceRadiusM: 6000}, "place_radius_m"},
	} {
		err := tt.r.Validate(known)
		if err == nil || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%+v: %v, want %s", tt.r, err, tt.field)
		}
	}
	if err := (RiskRules{Keywords: []string{"燃气泄漏"}, Categories: []string{"CM.01.03"}, CallerRepeats: 3, CallerWindowDays: 30}).Validate(known); err != nil {
		t.Error(err)
	}
}

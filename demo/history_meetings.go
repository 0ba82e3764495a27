package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"whistlegrid/geo"
	"whistlegrid/whistle"
)

// MeetingTownship is the township whose villages hold a villagers'
// meeting (村民说事) every month in the demo's history: 康庄镇, 34 villages.
const MeetingTownship = "康庄镇"

// meetingDecisions, meetingDone and meetingVerdicts are what the villages
// write at each stage of a matter (议事, 办事, 评事).
var (
	meetingDecisions = []string{"经村民议事会讨论，由村两委牵头协调解决", "议定由网格长带领党员责任区处理", "议定报镇里吹哨，请相关部门到场处置",
		"议定先由村保洁队清理，村委会跟踪落实"}
	meetingDone   = []string{"村两委已协调解决，现场已整改", "党员责任区已处理完毕", "已由村保洁队清理完毕"}
	meetingHosts  = []string{"村党支部书记", "村委会主任", "村党支部副书记", "驻村第一书记"}
	meetingPlaces = []string{"村委会议室", "村文化活动中心", "村党群服务站", "村民之家"}
)

// meetingsHistory holds a villagers' meeting in each of MeetingTownship's
// villages every month of the year, with the matters villagers raised:
// each matter is one of the year's clues in that village (a forum or
// patrol clue, which becomes a clue of source meeting with its text as the
// meeting records it; its clue.received event says so too), taken in at
// the meeting and worked through the rules as every clue, so some are in
// a whistle. A matter is discussed (议事) in the days after its meeting,
// done (办事) by the village or through its whistle, and judged (评事) at
// the village's next meeting once done; the last meetings' matters are
// still on their way. A month whose village has no clue holds a meeting
// that raised nothing.
func meetingsHistory(ctx context.Context, tx pgx.Tx, rng *rand.Rand, end time.Time, sum *HistorySummary, cc *ChannelCounts) error {
	start := end.AddDate(0, 0, -HistoryDays)
	type village struct {
		id         int64
		code, name string
	}
	rows, err := tx.Query(ctx, `SELECT v.id, v.code, v.name FROM grids v JOIN grids t ON t.level = 'township' AND t.code = left(v.code, 9)
		WHERE v.level = 'village' AND v.valid_to IS NULL AND t.name = $1 ORDER BY v.code`, MeetingTownship)
	if err != nil {
		return err
	}
	villages, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (village, error) {
		var v village
		return v, r.Scan(&v.id, &v.code, &v.name)
	})
	if err != nil {
		return err
	}
	if len(villages) == 0 {
		return fmt.Errorf("meetings: no village of %s", MeetingTownship)
	}
	town := villages[0].code[:9]
	type clue struct {
		id        int64
		village   string
		text, cat string
		src       string
		at        time.Time
		wid       *int64
		wclosed   *time.Time
	}
	rows, err = tx.Query(ctx, `SELECT c.id, v.code, c.text, cat.code, c.source, c.reported_at, c.whistle_id, w.closed_at
		FROM clues c JOIN grids g ON g.id = c.grid_id JOIN grids v ON v.level = 'village' AND v.valid_to IS NULL AND v.code = left(g.code, 12)
		JOIN categories cat ON cat.id = c.category_id LEFT JOIN whistles w ON w.id = c.whistle_id
		WHERE left(v.code, 9) = $1 AND c.source IN ('forum', 'patrol') AND c.reported_at >= $2 ORDER BY c.reported_at, c.id`, town, start)
	if err != nil {
		return err
	}
	clues, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (clue, error) {
		var c clue
		return c, r.Scan(&c.id, &c.village, &c.text, &c.cat, &c.src, &c.at, &c.wid, &c.wclosed)
	})
	if err != nil {
		return err
	}
	byVillage := map[string][]clue{}
	for _, c := range clues {
		byVillage[c.village] = append(byVillage[c.village], c)
	}
	day := 24 * time.Hour
	var converted []int64
	var texts []string
	var meetings, matters [][]any
	firstMonth := time.Date(start.In(geo.Beijing).Year(), start.In(geo.Beijing).Month(), 1, 0, 0, 0, 0, geo.Beijing).AddDate(0, 1, 0)
	var meetingID int64
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM meetings`).Scan(&meetingID); err != nil {
		return err
	}
	for _, v := range villages {
		cs := byVillage[v.code]
		type held struct {
			id int64
			at time.Time
			ms []clue
		}
		var hs []held
		for m := firstMonth; m.Before(end); m = m.AddDate(0, 1, 0) {
			next := m.AddDate(0, 1, 0)
			var in []clue
			for _, c := range cs {
				if !c.at.Before(m) && c.at.Before(next) {
					in = append(in, c)
				}
			}
			var at time.Time
			var ms []clue
			if len(in) > 0 {
				at = in[0].at.Add(-time.Duration(30+rng.IntN(90)) * time.Minute)
				for _, c := range in {
					if len(ms) < 2+rng.IntN(3) && c.at.Sub(in[0].at) < 5*day {
						ms = append(ms, c)
					}
				}
			} else {
				at = time.Date(m.Year(), m.Month(), 12+rng.IntN(10), 19, 0, 0, 0, geo.Beijing)
			}
			if !at.Before(end) || at.Before(start) {
				continue
			}
			meetingID++
			hs = append(hs, held{meetingID, at.Truncate(time.Second), ms})
		}
		for k, h := range hs {
			host := meetingHosts[rng.IntN(len(meetingHosts))]
			meetings = append(meetings, []any{h.id, v.id, h.at, v.name + meetingPlaces[rng.IntN(len(meetingPlaces))], host,
				int32(12 + rng.IntN(50)), "t" + town, h.at.Add(time.Duration(2+rng.IntN(20)) * time.Hour)})
			cc.Meetings++
			var nextAt *time.Time
			if k+1 < len(hs) {
				nextAt = &hs[k+1].at
			}
			for n, c := range h.ms {
				text := "村民说事：" + c.text
				if i := strings.Index(c.text, "："); i >= 0 {
					text = "村民说事：" + c.text[i+len("："):]
				}
				converted, texts = append(converted, c.id), append(texts, text)
				if sum.BySource != nil {
					sum.BySource[c.src]--
					sum.BySource["meeting"]++
				}
				stage, decision, doneNote := "raised", "", ""
				var wid any
				var verdict any
				verdictNote := ""
				updated := c.at
				step := func(after time.Duration) bool {
					t := updated.Add(after)
					if !t.Before(end) {
						return false
					}
					updated = t
					return true
				}
				if step(time.Duration(1+rng.IntN(72)) * time.Hour) {
					stage, decision = "discussed", meetingDecisions[rng.IntN(len(meetingDecisions))]
					doneAt := updated.Add(time.Duration(1+rng.IntN(10)) * day)
					switch {
					case c.wid != nil && c.wclosed != nil && c.wclosed.Before(end):
						// turned into a whistle, whose case closed
						stage, doneNote, wid = "done", "已转为吹哨办理，案件已办结", *c.wid
						if c.wclosed.After(updated) {
							updated = *c.wclosed
						}
					case c.wid != nil:
						stage, doneNote, wid = "done", "已转为吹哨办理，正在办理", *c.wid
					case doneAt.Before(end):
						stage, doneNote, updated = "done", meetingDone[rng.IntN(len(meetingDone))], doneAt
					}
					if stage == "done" && (c.wid == nil || c.wclosed != nil) && nextAt != nil && nextAt.After(updated) {
						r := whistle.CallbackSatisfied
						switch x := rng.IntN(20); {
						case x == 0:
							r = whistle.CallbackUnsatisfied
						case x < 4:
							r = whistle.CallbackBasically
						}
						stage, verdict, updated = "judged", string(r), *nextAt
						verdictNote = map[whistle.CallbackResult]string{whistle.CallbackSatisfied: "村民一致认可", whistle.CallbackBasically: "村民基本认可，建议持续关注",
							whistle.CallbackUnsatisfied: "村民认为问题仍未彻底解决"}[r]
					}
				}
				if wid != nil {
					cc.MatterWhistles++
				}
				cc.Matters++
				cc.MattersByStage[stage]++
				matters = append(matters, []any{h.id, int32(n + 1), text, c.cat, c.id, stage, decision, doneNote, wid, verdict, verdictNote, updated})
			}
		}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"meetings"}, []string{"id", "village_id", "held_at", "place", "host", "attendees", "created_by", "created_at"},
		pgx.CopyFromRows(meetings)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `SELECT setval('meetings_id_seq', greatest($1, 1))`, meetingID); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE clues c SET source = 'meeting', text = x.text FROM unnest($1::bigint[], $2::text[]) AS x(id, text) WHERE c.id = x.id`,
		converted, texts); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE events SET payload = jsonb_set(payload, '{clue,source}', '"meeting"')
		WHERE kind = 'clue.received' AND (payload->'clue'->>'id')::bigint = ANY($1)`, converted); err != nil {
		return err
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"meeting_matters"}, []string{"meeting_id", "n", "text", "category", "clue_id", "stage", "decision",
		"done_note", "whistle_id", "verdict", "verdict_note", "updated_at"}, pgx.CopyFromRows(matters)); err != nil {
		return err
	}
	return nil
}

// riskHistory flags the year's clues the risk rules (风险研判, the
// defaults of migration 00015) flag by their text, with the reasons
// whistle.RiskRules.Judge gives, on the clue and its whistle. The history
// was simulated without the rules, so only clues whose whistle is already
// at least priority (or that raised none) are flagged, as the live intake
// would have left them; the flags are written onto the rows, without the
// trail's risk step and its event (the outbox of the history is in time
// order with its sequence).
func riskHistory(ctx context.Context, tx pgx.Tx, cc *ChannelCounts) error {
	var rules whistle.RiskRules
	if err := tx.QueryRow(ctx, `SELECT rules FROM risk_rules WHERE id = 1`).Scan(&rules); err != nil {
		return err
	}
	var pats []string
	for _, k := range append(append(append([]string{}, rules.Keywords...), rules.SelfHarm...), rules.WageKeywords...) {
		pats = append(pats, "%"+k+"%")
	}
	rows, err := tx.Query(ctx, `SELECT c.id, c.text, cat.code, c.whistle_id FROM clues c JOIN categories cat ON cat.id = c.category_id
		LEFT JOIN whistles w ON w.id = c.whistle_id
		WHERE c.text LIKE ANY($1) AND (w.id IS NULL OR w.grade IN ('priority', 'hard')) ORDER BY c.id`, pats)
	if err != nil {
		return err
	}
	type flag struct {
		id   int64
		wid  *int64
		risk whistle.Risk
	}
	var flags []flag
	for rows.Next() {
		var f flag
		var text, cat string
		if err := rows.Scan(&f.id, &text, &cat, &f.wid); err != nil {
			return err
		}
		if reasons := rules.Judge(whistle.RiskFacts{Text: text, Category: cat}); len(reasons) > 0 {
			f.risk.Reasons = reasons
			flags = append(flags, f)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	byWhistle := map[int64]*whistle.Risk{}
	var wids, cids []int64
	var crisks []whistle.Risk
	for _, f := range flags {
		cids, crisks = append(cids, f.id), append(crisks, f.risk)
		cc.RiskClues++
		if f.wid == nil {
			continue
		}
		r := byWhistle[*f.wid]
		if r == nil {
			r = &whistle.Risk{}
			byWhistle[*f.wid] = r
			wids = append(wids, *f.wid)
		}
		for _, x := range f.risk.Reasons {
			if !slices.Contains(r.Reasons, x) {
				r.Reasons = append(r.Reasons, x)
			}
		}
	}
	wrisks := make([]*whistle.Risk, len(wids))
	for i, id := range wids {
		wrisks[i] = byWhistle[id]
	}
	cc.RiskWhistles = len(wids)
	if _, err := tx.Exec(ctx, `UPDATE clues c SET risk = x.risk FROM unnest($1::bigint[], $2::jsonb[]) AS x(id, risk) WHERE c.id = x.id`, cids, crisks); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE whistles w SET risk = x.risk FROM unnest($1::bigint[], $2::jsonb[]) AS x(id, risk) WHERE w.id = x.id`, wids, wrisks)
	return err
}

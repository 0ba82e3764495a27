package whistle_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// closedWhistle raises a whistle from a clue of 康庄镇 and takes it to closed.
func (f *fixture) closedWhistle(t *testing.T) int64 {
	t.Helper()
	status, out := f.clue(t, f.env.Login(t, "t"+kangzhuang), 0, 0, category)
	var w detail
	if status != 201 || json.Unmarshal(out["whistle"], &w) != nil || w.ID == 0 {
		t.Fatalf("clue: %d %s", status, out)
	}
	for _, s := range []struct {
		user, step string
		body       any
	}{
		{"u" + f.lead, "report-in", map[string]string{"person": "李四"}},
		{"u" + f.lead, "resolve", map[string]string{"outcome": "resolved"}},
		{"t" + kangzhuang, "close", map[string]string{}},
	} {
		if status, _, body := f.step(t, s.user, w.ID, s.step, s.body); status != 200 {
			t.Fatalf("%s: %d %s", s.step, status, body)
		}
	}
	return w.ID
}

type residentFigures struct {
	Total struct {
		Callbacks                int      `json:"callbacks"`
		ResidentSatisfactionRate *float64 `json:"resident_satisfaction_rate"`
		SatisfactionRate         *float64 `json:"satisfaction_rate"`
	} `json:"total"`
}

// The callback (回访) end to end over HTTP: who may record it, that it is in
// the trail and the detail, that it counts in the residents' satisfaction
// rate beside the township's rating, and the reopening after an
// unsatisfied answer, within 7 days, back to work with the same units.
func TestCallbackAndReopen(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	id := f.closedWhistle(t)
	cb := func(result string) map[string]string {
		return map[string]string{"result": result, "note": "电话回访"}
	}

	// the permission matrix: role × own or other jurisdiction
	for _, tt := range []struct {
		user, step string
		body       any
		want       int
	}{
		{"t" + kangzhuang, "callback", cb("satisfied"), 403},
		{"t" + badaling, "callback", cb("satisfied"), 404},
		{"u" + f.lead, "callback", cb("satisfied"), 403},
		{"uD003", "callback", cb("satisfied"), 404},
		{"screen", "callback", cb("satisfied"), 403},
		{"command", "callback", cb("fine"), 422},
		{"command", "callback", map[string]string{"note": "x"}, 422},
		{"command", "reopen", map[string]string{"reason": "不满意"}, 409}, // no unsatisfied callback yet
		{"t" + badaling, "reopen", map[string]string{"reason": "x"}, 404},
		{"u" + f.lead, "reopen", map[string]string{"reason": "x"}, 403},
		{"screen", "reopen", map[string]string{"reason": "x"}, 403},
		{"t" + kangzhuang, "reopen", map[string]string{}, 422},
	} {
		if status, _, body := f.step(t, tt.user, id, tt.step, tt.body); status != tt.want {
			t.Errorf("%s %s: %d, want %d: %s", tt.user, tt.step, status, tt.want, body)
		}
	}
	stats := func() residentFigures {
		t.Helper()
		_, b := f.env.Do(t, "GET", "/api/v1/stats?by=township", f.env.Login(t, "command"), nil)
		var r residentFigures
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if s := stats(); s.Total.Callbacks != 0 || s.Total.ResidentSatisfactionRate != nil {
		t.Fatalf("before any callback: %+v", s.Total)
	}

	status, d, body := f.step(t, "command", id, "callback", cb("satisfied"))
	if status != 200 || !strings.Contains(body, `"callbacks":[{`) || d.Trail[len(d.Trail)-1].Action != "callback" {
		t.Fatalf("callback: %d %s", status, body)
	}
	if s := stats(); s.Total.Callbacks != 1 || s.Total.ResidentSatisfactionRate == nil || *s.Total.ResidentSatisfactionRate != 1 {
		t.Errorf("after a satisfied callback: %+v", s.Total)
	}
	if status, _, body := f.step(t, "t"+kangzhuang, id, "reopen", map[string]string{"reason": "x"}); status != 409 {
		t.Errorf("reopen after a satisfied callback: %d %s", status, body)
	}
	// the latest answer counts: unsatisfied
	if status, _, body := f.step(t, "command", id, "callback", cb("unsatisfied")); status != 200 {
		t.Fatalf("callback: %d %s", status, body)
	}
	if s := stats(); s.Total.Callbacks != 1 || s.Total.ResidentSatisfactionRate == nil || *s.Total.ResidentSatisfactionRate != 0 {
		t.Errorf("after an unsatisfied callback: %+v", s.Total)
	}
	// the detail has both, and the command center's callback desk (and
	// only it of the command center's accounts) sees the resident's phone
	type full struct {
		Callbacks []struct{ Result, Note, Actor string }
		Clues     []struct{ Reporter *struct{ Phone string } }
	}
	for user, want := range map[string]string{"callback": "13900001111", "command": "139****1111"} {
		_, b := f.env.Do(t, "GET", fmt.Sprintf("/api/v1/whistles/%d", id), f.env.Login(t, user), nil)
		var d full
		if err := json.Unmarshal(b, &d); err != nil || len(d.Callbacks) != 2 || d.Callbacks[1].Result != "unsatisfied" ||
			d.Callbacks[0].Actor != "command" || d.Clues[0].Reporter == nil || d.Clues[0].Reporter.Phone != want {
			t.Fatalf("detail for %s (want phone %s): %v %s", user, want, err, b)
		}
	}

	// the unsatisfied callback 8 days ago: too late to reopen
	if _, err := f.env.Pool.Exec(ctx, `UPDATE whistle_callbacks SET at = at - interval '8 days' WHERE whistle_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if status, _, body := f.step(t, "t"+kangzhuang, id, "reopen", map[string]string{"reason": "x"}); status != 409 {
		t.Errorf("reopen 8 days after: %d %s", status, body)
	}
	if _, err := f.env.Pool.Exec(ctx, `UPDATE whistle_callbacks SET at = at + interval '8 days' WHERE whistle_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	status, d, body = f.step(t, "t"+kangzhuang, id, "reopen", map[string]string{"reason": "居民反映摊位又回来了"})
	if status != 200 || d.Status != "in_progress" || d.Outcome != nil {
		t.Fatalf("reopen: %d %s", status, body)
	}
	last := d.Trail[len(d.Trail)-1]
	if last.Action != "reopen" || last.Note != "居民反映摊位又回来了" || len(d.Summons) != 1+len(f.assists) || d.Summons[0].Unit.Code != f.lead {
		t.Errorf("reopened: %+v %+v", last, d.Summons)
	}
	if status, _, _ := f.step(t, "command", id, "callback", cb("satisfied")); status != 409 {
		t.Errorf("callback on a reopened whistle: %d, want 409", status)
	}
	// the same lead resolves again, and the township closes it again
	if status, d, body = f.step(t, "u"+f.lead, id, "resolve", map[string]string{"outcome": "resolved"}); status != 200 || d.Status != "awaiting_approval" {
		t.Fatalf("resolve after reopening: %d %s", status, body)
	}
	if status, d, body = f.step(t, "t"+kangzhuang, id, "close", map[string]string{}); status != 200 || d.Status != "closed" {
		t.Fatalf("close after reopening: %d %s", status, body)
	}
	var kinds []string
	rows, err := f.env.Pool.Query(ctx, `SELECT kind FROM events WHERE kind IN ('whistle.callback', 'whistle.reopened') AND (payload->'whistle'->>'id')::bigint = $1 ORDER BY seq`, id)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		_ = rows.Scan(&k)
		kinds = append(kinds, k)
	}
	if got := strings.Join(kinds, ","); got != "whistle.callback,whistle.callback,whistle.reopened" {
		t.Errorf("events %s", got)
	}
}

package whistle_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

type riskClue struct {
	ID   int64 `json:"id"`
	Risk *struct {
		Reasons []string `json:"reasons"`
	} `json:"risk"`
}

// 风险研判 end to end over HTTP: the rules as the command center sets them
// (and nobody else), each rule flagging a clue and its whistle, and an
// unflagged clue unchanged.
func TestRiskRulesFlagCluesAndWhistles(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	command := f.env.Login(t, "command")
	town := f.env.Login(t, "t"+kangzhuang)
	base := map[string]any{"keywords": []string{"燃气泄漏"}, "self_harm": []string{"跳楼"}, "wage_keywords": []string{"欠薪"},
		"wage_amount": 100000, "wage_people": 10, "categories": []string{}, "caller_repeats": 0, "caller_window_days": 30,
		"place_clues": 0, "place_radius_m": 100, "place_window_days": 7}
	put := func(tok string, changes map[string]any) (int, string) {
		t.Helper()
		body := map[string]any{}
		for k, v := range base {
			body[k] = v
		}
		for k, v := range changes {
			body[k] = v
		}
		status, b := f.env.Do(t, "PUT", "/api/v1/risk-rules", tok, body)
		return status, string(b)
	}
	// the permission matrix of the rules
	for _, tt := range []struct {
		user string
		want int
	}{{"t" + kangzhuang, 403}, {"t" + badaling, 403}, {"u" + f.lead, 403}, {"screen", 403}} {
		if status, body := put(f.env.Login(t, tt.user), nil); status != tt.want {
			t.Errorf("%s puts the rules: %d, want %d: %s", tt.user, status, tt.want, body)
		}
	}
	if status, body := put(command, map[string]any{"place_clues": 3, "place_window_days": 0}); status != 422 || !strings.Contains(body, "place_window_days") {
		t.Errorf("bad rules: %d %s", status, body)
	}
	if status, body := put(command, map[string]any{"categories": []string{"NOPE"}}); status != 422 {
		t.Errorf("unknown category: %d %s", status, body)
	}
	if status, body := put(command, nil); status != 200 {
		t.Fatalf("put: %d %s", status, body)
	}
	if status, b := f.env.Do(t, "GET", "/api/v1/risk-rules", town, nil); status != 200 || !strings.Contains(string(b), "燃气泄漏") {
		t.Errorf("get: %d %s", status, b)
	}

	post := func(text string) (riskClue, detail, string) {
		t.Helper()
		f.n++
		status, b := f.env.Do(t, "POST", "/api/v1/clues", town, map[string]any{
			"source": "hotline", "external_id": fmt.Sprintf("risk-%d-%d", time.Now().UnixNano(), f.n), "category": category, "text": text,
			"lon": f.lon, "lat": f.lat, "datum": "wgs84", "reported_at": time.Now().Format(time.RFC3339),
			"reporter": map[string]string{"name": "王五", "phone": "13800007777"},
		})
		if status != 201 {
			t.Fatalf("clue: %d %s", status, b)
		}
		var out struct {
			Clue    riskClue
			Whistle detail
		}
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		return out.Clue, out.Whistle, string(b)
	}

	// unflagged: no risk, the whistle at the category's default grade and deadlines
	c, w, body := post("门口摆摊")
	if c.Risk != nil || strings.Contains(body, `"risk"`) || w.ID == 0 || w.Grade != "routine" {
		t.Fatalf("an unflagged clue: %s", body)
	}
	_, b := f.env.Do(t, "GET", fmt.Sprintf("/api/v1/whistles/%d", w.ID), command, nil)
	var d detail
	_ = json.Unmarshal(b, &d)
	if got := time.Until(d.Deadlines.ReportIn); got < 23*time.Hour {
		t.Errorf("unflagged report-in deadline in %v", got)
	}
	var events0 int
	_ = f.env.Pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE kind = 'clue.risk'`).Scan(&events0)

	// a keyword: the clue, and the whistle it joins, flagged; priority with its deadlines
	c, w2, body := post("楼道里燃气泄漏，味道很大")
	if c.Risk == nil || len(c.Risk.Reasons) != 1 || c.Risk.Reasons[0] != "关键词：燃气泄漏" || w2.ID != w.ID || w2.Grade != "priority" {
		t.Fatalf("gas: %s", body)
	}
	if !strings.Contains(body, `"whistle":{`) || !strings.Contains(body[strings.Index(body, `"whistle":{`):], `"risk":{"reasons":["关键词：燃气泄漏"]}`) {
		t.Errorf("the whistle has no risk: %s", body)
	}
	_, b = f.env.Do(t, "GET", fmt.Sprintf("/api/v1/whistles/%d", w.ID), command, nil)
	_ = json.Unmarshal(b, &d)
	if got := time.Until(d.Deadlines.ReportIn); got > 2*time.Hour+time.Minute {
		t.Errorf("flagged report-in deadline in %v, want at most priority's 2 h", got)
	}
	var actions []string
	for _, e := range d.Trail {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, ","); !strings.HasSuffix(got, "join,risk,escalate") || !strings.Contains(string(b), `"risk":{"reasons"`) {
		t.Errorf("trail %s: %s", got, b)
	}
	// the list marks it too
	_, b = f.env.Do(t, "GET", "/api/v1/whistles?status=raised&limit=500", command, nil)
	if !strings.Contains(string(b), `"risk":{"reasons":["关键词：燃气泄漏"]}`) {
		t.Errorf("the list has no risk mark")
	}
	var events1 int
	_ = f.env.Pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE kind = 'clue.risk'`).Scan(&events1)
	if events1 != events0+1 {
		t.Errorf("%d clue.risk events, want 1", events1-events0)
	}

	// each other rule, one at a time, each clue joining w: its risk gains
	// each new reason after those it has, once
	want := []string{"关键词：燃气泄漏"}
	for _, tt := range []struct {
		name    string
		changes map[string]any
		text    string
		want    string
	}{
		{"self-harm", nil, "他说不给办就跳楼", "自伤风险：跳楼"},
		{"wage", nil, "工地欠薪 30万元", "欠薪金额大"},
		{"category", map[string]any{"categories": []string{category}}, "门口摆摊", "高风险类别：" + category},
		{"repeat caller", map[string]any{"caller_repeats": 3}, "门口摆摊", "同一来电"}, // the 3rd, 4th... call of 13800007777
		{"place", map[string]any{"place_clues": 3}, "门口摆摊", "同一地点"},
	} {
		if status, body := put(command, tt.changes); status != 200 {
			t.Fatalf("%s: put %d %s", tt.name, status, body)
		}
		c, cw, body := post(tt.text)
		if c.Risk == nil || len(c.Risk.Reasons) != 1 || !strings.HasPrefix(c.Risk.Reasons[0], tt.want) || cw.ID != w.ID {
			t.Fatalf("%s: %s", tt.name, body)
		}
		want = append(want, c.Risk.Reasons[0])
		var stored []byte
		_ = f.env.Pool.QueryRow(ctx, `SELECT risk FROM clues WHERE id = $1`, c.ID).Scan(&stored)
		if !strings.Contains(string(stored), tt.want) {
			t.Errorf("%s: stored %s", tt.name, stored)
		}
	}
	// a reason the whistle has already is not added again
	c, _, body = post("燃气泄漏还没修")
	if c.Risk == nil || len(c.Risk.Reasons) != 2 || c.Risk.Reasons[0] != "关键词：燃气泄漏" || !strings.HasPrefix(c.Risk.Reasons[1], "同一地点") {
		t.Fatalf("gas again: %s", body)
	}
	want = append(want, c.Risk.Reasons[1]) // the place's count has grown
	var reasons []string
	if err := f.env.Pool.QueryRow(ctx, `SELECT ARRAY(SELECT jsonb_array_elements_text(risk->'reasons')) FROM whistles WHERE id = $1`, w.ID).Scan(&reasons); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(reasons, want) {
		t.Errorf("the whistle's reasons %q, want %q", reasons, want)
	}
	// the reporter's phone is counted by its hash
	var hashed bool
	_ = f.env.Pool.QueryRow(ctx, `SELECT bool_and(reporter_phone_hash = sha256('13800007777'::bytea)) FROM clues WHERE reporter_phone = '13800007777'`).Scan(&hashed)
	if !hashed {
		t.Error("reporter_phone_hash is not the phone's sha256")
	}
}

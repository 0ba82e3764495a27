package whistle_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/access"
	"whistlegrid/internal/testenv"
	"whistlegrid/whistle"
)

const (
	kangzhuang = "110119101" // 康庄镇
	badaling   = "110119102" // 八达岭镇
	category   = "CM.01.03"  // 占道经营: each township's 城管执法队 leads
)

type fixture struct {
	env      *testenv.Env
	lon, lat float64 // a point inside 康庄镇
	village  string  // its village
	lead     string  // the unit code leading category in 康庄镇
	assists  []string
	n        int
}

// setup starts a server on the demo, makes category raise whistles in every
// township, and finds a point of 康庄镇 and the units that answer for it.
func setup(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{env: testenv.Start(t)}
	ctx := context.Background()
	pool := f.env.Pool
	if _, err := pool.Exec(ctx, `INSERT INTO rules (category_id, action) SELECT id, 'whistle' FROM categories WHERE code = $1
		ON CONFLICT (category_id, township_id) DO UPDATE SET action = 'whistle', join_radius_m = 100, escalate_after = 3`, category); err != nil {
		t.Fatal(err)
	}
	if err := f.env.Placer.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	err := pool.QueryRow(ctx, `
		SELECT ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom)), v.code
		FROM grids g JOIN grids v ON v.id = g.parent_id WHERE g.level = 'household' AND g.code LIKE $1 || '%' ORDER BY g.code LIMIT 1`, kangzhuang).
		Scan(&f.lon, &f.lat, &f.village)
	if err != nil {
		t.Fatal(err)
	}
	err = pool.QueryRow(ctx, `
		SELECT u.code, ARRAY(SELECT au.code FROM duty_assists da JOIN units au ON au.id = da.unit_id WHERE da.duty_id = d.id ORDER BY au.code)
		FROM duties d JOIN units u ON u.id = d.lead_unit_id JOIN grids t ON t.id = d.township_id JOIN categories c ON c.id = d.category_id
		WHERE c.code = $1 AND t.code = $2`, category, kangzhuang).Scan(&f.lead, &f.assists)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) clue(t *testing.T, token string, dLon, dLat float64, cat string) (int, map[string]json.RawMessage) {
	t.Helper()
	f.n++
	status, body := f.env.Do(t, "POST", "/api/v1/clues", token, map[string]any{
		"source": "patrol", "external_id": fmt.Sprintf("t-%d-%d", time.Now().UnixNano(), f.n), "category": cat, "text": "门口摆摊",
		"lon": f.lon + dLon, "lat": f.lat + dLat, "datum": "wgs84", "reported_at": time.Now().Format(time.RFC3339),
		// a reporter of their own per clue (the first 13900001111): the
		// repeat-caller risk rule (risk.go) leaves the fixture's clues alone
		"reporter": map[string]string{"name": "张三", "phone": fmt.Sprint(13900001110 + f.n)},
	})
	var out map[string]json.RawMessage
	_ = json.Unmarshal(body, &out)
	return status, out
}

type detail struct {
	ID        int64  `json:"id"`
	Status    string `json:"status"`
	Grade     string `json:"grade"`
	Township  string `json:"township"`
	ClueCount int    `json:"clue_count"`
	Outcome   *string
	Deadlines struct {
		ReportIn time.Time `json:"report_in"`
		Resolve  time.Time `json:"resolve"`
	} `json:"deadlines"`
	Summons []struct {
		Unit         struct{ Code, Name string }
		Role         string
		ReportedInAt *time.Time `json:"reported_in_at"`
		Person       string
		Phone        string
		Ratings      *struct{ ReportedIn, Resolved, Satisfied int }
	}
	Clues []struct {
		ID       int64
		Reporter *struct{ Name, Phone string }
	}
	Trail []struct {
		At                  time.Time
		Actor, Action, Note string
	}
}

func (f *fixture) step(t *testing.T, user string, id int64, step string, body any) (int, detail, string) {
	t.Helper()
	tok := f.env.Login(t, user)
	status, b := f.env.Do(t, "POST", fmt.Sprintf("/api/v1/whistles/%d/%s", id, step), tok, body)
	var d detail
	_ = json.Unmarshal(b, &d)
	return status, d, string(b)
}

func TestWhistleLifecycle(t *testing.T) {
	f := setup(t)
	town := f.env.Login(t, "t"+kangzhuang)
	ctx := context.Background()
	var events0 int
	_ = f.env.Pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&events0)

	status, out := f.clue(t, town, 0, 0, category)
	if status != 201 {
		t.Fatalf("clue: %d %s", status, out)
	}
	var w detail
	if err := json.Unmarshal(out["whistle"], &w); err != nil || w.ID == 0 {
		t.Fatalf("no whistle raised: %s", out["whistle"])
	}
	if w.Status != "raised" || w.Grade != "routine" || w.Township != kangzhuang {
		t.Errorf("whistle %+v", w)
	}
	id := w.ID

	// the summoned units, and who may not act
	_, d, _ := f.step(t, "command", id, "escalate", map[string]string{"grade": "routine", "reason": "x"})
	_ = d
	tok := f.env.Login(t, "t"+kangzhuang)
	_, b := f.env.Do(t, "GET", fmt.Sprintf("/api/v1/whistles/%d", id), tok, nil)
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Summons) != 1+len(f.assists) || d.Summons[0].Unit.Code != f.lead || d.Summons[0].Role != "lead" {
		t.Fatalf("summons %+v, want %s leading with %v", d.Summons, f.lead, f.assists)
	}
	if got := time.Until(d.Deadlines.ReportIn); got < 23*time.Hour || got > 25*time.Hour {
		t.Errorf("routine report-in deadline in %v, want 24 h", got)
	}
	for _, tt := range []struct {
		user, step string
		body       any
		want       int
	}{
		{"t" + kangzhuang, "report-in", map[string]string{"person": "李四"}, 403},
		{"screen", "report-in", map[string]string{"person": "李四"}, 403},
		{"uD003", "report-in", map[string]string{"person": "李四"}, 404}, // not summoned
		{"t" + badaling, "close", map[string]string{}, 404},
		{"u" + f.lead, "report-in", map[string]string{}, 422},
		{"u" + f.lead, "report-in", map[string]string{"person": "李四", "bogus": "x"}, 400},
		{"t" + kangzhuang, "close", map[string]string{"note": "好"}, 409},
		{"u" + f.lead, "resolve", map[string]string{"outcome": "resolved"}, 409}, // report in first
		{"t" + kangzhuang, "fly", map[string]string{}, 404},
	} {
		if status, _, body := f.step(t, tt.user, id, tt.step, tt.body); status != tt.want {
			t.Errorf("%s %s: %d, want %d: %s", tt.user, tt.step, status, tt.want, body)
		}
	}

	status, d, body := f.step(t, "u"+f.lead, id, "report-in", map[string]string{"person": "李四", "phone": "13700002222", "note": "已到场"})
	if status != 200 || d.Status != "in_progress" {
		t.Fatalf("report-in: %d %s", status, body)
	}
	if status, _, _ := f.step(t, "u"+f.lead, id, "report-in", map[string]string{"person": "李四"}); status != 409 {
		t.Errorf("second report-in: %d, want 409", status)
	}
	status, d, body = f.step(t, "u"+f.lead, id, "resolve", map[string]string{"outcome": "resolved", "note": "已清理"})
	if status != 200 || d.Status != "awaiting_approval" {
		t.Fatalf("resolve: %d %s", status, body)
	}
	status, d, body = f.step(t, "t"+kangzhuang, id, "return", map[string]string{"reason": "摊位仍在"})
	if status != 200 || d.Status != "in_progress" {
		t.Fatalf("return: %d %s", status, body)
	}
	if status, _, _ := f.step(t, "t"+kangzhuang, id, "rate", map[string]any{"unit": f.lead, "reported_in": 5, "resolved": 5, "satisfied": 5}); status != 409 {
		t.Errorf("rate before close: %d, want 409", status)
	}
	if status, d, body = f.step(t, "u"+f.lead, id, "resolve", map[string]string{"outcome": "resolved"}); status != 200 || d.Status != "awaiting_approval" {
		t.Fatalf("resolve again: %d %s", status, body)
	}
	status, d, body = f.step(t, "t"+kangzhuang, id, "close", map[string]string{"note": "同意结案"})
	if status != 200 || d.Status != "closed" || d.Outcome == nil || *d.Outcome != "resolved" {
		t.Fatalf("close: %d %s", status, body)
	}
	if status, _, _ := f.step(t, "t"+kangzhuang, id, "rate", map[string]any{"unit": f.lead, "reported_in": 0, "resolved": 5, "satisfied": 5}); status != 422 {
		t.Errorf("rating 0: %d, want 422", status)
	}
	status, d, body = f.step(t, "t"+kangzhuang, id, "rate", map[string]any{"unit": f.lead, "reported_in": 5, "resolved": 4, "satisfied": 3})
	if status != 200 || d.Summons[0].Ratings == nil || d.Summons[0].Ratings.Satisfied != 3 {
		t.Fatalf("rate: %d %s", status, body)
	}
	if status, _, _ := f.step(t, "t"+kangzhuang, id, "rate", map[string]any{"unit": f.lead, "reported_in": 5, "resolved": 5, "satisfied": 5}); status != 409 {
		t.Errorf("second rating: %d, want 409", status)
	}
	if status, _, _ := f.step(t, "u"+f.lead, id, "resolve", map[string]string{"outcome": "resolved"}); status != 409 {
		t.Errorf("resolve on a closed whistle: %d, want 409", status)
	}

	var actions []string
	for _, e := range d.Trail {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, ","); got != "raise,report_in,resolve,return,resolve,close,rate" {
		t.Errorf("trail %s", got)
	}
	var events1 int
	_ = f.env.Pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&events1)
	// clue.received, raised, reported_in, resolved, returned, resolved, closed, rated; the refusals wrote none
	if events1-events0 != 8 {
		t.Errorf("%d events written, want 8 (refused steps write none)", events1-events0)
	}

	// the screen sees the whistle with personal data masked; another township does not see it
	_, b = f.env.Do(t, "GET", fmt.Sprintf("/api/v1/whistles/%d", id), f.env.Login(t, "screen"), nil)
	var masked detail
	_ = json.Unmarshal(b, &masked)
	if masked.Summons[0].Phone == "13700002222" || masked.Clues[0].Reporter == nil || masked.Clues[0].Reporter.Phone == "13900001111" {
		t.Errorf("screen sees personal data: %s", b)
	}
	if status, _ := f.env.Do(t, "GET", fmt.Sprintf("/api/v1/whistles/%d", id), f.env.Login(t, "t"+badaling), nil); status != 404 {
		t.Errorf("another township reads the whistle: %d, want 404", status)
	}
	// lists are scoped
	for _, tt := range []struct {
		user string
		want int
	}{{"t" + kangzhuang, 1}, {"t" + badaling, 0}, {"u" + f.lead, 1}, {"uD003", 0}, {"screen", 1}} {
		_, b := f.env.Do(t, "GET", "/api/v1/whistles?status=closed", f.env.Login(t, tt.user), nil)
		var l struct{ Total int }
		_ = json.Unmarshal(b, &l)
		if l.Total != tt.want {
			t.Errorf("%s lists %d closed whistles, want %d", tt.user, l.Total, tt.want)
		}
	}
}

func TestClueIntakeIsIdempotentAndValidated(t *testing.T) {
	f := setup(t)
	tok := f.env.Login(t, "t"+kangzhuang)
	body := map[string]any{"source": "hotline", "external_id": "12345-2026-0001", "category": category, "text": "占道",
		"lon": f.lon, "lat": f.lat, "reported_at": time.Now().Format(time.RFC3339)}
	s1, b1 := f.env.Do(t, "POST", "/api/v1/clues", tok, body)
	s2, b2 := f.env.Do(t, "POST", "/api/v1/clues", tok, body)
	if s1 != 201 || s2 != 200 {
		t.Fatalf("statuses %d then %d, want 201 then 200", s1, s2)
	}
	var r1, r2 struct {
		Clue    struct{ ID int64 }
		Whistle *struct{ ID int64 }
	}
	_ = json.Unmarshal(b1, &r1)
	_ = json.Unmarshal(b2, &r2)
	if r1.Clue.ID == 0 || r1.Clue.ID != r2.Clue.ID || r1.Whistle == nil || r2.Whistle == nil || r1.Whistle.ID != r2.Whistle.ID {
		t.Errorf("second intake differs: %s vs %s", b1, b2)
	}
	var clues, whistles int
	_ = f.env.Pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM clues), (SELECT count(*) FROM whistles)`).Scan(&clues, &whistles)
	if clues != 1 || whistles != 1 {
		t.Errorf("%d clues, %d whistles after the same clue twice", clues, whistles)
	}

	for _, tt := range []struct {
		change map[string]any
		field  string
		status int
	}{
		{map[string]any{"source": "fax"}, "source", 422},
		{map[string]any{"external_id": ""}, "external_id", 422},
		{map[string]any{"category": "ZZ"}, "category", 422},
		{map[string]any{"lon": nil}, "lon", 422},
		{map[string]any{"lon": 116.40, "lat": 39.90}, "lon", 422}, // 天安门, outside the district
		{map[string]any{"datum": "utm"}, "datum", 422},
		{map[string]any{"reported_at": "yesterday"}, "reported_at", 422},
		{map[string]any{"reported_at": time.Now().Add(24 * time.Hour).Format(time.RFC3339)}, "reported_at", 422},
		{map[string]any{"reporter": map[string]string{"phone": "abc"}}, "reporter.phone", 422},
	} {
		b := map[string]any{}
		for k, v := range body {
			b[k] = v
		}
		b["external_id"] = fmt.Sprintf("bad-%s", tt.field)
		for k, v := range tt.change {
			b[k] = v
		}
		status, resp := f.env.Do(t, "POST", "/api/v1/clues", tok, b)
		var e struct {
			Error struct{ Field, Message string }
		}
		_ = json.Unmarshal(resp, &e)
		if status != tt.status || e.Error.Field != tt.field || e.Error.Message == "" {
			t.Errorf("%v: %d %s, want %d on %s", tt.change, status, resp, tt.status, tt.field)
		}
	}
	_ = f.env.Pool.QueryRow(context.Background(), `SELECT count(*) FROM clues`).Scan(&clues)
	if clues != 1 {
		t.Errorf("refused clues were stored: %d clues", clues)
	}
	// a township may not report in another township; the screen may not report at all
	other := f.env.Login(t, "t"+badaling)
	b := map[string]any{}
	for k, v := range body {
		b[k] = v
	}
	b["external_id"] = "other"
	if status, _ := f.env.Do(t, "POST", "/api/v1/clues", other, b); status != 403 {
		t.Errorf("another township's clue: %d, want 403", status)
	}
	if status, _ := f.env.Do(t, "POST", "/api/v1/clues", f.env.Login(t, "screen"), b); status != 403 {
		t.Errorf("screen's clue: %d, want 403", status)
	}
}

func TestJoiningAndEscalationByRule(t *testing.T) {
	f := setup(t)
	tok := f.env.Login(t, "t"+kangzhuang)
	var ids []int64
	for i, d := range []float64{0, 0.0002, -0.0003} { // within ~30 m
		status, out := f.clue(t, tok, d, d/2, category)
		if status != 201 {
			t.Fatalf("clue %d: %d", i, status)
		}
		var w struct {
			ID        int64
			Grade     string
			ClueCount int `json:"clue_count"`
		}
		_ = json.Unmarshal(out["whistle"], &w)
		ids = append(ids, w.ID)
		want := map[int]string{0: "routine", 1: "routine", 2: "priority"}[i]
		if w.Grade != want || w.ClueCount != i+1 {
			t.Errorf("after clue %d: grade %s clues %d, want %s and %d", i, w.Grade, w.ClueCount, want, i+1)
		}
	}
	if ids[0] == 0 || ids[1] != ids[0] || ids[2] != ids[0] {
		t.Errorf("whistles %v, want one whistle joined by all (哨随事动)", ids)
	}
	// far away (about 2 km): a whistle of its own
	_, out := f.clue(t, tok, 0.02, 0.01, category)
	var far struct{ ID int64 }
	_ = json.Unmarshal(out["whistle"], &far)
	if far.ID == 0 || far.ID == ids[0] {
		t.Errorf("a clue 2 km away joined whistle %d", far.ID)
	}
	// another category stays in the village: the default rule
	_, out = f.clue(t, tok, 0, 0, "CM.01.02")
	if string(out["whistle"]) != "null" {
		t.Errorf("a clue under the default rule raised %s", out["whistle"])
	}
}

func TestHardWhistleRulingAndContest(t *testing.T) {
	f := setup(t)
	_, out := f.clue(t, f.env.Login(t, "t"+kangzhuang), 0, 0, category)
	var w struct{ ID int64 }
	_ = json.Unmarshal(out["whistle"], &w)
	id := w.ID
	steps := []struct {
		user, step string
		body       any
		want       int
	}{
		{"t" + kangzhuang, "consult", map[string]any{"attendees": []string{"城管"}, "minutes": "x"}, 409}, // not hard yet
		{"t" + kangzhuang, "escalate", map[string]string{"grade": "hard", "reason": "反复出现"}, 200},
		{"t" + kangzhuang, "escalate", map[string]string{"grade": "priority", "reason": "x"}, 409},
		{"t" + kangzhuang, "consult", map[string]any{"attendees": []string{"城管执法队", "市场监管所"}, "minutes": "二次会商纪要"}, 200},
		{"t" + kangzhuang, "rule", map[string]string{"lead_unit": "D004", "reason": "x"}, 403},
		{"command", "rule", map[string]string{"lead_unit": "NOPE", "reason": "x"}, 422},
		{"command", "rule", map[string]string{"lead_unit": "D004", "reason": "属住建职责"}, 200},
		{"command", "rule", map[string]string{"lead_unit": "D002", "reason": "x"}, 409},
		{"u" + f.lead, "contest", map[string]string{"reason": "x"}, 403},
		{"uD004", "contest", map[string]string{"reason": "非本部门职责"}, 200},
		{"uD004", "contest", map[string]string{"reason": "再议"}, 409},
		{"command", "rule", map[string]string{"lead_unit": "D004", "reason": "复议维持"}, 200},
	}
	for _, s := range steps {
		status, _, body := f.step(t, s.user, id, s.step, s.body)
		if status != s.want {
			t.Errorf("%s %s: %d, want %d: %s", s.user, s.step, status, s.want, body)
		}
	}
	_, b := f.env.Do(t, "GET", fmt.Sprintf("/api/v1/whistles/%d", id), f.env.Login(t, "command"), nil)
	var d detail
	_ = json.Unmarshal(b, &d)
	leads := 0
	for _, s := range d.Summons {
		if s.Role == "lead" {
			leads++
			if s.Unit.Code != "D004" {
				t.Errorf("lead %s after the ruling, want D004", s.Unit.Code)
			}
		}
	}
	if leads != 1 || d.Grade != "hard" {
		t.Errorf("%d leads, grade %s", leads, d.Grade)
	}
	// hard deadlines tightened: report-in within 30 min of the escalation
	if d.Deadlines.ReportIn.After(time.Now().Add(31 * time.Minute)) {
		t.Errorf("report-in due %v after escalating to hard", d.Deadlines.ReportIn)
	}
}

// Two instances sweep at once: each overdue whistle is marked, noticed and
// escalated exactly once.
func TestSweepTwoInstancesNoDoubleEscalation(t *testing.T) {
	f := setup(t)
	tok := f.env.Login(t, "t"+kangzhuang)
	var ids []int64
	for i := range 5 {
		_, out := f.clue(t, tok, float64(i)*0.002, 0, category) // about 170 m apart: beyond the join radius
		var w struct{ ID int64 }
		_ = json.Unmarshal(out["whistle"], &w)
		if w.ID == 0 {
			t.Fatalf("clue %d raised no whistle", i)
		}
		ids = append(ids, w.ID)
	}
	// one unit reports in on the first whistle: only its report-in is on time
	if status, _, body := f.step(t, "u"+f.lead, ids[0], "report-in", map[string]string{"person": "王五"}); status != 200 {
		t.Fatalf("report-in: %s", body)
	}
	later := time.Now().Add(25 * time.Hour) // past the routine report-in deadline (24 h), before resolve (7 d)
	url := f.env.Pool.Config().ConnString()
	var wg sync.WaitGroup
	results := make([]whistle.SweepResult, 4)
	errs := make([]error, 4)
	for i := range 4 {
		pool, err := pgxpool.New(context.Background(), url) // each "instance" its own pool
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		st := whistle.NewStore(pool, f.env.Placer, whistle.Options{Now: func() time.Time { return later }})
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i], errs[i] = st.Sweep(context.Background())
		}(i)
	}
	wg.Wait()
	total := whistle.SweepResult{}
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("sweep %d: %v", i, errs[i])
		}
		total.ReportInOverdue += r.ReportInOverdue
		total.Escalated += r.Escalated
		total.Notices += r.Notices
	}
	// whistle 0 still has assists not reported in (if any): it is overdue only if it has assists
	wantOverdue := 4
	if len(f.assists) > 0 {
		wantOverdue = 5
	}
	if total.ReportInOverdue != wantOverdue || total.Escalated != wantOverdue {
		t.Errorf("sweeps marked %d and escalated %d, want %d each", total.ReportInOverdue, total.Escalated, wantOverdue)
	}
	var escalations, notices, grades int
	_ = f.env.Pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM whistle_events WHERE action = 'escalate'),
		(SELECT count(*) FROM supervision_notices), (SELECT count(*) FROM whistles WHERE grade = 'priority')`).Scan(&escalations, &notices, &grades)
	if escalations != wantOverdue || grades != wantOverdue || notices != total.Notices {
		t.Errorf("escalations %d, priority whistles %d, notices %d (sweeps said %d)", escalations, grades, notices, total.Notices)
	}
	// sweeping again changes nothing
	st := whistle.NewStore(f.env.Pool, f.env.Placer, whistle.Options{Now: func() time.Time { return later.Add(time.Minute) }})
	if r, err := st.Sweep(context.Background()); err != nil || r != (whistle.SweepResult{}) {
		t.Errorf("second sweep: %+v %v", r, err)
	}
	// the unit sees the notice on the whistle
	_, b := f.env.Do(t, "GET", fmt.Sprintf("/api/v1/whistles/%d", ids[1]), f.env.Login(t, "u"+f.lead), nil)
	if !strings.Contains(string(b), `"kind":"report_in"`) {
		t.Errorf("no report-in supervision notice on whistle %d: %s", ids[1], b)
	}
}

// intakeAll runs Intake for each input at once, as the command center, and
// returns the results in input order.
func intakeAll(t *testing.T, st *whistle.Store, ins []whistle.ClueInput) ([]whistle.IntakeResult, []error) {
	t.Helper()
	res := make([]whistle.IntakeResult, len(ins))
	errs := make([]error, len(ins))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, in := range ins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res[i], errs[i] = st.Intake(context.Background(), access.Scope{Role: access.RoleCommand}, in)
		}()
	}
	close(start)
	wg.Wait()
	return res, errs
}

// Many clues at one spot at once, sharing transactions (group commit): one
// whistle, every other clue joins it, one escalation, and every step with
// its trail row and its event, in order.
func TestConcurrentCluesAtOneSpotRaiseOneWhistle(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	st := whistle.NewStore(f.env.Pool, f.env.Placer, whistle.Options{})
	// 40 clues at one spot would be a risky place (风险研判, its own tests):
	// this test is of the intake's concurrency, so that rule is off here
	rules, err := st.RiskRulesOf(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rules.PlaceClues = 0
	if _, err := st.PutRiskRules(ctx, access.Scope{Role: access.RoleCommand, Username: "command"}, rules); err != nil {
		t.Fatal(err)
	}
	const n = 40
	now := time.Now().Format(time.RFC3339)
	var ins []whistle.ClueInput
	for i := range n {
		lon, lat := f.lon+float64(i%5)*0.00005, f.lat+float64(i/5)*0.00002 // within about 25 m
		ins = append(ins, whistle.ClueInput{Source: "patrol", ExternalID: fmt.Sprintf("spot-%d", i), Category: category,
			Text: "门口摆摊", Lon: &lon, Lat: &lat, ReportedAt: now})
	}
	res, errs := intakeAll(t, st, ins)
	whistles := map[int64]int{}
	for i, r := range res {
		if errs[i] != nil {
			t.Fatalf("clue %d: %v", i, errs[i])
		}
		if r.Existing || r.Whistle == nil || r.Clue.WhistleID == nil || *r.Clue.WhistleID != r.Whistle.ID {
			t.Fatalf("clue %d: %+v", i, r)
		}
		whistles[r.Whistle.ID]++
	}
	if len(whistles) != 1 {
		t.Fatalf("%d whistles raised at one spot: %v", len(whistles), whistles)
	}
	var id int64
	for id = range whistles {
	}
	var clueCount, escalations int
	var grade string
	if err := f.env.Pool.QueryRow(ctx, `SELECT clue_count, escalations, grade FROM whistles WHERE id = $1`, id).Scan(&clueCount, &escalations, &grade); err != nil {
		t.Fatal(err)
	}
	if clueCount != n || escalations != 1 || grade != "priority" {
		t.Errorf("whistle: %d clues, %d escalations, grade %s; want %d, 1, priority", clueCount, escalations, grade, n)
	}
	var trail []string
	rows, err := f.env.Pool.Query(ctx, `SELECT action FROM whistle_events WHERE whistle_id = $1 ORDER BY id`, id)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a string
		_ = rows.Scan(&a)
		trail = append(trail, a)
	}
	want := append([]string{"raise", "join", "join", "escalate"}, strings.Split(strings.Repeat("join,", n-3), ",")[:n-3]...)
	if strings.Join(trail, ",") != strings.Join(want, ",") {
		t.Errorf("trail %v, want %v", trail, want)
	}
	// the events: each whistle step carries the summary just after it, and
	// every clue its clue.received naming the whistle
	rows, err = f.env.Pool.Query(ctx, `SELECT kind, payload FROM events WHERE kind LIKE 'whistle.%' OR kind = 'clue.received' ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	received := 0
	for rows.Next() {
		var kind string
		var p struct {
			Whistle *struct {
				ID        int64
				Grade     string
				ClueCount int `json:"clue_count"`
			}
			Clue *struct {
				ID int64
			}
			WhistleID int64 `json:"whistle_id"`
			ClueCount int   `json:"clue_count"`
			From, To  string
		}
		var b []byte
		if err := rows.Scan(&kind, &b); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		switch kind {
		case "clue.received":
			received++
			if p.Clue == nil || p.Clue.ID == 0 || p.WhistleID != id {
				t.Errorf("clue.received %s", b)
			}
			continue
		case "whistle.raised":
			if p.Whistle.ClueCount != 1 || p.Whistle.Grade != "routine" {
				t.Errorf("raised: %s", b)
			}
		case "whistle.joined":
			if p.Whistle.ClueCount != p.ClueCount || p.ClueCount < 2 || (p.ClueCount <= 3) != (p.Whistle.Grade == "routine") {
				t.Errorf("joined: %s", b)
			}
		case "whistle.escalated":
			if p.From != "routine" || p.To != "priority" || p.Whistle.Grade != "priority" || p.Whistle.ClueCount != 3 {
				t.Errorf("escalated: %s", b)
			}
		}
		kinds = append(kinds, strings.TrimPrefix(kind, "whistle."))
	}
	wantKinds := append([]string{"raised", "joined", "joined", "escalated"}, strings.Split(strings.Repeat("joined,", n-3), ",")[:n-3]...)
	if received != n || strings.Join(kinds, ",") != strings.Join(wantKinds, ",") {
		t.Errorf("%d clue.received, whistle events %v; want %d and %v", received, kinds, n, wantKinds)
	}
}

// The same clue sent many times at once is stored once: every answer
// names the same clue, and only one is new.
func TestConcurrentDuplicateIntakeStoresOnce(t *testing.T) {
	f := setup(t)
	// several lanes, so that the same key can be in two transactions at once
	st := whistle.NewStore(f.env.Pool, f.env.Placer, whistle.Options{IntakeLanes: 4})
	lon, lat := f.lon, f.lat
	in := whistle.ClueInput{Source: "hotline", ExternalID: "12345-2026-0042", Category: category, Text: "占道",
		Lon: &lon, Lat: &lat, ReportedAt: time.Now().Format(time.RFC3339)}
	ins := make([]whistle.ClueInput, 12)
	for i := range ins {
		ins[i] = in
	}
	// the same key under other categories goes through other lanes
	for i, c := range []string{"CM.01.02", "CM.01.01"} {
		ins[i].Category = c
	}
	res, errs := intakeAll(t, st, ins)
	created := 0
	for i, r := range res {
		if errs[i] != nil {
			t.Fatalf("intake %d: %v", i, errs[i])
		}
		if !r.Existing {
			created++
		}
		if r.Clue.ID != res[0].Clue.ID || r.Clue.ID == 0 {
			t.Errorf("intake %d answered clue %d, intake 0 clue %d", i, r.Clue.ID, res[0].Clue.ID)
		}
	}
	var clues, received int
	_ = f.env.Pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM clues), (SELECT count(*) FROM events WHERE kind = 'clue.received')`).Scan(&clues, &received)
	if created != 1 || clues != 1 || received != 1 {
		t.Errorf("%d created, %d clues, %d clue.received events; want 1 each", created, clues, received)
	}
}

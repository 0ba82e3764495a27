package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"whistlegrid/internal/testenv"
)

// workTownship and workCategory: a clue of 占道经营 in 康庄镇, which the
// test's rule keeps in its village, may be raised by hand: the township's
// 城管执法队 leads.
const (
	workTownship = "110119101"
	workCategory = "CM.01.03"
)

type workPage struct {
	Tab      string  `json:"tab"`
	Sort     string  `json:"sort"`
	Next     *string `json:"next"`
	Whistles []struct {
		ID     int64     `json:"id"`
		Status string    `json:"status"`
		Due    time.Time `json:"due"`
	} `json:"whistles"`
	Clues []struct {
		ID        int64  `json:"id"`
		WhistleID *int64 `json:"whistle_id"`
	} `json:"clues"`
}

type workCounts struct {
	Tabs   []string       `json:"tabs"`
	Counts map[string]int `json:"counts"`
}

type workActions struct {
	Actions []struct {
		Step   string   `json:"step"`
		Units  []string `json:"units"`
		Grades []string `json:"grades"`
	} `json:"actions"`
}

func (a workActions) steps() []string {
	var out []string
	for _, x := range a.Actions {
		out = append(out, x.Step)
	}
	return out
}

// TestWorkQueues walks a case through the queues over HTTP: the township
// sees its new clues in clues (keyset paged, newest first, counted), raises
// a whistle from two of them; the lead unit finds it in report-in with the
// report-in deadline, reports in, finds it in resolving; the actions
// endpoint offers each role exactly its next step; the command center
// supervises a late unit once; other callers get 404 and bad input 422.
func TestWorkQueues(t *testing.T) {
	t.Parallel() // its own database
	pool := testenv.DemoDB(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO rules (category_id, action) SELECT id, 'village' FROM categories WHERE code = $1
		ON CONFLICT (category_id, township_id) DO UPDATE SET action = 'village'`, workCategory); err != nil {
		t.Fatal(err)
	}
	env := testenv.Serve(t, pool)
	var lon, lat float64
	if err := env.Pool.QueryRow(ctx, `SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM grids
		WHERE level = 'household' AND code LIKE $1 || '%' ORDER BY code LIMIT 1`, workTownship).Scan(&lon, &lat); err != nil {
		t.Fatal(err)
	}
	town := env.Login(t, "t"+workTownship)
	get := func(tok, path string, want int) []byte {
		t.Helper()
		status, body := env.Do(t, http.MethodGet, path, tok, nil)
		if status != want {
			t.Fatalf("GET %s: %d, want %d: %s", path, status, want, body)
		}
		return body
	}
	before := decode[workCounts](t, get(town, "/api/v1/work/counts", 200))
	if !slices.Equal(before.Tabs, []string{"clues", "open", "approval", "rate", "done"}) {
		t.Errorf("township tabs %v", before.Tabs)
	}
	var ids []int64
	for i := range 3 {
		status, body := env.Do(t, http.MethodPost, "/api/v1/clues", town, map[string]any{
			"source": "patrol", "external_id": fmt.Sprintf("work-%d", i), "category": workCategory, "text": "门口摆摊占道",
			"lon": lon, "lat": lat, "reported_at": time.Now().Add(time.Duration(i-10) * time.Minute).Format(time.RFC3339),
		})
		if status != http.StatusCreated {
			t.Fatalf("POST clue: %d %s", status, body)
		}
		c := decode[struct {
			Clue struct {
				ID int64 `json:"id"`
			} `json:"clue"`
			Whistle *struct{} `json:"whistle"`
		}](t, body)
		if c.Whistle != nil {
			t.Fatalf("the clue raised a whistle by itself: %s", body)
		}
		ids = append(ids, c.Clue.ID)
	}
	after := decode[workCounts](t, get(town, "/api/v1/work/counts", 200))
	if after.Counts["clues"] != before.Counts["clues"]+3 {
		t.Errorf("clues count %d, want %d", after.Counts["clues"], before.Counts["clues"]+3)
	}
	// keyset: two pages of two and one, newest first, none twice
	p1 := decode[workPage](t, get(town, "/api/v1/work/clues?limit=2", 200))
	if len(p1.Clues) != 2 || p1.Clues[0].ID != ids[2] || p1.Clues[1].ID != ids[1] || p1.Next == nil {
		t.Fatalf("first page %+v, want clues %d, %d and a next cursor", p1, ids[2], ids[1])
	}
	p2 := decode[workPage](t, get(town, "/api/v1/work/clues?limit=2&after="+url.QueryEscape(*p1.Next), 200))
	if len(p2.Clues) == 0 || p2.Clues[0].ID != ids[0] {
		t.Errorf("second page starts with %+v, want clue %d", p2.Clues, ids[0])
	}
	get(town, "/api/v1/work/clues?after=nonsense", 422)
	get(town, "/api/v1/work/clues?offset=20", 422)
	get(town, "/api/v1/work/open?sort=deadline&after="+url.QueryEscape(*p1.Next), 422) // a cursor of another sort
	get(town, "/api/v1/work/clues?limit=1001", 422)
	get(town, "/api/v1/work/report-in", 404)
	get(town, "/api/v1/work/open?sort=soonest", 422)
	get(town, "/api/v1/work/open?limit=0", 422)

	// raise from two clues, with the responsibility list's units and an
	// assisting unit the township adds
	for _, bad := range []any{
		[]map[string]string{{"code": "NOPE", "role": "lead"}},
		[]map[string]string{{"code": "D001", "role": "assist"}},
		[]map[string]string{{"code": "D001", "role": "boss"}},
	} {
		if status, body := env.Do(t, http.MethodPost, "/api/v1/whistles", town, map[string]any{"clue_ids": []int64{ids[2]}, "units": bad}); status != 422 {
			t.Errorf("raise with units %v: %d %s, want 422", bad, status, body)
		}
	}
	placed := decode[struct {
		Units []struct{ Code, Role string } `json:"units"`
	}](t, get(town, fmt.Sprintf("/api/v1/place?lon=%f&lat=%f&category=%s", lon, lat, workCategory), 200))
	units := []map[string]string{}
	for _, u := range placed.Units {
		if u.Code != "D001" {
			units = append(units, map[string]string{"code": u.Code, "role": u.Role})
		}
	}
	units = append(units, map[string]string{"code": "D001", "role": "assist"})
	status, body := env.Do(t, http.MethodPost, "/api/v1/whistles", town, map[string]any{"clue_ids": []int64{ids[2], ids[1]}, "note": "摊点反复出现", "units": units})
	if status != http.StatusCreated {
		t.Fatalf("raise: %d %s", status, body)
	}
	w := decode[struct {
		ID      int64 `json:"id"`
		Summons []struct {
			Unit struct{ Code string } `json:"unit"`
			Role string                `json:"role"`
		} `json:"summons"`
	}](t, body)
	lead, added := "", false
	for _, s := range w.Summons {
		if s.Role == "lead" {
			lead = s.Unit.Code
		}
		added = added || (s.Unit.Code == "D001" && s.Role == "assist")
	}
	if !added {
		t.Errorf("the added assisting unit D001 is not summoned: %s", body)
	}
	if lead == "" {
		t.Fatalf("no lead unit: %s", body)
	}
	p := decode[workPage](t, get(town, "/api/v1/work/clues", 200))
	for _, c := range p.Clues {
		if c.ID == ids[2] || c.ID == ids[1] {
			t.Errorf("raised clue %d still in the clues queue", c.ID)
		}
	}
	open := decode[workPage](t, get(town, "/api/v1/work/open?sort=deadline", 200))
	if !hasWhistle(open, w.ID) {
		t.Errorf("whistle %d not in the township's open queue", w.ID)
	}

	unit := env.Login(t, "u"+lead)
	if got := decode[workCounts](t, get(unit, "/api/v1/work/counts", 200)); !slices.Equal(got.Tabs, []string{"report-in", "resolving", "contest", "done"}) || got.Counts["report-in"] < 1 {
		t.Errorf("unit counts %+v", got)
	}
	ri := decode[workPage](t, get(unit, "/api/v1/work/report-in", 200))
	if !hasWhistle(ri, w.ID) || ri.Sort != "deadline" {
		t.Fatalf("whistle %d not in the unit's report-in queue: %+v", w.ID, ri)
	}
	for i := 1; i < len(ri.Whistles); i++ {
		if ri.Whistles[i].Due.Before(ri.Whistles[i-1].Due) {
			t.Errorf("report-in queue not by deadline at %d", i)
		}
	}
	acts := fmt.Sprintf("/api/v1/whistles/%d/actions", w.ID)
	if got := decode[workActions](t, get(unit, acts, 200)).steps(); !slices.Equal(got, []string{"report_in"}) {
		t.Errorf("unit actions %v, want [report_in]", got)
	}
	if got := decode[workActions](t, get(town, acts, 200)).steps(); !slices.Equal(got, []string{"escalate"}) {
		t.Errorf("township actions %v, want [escalate]", got)
	}
	get(env.Login(t, "t110119102"), acts, 404)
	get(env.Login(t, "screen"), "/api/v1/work/counts", 404)

	if status, body := env.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/whistles/%d/report-in", w.ID), unit, map[string]any{"person": "王强", "phone": "13900001111"}); status != 200 {
		t.Fatalf("report in: %d %s", status, body)
	}
	if !hasWhistle(decode[workPage](t, get(unit, "/api/v1/work/resolving", 200)), w.ID) {
		t.Errorf("whistle %d not in resolving after the report-in", w.ID)
	}
	if hasWhistle(decode[workPage](t, get(unit, "/api/v1/work/report-in", 200)), w.ID) {
		t.Errorf("whistle %d still in report-in after the report-in", w.ID)
	}

	// the command center supervises a unit late to resolve, once
	if _, err := env.Pool.Exec(ctx, `UPDATE whistles SET raised_at = now() - interval '1 hour', resolve_due = now() - interval '1 minute', report_in_due = now() - interval '2 minutes' WHERE id = $1`, w.ID); err != nil {
		t.Fatal(err)
	}
	cmd := env.Login(t, "command")
	a := decode[workActions](t, get(cmd, acts, 200))
	if !slices.Contains(a.steps(), "supervise") {
		t.Fatalf("command actions %v lack supervise", a.steps())
	}
	if !hasWhistle(decode[workPage](t, get(cmd, "/api/v1/work/overdue", 200)), w.ID) {
		t.Errorf("whistle %d not in the overdue queue", w.ID)
	}
	sup := fmt.Sprintf("/api/v1/whistles/%d/supervise", w.ID)
	status, body = env.Do(t, http.MethodPost, sup, cmd, map[string]any{"unit": lead, "note": "请尽快办结"})
	if status != 200 {
		t.Fatalf("supervise: %d %s", status, body)
	}
	d := decode[struct {
		Notices []struct {
			Unit, Kind string
		} `json:"supervision_notices"`
		Trail []struct{ Action string } `json:"trail"`
	}](t, body)
	if len(d.Notices) != 1 || d.Notices[0].Unit != lead || d.Notices[0].Kind != "resolve" || d.Trail[len(d.Trail)-1].Action != "supervise" {
		t.Errorf("after supervise: %s", body)
	}
	if status, body := env.Do(t, http.MethodPost, sup, cmd, map[string]any{"unit": lead}); status != http.StatusConflict {
		t.Errorf("supervise again: %d %s, want 409", status, body)
	}
	if status, _ := env.Do(t, http.MethodPost, sup, town, map[string]any{"unit": lead}); status != http.StatusForbidden {
		t.Errorf("township supervises: %d, want 403", status)
	}
}

func hasWhistle(p workPage, id int64) bool {
	for _, w := range p.Whistles {
		if w.ID == id {
			return true
		}
	}
	return false
}

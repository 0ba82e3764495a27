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
	"whistlegrid/whistle"
)

// overdueCase is a whistle in one state and what the two meanings of
// overdue (migrations/00005_whistle_summaries.sql) must say of it.
type overdueCase struct {
	name     string
	id       int64
	now      bool // overdue_now
	ever     bool // ever_overdue
	open     bool
	assisted bool // Unit2 is summoned to assist
}

// TestOverdueAgrees builds whistles in every status, overdue by report-in,
// by resolve or not at all, marked by the real sweep and met or closed
// since, and checks that the list (with its filters and its older overdue
// filter), one whistle, the snapshot, the tiles and the statistics say the
// same of both meanings, per whistle and in total, and by=unit per unit.
func TestOverdueAgrees(t *testing.T) {
	env := testenv.Start(t)
	pool := env.Pool
	ctx := context.Background()
	p := places(t, pool)
	hour, day := time.Hour, 24*time.Hour
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%v\n%s", err, sql)
		}
	}
	// summons of the lead Unit (and Unit2 assisting), reported in and
	// resolved the given time after the whistle was raised ("" for not)
	summons := func(id int64, unit, role, reported, resolved string) {
		t.Helper()
		exec(`INSERT INTO summons (whistle_id, unit_id, role, summoned_at, reported_in_at, resolved_at, outcome)
			SELECT w.id, u.id, $3, w.raised_at, w.raised_at + nullif($4, '')::interval, w.raised_at + nullif($5, '')::interval,
				CASE WHEN $5 <> '' THEN 'resolved' END
			FROM whistles w, units u WHERE w.id = $1 AND u.code = $2`, id, unit, role, reported, resolved)
	}
	row := func(status string, raisedAgo, reportIn, resolve time.Duration) whistleRow {
		w := whistleRow{Township: p.TownA, Grid: p.House, Status: status, RaisedAgo: raisedAgo, ReportInIn: reportIn, ResolveIn: resolve}
		if status == "closed" {
			w.Outcome = "resolved"
		}
		return w
	}

	// Marked by the sweep, then met or closed: two whistles past their
	// report-in deadline with the lead not reported in, swept for real.
	marked := insertWhistle(t, pool, row("raised", 2*day, -day, 5*day))
	summons(marked, p.Unit, "lead", "", "")
	closed := insertWhistle(t, pool, row("raised", 2*day, -day, 5*day))
	summons(closed, p.Unit, "lead", "", "")
	res, err := whistle.NewStore(pool, env.Placer, whistle.Options{}).Sweep(ctx)
	if err != nil || res.ReportInOverdue != 2 {
		t.Fatalf("sweep: %+v %v, want 2 report-ins marked", res, err)
	}
	// the lead reports in late on one; the other is resolved and closed in time
	exec(`UPDATE summons SET reported_in_at = now() WHERE whistle_id = $1`, marked)
	exec(`UPDATE whistles SET status = 'in_progress' WHERE id = $1`, marked)
	exec(`UPDATE summons SET reported_in_at = now(), resolved_at = now(), outcome = 'resolved' WHERE whistle_id = $1`, closed)
	exec(`UPDATE whistles SET status = 'closed', closed_at = now(), outcome = 'resolved' WHERE id = $1`, closed)

	cases := []*overdueCase{
		{name: "raised, deadlines ahead", open: true, assisted: true},
		{name: "raised, report-in missed", now: true, ever: true, open: true},
		{name: "in progress, the assistant's report-in missed", now: true, ever: true, open: true, assisted: true},
		{name: "in progress, resolve missed", now: true, ever: true, open: true},
		{name: "in progress, deadlines ahead", open: true},
		{name: "awaiting approval past the resolve deadline", now: true, ever: true, open: true},
		{name: "awaiting approval, deadlines ahead", open: true},
		{name: "marked by the sweep, reported in since", id: marked, now: true, ever: true, open: true},
		{name: "marked by the sweep, closed since", id: closed, ever: true},
		{name: "closed after the resolve deadline, never marked", ever: true},
		{name: "closed in time, never marked"},
	}
	build := []struct {
		w                        whistleRow
		reported, resolved, asst string // lead's report-in and resolution, assistant's report-in, after raising
	}{
		{row("raised", hour, day, 7*day), "", "", ""},
		{row("raised", 2*day, -day, 5*day), "", "", ""},
		{row("in_progress", 2*day, -day, 5*day), "1 hour", "", ""},
		{row("in_progress", 8*day, -7*day, -day), "1 hour", "", ""},
		{row("in_progress", hour, day, 7*day), "10 minutes", "", ""},
		{row("awaiting_approval", 8*day, -7*day, -day), "1 hour", "2 days", ""},
		{row("awaiting_approval", 2*day, -day, 5*day), "1 hour", "1 day", ""},
		{},
		{},
		{row("closed", 8*day, -7*day, -day), "1 hour", "2 days", ""},
		{row("closed", 2*day, -day, 5*day), "1 hour", "1 day", ""},
	}
	for i, c := range cases {
		if c.id != 0 {
			continue
		}
		c.id = insertWhistle(t, pool, build[i].w)
		summons(c.id, p.Unit, "lead", build[i].reported, build[i].resolved)
		if c.assisted {
			summons(c.id, p.Unit2, "assist", build[i].asst, "")
		}
	}
	want := func(pick func(*overdueCase) bool) []int64 {
		var ids []int64
		for _, c := range cases {
			if pick(c) {
				ids = append(ids, c.id)
			}
		}
		slices.Sort(ids)
		return ids
	}
	wantNow, wantEver := want(func(c *overdueCase) bool { return c.now }), want(func(c *overdueCase) bool { return c.ever })
	if len(wantNow) != 5 || len(wantEver) != 7 {
		t.Fatalf("the cases say %d overdue now and %d ever: the test is wrong", len(wantNow), len(wantEver))
	}
	command := env.Login(t, "command")
	get := func(t *testing.T, path string) []byte {
		t.Helper()
		status, body := env.Do(t, "GET", path, command, nil)
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, status, body)
		}
		return body
	}

	type flags struct {
		ID          int64
		Status      string
		Overdue     bool
		OverdueNow  bool `json:"overdue_now"`
		EverOverdue bool `json:"ever_overdue"`
	}
	t.Run("each whistle in the list and alone", func(t *testing.T) {
		list := decode[struct{ Whistles []flags }](t, get(t, "/api/v1/whistles?limit=1000"))
		byID := map[int64]flags{}
		for _, w := range list.Whistles {
			byID[w.ID] = w
		}
		for _, c := range cases {
			w, ok := byID[c.id]
			if !ok || w.OverdueNow != c.now || w.EverOverdue != c.ever || w.Overdue != c.ever || (w.Status != "closed") != c.open {
				t.Errorf("%s: listed %+v (found %v), want overdue_now %v, ever_overdue %v", c.name, w, ok, c.now, c.ever)
			}
			one := decode[flags](t, get(t, fmt.Sprintf("/api/v1/whistles/%d", c.id)))
			if one != w {
				t.Errorf("%s: alone %+v, listed %+v", c.name, one, w)
			}
		}
	})

	t.Run("list filters", func(t *testing.T) {
		ids := func(query string) []int64 {
			t.Helper()
			list := decode[struct {
				Whistles []flags
				Total    int
			}](t, get(t, "/api/v1/whistles?limit=1000&"+query))
			var out []int64
			for _, w := range list.Whistles {
				out = append(out, w.ID)
			}
			if len(out) != list.Total {
				t.Errorf("%s: %d listed, total %d", query, len(out), list.Total)
			}
			slices.Sort(out)
			return out
		}
		all := want(func(*overdueCase) bool { return true })
		for _, tt := range []struct {
			query string
			want  []int64
		}{
			{"overdue_now=true", wantNow},
			{"overdue_now=false", want(func(c *overdueCase) bool { return !c.now })},
			{"ever_overdue=true", wantEver},
			{"ever_overdue=false", want(func(c *overdueCase) bool { return !c.ever })},
			{"overdue=true", wantEver},
			{"overdue=false", want(func(c *overdueCase) bool { return !c.ever })},
			{"ever_overdue=true&overdue_now=false", want(func(c *overdueCase) bool { return c.ever && !c.now })},
			{"", all},
		} {
			if got := ids(tt.query); !slices.Equal(got, tt.want) {
				t.Errorf("%s: %v, want %v", tt.query, got, tt.want)
			}
		}
		for _, q := range []string{"overdue=true&ever_overdue=true", "overdue_now=yes", "ever_overdue=1x"} {
			status, body := env.Do(t, "GET", "/api/v1/whistles?"+q, command, nil)
			e := decode[map[string]map[string]string](t, body)
			if status != http.StatusUnprocessableEntity || e["error"]["field"] == "" {
				t.Errorf("%s: %d %s, want 422 naming the field", q, status, body)
			}
		}
	})

	t.Run("snapshot", func(t *testing.T) {
		snap := decode[struct {
			Whistles []flags
			Counts   struct {
				Open, Overdue int
				OverdueNow    int `json:"overdue_now"`
			}
		}](t, get(t, "/api/v1/snapshot"))
		var now, ever []int64
		for _, w := range snap.Whistles {
			if w.OverdueNow {
				now = append(now, w.ID)
			}
			if w.EverOverdue {
				ever = append(ever, w.ID)
			}
			if w.Overdue != w.EverOverdue {
				t.Errorf("whistle %d: overdue %v, ever_overdue %v", w.ID, w.Overdue, w.EverOverdue)
			}
		}
		// the snapshot holds the open whistles, on which the two meanings agree
		if !slices.Equal(now, wantNow) || !slices.Equal(ever, wantNow) {
			t.Errorf("overdue now %v, ever %v, want %v", now, ever, wantNow)
		}
		if snap.Counts.Open != 8 || snap.Counts.OverdueNow != len(wantNow) || snap.Counts.Overdue != len(wantNow) {
			t.Errorf("counts %+v, want 8 open, %d overdue now", snap.Counts, len(wantNow))
		}
	})

	t.Run("tiles", func(t *testing.T) {
		var lon, lat float64
		if err := pool.QueryRow(ctx, `SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM grids WHERE code = $1) s`, p.House).Scan(&lon, &lat); err != nil {
			t.Fatal(err)
		}
		x, y := tileOf(lon, lat, 15)
		b := get(t, fmt.Sprintf("/tiles/whistles/15/%d/%d.mvt", x, y))
		var now, ids []int64
		for _, f := range layerOf(t, b, "whistles").Features {
			id := int64(f.Properties["id"].(float64))
			ids = append(ids, id)
			if f.Properties["overdue_now"] == true {
				now = append(now, id)
			}
			if f.Properties["overdue"] != f.Properties["overdue_now"] {
				t.Errorf("whistle %d: overdue %v, overdue_now %v", id, f.Properties["overdue"], f.Properties["overdue_now"])
			}
		}
		slices.Sort(ids)
		slices.Sort(now)
		if !slices.Equal(now, wantNow) || !slices.Equal(ids, want(func(c *overdueCase) bool { return c.open })) {
			t.Errorf("tile: whistles %v, overdue now %v, want the open ones, %v overdue now", ids, now, wantNow)
		}
	})

	t.Run("stats", func(t *testing.T) {
		period := "from=" + url.QueryEscape(time.Now().Add(-30*day).Format(time.RFC3339)) + "&to=" + url.QueryEscape(time.Now().Add(hour).Format(time.RFC3339))
		for _, by := range whistle.StatsGroupings() {
			st := decode[whistle.Stats](t, get(t, "/api/v1/stats?by="+by+"&"+period))
			if st.Total.Raised != len(cases) || st.Total.OverdueNow != len(wantNow) || st.Total.EverOverdue != len(wantEver) {
				t.Errorf("by=%s: total %+v, want %d raised, %d overdue now, %d ever", by, st.Total, len(cases), len(wantNow), len(wantEver))
			}
			if by == "unit" {
				// per unit: the lead is late on the two whistles it owes
				// something past a deadline (report-in, resolution), and
				// on the two the sweep marked it (one closed since); the
				// assistant on the one whose report-in it owes
				got := map[string][2]int{}
				for _, g := range st.Groups {
					got[g.Key] = [2]int{g.OverdueNow, g.EverOverdue}
				}
				if w := map[string][2]int{p.Unit: {3, 4}, p.Unit2: {1, 1}}; len(got) != 2 || got[p.Unit] != w[p.Unit] || got[p.Unit2] != w[p.Unit2] {
					t.Errorf("by=unit [overdue_now ever_overdue]: %v, want %v", got, w)
				}
				continue
			}
			var now, ever int
			for _, g := range st.Groups {
				now, ever = now+g.OverdueNow, ever+g.EverOverdue
			}
			if now != len(wantNow) || ever != len(wantEver) {
				t.Errorf("by=%s: the groups add up to %d overdue now and %d ever", by, now, ever)
			}
		}
	})
}

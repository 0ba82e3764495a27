package api_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"whistlegrid/internal/testenv"
	"whistlegrid/live"
)

func TestSnapshotContentsAndScope(t *testing.T) {
	t.Parallel() // its own database
	pool := testenv.DemoDB(t)
	p := places(t, pool)
	ctx := context.Background()
	day := 24 * time.Hour
	wA1 := insertWhistle(t, pool, whistleRow{Township: p.TownA, Grid: p.House})
	wA2 := insertWhistle(t, pool, whistleRow{Township: p.TownA, Grid: p.House2, Grade: "priority", Status: "in_progress",
		RaisedAgo: 10 * day, ReportInIn: -9 * day, ResolveIn: -time.Hour}) // overdue
	wA3 := insertWhistle(t, pool, whistleRow{Township: p.TownA, Grid: p.House, Status: "closed", Outcome: "resolved", RaisedAgo: 2 * day, ReportInIn: -day})
	wA4 := insertWhistle(t, pool, whistleRow{Township: p.TownA, Grid: p.House2, Status: "closed", Outcome: "partly", RaisedAgo: 2 * day, ReportInIn: -day})
	wB1 := insertWhistle(t, pool, whistleRow{Township: p.TownB, Grid: p.TownB, Grade: "hard"})
	for _, s := range []struct {
		whistle  int64
		unit     string
		reported string // reported_in_at after the whistle was raised
		sat      int    // satisfied rating, 0 for none
	}{
		{wA1, p.Unit, "1 minute", 0},  // on time
		{wA3, p.Unit, "1 hour", 5},    // on time, satisfied
		{wA2, p.Unit2, "", 0},         // never reported in, due passed
		{wA4, p.Unit2, "25 hours", 3}, // late (due a day after raising), not satisfied
		{wB1, p.Unit2, "", 0},         // not due yet: not counted
	} {
		if _, err := pool.Exec(ctx, `
			INSERT INTO summons (whistle_id, unit_id, role, summoned_at, reported_in_at, rating_reported_in, rating_resolved, rating_satisfied, rated_at)
			SELECT w.id, u.id, 'lead', w.raised_at,
				CASE WHEN $3::text <> '' THEN w.raised_at + $3::interval END,
				nullif($4::int, 0), nullif($4::int, 0), nullif($4::int, 0), CASE WHEN $4::int > 0 THEN now() END
			FROM whistles w, units u WHERE w.id = $1 AND u.code = $2`, s.whistle, s.unit, s.reported, s.sat); err != nil {
			t.Fatal(err)
		}
	}
	for i, g := range []struct{ township, grid string }{{p.TownA, p.House}, {p.TownB, p.House}} {
		if _, err := pool.Exec(ctx, `
			INSERT INTO clues (source, external_id, category_id, received_lon, received_lat, datum, location, grid_id, township_id, reported_at)
			SELECT 'hotline', 'snap-' || $3::int, (SELECT id FROM categories ORDER BY id LIMIT 1), 116, 40.4, 'wgs84',
				ST_PointOnSurface(h.geom), h.id, t.id, now()
			FROM grids t, grids h WHERE t.code = $1 AND h.code = $2`, g.township, g.grid, i); err != nil {
			t.Fatal(err)
		}
	}
	in := startInstance(t, pool, live.Options{})
	seq := insertEvent(t, pool, "whistle.raised", p.TownA, whistleEvent(wA1, p.TownA, nil))
	waitSeq(t, in.Hub, seq)

	type rateT struct {
		Rate     *float64
		Num, Den int64
	}
	type snapshot struct {
		Seq      int64
		Township string
		Whistles []struct {
			ID            int64
			Lon, Lat      *float64
			Grade, Status string
			Overdue       bool
			Category      string
			CategoryName  string `json:"category_name"`
			TownshipCode  string `json:"township"`
		}
		Counts struct {
			Open, Overdue int
			ByStatus      map[string]int `json:"by_status"`
			ByGrade       map[string]int `json:"by_grade"`
		}
		Today struct {
			CluesReceived  int64 `json:"clues_received"`
			WhistlesRaised int64 `json:"whistles_raised"`
			WhistlesClosed int64 `json:"whistles_closed"`
		}
		Rates struct {
			WindowDays   int   `json:"window_days"`
			ReportIn     rateT `json:"report_in"`
			Resolution   rateT
			Satisfaction rateT
		}
	}
	ids := func(s snapshot) []int64 {
		var out []int64
		for _, w := range s.Whistles {
			out = append(out, w.ID)
		}
		return out
	}
	frac := func(r rateT) [2]int64 { return [2]int64{r.Num, r.Den} }

	t.Run("command, whole district", func(t *testing.T) {
		status, _, body := in.get(t, "/api/v1/snapshot", in.login(t, "command"))
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		s := decode[snapshot](t, body)
		if s.Seq != seq {
			t.Errorf("seq %d, want %d", s.Seq, seq)
		}
		if got := ids(s); !slices.Equal(got, []int64{wA1, wA2, wB1}) {
			t.Errorf("open whistles %v, want %v", got, []int64{wA1, wA2, wB1})
		}
		w := s.Whistles[1]
		if !w.Overdue || w.Status != "in_progress" || w.Grade != "priority" || w.TownshipCode != p.TownA || w.Lon == nil || w.Lat == nil || w.Category == "" || w.CategoryName == "" {
			t.Errorf("whistle %+v", w)
		}
		if s.Whistles[0].Overdue {
			t.Errorf("a fresh whistle is overdue")
		}
		if s.Counts.Open != 3 || s.Counts.Overdue != 1 || s.Counts.ByStatus["raised"] != 2 || s.Counts.ByStatus["in_progress"] != 1 ||
			s.Counts.ByStatus["awaiting_approval"] != 0 || s.Counts.ByGrade["routine"] != 1 || s.Counts.ByGrade["priority"] != 1 || s.Counts.ByGrade["hard"] != 1 {
			t.Errorf("counts %+v", s.Counts)
		}
		if s.Today.CluesReceived != 2 || s.Today.WhistlesRaised != 2 || s.Today.WhistlesClosed != 2 {
			t.Errorf("today %+v", s.Today)
		}
		if s.Rates.WindowDays != 30 || frac(s.Rates.ReportIn) != [2]int64{2, 4} || frac(s.Rates.Resolution) != [2]int64{1, 2} ||
			frac(s.Rates.Satisfaction) != [2]int64{1, 2} || s.Rates.ReportIn.Rate == nil || *s.Rates.ReportIn.Rate != 0.5 {
			t.Errorf("rates %+v", s.Rates)
		}
	})
	tests := []struct {
		name, user, query string
		status            int
		whistles          []int64
		clues, raised     int64
		reportIn          [2]int64
	}{
		{"command, one township", "command", "?township=" + p.TownB, 200, []int64{wB1}, 1, 1, [2]int64{0, 0}},
		{"township, its own", "t" + p.TownA, "", 200, []int64{wA1, wA2}, 1, 1, [2]int64{2, 4}},
		{"township, its own by name", "t" + p.TownA, "?township=" + p.TownA, 200, []int64{wA1, wA2}, 1, 1, [2]int64{2, 4}},
		{"township, another", "t" + p.TownA, "?township=" + p.TownB, 404, nil, 0, 0, [2]int64{}},
		{"no such township", "command", "?township=110119999", 404, nil, 0, 0, [2]int64{}},
		{"not a township code", "command", "?township=11", 422, nil, 0, 0, [2]int64{}},
		{"unit, whistles it is summoned to", "u" + p.Unit, "", 200, []int64{wA1}, 0, 1, [2]int64{2, 2}},
		{"grid worker, its village", "w" + p.Village, "", 200, []int64{wA1, wA2}, 2, 1, [2]int64{2, 4}},
		{"grid worker, its township", "w" + p.Village, "?township=" + p.TownA, 200, []int64{wA1, wA2}, 1, 1, [2]int64{2, 4}},
		{"party member, its household grid", "p" + p.House, "", 200, []int64{wA1}, 2, 1, [2]int64{2, 2}},
		{"screen", "screen", "", 200, []int64{wA1, wA2, wB1}, 2, 2, [2]int64{2, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := in.get(t, "/api/v1/snapshot"+tt.query, in.login(t, tt.user))
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			if status != 200 {
				return
			}
			s := decode[snapshot](t, body)
			if got := ids(s); !slices.Equal(got, tt.whistles) {
				t.Errorf("whistles %v, want %v", got, tt.whistles)
			}
			if s.Today.CluesReceived != tt.clues || s.Today.WhistlesRaised != tt.raised {
				t.Errorf("today %+v, want %d clues, %d raised", s.Today, tt.clues, tt.raised)
			}
			if frac(s.Rates.ReportIn) != tt.reportIn {
				t.Errorf("report-in %v, want %v", frac(s.Rates.ReportIn), tt.reportIn)
			}
		})
	}
	t.Run("no token", func(t *testing.T) {
		if status, _, _ := in.get(t, "/api/v1/snapshot", ""); status != 401 {
			t.Errorf("status %d, want 401", status)
		}
	})
}

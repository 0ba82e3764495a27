package demo_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/uber/h3-go/v4"

	"whistlegrid/access"
	"whistlegrid/demo"
	"whistlegrid/geo"
	"whistlegrid/grid"
	"whistlegrid/hotspot"
	"whistlegrid/internal/testenv"
	"whistlegrid/keyset"
	"whistlegrid/whistle"
)

// historyEnd is the End of the test histories: a fixed instant, so the
// year is the same on every run.
var historyEnd = time.Date(2026, 11, 25, 12, 0, 0, 0, geo.Beijing)

// TestLoadHistory loads a full year onto a fresh demo and checks what the
// statistics, the trail view, the hotspot analysis and the live system will
// read of it, and how its hotline orders came in (checkHotline).
func TestLoadHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: the year of history (make test runs it; make check skips it)")
	}
	ctx := context.Background()
	pool := testenv.DemoDB(t)
	start := time.Now()
	sum, err := demo.LoadHistory(ctx, pool, demo.HistoryOptions{End: historyEnd, ExportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded in %v (plan %v, write %v): %d clues %v; %d whistles, status %v, grade %v; paths %+v; %d summons, %d trail rows, %d events, %d notices",
		time.Since(start).Round(time.Millisecond), sum.Plan.Round(time.Millisecond), sum.Write.Round(time.Millisecond), sum.Clues, sum.BySource,
		sum.Whistles, sum.ByStatus, sum.ByGrade, sum.Paths, sum.Summons, sum.Trail, sum.Events, sum.Notices)

	count := func(t *testing.T, q string, args ...any) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}

	t.Run("counts", func(t *testing.T) {
		clues := count(t, `SELECT count(*) FROM clues`)
		if clues != sum.Clues || clues < 180_000 || clues > 220_000 {
			t.Errorf("clues = %d (summary %d), want 200,000 ± 10%%", clues, sum.Clues)
		}
		for _, src := range []string{"patrol", "hotline", "app", "forum", "sensor", "hotspot"} {
			if n := count(t, `SELECT count(*) FROM clues WHERE source = $1`, src); n == 0 || n != sum.BySource[src] {
				t.Errorf("%s clues = %d (summary %d), want some", src, n, sum.BySource[src])
			}
		}
		if n := count(t, `SELECT count(*) FROM clues WHERE datum = 'wgs84'`); n < clues/2 {
			t.Errorf("%d of %d clues in WGS-84, want most", n, clues)
		}
		for _, d := range []string{"gcj02", "bd09"} {
			if n := count(t, `SELECT count(*) FROM clues WHERE datum = $1 AND (received_lon <> ST_X(location) OR received_lat <> ST_Y(location))`, d); n == 0 {
				t.Errorf("no %s clue received at other coordinates than its WGS-84 location", d)
			}
		}
		if n := count(t, `SELECT count(*) FROM clues WHERE source IN ('hotline', 'app') AND reporter_phone IS NOT NULL`); n == 0 {
			t.Error("no hotline or app clue has a reporter")
		}
		whistles := count(t, `SELECT count(*) FROM whistles`)
		if whistles != sum.Whistles || whistles < 5_000 {
			t.Errorf("whistles = %d (summary %d)", whistles, sum.Whistles)
		}
		for _, st := range []string{"raised", "in_progress", "awaiting_approval", "closed"} {
			if n := count(t, `SELECT count(*) FROM whistles WHERE status = $1`, st); n == 0 {
				t.Errorf("no whistle is %s at End", st)
			}
		}
		if n := count(t, `SELECT count(*) FROM whistles WHERE status = 'closed'`); n < whistles*9/10 {
			t.Errorf("%d of %d whistles closed, want most", n, whistles)
		}
		for _, g := range []string{"routine", "priority", "hard"} {
			if n := count(t, `SELECT count(*) FROM whistles WHERE grade = $1`, g); n == 0 {
				t.Errorf("no %s whistle", g)
			}
		}
		for _, a := range []string{"raise", "join", "report_in", "resolve", "close", "return", "rate", "escalate", "consult", "rule", "contest", "overdue", "supervise", "callback", "reopen"} {
			if n := count(t, `SELECT count(*) FROM whistle_events WHERE action = $1`, a); n == 0 {
				t.Errorf("no %s step in the trail", a)
			}
		}
		if n := count(t, `SELECT count(*) FROM whistles WHERE raised_by IS NOT NULL`); n == 0 {
			t.Error("no whistle raised by hand")
		}
		if n := count(t, `SELECT count(*) FROM whistles WHERE returns = 2`); n == 0 {
			t.Error("no whistle returned twice")
		}
		if n := count(t, `SELECT count(*) FROM whistles WHERE status <> 'closed' AND (report_in_overdue_at IS NOT NULL OR resolve_overdue_at IS NOT NULL)`); n == 0 {
			t.Error("no open whistle is overdue at End")
		}
		if n := count(t, `SELECT count(*) FROM supervision_notices`); n != sum.Notices || n == 0 {
			t.Errorf("supervision notices = %d (summary %d)", n, sum.Notices)
		}
		p := sum.Paths
		if p.ClosedOnTime < whistles/2 {
			t.Errorf("%d of %d whistles closed on time, want most", p.ClosedOnTime, whistles)
		}
		for name, n := range map[string]int{"joined": p.Joined, "raised by hand": p.RaisedByHand, "report-in overdue": p.ReportInOverdue,
			"resolve overdue": p.ResolveOverdue, "returned": p.Returned, "returned twice": p.ReturnedTwice, "escalated by clues": p.EscalatedByClues,
			"escalated by hand": p.EscalatedByHand, "escalated by the sweep": p.EscalatedBySweep, "consulted": p.Consulted, "ruled": p.Ruled,
			"contested": p.Contested, "ruled again": p.ReRuled, "rated": p.Rated, "open": p.Open, "open and overdue": p.OpenOverdue,
			"reopened after an unsatisfied callback": p.Reopened} {
			if n == 0 {
				t.Errorf("no whistle went down the %q path", name)
			}
		}
	})

	// (before the subtests below that add to the year)
	t.Run("hotline orders came through the importer", func(t *testing.T) { checkHotline(t, ctx, pool, sum) })

	t.Run("rhythms", func(t *testing.T) {
		month := func(cat string, m int) int {
			return count(t, `SELECT count(*) FROM clues c JOIN categories k ON k.id = c.category_id
				WHERE k.code LIKE $1 || '%' AND extract(month FROM c.reported_at AT TIME ZONE 'Asia/Shanghai') = $2`, cat, m)
		}
		if jan, jul := month("HL.01", 1), month("HL.01", 7); jan < 10*max(jul, 10) {
			t.Errorf("heating clues: January %d, July %d; want January ≫ July", jan, jul)
		}
		if jul, jan := month("HL.06", 7), month("HL.06", 1); jul < 2*jan {
			t.Errorf("noise clues: July %d, January %d; want July ≫ January", jul, jan)
		}
		if jan, jul := month("CM.04.07", 1), month("CM.04.07", 7); jan < 10*max(jul, 10) {
			t.Errorf("snow and ice clues: January %d, July %d", jan, jul)
		}
		if summer, winter := month("HL.03.01", 7)+month("HL.03.01", 8), month("HL.03.01", 12)+month("HL.03.01", 1); summer < 2*winter {
			t.Errorf("power cuts: July–August %d, December–January %d; want the summer storms", summer, winter)
		}
		hours := func(cat string, from, to int) int {
			return count(t, `SELECT count(*) FROM clues c JOIN categories k ON k.id = c.category_id
				WHERE k.code LIKE $1 || '%' AND extract(hour FROM c.reported_at AT TIME ZONE 'Asia/Shanghai') BETWEEN $2 AND $3`, cat, from, to)
		}
		if eve, morning := hours("HL.06", 19, 23), hours("HL.06", 7, 11); eve < 2*morning {
			t.Errorf("noise clues: 19–24 h %d, 7–12 h %d; want evenings", eve, morning)
		}
		if night, day := count(t, `SELECT count(*) FROM clues WHERE source = 'patrol' AND extract(hour FROM reported_at AT TIME ZONE 'Asia/Shanghai') < 6`),
			count(t, `SELECT count(*) FROM clues WHERE source = 'patrol'`); night*100 > day {
			t.Errorf("%d of %d patrol clues between midnight and 6 h", night, day)
		}
		weekday := count(t, `SELECT count(*) FROM clues WHERE source = 'patrol' AND extract(isodow FROM reported_at AT TIME ZONE 'Asia/Shanghai') = 3`)
		sunday := count(t, `SELECT count(*) FROM clues WHERE source = 'patrol' AND extract(isodow FROM reported_at AT TIME ZONE 'Asia/Shanghai') = 7`)
		if weekday < 2*sunday {
			t.Errorf("patrol clues: Wednesdays %d, Sundays %d; want a working week", weekday, sunday)
		}
		// clues per household: townspeople complain more than mountain villagers
		perHousehold := func(kind string) float64 {
			var f float64
			err := pool.QueryRow(ctx, `
				SELECT (SELECT count(*) FROM clues c JOIN grids h ON h.id = c.grid_id JOIN grids v ON v.id = h.parent_id WHERE v.kind = $1)::float8
				     / (SELECT count(*) FROM households x JOIN grids h ON h.id = x.grid_id JOIN grids v ON v.id = h.parent_id WHERE v.kind = $1)`, kind).Scan(&f)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
		if c, v := perHousehold("community"), perHousehold("village"); c < 1.5*v {
			t.Errorf("clues per household: communities %.2f, villages %.2f", c, v)
		}
	})

	t.Run("order", func(t *testing.T) {
		if n := count(t, `SELECT count(*) FROM (SELECT at < lag(at) OVER (ORDER BY seq) AS back FROM events) x WHERE back`); n != 0 {
			t.Errorf("%d events earlier than the one before them", n)
		}
		if n := count(t, `SELECT count(*) FROM (SELECT at < lag(at) OVER (ORDER BY id) AS back FROM whistle_events) x WHERE back`); n != 0 {
			t.Errorf("%d trail rows earlier than the one before them", n)
		}
		if n, clues := count(t, `SELECT count(*) FROM events WHERE kind = 'clue.received'`), count(t, `SELECT count(*) FROM clues`); n != clues {
			t.Errorf("%d clue.received events for %d clues", n, clues)
		}
		if ev, tr := count(t, `SELECT count(*) FROM events WHERE kind LIKE 'whistle.%'`), count(t, `SELECT count(*) FROM whistle_events`); ev != tr {
			t.Errorf("%d whistle events for %d trail rows", ev, tr)
		}
		// every event is at a clue's receipt or a step of the trail
		if n := count(t, `SELECT count(*) FROM events e WHERE e.kind LIKE 'whistle.%'
			AND NOT EXISTS (SELECT 1 FROM whistle_events w WHERE w.whistle_id = (e.payload->'whistle'->>'id')::bigint AND w.at = e.at)`); n != 0 {
			t.Errorf("%d whistle events at no step of their whistle's trail", n)
		}
		if n := count(t, `SELECT count(*) FROM events e JOIN clues c ON c.id = (e.payload->'clue'->>'id')::bigint
			WHERE e.kind = 'clue.received' AND (e.at <> c.received_at OR c.whistle_id IS DISTINCT FROM (e.payload->>'whistle_id')::bigint AND e.payload ? 'whistle_id')`); n != 0 {
			t.Errorf("%d clue events disagree with their clue", n)
		}
		if seq := count(t, `SELECT last_value FROM events_seq_seq`); seq != count(t, `SELECT max(seq) FROM events`) {
			t.Errorf("events sequence at %d, behind the rows", seq)
		}
	})

	t.Run("consistent", func(t *testing.T) {
		checks := []struct{ name, q string }{
			{"raise is the first step, at raised_at", `SELECT count(*) FROM whistles w WHERE (SELECT min(at) FROM whistle_events e WHERE e.whistle_id = w.id) <> w.raised_at
				OR NOT EXISTS (SELECT 1 FROM whistle_events e WHERE e.whistle_id = w.id AND e.action = 'raise' AND e.at = w.raised_at)`},
			{"clue_count counts the clues", `SELECT count(*) FROM whistles w WHERE w.clue_count <> (SELECT count(*) FROM clues c WHERE c.whistle_id = w.id)`},
			{"joins are trailed", `SELECT count(*) FROM whistles w WHERE w.clue_count - 1 <> (SELECT count(*) FROM whistle_events e WHERE e.whistle_id = w.id AND e.action = 'join')`},
			{"raised by a received clue", `SELECT count(*) FROM whistles w WHERE NOT EXISTS (SELECT 1 FROM clues c WHERE c.whistle_id = w.id AND c.received_at <= w.raised_at)`},
			{"in progress means someone reported in", `SELECT count(*) FROM whistles w WHERE w.status IN ('in_progress', 'awaiting_approval', 'closed')
				AND NOT EXISTS (SELECT 1 FROM summons s WHERE s.whistle_id = w.id AND s.reported_in_at IS NOT NULL)`},
			{"raised means nobody reported in", `SELECT count(*) FROM whistles w WHERE w.status = 'raised' AND EXISTS (SELECT 1 FROM summons s WHERE s.whistle_id = w.id AND s.reported_in_at IS NOT NULL)`},
			{"awaiting or closed means every lead resolved", `SELECT count(*) FROM whistles w WHERE w.status IN ('awaiting_approval', 'closed')
				AND EXISTS (SELECT 1 FROM summons s WHERE s.whistle_id = w.id AND s.role = 'lead' AND s.resolved_at IS NULL)`},
			{"one lead", `SELECT count(*) FROM whistles w WHERE (SELECT count(*) FROM summons s WHERE s.whistle_id = w.id AND s.role = 'lead') <> 1`},
			{"steps after the summons", `SELECT count(*) FROM summons s WHERE s.reported_in_at < s.summoned_at OR s.resolved_at < s.reported_in_at`},
			// (a reopened whistle keeps its ratings, as the live reopen does: rated after its first close)
			{"rated after closing", `SELECT count(*) FROM summons s JOIN whistles w ON w.id = s.whistle_id WHERE s.rated_at IS NOT NULL
				AND s.rated_at < coalesce((SELECT min(e.at) FROM whistle_events e WHERE e.whistle_id = w.id AND e.action = 'close'), 'infinity')`},
			{"a callback after a close", `SELECT count(*) FROM whistle_callbacks cb WHERE NOT EXISTS (SELECT 1 FROM whistle_events e WHERE e.whistle_id = cb.whistle_id AND e.action = 'close' AND e.at < cb.at)`},
			{"callbacks are trailed", `SELECT count(*) FROM whistle_callbacks cb WHERE NOT EXISTS (SELECT 1 FROM whistle_events e WHERE e.whistle_id = cb.whistle_id AND e.action = 'callback' AND e.at = cb.at AND e.data->>'result' = cb.result)`},
			{"reopened within 7 days of an unsatisfied callback", `SELECT count(*) FROM whistle_events r WHERE r.action = 'reopen' AND NOT EXISTS (SELECT 1 FROM whistle_callbacks cb
				WHERE cb.whistle_id = r.whistle_id AND cb.result = 'unsatisfied' AND cb.at < r.at AND cb.at >= r.at - interval '7 days')`},
			{"callbacks only on residents' cases", `SELECT count(*) FROM whistle_callbacks cb WHERE NOT EXISTS (SELECT 1 FROM clues c WHERE c.whistle_id = cb.whistle_id AND c.source IN ('hotline', 'forum', 'app', 'meeting'))`},
			{"closed after every lead resolved", `SELECT count(*) FROM summons s JOIN whistles w ON w.id = s.whistle_id WHERE s.role = 'lead' AND w.closed_at < s.resolved_at`},
			{"a notice for every overdue mark", `SELECT count(*) FROM whistles w WHERE (w.report_in_overdue_at IS NOT NULL) <> EXISTS (SELECT 1 FROM supervision_notices n WHERE n.whistle_id = w.id AND n.kind = 'report_in')`},
			// (a reopen gives a new resolve deadline and keeps the old mark, as the live reopen does)
			{"marked after the deadline", `SELECT count(*) FROM whistles w WHERE w.report_in_overdue_at <= w.report_in_due
				OR (w.resolve_overdue_at <= w.resolve_due AND NOT EXISTS (SELECT 1 FROM whistle_events e WHERE e.whistle_id = w.id AND e.action = 'reopen'))`},
			{"escalations are trailed", `SELECT count(*) FROM whistles w WHERE w.escalations <> (SELECT count(*) FROM whistle_events e WHERE e.whistle_id = w.id AND e.action = 'escalate')`},
			{"consultations only when hard", `SELECT count(*) FROM whistle_events e JOIN whistles w ON w.id = e.whistle_id WHERE e.action IN ('consult', 'rule') AND w.grade <> 'hard'`},
			{"the ruled unit leads", `SELECT count(*) FROM whistles w WHERE w.ruled_unit_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM summons s WHERE s.whistle_id = w.id AND s.unit_id = w.ruled_unit_id AND s.role = 'lead')`},
			{"nothing after End", `SELECT count(*) FROM whistle_events WHERE at > $1`},
			{"the same township as the clue", `SELECT count(*) FROM clues c JOIN whistles w ON w.id = c.whistle_id WHERE w.raised_by IS NOT NULL AND c.township_id <> w.township_id`},
		}
		for _, c := range checks {
			var n int
			var err error
			if c.name == "nothing after End" {
				err = pool.QueryRow(ctx, c.q, historyEnd).Scan(&n)
			} else {
				err = pool.QueryRow(ctx, c.q).Scan(&n)
			}
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if n != 0 {
				t.Errorf("%s: %d rows break it", c.name, n)
			}
		}
	})

	t.Run("whistle's rules", func(t *testing.T) {
		checkWhistleRules(t, ctx, pool)
	})

	t.Run("units differ", func(t *testing.T) {
		var slow, fast float64
		err := pool.QueryRow(ctx, `
			SELECT avg(s.rating_reported_in) FILTER (WHERE u.name = '区住房城乡建设委'), avg(s.rating_reported_in) FILTER (WHERE u.name = '延庆区热力公司')
			FROM summons s JOIN units u ON u.id = s.unit_id WHERE s.rated_at IS NOT NULL`).Scan(&slow, &fast)
		if err != nil {
			t.Fatal(err)
		}
		if slow+0.5 > fast {
			t.Errorf("report-in rating: 区住房城乡建设委 %.2f, 延庆区热力公司 %.2f; want the slow department rated lower", slow, fast)
		}
		var high float64
		if err := pool.QueryRow(ctx, `SELECT avg((rating_satisfied >= 4)::int) FROM summons WHERE rated_at IS NOT NULL`).Scan(&high); err != nil {
			t.Fatal(err)
		}
		if high < 0.6 || high > 0.95 {
			t.Errorf("%.0f%% of satisfaction ratings are 4 or 5, want most but not all", 100*high)
		}
	})

	t.Run("planted clusters", func(t *testing.T) {
		if len(sum.Clusters) < 4 || len(sum.Clusters) > 6 {
			t.Fatalf("%d clusters, want 4 to 6", len(sum.Clusters))
		}
		kinds := map[string]bool{}
		var area float64
		if err := pool.QueryRow(ctx, `SELECT ST_Area(geom::geography) FROM grids WHERE level = 'district'`).Scan(&area); err != nil {
			t.Fatal(err)
		}
		for _, c := range sum.Clusters {
			kinds[c.Kind] = true
			within := func(from, to time.Time) int {
				return count(t, `SELECT count(*) FROM clues c JOIN categories k ON k.id = c.category_id
					WHERE k.code = $1 AND c.reported_at >= $5 AND c.reported_at < $6
					  AND ST_DWithin(c.location::geography, ST_SetSRID(ST_MakePoint($2, $3), 4326)::geography, $4)`,
					c.Category, c.Lon, c.Lat, c.RadiusM, from, to)
			}
			n := within(c.From, c.To.Add(time.Second))
			all := count(t, `SELECT count(*) FROM clues c JOIN categories k ON k.id = c.category_id WHERE k.code = $1 AND c.reported_at >= $2 AND c.reported_at < $3`,
				c.Category, c.From, c.To.Add(time.Second))
			expected := float64(all) * math.Pi * c.RadiusM * c.RadiusM / area
			t.Logf("%s (%s, %s): %d clues within %.0f m, %.2f expected from the background", c.Name, c.Kind, c.Category, n, c.RadiusM, expected)
			if n < c.Clues || float64(n) < 30*math.Max(expected, 1) {
				t.Errorf("%s: %d clues within %.0f m of the centre, planted %d, background %.2f", c.Name, n, c.RadiusM, c.Clues, expected)
			}
			switch c.Kind {
			case "new":
				if before := within(c.From.Add(-90*24*time.Hour), c.From); before*5 > n {
					t.Errorf("%s: %d clues in the 90 days before it began, %d since", c.Name, before, n)
				}
			case "intensifying":
				last := within(c.To.Add(-14*24*time.Hour), c.To)
				prev := within(c.To.Add(-28*24*time.Hour), c.To.Add(-14*24*time.Hour))
				early := within(c.To.Add(-56*24*time.Hour), c.To.Add(-42*24*time.Hour))
				if !(last > prev && prev > early && last > 3*early) {
					t.Errorf("%s: %d, %d, %d clues in fortnights towards End, want growth", c.Name, early, prev, last)
				}
			}
		}
		for _, k := range []string{"persistent", "new", "intensifying"} {
			if !kinds[k] {
				t.Errorf("no %s cluster", k)
			}
		}
		again, err := demo.PlantedClusters(ctx, pool, demo.HistoryOptions{End: historyEnd})
		if err != nil {
			t.Fatal(err)
		}
		for i := range again {
			if a, b := again[i], sum.Clusters[i]; a.Lon != b.Lon || a.Lat != b.Lat || a.Category != b.Category || !a.From.Equal(b.From) {
				t.Errorf("PlantedClusters()[%d] = %+v, LoadHistory planted %+v", i, a, b)
			}
		}
	})

	t.Run("hotspot analysis finds the planted clusters", func(t *testing.T) {
		hs := hotspot.NewStore(pool)
		from := historyEnd.AddDate(0, 0, -84)
		for _, c := range sum.Clusters {
			r, err := hs.Emerging(ctx, hotspot.Query{Category: c.Category, From: from, To: historyEnd})
			if err != nil {
				t.Fatal(err)
			}
			centre := h3.LatLngToCell(h3.NewLatLng(c.Lat, c.Lon), 9)
			var best *hotspot.CellTrend
			for i := range r.Cells {
				ct := &r.Cells[i]
				if h3.GridDistance(ct.Cell, centre) <= 1 && (best == nil || ct.Z > best.Z) {
					best = ct
				}
			}
			if best == nil || best.Significance != hotspot.Hot {
				t.Errorf("%s (%s): no hot cell at its centre: %+v", c.Name, c.Kind, best)
				continue
			}
			t.Logf("%s (%s): cell %s, %d clues, z %.1f, %s, weeks %v", c.Name, c.Kind, best.Cell, best.Count, best.Z, best.Class, best.SliceSig)
			n := len(best.SliceSig)
			switch c.Kind {
			case "persistent":
				if best.Class != hotspot.PersistentHotSpot {
					t.Errorf("%s: %s, want a persistent hot spot", c.Name, best.Class)
				}
			case "new":
				if best.Class != hotspot.NewHotSpot && best.Class != hotspot.ConsecutiveHotSpot {
					t.Errorf("%s: %s, want a new or consecutive hot spot", c.Name, best.Class)
				}
				for i, sl := range r.Slices {
					if !sl.End.After(c.From) && best.SliceSig[i] != 0 {
						t.Errorf("%s: significant in the week of %s, before it began on %s", c.Name, sl.Start.Format(time.DateOnly), c.From.Format(time.DateOnly))
					}
				}
			case "intensifying":
				if best.SliceSig[n-1] != 1 || best.SliceSig[n-2] != 1 || best.SliceSig[n-3] != 1 || best.Trend.Z <= 0 {
					t.Errorf("%s: weeks %v, trend z %.2f: want hot in each of the last three weeks and a rising z", c.Name, best.SliceSig, best.Trend.Z)
				}
			}
		}
	})

	t.Run("hotspot scan files each new cluster once", func(t *testing.T) {
		hs := hotspot.NewStore(pool)
		for _, c := range sum.Clusters {
			if c.Kind != "new" {
				continue
			}
			centre := h3.LatLngToCell(h3.NewLatLng(c.Lat, c.Lon), 9)
			f := &recordingFiler{}
			filedAt := []string{}
			// a scan in each week from the one it began in to four weeks on
			// (a scan's window depends only on its week)
			for at := c.From; at.Before(c.From.Add(29 * 24 * time.Hour)); at = at.Add(7 * 24 * time.Hour) {
				r, err := hs.Scan(ctx, f, at, hotspot.ScanOptions{Categories: []string{c.Category}})
				if err != nil {
					t.Fatal(err)
				}
				for _, fd := range r.Findings {
					if fd.Filed && h3.GridDistance(fd.Cell, centre) <= 2 {
						filedAt = append(filedAt, fmt.Sprintf("%s (%s, %d this week)", r.WindowEnd.Format(time.DateOnly), fd.Class, fd.LastCount))
					}
				}
			}
			if len(filedAt) != 1 {
				t.Errorf("%s began %s: filed %d times: %v, want once", c.Name, c.From.Format(time.DateOnly), len(filedAt), filedAt)
			} else {
				t.Logf("%s began %s: filed by the scan of the week ending %s", c.Name, c.From.Format(time.DateOnly), filedAt[0])
			}
		}
	})

	t.Run("live system", func(t *testing.T) {
		placer, err := grid.NewPlacer(ctx, pool, grid.IndexOptions{})
		if err != nil {
			t.Fatal(err)
		}
		now := historyEnd
		store := whistle.NewStore(pool, placer, whistle.Options{Now: func() time.Time { return now }})
		// a sweep at End finds every deadline already swept
		res, err := store.Sweep(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.ReportInOverdue+res.ResolveOverdue+res.Notices+res.Escalated != 0 {
			t.Errorf("a sweep at End still finds %+v", res)
		}
		var cmd int64
		if err := pool.QueryRow(ctx, `SELECT id FROM users WHERE username = 'command'`).Scan(&cmd); err != nil {
			t.Fatal(err)
		}
		sc := access.Scope{Role: access.RoleCommand, Username: "command", UserID: cmd}
		// the trail view reads a whistle that went the long way
		var id int64
		if err := pool.QueryRow(ctx, `SELECT whistle_id FROM whistle_events WHERE action = 'contest' ORDER BY id LIMIT 1`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		d, err := store.Get(ctx, sc, id)
		if err != nil {
			t.Fatal(err)
		}
		steps := map[string]bool{}
		for i, s := range d.Trail {
			steps[s.Action] = true
			if i > 0 && s.At.Before(d.Trail[i-1].At) {
				t.Errorf("whistle %d: trail out of order at step %d", id, i)
			}
		}
		for _, a := range []string{"raise", "report_in", "escalate", "consult", "rule", "contest"} {
			if !steps[a] {
				t.Errorf("whistle %d: no %s in its trail %+v", id, a, d.Trail)
			}
		}
		if d.RuledUnit == nil || len(d.Clues) == 0 {
			t.Errorf("whistle %d: ruled unit %v, %d clues", id, d.RuledUnit, len(d.Clues))
		}
		// a new clue at an open whistle joins it, as the rules say
		var open int64
		var cat string
		var lon, lat float64
		err = pool.QueryRow(ctx, `
			SELECT w.id, c.code, ST_X(w.location), ST_Y(w.location) FROM whistles w JOIN categories c ON c.id = w.category_id
			WHERE w.status <> 'closed' AND w.raised_at > $1 ORDER BY w.raised_at DESC LIMIT 1`, now.Add(-24*time.Hour)).Scan(&open, &cat, &lon, &lat)
		if err != nil {
			t.Fatal(err)
		}
		in, err := store.Intake(ctx, sc, whistle.ClueInput{Source: "patrol", ExternalID: "history-test-join", Category: cat, Text: "复查",
			Lon: &lon, Lat: &lat, Datum: "wgs84", ReportedAt: now.Format(time.RFC3339)})
		if err != nil {
			t.Fatal(err)
		}
		if in.Whistle == nil || (in.Whistle.ID != open && (in.Whistle.Lon != lon || in.Whistle.Lat != lat)) {
			t.Errorf("a clue at open whistle %d (%s) went to %+v", open, cat, in.Whistle)
		}
		// statistics-style reads see the year
		list, err := store.List(ctx, sc, whistle.Filter{Status: "closed", Page: keyset.Page{Limit: 5}})
		if err != nil || list.Total.N == 0 || len(list.Whistles) != 5 || list.Next == nil {
			t.Errorf("listing closed whistles: %d of %+v (next %v), %v", len(list.Whistles), list.Total, list.Next, err)
		}
	})
}

// TestLoadHistoryDeterministic loads a smaller year twice, into two fresh
// demos, and compares every row; a third with another seed must differ.
// The first is held against whistle's rules too: the quick way to see
// that a change to a rule reached the demo.
func TestLoadHistoryDeterministic(t *testing.T) {
	ctx := context.Background()
	fingerprint := func(pool *pgxpool.Pool) map[string]string {
		out := map[string]string{}
		for table, order := range map[string]string{"clues": "id", "whistles": "id", "summons": "whistle_id, unit_id",
			"whistle_events": "id", "supervision_notices": "id", "events": "seq"} {
			var sum string
			err := pool.QueryRow(ctx, `SELECT coalesce(md5(string_agg(t::text, E'\n' ORDER BY `+order+`)), '') FROM `+table+` t`).Scan(&sum)
			if err != nil {
				t.Fatal(err)
			}
			out[table] = sum
		}
		return out
	}
	first := true
	load := func(seed int64) map[string]string {
		pool := testenv.DemoDB(t)
		sum, err := demo.LoadHistory(ctx, pool, demo.HistoryOptions{Seed: seed, End: historyEnd, Clues: 20_000})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Clues < 18_000 || sum.Whistles == 0 {
			t.Fatalf("seed %d: %d clues, %d whistles", seed, sum.Clues, sum.Whistles)
		}
		t.Logf("seed %d: %d clues, %d whistles, %d events in %v", seed, sum.Clues, sum.Whistles, sum.Events, sum.Took.Round(time.Millisecond))
		if first {
			first = false
			checkWhistleRules(t, ctx, pool)
			// the ledger, the board, the meetings, the callbacks and the
			// risk rules on this year, rather than on one more of their own
			t.Run("channels", func(t *testing.T) { checkHistoryChannels(t, ctx, pool, sum) })
		}
		return fingerprint(pool)
	}
	a, b := load(7), load(7)
	for table, sum := range a {
		if sum == "" || b[table] != sum {
			t.Errorf("%s: md5 %q and %q, want the same", table, sum, b[table])
		}
	}
	if c := load(8); c["clues"] == a["clues"] {
		t.Error("seeds 7 and 8 wrote the same clues")
	}
	if _, err := demo.LoadHistory(ctx, testenv.DemoDB(t), demo.HistoryOptions{Seed: 7, End: historyEnd, Clues: 100}); err == nil {
		t.Error("100 clues cannot hold the planted clusters: want an error")
	}
}

// TestLoadHistoryTwice refuses a second history on the same database. The
// first replaces the hotline exports of a year loaded before in its
// export folder, and leaves the folder's other files alone.
func TestLoadHistoryTwice(t *testing.T) {
	ctx := context.Background()
	pool := testenv.DemoDB(t)
	dir := t.TempDir()
	for _, f := range []string{"12345-2001-01.csv", "12345-2001-02.xlsx", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := demo.LoadHistory(ctx, pool, demo.HistoryOptions{End: historyEnd, Clues: 5_000, ExportDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	names, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(sum.Hotline.Files), sum.Hotline.Truth, "notes.txt")
	for i := range names {
		names[i] = filepath.Base(names[i])
	}
	slices.Sort(names)
	slices.Sort(want)
	if !slices.Equal(names, want) || len(sum.Hotline.Files) < 12 {
		t.Errorf("the export folder holds %v, want %v", names, want)
	}
	if _, err := demo.LoadHistory(ctx, pool, demo.HistoryOptions{End: historyEnd, Clues: 5_000}); err != demo.ErrHistoryNotEmpty {
		t.Errorf("second load: %v, want ErrHistoryNotEmpty", err)
	}
}

// recordingFiler files hotspot clues in memory, once per external id.
type recordingFiler struct{ ids map[string]bool }

func (f *recordingFiler) FileHotspot(_ context.Context, externalID, _, _ string, _, _ float64, _ time.Time) (bool, error) {
	if f.ids == nil {
		f.ids = map[string]bool{}
	}
	if f.ids[externalID] {
		return false, nil
	}
	f.ids[externalID] = true
	return true, nil
}

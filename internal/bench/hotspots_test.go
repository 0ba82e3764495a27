package bench

import (
	"context"
	"sync"
	"testing"

	"github.com/uber/h3-go/v4"

	"whistlegrid/hotspot"
	"whistlegrid/internal/dbtest"
)

// TestHotspots runs the bench command's harness small, so it stays
// working: every verified clue in its LatLngToCell cell, the planted
// clusters hot, each stage timed.
func TestHotspots(t *testing.T) {
	rep, err := Hotspots(HotspotsOptions{Clues: 50_000, Runs: 2, Verify: 50_000, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Clues != 50_000 || rep.Verified != 50_000 || rep.Mismatches != 0 {
		t.Errorf("%d clues, %d verified, %d mismatches", rep.Clues, rep.Verified, rep.Mismatches)
	}
	if rep.Cells < 40_000 || rep.Hot < 3*7 || rep.TotalMS <= 0 || rep.BinMS <= 0 || rep.WeightsMS <= 0 {
		t.Errorf("implausible report %+v", rep)
	}
	if rep.TotalMS < rep.BinMS {
		t.Errorf("total %.1f ms is less than its binning stage, %.1f ms", rep.TotalMS, rep.BinMS)
	}
}

// TestHotspotsCluesAreSeeded holds the baseline to the same points as the
// in-process run: the same options give the same clues, another seed
// others, and the planted clusters take their shares.
func TestHotspotsCluesAreSeeded(t *testing.T) {
	o := HotspotsOptions{Clues: 10_000, Seed: 9}
	a, b := HotspotsClues(o), HotspotsClues(o)
	if len(a) != 10_000 || len(b) != len(a) {
		t.Fatalf("%d and %d clues, want 10000", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("clue %d differs between two calls: %+v, %+v", i, a[i], b[i])
		}
	}
	if c := HotspotsClues(HotspotsOptions{Clues: 10_000, Seed: 10}); c[0] == a[0] {
		t.Errorf("seeds 9 and 10 gave the same first clue %+v", a[0])
	}
	// the first cluster (延庆城区, 2% of the clues) within 1 km of its centre
	near := 0
	for _, p := range a {
		if (p.Lon-115.975)*(p.Lon-115.975)*0.58+(p.Lat-40.457)*(p.Lat-40.457) < 0.009*0.009 {
			near++
		}
	}
	if near < 200 {
		t.Errorf("%d clues within 1 km of 延庆城区, want at least its 2%% share (200)", near)
	}
}

// TestHotspotsSQL runs the PostGIS baseline at the bench's own size (see
// hotspotsSQL for why not smaller) in a fresh database: it must answer
// every square with clues, and find the planted clusters hot.
func TestHotspotsSQL(t *testing.T) {
	pool := dbtest.New(t)
	ctx := context.Background()
	rep, err := HotspotsSQL(ctx, pool, HotspotsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", rep)
	if rep.Clues != 1_000_000 || rep.MS <= 0 || rep.Hot < len(hotspotsClusters) {
		t.Errorf("report %+v, want a million clues and at least a hot square per planted cluster", rep)
	}
	var squares, clues int
	if err := pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(n), 0)::int FROM (SELECT count(*) AS n FROM hotspot_points GROUP BY
		floor(ST_X(ST_Transform(geom, 32650)) / $1), floor(ST_Y(ST_Transform(geom, 32650)) / $1)) s`, HotspotsSideM).Scan(&squares, &clues); err != nil {
		t.Fatal(err)
	}
	// The study area is the box's corners joined by straight lines in UTM,
	// so a few squares on its curved edges, with clues, fall outside it.
	if clues != rep.Clues || rep.Rows < squares*999/1000 || rep.Rows > squares+rep.Hot {
		t.Errorf("%d rows for %d squares with clues (%d clues loaded)", rep.Rows, squares, clues)
	}
}

// hotspotsData is the million clues and the box's cells, made once.
var hotspotsData = sync.OnceValues(func() ([]hotspot.Point, []h3.Cell) {
	return HotspotsClues(HotspotsOptions{Seed: 1}), hotspotsBoxCells(hotspot.DefaultResolution)
})

// BenchmarkHotspots is Gi* over 1,000,000 clues through hotspot's API:
// binning, weights of the study area, the statistic, p-values and the FDR
// cut. The budget is 1,000 ms on the 2-core machine; `whistlegrid bench
// hotspots` reports the same run through Hotspots.
func BenchmarkHotspots(b *testing.B) {
	pts, cells := hotspotsData()
	var last hotspotsStages
	for b.Loop() {
		st, err := hotspotsRun(pts, cells)
		if err != nil {
			b.Fatal(err)
		}
		last = st
	}
	b.ReportMetric(hotspotsMS(last.bin), "bin-ms")
	b.ReportMetric(hotspotsMS(last.weights), "weights-ms")
	b.ReportMetric(hotspotsMS(last.gistar+last.fdr), "stat-fdr-ms")
}

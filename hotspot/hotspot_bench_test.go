package hotspot

import (
	"sync"
	"testing"
	"time"

	"whistlegrid/geo"

	"github.com/uber/h3-go/v4"
)

// benchData is the million clues and the box's cells, made once.
var benchData = sync.OnceValues(func() ([]Point, []h3.Cell) {
	return syntheticClues(1_000_000, 1, benchClusters, 150), boxCells(benchBox, DefaultResolution)
})

// BenchmarkEndToEnd is Gi* over 1,000,000 clues: binning, weights of the
// study area, the statistic, p-values and the FDR cut. The budget is
// 1,000 ms on the 2-core machine; `whistlegrid bench hotspots` reports the
// same run through BenchEndToEnd.
func BenchmarkEndToEnd(b *testing.B) {
	pts, cells := benchData()
	var last stageTimes
	for b.Loop() {
		st, err := endToEnd(pts, cells)
		if err != nil {
			b.Fatal(err)
		}
		last = st
	}
	b.ReportMetric(ms(last.bin), "bin-ms")
	b.ReportMetric(ms(last.weights), "weights-ms")
	b.ReportMetric(ms(last.gistar+last.fdr), "stat-fdr-ms")
	b.ReportMetric(float64(last.h3Calls), "h3-calls")
}

// BenchmarkLocate is the Go port's cost per point, one core.
func BenchmarkLocate(b *testing.B) {
	pts, _ := benchData()
	loc := newLocator(DefaultResolution)
	var sink uint64
	for i := 0; b.Loop(); i++ {
		p := &pts[i&(1<<16-1)]
		k, _ := loc.key(p.Lon, p.Lat)
		sink ^= k
	}
	_ = sink
}

// BenchmarkLatLngToCell is h3-go's own cost per point, for comparison.
func BenchmarkLatLngToCell(b *testing.B) {
	pts, _ := benchData()
	var sink h3.Cell
	for i := 0; b.Loop(); i++ {
		p := &pts[i&(1<<16-1)]
		sink ^= cellOf(p.Lon, p.Lat, DefaultResolution)
	}
	_ = sink
}

func BenchmarkBin(b *testing.B) {
	pts, _ := benchData()
	for b.Loop() {
		if _, err := binPoints(pts, DefaultResolution, 1, nil, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewArea(b *testing.B) {
	_, cells := benchData()
	for b.Loop() {
		if _, err := NewArea(cells, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGiStarAndPValues(b *testing.B) {
	pts, cells := benchData()
	area, err := NewArea(cells, 1)
	if err != nil {
		b.Fatal(err)
	}
	bn, err := binPoints(pts, DefaultResolution, 1, nil, 0)
	if err != nil {
		b.Fatal(err)
	}
	x, _ := areaValues(area.Len(), areaIndex(area, bn), bn, 0)
	for b.Loop() {
		z, err := area.GiStar(x)
		if err != nil {
			b.Fatal(err)
		}
		up, down, err := area.PValues(x)
		if err != nil {
			b.Fatal(err)
		}
		_ = significanceOf(up, down, DefaultAlpha)
		_ = z
	}
}

// BenchmarkEmerging is twelve weekly slices over the million clues.
func BenchmarkEmerging(b *testing.B) {
	pts, cells := benchData()
	area, err := NewArea(cells, 1)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, geo.Beijing)
	for b.Loop() {
		if _, err := Emerging(pts, EmergingOptions{Options: Options{Area: area}, Start: start, End: start.AddDate(0, 0, 84)}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBenchEndToEnd runs the bench command's function small, so it stays
// working: every verified clue in its LatLngToCell cell, the clusters hot.
func TestBenchEndToEnd(t *testing.T) {
	rep, err := BenchEndToEnd(BenchOptions{Clues: 50_000, Runs: 2, Verify: 50_000, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Clues != 50_000 || rep.Verified != 50_000 || rep.Mismatches != 0 {
		t.Errorf("%d clues, %d verified, %d mismatches", rep.Clues, rep.Verified, rep.Mismatches)
	}
	if rep.Cells < 40_000 || rep.Hot < 3*7 || rep.TotalMS <= 0 || rep.BinMS <= 0 || rep.H3Calls == 0 {
		t.Errorf("implausible report %+v", rep)
	}
}

package hotspot

import (
	"sync"
	"testing"
	"time"

	"whistlegrid/geo"

	"github.com/uber/h3-go/v4"
)

// benchData is the million clues and the box's cells, made once. Gi* end
// to end over them is timed by `whistlegrid bench hotspots` and by
// internal/bench's BenchmarkHotspots, through the package's API.
var benchData = sync.OnceValues(func() ([]Point, []h3.Cell) {
	return syntheticClues(1_000_000, 1, benchClusters, 150), boxCells(benchBox, DefaultResolution)
})

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

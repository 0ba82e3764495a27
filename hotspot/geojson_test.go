package hotspot

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/paulmach/orb"
	"github.com/uber/h3-go/v4"
)

func TestBoundary(t *testing.T) {
	tests := []struct {
		name     string
		cell     h3.Cell
		vertices int
	}{
		{"hexagon in 延庆城区", yanqing, 6},
		{"hexagon at resolution 7", cellOf(116.3, 40.6, 7), 6},
		{"pentagon, Class II", h3.Pentagons(8)[0], 5},
		{"pentagon, Class III (distortion vertices)", h3.Pentagons(9)[0], 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ring := Boundary(tc.cell)
			if len(ring) != tc.vertices+1 || ring[0] != ring[len(ring)-1] {
				t.Fatalf("ring of %d points, closed %v; want %d + 1, closed", len(ring), ring[0] == ring[len(ring)-1], tc.vertices)
			}
			if a := signedArea(ring[:len(ring)-1]); a <= 0 {
				t.Errorf("signed area %v: the ring is clockwise, RFC 7946 wants counter-clockwise", a)
			}
			// lon/lat order: the cell's centre is inside the ring, and for
			// 延庆区 lon ≈ 116 is the first coordinate.
			c := h3.CellToLatLng(tc.cell)
			bound := orb.Ring(ring).Bound()
			if !bound.Contains(orb.Point{c.Lng, c.Lat}) {
				t.Errorf("centre lon %v lat %v is outside the ring's bound %v: lat/lng swapped?", c.Lng, c.Lat, bound)
			}
		})
	}
}

// TestFeatureCollectionGolden renders a small analysis as GeoJSON and
// compares it with testdata/analyze_small.golden.geojson (run with -update
// to rewrite). Coordinates are rounded to 1e-9° and z and p to 9
// significant digits so the file does not depend on the last bits of a
// platform's floating point.
func TestFeatureCollectionGolden(t *testing.T) {
	area, err := NewArea(h3.GridDisk(yanqing, 2), 1)
	if err != nil {
		t.Fatal(err)
	}
	var pts []Point
	for i, c := range area.cells {
		g := h3.CellToLatLng(c)
		for range []int{0, 1, 0, 2, 0, 1, 3}[i%7] {
			pts = append(pts, Point{Lon: g.Lng, Lat: g.Lat})
		}
	}
	g := h3.CellToLatLng(yanqing)
	for range 25 {
		pts = append(pts, Point{Lon: g.Lng, Lat: g.Lat})
	}
	res, err := Analyze(pts, Options{Area: area})
	if err != nil {
		t.Fatal(err)
	}
	fc := res.FeatureCollection(func(c CellStat) bool { return c.Count > 0 })
	for _, f := range fc.Features {
		f.Geometry = orb.Round(f.Geometry, 1e9)
		for _, k := range []string{"z", "p"} {
			v := f.Properties[k].(float64)
			f.Properties[k] = roundSig(v, 9)
		}
	}
	got, err := json.MarshalIndent(fc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "analyze_small.golden.geojson")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("GeoJSON differs from %s (run go test -update to accept):\n%s", golden, got)
	}
	if res.Cells[mustIndex(t, area, yanqing)].Significance != Hot {
		t.Errorf("the 25-clue centre cell is not hot")
	}
}

func mustIndex(t *testing.T, a *Area, c h3.Cell) int {
	t.Helper()
	i, ok := a.Index(c)
	if !ok {
		t.Fatalf("%v is not in the area", c)
	}
	return i
}

func roundSig(v float64, digits int) float64 {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return v
	}
	scale := math.Pow(10, float64(digits)-math.Ceil(math.Log10(math.Abs(v))))
	return math.Round(v*scale) / scale
}

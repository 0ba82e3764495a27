package hotspot

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/uber/h3-go/v4"
)

// uniformClues returns n clues uniform over the lon/lat box.
func uniformClues(n int, seed uint64, box [4]float64) []Point {
	r := rand.New(rand.NewPCG(seed, 3))
	pts := make([]Point, n)
	for i := range pts {
		pts[i] = Point{Lon: box[0] + (box[1]-box[0])*r.Float64(), Lat: box[2] + (box[3]-box[2])*r.Float64()}
	}
	return pts
}

// innerCells returns the cells at res lying wholly inside the box, so
// that clues uniform over the box cover every cell fully.
func innerCells(box [4]float64, res int) []h3.Cell {
	var out []h3.Cell
	for _, c := range boxCells(box, res) {
		inside := true
		for _, v := range c.Boundary() {
			inside = inside && v.Lng > box[0] && v.Lng < box[1] && v.Lat > box[2] && v.Lat < box[3]
		}
		if inside {
			out = append(out, c)
		}
	}
	return out
}

func TestBin(t *testing.T) {
	pts := syntheticClues(50_000, 5, benchClusters, 150)
	want := map[h3.Cell]int{}
	for _, p := range pts {
		want[h3.LatLngToCell(h3.NewLatLng(p.Lat, p.Lon), 9)]++
	}
	t.Run("counts equal LatLngToCell's", func(t *testing.T) {
		got, err := Bin(pts, 9)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d cells, want %d", len(got), len(want))
		}
		for c, n := range want {
			if got[c] != n {
				t.Fatalf("cell %v: %d clues, want %d", c, got[c], n)
			}
		}
	})
	t.Run("any number of workers", func(t *testing.T) {
		for _, w := range []int{1, 3, 8} {
			b, err := binPoints(pts, 9, 1, nil, w)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.IsSorted(b.cells) || len(b.cells) != len(want) || b.points != len(pts) {
				t.Fatalf("workers %d: %d cells (sorted %v), %d points", w, len(b.cells), slices.IsSorted(b.cells), b.points)
			}
			for i, c := range b.cells {
				if int(b.counts[i]) != want[c] {
					t.Fatalf("workers %d: cell %v has %d, want %d", w, c, b.counts[i], want[c])
				}
			}
			if b.h3Calls > len(want)+len(pts)/1000 {
				t.Errorf("workers %d: %d calls to h3 for %d cells", w, b.h3Calls, len(want))
			}
		}
	})
	errs := []struct {
		name   string
		pts    []Point
		res    int
		inText string
	}{
		{"NaN longitude", append(slices.Clone(pts[:9000]), Point{Lon: math.NaN(), Lat: 40}), 9, "point 9000"},
		{"latitude out of range", []Point{{Lon: 116, Lat: 40}, {Lon: 116, Lat: 91}}, 9, "point 1"},
		{"infinite", []Point{{Lon: math.Inf(1), Lat: 40}}, 9, "point 0"},
		{"resolution 0", pts[:10], 0, "resolution 0"},
		{"resolution 16", pts[:10], 16, "resolution 16"},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Bin(tc.pts, tc.res)
			if err == nil || !strings.Contains(err.Error(), tc.inText) || !strings.HasPrefix(err.Error(), "hotspot: ") {
				t.Errorf("err = %v, want a hotspot error naming %q", err, tc.inText)
			}
		})
	}
	t.Run("empty", func(t *testing.T) {
		got, err := Bin(nil, 9)
		if err != nil || len(got) != 0 {
			t.Errorf("Bin(nil) = %v, %v", got, err)
		}
	})
}

// TestAnalyzeFindsPlantedClusters plants three dense clusters (2%, 1% and
// 1% of the clues, spread 150 m) over uniform clues in the 延庆区 box and
// checks that each cluster's cell and its six neighbours come out hot.
// Hot cells far from every cluster are false discoveries; Benjamini–
// Hochberg keeps their expected share of all discoveries under alpha =
// 5%, and with well over a hundred true ones a few are expected (a
// background neighbourhood with 50 clues where 29 are expected has p ≈
// 2e-5, and 49,000 cells hold about one such by chance). One map is one
// draw, so the test allows twice alpha.
func TestAnalyzeFindsPlantedClusters(t *testing.T) {
	pts := syntheticClues(200_000, 11, benchClusters, 150)
	district, err := NewArea(boxCells(benchBox, 9), 1)
	if err != nil {
		t.Fatal(err)
	}
	district2, err := NewArea(boxCells(benchBox, 9), 2)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		o    Options
	}{
		{"district area, exact", Options{Area: district}},
		{"district area, normal", Options{Area: district, PMethod: PNormal}},
		{"district area, k=2", Options{Area: district2}},
		{"cells with data", Options{}},
		{"cells with data, resolution 8", Options{Resolution: 8}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Analyze(pts, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if res.Clues+res.Outside != len(pts) {
				t.Errorf("Clues %d + Outside %d != %d", res.Clues, res.Outside, len(pts))
			}
			byCell := map[h3.Cell]CellStat{}
			for _, c := range res.Cells {
				byCell[c.Cell] = c
			}
			near := map[h3.Cell]bool{}
			for _, cl := range benchClusters {
				centre := cellOf(cl[0], cl[1], res.Resolution)
				for _, c := range h3.GridDisk(centre, 1) {
					if got := byCell[c]; got.Significance != Hot {
						t.Errorf("cluster at %.3f,%.3f: cell %v is %s (z %.2f, p %.3g, %d clues), want hot", cl[0], cl[1], c, got.Significance, got.Z, got.P, got.Count)
					}
				}
				// 150 m spread: by 5 rings at resolution 9 (about 1.5 km)
				// the cluster is gone, and so must be the hot spot.
				for _, c := range h3.GridDisk(centre, 5+res.K) {
					near[c] = true
				}
			}
			falseHot := 0
			for _, c := range res.Cells {
				if c.Significance == Hot && !near[c.Cell] {
					falseHot++
				}
			}
			t.Logf("%d hot, %d far from the clusters, %d cold", res.Hot, falseHot, res.Cold)
			if res.Hot == 0 || float64(falseHot) > 2*res.Alpha*float64(res.Hot) {
				t.Errorf("%d hot cells, %d of them far from every cluster: more than %.0f%%", res.Hot, falseHot, 200*res.Alpha)
			}
		})
	}
}

// TestAnalyzeFalsePositives runs Analyze on uniform random clues, where
// every discovery is false. The study area is the cells wholly inside the
// box (a cell half outside gets half the clues: a true cold spot of the
// sampling, not a false one). Under this global null the Benjamini–
// Hochberg cut makes P(any discovery) ≤ alpha per direction, so over 10
// seeds and two directions the expected number of seeds with any
// discovery is at most 10·2·0.05 = 1; the test allows 3 (P(≥ 4 | mean 1)
// < 2%, and discrete p-values are conservative, so in practice it is 0 or
// 1) and at most 10 false cells in all.
func TestAnalyzeFalsePositives(t *testing.T) {
	box := [4]float64{115.9, 116.2, 40.35, 40.55} // about 560 km²
	area, err := NewArea(innerCells(box, 9), 1)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		clues  int
		method PMethod
		// 0: the bounds above. Otherwise at least this many false cells:
		// normal p-values on sparse counts, the reason they are not the
		// default (countp.go).
		atLeast int
	}{
		{"0.4 clues per cell", 3_000, PNegBin, 0},
		{"2 clues per cell", 15_000, PNegBin, 0},
		{"30 clues per cell", 220_000, PNegBin, 0},
		{"0.4 clues per cell, normal p-values", 3_000, PNormal, 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seedsWithAny, falseCells := 0, 0
			for seed := range uint64(10) {
				res, err := Analyze(uniformClues(tc.clues, 100+seed, box), Options{Area: area, PMethod: tc.method})
				if err != nil {
					t.Fatal(err)
				}
				falseCells += res.Hot + res.Cold
				if res.Hot+res.Cold > 0 {
					seedsWithAny++
				}
			}
			t.Logf("%d of 10 maps with a discovery, %d false cells", seedsWithAny, falseCells)
			if tc.atLeast > 0 {
				if falseCells < tc.atLeast {
					t.Errorf("normal p-values gave %d false cells over 10 maps; countp.go says they give many", falseCells)
				}
				return
			}
			if seedsWithAny > 3 || falseCells > 10 {
				t.Errorf("%d of 10 maps had a discovery, %d false cells in all; want ≤ 3 and ≤ 10", seedsWithAny, falseCells)
			}
		})
	}
}

func TestAnalyzeOptions(t *testing.T) {
	area, err := NewArea(h3.GridDisk(yanqing, 4), 1)
	if err != nil {
		t.Fatal(err)
	}
	inside := Point{Lon: 115.975, Lat: 40.457}
	outside := Point{Lon: 116.5, Lat: 40.7}
	tests := []struct {
		name        string
		pts         []Point
		o           Options
		wantErr     string
		wantCells   int
		wantClues   int
		wantOutside int
	}{
		{"area resolution mismatch", nil, Options{Area: area, Resolution: 8}, "resolution", 0, 0, 0},
		{"area k mismatch", nil, Options{Area: area, K: 2}, "k 2", 0, 0, 0},
		{"k too big", nil, Options{K: MaxK + 1}, "k-ring", 0, 0, 0},
		{"alpha 1", nil, Options{Alpha: 1}, "false discovery rate", 0, 0, 0},
		{"unknown method", nil, Options{PMethod: "magic"}, "p-value method", 0, 0, 0},
		{"no clues, data area", nil, Options{}, "", 0, 0, 0},
		{"no clues, district area", nil, Options{Area: area}, "", area.Len(), 0, 0},
		{"one clue, data area", []Point{inside}, Options{}, "", 7, 1, 0},
		{"clue outside the area", []Point{inside, outside, outside}, Options{Area: area}, "", area.Len(), 1, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Analyze(tc.pts, tc.o)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "hotspot: ") {
					t.Fatalf("err = %v, want a hotspot error about %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Cells) != tc.wantCells || res.Clues != tc.wantClues || res.Outside != tc.wantOutside {
				t.Errorf("%d cells, %d clues, %d outside; want %d, %d, %d", len(res.Cells), res.Clues, res.Outside, tc.wantCells, tc.wantClues, tc.wantOutside)
			}
			for _, c := range res.Cells {
				if c.Significance != NotSignificant && res.Clues < 2 {
					t.Errorf("cell %v is %s with %d clue(s) on the map", c.Cell, c.Significance, res.Clues)
				}
			}
		})
	}
}

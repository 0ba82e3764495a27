package hotspot

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/uber/h3-go/v4"
)

// yanqing is a resolution 9 cell in 延庆城区.
var yanqing = cellOf(115.975, 40.457, 9)

// TestGiStarByHand checks Gi* against a computation by hand.
//
// The area is the 19 cells within grid distance 2 of a centre cell, k = 1.
// Counts: centre 10, each of the 6 ring-1 cells 3, the 12 ring-2 cells 0.
//
//	n = 19, Σx = 10 + 6·3 = 28, x̄ = 28/19 = 1.473684…
//	Σx² = 100 + 6·9 = 154, S² = 154/19 − (28/19)² = 5.933518…, S = 2.435881…
//
// Neighbourhoods (self included, only cells of the area):
//
//	centre:       W = 7, Σwx = 10 + 6·3 = 28
//	ring 1:       W = 7 (self, centre, 2 ring-1, 3 ring-2), Σwx = 3 + 10 + 3 + 3 = 19
//	ring-2 corner W = 4 (self, 1 ring-1, 2 ring-2),         Σwx = 3
//	ring-2 edge   W = 5 (self, 2 ring-1, 2 ring-2),         Σwx = 6
//
// Gi* = (Σwx − x̄W) / (S·sqrt((nW − W²)/(n − 1))):
//
//	centre: (28 − 7·28/19) / (S·sqrt(84/18)) =  3.360672201667…
//	ring 1: (19 − 7·28/19) / (S·sqrt(84/18)) =  1.650330099033…
//	corner: ( 3 − 4·28/19) / (S·sqrt(60/18)) = −0.650898968955…
//	edge:   ( 6 − 5·28/19) / (S·sqrt(70/18)) = −0.284872710143…
func TestGiStarByHand(t *testing.T) {
	area, err := NewArea(h3.GridDisk(yanqing, 2), 1)
	if err != nil {
		t.Fatal(err)
	}
	ring1 := h3.GridDisk(yanqing, 1)
	x := make([]float64, area.Len())
	ringOf := map[h3.Cell]string{}
	for i, c := range area.cells {
		switch {
		case c == yanqing:
			x[i] = 10
			ringOf[c] = "centre"
		case slices.Contains(ring1, c):
			x[i] = 3
			ringOf[c] = "ring 1"
		default:
			touching := 0
			for _, r := range ring1 {
				if r != yanqing && c.IsNeighbor(r) {
					touching++
				}
			}
			ringOf[c] = map[int]string{1: "corner", 2: "edge"}[touching]
		}
	}
	s := math.Sqrt(154.0/19 - (28.0/19)*(28.0/19))
	want := map[string]float64{
		"centre": (28 - 7*28.0/19) / (s * math.Sqrt(84.0/18)),
		"ring 1": (19 - 7*28.0/19) / (s * math.Sqrt(84.0/18)),
		"corner": (3 - 4*28.0/19) / (s * math.Sqrt(60.0/18)),
		"edge":   (6 - 5*28.0/19) / (s * math.Sqrt(70.0/18)),
	}
	decimals := map[string]float64{"centre": 3.360672201667, "ring 1": 1.650330099033, "corner": -0.650898968955, "edge": -0.284872710143}
	z, err := area.GiStar(x)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for i, c := range area.cells {
		kind := ringOf[c]
		seen[kind]++
		t.Run(kind, func(t *testing.T) {
			if math.Abs(want[kind]-decimals[kind]) > 1e-11 {
				t.Fatalf("hand value %v disagrees with the decimals %v in the comment", want[kind], decimals[kind])
			}
			if math.Abs(z[i]-want[kind]) > 1e-9 {
				t.Errorf("cell %v: Gi* = %.12f, want %.12f", c, z[i], want[kind])
			}
		})
	}
	if seen["centre"] != 1 || seen["ring 1"] != 6 || seen["corner"] != 6 || seen["edge"] != 6 {
		t.Errorf("cells by kind = %v, want 1 centre, 6 ring 1, 6 corners, 6 edges", seen)
	}
}

// giStarReference is Gi* written out as literally as possible: weights
// from h3.GridDistance between every pair of cells, S from Σx²/n − x̄².
func giStarReference(cells []h3.Cell, x []float64, k int) []float64 {
	n := float64(len(cells))
	sum, sum2 := 0.0, 0.0
	for _, v := range x {
		sum += v
		sum2 += v * v
	}
	mean := sum / n
	s := math.Sqrt(sum2/n - mean*mean)
	z := make([]float64, len(cells))
	for i, ci := range cells {
		wx, w, w2 := 0.0, 0.0, 0.0
		for j, cj := range cells {
			wij := 0.0
			if d := h3.GridDistance(ci, cj); d >= 0 && d <= k {
				wij = 1
			}
			wx += wij * x[j]
			w += wij
			w2 += wij * wij
		}
		z[i] = (wx - mean*w) / (s * math.Sqrt((n*w2-w*w)/(n-1)))
	}
	return z
}

func TestGiStarMatchesReference(t *testing.T) {
	tests := []struct {
		name   string
		radius int     // area: GridDisk(yanqing, radius) …
		holes  float64 // … minus this share of its cells
		k      int
		seed   uint64
	}{
		{"disc k=1", 6, 0, 1, 1},
		{"disc with holes k=1", 8, 0.3, 1, 2},
		{"disc with holes k=2", 8, 0.2, 2, 3},
		{"ragged k=3", 7, 0.5, 3, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(tc.seed, 9))
			var cells []h3.Cell
			for _, c := range h3.GridDisk(yanqing, tc.radius) {
				if r.Float64() >= tc.holes {
					cells = append(cells, c)
				}
			}
			area, err := NewArea(cells, tc.k)
			if err != nil {
				t.Fatal(err)
			}
			x := make([]float64, area.Len())
			for i := range x {
				x[i] = float64(r.IntN(4))
				if r.Float64() < 0.05 {
					x[i] += float64(r.IntN(40)) // a few busy cells
				}
			}
			got, err := area.GiStar(x)
			if err != nil {
				t.Fatal(err)
			}
			want := giStarReference(area.cells, x, tc.k)
			for i := range want {
				if math.Abs(got[i]-want[i]) > 1e-9 {
					t.Errorf("cell %d (%v): Gi* = %.12f, reference %.12f", i, area.cells[i], got[i], want[i])
				}
			}
		})
	}
}

func TestGiStarEdgeCases(t *testing.T) {
	area, err := NewArea(h3.GridDisk(yanqing, 3), 1)
	if err != nil {
		t.Fatal(err)
	}
	n := area.Len()
	constant := make([]float64, n)
	for i := range constant {
		constant[i] = 4
	}
	tests := []struct {
		name    string
		x       []float64
		wantErr bool
		allZero bool
	}{
		{"all zero", make([]float64, n), false, true},
		{"all equal", constant, false, true},
		{"too few values", make([]float64, n-1), true, false},
		{"NaN", append(make([]float64, n-1), math.NaN()), true, false},
		{"infinity", append(make([]float64, n-1), math.Inf(1)), true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			z, err := area.GiStar(tc.x)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if tc.allZero {
				for i, v := range z {
					if v != 0 {
						t.Fatalf("z[%d] = %v, want 0 when S = 0", i, v)
					}
				}
			}
		})
	}
	t.Run("neighbourhood covers the area", func(t *testing.T) {
		a, err := NewArea(h3.GridDisk(yanqing, 1), 1)
		if err != nil {
			t.Fatal(err)
		}
		x := []float64{1, 2, 3, 4, 5, 6, 7}
		z, err := a.GiStar(x)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := a.Index(yanqing)
		if z[c] != 0 {
			t.Errorf("centre z = %v, want 0: its neighbourhood is the whole area (W = n)", z[c])
		}
	})
}

func TestNormalTails(t *testing.T) {
	tests := []struct {
		name  string
		f     func(float64) float64
		z     float64
		want  float64
		relTo float64
	}{
		{"upper 0", UpperTail, 0, 0.5, 1e-15},
		{"upper 1.6449", UpperTail, 1.6448536269514722, 0.05, 1e-13},
		{"upper 1.96", UpperTail, 1.959963984540054, 0.025, 1e-13},
		{"upper 3.0902", UpperTail, 3.090232306167813, 0.001, 1e-12},
		{"upper 10 (tail)", UpperTail, 10, 7.619853024160527e-24, 1e-12},
		{"upper -1.96", UpperTail, -1.959963984540054, 0.975, 1e-13},
		{"lower -1.96", LowerTail, -1.959963984540054, 0.025, 1e-13},
		{"lower -10 (tail)", LowerTail, -10, 7.619853024160527e-24, 1e-12},
		{"lower 1.6449", LowerTail, 1.6448536269514722, 0.95, 1e-13},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.f(tc.z); math.Abs(got-tc.want) > tc.relTo*tc.want {
				t.Errorf("f(%v) = %v, want %v", tc.z, got, tc.want)
			}
		})
	}
}

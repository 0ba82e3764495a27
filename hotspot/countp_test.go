package hotspot

import (
	"math"
	"slices"
	"testing"

	"github.com/uber/h3-go/v4"
)

// poissonPMF and negBinPMF are the textbook mass functions, in logs.
func poissonPMF(k, mu float64) float64 {
	lk, _ := math.Lgamma(k + 1)
	return math.Exp(k*math.Log(mu) - mu - lk)
}

func negBinPMF(k, size, p float64) float64 {
	a, _ := math.Lgamma(k + size)
	b, _ := math.Lgamma(size)
	c, _ := math.Lgamma(k + 1)
	return math.Exp(a - b - c + size*math.Log(p) + k*math.Log1p(-p))
}

// sumTails adds a mass function up to l (and far past it) to get
// P(L ≥ l) and P(L ≤ l).
func sumTails(pmf func(float64) float64, l float64) (up, down float64) {
	for k := 0.0; k <= l; k++ {
		down += pmf(k)
	}
	for k := l; k < l+20000; k++ {
		up += pmf(k)
	}
	return up, down
}

func TestCountTails(t *testing.T) {
	tests := []struct {
		name       string
		w, l, m, v float64
	}{
		{"Poisson, sparse, far tail", 7, 12, 0.4, 0.4},
		{"Poisson, underdispersed counts", 7, 30, 3, 2.5},
		{"Poisson, lower tail", 7, 5, 4, 3.9},
		{"Poisson, large mean", 7, 900, 100, 100},
		{"negative binomial, mild", 7, 60, 4, 6},
		{"negative binomial, strong", 7, 600, 4, 77},
		{"negative binomial, lower tail", 7, 2, 4, 6},
		{"negative binomial, k=2 neighbourhood", 19, 200, 2, 10},
		{"negative binomial, barely overdispersed", 7, 40, 3, 3.0001},
		{"zero sum", 7, 0, 2, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var pmf func(float64) float64
			if tc.v <= tc.m {
				pmf = func(k float64) float64 { return poissonPMF(k, tc.w*tc.m) }
			} else {
				p, size := tc.m/tc.v, tc.w*tc.m*tc.m/(tc.v-tc.m)
				pmf = func(k float64) float64 { return negBinPMF(k, size, p) }
			}
			wantUp, wantDown := sumTails(pmf, tc.l)
			up, down := countTails(tc.w, tc.l, tc.m, tc.v)
			if math.Abs(up-wantUp) > 1e-9*wantUp+1e-15 || math.Abs(down-wantDown) > 1e-9*wantDown+1e-15 {
				t.Errorf("countTails = %.12g, %.12g; summed mass function %.12g, %.12g", up, down, wantUp, wantDown)
			}
		})
	}
}

func TestSpecialFunctions(t *testing.T) {
	tests := []struct {
		name      string
		got, want float64
	}{
		{"P(1, x) = 1 − e^−x", gammaP(1, 0.7), 1 - math.Exp(-0.7)},
		{"Q(1, x) = e^−x", gammaQ(1, 30), math.Exp(-30)},
		{"Q(3, 2) = e^−2 (1 + 2 + 2)", gammaQ(3, 2), math.Exp(-2) * 5},
		{"P(0.5, x) = erf(√x)", gammaP(0.5, 2), math.Erf(math.Sqrt(2))},
		{"I_x(1, 1) = x", betaI(0.3, 1, 1), 0.3},
		{"I_x(a, 1) = x^a", betaI(0.6, 4.5, 1), math.Pow(0.6, 4.5)},
		{"I_x(1, b) = 1 − (1−x)^b", betaI(0.2, 1, 7), 1 - math.Pow(0.8, 7)},
		{"I_x(a, b) = 1 − I_{1−x}(b, a)", betaI(0.35, 3.5, 9), 1 - betaI(0.65, 9, 3.5)},
		{"I_x(2, 2) = 3x² − 2x³", betaI(0.8, 2, 2), 3*0.64 - 2*0.512},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if math.Abs(tc.got-tc.want) > 1e-13*math.Abs(tc.want) {
				t.Errorf("got %.16g, want %.16g", tc.got, tc.want)
			}
		})
	}
}

func TestPValues(t *testing.T) {
	area, err := NewArea(h3.GridDisk(yanqing, 3), 1)
	if err != nil {
		t.Fatal(err)
	}
	n := area.Len()
	tests := []struct {
		name string
		x    func(i int) float64
	}{
		{"overdispersed", func(i int) float64 { return float64([]int{0, 0, 0, 1, 2, 0, 7}[i%7]) }},
		{"underdispersed", func(i int) float64 { return float64(2 + i%2) }},
		{"one busy cell", func(i int) float64 { return float64(map[bool]int{true: 30}[i == 4]) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := make([]float64, n)
			mean := 0.0
			for i := range x {
				x[i] = tc.x(i)
				mean += x[i] / float64(n)
			}
			// The background: all but the busiest ceil(1% of 37) = 1 cell.
			bulk := slices.Clone(x)
			slices.Sort(bulk)
			bulk = bulk[:len(bulk)-1]
			bm, bv := 0.0, 0.0
			for _, b := range bulk {
				bm += b / float64(len(bulk))
			}
			for _, b := range bulk {
				bv += (b - bm) * (b - bm) / float64(len(bulk))
			}
			v := mean // Poisson when the background is not overdispersed
			if bm > 0 {
				v = mean * bv / bm
			}
			up, down, err := area.PValues(x)
			if err != nil {
				t.Fatal(err)
			}
			z, _ := area.GiStar(x)
			for i := range x {
				nb := area.Neighbours(i)
				l := 0.0
				for _, j := range nb {
					l += x[j]
				}
				wantUp, wantDown := countTails(float64(len(nb)), l, mean, v)
				if math.Abs(up[i]-wantUp) > 1e-12 || math.Abs(down[i]-wantDown) > 1e-12 {
					t.Fatalf("cell %d: %v, %v; want %v, %v", i, up[i], down[i], wantUp, wantDown)
				}
				// Same W: a higher Gi* has a smaller upper p-value.
				for j := range x {
					if len(area.Neighbours(j)) == len(nb) && z[j] > z[i]+1e-12 && up[j] > up[i] {
						t.Fatalf("cells %d, %d: z %v > %v but p %v > %v", j, i, z[j], z[i], up[j], up[i])
					}
				}
			}
		})
	}
	t.Run("not counts", func(t *testing.T) {
		x := make([]float64, n)
		x[3] = 0.5
		if _, _, err := area.PValues(x); err == nil {
			t.Error("PValues accepted 0.5 as a count")
		}
	})
	t.Run("no clues", func(t *testing.T) {
		up, down, err := area.PValues(make([]float64, n))
		if err != nil || up[0] != 1 || down[0] != 1 {
			t.Errorf("PValues(zeros) = %v, %v, %v; want 1, 1", up[0], down[0], err)
		}
	})
}

func TestBackgroundDispersion(t *testing.T) {
	tests := []struct {
		name   string
		counts []float64
		want   float64
	}{
		// 100 cells: ceil(1) = 1 set aside. 50 zeros, 50 twos, one 900
		// replacing a two: the 900 goes, leaving 50 zeros and 49 twos:
		// mean 98/99, variance 4·49/99 − (98/99)², index 2 − 98/99.
		{"a cluster cell is set aside", append(append(make([]float64, 50), repeat(2, 49)...), 900), 2 - 98.0/99},
		// all ones: variance 0, index 0 (under-dispersed: Poisson is used).
		{"all equal", repeat(1, 100), 0},
		{"no clues", make([]float64, 100), 1},
		// 200 cells: 100 zeros, 99 fives, one 7. Two set aside, the 7 and
		// one 5; left: 100 zeros, 98 fives: mean 490/198, index
		// (25·98/198 − m²)/m.
		{"two set aside", append(append(make([]float64, 99), repeat(5, 99)...), 7, 0), func() float64 {
			m := 490.0 / 198
			return (25*98.0/198 - m*m) / m
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			freq := map[float64]int{}
			for _, c := range tc.counts {
				freq[c]++
			}
			if got := backgroundDispersion(freq, len(tc.counts)); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("dispersion = %v, want %v", got, tc.want)
			}
		})
	}
}

func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

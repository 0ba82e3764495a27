package hotspot

import (
	"math"
	"slices"
)

// MannKendallResult is the Mann–Kendall trend test of one series.
type MannKendallResult struct {
	// S is Σ_{i<j} sgn(x_j − x_i): positive for a rising series.
	S int `json:"s"`
	// Var is the variance of S under no trend, with the correction for
	// ties: (n(n−1)(2n+5) − Σ_t t(t−1)(2t+5)) / 18, t the size of each
	// group of equal values.
	Var float64 `json:"var"`
	// Z is the normal score with continuity correction: (S−1)/√Var for
	// S > 0, (S+1)/√Var for S < 0, 0 for S = 0 (and when Var is 0).
	Z float64 `json:"z"`
	// P is the two-sided p-value 2·(1 − Φ(|Z|)); 1 when Z is 0.
	P float64 `json:"p"`
}

// MannKendall runs the Mann–Kendall test for a monotonic trend on x, in
// time order (Mann 1945, Kendall 1975; the form in Gilbert 1987, §16.4).
// Values are tied only when exactly equal. A series of fewer than two
// values has S = 0 and P = 1. The normal approximation is fair from about
// ten values, which is why Esri's emerging hot spot analysis asks for at
// least ten time steps.
func MannKendall(x []float64) MannKendallResult {
	return mannKendall(x, make([]float64, len(x)))
}

// mannKendall is MannKendall sorting a copy of x in scratch, at least
// len(x) long: a worker of Emerging reuses one for every cell.
func mannKendall(x, scratch []float64) MannKendallResult {
	n := len(x)
	s := 0
	for i := range n {
		xi := x[i]
		for _, xj := range x[i+1:] {
			switch {
			case xj > xi:
				s++
			case xj < xi:
				s--
			}
		}
	}
	sorted := scratch[:n]
	copy(sorted, x)
	slices.Sort(sorted)
	nf := float64(n)
	v := nf * (nf - 1) * (2*nf + 5)
	for i := 0; i < n; {
		j := i + 1
		for j < n && sorted[j] == sorted[i] {
			j++
		}
		if t := float64(j - i); t > 1 {
			v -= t * (t - 1) * (2*t + 5)
		}
		i = j
	}
	v /= 18
	r := MannKendallResult{S: s, Var: v, P: 1}
	if v > 0 && s != 0 {
		if s > 0 {
			r.Z = float64(s-1) / math.Sqrt(v)
		} else {
			r.Z = float64(s+1) / math.Sqrt(v)
		}
		r.P = math.Erfc(math.Abs(r.Z) / math.Sqrt2)
	}
	return r
}

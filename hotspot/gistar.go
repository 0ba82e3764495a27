package hotspot

import (
	"fmt"
	"math"
)

// GiStar returns the Getis-Ord Gi* z-score of every cell of the area for
// the values x, where x[i] belongs to a.Cells()[i] (clue counts, or any
// non-negative or signed measure). With binary weights w_ij = 1 for j in
// the neighbourhood of i (itself included), W_i = Σ_j w_ij, n cells,
// mean x̄ and S = sqrt(Σ x_j²/n − x̄²) over all n cells:
//
//	Gi* = (Σ_j w_ij x_j − x̄ W_i) / (S · sqrt((n W_i − W_i²) / (n − 1)))
//
// (Getis and Ord 1992; Ord and Getis 1995). Under the null hypothesis of no
// spatial association Gi* is approximately standard normal: a large
// positive value is a hot spot, a large negative one a cold spot. When
// every value is the same (S = 0), or a neighbourhood covers the whole
// area, the score is 0.
func (a *Area) GiStar(x []float64) ([]float64, error) {
	z := make([]float64, len(a.cells))
	if err := a.giStarInto(z, x); err != nil {
		return nil, err
	}
	return z, nil
}

// giStarInto writes the scores of x into z.
func (a *Area) giStarInto(z, x []float64) error {
	n := len(a.cells)
	if len(x) != n {
		return fmt.Errorf("hotspot: %d values for an area of %d cells", len(x), n)
	}
	sum, peak := 0.0, 0.0
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("hotspot: Gi* needs finite values, got %v", v)
		}
		sum += v
		peak = max(peak, math.Abs(v))
	}
	nf := float64(n)
	mean := sum / nf
	ss := 0.0 // two-pass variance: no cancellation when the mean is large
	for _, v := range x {
		d := v - mean
		ss += d * d
	}
	s := math.Sqrt(ss / nf)
	if s <= 1e-12*peak || s == 0 {
		clear(z)
		return nil
	}
	for i := range n {
		nb := a.nbr[a.off[i]:a.off[i+1]]
		local := 0.0
		for _, j := range nb {
			local += x[j]
		}
		w := float64(len(nb))
		den := s * math.Sqrt((nf*w-w*w)/(nf-1))
		if den == 0 {
			z[i] = 0
			continue
		}
		z[i] = (local - mean*w) / den
	}
	return nil
}

// UpperTail returns P(Z ≥ z) for a standard normal Z, the one-sided p-value
// of a hot spot with score z: 1 − Φ(z), computed as erfc(z/√2)/2 so it
// stays accurate far into the tail (UpperTail(10) ≈ 7.6e-24, not 0).
func UpperTail(z float64) float64 { return 0.5 * math.Erfc(z/math.Sqrt2) }

// LowerTail returns P(Z ≤ z) for a standard normal Z, Φ(z), the one-sided
// p-value of a cold spot with score z.
func LowerTail(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

package hotspot

import (
	"cmp"
	"math"
	"slices"
)

// BenjaminiHochberg applies the Benjamini–Hochberg step-up procedure to
// the p-values p at false discovery rate alpha (DefaultAlpha is 0.05) and
// reports which are discoveries. With the m p-values sorted ascending,
// p(1) ≤ … ≤ p(m), it finds the largest r with p(r) ≤ r·alpha/m and
// rejects the r hypotheses with the smallest p-values (so every p-value
// equal to p(r) is a discovery too). It controls the expected share of
// false discoveries at alpha for independent or positively dependent
// tests; Gi* scores of overlapping neighbourhoods are positively
// correlated, the case it is known to hold for. A NaN p-value
// is never a discovery but still counts in m.
func BenjaminiHochberg(p []float64, alpha float64) []bool {
	out := make([]bool, len(p))
	m := len(p)
	if m == 0 || !(alpha > 0) {
		return out
	}
	// Only p ≤ alpha can pass (r·alpha/m ≤ alpha), and on a map of tens of
	// thousands of cells those are few: sort just them.
	var cand []int
	for i, v := range p {
		if v <= alpha {
			cand = append(cand, i)
		}
	}
	slices.SortFunc(cand, func(a, b int) int { return cmp.Compare(p[a], p[b]) })
	cut := math.Inf(-1)
	for r := len(cand); r >= 1; r-- {
		if v := p[cand[r-1]]; v <= float64(r)*alpha/float64(m) {
			cut = v
			break
		}
	}
	for _, i := range cand {
		if p[i] > cut {
			break
		}
		out[i] = true
	}
	return out
}

package hotspot

import (
	"fmt"
	"math"
	"slices"
)

// Why count p-values. Gi* is a standardised neighbourhood sum, and
// 1 − Φ(z) treats that sum as normal. Clue counts are small integers with
// a long right tail (most cells hold 0, 1 or 2 clues), so the sum over 7
// cells is skewed, and in the far tail where a false discovery rate cut
// over tens of thousands of cells decides (p below 1e-6) 1 − Φ(z) is too
// small by orders of magnitude: on uniform random clues at 0.4 clues per
// cell the normal p-values flag dozens of "hot spots" per map (see
// TestAnalyzeFalsePositives).
//
// Two cures that do not work: a permutation (randomisation) p-value, and
// a negative binomial matched to Gi*'s mean and variance S². Both let a
// few cluster cells stand for the whole map: with several real clusters a
// random neighbourhood holding one of their cells is not rare, and S² is
// mostly those cells, so the clusters mask each other (a cell with 40
// clues over a background of 1.4 per cell came out at p ≈ 1e-4 and missed
// the FDR cut, in a week with a 174-clue cluster elsewhere).
//
// PNegBin therefore keeps Gi*'s null mean x̄ but takes the overdispersion
// from the bulk of the cells: the dispersion index (variance over mean) of
// the cells left after setting aside the busiest DispersionTrim of them.
// On clues scattered at random that index is about 1 or less and the test
// is a Poisson one; on a map whose background really varies (towns and
// mountains) the negative binomial widens with it, as Gi*'s S² does.

// DispersionTrim is the share of the busiest cells set aside when PNegBin
// estimates the background's dispersion index: 1%, far more cells than
// clusters cover on a district map, and too few to change the estimate
// when there are no clusters.
const DispersionTrim = 0.01

// PMethod names how p-values are computed from Gi*.
type PMethod string

// The p-value methods.
const (
	// PNegBin is the default: the neighbourhood sum L_i is referred to a
	// negative binomial distribution with Gi*'s null mean and the
	// background's dispersion (Area.PValues).
	PNegBin PMethod = "negative_binomial"
	// PNormal is 1 − Φ(z) and Φ(z), as Esri's Hot Spot Analysis and
	// PySAL's analytical p-values do: anti-conservative on sparse counts.
	PNormal PMethod = "normal"
)

// PValues returns, for every cell of the area, one-sided p-values of its
// Gi* for count data: upper[i] = P(L ≥ L_i), the hot spot p-value, and
// lower[i] = P(L ≤ L_i), the cold spot p-value, where L_i is the sum of x
// over the neighbourhood of cell i (W_i cells) and L is its null
// distribution. Under the null each cell's count has Gi*'s mean x̄ and
// variance D·x̄, D the dispersion index of the background (the cells
// without the busiest DispersionTrim share, see countp.go). When D ≤ 1 a
// count is Poisson and L is Poisson with mean W_i·x̄; otherwise a count is
// negative binomial with size r = x̄/(D − 1) and success probability 1/D,
// and L negative binomial with size W_i·r. For a fixed W_i, Gi* increases
// with L_i, so these are p-values of Gi* itself. On clues scattered at
// random they are Poisson p-values, exact but for the estimated mean.
//
// x must hold non-negative whole numbers (counts).
func (a *Area) PValues(x []float64) (upper, lower []float64, err error) {
	n := len(a.cells)
	if len(x) != n {
		return nil, nil, fmt.Errorf("hotspot: %d values for an area of %d cells", len(x), n)
	}
	freq := map[float64]int{}
	sum := 0.0
	for _, v := range x {
		if !(v >= 0 && v == math.Trunc(v) && v < 1<<53) {
			return nil, nil, fmt.Errorf("hotspot: count p-values need counts, got %v", v)
		}
		freq[v]++
		sum += v
	}
	mean := sum / float64(n)
	variance := mean * backgroundDispersion(freq, n)
	upper, lower = make([]float64, n), make([]float64, n)
	type key struct{ w, l int }
	memo := map[key][2]float64{}
	for i := range n {
		nb := a.nbr[a.off[i]:a.off[i+1]]
		l := 0.0
		for _, j := range nb {
			l += x[j]
		}
		k := key{len(nb), int(l)}
		p, ok := memo[k]
		if !ok {
			p[0], p[1] = countTails(float64(k.w), l, mean, variance)
			memo[k] = p
		}
		upper[i], lower[i] = p[0], p[1]
	}
	return upper, lower, nil
}

// backgroundDispersion returns the dispersion index (variance / mean) of
// the counts whose frequencies are freq (n in all) after setting aside the
// ceil(DispersionTrim·n) largest; 1 when that leaves no clues.
func backgroundDispersion(freq map[float64]int, n int) float64 {
	vals := make([]float64, 0, len(freq))
	for v := range freq {
		vals = append(vals, v)
	}
	slices.Sort(vals)
	drop := int(math.Ceil(DispersionTrim * float64(n)))
	kept, sum, sum2 := 0.0, 0.0, 0.0
	for i := len(vals) - 1; i >= 0; i-- {
		v, c := vals[i], freq[vals[i]]
		if drop > 0 {
			d := min(drop, c)
			drop -= d
			c -= d
		}
		kept += float64(c)
		sum += float64(c) * v
		sum2 += float64(c) * v * v
	}
	if kept < 2 || sum == 0 {
		return 1
	}
	m := sum / kept
	return (sum2/kept - m*m) / m
}

// countTails returns P(L ≥ l) and P(L ≤ l) for the sum L of w counts of
// mean m and variance v each (negative binomial, Poisson when v ≤ m).
func countTails(w, l, m, v float64) (up, down float64) {
	if m <= 0 {
		return 1, 1 // every count is 0, and so is l
	}
	mu := w * m
	size := w * m * m / (v - m) // total negative binomial size W·r
	if v <= m || size > 1e12 {
		// Poisson(mu): P(L ≥ l) = P(l, mu), P(L ≤ l) = Q(l+1, mu).
		up = 1
		if l > 0 {
			up = gammaP(l, mu)
		}
		return up, gammaQ(l+1, mu)
	}
	// Negative binomial: failures before the size-th success with success
	// probability p = m/v; P(L ≥ l) = I_{1−p}(l, size), P(L ≤ l) =
	// I_p(size, l+1).
	p := m / v
	up = 1
	if l > 0 {
		up = betaI(1-p, l, size)
	}
	return up, betaI(p, size, l+1)
}

// Regularised incomplete gamma and beta functions, after Numerical
// Recipes (3rd ed., §6.2 and §6.4): a power series or a continued fraction
// (modified Lentz), whichever converges fast, each giving the smaller of
// the two tails directly so that tail probabilities keep their digits.
const (
	specialEps   = 1e-15
	specialTiny  = 1e-300
	specialIters = 1_000_000
)

// gammaP returns the regularised lower incomplete gamma P(a, x), a > 0.
func gammaP(a, x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x < a+1:
		return gammaSeries(a, x)
	default:
		return 1 - gammaCF(a, x)
	}
}

// gammaQ returns 1 − P(a, x).
func gammaQ(a, x float64) float64 {
	switch {
	case x <= 0:
		return 1
	case x < a+1:
		return 1 - gammaSeries(a, x)
	default:
		return gammaCF(a, x)
	}
}

func gammaPrefix(a, x float64) float64 {
	lg, _ := math.Lgamma(a)
	return math.Exp(-x + a*math.Log(x) - lg)
}

// gammaSeries is P(a, x) by its series, for x < a+1.
func gammaSeries(a, x float64) float64 {
	ap, del := a, 1/a
	sum := del
	for range specialIters {
		ap++
		del *= x / ap
		sum += del
		if math.Abs(del) < math.Abs(sum)*specialEps {
			break
		}
	}
	return sum * gammaPrefix(a, x)
}

// gammaCF is Q(a, x) by its continued fraction, for x ≥ a+1.
func gammaCF(a, x float64) float64 {
	b := x + 1 - a
	c := 1 / specialTiny
	d := 1 / b
	h := d
	for i := 1; i <= specialIters; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < specialTiny {
			d = specialTiny
		}
		c = b + an/c
		if math.Abs(c) < specialTiny {
			c = specialTiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < specialEps {
			break
		}
	}
	return gammaPrefix(a, x) * h
}

// betaI returns the regularised incomplete beta I_x(a, b), a, b > 0.
func betaI(x, a, b float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	lab, _ := math.Lgamma(a + b)
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	front := math.Exp(lab - la - lb + a*math.Log(x) + b*math.Log1p(-x))
	if x < (a+1)/(a+b+2) {
		return front * betaCF(x, a, b) / a
	}
	return 1 - front*betaCF(1-x, b, a)/b
}

// betaCF is the continued fraction of the incomplete beta function.
func betaCF(x, a, b float64) float64 {
	qab, qap, qam := a+b, a+1, a-1
	c := 1.0
	d := 1 - qab*x/qap
	if math.Abs(d) < specialTiny {
		d = specialTiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= specialIters; m++ {
		fm := float64(m)
		m2 := 2 * fm
		aa := fm * (b - fm) * x / ((qam + m2) * (a + m2))
		d = 1 + aa*d
		if math.Abs(d) < specialTiny {
			d = specialTiny
		}
		c = 1 + aa/c
		if math.Abs(c) < specialTiny {
			c = specialTiny
		}
		d = 1 / d
		h *= d * c
		aa = -(a + fm) * (qab + fm) * x / ((a + m2) * (qap + m2))
		d = 1 + aa*d
		if math.Abs(d) < specialTiny {
			d = specialTiny
		}
		c = 1 + aa/c
		if math.Abs(c) < specialTiny {
			c = specialTiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < specialEps {
			break
		}
	}
	return h
}

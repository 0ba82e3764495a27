package hotspot

import (
	"math"
	"testing"
)

// TestMannKendall checks the test against computations by hand.
//
// The worked example with a tie: x = 3 1 4 4 5 9 2 6 (n = 8).
//
//	S, by first element: 3 → +5−2 = 3; 1 → +6; 4 → 0+3−1 = 2 (tie with the
//	next 4 counts 0); 4 → +3−1 = 2; 5 → +2−1 = 1; 9 → −2; 2 → +1.
//	S = 3 + 6 + 2 + 2 + 1 − 2 + 1 = 13.
//	One tied group of t = 2: Var = (8·7·21 − 2·1·9)/18 = 1158/18 = 64.333…
//	Z = (13 − 1)/√64.333 = 1.496108942862…, P = 2(1 − Φ(Z)) = 0.134625267852…
//
// Without ties, 1..10 rising: S = 45, Var = 10·9·25/18 = 125,
// Z = 44/√125 = 3.935479; falling mirrors it.
func TestMannKendall(t *testing.T) {
	tests := []struct {
		name string
		x    []float64
		want MannKendallResult
	}{
		{"worked example with a tie", []float64{3, 1, 4, 4, 5, 9, 2, 6},
			MannKendallResult{S: 13, Var: 1158.0 / 18, Z: 12 / math.Sqrt(1158.0/18), P: 0.13462526785220608}},
		{"rising", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
			MannKendallResult{S: 45, Var: 125, Z: 44 / math.Sqrt(125), P: math.Erfc(44 / math.Sqrt(125) / math.Sqrt2)}},
		{"falling", []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1},
			MannKendallResult{S: -45, Var: 125, Z: -44 / math.Sqrt(125), P: math.Erfc(44 / math.Sqrt(125) / math.Sqrt2)}},
		// two tied groups (t = 3 and t = 2): Var = (7·6·19 − 3·2·11 −
		// 2·1·9)/18 = (798 − 66 − 18)/18 = 714/18; S: 0 0 0 1 1 2 3 → the
		// three zeros each +4 (12), the ones each +2 (4), the 2 +1: S = 17.
		{"two tie groups", []float64{0, 0, 0, 1, 1, 2, 3},
			MannKendallResult{S: 17, Var: 714.0 / 18, Z: 16 / math.Sqrt(714.0/18), P: math.Erfc(16 / math.Sqrt(714.0/18) / math.Sqrt2)}},
		{"all tied", []float64{2, 2, 2, 2}, MannKendallResult{S: 0, Var: 0, Z: 0, P: 1}},
		{"S zero", []float64{1, 3, 2}, MannKendallResult{S: 1 + 1 - 1, Var: 3 * 2 * 11 / 18.0, Z: 0, P: 1}},
		{"one value", []float64{5}, MannKendallResult{S: 0, Var: 0, Z: 0, P: 1}},
		{"empty", nil, MannKendallResult{S: 0, Var: 0, Z: 0, P: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := MannKendall(tc.x)
			if got.S != tc.want.S || math.Abs(got.Var-tc.want.Var) > 1e-12 ||
				math.Abs(got.Z-tc.want.Z) > 1e-12 || math.Abs(got.P-tc.want.P) > 1e-12 {
				t.Errorf("MannKendall(%v) = %+v, want %+v", tc.x, got, tc.want)
			}
		})
	}
}

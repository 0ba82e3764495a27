package hotspot

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestBenjaminiHochbergPaper runs the worked example of Benjamini and
// Hochberg (1995) from testdata/bh1995_in.txt (shuffled, so the order of
// the input does not matter) against testdata/bh1995_out.golden. By hand,
// with m = 15 and q = 0.05 the thresholds r·q/m are 0.00333, 0.00667,
// 0.01, 0.01333, 0.01667, …; p(4) = 0.0095 ≤ 0.01333 and no later p(r)
// is under its threshold (p(5) = 0.0201 > 0.01667, p(9) = 0.0459 >
// 0.03), so the four smallest are discoveries.
func TestBenjaminiHochbergPaper(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "bh1995_in.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var raw []string
	var p []float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		v, err := strconv.ParseFloat(line, 64)
		if err != nil {
			t.Fatal(err)
		}
		raw, p = append(raw, line), append(p, v)
	}
	got := BenjaminiHochberg(p, 0.05)
	var b strings.Builder
	for i := range p {
		fmt.Fprintf(&b, "%s %v\n", raw[i], got[i])
	}
	golden := filepath.Join("testdata", "bh1995_out.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("discoveries differ from %s (run go test -update to accept):\ngot:\n%s\nwant:\n%s", golden, b.String(), want)
	}
	n := 0
	for _, d := range got {
		if d {
			n++
		}
	}
	if n != 4 {
		t.Errorf("%d discoveries, the paper has 4", n)
	}
}

func TestBenjaminiHochberg(t *testing.T) {
	tests := []struct {
		name  string
		p     []float64
		alpha float64
		want  []bool
	}{
		{"empty", nil, 0.05, []bool{}},
		{"none", []float64{0.2, 0.5, 0.04, 0.9}, 0.05, []bool{false, false, false, false}},
		// thresholds 0.01 … 0.05: p(5) = 0.05 ≤ 0.05 passes, so all do.
		{"all at the line", []float64{0.05, 0.01, 0.02, 0.03, 0.04}, 0.05, []bool{true, true, true, true, true}},
		// step-up: p(2) = 0.026 > 2·0.05/4 = 0.025 fails, but p(3) = 0.027
		// ≤ 0.0375 passes, and a step-up rejects everything up to it.
		{"step up past a failure", []float64{0.001, 0.026, 0.027, 0.9}, 0.05, []bool{true, true, true, false}},
		// p(1) = 0.02 > 0.05/4 = 0.0125, nothing else passes either.
		{"smallest fails", []float64{0.02, 0.3, 0.4, 0.5}, 0.05, []bool{false, false, false, false}},
		// ties at the cut: m = 4, p(3) = p(4) = 0.03 ≤ 0.0375 and ≤ 0.05.
		{"ties", []float64{0.03, 0.001, 0.03, 0.6}, 0.05, []bool{true, true, true, false}},
		// thresholds 0.0025, 0.005, 0.0075, 0.01: p(2) passes, p(3) = 0.008
		// and p(4) = 0.02 do not.
		{"alpha 0.01", []float64{0.02, 0.004, 0.008, 0.001}, 0.01, []bool{false, true, false, true}},
		{"NaN is never a discovery", []float64{math.NaN(), 0.001}, 0.05, []bool{false, true}},
		{"bad alpha", []float64{0.001}, 0, []bool{false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := BenjaminiHochberg(tc.p, tc.alpha)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d answers for %d p-values", len(got), len(tc.p))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("p = %v: got %v, want %v", tc.p, got, tc.want)
					break
				}
			}
		})
	}
}

package demo

import (
	"fmt"
	"math"
	"testing"
)

func TestRunLengths(t *testing.T) {
	for n := 1; n <= 60; n++ {
		for seed := range int64(20) {
			runs := runLengths(n, stream(seed, "runs"))
			sum := 0
			for _, r := range runs {
				sum += r
				if n > maxZone && (r < minRun || r > maxRun) {
					t.Fatalf("n=%d seed=%d: run %d in %v", n, seed, r, runs)
				}
			}
			if sum != n || (n <= maxZone && len(runs) != 1) {
				t.Fatalf("n=%d seed=%d: %v", n, seed, runs)
			}
		}
	}
}

// ringOfVillages is n villages on a ring around (0, 0), each adjacent to
// the next, like villages around a township seat.
func ringOfVillages(n int) ([]place, map[string][]string) {
	var ps []place
	adj := map[string][]string{}
	code := func(i int) string { return fmt.Sprintf("v%02d", (i+n)%n) }
	for i := range n {
		a := 2 * math.Pi * float64(i) / float64(n)
		ps = append(ps, place{code(i), math.Cos(a), math.Sin(a)})
		adj[code(i)] = []string{code(i - 1), code(i + 1)}
	}
	return ps, adj
}

func TestGroupZones(t *testing.T) {
	tests := []struct {
		name string
		n    int
		// cut removes adjacency between these pairs
		cut [][2]string
	}{
		{"small township is one zone", 7, nil},
		{"ring", 34, nil},
		{"ring with a gap", 30, [][2]string{{"v10", "v11"}}},
		{"ring with an isolated village", 25, [][2]string{{"v04", "v05"}, {"v05", "v06"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, adj := ringOfVillages(tt.n)
			for _, c := range tt.cut {
				adj[c[0]] = without(adj[c[0]], c[1])
				adj[c[1]] = without(adj[c[1]], c[0])
			}
			for seed := range int64(10) {
				zones := groupZones(ps, adj, 0, 0, stream(seed, "zones"))
				seen := map[string]bool{}
				for _, z := range zones {
					if len(z) < 2 || len(z) > maxZone {
						t.Fatalf("seed %d: zone of %d: %v", seed, len(z), zones)
					}
					for _, v := range z {
						if seen[v] {
							t.Fatalf("seed %d: %s in two zones", seed, v)
						}
						seen[v] = true
					}
				}
				if len(seen) != tt.n {
					t.Fatalf("seed %d: %d villages in zones, want %d", seed, len(seen), tt.n)
				}
				if tt.cut != nil {
					continue
				}
				for _, z := range zones {
					if !connected(z, adj) {
						t.Fatalf("seed %d: zone %v is not connected", seed, z)
					}
				}
			}
		})
	}
}

func without(s []string, x string) []string {
	var out []string
	for _, v := range s {
		if v != x {
			out = append(out, v)
		}
	}
	return out
}

func connected(z []string, adj map[string][]string) bool {
	in := map[string]bool{}
	for _, v := range z {
		in[v] = true
	}
	seen := map[string]bool{z[0]: true}
	stack := []string{z[0]}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, a := range adj[v] {
			if in[a] && !seen[a] {
				seen[a] = true
				stack = append(stack, a)
			}
		}
	}
	return len(seen) == len(z)
}

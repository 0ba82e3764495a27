package index

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/paulmach/orb"
)

// benchSet is a synthetic district: an n×n partition of household grids
// with 16-vertex jittered boundaries over side×side km at Yanqing's
// latitude, with holes, islands and multipolygons (see householdGrids).
type benchSet struct {
	grids    []Grid
	ix       *Index
	random   []orb.Point // uniform over the extent, a few percent outside
	boundary []orb.Point // vertices and segment midpoints
}

var benchSets sync.Map // name -> *benchSet

func loadBenchSet(b *testing.B, n int, sideKM float64) *benchSet {
	name := fmt.Sprintf("%d/%g", n, sideKM)
	if s, ok := benchSets.Load(name); ok {
		return s.(*benchSet)
	}
	const lat = 40.45
	dLon, dLat := sideKM/84.7/float64(n), sideKM/111.05/float64(n)
	s := &benchSet{grids: householdGrids(partition(n, n, 115.75, lat-sideKM/111.05/2, dLon, dLat, 4, 0.3, 42), n, 20, 42)}
	ix, err := New(s.grids, Options{})
	if err != nil {
		b.Fatal(err)
	}
	s.ix = ix
	probes := makeProbes(s.grids, 1<<16, 43)
	s.random = probes[len(probes)-4-1<<16 : len(probes)-4]
	r := rand.New(rand.NewPCG(44, 44))
	for range 1 << 16 {
		s.boundary = append(s.boundary, probes[r.IntN(len(probes)-4-1<<16)])
	}
	benchSets.Store(name, s)
	b.Logf("%s", ix.shape())
	return s
}

// The sizes of the target: ~5,000 household grids over a 2,000 km²
// district, and ~75,000 over a Beijing-scale 16,400 km².
var benchSizes = []struct {
	name   string
	n      int
	sideKM float64
}{
	{"households=5k", 71, 44.7},
	{"households=75k", 274, 128},
}

func BenchmarkLocate(b *testing.B) {
	for _, sz := range benchSizes {
		for _, kind := range []string{"random", "boundary"} {
			b.Run(sz.name+"/"+kind, func(b *testing.B) {
				s := loadBenchSet(b, sz.n, sz.sideKM)
				pts := s.random
				if kind == "boundary" {
					pts = s.boundary
				}
				found := 0
				for i := 0; b.Loop(); i++ {
					if _, ok := s.ix.Locate(pts[i&(1<<16-1)]); ok {
						found++
					}
				}
				if found == 0 {
					b.Fatal("no point found")
				}
			})
		}
	}
}

func BenchmarkPlace(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			s := loadBenchSet(b, sz.n, sz.sideKM)
			for i := 0; b.Loop(); i++ {
				_, _ = s.ix.Place(s.random[i&(1<<16-1)])
			}
		})
	}
}

func BenchmarkNewIndex(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			s := loadBenchSet(b, sz.n, sz.sideKM)
			for b.Loop() {
				if _, err := New(s.grids, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

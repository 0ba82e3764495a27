package grid

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/paulmach/orb"
)

// ixBenchSet is a synthetic district: an n×n partition of household grids
// with 16-vertex jittered boundaries over side×side km at Yanqing's
// latitude, with holes, islands and multipolygons (see ixHouseholds).
type ixBenchSet struct {
	grids    []IndexGrid
	ix       *Index
	random   []orb.Point // uniform over the extent, a few percent outside
	boundary []orb.Point // vertices and segment midpoints
}

var ixBenchSets sync.Map // name -> *ixBenchSet

func ixBench(b *testing.B, n int, sideKM float64) *ixBenchSet {
	name := fmt.Sprintf("%d/%g", n, sideKM)
	if s, ok := ixBenchSets.Load(name); ok {
		return s.(*ixBenchSet)
	}
	const lat = 40.45
	dLon, dLat := sideKM/84.7/float64(n), sideKM/111.05/float64(n)
	s := &ixBenchSet{grids: ixHouseholds(ixPartition(n, n, 115.75, lat-sideKM/111.05/2, dLon, dLat, 4, 0.3, 42), n, 20, 42)}
	ix, err := NewIndex(s.grids, IndexOptions{})
	if err != nil {
		b.Fatal(err)
	}
	s.ix = ix
	probes := ixProbes(s.grids, 1<<16, 43)
	s.random = probes[len(probes)-4-1<<16 : len(probes)-4]
	r := rand.New(rand.NewPCG(44, 44))
	for range 1 << 16 {
		s.boundary = append(s.boundary, probes[r.IntN(len(probes)-4-1<<16)])
	}
	ixBenchSets.Store(name, s)
	b.Logf("%s", ix.shape())
	return s
}

// The sizes of the target: ~5,000 household grids over a 2,000 km²
// district, and ~75,000 over a Beijing-scale 16,400 km².
var ixBenchSizes = []struct {
	name   string
	n      int
	sideKM float64
}{
	{"households=5k", 71, 44.7},
	{"households=75k", 274, 128},
}

func BenchmarkLocate(b *testing.B) {
	for _, sz := range ixBenchSizes {
		for _, kind := range []string{"random", "boundary"} {
			b.Run(sz.name+"/"+kind, func(b *testing.B) {
				s := ixBench(b, sz.n, sz.sideKM)
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
	for _, sz := range ixBenchSizes {
		b.Run(sz.name, func(b *testing.B) {
			s := ixBench(b, sz.n, sz.sideKM)
			for i := 0; b.Loop(); i++ {
				_, _ = s.ix.Place(s.random[i&(1<<16-1)])
			}
		})
	}
}

func BenchmarkNewIndex(b *testing.B) {
	for _, sz := range ixBenchSizes {
		b.Run(sz.name, func(b *testing.B) {
			s := ixBench(b, sz.n, sz.sideKM)
			for b.Loop() {
				if _, err := NewIndex(s.grids, IndexOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package hotspot

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/uber/h3-go/v4"
)

// checkLocator runs pts through the locator the way binning does (one
// h3-go call per distinct key, reused) and compares every point with
// h3-go's own answer. It returns how many points fell back to h3-go.
func checkLocator(t *testing.T, res int, pts [][2]float64) (fallbacks int) {
	t.Helper()
	loc := newLocator(res)
	memo := map[uint64]h3.Cell{}
	bad := 0
	for _, p := range pts {
		want := cellOf(p[0], p[1], res)
		k, ok := loc.key(p[0], p[1])
		if !ok {
			fallbacks++
			continue
		}
		got, seen := memo[k]
		if !seen {
			memo[k] = want
			continue
		}
		if got != want {
			bad++
			if bad <= 5 {
				t.Errorf("res %d lon %.15g lat %.15g: key %x says %v, h3 says %v", res, p[0], p[1], k, got, want)
			}
		}
	}
	if bad > 0 {
		t.Errorf("res %d: %d of %d points disagree with h3", res, bad, len(pts))
	}
	return fallbacks
}

func TestLocatorMatchesH3(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	world := func(n int) [][2]float64 {
		pts := make([][2]float64, n)
		for i := range pts {
			// uniform on the sphere
			pts[i] = [2]float64{-180 + 360*r.Float64(), math.Asin(2*r.Float64()-1) * 180 / math.Pi}
		}
		return pts
	}
	box := func(n int, lon0, lon1, lat0, lat1 float64) [][2]float64 {
		pts := make([][2]float64, n)
		for i := range pts {
			pts[i] = [2]float64{lon0 + (lon1-lon0)*r.Float64(), lat0 + (lat1-lat0)*r.Float64()}
		}
		return pts
	}
	// Points on cell vertices and edge midpoints, nudged by less than a
	// millimetre: the adversarial case for any rounding.
	edges := func(res, cells int) [][2]float64 {
		var pts [][2]float64
		for range cells {
			c := cellOf(115.8+0.8*r.Float64(), 40.3+0.5*r.Float64(), res)
			b := c.Boundary()
			for i := range b {
				a, n := b[i], b[(i+1)%len(b)]
				for _, f := range []float64{0, 0.5, 0.25} {
					lat, lng := a.Lat+f*(n.Lat-a.Lat), a.Lng+f*(n.Lng-a.Lng)
					for _, d := range []float64{0, 1e-9, -1e-9, 1e-12} {
						pts = append(pts, [2]float64{lng + d, lat - d})
					}
				}
			}
		}
		return pts
	}
	faceCentres := func() [][2]float64 {
		var pts [][2]float64
		for _, g := range faceCenterGeo {
			for _, d := range []float64{0, 1e-7, 1e-4, 1e-2} {
				pts = append(pts, [2]float64{g[1]*180/math.Pi + d, g[0]*180/math.Pi - d})
			}
		}
		return pts
	}
	tests := []struct {
		name string
		res  int
		pts  [][2]float64
		// maxFallbackShare bounds how often the port gives up; it must stay
		// rare or binning would be slow again.
		maxFallbackShare float64
	}{
		{"world res 0", 0, world(20000), 0.01},
		{"world res 5", 5, world(50000), 0.01},
		{"world res 9", 9, world(200000), 0.001},
		{"world res 10", 10, world(50000), 0.001},
		{"world res 15", 15, world(50000), 0.01},
		{"Yanqing res 9", 9, box(200000, 115.8, 116.6, 40.3, 40.8), 0.001},
		{"Yanqing res 7", 7, box(50000, 115.8, 116.6, 40.3, 40.8), 0.001},
		{"poles and antimeridian res 9", 9, append(box(20000, 179.9, 180, -90, 90), box(20000, -180, 180, 89.9, 90)...), 0.01},
		{"cell edges res 9", 9, edges(9, 300), 1},
		{"cell edges res 8", 8, edges(8, 300), 1},
		{"face centres res 9", 9, faceCentres(), 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fb := checkLocator(t, tc.res, tc.pts)
			if share := float64(fb) / float64(len(tc.pts)); share > tc.maxFallbackShare {
				t.Errorf("%d of %d points (%.4f) fell back to h3, want at most %.4f", fb, len(tc.pts), share, tc.maxFallbackShare)
			}
		})
	}
}

// TestLocatorFallsBackOnEdges checks that points on a cell edge (great-
// circle midpoints of its sides, which lie on the straight edge of H3's
// gnomonic face projection) and on its vertices are left to h3-go: a port
// that never fell back would be trusting last-bit agreement between two
// math libraries.
func TestLocatorFallsBackOnEdges(t *testing.T) {
	tests := []struct {
		name     string
		lon, lat float64
		res      int
	}{
		{"Yanqing res 9", 116.0, 40.5, 9},
		{"Yanqing res 8", 115.97, 40.46, 8},
		{"equator res 9", 10, 0.3, 9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := cellOf(tc.lon, tc.lat, tc.res).Boundary()
			loc := newLocator(tc.res)
			var pts [][2]float64
			for i := range b {
				a, n := b[i], b[(i+1)%len(b)]
				pts = append(pts, [2]float64{a.Lng, a.Lat}, greatCircleMid(a, n))
			}
			for _, p := range pts {
				if _, ok := loc.key(p[0], p[1]); ok {
					t.Errorf("lon %.15g lat %.15g lies on an edge but the port rounded it", p[0], p[1])
				}
			}
		})
	}
}

// greatCircleMid returns the midpoint (lon, lat degrees) of the great-
// circle arc between a and b.
func greatCircleMid(a, b h3.LatLng) [2]float64 {
	v := func(g h3.LatLng) [3]float64 {
		la, ln := g.Lat*math.Pi/180, g.Lng*math.Pi/180
		return [3]float64{math.Cos(la) * math.Cos(ln), math.Cos(la) * math.Sin(ln), math.Sin(la)}
	}
	p, q := v(a), v(b)
	m := [3]float64{p[0] + q[0], p[1] + q[1], p[2] + q[2]}
	l := math.Sqrt(m[0]*m[0] + m[1]*m[1] + m[2]*m[2])
	return [2]float64{math.Atan2(m[1], m[0]) * 180 / math.Pi, math.Asin(m[2]/l) * 180 / math.Pi}
}

// locateEach finds every point's cell the way binning does (lattice keys,
// the digit walk, resolveKeys) but keeps the answer per point.
func locateEach(pts []Point, res int) ([]h3.Cell, int) {
	loc := newLocator(res)
	keyOf := make([]uint64, len(pts))
	ids := map[uint64]int{}
	var keys []uint64
	var first []int32
	calls := 0
	for i, p := range pts {
		k, ok := loc.key(p.Lon, p.Lat)
		if !ok {
			k = uint64(cellOf(p.Lon, p.Lat, res))
			calls++
		}
		keyOf[i] = k
		if _, seen := ids[k]; !seen {
			ids[k] = len(keys)
			keys = append(keys, k)
			first = append(first, int32(i))
		}
	}
	cells, n := resolveKeys(keys, first, pts, res)
	out := make([]h3.Cell, len(pts))
	for i, k := range keyOf {
		out[i] = cells[ids[k]]
	}
	return out, calls + n
}

// TestBinningMatchesH3 runs the whole path (lattice keys, the digit walk,
// turns learnt from h3-go) on points all over the world, around every
// pentagon, and in the 延庆区 box, at every resolution, and compares each
// point's cell with h3-go's LatLngToCell, and binPoints' counts with
// h3-go's.
func TestBinningMatchesH3(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 4))
	world := make([]Point, 50_000)
	for i := range world {
		world[i] = Point{Lon: -180 + 360*r.Float64(), Lat: math.Asin(2*r.Float64()-1) * 180 / math.Pi}
	}
	// Points around every pentagon, where the base cell rules differ.
	var nearPentagons []Point
	for _, p := range h3.Pentagons(0) {
		g := p.LatLng()
		for range 2000 {
			nearPentagons = append(nearPentagons, Point{Lon: g.Lng + 6*(r.Float64()-0.5), Lat: max(-90, min(90, g.Lat+6*(r.Float64()-0.5)))})
		}
	}
	yanqingBox := uniformClues(100_000, 8, benchBox)
	tests := []struct {
		name     string
		pts      []Point
		res      []int
		maxCalls int // h3-go calls allowed
	}{
		{"world", world, []int{1, 2, 5, 8, 9, 10, 12, 15}, 1000},
		{"near pentagons", nearPentagons, []int{1, 4, 7, 9, 12}, 500},
		{"延庆区 box", yanqingBox, []int{7, 8, 9, 10}, 10},
	}
	for _, tc := range tests {
		for _, res := range tc.res {
			t.Run(fmt.Sprintf("%s res %d", tc.name, res), func(t *testing.T) {
				got, calls := locateEach(tc.pts, res)
				want := map[h3.Cell]int32{}
				bad := 0
				for i, p := range tc.pts {
					w := cellOf(p.Lon, p.Lat, res)
					want[w]++
					if got[i] != w {
						bad++
						if bad <= 3 {
							t.Errorf("lon %.12g lat %.12g: %v, h3 says %v", p.Lon, p.Lat, got[i], w)
						}
					}
				}
				if bad > 0 {
					t.Errorf("%d of %d points in the wrong cell", bad, len(tc.pts))
				}
				if calls > tc.maxCalls {
					t.Errorf("%d calls to h3-go for %d cells, want at most %d", calls, len(want), tc.maxCalls)
				}
				b, err := binPoints(tc.pts, res, 1, nil, 0)
				if err != nil {
					t.Fatal(err)
				}
				if len(b.cells) != len(want) {
					t.Errorf("binPoints: %d cells, h3 has %d", len(b.cells), len(want))
				}
				for i, c := range b.cells {
					if b.counts[i] != want[c] {
						t.Fatalf("binPoints: cell %v has %d points, h3 puts %d there", c, b.counts[i], want[c])
					}
				}
			})
		}
	}
}

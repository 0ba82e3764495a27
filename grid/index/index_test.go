package index

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"whistlegrid/geo"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// ---------------------------------------------------------------------------
// The reference: PostGIS's own point-in-polygon, transliterated with no index.

// refRing is liblwgeom's point_in_ring (postgis/lwgeom_functions_analytic.c):
// 1 inside, 0 on the boundary, -1 outside.
func refRing(pts orb.Ring, p orb.Point) int {
	wn := 0
	for i := 0; i < len(pts)-1; i++ {
		seg1, seg2 := pts[i], pts[i+1]
		side := float64((seg2[0]-seg1[0])*(p[1]-seg1[1])) - float64((p[0]-seg1[0])*(seg2[1]-seg1[1]))
		if seg2[0] == seg1[0] && seg2[1] == seg1[1] {
			continue
		}
		if side == 0 {
			maxX, minX := math.Max(seg1[0], seg2[0]), math.Min(seg1[0], seg2[0])
			maxY, minY := math.Max(seg1[1], seg2[1]), math.Min(seg1[1], seg2[1])
			if !(maxX < p[0] || minX > p[0]) && !(maxY < p[1] || minY > p[1]) {
				return 0
			}
		}
		if seg1[1] <= p[1] && p[1] < seg2[1] && side > 0 {
			wn++
		} else if seg2[1] <= p[1] && p[1] < seg1[1] && side < 0 {
			wn--
		}
	}
	if wn == 0 {
		return -1
	}
	return 1
}

// refCovers is point_in_multipolygon(...) != -1, which is what ST_Covers
// answers for a (multi)polygon and a point.
func refCovers(mp orb.MultiPolygon, p orb.Point) bool {
	result := -1
	for _, polygon := range mp {
		if len(polygon) == 0 {
			continue
		}
		inRing := refRing(polygon[0], p)
		if inRing == -1 {
			continue
		}
		if inRing == 0 {
			return true
		}
		result = inRing
		for i := 1; i < len(polygon); i++ {
			inRing = refRing(polygon[i], p)
			if inRing == 1 {
				result = -1
				break
			}
			if inRing == 0 {
				return true
			}
		}
		if result != -1 {
			return true
		}
	}
	return false
}

// exactRing is the same test in exact rational arithmetic; on coordinates
// whose products float64 represents exactly it must agree with refRing.
func exactRing(pts orb.Ring, p orb.Point) int {
	rat := func(f float64) *big.Rat { return new(big.Rat).SetFloat64(f) }
	sub := func(a, b float64) *big.Rat { return new(big.Rat).Sub(rat(a), rat(b)) }
	wn := 0
	for i := 0; i < len(pts)-1; i++ {
		a, b := pts[i], pts[i+1]
		if a == b {
			continue
		}
		l := new(big.Rat).Mul(sub(b[0], a[0]), sub(p[1], a[1]))
		r := new(big.Rat).Mul(sub(p[0], a[0]), sub(b[1], a[1]))
		side := l.Cmp(r)
		if side == 0 && p[0] >= math.Min(a[0], b[0]) && p[0] <= math.Max(a[0], b[0]) && p[1] >= math.Min(a[1], b[1]) && p[1] <= math.Max(a[1], b[1]) {
			return 0
		}
		if a[1] <= p[1] && p[1] < b[1] && side > 0 {
			wn++
		} else if b[1] <= p[1] && p[1] < a[1] && side < 0 {
			wn--
		}
	}
	if wn == 0 {
		return -1
	}
	return 1
}

// reference answers Locate by brute force over the households that a coarse
// bucket grid (its own, unlike the Index's) says may hold the point.
type reference struct {
	grids          []Grid // households only
	x0, y0, bw, bh float64
	n              int
	buckets        [][]int
}

func newReference(grids []Grid) *reference {
	r := &reference{n: 64}
	box := orb.Bound{Min: orb.Point{math.Inf(1), math.Inf(1)}, Max: orb.Point{math.Inf(-1), math.Inf(-1)}}
	for _, g := range grids {
		if g.Level == LevelHousehold {
			r.grids = append(r.grids, g)
			box = box.Union(g.Geom.Bound())
		}
	}
	r.x0, r.y0 = box.Min[0], box.Min[1]
	r.bw, r.bh = (box.Max[0]-box.Min[0])/float64(r.n), (box.Max[1]-box.Min[1])/float64(r.n)
	r.buckets = make([][]int, r.n*r.n)
	for k, g := range r.grids {
		b := g.Geom.Bound()
		i0, j0 := r.bucket(b.Min[0]-1e-7, b.Min[1]-1e-7)
		i1, j1 := r.bucket(b.Max[0]+1e-7, b.Max[1]+1e-7)
		for j := j0; j <= j1; j++ {
			for i := i0; i <= i1; i++ {
				r.buckets[j*r.n+i] = append(r.buckets[j*r.n+i], k)
			}
		}
	}
	return r
}

func (r *reference) bucket(x, y float64) (int, int) {
	i := int(math.Floor((x - r.x0) / r.bw))
	j := int(math.Floor((y - r.y0) / r.bh))
	return max(0, min(r.n-1, i)), max(0, min(r.n-1, j))
}

// covering returns every household covering p.
func (r *reference) covering(p orb.Point) []Grid {
	if math.IsNaN(p[0]) || math.IsNaN(p[1]) {
		return nil
	}
	i, j := r.bucket(p[0], p[1])
	var out []Grid
	for _, k := range r.buckets[j*r.n+i] {
		if refCovers(r.grids[k].Geom, p) {
			out = append(out, r.grids[k])
		}
	}
	return out
}

// locate applies the tie rule: lowest code, then lowest ID.
func (r *reference) locate(p orb.Point) (int64, bool, int) {
	c := r.covering(p)
	if len(c) == 0 {
		return 0, false, 0
	}
	best := slices.MinFunc(c, func(a, b Grid) int {
		if a.Code != b.Code {
			return strings.Compare(a.Code, b.Code)
		}
		return int(a.ID - b.ID)
	})
	return best.ID, true, len(c)
}

// ---------------------------------------------------------------------------
// Synthetic data.

// chainGrids returns a district, township, zone and nv villages (IDs 1, 2,
// 3, 10...), the top of every chain the tests build.
func chainGrids(nv int) []Grid {
	gs := []Grid{
		{ID: 1, Code: "110119", Name: "延庆区", Level: LevelDistrict},
		{ID: 2, Code: "110119101", Name: "儒林街道", Level: LevelTownship, ParentID: 1},
		{ID: 3, Code: "110119101P01", Name: "第一片", Level: LevelZone, ParentID: 2},
	}
	for v := range nv {
		gs = append(gs, Grid{ID: int64(10 + v), Code: fmt.Sprintf("110119101%03d", v+1), Name: fmt.Sprintf("村%d", v+1), Level: LevelVillage, ParentID: 3})
	}
	return gs
}

// partition tiles the rectangle from (x0, y0) with nx×ny cells of dx×dy
// degrees: a lattice of vertices moved by up to jit of a cell, every
// lattice edge cut into sub pieces whose inner points move sideways by up
// to jit/3. Neighbouring cells share their edges bit for bit. With jit 0
// and dyadic sizes every coordinate and determinant is exact.
func partition(nx, ny int, x0, y0, dx, dy float64, sub int, jit float64, seed uint64) []orb.Polygon {
	r := rand.New(rand.NewPCG(seed, 7))
	j := func(scale float64) float64 { return (r.Float64()*2 - 1) * jit * scale }
	vx := make([][]orb.Point, nx+1)
	for i := range vx {
		vx[i] = make([]orb.Point, ny+1)
		for k := range vx[i] {
			p := orb.Point{x0 + float64(i)*dx, y0 + float64(k)*dy}
			if i > 0 && i < nx {
				p[0] += j(dx)
			}
			if k > 0 && k < ny {
				p[1] += j(dy)
			}
			vx[i][k] = p
		}
	}
	edge := func(a, b orb.Point, border bool) []orb.Point {
		pts := []orb.Point{a}
		for s := 1; s < sub; s++ {
			t := float64(s) / float64(sub)
			p := orb.Point{a[0] + t*(b[0]-a[0]), a[1] + t*(b[1]-a[1])}
			if !border {
				off := j(1) / 3
				p[0] += off * -(b[1] - a[1])
				p[1] += off * (b[0] - a[0])
			}
			pts = append(pts, p)
		}
		return append(pts, b)
	}
	horiz := make([][][]orb.Point, nx) // horiz[i][k]: vx[i][k] -> vx[i+1][k]
	for i := range horiz {
		horiz[i] = make([][]orb.Point, ny+1)
		for k := range horiz[i] {
			horiz[i][k] = edge(vx[i][k], vx[i+1][k], k == 0 || k == ny)
		}
	}
	vert := make([][][]orb.Point, nx+1) // vert[i][k]: vx[i][k] -> vx[i][k+1]
	for i := range vert {
		vert[i] = make([][]orb.Point, ny)
		for k := range vert[i] {
			vert[i][k] = edge(vx[i][k], vx[i][k+1], i == 0 || i == nx)
		}
	}
	polys := make([]orb.Polygon, 0, nx*ny)
	for k := range ny {
		for i := range nx {
			var ring orb.Ring
			ring = append(ring, horiz[i][k]...)
			ring = append(ring, vert[i+1][k][1:]...)
			top := slices.Clone(horiz[i][k+1])
			slices.Reverse(top)
			ring = append(ring, top[1:]...)
			left := slices.Clone(vert[i][k])
			slices.Reverse(left)
			ring = append(ring, left[1:]...)
			polys = append(polys, orb.Polygon{ring})
		}
	}
	return polys
}

// householdGrids turns polygons into household grids under villages of
// chainGrids, with codes in a shuffled order so that the lowest code is
// not the first polygon. Every 7th polygon gets a hole filled by an island
// household, every 11th a hole left empty, every 13th is merged with the
// polygon two to its right into one multipolygon household, every 17th
// with its right neighbour.
func householdGrids(polys []orb.Polygon, nx, nv int, seed uint64) []Grid {
	r := rand.New(rand.NewPCG(seed, 11))
	codes := r.Perm(len(polys) * 2)
	gs := chainGrids(nv)
	used := make([]bool, len(polys))
	add := func(mp orb.MultiPolygon, k int) {
		n := len(gs) - 3 - nv
		gs = append(gs, Grid{
			ID: int64(100 + n), Code: fmt.Sprintf("%s%06d", gs[3+k%nv].Code, codes[n]), Name: fmt.Sprintf("户%d", n),
			Level: LevelHousehold, ParentID: int64(10 + k%nv), Geom: mp,
		})
	}
	for k, p := range polys {
		if used[k] {
			continue
		}
		used[k] = true
		switch {
		case k%7 == 3 || k%11 == 5:
			b := p.Bound()
			c, w, h := b.Center(), b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]
			hole := orb.Ring{
				{c[0] - w/8, c[1] - h/8}, {c[0] - w/8, c[1] + h/8}, {c[0] + w/8, c[1] + h/8},
				{c[0] + w/8, c[1] - h/8}, {c[0] - w/8, c[1] - h/8},
			}
			add(orb.MultiPolygon{{p[0], hole}}, k)
			if k%7 == 3 {
				island := slices.Clone(hole)
				slices.Reverse(island)
				add(orb.MultiPolygon{{island}}, k)
			}
		case k%13 == 6 && k%nx < nx-2 && !used[k+2]:
			used[k+2] = true
			add(orb.MultiPolygon{p, polys[k+2]}, k)
		case k%17 == 8 && k%nx < nx-1 && !used[k+1]:
			used[k+1] = true
			add(orb.MultiPolygon{p, polys[k+1]}, k)
		default:
			add(orb.MultiPolygon{p}, k)
		}
	}
	return gs
}

// makeProbes returns points that stress the boundary: every vertex, points
// computed on every segment, their neighbours one ulp away, and random
// points over the extent and beyond.
func makeProbes(grids []Grid, random int, seed uint64) []orb.Point {
	r := rand.New(rand.NewPCG(seed, 13))
	var pts []orb.Point
	ulps := func(p orb.Point) {
		pts = append(pts, p,
			orb.Point{math.Nextafter(p[0], math.Inf(1)), p[1]}, orb.Point{math.Nextafter(p[0], math.Inf(-1)), p[1]},
			orb.Point{p[0], math.Nextafter(p[1], math.Inf(1))}, orb.Point{p[0], math.Nextafter(p[1], math.Inf(-1))})
	}
	box := orb.Bound{Min: orb.Point{math.Inf(1), math.Inf(1)}, Max: orb.Point{math.Inf(-1), math.Inf(-1)}}
	for _, g := range grids {
		for _, poly := range g.Geom {
			for _, ring := range poly {
				for i := 1; i < len(ring); i++ {
					a, b := ring[i-1], ring[i]
					ulps(a)
					ulps(orb.Point{(a[0] + b[0]) / 2, (a[1] + b[1]) / 2})
					t := r.Float64()
					pts = append(pts, orb.Point{a[0] + t*(b[0]-a[0]), a[1] + t*(b[1]-a[1])})
				}
			}
		}
		box = box.Union(g.Geom.Bound())
	}
	if box.IsEmpty() {
		return pts
	}
	w, h := box.Max[0]-box.Min[0], box.Max[1]-box.Min[1]
	for range random {
		pts = append(pts, orb.Point{box.Min[0] - w/20 + r.Float64()*w*1.1, box.Min[1] - h/20 + r.Float64()*h*1.1})
	}
	return append(pts, orb.Point{0, 0}, orb.Point{box.Max[0] + 1, box.Min[1]}, orb.Point{math.NaN(), box.Min[1]},
		orb.Point{box.Min[0], math.Inf(1)})
}

// shape describes the acceleration structure, for tests and benchmarks.
func (ix *Index) shape() string {
	st := ix.stats
	hot, blob := ix.Bytes()
	return fmt.Sprintf("%d households, top %d×%d, %d records (%.0f%% of sub-cells answered), %d nodes, %d leaves, %d candidates, %d rings, %d points, %d events, %.1f MiB hot + %.1f MiB",
		ix.Len(), ix.nx, ix.ny, st.records, 100*float64(st.subAnswered)/float64(max(1, st.records*subs*subs)),
		st.nodes, st.leaves, st.cands, st.rings, st.points, st.events,
		float64(hot)/(1<<20), float64(blob)/(1<<20))
}

func mustIndex(t testing.TB, grids []Grid) *Index {
	t.Helper()
	ix, err := New(grids, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

// ---------------------------------------------------------------------------
// Tests.

func TestReferenceIsExactOnDyadicData(t *testing.T) {
	// On a checkerboard of 1/256-degree squares every determinant is exact,
	// so the float reference must agree with rational arithmetic, and the
	// boundary really is the boundary.
	grids := householdGrids(partition(6, 5, 116, 40.25, 1.0/256, 1.0/256, 2, 0, 1), 6, 2, 1)
	for _, p := range makeProbes(grids, 2000, 1) {
		if math.IsNaN(p[0]) || math.IsInf(p[1], 0) {
			continue
		}
		for _, g := range grids {
			if !g.Geom.Bound().Pad(1e-9).Contains(p) {
				continue
			}
			for _, poly := range g.Geom {
				for _, ring := range poly {
					if got, want := refRing(ring, p), exactRing(ring, p); got != want {
						t.Fatalf("ring of %s at %v: float %d, exact %d", g.Code, p, got, want)
					}
				}
			}
		}
	}
}

func TestLocateMatchesReference(t *testing.T) {
	tests := []struct {
		name      string
		nx, ny    int
		dx, dy    float64
		sub       int
		jit       float64
		nv        int
		random    int
		wantShare bool // some probes must be covered by several grids
	}{
		{"checkerboard dyadic", 12, 10, 1.0 / 256, 1.0 / 256, 1, 0, 3, 20000, true},
		{"checkerboard dyadic subdivided edges", 9, 9, 1.0 / 512, 1.0 / 1024, 4, 0, 2, 20000, true},
		{"jittered quads", 20, 16, 0.004, 0.003, 1, 0.3, 4, 40000, true},
		{"jittered curvy edges", 30, 30, 0.003, 0.0025, 5, 0.35, 5, 60000, true},
		{"one big household", 1, 1, 0.05, 0.04, 200, 0.2, 1, 20000, false},
		{"long thin strips", 40, 2, 0.0005, 0.05, 30, 0.3, 2, 40000, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			grids := householdGrids(partition(tt.nx, tt.ny, 115.9, 40.4, tt.dx, tt.dy, tt.sub, tt.jit, uint64(tt.nx*tt.ny)), tt.nx, tt.nv, 5)
			probes := makeProbes(grids, tt.random, 9)
			wants := newReference(grids).expect(probes)
			for _, tune := range []struct {
				name string
				tuning
			}{
				{"default", defaultTuning()},
				{"deep tree", tuning{cellsPerHousehold: 1, maxDepth: 3, maxLeafCost: 1}},
				{"fine top grid", tuning{cellsPerHousehold: 64, maxDepth: 0}},
			} {
				t.Run(tune.name, func(t *testing.T) {
					ix, err := newIndex(grids, Options{}, tune.tuning)
					if err != nil {
						t.Fatal(err)
					}
					t.Log(ix.shape())
					compareAnswers(t, ix, probes, wants, tt.wantShare)
				})
			}
		})
	}
}

// refAnswer is the reference's answer for one probe.
type refAnswer struct {
	id     int64
	ok     bool
	covers int // how many household grids cover the probe
}

func (r *reference) expect(probes []orb.Point) []refAnswer {
	out := make([]refAnswer, len(probes))
	for i, p := range probes {
		out[i].id, out[i].ok, out[i].covers = r.locate(p)
	}
	return out
}

// compare checks Locate and Place against the reference on every probe.
func compare(t *testing.T, ix *Index, ref *reference, probes []orb.Point, wantShare bool) {
	t.Helper()
	compareAnswers(t, ix, probes, ref.expect(probes), wantShare)
}

func compareAnswers(t *testing.T, ix *Index, probes []orb.Point, wants []refAnswer, wantShare bool) {
	t.Helper()
	shared, bad := 0, 0
	for i, p := range probes {
		want, wantOK, n := wants[i].id, wants[i].ok, wants[i].covers
		if n > 1 {
			shared++
		}
		got, ok := ix.Locate(p)
		if got != want || ok != wantOK {
			bad++
			if bad <= 10 {
				t.Errorf("Locate(%v) = %d, %v; reference %d, %v (%d grids cover it)", p, got, ok, want, wantOK, n)
			}
			continue
		}
		pl, err := ix.Place(p)
		switch {
		case !wantOK && geo.ValidLonLat(p[0], p[1]) != nil:
			if !errors.Is(err, geo.ErrInvalidLonLat) {
				t.Errorf("Place(%v) error = %v, want geo.ErrInvalidLonLat", p, err)
			}
		case !wantOK:
			if !errors.Is(err, ErrOutside) {
				t.Errorf("Place(%v) error = %v, want ErrOutside", p, err)
			}
		case err != nil:
			t.Errorf("Place(%v) error = %v", p, err)
		case pl.Chain[0].ID != want || pl.Chain[len(pl.Chain)-1].Level != LevelDistrict:
			t.Errorf("Place(%v) chain %v, want household %d up to the district", p, pl.Chain, want)
		case pl.NearEdge != (pl.EdgeDistanceM < DefaultNearEdgeM):
			t.Errorf("Place(%v) NearEdge %v with distance %v", p, pl.NearEdge, pl.EdgeDistanceM)
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d probes differ from the reference", bad, len(probes))
	}
	// LocateAll, over the probes in one call and from an odd offset, so
	// that blocks start and end everywhere.
	ids := make([]int64, len(probes))
	for _, from := range []int{0, 7} {
		clear(ids)
		ix.LocateAll(probes[from:], ids[from:])
		for i := from; i < len(probes); i++ {
			if ids[i] != wants[i].id {
				bad++
				if bad <= 10 {
					t.Errorf("LocateAll: point %d %v = %d; reference %d", i, probes[i], ids[i], wants[i].id)
				}
			}
		}
	}
	if bad > 0 {
		t.Fatalf("LocateAll: %d answers differ from the reference", bad)
	}
	if wantShare && shared == 0 {
		t.Errorf("no probe lies on a shared boundary: the tie rule went untested")
	}
	t.Logf("%d probes agree, %d of them covered by several grids", len(probes), shared)
}

func TestLocateFloatBoundaries(t *testing.T) {
	// Household polygons made the way real data is: independently rounded
	// vertices (so neighbours' edges can leave slivers and overlaps at the
	// last bit) and long diagonal edges. Only the reference decides.
	r := rand.New(rand.NewPCG(3, 3))
	gs := chainGrids(1)
	var probes []orb.Point
	for k := range 400 {
		c := orb.Point{116 + r.Float64()*0.05, 40.4 + r.Float64()*0.05}
		var ring orb.Ring
		n := 3 + r.IntN(8)
		for v := range n {
			a := 2 * math.Pi * (float64(v) + r.Float64()*0.8) / float64(n)
			rad := 0.002 + r.Float64()*0.004
			ring = append(ring, orb.Point{c[0] + rad*math.Cos(a), c[1] + rad*math.Sin(a)})
		}
		ring = append(ring, ring[0])
		gs = append(gs, Grid{ID: int64(100 + k), Code: fmt.Sprintf("H%04d", r.IntN(10000)), Level: LevelHousehold, ParentID: 10, Geom: orb.MultiPolygon{{ring}}})
		for i := 1; i < len(ring); i++ {
			a, b := ring[i-1], ring[i]
			for range 20 {
				t := r.Float64()
				probes = append(probes, orb.Point{a[0] + t*(b[0]-a[0]), a[1] + t*(b[1]-a[1])})
			}
		}
	}
	ix := mustIndex(t, gs)
	t.Log(ix.shape())
	probes = append(probes, makeProbes(gs, 100000, 4)...)
	compare(t, ix, newReference(gs), probes, true)
}

func TestLocateDegenerateGeometry(t *testing.T) {
	// Rings PostGIS accepts though they are not valid, and shapes at the
	// scale of the index's safety margin. Only the reference decides.
	const x0, y0 = 116.0, 40.5
	ring := func(pts ...float64) orb.Ring {
		var r orb.Ring
		for i := 0; i+1 < len(pts); i += 2 {
			r = append(r, orb.Point{x0 + pts[i]*1e-3, y0 + pts[i+1]*1e-3})
		}
		return append(r, r[0])
	}
	tiny := func(cx, cy, size float64) orb.Ring {
		c := orb.Point{x0 + cx*1e-3, y0 + cy*1e-3}
		return orb.Ring{c, {c[0] + size, c[1]}, {c[0] + size, c[1] + size}, {c[0], c[1] + size}, c}
	}
	tests := []struct {
		name string
		mp   orb.MultiPolygon
	}{
		{"repeated vertices", orb.MultiPolygon{{ring(0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1)}}},
		{"collinear vertices", orb.MultiPolygon{{ring(2, 0, 2.25, 0, 2.5, 0, 3, 0, 3, 0.3, 3, 1, 2.5, 1, 2, 1, 2, 0.5)}}},
		{"spike out and back", orb.MultiPolygon{{ring(4, 0, 5, 0, 5, 0.5, 5.7, 0.8, 5, 0.5, 5, 1, 4, 1)}}},
		{"bow tie", orb.MultiPolygon{{ring(6, 0, 7, 1, 7, 0, 6, 1)}}},
		{"clockwise outer ring", orb.MultiPolygon{{ring(8, 0, 8, 1, 9, 1, 9, 0)}}},
		{"hole touching the outer ring", orb.MultiPolygon{{ring(10, 0, 11, 0, 11, 1, 10, 1), ring(10, 0, 10.5, 0.3, 10.6, 0.7)}}},
		{"overlapping parts", orb.MultiPolygon{{ring(12, 0, 13, 0, 13, 1, 12, 1)}, {ring(12.5, 0.5, 13.5, 0.5, 13.5, 1.5, 12.5, 1.5)}}},
		{"overlaps its neighbour", orb.MultiPolygon{{ring(12.8, 0.2, 14, 0.2, 14, 0.9, 12.8, 0.9)}}},
		{"horizontal and vertical zigzag", orb.MultiPolygon{{ring(15, 0, 16, 0, 16, 0.2, 15.5, 0.2, 15.5, 0.4, 16, 0.4, 16, 1, 15, 1, 15, 0.6, 15.3, 0.6, 15.3, 0.4, 15, 0.4)}}},
		{"sliver 1e-12 wide", orb.MultiPolygon{{orb.Ring{{x0 + 0.017, y0}, {x0 + 0.018, y0 + 0.001}, {x0 + 0.018 + 1e-12, y0 + 0.001}, {x0 + 0.017 + 1e-12, y0}, {x0 + 0.017, y0}}}}},
		{"square of 1e-10 degrees", orb.MultiPolygon{{tiny(19, 0.5, 1e-10)}}},
		{"square of 3e-9 degrees", orb.MultiPolygon{{tiny(19.2, 0.5, 3e-9)}}},
		{"square of 1e-9 degrees", orb.MultiPolygon{{tiny(19.4, 0.5, 1e-9)}}},
		{"square of 1e-14 degrees", orb.MultiPolygon{{tiny(19.6, 0.5, 1e-14)}}},
		{"all points equal", orb.MultiPolygon{{orb.Ring{{x0 + 0.0198, y0}, {x0 + 0.0198, y0}, {x0 + 0.0198, y0}, {x0 + 0.0198, y0}}}}},
		{"nested shells", orb.MultiPolygon{{ring(20, 0, 22, 0, 22, 2, 20, 2)}, {ring(20.5, 0.5, 21.5, 0.5, 21.5, 1.5, 20.5, 1.5)}}},
		{"ring inside its own hole", orb.MultiPolygon{{ring(23, 0, 25, 0, 25, 2, 23, 2), ring(23.5, 0.5, 24.5, 0.5, 24.5, 1.5, 23.5, 1.5)}, {ring(23.7, 0.7, 24.3, 0.7, 24.3, 1.3, 23.7, 1.3)}}},
	}
	gs := chainGrids(1)
	for k, tt := range tests {
		gs = append(gs, Grid{ID: int64(100 + k), Code: fmt.Sprintf("D%02d %s", (k*7)%len(tests), tt.name), Level: LevelHousehold, ParentID: 10, Geom: tt.mp})
	}
	ix, err := newIndex(gs, Options{}, tuning{cellsPerHousehold: 4, maxDepth: 5, maxLeafCost: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(ix.shape())
	probes := makeProbes(gs, 100000, 21)
	// Points around the tiny shapes, which random points never hit.
	r := rand.New(rand.NewPCG(21, 21))
	for _, g := range gs[4:] {
		b := g.Geom.Bound()
		w, h := b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]
		for range 2000 {
			probes = append(probes, orb.Point{b.Min[0] - w + r.Float64()*3*w, b.Min[1] - h + r.Float64()*3*h})
		}
	}
	compare(t, ix, newReference(gs), probes, true)
}

func TestLocateCases(t *testing.T) {
	// A 4×3 checkerboard of 1/128-degree squares (codes H00..H11 by row,
	// except the squares' codes are reversed in the middle row), square
	// H05 with a hole holding the island household I01, square H06 with an
	// empty hole, and household M01 made of two squares off to the east.
	const s = 1.0 / 128
	x0, y0 := 116.0, 40.5
	sq := func(i, j float64) orb.Ring {
		return orb.Ring{{x0 + i*s, y0 + j*s}, {x0 + (i+1)*s, y0 + j*s}, {x0 + (i+1)*s, y0 + (j+1)*s}, {x0 + i*s, y0 + (j+1)*s}, {x0 + i*s, y0 + j*s}}
	}
	hole := func(i, j float64) orb.Ring {
		return orb.Ring{{x0 + (i+0.25)*s, y0 + (j+0.25)*s}, {x0 + (i+0.25)*s, y0 + (j+0.75)*s}, {x0 + (i+0.75)*s, y0 + (j+0.75)*s}, {x0 + (i+0.75)*s, y0 + (j+0.25)*s}, {x0 + (i+0.25)*s, y0 + (j+0.25)*s}}
	}
	gs := chainGrids(1)
	id := int64(100)
	add := func(code string, mp orb.MultiPolygon) {
		gs = append(gs, Grid{ID: id, Code: code, Level: LevelHousehold, ParentID: 10, Geom: mp})
		id++
	}
	for j := range 3 {
		for i := range 4 {
			k := j*4 + i
			if j == 1 {
				k = 4 + (3 - i)
			}
			mp := orb.MultiPolygon{{sq(float64(i), float64(j))}}
			switch k {
			case 5:
				mp[0] = append(mp[0], hole(float64(i), float64(j)))
			case 6:
				mp[0] = append(mp[0], hole(float64(i), float64(j)))
			}
			add(fmt.Sprintf("H%02d", k), mp)
		}
	}
	// Square H05 is at i=2, j=1; its island is the hole reversed.
	island := slices.Clone(hole(2, 1))
	slices.Reverse(island)
	add("I01", orb.MultiPolygon{{island}})
	add("M01", orb.MultiPolygon{{sq(6, 0)}, {sq(6, 2)}})
	ix := mustIndex(t, gs)
	code := func(p orb.Point) string {
		h, ok := ix.Locate(p)
		if !ok {
			return ""
		}
		c, _ := ix.Chain(h)
		return c[0].Code
	}
	at := func(i, j float64) orb.Point { return orb.Point{x0 + i*s, y0 + j*s} }
	tests := []struct {
		name string
		p    orb.Point
		want string // "" for outside
	}{
		{"interior of H00", at(0.5, 0.5), "H00"},
		{"interior of H07 (reversed row)", at(0.5, 1.5), "H07"},
		{"corner of the whole board", at(0, 0), "H00"},
		{"outer edge midpoint", at(0.5, 0), "H00"},
		{"edge H00|H01 picks H00", at(1, 0.5), "H00"},
		{"edge H01|H06 picks H01", at(1.5, 1), "H01"},
		{"vertex shared by H00 H01 H07 H06 picks H00", at(1, 1), "H00"},
		{"vertex shared by H05 H06 H09 H10 picks H05", at(2, 2), "H05"},
		{"edge H09|H10 picks H09", at(2, 2.5), "H09"},
		{"island interior is I01, not H05", at(2.5, 1.5), "I01"},
		{"island vertex is on H05's hole: H05 wins by code", at(2.25, 1.25), "H05"},
		{"island edge midpoint: H05 wins by code", at(2.5, 1.75), "H05"},
		{"H05 between outer ring and hole", at(2.1, 1.1), "H05"},
		{"empty hole of H06 is outside", at(1.5, 1.5), ""},
		{"edge of the empty hole is H06's", at(1.25, 1.5), "H06"},
		{"vertex of the empty hole is H06's", at(1.75, 1.75), "H06"},
		{"first part of M01", at(6.5, 0.5), "M01"},
		{"second part of M01", at(6.5, 2.5), "M01"},
		{"between M01's parts", at(6.5, 1.5), ""},
		{"edge of M01's second part", at(7, 2.5), "M01"},
		{"right of the board", at(4.5, 0.5), ""},
		{"just outside the board by one ulp", orb.Point{math.Nextafter(x0, 0), y0 + s/2}, ""},
		{"just inside the board by one ulp", orb.Point{math.Nextafter(x0, 200), y0 + s/2}, "H00"},
		{"far away", orb.Point{-70, 10}, ""},
		{"NaN", orb.Point{math.NaN(), y0}, ""},
	}
	ref := newReference(gs)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := code(tt.p); got != tt.want {
				t.Errorf("Locate(%v) is %q, want %q", tt.p, got, tt.want)
			}
			id, ok, _ := ref.locate(tt.p)
			if got, _ := ix.Locate(tt.p); got != id || (tt.want != "") != ok {
				t.Errorf("reference disagrees: %d, %v", id, ok)
			}
		})
	}
}

func TestPlace(t *testing.T) {
	// One 0.01°×0.01° household at 40.45°N; distances are checked against
	// the WGS-84 meridian and parallel: dφ·M(φ) and dλ·N(φ)·cos φ.
	x0, y0 := 115.97, 40.45
	gs := append(chainGrids(1), Grid{ID: 100, Code: "110119101001000001", Name: "王家户", Level: LevelHousehold, ParentID: 10,
		Geom: orb.MultiPolygon{{{{x0, y0}, {x0 + 0.01, y0}, {x0 + 0.01, y0 + 0.01}, {x0, y0 + 0.01}, {x0, y0}}}}})
	ix, err := New(gs, Options{NearEdgeM: 50})
	if err != nil {
		t.Fatal(err)
	}
	mLon, _ := geo.LocalScale(y0 + 0.005)
	_, mLat := geo.LocalScale(y0 + 0.0002)
	tests := []struct {
		name     string
		p        orb.Point
		wantM    float64
		wantNear bool
		wantErr  error
	}{
		{"20 m north of the south edge", orb.Point{x0 + 0.005, y0 + 20/mLat}, 20, true, nil},
		{"on the south edge", orb.Point{x0 + 0.005, y0}, 0, true, nil},
		{"on a vertex", orb.Point{x0, y0}, 0, true, nil},
		{"centre: the west and east edges are nearest", orb.Point{x0 + 0.005, y0 + 0.005}, 0.005 * mLon, false, nil},
		{"100 m east of the west edge", orb.Point{x0 + 100/mLon, y0 + 0.005}, 100, false, nil},
		{"outside", orb.Point{x0 - 0.001, y0}, 0, false, ErrOutside},
		{"bad latitude", orb.Point{x0, 91}, 0, false, geo.ErrInvalidLonLat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl, err := ix.Place(tt.p)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.HasPrefix(err.Error(), "index: ") {
					t.Fatalf("Place(%v) error = %v, want %v", tt.p, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			codes := make([]string, len(pl.Chain))
			for i, l := range pl.Chain {
				codes[i] = string(l.Level) + ":" + l.Code
			}
			if got := strings.Join(codes, " "); got != "household:110119101001000001 village:110119101001 zone:110119101P01 township:110119101 district:110119" {
				t.Errorf("chain %s", got)
			}
			if math.Abs(pl.EdgeDistanceM-tt.wantM) > 0.001*tt.wantM+1e-6 {
				t.Errorf("EdgeDistanceM = %.4f, want %.4f within 0.1%%", pl.EdgeDistanceM, tt.wantM)
			}
			if pl.NearEdge != tt.wantNear {
				t.Errorf("NearEdge = %v, want %v", pl.NearEdge, tt.wantNear)
			}
		})
	}
	if err := func() error { _, err := ix.Place(orb.Point{x0 - 1, y0}); return err }(); !strings.Contains(err.Error(), "outside the extent") {
		t.Errorf("error %q should give the reason", err)
	}
}

func TestNewIndexRejects(t *testing.T) {
	sq := orb.MultiPolygon{{{{116, 40}, {116.01, 40}, {116.01, 40.01}, {116, 40.01}, {116, 40}}}}
	hh := func(id, parent int64, mp orb.MultiPolygon) Grid {
		return Grid{ID: id, Code: fmt.Sprintf("H%d", id), Level: LevelHousehold, ParentID: parent, Geom: mp}
	}
	tests := []struct {
		name  string
		grids []Grid
		opts  Options
		want  string
	}{
		{"duplicate ID", append(chainGrids(1), hh(100, 10, sq), hh(100, 10, sq)), Options{}, "duplicate grid ID 100"},
		{"ID zero", append(chainGrids(1), hh(0, 10, sq)), Options{}, "has ID 0"},
		{"unknown level", append(chainGrids(1), Grid{ID: 100, Level: "street", ParentID: 10}), Options{}, `unknown level "street"`},
		{"missing parent", append(chainGrids(1), hh(100, 99, sq)), Options{}, "parent 99, which is not among the grids"},
		{"parent not higher", append(chainGrids(1), hh(100, 10, sq), hh(101, 100, sq)), Options{}, "want a higher level"},
		{"root below district", []Grid{{ID: 2, Level: LevelTownship}}, Options{}, "township grid 2 (\"\") has no parent"},
		{"no geometry", append(chainGrids(1), hh(100, 10, nil)), Options{}, "has no geometry"},
		{"open ring", append(chainGrids(1), hh(100, 10, orb.MultiPolygon{{{{116, 40}, {116.01, 40}, {116.01, 40.01}, {116, 40.01}}}})), Options{}, "is not closed"},
		{"short ring", append(chainGrids(1), hh(100, 10, orb.MultiPolygon{{{{116, 40}, {116.01, 40}, {116, 40}}}})), Options{}, "has 3 points, want at least 4"},
		{"lat lon swapped", append(chainGrids(1), hh(100, 10, orb.MultiPolygon{{{{40, 116}, {40.01, 116}, {40.01, 116.01}, {40, 116}}}})), Options{}, "latitude 116 is outside"},
		{"negative near edge", chainGrids(1), Options{NearEdgeM: -1}, "NearEdgeM -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.grids, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "index: ") {
				t.Fatalf("New error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestEmptyIndex(t *testing.T) {
	ix := mustIndex(t, chainGrids(2))
	if _, ok := ix.Locate(orb.Point{116, 40}); ok || ix.Len() != 0 {
		t.Errorf("an index with no households located a point")
	}
	if _, err := ix.Place(orb.Point{116, 40}); !errors.Is(err, ErrOutside) {
		t.Errorf("Place error = %v, want ErrOutside", err)
	}
	ids := []int64{-1, -1}
	ix.LocateAll([]orb.Point{{116, 40}, {math.NaN(), 40}}, ids)
	if ids[0] != 0 || ids[1] != 0 {
		t.Errorf("LocateAll on an index with no households: %v, want zeros", ids)
	}
}

func TestIndexConcurrentReaders(t *testing.T) {
	grids := householdGrids(partition(20, 20, 116, 40, 0.003, 0.003, 3, 0.3, 8), 20, 3, 8)
	ix := mustIndex(t, grids)
	probes := makeProbes(grids, 5000, 8)
	want := make([]int64, len(probes))
	for i, p := range probes {
		want[i], _ = ix.Locate(p)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(probes); i += 3 {
				if got, _ := ix.Locate(probes[i]); got != want[i] {
					errs <- fmt.Sprintf("goroutine %d: Locate(%v) = %d, want %d", w, probes[i], got, want[i])
					return
				}
				_, _ = ix.Place(probes[i])
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestLocateAllocatesNothing(t *testing.T) {
	grids := householdGrids(partition(10, 10, 116, 40, 0.003, 0.003, 3, 0.3, 2), 10, 1, 2)
	ix := mustIndex(t, grids)
	probes := makeProbes(grids, 1000, 2)
	if n := testing.AllocsPerRun(10, func() {
		for _, p := range probes {
			ix.Locate(p)
		}
	}); n != 0 {
		t.Errorf("Locate allocates %v times per run", n)
	}
	ids := make([]int64, len(probes))
	if n := testing.AllocsPerRun(10, func() { ix.LocateAll(probes, ids) }); n != 0 {
		t.Errorf("LocateAll allocates %v times per run", n)
	}
	inside := probes[:0:0]
	for _, p := range probes {
		if _, ok := ix.Locate(p); ok {
			inside = append(inside, p)
		}
	}
	if n := testing.AllocsPerRun(10, func() {
		for _, p := range inside {
			_, _ = ix.Place(p)
		}
	}); n != 0 {
		t.Errorf("Place allocates %v times per run for covered points", n)
	}
}

// TestPlaceGolden places the points of testdata/points.txt in the
// grids of testdata/grids.geojson and compares with
// testdata/place.golden. Run with -update to rewrite it.
func TestPlaceGolden(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "grids.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	fc, err := geojson.UnmarshalFeatureCollection(raw)
	if err != nil {
		t.Fatal(err)
	}
	var grids []Grid
	for _, f := range fc.Features {
		g := Grid{
			ID: int64(f.Properties.MustFloat64("id")), Code: f.Properties.MustString("code"), Name: f.Properties.MustString("name"),
			Level: Level(f.Properties.MustString("level")), ParentID: int64(f.Properties.MustFloat64("parent_id", 0)),
		}
		switch geom := f.Geometry.(type) {
		case orb.Polygon:
			g.Geom = orb.MultiPolygon{geom}
		case orb.MultiPolygon:
			g.Geom = geom
		}
		grids = append(grids, g)
	}
	ix, err := New(grids, Options{NearEdgeM: 25})
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(filepath.Join("testdata", "points.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var b strings.Builder
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var p orb.Point
		if _, err := fmt.Sscan(line, &p[0], &p[1]); err != nil {
			t.Fatalf("bad line %q: %v", line, err)
		}
		pl, err := ix.Place(p)
		if err != nil {
			fmt.Fprintf(&b, "%s -> error: %v\n", line, err)
			continue
		}
		var chain []string
		for _, l := range pl.Chain {
			chain = append(chain, l.Code+" "+l.Name)
		}
		fmt.Fprintf(&b, "%s -> %s | edge %.2f m near %v\n", line, strings.Join(chain, " < "), pl.EdgeDistanceM, pl.NearEdge)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "place.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("placements differ from %s (run go test -run PlaceGolden -update to accept):\ngot:\n%s\nwant:\n%s", golden, got, want)
	}
}

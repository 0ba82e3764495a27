// Package index places points in household grids from memory: the
// placement index of whistlegrid. New builds an Index from the grids (each
// household grid's outline, and the links up to its district); Locate
// answers the household grid's ID, LocateAll a slice of points at once,
// and Place the whole chain with the distance to the grid's edge. The
// answer is exactly what PostGIS ST_Covers answers (see Index), at tens of
// nanoseconds a point.
//
// It is a pure data structure: it reads no database and keeps no state
// outside an Index, which is immutable once built. Building it from the
// grids table, swapping it in when they change, and holding it to PostGIS
// on real data is grid's work (grid.Placer, grid.Verify).
//
// # Layout
//
// A uniform grid of top cells over the household grids' extent, each
// pointing to a 32-byte record that splits it into 8×8 sub-cells with a
// 2-bit answer (one of two household grids, none, or "run the exact
// test"); cells wholly inside one grid share a record. The sub-cells a
// boundary crosses run the exact test over leaves (a cell's segments,
// evaluated with PostGIS's arithmetic) and nodes (a further 4×4 split).
// index.go has the types and the lookup, build.go the build and why it is
// exact, batch.go LocateAll. The hot arrays are made on transparent huge
// pages (internal/hugepage).
package index

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/paulmach/orb"

	"whistlegrid/geo"
)

// Level is a grid level: district, township, zone, village, household.
type Level string

// The grid levels, from the top of the hierarchy to the bottom.
const (
	LevelDistrict  Level = "district"  // 区
	LevelTownship  Level = "township"  // 街乡镇
	LevelZone      Level = "zone"      // 片
	LevelVillage   Level = "village"   // 村 / 社区
	LevelHousehold Level = "household" // 户: the household grid a point is placed in
)

// Valid reports whether l is one of the five grid levels.
func (l Level) Valid() bool { return l.height() >= 0 }

// height orders the levels: 0 for household up to 4 for district, -1 for
// an unknown level.
func (l Level) height() int {
	switch l {
	case LevelHousehold:
		return 0
	case LevelVillage:
		return 1
	case LevelZone:
		return 2
	case LevelTownship:
		return 3
	case LevelDistrict:
		return 4
	}
	return -1
}

// Grid is one grid handed to New. Only household grids need a
// geometry (WGS-84 lon/lat, SRID 4326, exactly as stored); the other levels
// are used for their links only.
type Grid struct {
	ID       int64
	Code     string
	Name     string
	Level    Level
	ParentID int64 // 0 for a district
	Geom     orb.MultiPolygon
}

// Link is one element of a placement chain.
type Link struct {
	ID    int64
	Level Level
	Code  string
	Name  string
}

// Placement is the answer for one point.
type Placement struct {
	// Chain is the household grid the point lies in, then its village,
	// zone, township and district, in that order (a level missing from the
	// data is skipped). It is shared by every placement in the same
	// household grid: do not modify it.
	Chain []Link
	// EdgeDistanceM is the distance in metres from the point to the nearest
	// edge (outer or hole boundary) of the household grid, 0 on the edge.
	EdgeDistanceM float64
	// NearEdge is EdgeDistanceM < Options.NearEdgeM: the point may
	// belong to the neighbouring grid, and a person should check.
	NearEdge bool
}

// DefaultNearEdgeM is the NearEdgeM used when Options leaves it zero:
// 30 m, about the error of a phone's GPS fix in a village street.
const DefaultNearEdgeM = 30

// Options tunes New.
type Options struct {
	// NearEdgeM is the distance in metres under which a placement is
	// flagged NearEdge. Zero means DefaultNearEdgeM; negative is an error.
	NearEdgeM float64
}

// ErrOutside is returned, wrapped with the reason, by Index.Place when the
// point is covered by no household grid.
var ErrOutside = errors.New("index: point is in no household grid")

// Index places points in household grids. It answers exactly what PostGIS
// answers to ST_Covers(geom, point) for every household grid: a point in
// the interior, on an edge or a vertex is covered, a point strictly inside
// a hole is not. It does so by mirroring, operation for operation, the
// winding-number test PostGIS runs for a polygon and a point (liblwgeom's
// point_in_ring: the float determinant
// (b.x-a.x)*(p.y-a.y) - (p.x-a.x)*(b.y-a.y), a point with determinant 0
// inside the segment's bounding box being on the boundary), evaluated
// without fused multiply-add as PostGIS is on amd64. Coordinates are
// compared as the float64 values given, with no tolerance.
//
// A point on an edge shared by several household grids is covered by all
// of them; the Index then picks the grid with the lowest Code, and among
// equal codes the lowest ID. The same rule picks among overlapping grids.
//
// An Index is immutable once built and safe for concurrent use by any
// number of goroutines.
type Index struct {
	// Household grids by rank: sorted by (Code, ID), so a lower rank wins.
	// ids is shifted by one: ids[0] is 0 (no grid), ids[r+1] the ID of rank
	// r, so that Locate needs no branch.
	ids    []int64
	chains [][]Link
	geoms  []orb.MultiPolygon
	byID   map[int64]int32

	nearEdgeM float64

	// The acceleration structure: a uniform grid of nx×ny top cells over
	// [minX, maxX]×[minY, maxY]. The entry of a top cell is the index in
	// recs of its record: the answers for a subs×subs raster of the
	// cell, and for the sub-cells the raster cannot answer, a blob entry
	// (see tag*): a leaf or a node that splits the cell fanout×fanout.
	// Cells wholly in one household grid, or in none, share one record per
	// grid. The entries and records are the hot part, about 10 MiB for a
	// Beijing-scale district, and most lookups end there after two loads
	// and no unpredictable branch, so that the loads of consecutive lookups
	// overlap. Leaves and nodes are laid out contiguously so that the rest
	// touch one or two cache lines more.
	minX, minY, maxX, maxY float64
	invSubW, invSubH       float64 // subs / top cell size
	nx, ny                 int
	entries                []uint32
	recs                   []record
	runs                   []uint32 // by record: the blob entry for code 3
	blob                   []uint64
	stats                  buildStats
}

// record answers for most points of a top cell without touching blob:
// the cell is cut into subs×subs sub-cells, and sub-cell (si, sj) has
// the 2-bit code codes[sj/4] >> (16*(sj%4) + 2*si) & 3. Every point of a
// sub-cell with code 0 or 1 is in the household grid with ID id[code]
// (none when it is 0), of a sub-cell with code 2 in none; code 3 means the
// point is decided by running the blob entry in Index.runs. A record is 32
// bytes and, the records starting on a page, lies in one cache line.
type record struct {
	codes [2]uint64
	id    [2]int64
}

// Blob entries: the top two bits say what the low 30 bits are.
const (
	tagShift     = 30
	payload      = 1<<tagShift - 1
	tagEmpty     = 0 // no household grid covers any point of the cell
	tagHousehold = 1 // one household grid (its rank) covers the whole cell
	tagLeaf      = 2 // blob offset of a leaf
	tagNode      = 3 // blob offset of a node
)

// emptyRecord is the record of the cells no household grid touches.
const emptyRecord = 0

// Fixed shape of the acceleration structure.
const (
	maxTopCells = 1 << 24 // bounds memory: 64 MiB of top entries
	fanout      = 4       // a split cell has fanout×fanout children
	subs        = 8       // a record rasters its cell subs×subs
)

// tuning sizes the acceleration structure; tests force deep trees with
// it. It never changes an answer, only speed and memory.
type tuning struct {
	cellsPerHousehold int // top cells per household grid
	maxDepth          int // splits below a top cell
	maxLeafCost       int // stored segments and events before a cell is split
}

// defaultTuning was chosen with BenchmarkLocate.
func defaultTuning() tuning {
	return tuning{cellsPerHousehold: 8, maxDepth: 5, maxLeafCost: 24}
}

// Blob layouts, in 64-bit words.
//
// Node: ox, oy, invW, invH (float64 bits), then fanout² uint32 child
// entries, two to a word, row by row from (ox, oy).
//
// Leaf: fallback+1<<32 | candidates (fallback: a household grid covering
// every point of the cell not claimed by a candidate, -1 for none), then
// each candidate in rank order: h<<32 | body length in words, then its
// rings, an exterior ring before its holes. A ring: base<<32 | n (n: rings
// of its polygon for an exterior ring, 0 for a hole), events<<32 | points,
// the events as (y, d) word pairs, the points as (x, y) word pairs. The
// ring's winding number at p is base, plus d of every event with y <= p.y
// (segments right of the cell that start or end in its rows), plus what
// the segments between consecutive points contribute by PostGIS's
// arithmetic; a NaN point separates runs of segments and, being NaN,
// contributes nothing.
const nodeWords = 4 + fanout*fanout/2

// buildStats counts what the build made, for tests and benchmarks.
type buildStats struct {
	records, subAnswered, nodes, leaves, cands, rings, points, events int
}

// New builds an Index over grids, which must hold every grid on the
// chains of the household grids. It checks that IDs are unique and
// non-zero, levels known, each parent at a higher level and each chain
// ending at a district; that every household grid has a non-empty geometry
// of closed rings of at least 4 valid lon/lat points. The build uses every
// CPU (GOMAXPROCS): two to three seconds for 75,000 household grids on two
// cores, most of it rastering the cells that several grids share.
func New(grids []Grid, opts Options) (*Index, error) {
	return newIndex(grids, opts, defaultTuning())
}

func newIndex(grids []Grid, opts Options, tune tuning) (*Index, error) {
	near := opts.NearEdgeM
	switch {
	case math.IsNaN(near) || math.IsInf(near, 0) || near < 0:
		return nil, fmt.Errorf("index: NearEdgeM %v must be a non-negative number of metres", near)
	case near == 0:
		near = DefaultNearEdgeM
	}
	byID := make(map[int64]int, len(grids))
	var households []int
	for i := range grids {
		g := &grids[i]
		if g.ID == 0 {
			return nil, fmt.Errorf("index: grid %q has ID 0, which means no parent", g.Code)
		}
		if _, dup := byID[g.ID]; dup {
			return nil, fmt.Errorf("index: duplicate grid ID %d (%q)", g.ID, g.Code)
		}
		if !g.Level.Valid() {
			return nil, fmt.Errorf("index: grid %d (%q) has unknown level %q", g.ID, g.Code, g.Level)
		}
		byID[g.ID] = i
		if g.Level == LevelHousehold {
			households = append(households, i)
		}
	}
	for i := range grids {
		g := &grids[i]
		if g.ParentID == 0 {
			if g.Level != LevelDistrict {
				return nil, fmt.Errorf("index: %s grid %d (%q) has no parent", g.Level, g.ID, g.Code)
			}
			continue
		}
		pi, ok := byID[g.ParentID]
		if !ok {
			return nil, fmt.Errorf("index: grid %d (%q) has parent %d, which is not among the grids", g.ID, g.Code, g.ParentID)
		}
		if p := &grids[pi]; p.Level.height() <= g.Level.height() {
			return nil, fmt.Errorf("index: %s grid %d (%q) has parent %d (%q) at level %s, want a higher level", g.Level, g.ID, g.Code, p.ID, p.Code, p.Level)
		}
	}
	slices.SortFunc(households, func(a, b int) int {
		return cmp.Or(cmp.Compare(grids[a].Code, grids[b].Code), cmp.Compare(grids[a].ID, grids[b].ID))
	})

	ix := &Index{
		ids:       make([]int64, len(households)+1),
		chains:    make([][]Link, len(households)),
		geoms:     make([]orb.MultiPolygon, len(households)),
		byID:      make(map[int64]int32, len(households)),
		nearEdgeM: near,
	}
	links := make([]Link, 0, 5*len(households))
	for r, gi := range households {
		g := &grids[gi]
		if err := checkGeom(g); err != nil {
			return nil, err
		}
		ix.ids[r+1] = g.ID
		ix.geoms[r] = g.Geom
		ix.byID[g.ID] = int32(r)
		start := len(links)
		for c := g; ; c = &grids[byID[c.ParentID]] {
			links = append(links, Link{ID: c.ID, Level: c.Level, Code: c.Code, Name: c.Name})
			if c.ParentID == 0 {
				break
			}
		}
		ix.chains[r] = links[start:len(links):len(links)]
	}
	if err := ix.build(tune); err != nil {
		return nil, err
	}
	return ix, nil
}

// checkGeom rejects household geometry PostGIS would not hold.
func checkGeom(g *Grid) error {
	if len(g.Geom) == 0 {
		return fmt.Errorf("index: household grid %d (%q) has no geometry", g.ID, g.Code)
	}
	for pi, poly := range g.Geom {
		if len(poly) == 0 {
			return fmt.Errorf("index: household grid %d (%q): polygon %d is empty", g.ID, g.Code, pi)
		}
		for ri, ring := range poly {
			if len(ring) < 4 {
				return fmt.Errorf("index: household grid %d (%q): polygon %d ring %d has %d points, want at least 4", g.ID, g.Code, pi, ri, len(ring))
			}
			if ring[0] != ring[len(ring)-1] {
				return fmt.Errorf("index: household grid %d (%q): polygon %d ring %d is not closed", g.ID, g.Code, pi, ri)
			}
			for _, p := range ring {
				if err := geo.ValidLonLat(p[0], p[1]); err != nil {
					return fmt.Errorf("index: household grid %d (%q): polygon %d ring %d: %w", g.ID, g.Code, pi, ri, err)
				}
			}
		}
	}
	return nil
}

// Bytes returns the memory the index holds for lookups, in bytes: hot, what
// most lookups read (the top cells' entries, the records and their blob
// entries), which must stay in the CPU caches for Locate to be fast; and
// blob, the leaves and nodes that points near a boundary read. The chains
// and outlines are not counted. For benchmarks and monitoring.
func (ix *Index) Bytes() (hot, blob int) {
	return 4*len(ix.entries) + int(unsafe.Sizeof(record{}))*len(ix.recs) + 4*len(ix.runs), 8 * len(ix.blob)
}

// Len returns the number of household grids in the index.
func (ix *Index) Len() int { return len(ix.chains) }

// Chain returns the chain of the household grid with the given ID (see
// Placement.Chain), and false if no household grid has that ID.
func (ix *Index) Chain(householdID int64) ([]Link, bool) {
	h, ok := ix.byID[householdID]
	if !ok {
		return nil, false
	}
	return ix.chains[h], true
}

// Locate returns the ID of the household grid that covers p (lon/lat,
// WGS-84), chosen by the lowest-code rule when several do, and false when
// none does or p is not finite. It is the hot path: it allocates nothing
// and most points need two loads from the records (about 35 ns over 5,000
// household grids, 80 to 150 ns over 75,000 depending on what else uses
// the CPU caches, see BenchmarkLocate).
func (ix *Index) Locate(p orb.Point) (householdID int64, ok bool) {
	id := ix.locate(p[0], p[1])
	return id, id != 0
}

// Place returns the chain of the household grid covering p (lon/lat,
// WGS-84), chosen as Locate does, with the distance in metres from p to the
// nearest edge of that grid, measured in a local equirectangular projection
// scaled at p's latitude on the WGS-84 ellipsoid (within about 0.1% of the
// geodesic distance at grid scale). A point on no household grid gives an
// error wrapping ErrOutside with the reason; an invalid lon/lat gives an
// error wrapping geo.ErrInvalidLonLat.
func (ix *Index) Place(p orb.Point) (Placement, error) {
	if err := geo.ValidLonLat(p[0], p[1]); err != nil {
		return Placement{}, fmt.Errorf("index: place: %w", err)
	}
	id := ix.locate(p[0], p[1])
	if id == 0 {
		if !(p[0] >= ix.minX && p[0] <= ix.maxX && p[1] >= ix.minY && p[1] <= ix.maxY) {
			return Placement{}, fmt.Errorf("%w: (%v, %v) lies outside the extent of all household grids", ErrOutside, p[0], p[1])
		}
		return Placement{}, fmt.Errorf("%w: (%v, %v) lies in a gap or hole between household grids", ErrOutside, p[0], p[1])
	}
	h := ix.byID[id]
	d := edgeDistance(ix.geoms[h], p)
	return Placement{Chain: ix.chains[h], EdgeDistanceM: d, NearEdge: d < ix.nearEdgeM}, nil
}

// edgeDistance is the distance in metres from p to the nearest segment of
// mp, in the local equirectangular projection at p's latitude.
func edgeDistance(mp orb.MultiPolygon, p orb.Point) float64 {
	kx, ky := geo.LocalScale(p[1])
	best := math.Inf(1)
	for _, poly := range mp {
		for _, ring := range poly {
			for i := 1; i < len(ring); i++ {
				ax, ay := (ring[i-1][0]-p[0])*kx, (ring[i-1][1]-p[1])*ky
				bx, by := (ring[i][0]-p[0])*kx, (ring[i][1]-p[1])*ky
				if d := originSegDist2(ax, ay, bx, by); d < best {
					best = d
				}
			}
		}
	}
	return math.Sqrt(best)
}

// originSegDist2 is the squared distance from the origin to segment ab.
func originSegDist2(ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	l2 := dx*dx + dy*dy
	t := 0.0
	if l2 > 0 {
		t = math.Max(0, math.Min(1, -(ax*dx+ay*dy)/l2))
	}
	x, y := ax+t*dx, ay+t*dy
	return x*x + y*y
}

// locate returns the ID of the household grid covering (x, y), or 0. Its
// only unpredictable branch is the one to run, so that the loads of
// consecutive lookups overlap.
func (ix *Index) locate(x, y float64) int64 {
	if !(x >= ix.minX && x <= ix.maxX && y >= ix.minY && y <= ix.maxY) {
		return 0 // also rejects NaN
	}
	// The sub-cell column and row, whose high bits are the top cell's.
	u := uint(min(int((x-ix.minX)*ix.invSubW), ix.nx*subs-1))
	v := uint(min(int((y-ix.minY)*ix.invSubH), ix.ny*subs-1))
	k := ix.entries[v/subs*uint(ix.nx)+u/subs]
	r := &ix.recs[k]
	si, sj := u%subs, v%subs
	code := r.codes[sj/4] >> (16*(sj%4) + 2*si) & 3
	if code == 3 {
		return ix.ids[ix.run(ix.runs[k], x, y)+1]
	}
	return r.id[code&1] & -int64(code>>1^1) // code 2: none
}

// run runs blob entry e for (x, y) and returns the rank of the household
// grid covering it, or -1.
func (ix *Index) run(e uint32, x, y float64) int32 {
	for {
		switch e >> tagShift {
		case tagHousehold:
			return int32(e & payload)
		case tagLeaf:
			return ix.evalLeaf(e&payload, x, y)
		case tagNode:
			o := int(e & payload)
			nd := ix.blob[o : o+nodeWords : o+nodeWords]
			ci := int((x - math.Float64frombits(nd[0])) * math.Float64frombits(nd[2]))
			ci = max(0, min(fanout-1, ci))
			cj := int((y - math.Float64frombits(nd[1])) * math.Float64frombits(nd[3]))
			cj = max(0, min(fanout-1, cj))
			k := cj*fanout + ci
			e = uint32(nd[4+k/2] >> (32 * (k & 1)))
		default:
			return -1
		}
	}
}

// evalLeaf runs the leaf at blob offset o.
func (ix *Index) evalLeaf(o uint32, x, y float64) int32 {
	b := ix.blob
	hdr := b[o]
	p := int(o) + 1
	for range uint32(hdr) {
		c := b[p]
		end := p + 1 + int(uint32(c))
		if ix.candCovers(b, p+1, end, x, y) {
			return int32(c >> 32)
		}
		p = end
	}
	return int32(hdr>>32) - 1
}

// candCovers mirrors PostGIS's point_in_multipolygon over the rings in
// b[p:end]: covered when some polygon has the point on its exterior ring,
// or inside it and, at the first hole that does not leave the point
// outside, on that hole's ring.
func (ix *Index) candCovers(b []uint64, p, end int, x, y float64) bool {
	for p < end {
		n := int(uint32(b[p]))
		r, next := ringSide(b, p, x, y)
		p = next
		k := 1
		switch r {
		case 0:
			return true
		case 1:
			covered := true
			for ; k < n; k++ {
				h, next := ringSide(b, p, x, y)
				p = next
				if h == 0 {
					return true
				}
				if h == 1 {
					covered = false
					k++
					break
				}
			}
			if covered {
				return true
			}
		}
		for ; k < n; k++ {
			p = skipRing(b, p)
		}
	}
	return false
}

// skipRing returns the offset after the ring at p.
func skipRing(b []uint64, p int) int {
	h := b[p+1]
	return p + 2 + 2*int(h>>32) + 2*int(uint32(h))
}

// ringSide mirrors PostGIS's point_in_ring for the ring at b[p]: 1
// inside, 0 on the ring, -1 outside. It also returns the offset after the
// ring.
func ringSide(b []uint64, p int, x, y float64) (int, int) {
	wn := int32(b[p] >> 32)
	h := b[p+1]
	q := p + 2
	for evEnd := q + 2*int(h>>32); q < evEnd; q += 2 {
		if math.Float64frombits(b[q]) <= y {
			wn += int32(b[q+1])
		}
	}
	end := q + 2*int(uint32(h))
	pts := b[q:end]
	if len(pts) >= 4 {
		ax, ay := math.Float64frombits(pts[0]), math.Float64frombits(pts[1])
		for i := 2; i+1 < len(pts); i += 2 {
			bx, by := math.Float64frombits(pts[i]), math.Float64frombits(pts[i+1])
			side := determineSide(ax, ay, bx, by, x, y)
			if side == 0 && inSegmentBox(ax, ay, bx, by, x, y) {
				return 0, end
			}
			if ay <= y && y < by && side > 0 {
				wn++
			} else if by <= y && y < ay && side < 0 {
				wn--
			}
			ax, ay = bx, by
		}
	}
	if wn == 0 {
		return -1, end
	}
	return 1, end
}

// determineSide is liblwgeom's determineSide: > 0 when (x, y) is left of a→b,
// < 0 right, 0 on the line. The conversions forbid fusing into FMA, so
// every product is rounded as PostGIS rounds it.
func determineSide(ax, ay, bx, by, x, y float64) float64 {
	return float64((bx-ax)*(y-ay)) - float64((x-ax)*(by-ay))
}

// inSegmentBox is liblwgeom's isOnSegment: (x, y) is inside the segment's
// bounding box, edges included.
func inSegmentBox(ax, ay, bx, by, x, y float64) bool {
	return x >= min(ax, bx) && x <= max(ax, bx) && y >= min(ay, by) && y <= max(ay, by)
}

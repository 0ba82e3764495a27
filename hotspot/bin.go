package hotspot

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/uber/h3-go/v4"

	"whistlegrid/geo"
)

// Point is one clue as the hotspot analysis sees it: where it is (Lon and
// Lat in degrees, WGS-84, SRID 4326, lon/lat order) and when it was
// reported. Filtering by category, source, township and time window is
// the caller's job; every point given is counted.
type Point struct {
	Lon, Lat float64
	At       time.Time
}

// Bin counts points per H3 cell at resolution res (1..15; DefaultResolution
// is 9, cells of about 0.1 km²). It uses every core and finds cells in Go,
// asking h3-go a handful of times per run rather than once per point (see
// locate.go); the cells are exactly h3-go's LatLngToCell. A point with a
// non-finite or out-of-range coordinate is an error naming its index.
func Bin(points []Point, res int) (map[h3.Cell]int, error) {
	if err := checkResolution(res); err != nil {
		return nil, err
	}
	b, err := binPoints(points, res, 1, nil, 0)
	if err != nil {
		return nil, err
	}
	out := make(map[h3.Cell]int, len(b.cells))
	for i, c := range b.cells {
		out[c] = int(b.counts[i])
	}
	return out, nil
}

func checkResolution(res int) error {
	if res < 1 || res > h3.MaxResolution {
		return fmt.Errorf("hotspot: resolution %d is outside 1..%d", res, h3.MaxResolution)
	}
	return nil
}

// binned holds points counted per cell and time slice: counts[i*slices+s]
// is the number of points of slice s in cells[i]. cells is sorted.
type binned struct {
	cells   []h3.Cell
	counts  []int32
	slices  int
	points  int // points counted
	skipped int // points whose slice function returned -1
	h3Calls int // calls to h3-go's LatLngToCell
}

// binPart is one worker's share of a binning run.
type binPart struct {
	ids     keyTable
	keys    []uint64
	first   []int32 // index of the first point with each key
	counts  []int32
	skipped int
	h3Calls int
	bad     int // index of the first invalid point, or -1
}

// binPoints counts points per cell and slice. slice maps a point index to
// its slice in [0, ns) or -1 to skip the point; nil puts every point
// in slice 0. workers <= 0 means runtime.GOMAXPROCS(0).
func binPoints(points []Point, res, ns int, slice func(int) int, workers int) (*binned, error) {
	if len(points) > math.MaxInt32 {
		return nil, fmt.Errorf("hotspot: %d points is more than one run can bin (%d)", len(points), math.MaxInt32)
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, len(points)/4096))
	loc := newLocator(res)
	parts := make([]binPart, workers)
	var wg sync.WaitGroup
	for w := range parts {
		lo, hi := w*len(points)/workers, (w+1)*len(points)/workers
		wg.Go(func() { parts[w] = binRange(points, lo, hi, loc, ns, slice) })
	}
	wg.Wait()

	b := &binned{slices: ns}
	for _, p := range parts {
		if p.bad >= 0 {
			q := points[p.bad]
			return nil, fmt.Errorf("hotspot: point %d: %w", p.bad, geo.ValidLonLat(q.Lon, q.Lat))
		}
		b.skipped += p.skipped
		b.h3Calls += p.h3Calls
	}

	// Merge the workers' keys; a key keeps the first point that produced it.
	ids := make(map[uint64]int32, len(parts[0].keys))
	var keys []uint64
	var first []int32
	var counts []int32
	zeros := make([]int32, ns)
	for _, p := range parts {
		for li, k := range p.keys {
			id, ok := ids[k]
			if !ok {
				id = int32(len(keys))
				ids[k] = id
				keys = append(keys, k)
				first = append(first, p.first[li])
				counts = append(counts, zeros...)
			}
			dst := counts[int(id)*ns : int(id+1)*ns]
			for s, n := range p.counts[li*ns : (li+1)*ns] {
				dst[s] += n
			}
		}
	}

	// Resolve lattice keys to cells (see resolveKeys).
	cellOfKey, calls := resolveKeys(keys, first, points, res)
	b.h3Calls += calls

	// Several keys can name one cell (a cell reached from two faces, or a
	// point left to h3-go in a cell whose other points were rounded).
	byCell := make(map[h3.Cell]int32, len(keys))
	for _, c := range cellOfKey {
		if _, ok := byCell[c]; !ok {
			byCell[c] = 0
			b.cells = append(b.cells, c)
		}
	}
	slices.Sort(b.cells)
	for i, c := range b.cells {
		byCell[c] = int32(i)
	}
	b.counts = make([]int32, len(b.cells)*ns)
	for i, c := range cellOfKey {
		ci := int(byCell[c])
		dst := b.counts[ci*ns : (ci+1)*ns]
		for s, n := range counts[i*ns : (i+1)*ns] {
			dst[s] += n
			b.points += int(n)
		}
	}
	return b, nil
}

// binRange is one worker's loop over points[lo:hi].
func binRange(points []Point, lo, hi int, loc locator, ns int, slice func(int) int) binPart {
	p := binPart{ids: newKeyTable(1 << 12), bad: -1}
	zeros := make([]int32, ns)
	for i := lo; i < hi; i++ {
		q := &points[i]
		// Written so that NaN fails too.
		if !(q.Lon >= -180 && q.Lon <= 180 && q.Lat >= -90 && q.Lat <= 90) {
			p.bad = i
			return p
		}
		s := 0
		if slice != nil {
			if s = slice(i); s < 0 {
				p.skipped++
				continue
			}
		}
		k, ok := loc.key(q.Lon, q.Lat)
		if !ok {
			k = uint64(cellOf(q.Lon, q.Lat, loc.res))
			p.h3Calls++
		}
		id, seen := p.ids.find(k)
		if !seen {
			id = int32(len(p.keys))
			p.ids.insert(k, id)
			p.keys = append(p.keys, k)
			p.first = append(p.first, int32(i))
			p.counts = append(p.counts, zeros...)
		}
		p.counts[int(id)*ns+s]++
	}
	return p
}

// keyTable maps keys to ids by open addressing with linear probing: the
// per-point lookup of binning, where it is twice as fast as a Go map. Key
// 0 marks an empty slot; no lattice key or H3 index is 0.
type keyTable struct {
	keys  []uint64
	ids   []int32
	shift uint
	n     int
}

func newKeyTable(size int) keyTable {
	bits := uint(1)
	for 1<<bits < size {
		bits++
	}
	return keyTable{keys: make([]uint64, 1<<bits), ids: make([]int32, 1<<bits), shift: 64 - bits}
}

func (t *keyTable) slot(k uint64) uint64 { return (k * 0x9E3779B97F4A7C15) >> t.shift }

func (t *keyTable) find(k uint64) (int32, bool) {
	mask := uint64(len(t.keys) - 1)
	for i := t.slot(k); ; i = (i + 1) & mask {
		switch t.keys[i] {
		case k:
			return t.ids[i], true
		case 0:
			return 0, false
		}
	}
}

// insert adds a key that is not in the table, growing it past half full.
func (t *keyTable) insert(k uint64, id int32) {
	if 2*(t.n+1) > len(t.keys) {
		old := *t
		*t = newKeyTable(2 * len(old.keys))
		for i, ok := range old.keys {
			if ok != 0 {
				t.insert(ok, old.ids[i])
			}
		}
	}
	mask := uint64(len(t.keys) - 1)
	i := t.slot(k)
	for t.keys[i] != 0 {
		i = (i + 1) & mask
	}
	t.keys[i], t.ids[i] = k, id
	t.n++
}

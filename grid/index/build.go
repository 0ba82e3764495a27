package index

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/paulmach/orb"

	"whistlegrid/internal/hugepage"
)

// How the build stays exact.
//
// A household grid's answer at a point p depends on the signs PostGIS's
// float determinant gives for the segments whose y-range holds p.y. For a
// segment that stays at least delta away from a cell (delta = 1e-9 degrees,
// about 0.1 mm, four orders of magnitude above the rounding error of the
// determinant and of the cell lookup), that sign is the exact one and the
// same for every point of the cell: the segment is left or right of the
// whole cell. Such a segment's share of the winding number therefore only
// depends on p.y, through the two comparisons lo <= p.y < hi PostGIS
// makes, and is folded into a base count plus, rarely, "events" at the
// y-values where a segment right of the cell starts or ends. Only the
// segments passing within delta of a cell are stored with it and evaluated
// per point with PostGIS's arithmetic. A grid none of whose segments come
// near a cell covers all of it or none of it, decided once at build time.

type bounds struct{ x0, y0, x1, y1 float64 }

type segment struct{ ax, ay, bx, by float64 }

type event struct {
	y float64
	d int32
}

func (r bounds) grow(d float64) bounds { return bounds{r.x0 - d, r.y0 - d, r.x1 + d, r.y1 + d} }

// builder holds the household geometry flattened for the build.
type builder struct {
	segs    []segment   // every segment of non-zero length, ring by ring
	ringSeg []int32     // ring r's segments are segs[ringSeg[r]:ringSeg[r+1]]
	ringN   []int32     // rings of the polygon for an exterior ring, 0 for a hole
	house   []household // by rank

	ids        []int64 // Index.ids
	tune       tuning
	delta      float64
	ox, oy     float64 // origin of the top grid
	cw, ch     float64 // top cell size
	nx, ny     int
	cellStart  []int32 // the households near top cell c are cellH[cellStart[c]:cellStart[c+1]], by rank
	cellH      []int32
	topEntries []uint32
}

// household is one household grid: its rings, bounding box and, for each top
// row its box spans, the segments whose y-range comes near that row.
type household struct {
	ringFirst, ringEnd int32
	box                bounds
	row0               int
	bandOff            []int32 // row row0+k: band[bandOff[k]:bandOff[k+1]]
	band               []int32
}

// Scratch programs: a candidate's rings restricted to a cell, kept in
// per-worker arenas while a top cell and its children are built.
type scratchRing struct {
	base           int32
	n              int32
	first, end     int32 // scratch.ids
	evFirst, evEnd int32 // scratch.evs
}

type scratchCand struct{ h, first, end int32 } // rings in scratch.rings

type scratch struct {
	rings []scratchRing
	ids   []int32
	evs   []event
	cands []scratchCand
}

func (w *scratch) reset() {
	w.rings, w.ids, w.evs, w.cands = w.rings[:0], w.ids[:0], w.evs[:0], w.cands[:0]
}

type scratchMark struct{ rings, ids, evs int }

func (w *scratch) mark() scratchMark { return scratchMark{len(w.rings), len(w.ids), len(w.evs)} }

func (w *scratch) undo(m scratchMark) {
	w.rings, w.ids, w.evs = w.rings[:m.rings], w.ids[:m.ids], w.evs[:m.evs]
}

// chunk is what one chunk of top rows builds: its part of the blob, with
// offsets local to it, and where its nodes are (their child entries hold
// offsets too).
type chunk struct {
	blob   []uint64
	nodeAt []int
	recs   []record
	runs   []uint32
	stats  buildStats
}

// Results of refining a candidate to a cell.
const (
	refineOutside = iota // covers no point of the cell
	refineCovered        // covers every point of the cell
	refineProgram        // depends on the point: a program was appended
)

// Segment classes relative to a cell.
const (
	segNone  = iota // contributes nothing to any point of the cell
	segRight        // wholly right of the cell where it meets the cell's rows
	segLocal        // passes near the cell: evaluated per point
)

// parallel runs fn(w, i) for i in [0, n) on at most workers goroutines,
// w being the goroutine's number.
func parallel(workers, n int, fn func(w, i int)) {
	workers = max(1, min(workers, n))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(w, i)
			}
		}()
	}
	wg.Wait()
}

// build fills the acceleration structure of ix from ix.geoms.
func (ix *Index) build(tune tuning) error {
	b := flatten(ix.geoms)
	b.tune, b.ids = tune, ix.ids
	if len(ix.geoms) == 0 {
		ix.minX, ix.minY, ix.maxX, ix.maxY = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		return nil
	}
	b.layout(len(ix.geoms))
	ix.minX, ix.minY = b.ox, b.oy
	ix.maxX, ix.maxY = b.ox+b.cw*float64(b.nx), b.oy+b.ch*float64(b.ny)
	ix.invSubW, ix.invSubH = subs/b.cw, subs/b.ch
	ix.nx, ix.ny = b.nx, b.ny

	workers := runtime.GOMAXPROCS(0)
	parallel(workers, len(b.house), func(_, h int) { b.bands(h) })
	b.cells()

	rowsPerChunk := max(1, b.ny/(8*workers))
	nChunks := (b.ny + rowsPerChunk - 1) / rowsPerChunk
	chunks := make([]chunk, nChunks)
	arenas := make([]scratch, workers)
	b.topEntries = hugepage.Make[uint32](b.nx*b.ny, b.nx*b.ny)
	parallel(workers, nChunks, func(w, c int) {
		for j := c * rowsPerChunk; j < min(b.ny, (c+1)*rowsPerChunk); j++ {
			for i := range b.nx {
				b.topEntries[j*b.nx+i] = b.topCell(&arenas[w], &chunks[c], i, j)
			}
		}
	})
	return ix.merge(b, chunks, rowsPerChunk)
}

// flatten copies the household rings into flat arrays, dropping
// zero-length segments as PostGIS ignores them.
func flatten(geoms []orb.MultiPolygon) *builder {
	b := &builder{house: make([]household, len(geoms))}
	for h, mp := range geoms {
		hs := &b.house[h]
		hs.ringFirst = int32(len(b.ringN))
		hs.box = bounds{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
		for _, poly := range mp {
			for ri, ring := range poly {
				if ri == 0 {
					b.ringN = append(b.ringN, int32(len(poly)))
				} else {
					b.ringN = append(b.ringN, 0)
				}
				b.ringSeg = append(b.ringSeg, int32(len(b.segs)))
				for k, p := range ring {
					hs.box.x0, hs.box.y0 = min(hs.box.x0, p[0]), min(hs.box.y0, p[1])
					hs.box.x1, hs.box.y1 = max(hs.box.x1, p[0]), max(hs.box.y1, p[1])
					if k > 0 && ring[k-1] != p {
						b.segs = append(b.segs, segment{ring[k-1][0], ring[k-1][1], p[0], p[1]})
					}
				}
			}
		}
		hs.ringEnd = int32(len(b.ringN))
	}
	b.ringSeg = append(b.ringSeg, int32(len(b.segs)))
	return b
}

// layout chooses delta and the top grid: about tune.cellsPerHousehold cells
// per household grid over the households' extent grown by 4·delta.
func (b *builder) layout(n int) {
	all := bounds{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, hs := range b.house {
		all.x0, all.y0 = min(all.x0, hs.box.x0), min(all.y0, hs.box.y0)
		all.x1, all.y1 = max(all.x1, hs.box.x1), max(all.y1, hs.box.y1)
	}
	scale := max(math.Abs(all.x0), math.Abs(all.y0), math.Abs(all.x1), math.Abs(all.y1))
	b.delta = 1e-9 * max(1, scale/100)
	all = all.grow(4 * b.delta)
	w, h := all.x1-all.x0, all.y1-all.y0
	target := float64(min(maxTopCells, max(1, b.tune.cellsPerHousehold*n)))
	size := math.Sqrt(w * h / target)
	b.nx = int(min(4096*4, max(1, math.Ceil(w/size))))
	b.ny = int(min(4096*4, max(1, math.Ceil(h/size))))
	for b.nx*b.ny > maxTopCells {
		b.nx, b.ny = max(1, b.nx/2), max(1, b.ny/2)
	}
	b.ox, b.oy = all.x0, all.y0
	b.cw, b.ch = w/float64(b.nx), h/float64(b.ny)
}

func (b *builder) col(x float64) int {
	return max(0, min(b.nx-1, int(math.Floor((x-b.ox)/b.cw))))
}

func (b *builder) row(y float64) int {
	return max(0, min(b.ny-1, int(math.Floor((y-b.oy)/b.ch))))
}

// bands lists, for every top row household h's box spans, the segments of
// h whose y-range comes within 2·delta of the row. A segment left out
// cannot touch a point of the row nor count in its winding number.
func (b *builder) bands(h int) {
	hs := &b.house[h]
	m := 2 * b.delta
	hs.row0 = b.row(hs.box.y0 - m)
	rows := b.row(hs.box.y1+m) - hs.row0 + 1
	hs.bandOff = make([]int32, rows+1)
	first, end := b.ringSeg[hs.ringFirst], b.ringSeg[hs.ringEnd]
	for _, s := range b.segs[first:end] {
		for r := b.row(min(s.ay, s.by) - m); r <= b.row(max(s.ay, s.by)+m); r++ {
			hs.bandOff[r-hs.row0+1]++
		}
	}
	for k := 1; k <= rows; k++ {
		hs.bandOff[k] += hs.bandOff[k-1]
	}
	hs.band = make([]int32, hs.bandOff[rows])
	fill := slices.Clone(hs.bandOff[:rows])
	for id := first; id < end; id++ {
		s := &b.segs[id]
		for r := b.row(min(s.ay, s.by) - m); r <= b.row(max(s.ay, s.by)+m); r++ {
			hs.band[fill[r-hs.row0]] = id
			fill[r-hs.row0]++
		}
	}
}

// cells lists, for every top cell, the household grids whose box comes
// within 2·delta of it, by rank.
func (b *builder) cells() {
	m := 2 * b.delta
	b.cellStart = make([]int32, b.nx*b.ny+1)
	each := func(fn func(c int32, h int)) {
		for h := range b.house {
			box := b.house[h].box
			c0, c1 := b.col(box.x0-m), b.col(box.x1+m)
			for r := b.row(box.y0 - m); r <= b.row(box.y1+m); r++ {
				for c := c0; c <= c1; c++ {
					fn(int32(r*b.nx+c), h)
				}
			}
		}
	}
	each(func(c int32, _ int) { b.cellStart[c+1]++ })
	for c := 1; c < len(b.cellStart); c++ {
		b.cellStart[c] += b.cellStart[c-1]
	}
	b.cellH = make([]int32, b.cellStart[len(b.cellStart)-1])
	fill := slices.Clone(b.cellStart[:len(b.cellStart)-1])
	each(func(c int32, h int) {
		b.cellH[fill[c]] = int32(h)
		fill[c]++
	})
}

// topCell builds top cell (i, j) and returns its entry, with indices local
// to chunk out.
func (b *builder) topCell(w *scratch, out *chunk, i, j int) uint32 {
	rect := bounds{
		b.ox + float64(i)*b.cw, b.oy + float64(j)*b.ch,
		b.ox + float64(i+1)*b.cw, b.oy + float64(j+1)*b.ch,
	}
	c := j*b.nx + i
	w.reset()
	fallback := int32(-1)
	for _, h := range b.cellH[b.cellStart[c]:b.cellStart[c+1]] {
		hs := &b.house[h]
		k := j - hs.row0
		band := hs.band[hs.bandOff[k]:hs.bandOff[k+1]]
		if len(band) == 0 {
			continue // no segment near the row: the grid is outside it
		}
		in := scratchCand{h: h, first: int32(len(w.rings))}
		p := 0
		for r := hs.ringFirst; r < hs.ringEnd; r++ {
			sr := scratchRing{n: b.ringN[r], first: int32(len(w.ids)), evFirst: int32(len(w.evs)), evEnd: int32(len(w.evs))}
			for end := b.ringSeg[r+1]; p < len(band) && band[p] < end; p++ {
				w.ids = append(w.ids, band[p])
			}
			sr.end = int32(len(w.ids))
			w.rings = append(w.rings, sr)
		}
		in.end = int32(len(w.rings))
		if b.refine(w, in, rect, false) == refineCovered {
			fallback = h
			break
		}
	}
	if len(w.cands) == 0 {
		return b.finish(w, out, 0, 0, fallback, rect, 0) // merge makes it a shared record
	}
	return b.record(w, out, fallback, rect)
}

// record builds the record of a top cell shared by the candidates w.cands
// (in rank order, all ranked before fallback) and returns its entry.
func (b *builder) record(w *scratch, out *chunk, fallback int32, rect bounds) uint32 {
	var ans [subs * subs]int32
	b.raster(w, 0, len(w.cands), fallback, rect, 0, 0, subs, &ans)
	// No grid has code 2, the two grids answering most sub-cells codes 0
	// and 1; the other sub-cells run the entry.
	type count struct{ h, n int32 }
	var counts []count
	for _, h := range ans {
		if h < 0 {
			continue // none or undecided
		}
		k := slices.IndexFunc(counts, func(c count) bool { return c.h == h })
		if k < 0 {
			counts = append(counts, count{h, 0})
			k = len(counts) - 1
		}
		counts[k].n++
	}
	slices.SortStableFunc(counts, func(a, b count) int { return cmp.Compare(b.n, a.n) })
	counts = counts[:min(2, len(counts))]
	var r record
	run := false
	for k, h := range ans {
		code := uint64(3)
		if h == -1 {
			code = 2
		}
		for c, ct := range counts {
			if ct.h == h {
				code = uint64(c)
			}
		}
		if code == 3 {
			run = true
		} else {
			out.stats.subAnswered++
		}
		si, sj := k%subs, k/subs
		r.codes[sj/4] |= code << (16*(sj%4) + 2*si)
	}
	for c, ct := range counts {
		r.id[c] = b.ids[ct.h+1]
	}
	entry := uint32(tagEmpty << tagShift)
	if run {
		entry = b.finish(w, out, 0, len(w.cands), fallback, rect, 0)
	}
	out.stats.records++
	out.recs = append(out.recs, r)
	out.runs = append(out.runs, entry)
	return tagRecord | uint32(len(out.recs)-1)
}

// tagRecord marks a chunk's top entry that is the index of a record in
// the chunk; the others are blob entries, empty or one household, that
// merge turns into shared records.
const tagRecord = 1 << 31

// undecided marks a sub-cell whose points are not all answered alike.
const undecided = -2

// raster fills ans for the n×n sub-cells from (si, sj) of a record, rect
// being their union, with the rank of the household grid covering every
// point of a sub-cell, -1 for none, or undecided. The candidates
// w.cands[cf:ce] are in rank order, all ranked before fallback.
func (b *builder) raster(w *scratch, cf, ce int, fallback int32, rect bounds, si, sj, n int, ans *[subs * subs]int32) {
	if cf == ce || n == 1 {
		h := fallback
		if cf < ce {
			h = undecided
		}
		for j := sj; j < sj+n; j++ {
			for i := si; i < si+n; i++ {
				ans[j*subs+i] = h
			}
		}
		return
	}
	cw, ch := (rect.x1-rect.x0)/2, (rect.y1-rect.y0)/2
	for cj := range 2 {
		for ci := range 2 {
			child := bounds{
				rect.x0 + float64(ci)*cw, rect.y0 + float64(cj)*ch,
				rect.x0 + float64(ci+1)*cw, rect.y0 + float64(cj+1)*ch,
			}
			si, sj := si+ci*n/2, sj+cj*n/2
			if n == 2 {
				// A single sub-cell: its answer needs no programs.
				h := fallback
				for k := cf; k < ce; k++ {
					if r := b.refine(w, w.cands[k], child, true); r != refineOutside {
						h = w.cands[k].h
						if r == refineProgram {
							h = undecided
						}
						break
					}
				}
				ans[sj*subs+si] = h
				continue
			}
			m, mc, childFallback := b.refineInto(w, cf, ce, child, fallback)
			b.raster(w, mc, len(w.cands), childFallback, child, si, sj, n/2, ans)
			w.cands = w.cands[:mc]
			w.undo(m)
		}
	}
}

// refineInto refines the candidates w.cands[cf:ce] to child, appending
// the ones that reach into it to w.cands from mc on, and returns the mark
// to undo it with and child's fallback: the first candidate that covers
// child wholly (the rest are not refined), else fallback.
func (b *builder) refineInto(w *scratch, cf, ce int, child bounds, fallback int32) (m scratchMark, mc int, childFallback int32) {
	m, mc, childFallback = w.mark(), len(w.cands), fallback
	for k := cf; k < ce; k++ {
		if b.refine(w, w.cands[k], child, false) == refineCovered {
			return m, mc, w.cands[k].h
		}
	}
	return m, mc, childFallback
}

// finish turns the candidates w.cands[cf:ce] (in rank order, all ranked
// before fallback) of cell rect into an entry: empty, one household grid,
// a leaf, or a node whose children are refined from these candidates.
func (b *builder) finish(w *scratch, out *chunk, cf, ce int, fallback int32, rect bounds, depth int) uint32 {
	if cf == ce {
		if fallback < 0 {
			return tagEmpty << tagShift
		}
		return tagHousehold<<tagShift | uint32(fallback)
	}
	cost := 0
	for _, sc := range w.cands[cf:ce] {
		for _, r := range w.rings[sc.first:sc.end] {
			cost += int(r.end-r.first) + int(r.evEnd-r.evFirst)
		}
	}
	cw, ch := (rect.x1-rect.x0)/fanout, (rect.y1-rect.y0)/fanout
	if cost > b.tune.maxLeafCost && depth < b.tune.maxDepth && min(cw, ch) > 1000*b.delta {
		o := len(out.blob)
		out.nodeAt = append(out.nodeAt, o)
		out.stats.nodes++
		out.blob = append(out.blob, math.Float64bits(rect.x0), math.Float64bits(rect.y0), math.Float64bits(1/cw), math.Float64bits(1/ch))
		out.blob = append(out.blob, make([]uint64, nodeWords-4)...)
		for cj := range fanout {
			for ci := range fanout {
				child := bounds{
					rect.x0 + float64(ci)*cw, rect.y0 + float64(cj)*ch,
					rect.x0 + float64(ci+1)*cw, rect.y0 + float64(cj+1)*ch,
				}
				m, mc, childFallback := b.refineInto(w, cf, ce, child, fallback)
				e := b.finish(w, out, mc, len(w.cands), childFallback, child, depth+1)
				k := cj*fanout + ci
				out.blob[o+4+k/2] |= uint64(e) << (32 * (k & 1))
				w.cands = w.cands[:mc]
				w.undo(m)
			}
		}
		return tagNode<<tagShift | uint32(o)
	}
	o := len(out.blob)
	out.stats.leaves++
	out.blob = append(out.blob, uint64(uint32(fallback+1))<<32|uint64(ce-cf))
	for _, sc := range w.cands[cf:ce] {
		out.stats.cands++
		c := len(out.blob)
		out.blob = append(out.blob, uint64(uint32(sc.h))<<32)
		for _, sr := range w.rings[sc.first:sc.end] {
			out.stats.rings++
			r := len(out.blob)
			out.blob = append(out.blob, uint64(uint32(sr.base))<<32|uint64(uint32(sr.n)), 0)
			for _, ev := range w.evs[sr.evFirst:sr.evEnd] {
				out.blob = append(out.blob, math.Float64bits(ev.y), uint64(int64(ev.d)))
			}
			pts := len(out.blob)
			for k, id := range w.ids[sr.first:sr.end] {
				s := &b.segs[id]
				if k > 0 {
					if prev := &b.segs[w.ids[int(sr.first)+k-1]]; prev.bx != s.ax || prev.by != s.ay {
						nan := math.Float64bits(math.NaN())
						out.blob = append(out.blob, nan, nan)
						out.blob = append(out.blob, math.Float64bits(s.ax), math.Float64bits(s.ay))
					}
				} else {
					out.blob = append(out.blob, math.Float64bits(s.ax), math.Float64bits(s.ay))
				}
				out.blob = append(out.blob, math.Float64bits(s.bx), math.Float64bits(s.by))
			}
			nev, npts := int(sr.evEnd-sr.evFirst), (len(out.blob)-pts)/2
			out.stats.events += nev
			out.stats.points += npts
			out.blob[r+1] = uint64(nev)<<32 | uint64(npts)
		}
		out.blob[c] |= uint64(len(out.blob) - c - 1)
	}
	return tagLeaf<<tagShift | uint32(o)
}

// refine restricts candidate in (a program valid on a cell containing rect)
// to rect. It mirrors PostGIS's polygon logic: a polygon whose exterior
// ring is outside is dropped; a polygon inside its exterior ring and whose
// holes all leave the point outside covers; a hole leaving the point
// outside is dropped; a hole surely containing the point ends the list.
// With dry set it only says what it would do, appending nothing.
func (b *builder) refine(w *scratch, in scratchCand, rect bounds, dry bool) int {
	e := rect.grow(b.delta)
	cx := (rect.x0 + rect.x1) / 2
	start := w.mark()
	kept := false
	for i := in.first; i < in.end; {
		n := w.rings[i].n
		poly := w.mark()
		ext := b.refineRing(w, i, e, cx, dry)
		if ext < 0 {
			w.undo(poly)
			i += n
			continue
		}
		nk, firstHole := int32(1), 0
		for k := i + 1; k < i+n; k++ {
			hole := w.mark()
			r := b.refineRing(w, k, e, cx, dry)
			if r < 0 {
				w.undo(hole)
				continue
			}
			nk++
			if nk == 2 {
				firstHole = r
			}
			if r == 1 {
				break
			}
		}
		if ext == 1 && nk == 1 {
			w.undo(start)
			return refineCovered
		}
		if ext == 1 && firstHole == 1 {
			w.undo(poly)
			i += n
			continue
		}
		if !dry {
			w.rings[poly.rings].n = nk
		}
		kept = true
		i += n
	}
	if !kept || dry {
		w.undo(start)
		if kept {
			return refineProgram
		}
		return refineOutside
	}
	w.cands = append(w.cands, scratchCand{h: in.h, first: int32(start.rings), end: int32(len(w.rings))})
	return refineProgram
}

// refineRing restricts scratch ring k to the cell e (grown by delta) and
// appends the result. It returns 1 or -1 when the ring surely holds, or
// surely does not hold, every point of the cell, and 2 when the answer
// depends on the point. With dry set it appends nothing and returns 2 at
// the first segment that passes near the cell.
func (b *builder) refineRing(w *scratch, k int32, e bounds, cx float64, dry bool) int {
	in := w.rings[k]
	out := scratchRing{base: in.base, n: in.n, first: int32(len(w.ids)), evFirst: int32(len(w.evs))}
	addEvent := func(y float64, d int32) {
		switch {
		case y <= e.y0:
			out.base += d // every point of the cell has p.y > y
		case y <= e.y1:
			w.evs = append(w.evs, event{y, d})
		}
	}
	for q := in.evFirst; q < in.evEnd; q++ {
		addEvent(w.evs[q].y, w.evs[q].d)
	}
	for q := in.first; q < in.end; q++ {
		id := w.ids[q]
		s := &b.segs[id]
		switch b.classify(s, e, cx) {
		case segLocal:
			if dry {
				w.evs = w.evs[:out.evFirst]
				return 2
			}
			w.ids = append(w.ids, id)
		case segRight:
			// PostGIS counts +1 for an upward segment right of the point when
			// ay <= p.y < by, -1 for a downward one when by <= p.y < ay.
			if s.ay < s.by {
				addEvent(s.ay, 1)
				addEvent(s.by, -1)
			} else {
				addEvent(s.by, -1)
				addEvent(s.ay, 1)
			}
		}
	}
	out.end = int32(len(w.ids))
	if evs := w.evs[out.evFirst:]; len(evs) > 1 {
		slices.SortFunc(evs, func(a, b event) int { return cmp.Compare(a.y, b.y) })
		m := 0
		for _, ev := range evs {
			if m > 0 && evs[m-1].y == ev.y {
				evs[m-1].d += ev.d
			} else {
				evs[m] = ev
				m++
			}
		}
		n := 0
		for _, ev := range evs[:m] {
			if ev.d != 0 {
				evs[n] = ev
				n++
			}
		}
		w.evs = w.evs[:int(out.evFirst)+n]
	} else if len(evs) == 1 && evs[0].d == 0 {
		w.evs = w.evs[:out.evFirst]
	}
	out.evEnd = int32(len(w.evs))
	if dry {
		w.evs = w.evs[:out.evFirst]
		if out.evFirst != out.evEnd {
			return 2
		}
	} else {
		w.rings = append(w.rings, out)
	}
	if out.first == out.end && out.evFirst == out.evEnd {
		if out.base != 0 {
			return 1
		}
		return -1
	}
	return 2
}

// classify says how segment s matters to the points of the cell e (already
// grown by delta; cx is the cell's centre x). It errs towards segLocal.
func (b *builder) classify(s *segment, e bounds, cx float64) int {
	ymin, ymax := min(s.ay, s.by), max(s.ay, s.by)
	if ymax < e.y0 || ymin > e.y1 {
		return segNone // p.y is never in [ymin, ymax]
	}
	xmin, xmax := min(s.ax, s.bx), max(s.ax, s.bx)
	if xmax < e.x0 {
		return segNone // left of every point: never counted
	}
	if xmin > e.x1 {
		if ymin == ymax {
			return segNone // horizontal: never counted
		}
		return segRight
	}
	// Does the segment come within delta/2 of the cell? (Liang–Barsky
	// clipping against the cell grown by delta/2.)
	g := e.grow(b.delta / 2)
	dx, dy := s.bx-s.ax, s.by-s.ay
	t0, t1 := 0.0, 1.0
	clip := func(p, q float64) bool { // keeps the t with p·t <= q
		switch {
		case p == 0:
			return q >= 0
		case p < 0:
			if r := q / p; r > t0 {
				t0 = r
			}
		default:
			if r := q / p; r < t1 {
				t1 = r
			}
		}
		return t0 <= t1
	}
	if clip(-dx, s.ax-g.x0) && clip(dx, g.x1-s.ax) && clip(-dy, s.ay-g.y0) && clip(dy, g.y1-s.ay) {
		return segLocal
	}
	if ymin == ymax {
		return segNone // horizontal: never counted
	}
	// Where the segment crosses the cell's rows it is wholly left or right.
	ym := (max(ymin, e.y0) + min(ymax, e.y1)) / 2
	if xm := s.ax + dx*(ym-s.ay)/dy; xm > cx {
		return segRight
	}
	return segNone
}

// merge concatenates the chunks' blobs into ix, shifting the offsets in
// the top entries and in the nodes' child entries.
func (ix *Index) merge(b *builder, chunks []chunk, rowsPerChunk int) error {
	words, recs := 0, 0
	for _, c := range chunks {
		words, recs = words+len(c.blob), recs+len(c.recs)
	}
	if words > payload || len(ix.chains)+recs >= tagRecord {
		return fmt.Errorf("index: %d words of leaves and nodes overflow the index", words)
	}
	ix.entries = b.topEntries
	ix.blob = hugepage.Make[uint64](0, words)
	// The records: the empty one, those of the cells wholly in one
	// household grid, then the chunks'.
	shared := make([]uint32, len(ix.chains))
	ix.recs = hugepage.Make[record](1, 1+recs+len(shared))
	ix.runs = hugepage.Make[uint32](1, cap(ix.recs))
	for _, e := range ix.entries {
		if h := e & payload; e>>tagShift == tagHousehold && shared[h] == 0 {
			shared[h] = uint32(len(ix.recs))
			ix.recs = append(ix.recs, record{id: [2]int64{ix.ids[h+1]}})
			ix.runs = append(ix.runs, e)
		}
	}
	for ci := range chunks {
		c := &chunks[ci]
		off, roff := uint32(len(ix.blob)), uint32(len(ix.recs))
		shift := func(e uint32) uint32 {
			if e>>tagShift >= tagLeaf {
				return e + off
			}
			return e
		}
		for k := ci * rowsPerChunk * b.nx; k < min(b.ny, (ci+1)*rowsPerChunk)*b.nx; k++ {
			switch e := ix.entries[k]; {
			case e&tagRecord != 0:
				ix.entries[k] = e&^tagRecord + roff
			case e>>tagShift == tagHousehold:
				ix.entries[k] = shared[e&payload]
			default:
				ix.entries[k] = emptyRecord
			}
		}
		ix.recs = append(ix.recs, c.recs...)
		for _, e := range c.runs {
			ix.runs = append(ix.runs, shift(e))
		}
		ix.blob = append(ix.blob, c.blob...)
		for _, o := range c.nodeAt {
			kids := ix.blob[int(off)+o+4 : int(off)+o+nodeWords]
			for k, wd := range kids {
				kids[k] = uint64(shift(uint32(wd>>32)))<<32 | uint64(shift(uint32(wd)))
			}
		}
		st := &ix.stats
		st.records, st.subAnswered = st.records+c.stats.records, st.subAnswered+c.stats.subAnswered
		st.nodes, st.leaves, st.cands = st.nodes+c.stats.nodes, st.leaves+c.stats.leaves, st.cands+c.stats.cands
		st.rings, st.points, st.events = st.rings+c.stats.rings, st.points+c.stats.points, st.events+c.stats.events
		*c = chunk{}
	}
	return nil
}

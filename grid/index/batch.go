package index

import (
	"sync/atomic"

	"github.com/paulmach/orb"
)

// block is how many points LocateAll takes through each of its stages
// at a time: enough independent loads in flight to cover a trip to memory,
// few enough that the block's state stays in L1.
const block = 256

// LocateAll sets ids[i] to what Locate answers for pts[i], 0 where no
// household grid covers it; ids must be at least as long as pts. It
// allocates nothing.
//
// It gives the same answers as Locate, faster when the index does not fit
// in the CPU caches: one Locate waits for its loads one after the other,
// and a branch it mispredicts throws away the loads of the next lookups.
// LocateAll takes the points in blocks through three stages with no
// unpredictable branch inside a stage: the top cells' entries, then their
// records (which answer most points), then the points a record leaves to
// the blob, whose first loads are issued for the whole block before any
// is run. The loads of a stage are independent, so many are in flight at
// once.
func (ix *Index) LocateAll(pts []orb.Point, ids []int64) {
	ids = ids[:len(pts)]
	if len(ix.entries) == 0 {
		clear(ids) // no household grids
		return
	}
	var (
		ks   [block]uint32 // record of the point's top cell
		sub  [block]uint8  // the sub-cell: sj<<3 | si
		slow [block]uint16 // the points whose sub-cell has code 3
		runs [block]uint32
	)
	mu, mv := ix.nx*subs-1, ix.ny*subs-1
	nx := uint(ix.nx)
	for b := 0; b < len(pts); b += block {
		blk := pts[b:min(len(pts), b+block)]
		out := ids[b : b+len(blk)]
		// Stage 1: the top cell's entry. A point outside the extent (or
		// NaN) reads the empty record and is cleared in stage 2.
		for i, q := range blk {
			x, y := q[0], q[1]
			u := uint(max(0, min(int((x-ix.minX)*ix.invSubW), mu)))
			v := uint(max(0, min(int((y-ix.minY)*ix.invSubH), mv)))
			ks[i] = ix.entries[v/subs*nx+u/subs]
			sub[i] = uint8(v%subs<<3 | u%subs)
		}
		// Stage 2: the record's answer, and the list of points it leaves.
		ns := 0
		for i, q := range blk {
			r := &ix.recs[ks[i]]
			si, sj := uint(sub[i]&7), uint(sub[i]>>3)
			code := r.codes[sj/4] >> (16*(sj%4) + 2*si) & 3
			in := b2u(q[0] >= ix.minX && q[0] <= ix.maxX && q[1] >= ix.minY && q[1] <= ix.maxY)
			out[i] = r.id[code&1] & -int64(code>>1^1) & -int64(in)
			slow[ns] = uint16(i)
			ns += int(in & b2u(code == 3))
		}
		if ns == 0 {
			continue
		}
		// Stage 3: the blob entries of the slow points, then the first
		// word each will read, so those loads overlap too; then run them.
		var touch uint64
		for j, i := range slow[:ns] {
			runs[j] = ix.runs[ks[i]]
		}
		for _, e := range runs[:ns] {
			if len(ix.blob) == 0 {
				break
			}
			// a leaf's or node's offset; word 0 for the other tags
			o := uint(e&payload) & -uint(e>>(tagShift+1))
			last := uint(len(ix.blob) - 1)
			touch += ix.blob[min(o, last)] + ix.blob[min(o+8, last)] + ix.blob[min(o+16, last)] + ix.blob[min(o+24, last)]
		}
		for j, i := range slow[:ns] {
			q := blk[i]
			out[i] = ix.ids[ix.run(runs[j], q[0], q[1])+1]
		}
		if touch == 0x5eed {
			touched.Store(true) // keeps the loads; never matters
		}
	}
}

var touched atomic.Bool

// b2u is 1 for true and 0 for false, without a branch.
func b2u(b bool) uint {
	var u uint
	if b {
		u = 1
	}
	return u
}

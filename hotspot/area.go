package hotspot

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/uber/h3-go/v4"
)

// MaxK is the largest k-ring radius an Area accepts: 331 cells per
// neighbourhood, a disc of about 3.5 km radius at resolution 9.
const MaxK = 10

// Area is a study area: the cells Gi* is computed over, and the binary
// k-ring weights between them. n, the mean and the standard deviation of
// Gi* are taken over every cell of the area, so a cell with no clues
// counts as a zero; a cell's neighbourhood is the cells of the area within
// grid distance k of it, the cell itself included (w_ij = 1, else 0). A
// neighbour outside the area is left out, so cells on the area's edge
// have smaller neighbourhoods, which the Gi* formula allows for.
//
// Build an Area once per district and resolution (NewArea with every cell
// of the district, or AreaAround with the cells that have data) and reuse
// it: it is immutable and safe for concurrent use.
type Area struct {
	res   int
	k     int
	cells []h3.Cell         // sorted ascending
	index map[h3.Cell]int32 // position in cells
	off   []int32           // neighbours of cell i are nbr[off[i]:off[i+1]]
	nbr   []int32           // sorted ascending within each cell
}

// NewArea builds the study area made of exactly the given cells (duplicates
// are dropped) with k-ring radius k (1..MaxK; DefaultK is 1). The cells must
// be valid H3 cells of one resolution, at least two of them. Typically the
// cells are every cell of the district at the analysis resolution, e.g.
// h3.PolygonToCells of its boundary.
func NewArea(cells []h3.Cell, k int) (*Area, error) {
	return newArea(context.Background(), cells, k)
}

// newArea is NewArea stopping with ctx's error when ctx ends.
func newArea(ctx context.Context, cells []h3.Cell, k int) (*Area, error) {
	if k < 1 || k > MaxK {
		return nil, fmt.Errorf("hotspot: k-ring radius %d is outside 1..%d", k, MaxK)
	}
	cs := slices.Clone(cells)
	slices.Sort(cs)
	cs = slices.Compact(cs)
	if len(cs) < 2 {
		return nil, fmt.Errorf("hotspot: a study area needs at least 2 cells, got %d", len(cs))
	}
	res := cellResolution(cs[0])
	for _, c := range cs {
		if cellResolution(c) != res {
			return nil, fmt.Errorf("hotspot: cell %v has resolution %d, cell %v has %d: an area has one resolution", cs[0], res, c, cellResolution(c))
		}
	}
	a := &Area{res: res, k: k, cells: cs, index: make(map[h3.Cell]int32, len(cs))}
	for i, c := range cs {
		a.index[c] = int32(i)
	}
	if err := a.buildWeights(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// AreaAround builds the study area made of the given cells plus every cell
// within grid distance k of one of them: the "cells with data and their
// neighbours" area, used when no district area is given. Its mean and
// standard deviation are those of the busy part of the map only, so it
// finds fewer hot spots than the district area does; prefer NewArea when
// the district's cells are known.
func AreaAround(cells []h3.Cell, k int) (*Area, error) {
	if k < 1 || k > MaxK {
		return nil, fmt.Errorf("hotspot: k-ring radius %d is outside 1..%d", k, MaxK)
	}
	for _, c := range cells {
		if !c.IsValid() {
			return nil, fmt.Errorf("hotspot: %v is not a valid H3 cell", c)
		}
	}
	all := make([]h3.Cell, 0, len(cells)*(3*k*(k+1)+1))
	for _, c := range cells {
		all = append(all, h3.GridDisk(c, k)...)
	}
	return NewArea(all, k)
}

// checkEvery is how many cells a loop of an analysis handles between two
// looks at its context: well under a millisecond of work.
const checkEvery = 1024

// buildWeights fills off and nbr, checking each cell, on all cores; it
// stops with ctx's error when ctx ends.
func (a *Area) buildWeights(ctx context.Context) error {
	n := len(a.cells)
	workers := max(1, min(runtime.GOMAXPROCS(0), n/512))
	type part struct {
		lens []int32
		nbr  []int32
		err  error
	}
	parts := make([]part, workers)
	var wg sync.WaitGroup
	for w := range parts {
		lo, hi := w*n/workers, (w+1)*n/workers
		wg.Go(func() {
			p := &parts[w]
			p.lens = make([]int32, 0, hi-lo)
			p.nbr = make([]int32, 0, (hi-lo)*(3*a.k*(a.k+1)+1))
			for i := lo; i < hi; i++ {
				if (i-lo)%checkEvery == 0 {
					if err := ctx.Err(); err != nil {
						p.err = err
						return
					}
				}
				c := a.cells[i]
				if !c.IsValid() {
					p.err = fmt.Errorf("hotspot: %v is not a valid H3 cell", c)
					return
				}
				start := len(p.nbr)
				for _, d := range h3.GridDisk(c, a.k) {
					if j, ok := a.index[d]; ok {
						p.nbr = append(p.nbr, j)
					}
				}
				slices.Sort(p.nbr[start:])
				p.lens = append(p.lens, int32(len(p.nbr)-start))
			}
		})
	}
	wg.Wait()
	total := 0
	for _, p := range parts {
		if p.err != nil {
			return p.err
		}
		total += len(p.nbr)
	}
	a.off = make([]int32, 0, n+1)
	a.nbr = make([]int32, 0, total)
	a.off = append(a.off, 0)
	for _, p := range parts {
		a.nbr = append(a.nbr, p.nbr...)
		for _, l := range p.lens {
			a.off = append(a.off, a.off[len(a.off)-1]+l)
		}
	}
	return nil
}

// cellResolution reads the resolution bits of an H3 index (bits 52..55)
// without a cgo call.
func cellResolution(c h3.Cell) int { return int(uint64(c)>>52) & 0xF }

// Len returns the number of cells in the area, n in the Gi* formula.
func (a *Area) Len() int { return len(a.cells) }

// Resolution returns the H3 resolution of the area's cells.
func (a *Area) Resolution() int { return a.res }

// K returns the k-ring radius of the weights.
func (a *Area) K() int { return a.k }

// Cells returns a copy of the area's cells in ascending order; the values
// GiStar takes and returns are in this order.
func (a *Area) Cells() []h3.Cell { return slices.Clone(a.cells) }

// Index returns the position of cell c in Cells, and whether the area has c.
func (a *Area) Index(c h3.Cell) (int, bool) {
	i, ok := a.index[c]
	return int(i), ok
}

// bytes is about how much memory the area holds: its cells, their index
// and the neighbour lists.
func (a *Area) bytes() int {
	const mapEntry = 32 // a key, a value and the map's overhead per entry
	return len(a.cells)*(8+mapEntry) + len(a.off)*4 + len(a.nbr)*4
}

// Neighbours returns the positions (in Cells) of the neighbourhood of the
// cell at position i: the area's cells within grid distance K, i itself
// included, ascending. The slice must not be modified.
func (a *Area) Neighbours(i int) []int32 { return a.nbr[a.off[i]:a.off[i+1]] }

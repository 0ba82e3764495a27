package bench

import (
	"math/rand/v2"
	"time"

	"whistlegrid/internal/hugepage"
)

// MemoryLatency is the mean time of one read from a working set of the
// given size in bytes, each read's address depending on the one before (a
// random cyclic permutation of its cache lines), in memory made as the
// placement index's is (hugepage.Make). It shows where this machine's
// caches end, and so why a larger district costs more per point.
func MemoryLatency(bytes int) time.Duration {
	const line = 64 / 8 // words per cache line
	n := max(2, bytes/64)
	next := hugepage.Make[uint64](n*line, n*line)
	perm := rand.New(rand.NewPCG(uint64(n), 7)).Perm(n)
	for i := range n {
		next[perm[i]*line] = uint64(perm[(i+1)%n] * line)
	}
	p := uint64(0)
	for range n { // warm up: every line once
		p = next[p]
	}
	const steps = 1 << 21
	t0 := time.Now()
	for range steps {
		p = next[p]
	}
	d := time.Since(t0) / steps
	if p == 1 { // never: every index is a multiple of line
		d++
	}
	return d
}

package hotspot

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/uber/h3-go/v4"
)

// cancelAt is a context that cancels itself at its n-th Err call. An
// analysis looks at Err between pieces of its work, so the cancel lands
// in the middle of the run whatever the machine's speed, and the test
// measures how long the run goes on after it.
type cancelAt struct {
	context.Context
	cancel context.CancelFunc
	left   atomic.Int64
	mu     sync.Mutex
	at     time.Time // when it cancelled
}

func newCancelAt(n int64) *cancelAt {
	ctx, cancel := context.WithCancel(context.Background())
	c := &cancelAt{Context: ctx, cancel: cancel}
	c.left.Store(n)
	return c
}

func (c *cancelAt) Err() error {
	if c.left.Add(-1) == 0 {
		c.mu.Lock()
		c.at = time.Now()
		c.mu.Unlock()
		c.cancel()
	}
	return c.Context.Err()
}

// since is how long ago it cancelled; it fails the test when it never did,
// that is when the run looked at its context fewer than n times.
func (c *cancelAt) since(t *testing.T) time.Duration {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() {
		t.Fatal("the run ended before its context was cancelled: it looks at it too seldom")
	}
	return time.Since(c.at)
}

// promptly is how soon after its context ends a run must return: a check
// comes every checkEvery cells, well under a millisecond apart, but the
// machine the tests run on may be loaded many times over.
const promptly = time.Second

// largeArea is the cells of the benchmark's box at resolution 10: 255,000
// cells over 3,700 km², nearly twice the district at the resolution the
// command center may ask.
var largeArea = sync.OnceValue(func() []h3.Cell {
	box := orb.Polygon{{{benchBox[0], benchBox[2]}, {benchBox[1], benchBox[2]}, {benchBox[1], benchBox[3]}, {benchBox[0], benchBox[3]}, {benchBox[0], benchBox[2]}}}
	cells, err := polygonCells(context.Background(), orb.MultiPolygon{box}, 10)
	if err != nil {
		panic(err)
	}
	return cells
})

func TestCanceledStudyAreaStops(t *testing.T) {
	box := orb.MultiPolygon{{{{benchBox[0], benchBox[2]}, {benchBox[1], benchBox[2]}, {benchBox[1], benchBox[3]}, {benchBox[0], benchBox[3]}, {benchBox[0], benchBox[2]}}}}
	t.Run("cells of the outline", func(t *testing.T) {
		ctx := newCancelAt(3)
		cells, err := polygonCells(ctx, box, 10)
		if !errors.Is(err, context.Canceled) || cells != nil {
			t.Fatalf("%d cells, err %v; want context.Canceled and none", len(cells), err)
		}
		if d := ctx.since(t); d > promptly {
			t.Errorf("went on %v after the cancel", d)
		}
	})
	cells := largeArea()
	if len(cells) < 200_000 {
		t.Fatalf("%d cells: not a large area", len(cells))
	}
	t.Run("weights", func(t *testing.T) {
		ctx := newCancelAt(20) // about 10,000 cells of 255,000 in
		a, err := newArea(ctx, cells, 3)
		if !errors.Is(err, context.Canceled) || a != nil {
			t.Fatalf("area %v, err %v; want context.Canceled and none", a != nil, err)
		}
		if d := ctx.since(t); d > promptly {
			t.Errorf("went on %v after the cancel", d)
		}
	})
}

func TestCanceledEmergingStops(t *testing.T) {
	area, err := NewArea(largeArea(), 1)
	if err != nil {
		t.Fatal(err)
	}
	pts := syntheticClues(50_000, 3, benchClusters, 150)
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	o := EmergingOptions{Options: Options{Area: area}, Start: start, End: start.AddDate(0, 0, 12*7)}
	// before the slices, in them, in the cells' trends (one check per
	// slice, then one per checkEvery cells)
	for _, at := range []int64{1, 5, 12, 40} {
		ctx := newCancelAt(at)
		r, err := EmergingContext(ctx, pts, o)
		if !errors.Is(err, context.Canceled) || r != nil {
			t.Fatalf("cancelled at check %d: result %v, err %v; want context.Canceled and none", at, r != nil, err)
		}
		if d := ctx.since(t); d > promptly {
			t.Errorf("cancelled at check %d: went on %v after the cancel", at, d)
		}
	}
}

package hotspot

import (
	"context"
	"fmt"
	"sync"
)

// flights runs one call per key at a time: a caller asking for a key whose
// call is running waits for that call's result instead of starting its
// own (golang.org/x/sync/singleflight's idea, with contexts). The call
// runs on its own goroutine with a context of its own, which ends when
// every caller waiting for it has gone: one caller that leaves does not
// stop the work the others wait for, and work nobody waits for stops. The
// zero value is ready to use.
type flights[V any] struct {
	mu sync.Mutex
	m  map[string]*flight[V]
}

type flight[V any] struct {
	done    chan struct{} // closed when v and err are set
	v       V
	err     error
	waiters int // callers waiting; guarded by flights.mu
	cancel  context.CancelFunc
}

// do returns the result of fn for key: its own call's, or that of the call
// already running for key (shared true). fn's context carries ctx's values
// but not its end; it ends when no caller waits any more. A caller whose
// ctx ends before the result returns ctx's error.
func (g *flights[V]) do(ctx context.Context, key string, fn func(context.Context) (V, error)) (v V, shared bool, err error) {
	g.mu.Lock()
	if f, ok := g.m[key]; ok {
		f.waiters++
		g.mu.Unlock()
		return g.wait(ctx, key, f, true)
	}
	if g.m == nil {
		g.m = map[string]*flight[V]{}
	}
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f := &flight[V]{done: make(chan struct{}), waiters: 1, cancel: cancel}
	g.m[key] = f
	g.mu.Unlock()
	go func() {
		defer close(f.done)
		defer cancel()
		defer func() {
			if p := recover(); p != nil {
				f.err = fmt.Errorf("hotspot: %v", p)
			}
			g.forget(key, f)
		}()
		f.v, f.err = fn(fctx)
	}()
	return g.wait(ctx, key, f, false)
}

// wait waits for f's result or ctx's end; the last caller to leave ends
// f's context.
func (g *flights[V]) wait(ctx context.Context, key string, f *flight[V], shared bool) (V, bool, error) {
	select {
	case <-f.done:
		return f.v, shared, f.err
	case <-ctx.Done():
		g.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			f.cancel()
			// a caller that comes now starts afresh rather than wait
			// for work that is stopping
			if g.m[key] == f {
				delete(g.m, key)
			}
		}
		g.mu.Unlock()
		var zero V
		return zero, shared, ctx.Err()
	}
}

// forget removes f from the running calls, unless a newer call for key
// took its place.
func (g *flights[V]) forget(key string, f *flight[V]) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m[key] == f {
		delete(g.m, key)
	}
}

// running is the number of calls running, for tests.
func (g *flights[V]) running() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.m)
}

package hotspot

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestFlightsRunOneCallPerKey(t *testing.T) {
	var g flights[int]
	var calls atomic.Int32
	release := make(chan struct{})
	fn := func(ctx context.Context) (int, error) {
		calls.Add(1)
		<-release
		return 42, nil
	}
	const n = 8
	type answer struct {
		v      int
		shared bool
		err    error
	}
	answers := make(chan answer, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			v, shared, err := g.do(context.Background(), "k", fn)
			answers <- answer{v, shared, err}
		})
	}
	waitFor(t, func() bool { return waiters(&g, "k") == n })
	close(release)
	wg.Wait()
	close(answers)
	sharedN := 0
	for a := range answers {
		if a.v != 42 || a.err != nil {
			t.Errorf("answer %+v, want 42", a)
		}
		if a.shared {
			sharedN++
		}
	}
	if calls.Load() != 1 || sharedN != n-1 {
		t.Errorf("%d calls, %d shared answers; want 1 call shared by the other %d", calls.Load(), sharedN, n-1)
	}
	if g.running() != 0 {
		t.Errorf("%d calls still listed after they ended", g.running())
	}
	// a later call runs afresh
	if _, shared, _ := g.do(context.Background(), "k", func(context.Context) (int, error) { return 1, nil }); shared {
		t.Error("a call after the first ended was shared")
	}
}

func TestFlightsStopWhenNobodyWaits(t *testing.T) {
	var g flights[int]
	started := make(chan struct{})
	stopped := make(chan error, 1)
	fn := func(ctx context.Context) (int, error) {
		close(started)
		<-ctx.Done()
		stopped <- ctx.Err()
		return 0, ctx.Err()
	}
	first, cancelFirst := context.WithCancel(context.Background())
	second, cancelSecond := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	go func() { _, _, err := g.do(first, "k", fn); errs <- err }()
	<-started
	go func() { _, _, err := g.do(second, "k", fn); errs <- err }()
	waitFor(t, func() bool { return waiters(&g, "k") == 2 })

	cancelFirst()
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Fatalf("the caller that left got %v, want context.Canceled", err)
	}
	select {
	case err := <-stopped:
		t.Fatalf("the call stopped (%v) while a caller still waited", err)
	case <-time.After(50 * time.Millisecond):
	}
	cancelSecond()
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Fatalf("the second caller got %v, want context.Canceled", err)
	}
	select {
	case err := <-stopped:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the call's context ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the call went on after every caller left")
	}
	// a caller coming now does not join the call that is stopping
	v, shared, err := g.do(context.Background(), "k", func(context.Context) (int, error) { return 7, nil })
	if v != 7 || shared || err != nil {
		t.Errorf("a new caller got %d shared %v %v, want its own call's 7", v, shared, err)
	}
}

func TestFlightsTurnAPanicIntoAnError(t *testing.T) {
	var g flights[int]
	_, _, err := g.do(context.Background(), "k", func(context.Context) (int, error) { panic("boom") })
	if err == nil || err.Error() != "hotspot: boom" {
		t.Fatalf("err %v, want hotspot: boom", err)
	}
}

// waiters is how many callers wait for the call of key, 0 when none runs.
func waiters[V any](g *flights[V], key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.m[key]; ok {
		return f.waiters
	}
	return 0
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

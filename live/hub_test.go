package live

import (
	"encoding/json"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"whistlegrid/access"
)

// fanOut is a hub with n sessions and no network, each queue emptied by a
// drainQueue goroutine, as the hub's writers would. When tb ends the
// queues are closed and the goroutines waited for; any still running is
// an error.
func fanOut(tb testing.TB, n int) *Hub {
	h := NewHub(nil, nil, Options{QueueSize: 1024})
	roles := []access.Scope{{Role: access.RoleCommand}, {Role: access.RoleScreen}, {Role: access.RoleTownship, GridCode: "110119101"}, {Role: access.RoleUnit, UnitID: 3}}
	sessions := make([]*session, n)
	var drains sync.WaitGroup
	for i := range sessions {
		s := &session{sub: Subscription{Scope: roles[i%len(roles)]}, queue: make(chan *Event, 1024), kicked: make(chan struct{})}
		sessions[i] = s
		h.sessions[s] = struct{}{}
		drains.Add(1)
		go drainQueue(s.queue, &drains)
	}
	tb.Cleanup(func() {
		// every session, also those publish dropped as too slow
		for _, s := range sessions {
			close(s.queue)
		}
		drains.Wait()
		if left := drainers(0); left != 0 {
			tb.Errorf("%d drainQueue goroutines still running", left)
		}
	})
	return h
}

func drainQueue(q <-chan *Event, done *sync.WaitGroup) {
	defer done.Done()
	for range q {
	}
}

// drainers counts the goroutines running drainQueue, waiting up to a
// second for the count to be want (goroutines that are returning).
func drainers(want int) int {
	buf := make([]byte, 1<<20)
	var n int
	for deadline := time.Now().Add(time.Second); ; time.Sleep(10 * time.Millisecond) {
		for {
			k := runtime.Stack(buf, true)
			if k < len(buf) {
				n = strings.Count(string(buf[:k]), "whistlegrid/live.drainQueue(")
				break
			}
			buf = make([]byte, 2*len(buf))
		}
		if n == want || time.Now().After(deadline) {
			return n
		}
	}
}

func publishOne(h *Hub, seq int64) {
	payload := json.RawMessage(`{"whistle":{"id":1},"person":"王小明","phone":"13812345678"}`)
	h.publish([]*Event{{Seq: seq, Kind: "whistle.raised", Township: "110119101", Payload: payload, units: []int64{3}}})
}

// TestFanOutLeavesNoGoroutine checks the fixture BenchmarkPublish uses:
// its goroutines run while the test does and are gone after.
func TestFanOutLeavesNoGoroutine(t *testing.T) {
	t.Run("fan-out", func(t *testing.T) {
		h := fanOut(t, 100)
		for i := range 50 {
			publishOne(h, int64(i+1))
		}
		if n := drainers(100); n != 100 {
			t.Fatalf("%d drainQueue goroutines running, want 100", n)
		}
	})
	if n := drainers(0); n != 0 {
		t.Errorf("%d drainQueue goroutines left after the test", n)
	}
}

// BenchmarkPublish measures the fan-out of one event to 1,000 clients'
// queues (filter, enqueue), without the network. Its goroutines end with
// it (fanOut).
func BenchmarkPublish(b *testing.B) {
	h := fanOut(b, 1000)
	b.ResetTimer()
	for i := range b.N {
		publishOne(h, int64(i+1))
	}
}

package live

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"whistlegrid/access"
	"whistlegrid/internal/dbtest"
)

// TestBenchLiveDeliversEverything runs the live bench small: every frame
// arrives, once, in order (latency is reported, not asserted).
func TestBenchLiveDeliversEverything(t *testing.T) {
	pool := dbtest.New(t)
	res, err := BenchLive(context.Background(), pool, BenchConfig{Clients: 40, Rate: 100, Duration: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if res.Events < 150 || res.DeliveredRatio != 1 || res.Delivered != res.Expected || res.OutOfOrder != 0 {
		t.Errorf("bench %+v: want every event delivered once, in order", res)
	}
	var left int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE kind = $1`, BenchKind).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d bench events left behind (%v)", left, err)
	}
}

// BenchmarkPublish measures the fan-out of one event to 1,000 clients'
// queues (filter, enqueue), without the network.
func BenchmarkPublish(b *testing.B) {
	h := NewHub(nil, nil, Options{QueueSize: 1024})
	roles := []access.Scope{{Role: access.RoleCommand}, {Role: access.RoleScreen}, {Role: access.RoleTownship, GridCode: "110119101"}, {Role: access.RoleUnit, UnitID: 3}}
	for i := range 1000 {
		s := &session{sub: Subscription{Scope: roles[i%len(roles)]}, queue: make(chan *Event, 1024), kicked: make(chan struct{})}
		h.sessions[s] = struct{}{}
		go func() {
			for range s.queue {
			}
		}()
	}
	payload := json.RawMessage(`{"whistle":{"id":1},"person":"王小明","phone":"13812345678"}`)
	b.ResetTimer()
	for i := range b.N {
		h.publish([]*Event{{Seq: int64(i + 1), Kind: "whistle.raised", Township: "110119101", Payload: payload, units: []int64{3}}})
	}
}

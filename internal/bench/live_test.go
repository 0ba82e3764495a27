package bench

import (
	"context"
	"testing"
	"time"

	"whistlegrid/internal/dbtest"
)

// TestLiveDeliversEverything runs the live bench small: every frame
// arrives, once, in order (latency is reported, not asserted), and the
// bench's events are gone afterwards.
func TestLiveDeliversEverything(t *testing.T) {
	pool := dbtest.New(t)
	res, err := Live(context.Background(), pool, LiveConfig{Clients: 40, Rate: 100, Duration: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if res.Events < 150 || res.DeliveredRatio != 1 || res.Delivered != res.Expected || res.OutOfOrder != 0 || res.Dropped != 0 {
		t.Errorf("bench %+v: want every event delivered once, in order, no client dropped", res)
	}
	var left int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE kind = $1`, LiveKind).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d bench events left behind (%v)", left, err)
	}
}

func TestLiveAcceptKey(t *testing.T) {
	// the example of RFC 6455, section 1.3
	if got := liveAcceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("accept key %q", got)
	}
}

func TestLiveNumber(t *testing.T) {
	tests := []struct {
		name, frame, key string
		want             int64
	}{
		{"seq", `{"seq":1234,"kind":"x"}`, `"seq":`, 1234},
		{"nested", `{"data":{"bench":{"sent_ns":17000000001}}}`, `"sent_ns":`, 17000000001},
		{"absent", `{"seq":1}`, `"sent_ns":`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := liveNumber([]byte(tt.frame), tt.key); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

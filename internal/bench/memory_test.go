package bench

import (
	"testing"
	"time"
)

// TestMemoryLatency: a read from a working set that fits in any cache
// takes nanoseconds, not nothing and not microseconds.
func TestMemoryLatency(t *testing.T) {
	if d := MemoryLatency(64 << 10); d <= 0 || d > time.Microsecond {
		t.Errorf("MemoryLatency(64 KiB) = %v, want a few ns", d)
	}
}

package hotspot_test

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"whistlegrid/hotspot"
	"whistlegrid/internal/testenv"
)

// BenchmarkMapDistrict is one GET /api/v1/hotspots over the whole 延庆区
// demo with the planted clues, at the resolutions and radii the roles may
// ask, each on a fresh store (the study area built too, as a first request
// after a start builds it), and once more on a store whose area is built. It reports the peak Go heap above the heap
// before the run (sampled every millisecond) and the bytes allocated:
// the memory bound the per-role limits are chosen by (README, hotspot
// section).
func BenchmarkMapDistrict(b *testing.B) {
	pool := testenv.DemoDB(b)
	p := testenv.PlantHotspot(b, pool)
	for _, c := range []struct {
		name   string
		res, k int
	}{
		{"res9-k1", 9, 1}, {"res9-k2", 9, 2}, {"res9-k3", 9, 3},
		{"res10-k1", 10, 1}, {"res10-k2", 10, 2}, {"res10-k3", 10, 3},
	} {
		b.Run(c.name, func(b *testing.B) {
			var peak, alloc, rss uint64
			var cells int
			for b.Loop() {
				st := hotspot.NewStore(pool)
				q := hotspot.MapQuery{Query: hotspot.Query{Category: testenv.HotspotCategory, From: p.From, To: p.To, Resolution: c.res, K: c.k}}
				pk, al, rs, m := measure(b, func() (*hotspot.Map, error) { return st.Map(context.Background(), q) })
				peak, alloc, rss, cells = max(peak, pk), al, max(rss, rs), m.Cells
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(alloc)/(1<<20), "alloc-MB")
			b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MB")
			b.ReportMetric(float64(cells), "cells")
		})
	}
	// the same at resolution 10 with k 3 once the study area is built:
	// what each further analysis costs, the map cache off
	b.Run("res10-k3-warm", func(b *testing.B) {
		st := hotspot.NewStoreWith(pool, hotspot.StoreOptions{MapTTL: -1})
		q := hotspot.MapQuery{Query: hotspot.Query{Category: testenv.HotspotCategory, From: p.From, To: p.To, Resolution: 10, K: 3}}
		if _, err := st.Map(context.Background(), q); err != nil {
			b.Fatal(err)
		}
		var peak, rss uint64
		for b.Loop() {
			pk, _, rs, _ := measure(b, func() (*hotspot.Map, error) { return st.Map(context.Background(), q) })
			peak, rss = max(peak, pk), max(rss, rs)
		}
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MB")
	})
}

// measure runs f after a collection and returns the peak heap above the
// heap before it, the bytes f allocated, and the peak resident set of the
// process while f ran (VmHWM after resetting it, Go heap and C together).
func measure(b *testing.B, f func() (*hotspot.Map, error)) (peak, alloc, rss uint64, m *hotspot.Map) {
	b.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Fatalf("resetting the peak resident set: %v", err)
	}
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var top atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapAlloc > top.Load() {
					top.Store(ms.HeapAlloc)
				}
			}
		}
	}()
	m, err := f()
	close(done)
	<-stopped
	if err != nil {
		b.Fatal(err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if after.HeapAlloc > top.Load() {
		top.Store(after.HeapAlloc)
	}
	return top.Load() - min(top.Load(), before.HeapAlloc), after.TotalAlloc - before.TotalAlloc, peakRSS(b), m
}

// peakRSS reads VmHWM, the peak resident set, from /proc/self/status.
func peakRSS(b *testing.B) uint64 {
	b.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmHWM in /proc/self/status")
	return 0
}

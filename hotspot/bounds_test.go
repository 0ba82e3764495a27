package hotspot

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb/geojson"

	"whistlegrid/access"
	"whistlegrid/fault"
)

// TestBoundsFor holds every role × resolution × radius: the command
// center may ask the district at resolution 10 with k 3, the others less;
// a refusal names the parameter and the range.
func TestBoundsFor(t *testing.T) {
	tests := []struct {
		role     access.Role
		min, max int // resolutions allowed
		maxK     int
	}{
		{access.RoleCommand, 7, 10, 3},
		{access.RoleTownship, 7, 10, 2},
		{access.RoleScreen, 7, 9, 2},
		{access.RoleUnit, 7, 9, 1},
		{access.RoleGridWorker, 7, 9, 1}, // refused before, by the API; never more than a unit
	}
	for _, tt := range tests {
		t.Run(string(tt.role), func(t *testing.T) {
			b := BoundsFor(tt.role)
			for res := MinQueryResolution - 1; res <= MaxQueryResolution+1; res++ {
				for k := 0; k <= MaxQueryK+1; k++ {
					err := b.check(res, k)
					kk := k
					if kk == 0 {
						kk = DefaultK
					}
					want := ""
					switch {
					case res < tt.min || res > tt.max:
						want = "res"
					case kk > tt.maxK:
						want = "k"
					}
					var fe *fault.Error
					switch {
					case want == "" && err != nil:
						t.Errorf("res %d k %d: %v, want allowed", res, k, err)
					case want != "" && (!errors.As(err, &fe) || fe.Field != want || !errors.Is(err, ErrInvalid)):
						t.Errorf("res %d k %d: %v, want ErrInvalid on %s", res, k, err, want)
					case want == "res" && !strings.Contains(fe.Message, "7..") || want == "k" && !strings.Contains(fe.Message, "1.."):
						t.Errorf("res %d k %d: %q does not say the range", res, k, fe.Message)
					}
				}
			}
			if err := b.check(0, 0); err != nil {
				t.Errorf("the defaults (res %d, k %d) are refused: %v", DefaultResolution, DefaultK, err)
			}
		})
	}
	if err := (Bounds{}).check(10, 3); err != nil {
		t.Errorf("the zero Bounds refuse res 10 k 3: %v", err)
	}
}

func TestMapQueryKey(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	key := func(q MapQuery, at time.Time) string {
		t.Helper()
		if err := q.fill(at); err != nil {
			t.Fatal(err)
		}
		if err := q.check(); err != nil {
			t.Fatal(err)
		}
		return q.key()
	}
	sep1 := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	base := MapQuery{Query: Query{Townships: []string{"110119102", "110119101"}, Sources: []string{"patrol", "app"}}}
	same := []struct {
		name string
		q    MapQuery
		at   time.Time
	}{
		{"sets in another order, twice", MapQuery{Query: Query{Townships: []string{"110119101", "110119102", "110119101"}, Sources: []string{"app", "patrol"}}}, now},
		{"the defaults spelled out", MapQuery{Query: Query{Townships: []string{"110119101", "110119102"}, Sources: []string{"app", "patrol"},
			Resolution: DefaultResolution, K: DefaultK, Alpha: DefaultAlpha, Days: DefaultSliceDays}, Weeks: DefaultWeeks}, now},
		{"a window ending now, a minute later", base, now.Add(time.Minute)},
	}
	want := key(base, now)
	for _, tt := range same {
		if got := key(tt.q, tt.at); got != want {
			t.Errorf("%s: key %q, want %q", tt.name, got, want)
		}
	}
	differ := []struct {
		name string
		q    MapQuery
	}{
		{"another jurisdiction", MapQuery{Query: base.Query, Jurisdiction: []string{"110119101%"}}},
		{"another resolution", MapQuery{Query: Query{Townships: base.Townships, Sources: base.Sources, Resolution: 8}}},
		{"another k", MapQuery{Query: Query{Townships: base.Townships, Sources: base.Sources, K: 2}}},
		{"another category", MapQuery{Query: Query{Townships: base.Townships, Sources: base.Sources, Category: "CM.01"}}},
		{"a given end", MapQuery{Query: Query{Townships: base.Townships, Sources: base.Sources, To: now}}},
		{"a given start", MapQuery{Query: Query{Townships: base.Townships, Sources: base.Sources, From: sep1}}},
		{"more weeks", MapQuery{Query: base.Query, Weeks: 13}},
		{"a class", MapQuery{Query: base.Query, Classes: []Class{NewHotSpot}}},
		{"all cells", MapQuery{Query: base.Query, All: true}},
		{"every source", MapQuery{Query: Query{Townships: base.Townships}}},
	}
	fromSep := MapQuery{Query: Query{From: sep1}}
	if a, b := key(fromSep, now), key(fromSep, now.Add(time.Minute)); a != b {
		t.Errorf("a given start up to now: key %q, a minute later %q", a, b)
	}
	seen := map[string]string{want: "base"}
	for _, tt := range differ {
		got := key(tt.q, now)
		if other, dup := seen[got]; dup {
			t.Errorf("%s: the same key as %s: %q", tt.name, other, got)
		}
		seen[got] = tt.name
	}
}

// TestMapCache holds the cache's life and its bound: a map answers for
// MapTTL, marked shared, and the maps kept hold at most mapCacheFeatures.
func TestMapCache(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	s := NewStoreWith(nil, StoreOptions{MapTTL: time.Minute})
	s.now = func() time.Time { return now }
	features := func(n int) *Map { return &Map{Type: "FeatureCollection", Features: make([]*geojson.Feature, n)} }

	m := features(10)
	s.keepMap("a", m)
	got := s.keptMap("a")
	if got == nil || !got.Shared || len(got.Features) != 10 || m.Shared {
		t.Fatalf("kept %+v: want a shared copy, the original unmarked", got)
	}
	now = now.Add(time.Minute)
	if s.keptMap("a") != nil || s.mapsHeld != 0 {
		t.Fatalf("a map outlived MapTTL (%d features held)", s.mapsHeld)
	}

	s.keepMap("b", features(mapCacheFeatures/2))
	now = now.Add(time.Second)
	s.keepMap("c", features(mapCacheFeatures/2))
	now = now.Add(time.Second)
	s.keepMap("d", features(1)) // over the bound: b, the oldest, goes
	if s.keptMap("b") != nil || s.keptMap("c") == nil || s.keptMap("d") == nil || s.mapsHeld != mapCacheFeatures/2+1 {
		t.Errorf("kept b %v, c %v, d %v, %d features: want b dropped", s.keptMap("b") != nil, s.keptMap("c") != nil, s.keptMap("d") != nil, s.mapsHeld)
	}
	s.keepMap("e", features(mapCacheFeatures+1))
	if s.keptMap("e") != nil || s.keptMap("c") == nil {
		t.Error("a map over the whole bound was kept, or pushed the others out")
	}

	off := NewStoreWith(nil, StoreOptions{MapTTL: -1})
	off.keepMap("a", features(1))
	if off.keptMap("a") != nil {
		t.Error("a negative MapTTL kept a map")
	}
}

// TestStoreRefusesBeyondMaxAnalyses: the places are taken without
// waiting, and one more is ErrBusy, a 429 with a Retry-After.
func TestStoreRefusesBeyondMaxAnalyses(t *testing.T) {
	s := NewStoreWith(nil, StoreOptions{MaxAnalyses: 2})
	r1, err1 := s.acquire()
	r2, err2 := s.acquire()
	if err1 != nil || err2 != nil {
		t.Fatalf("two places of two: %v, %v", err1, err2)
	}
	_, err := s.acquire()
	var fe *fault.Error
	if !errors.As(err, &fe) || !errors.Is(err, ErrBusy) || fe.Kind != fault.TooMany || fe.RetryAfter <= 0 || !strings.Contains(fe.Message, "2 hotspot analyses") {
		t.Fatalf("a third: %v, want ErrBusy with a Retry-After", err)
	}
	r1()
	r3, err := s.acquire()
	if err != nil {
		t.Fatalf("a place given back is not taken again: %v", err)
	}
	r2()
	r3()
	if NewStore(nil).opt.MaxAnalyses != DefaultMaxAnalyses || NewStore(nil).opt.MapTTL != DefaultMapTTL {
		t.Error("NewStore does not take the defaults")
	}
}

package hotspot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/paulmach/orb/geojson"

	"whistlegrid/access"
	"whistlegrid/fault"
)

// DefaultWeeks is how many slices a map's window holds when its query
// gives no start: twelve slices (weeks, at DefaultSliceDays) up to the end.
const DefaultWeeks = 12

// Bounds are the resolutions and k-ring radii a caller may ask of Map:
// what one analysis may cost. Memory and time grow with the cells of the
// study area (seven times more at each finer resolution) times their
// neighbours (7, 19, 37 at k 1, 2, 3). The zero Bounds allows Query's own
// limits.
type Bounds struct {
	MinRes, MaxRes int    // H3 resolution, MinQueryResolution..MaxQueryResolution
	MaxK           int    // k-ring radius, 1..MaxQueryK
	Who            string // the callers, as the refusal names them: "the wall screen"
}

// BoundsFor returns the bounds of a role's hotspot maps (README, hotspot
// section, has the measurements they come from). The command center may
// ask the most, the district at resolution 10 with k 3: 185,327 cells, a
// peak of about 125 MB of heap and 2.4 s of CPU for one analysis with its
// study area, 91 MB once the area is built; a township, whose map is its own
// township, resolution 10 with k up to 2; the wall screen and the units,
// whose maps cover the district, resolution 9 at most, k up to 2 for the
// screen and 1 for a unit. Every role may ask resolution 7 (5 km², a
// township's quarter) upward; the coarser ones mean nothing at this
// scale.
func BoundsFor(role access.Role) Bounds {
	switch role {
	case access.RoleCommand:
		return Bounds{MinRes: 7, MaxRes: 10, MaxK: 3, Who: "the command center"}
	case access.RoleTownship:
		return Bounds{MinRes: 7, MaxRes: 10, MaxK: 2, Who: "a township"}
	case access.RoleScreen:
		return Bounds{MinRes: 7, MaxRes: 9, MaxK: 2, Who: "the wall screen"}
	}
	return Bounds{MinRes: 7, MaxRes: 9, MaxK: 1, Who: "a unit"}
}

// check refuses a resolution or radius outside b, naming the parameter
// and the range; zero values are the defaults.
func (b Bounds) check(res, k int) error {
	if b == (Bounds{}) {
		return nil
	}
	if res == 0 {
		res = DefaultResolution
	}
	if k == 0 {
		k = DefaultK
	}
	if res < b.MinRes || res > b.MaxRes {
		return fault.FieldErrorf(ErrInvalid, "res", "res %d is outside %d..%d, the resolutions %s may ask", res, b.MinRes, b.MaxRes, b.Who)
	}
	if k < 1 || k > b.MaxK {
		return fault.FieldErrorf(ErrInvalid, "k", "k %d is outside 1..%d, the radii %s may ask", k, b.MaxK, b.Who)
	}
	return nil
}

// MapQuery asks for the hotspot map of GET /api/v1/hotspots: an emerging
// analysis of the stored clues over a window with defaults, and which of
// its cells to draw. Its errors are ErrInvalid naming the query parameter
// (weeks, class, and Query's) or ErrNotFound.
type MapQuery struct {
	// Query is the analysis. A zero To means now; a zero From means
	// Weeks slices of Days before To.
	Query
	// Weeks is the window's length in slices when From is zero, 2 to
	// MaxSlices; 0 means DefaultWeeks. Giving both From and Weeks is
	// invalid.
	Weeks int
	// Classes keeps the cells of these classes only. Empty keeps every
	// cell with a class or significant over the whole window.
	Classes []Class
	// All adds, when Classes is empty, every other cell with clues.
	All bool
	// Bounds limit Resolution and K (the caller's: BoundsFor); the zero
	// Bounds allows Query's limits.
	Bounds Bounds
	// Jurisdiction is the grid-code prefixes the caller sees
	// (access.Scope.Prefixes; nil: the district). Identical queries share
	// one map only within one jurisdiction.
	Jurisdiction []string

	toNow, fromWeeks bool // To was now, From Weeks before To: neither given
}

// fill sets the window's defaults at now and checks what Query.check
// does not: weeks and the class names.
func (q *MapQuery) fill(now time.Time) error {
	if err := q.Bounds.check(q.Resolution, q.K); err != nil {
		return err
	}
	if q.To.IsZero() {
		q.To, q.toNow = now, true
	}
	days := q.Days
	if days == 0 {
		days = DefaultSliceDays
	}
	switch {
	case !q.From.IsZero() && q.Weeks != 0:
		return fault.FieldErrorf(ErrInvalid, "weeks", "give from or weeks, not both")
	case q.From.IsZero():
		weeks := q.Weeks
		if weeks == 0 {
			weeks = DefaultWeeks
		}
		if weeks < 2 || weeks > MaxSlices {
			return fault.FieldErrorf(ErrInvalid, "weeks", "weeks must be between 2 and %d", MaxSlices)
		}
		q.From, q.fromWeeks = q.To.AddDate(0, 0, -weeks*days), true
	}
	for _, c := range q.Classes {
		if !slices.Contains(Classes(), c) {
			return fault.FieldErrorf(ErrInvalid, "class", "class %q is not an emerging hot spot class", c)
		}
	}
	return nil
}

// key is the normalised query, filled and checked, for the map cache and
// for sharing an analysis: the jurisdiction, the settings with their
// defaults, the sets in order, and a window ending now as "now" and its
// length (every request's now differs; the cache's life bounds how stale
// such a map may be).
func (q *MapQuery) key() string {
	from, to := q.From.UTC().Format(time.RFC3339Nano), q.To.UTC().Format(time.RFC3339Nano)
	if q.toNow {
		to = "now"
		if q.fromWeeks {
			from = q.To.Sub(q.From).String() + " before now"
		}
	}
	alpha := q.Alpha
	if alpha == 0 {
		alpha = DefaultAlpha
	}
	classes := make([]string, len(q.Classes))
	for i, c := range q.Classes {
		classes[i] = string(c)
	}
	return fmt.Sprintf("j=%s|t=%s|c=%s|s=%s|from=%s|to=%s|d=%d|r=%d|k=%d|a=%v|class=%s|all=%t",
		strings.Join(sortedSet(q.Jurisdiction), ","), strings.Join(sortedSet(q.Townships), ","), q.Category,
		strings.Join(sortedSet(q.sourcesOrDefault()), ","), from, to, q.Days, q.Resolution, q.K, alpha,
		strings.Join(sortedSet(classes), ","), q.All && len(q.Classes) == 0)
}

// keep reports whether the map draws ct.
func (q *MapQuery) keep(ct CellTrend) bool {
	if len(q.Classes) > 0 {
		return slices.Contains(q.Classes, ct.Class)
	}
	return ct.Class != ClassNone || ct.Significance != NotSignificant || (q.All && ct.Count > 0)
}

// Map is the hotspot map: a GeoJSON FeatureCollection of H3 hexagons
// (CellTrend.Feature) with the analysis beside the features as foreign
// members (RFC 7946 §6.1).
type Map struct {
	Type       string             `json:"type"` // FeatureCollection
	Features   []*geojson.Feature `json:"features"`
	Window     MapWindow          `json:"window"`
	Townships  []string           `json:"townships"` // empty: the whole district
	Category   string             `json:"category,omitempty"`
	Sources    []string           `json:"sources"`
	Resolution int                `json:"resolution"`
	K          int                `json:"k"`
	Alpha      float64            `json:"alpha"`
	TrendAlpha float64            `json:"trend_alpha"`
	PMethod    PMethod            `json:"p_method"`
	Cells      int                `json:"cells"` // cells in the study area
	Clues      int                `json:"clues"`
	Classes    map[Class]int      `json:"classes"` // cells per class other than none, drawn or not
	Hot        int                `json:"hot"`     // cells significant hot over the whole window
	Cold       int                `json:"cold"`    // cells significant cold over the whole window
	TookMS     float64            `json:"took_ms"`
	Class      []Class            `json:"class,omitempty"` // the class filter, when given
	// Shared is true when the map was made for an identical query of
	// another request, still running or finished less than the cache's
	// life ago (DefaultMapTTL); Window.To then is when it was made.
	Shared bool `json:"shared"`
}

// MapWindow is a map's window [From, To) and its slices of Days days.
type MapWindow struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Days   int       `json:"days"`
	Slices []Slice   `json:"slices"`
}

// Map runs q's analysis, its window's defaults taken at the store's now,
// and draws the cells q keeps, in ascending order of index. Its work is
// bounded: q's Bounds limit the resolution and radius; an identical query
// (same jurisdiction) that is running or finished within MapTTL answers
// with its map instead (Shared); at most MaxAnalyses run at once, and one
// more is refused with ErrBusy; the analysis stops when no caller waits
// for it any more.
func (s *Store) Map(ctx context.Context, q MapQuery) (*Map, error) {
	if err := q.fill(s.now()); err != nil {
		return nil, err
	}
	if err := q.check(); err != nil {
		return nil, err
	}
	key := q.key()
	if m := s.keptMap(key); m != nil {
		return m, nil
	}
	m, shared, err := s.runMap.do(ctx, key, func(ctx context.Context) (*Map, error) {
		if m := s.keptMap(key); m != nil {
			return m, nil // finished while this caller looked
		}
		release, err := s.acquire()
		if err != nil {
			return nil, err
		}
		defer release()
		s.analyses.Add(1)
		m, err := s.analyse(ctx, q)
		if err != nil {
			return nil, err
		}
		s.keepMap(key, m)
		return m, nil
	})
	if err != nil || !shared {
		return m, err
	}
	c := *m
	c.Shared = true
	return &c, nil
}

// keptMap is a copy of the map kept under key, marked Shared; nil when
// none or too old.
func (s *Store) keptMap(key string) *Map {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.maps[key]
	if !ok {
		return nil
	}
	if s.now().Sub(c.made) >= s.opt.MapTTL {
		s.mapsHeld -= len(c.m.Features)
		delete(s.maps, key)
		return nil
	}
	m := *c.m
	m.Shared = true
	return &m
}

// keepMap keeps m under key for MapTTL, first dropping the maps that are
// too old, then the oldest while the features held would pass
// mapCacheFeatures; a map larger than that is not kept.
func (s *Store) keepMap(key string, m *Map) {
	if s.opt.MapTTL < 0 || len(m.Features) > mapCacheFeatures {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for k, c := range s.maps {
		if k == key || now.Sub(c.made) >= s.opt.MapTTL {
			s.mapsHeld -= len(c.m.Features)
			delete(s.maps, k)
		}
	}
	for len(s.maps) > 0 && s.mapsHeld+len(m.Features) > mapCacheFeatures {
		oldest := ""
		for k, c := range s.maps {
			if oldest == "" || c.made.Before(s.maps[oldest].made) {
				oldest = k
			}
		}
		s.mapsHeld -= len(s.maps[oldest].m.Features)
		delete(s.maps, oldest)
	}
	s.maps[key] = cachedMap{m: m, made: now}
	s.mapsHeld += len(m.Features)
}

// analyse runs the analysis of a filled and checked q and draws its map.
func (s *Store) analyse(ctx context.Context, q MapQuery) (*Map, error) {
	began := time.Now()
	r, err := s.Emerging(ctx, q.Query)
	if err != nil {
		return nil, err
	}
	days := q.Days
	if days == 0 {
		days = DefaultSliceDays
	}
	m := &Map{
		Type:      "FeatureCollection",
		Features:  r.FeatureCollection(q.keep).Features,
		Window:    MapWindow{From: q.From, To: q.To, Days: days, Slices: r.Slices},
		Townships: q.Townships, Category: q.Category, Sources: q.sourcesOrDefault(),
		Resolution: r.Resolution, K: r.K, Alpha: r.Alpha, TrendAlpha: r.TrendAlpha, PMethod: r.PMethod,
		Cells: len(r.Cells), Clues: r.Clues, Classes: r.Classes, Class: q.Classes,
	}
	if m.Townships == nil {
		m.Townships = []string{}
	}
	for _, ct := range r.Cells {
		switch ct.Significance {
		case Hot:
			m.Hot++
		case Cold:
			m.Cold++
		}
	}
	m.TookMS = float64(time.Since(began).Microseconds()) / 1000
	return m, nil
}

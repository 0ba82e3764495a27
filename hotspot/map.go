package hotspot

import (
	"context"
	"slices"
	"time"

	"github.com/paulmach/orb/geojson"

	"whistlegrid/fault"
)

// DefaultWeeks is how many slices a map's window holds when its query
// gives no start: twelve slices (weeks, at DefaultSliceDays) up to the end.
const DefaultWeeks = 12

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
}

// fill sets the window's defaults at now and checks what Query.check
// does not: weeks and the class names.
func (q *MapQuery) fill(now time.Time) error {
	if q.To.IsZero() {
		q.To = now
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
		q.From = q.To.AddDate(0, 0, -weeks*days)
	}
	for _, c := range q.Classes {
		if !slices.Contains(Classes(), c) {
			return fault.FieldErrorf(ErrInvalid, "class", "class %q is not an emerging hot spot class", c)
		}
	}
	return nil
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
}

// MapWindow is a map's window [From, To) and its slices of Days days.
type MapWindow struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Days   int       `json:"days"`
	Slices []Slice   `json:"slices"`
}

// Map runs q's analysis, its window's defaults taken at the store's now,
// and draws the cells q keeps, in ascending order of index.
func (s *Store) Map(ctx context.Context, q MapQuery) (*Map, error) {
	began := time.Now()
	if err := q.fill(s.now()); err != nil {
		return nil, err
	}
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

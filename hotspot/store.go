package hotspot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"whistlegrid/fault"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	"github.com/uber/h3-go/v4"
)

// Errors of the store: the sentinels of the fault.Errors it returns, for
// the API to map to statuses.
var (
	// ErrInvalid: a query that cannot run (bad window, resolution, ...).
	// Its errors name the field as GET /api/v1/hotspots names the
	// parameter (res, k, alpha, days, to, source, weeks, class) when one
	// parameter is at fault.
	ErrInvalid = fault.New(fault.Invalid, "hotspot: invalid")
	// ErrNotFound: an unknown township or category.
	ErrNotFound = fault.New(fault.NotFound, "hotspot: not found")
)

// Limits of a Query.
const (
	// MinQueryResolution and MaxQueryResolution bound the H3 resolution of
	// a stored-clue analysis: at 10 the district is about 190,000 cells,
	// at 11 it would be over a million.
	MinQueryResolution = 5
	MaxQueryResolution = 10
	// MaxQueryK bounds the k-ring radius of a stored-clue analysis.
	MaxQueryK = 3
	// areaCacheSize is how many study areas the store keeps built.
	areaCacheSize = 32
	// areaTTL is how long a built study area is reused; a township's
	// outline seldom changes, and a changed one is picked up after this.
	areaTTL = time.Hour
)

// SourceHotspot is the clue source of the clues the scan files. The
// analysis leaves such clues out unless a query asks for them by name, so
// that a hot spot does not feed on its own reports.
const SourceHotspot = "hotspot"

// sources are the clue sources, as the clues table checks them.
var sources = []string{"patrol", "hotline", "app", "forum", "hotspot", "sensor"}

// Store runs the analyses over the stored clues: it reads the clues a
// Query selects and keeps the study areas (every H3 cell of the district,
// or of some townships) built, so that empty cells count as zeros.
type Store struct {
	pool *pgxpool.Pool
	now  func() time.Time

	mu    sync.Mutex
	areas map[string]cachedArea
}

type cachedArea struct {
	area  *Area
	built time.Time
}

// NewStore returns a store on pool.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, now: time.Now, areas: map[string]cachedArea{}}
}

// Query is an emerging hot spot analysis of stored clues.
type Query struct {
	// Townships limits the clues and the study area to these township
	// codes; empty means the whole district.
	Townships []string
	// Category is a category code; its subcategories are included. ""
	// means every category.
	Category string
	// Sources limits the clue sources; empty means every source but
	// SourceHotspot.
	Sources []string
	// From and To are the window [From, To), cut into slices of Days
	// days from From (the last one shorter when the window is not a whole
	// number of slices).
	From, To time.Time
	// Days is the slice length; 0 means DefaultSliceDays.
	Days int
	// Resolution, K and Alpha are as in Options; 0 means the default.
	Resolution, K int
	Alpha         float64

	codes []string // exactly these category codes (the scan's Categories); nil: all
}

func (q *Query) check() error {
	if q.Resolution == 0 {
		q.Resolution = DefaultResolution
	}
	if q.K == 0 {
		q.K = DefaultK
	}
	if q.Days == 0 {
		q.Days = DefaultSliceDays
	}
	switch {
	case q.Resolution < MinQueryResolution || q.Resolution > MaxQueryResolution:
		return fault.FieldErrorf(ErrInvalid, "res", "resolution %d is outside %d..%d", q.Resolution, MinQueryResolution, MaxQueryResolution)
	case q.K < 1 || q.K > MaxQueryK:
		return fault.FieldErrorf(ErrInvalid, "k", "k %d is outside 1..%d", q.K, MaxQueryK)
	case q.Alpha != 0 && !(q.Alpha > 0 && q.Alpha < 1):
		return fault.FieldErrorf(ErrInvalid, "alpha", "alpha %v is outside (0, 1)", q.Alpha)
	case q.Days < 1 || q.Days > 366:
		return fault.FieldErrorf(ErrInvalid, "days", "a slice of %d days is outside 1..366", q.Days)
	case q.From.IsZero() || q.To.IsZero():
		return fault.Errorf(ErrInvalid, "the window needs a start and an end")
	case !q.To.After(q.From):
		return fault.FieldErrorf(ErrInvalid, "to", "the window's end %s is not after its start %s", q.To.Format(time.RFC3339), q.From.Format(time.RFC3339))
	}
	switch n := sliceCount(q.From, q.To, q.Days); {
	case n < 2:
		return fault.Errorf(ErrInvalid, "the window holds one slice of %d days; a trend needs at least 2", q.Days)
	case n > MaxSlices:
		return fault.Errorf(ErrInvalid, "the window holds more than %d slices of %d days", MaxSlices, q.Days)
	}
	for _, s := range q.Sources {
		if !slices.Contains(sources, s) {
			return fault.FieldErrorf(ErrInvalid, "source", "source %q is not one of %s", s, strings.Join(sources, ", "))
		}
	}
	return nil
}

// sliceCount is how many slices of days days Emerging cuts [from, to)
// into, counting no further than MaxSlices+1.
func sliceCount(from, to time.Time, days int) int {
	n := 0
	for t := from; t.Before(to) && n <= MaxSlices; {
		n++
		t = from.AddDate(0, 0, n*days)
	}
	return n
}

// DefaultSources are the clue sources a Query reads when it names none:
// every one but SourceHotspot.
func DefaultSources() []string {
	return slices.DeleteFunc(slices.Clone(sources), func(s string) bool { return s == SourceHotspot })
}

// sourcesOrDefault is the sources to read: the query's, or
// DefaultSources.
func (q Query) sourcesOrDefault() []string {
	if len(q.Sources) > 0 {
		return q.Sources
	}
	return DefaultSources()
}

// Emerging runs the emerging hot spot analysis of the clues q selects over
// the study area of q's townships (the district when none).
func (s *Store) Emerging(ctx context.Context, q Query) (*EmergingResult, error) {
	if err := q.check(); err != nil {
		return nil, err
	}
	if err := s.checkCategory(ctx, q.Category); err != nil {
		return nil, err
	}
	area, err := s.Area(ctx, q.Townships, q.Resolution, q.K)
	if err != nil {
		return nil, err
	}
	pts, err := s.points(ctx, q)
	if err != nil {
		return nil, err
	}
	return Emerging(pts, EmergingOptions{
		Options: Options{Resolution: q.Resolution, K: q.K, Alpha: q.Alpha, Area: area},
		Start:   q.From, End: q.To, Days: q.Days,
	})
}

func (s *Store) checkCategory(ctx context.Context, code string) error {
	if code == "" {
		return nil
	}
	var ok bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM categories WHERE code = $1)`, code).Scan(&ok); err != nil {
		return fmt.Errorf("hotspot: category: %w", err)
	}
	if !ok {
		return fault.Errorf(ErrNotFound, "no category %q", code)
	}
	return nil
}

// pointsSQL reads the clues of a query: $1..$2 the window, $3 the township
// codes (NULL: all), $4 the category code (empty: all), $5 the sources,
// $6 exact category codes (NULL: all).
const pointsSQL = `
SELECT ST_X(c.location), ST_Y(c.location), c.reported_at, cat.code, cat.name
FROM clues c
JOIN categories cat ON cat.id = c.category_id
JOIN grids t ON t.id = c.township_id
WHERE c.reported_at >= $1 AND c.reported_at < $2
  AND ($3::text[] IS NULL OR t.code = ANY($3::text[]))
  AND ($4 = '' OR cat.code = $4 OR cat.code LIKE $4 || '.%')
  AND c.source = ANY($5::text[])
  AND ($6::text[] IS NULL OR cat.code = ANY($6::text[]))`

// categorised is a clue's point with its category.
type categorised struct {
	Point
	code, name string
}

func (s *Store) readPoints(ctx context.Context, q Query) ([]categorised, error) {
	var towns []string
	if len(q.Townships) > 0 {
		towns = q.Townships
	}
	rows, err := s.pool.Query(ctx, pointsSQL, q.From, q.To, towns, q.Category, q.sourcesOrDefault(), nilIfEmpty(q.codes))
	if err != nil {
		return nil, fmt.Errorf("hotspot: clues: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (categorised, error) {
		var c categorised
		err := r.Scan(&c.Lon, &c.Lat, &c.At, &c.code, &c.name)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("hotspot: clues: %w", err)
	}
	return out, nil
}

func (s *Store) points(ctx context.Context, q Query) ([]Point, error) {
	cs, err := s.readPoints(ctx, q)
	if err != nil {
		return nil, err
	}
	pts := make([]Point, len(cs))
	for i, c := range cs {
		pts[i] = c.Point
	}
	return pts, nil
}

// Area returns the study area of the townships (the district when none)
// at resolution res with k-ring radius k: every H3 cell whose centre lies
// within a little more than one cell's radius of the outline, so every
// cell that touches the land is in. Areas are built once and kept for an
// hour.
func (s *Store) Area(ctx context.Context, townships []string, res, k int) (*Area, error) {
	towns := slices.Clone(townships)
	slices.Sort(towns)
	towns = slices.Compact(towns)
	key := fmt.Sprintf("%d/%d/%s", res, k, strings.Join(towns, ","))
	now := s.now()
	s.mu.Lock()
	if c, ok := s.areas[key]; ok && now.Sub(c.built) < areaTTL {
		s.mu.Unlock()
		return c.area, nil
	}
	s.mu.Unlock()

	cells, err := s.areaCells(ctx, towns, res)
	if err != nil {
		return nil, err
	}
	a, err := NewArea(cells, k)
	if err != nil {
		return nil, fmt.Errorf("hotspot: study area: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.areas) >= areaCacheSize {
		oldest := ""
		for k, c := range s.areas {
			if oldest == "" || c.built.Before(s.areas[oldest].built) {
				oldest = k
			}
		}
		delete(s.areas, oldest)
	}
	s.areas[key] = cachedArea{area: a, built: now}
	return a, nil
}

// areaCells returns the cells of the outline of the townships (the
// district when none), grown by 1.2 average cell edges so that cells
// whose centre lies just outside but which cover some land are in.
func (s *Store) areaCells(ctx context.Context, towns []string, res int) ([]h3.Cell, error) {
	grow := 1.2 * h3.HexagonEdgeLengthAvgM(res)
	var (
		found int
		b     []byte
	)
	err := s.pool.QueryRow(ctx, `
		SELECT count(*)::int,
		       ST_AsBinary(ST_Buffer(ST_SimplifyPreserveTopology(ST_Union(geom), 0.0001)::geography, $2)::geometry)
		FROM grids
		WHERE CASE WHEN $1::text[] IS NULL THEN level = 'district' ELSE level = 'township' AND code = ANY($1::text[]) END`,
		nilIfEmpty(towns), grow).Scan(&found, &b)
	if err != nil {
		return nil, fmt.Errorf("hotspot: study area: %w", err)
	}
	if len(towns) > 0 && found != len(towns) {
		return nil, fault.Errorf(ErrNotFound, "%d of the townships %s are not township codes", len(towns)-found, strings.Join(towns, ", "))
	}
	if len(towns) == 0 && found == 0 {
		return nil, fault.Errorf(ErrNotFound, "there is no district outline")
	}
	g, err := wkb.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("hotspot: study area: %w", err)
	}
	var polys orb.MultiPolygon
	switch g := g.(type) {
	case orb.Polygon:
		polys = orb.MultiPolygon{g}
	case orb.MultiPolygon:
		polys = g
	default:
		return nil, fmt.Errorf("hotspot: study area: the outline is a %s", g.GeoJSONType())
	}
	var cells []h3.Cell
	for _, p := range polys {
		cells = append(cells, h3.PolygonToCells(geoPolygon(p), res)...)
	}
	return cells, nil
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// geoPolygon turns an orb polygon (lon/lat) into h3's (lat/lng).
func geoPolygon(p orb.Polygon) h3.GeoPolygon {
	loop := func(r orb.Ring) h3.GeoLoop {
		l := make(h3.GeoLoop, 0, len(r))
		for _, v := range r {
			l = append(l, h3.NewLatLng(v[1], v[0]))
		}
		return l
	}
	var g h3.GeoPolygon
	if len(p) == 0 {
		return g
	}
	g.GeoLoop = loop(p[0])
	for _, h := range p[1:] {
		g.Holes = append(g.Holes, loop(h))
	}
	return g
}

package hotspot

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"whistlegrid/fault"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"
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
	// ErrBusy: StoreOptions.MaxAnalyses analyses of Map are running, and
	// this one is refused rather than queued (429 with Retry-After).
	ErrBusy = fault.New(fault.TooMany, "hotspot: busy")
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
	// areaCacheSize is how many study areas the store keeps built, and
	// areaCacheBytes how much memory they may take together (Area.bytes):
	// the district's twelve areas at resolutions 7 to 10 and radii 1 to
	// 3 take about 90 MB.
	areaCacheSize  = 32
	areaCacheBytes = 256 << 20
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

// Defaults of StoreOptions.
const (
	// DefaultMaxAnalyses is how many analyses of Map run at once: on two
	// cores, two at resolution 10 keep both busy, in twice the memory
	// bound of one (README, hotspot section).
	DefaultMaxAnalyses = 2
	// DefaultMapTTL is how long a finished map answers identical queries.
	DefaultMapTTL = 30 * time.Second
	// busyRetryAfter is the Retry-After of ErrBusy: a warm analysis of
	// the district at resolution 10 takes about a second.
	busyRetryAfter = 2 * time.Second
	// mapCacheFeatures bounds the features the cached maps hold together
	// (about 1 KB each); a larger map is not kept.
	mapCacheFeatures = 50_000
)

// StoreOptions bound the work of a Store's maps; the zero value is the
// production setting.
type StoreOptions struct {
	// MaxAnalyses is how many analyses of Map run at once; one more is
	// refused with ErrBusy rather than queued. 0 means
	// DefaultMaxAnalyses.
	MaxAnalyses int
	// MapTTL is how long a finished map answers identical queries (the
	// same MapQuery, jurisdiction included) without a new analysis. 0
	// means DefaultMapTTL; negative keeps nothing.
	MapTTL time.Duration
}

// Store runs the analyses over the stored clues: it reads the clues a
// Query selects and keeps the study areas (every H3 cell of the district,
// or of some townships) built, so that empty cells count as zeros. It
// bounds the work of Map: identical queries share one analysis (running,
// or finished within MapTTL), and at most MaxAnalyses run at once.
type Store struct {
	pool *pgxpool.Pool
	now  func() time.Time
	opt  StoreOptions

	mu        sync.Mutex
	areas     map[string]cachedArea
	maps      map[string]cachedMap
	mapsHeld  int // features of the cached maps
	buildArea flights[*Area]
	runMap    flights[*Map]
	slots     chan struct{} // one per analysis running
	analyses  atomic.Int64
}

type cachedArea struct {
	area  *Area
	built time.Time
}

type cachedMap struct {
	m    *Map
	made time.Time
}

// NewStore returns a store on pool with the default StoreOptions.
func NewStore(pool *pgxpool.Pool) *Store { return NewStoreWith(pool, StoreOptions{}) }

// NewStoreWith returns a store on pool bounded by opt.
func NewStoreWith(pool *pgxpool.Pool, opt StoreOptions) *Store {
	if opt.MaxAnalyses <= 0 {
		opt.MaxAnalyses = DefaultMaxAnalyses
	}
	if opt.MapTTL == 0 {
		opt.MapTTL = DefaultMapTTL
	}
	return &Store{pool: pool, now: time.Now, opt: opt, areas: map[string]cachedArea{}, maps: map[string]cachedMap{},
		slots: make(chan struct{}, opt.MaxAnalyses)}
}

// Analyses is how many analyses Map has run since the store was made; a
// map served from the cache, or shared with an identical query, does not
// count.
func (s *Store) Analyses() int64 { return s.analyses.Load() }

// acquire takes one of the MaxAnalyses places, or answers ErrBusy when
// none is free; release gives it back.
func (s *Store) acquire() (release func(), err error) {
	select {
	case s.slots <- struct{}{}:
		return func() { <-s.slots }, nil
	default:
		return nil, &fault.Error{Kind: fault.TooMany, Err: ErrBusy, RetryAfter: busyRetryAfter,
			Message: fmt.Sprintf("%d hotspot analyses are running, as many as run at once; try again in a few seconds", cap(s.slots))}
	}
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
// the study area of q's townships (the district when none). It stops with
// ctx's error when ctx ends, in the SQL and in the analysis's loops alike.
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
	return EmergingContext(ctx, pts, EmergingOptions{
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
// cell that touches the land is in. Areas are built once, by one caller
// while the others asking for the same wait, and kept for an hour.
func (s *Store) Area(ctx context.Context, townships []string, res, k int) (*Area, error) {
	towns := sortedSet(townships)
	key := fmt.Sprintf("%d/%d/%s", res, k, strings.Join(towns, ","))
	if a := s.keptArea(key); a != nil {
		return a, nil
	}
	a, _, err := s.buildArea.do(ctx, key, func(ctx context.Context) (*Area, error) {
		if a := s.keptArea(key); a != nil {
			return a, nil // built while this caller looked
		}
		cells, err := s.areaCells(ctx, towns, res)
		if err != nil {
			return nil, err
		}
		a, err := newArea(ctx, cells, k)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("hotspot: study area: %w", err)
		}
		s.keepArea(key, a)
		return a, nil
	})
	return a, err
}

// keptArea is the area kept under key, nil when none or too old.
func (s *Store) keptArea(key string) *Area {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.areas[key]; ok && s.now().Sub(c.built) < areaTTL {
		return c.area
	}
	return nil
}

// keepArea keeps a under key, dropping the oldest areas while there are
// areaCacheSize of them or they would take more than areaCacheBytes.
func (s *Store) keepArea(key string, a *Area) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.areas, key)
	held := a.bytes()
	for _, c := range s.areas {
		held += c.area.bytes()
	}
	for len(s.areas) > 0 && (len(s.areas) >= areaCacheSize || held > areaCacheBytes) {
		oldest := ""
		for k, c := range s.areas {
			if oldest == "" || c.built.Before(s.areas[oldest].built) {
				oldest = k
			}
		}
		held -= s.areas[oldest].area.bytes()
		delete(s.areas, oldest)
	}
	s.areas[key] = cachedArea{area: a, built: s.now()}
}

// sortedSet returns the distinct strings of ss in order, in a new slice.
func sortedSet(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return slices.Compact(out)
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
	return polygonCells(ctx, polys, res)
}

// stripCells is about how many cells one call of h3's PolygonToCells
// covers when polygonCells cuts an outline into strips: some 20 ms of
// work, so that a canceled analysis stops building its study area
// within that.
const stripCells = 8192

// polygonCells returns the cells at resolution res whose centre lies in
// polys, as h3.PolygonToCells does, a cell on the line between two strips
// possibly twice. It cuts the outline into strips of longitude, each of
// about stripCells cells of its box, and checks ctx before each: one call
// over the whole district at resolution 10 would take seconds, and
// could not be stopped.
func polygonCells(ctx context.Context, polys orb.MultiPolygon, res int) ([]h3.Cell, error) {
	b := polys.Bound()
	midLat := (b.Min[1] + b.Max[1]) / 2 * math.Pi / 180
	boxM2 := (b.Max[0] - b.Min[0]) * math.Cos(midLat) * (b.Max[1] - b.Min[1]) * metresPerDegree * metresPerDegree
	strips := max(1, int(math.Ceil(boxM2/h3.HexagonAreaAvgM2(res)/stripCells)))
	width := (b.Max[0] - b.Min[0]) / float64(strips)
	var cells []h3.Cell
	for i := range strips {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		strip := orb.Bound{Min: orb.Point{b.Min[0] + float64(i)*width, b.Min[1]}, Max: orb.Point{b.Min[0] + float64(i+1)*width, b.Max[1]}}
		if i == strips-1 {
			strip.Max[0] = b.Max[0]
		}
		for _, p := range polys {
			if part := clip.Polygon(strip, p.Clone()); len(part) > 0 {
				cells = append(cells, h3.PolygonToCells(geoPolygon(part), res)...)
			}
		}
	}
	return cells, nil
}

// metresPerDegree is the length of a degree of latitude, near enough for
// sizing strips.
const metresPerDegree = 111_320

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

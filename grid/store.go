package grid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"whistlegrid/access"
	"whistlegrid/fault"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Errors the store returns, as the sentinels of the fault.Errors it
// makes; the API maps their kinds to statuses.
var (
	ErrNotFound = fault.New(fault.NotFound, "grid: not found")
	ErrInvalid  = fault.New(fault.Invalid, "grid: invalid")
)

// ValidLevel reports whether s names a grid level: district, township,
// zone, village or household.
func ValidLevel(s string) bool {
	switch s {
	case "district", "township", "zone", "village", "household":
		return true
	}
	return false
}

// Store reads grids, the people on duty, units and categories.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Filter selects grids for Features. Zero fields select everything.
type Filter struct {
	Level  string
	Parent string      // parent grid code
	BBox   *[4]float64 // minLon, minLat, maxLon, maxLat, WGS-84
}

// featuresQuery builds the whole RFC 7946 FeatureCollection in SQL, with
// geometry straight from ST_AsGeoJSON (6 decimals, about 0.1 m), exterior
// rings counter-clockwise (ST_ForcePolygonCCW) as RFC 7946 §3.1.6 asks.
const featuresQuery = `
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(f ORDER BY f.id), '[]'::json))::text
FROM (
	SELECT g.code AS id, 'Feature' AS type,
		ST_AsGeoJSON(ST_ForcePolygonCCW(g.geom), 6)::json AS geometry,
		json_build_object('code', g.code, 'name', g.name, 'level', g.level, 'kind', g.kind, 'parent_code', p.code) AS properties
	FROM grids g
	LEFT JOIN grids p ON p.id = g.parent_id
	WHERE g.valid_to IS NULL
	  AND ($1 = '' OR g.level = $1)
	  AND ($2 = '' OR p.code = $2)
	  AND ($3::float8 IS NULL OR g.geom && ST_MakeEnvelope($3, $4, $5, $6, 4326))
	  AND ` + "%s" + `
) f`

// Features returns the grids that match f and lie in the caller's
// jurisdiction, as a GeoJSON FeatureCollection with properties code, name,
// level, kind, parent_code.
func (s *Store) Features(ctx context.Context, sc access.Scope, f Filter) ([]byte, error) {
	if f.Level != "" && !ValidLevel(f.Level) {
		return nil, fault.FieldErrorf(ErrInvalid, "level", "level must be one of district, township, zone, village, household")
	}
	var b [4]any
	if f.BBox != nil {
		for i, v := range f.BBox {
			b[i] = v
		}
	}
	q := fmt.Sprintf(featuresQuery, access.PrefixClause("g.code", "$7"))
	var out string
	if err := s.pool.QueryRow(ctx, q, f.Level, f.Parent, b[0], b[1], b[2], b[3], sc.Prefixes()).Scan(&out); err != nil {
		return nil, fmt.Errorf("grid: features: %w", err)
	}
	return []byte(out), nil
}

// OnDuty is one person responsible for a grid.
type OnDuty struct {
	Duty     string `json:"duty"` // zone (包片), village (包村), household (包户), patrol (巡查)
	Name     string `json:"name"`
	Phone    string `json:"phone"`
	Role     string `json:"role"`
	GridCode string `json:"grid_code"`
}

// Feature is one grid as a GeoJSON Feature with the people on duty.
type Feature struct {
	Type       string          `json:"type"`
	ID         string          `json:"id"`
	Geometry   json.RawMessage `json:"geometry"`
	Properties FeatureProps    `json:"properties"`
}

// FeatureProps are a grid Feature's properties.
type FeatureProps struct {
	Code       string   `json:"code"`
	Name       string   `json:"name"`
	Level      string   `json:"level"`
	Kind       string   `json:"kind"`
	ParentCode *string  `json:"parent_code"`
	AreaKM2    float64  `json:"area_km2"`
	Children   int      `json:"children"`
	Households int      `json:"households"`
	ValidFrom  string   `json:"valid_from"`
	OnDuty     []OnDuty `json:"on_duty"`
}

const featureQuery = `
SELECT g.code, g.name, g.level, g.kind, p.code, ST_AsGeoJSON(ST_ForcePolygonCCW(g.geom), 6),
	ST_Area(g.geom::geography) / 1e6,
	(SELECT count(*) FROM grids c WHERE c.parent_id = g.id AND c.valid_to IS NULL),
	CASE g.level
		WHEN 'household' THEN (SELECT count(*) FROM households h WHERE h.grid_id = g.id)
		WHEN 'district' THEN (SELECT count(*) FROM households)
		ELSE (SELECT count(*) FROM households h JOIN grids hg ON hg.id = h.grid_id WHERE hg.code LIKE g.code || '%')
	END,
	g.valid_from
FROM grids g
LEFT JOIN grids p ON p.id = g.parent_id
WHERE g.code = $1 AND g.valid_to IS NULL AND `

const onDutyQuery = `
SELECT a.duty, pe.name, coalesce(pe.phone, ''), pe.role, g.code
FROM assignments a
JOIN people pe ON pe.id = a.person_id
JOIN grids g ON g.id = a.grid_id
WHERE g.code = $1 AND a.valid_from <= $2 AND (a.valid_to IS NULL OR a.valid_to > $2)
ORDER BY array_position(ARRAY['zone', 'village', 'patrol', 'household'], a.duty), pe.name`

// Feature returns one grid in the caller's jurisdiction, with the people on
// duty at time at (now when zero). Phones are masked unless the caller's
// role needs them.
func (s *Store) Feature(ctx context.Context, sc access.Scope, code string, at time.Time) (Feature, error) {
	if at.IsZero() {
		at = time.Now()
	}
	f := Feature{Type: "Feature"}
	p := &f.Properties
	var geom string
	var from time.Time
	err := s.pool.QueryRow(ctx, featureQuery+access.PrefixClause("g.code", "$2"), code, sc.Prefixes()).
		Scan(&p.Code, &p.Name, &p.Level, &p.Kind, &p.ParentCode, &geom, &p.AreaKM2, &p.Children, &p.Households, &from)
	if errors.Is(err, pgx.ErrNoRows) {
		return Feature{}, fault.Errorf(ErrNotFound, "no grid %s in your jurisdiction", code)
	}
	if err != nil {
		return Feature{}, fmt.Errorf("grid: feature: %w", err)
	}
	f.ID = p.Code
	f.Geometry = json.RawMessage(geom)
	p.ValidFrom = from.UTC().Format(time.RFC3339)
	rows, err := s.pool.Query(ctx, onDutyQuery, code, at)
	if err != nil {
		return Feature{}, fmt.Errorf("grid: on duty: %w", err)
	}
	p.OnDuty, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (OnDuty, error) {
		var d OnDuty
		err := r.Scan(&d.Duty, &d.Name, &d.Phone, &d.Role, &d.GridCode)
		if !sc.SeesDutyPhones() {
			d.Phone = access.MaskPhone(d.Phone)
		}
		return d, err
	})
	if err != nil {
		return Feature{}, fmt.Errorf("grid: on duty: %w", err)
	}
	if p.OnDuty == nil {
		p.OnDuty = []OnDuty{}
	}
	return f, nil
}

// Unit is a department, field station or utility.
type Unit struct {
	Code      string   `json:"code"`
	Name      string   `json:"name"`
	Kind      string   `json:"kind"` // department, station, utility
	Phone     string   `json:"phone"`
	Townships []string `json:"townships"` // codes of the townships served; empty for district-wide units
}

const unitsQuery = `
SELECT u.code, u.name, u.kind, coalesce(u.phone, ''),
	ARRAY(SELECT t.code FROM unit_townships ut JOIN grids t ON t.id = ut.township_id WHERE ut.unit_id = u.id ORDER BY t.code)
FROM units u
WHERE $1 = '' OR u.kind = $1
ORDER BY u.code`

// Units lists the units, optionally of one kind. Unit switchboard phones
// are public.
func (s *Store) Units(ctx context.Context, kind string) ([]Unit, error) {
	switch kind {
	case "", "department", "station", "utility":
	default:
		return nil, fault.FieldErrorf(ErrInvalid, "kind", "kind must be department, station or utility")
	}
	rows, err := s.pool.Query(ctx, unitsQuery, kind)
	if err != nil {
		return nil, fmt.Errorf("grid: units: %w", err)
	}
	us, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Unit, error) {
		var u Unit
		err := r.Scan(&u.Code, &u.Name, &u.Kind, &u.Phone, &u.Townships)
		return u, err
	})
	if err != nil {
		return nil, fmt.Errorf("grid: units: %w", err)
	}
	return us, nil
}

// Category is a node of the category tree.
type Category struct {
	Code            string      `json:"code"`
	Name            string      `json:"name"`
	Style           string      `json:"style"` // city, hotline
	DefaultGrade    string      `json:"default_grade"`
	ReportInMinutes int         `json:"report_in_minutes"`
	ResolveMinutes  int         `json:"resolve_minutes"`
	Children        []*Category `json:"children"`
	parent          string
}

const categoriesQuery = `
SELECT c.code, c.name, c.style, c.default_grade, c.report_in_minutes, c.resolve_minutes, coalesce(p.code, '')
FROM categories c LEFT JOIN categories p ON p.id = c.parent_id
ORDER BY c.depth, c.code`

// Categories returns the category tree, roots first, children by code.
func (s *Store) Categories(ctx context.Context) ([]*Category, error) {
	rows, err := s.pool.Query(ctx, categoriesQuery)
	if err != nil {
		return nil, fmt.Errorf("grid: categories: %w", err)
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Category, error) {
		c := &Category{Children: []*Category{}}
		err := r.Scan(&c.Code, &c.Name, &c.Style, &c.DefaultGrade, &c.ReportInMinutes, &c.ResolveMinutes, &c.parent)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("grid: categories: %w", err)
	}
	return buildTree(all), nil
}

// buildTree links categories, ordered parents first, into a forest.
func buildTree(all []*Category) []*Category {
	byCode := make(map[string]*Category, len(all))
	roots := []*Category{}
	for _, c := range all {
		byCode[c.Code] = c
		if p, ok := byCode[c.parent]; ok {
			p.Children = append(p.Children, c)
		} else {
			roots = append(roots, c)
		}
	}
	return roots
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

package grid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"whistlegrid/access"
	"whistlegrid/fault"

	"github.com/jackc/pgx/v5"
)

// ToleranceM2 is the area, in square metres on the WGS-84 ellipsoid, below
// which a gap, an overlap or a part outside a parent is a sliver of
// floating-point noise and not a defect. The coverage review reports areas
// of at least ToleranceM2; a grid edit is refused when it overlaps a
// sibling or leaves its parent by at least ToleranceM2.
const ToleranceM2 = 1.0

// OutlierSD is how many standard deviations from the mean a party
// member's household count must lie to be an outlier.
const OutlierSD = 2.0

// OutlierRule says in words which party-member loads are outliers.
const OutlierRule = "households per party member outside mean ± 2 sd (population sd over the party members of the parent)"

// Coverage is the coverage review of one parent grid: what its children
// leave uncovered or cover twice, who is missing on duty below it, and how
// its households and party members fit their grids. Every list is also a
// GeoJSON FeatureCollection in Layers, one Feature per list item with the
// item as its properties.
type Coverage struct {
	Parent        CoverageParent    `json:"parent"`
	CheckedAt     time.Time         `json:"checked_at"`
	ToleranceM2   float64           `json:"tolerance_m2"`
	Children      int               `json:"children"`
	Gaps          []Gap             `json:"gaps"`
	Overlaps      []Overlap         `json:"overlaps"`
	OutsideParent []OutsideParent   `json:"outside_parent"`
	Unstaffed     []Unstaffed       `json:"unstaffed"`
	Outside       []HouseholdAstray `json:"households_outside"`
	NoMember      []HouseholdRef    `json:"households_without_party_member"`
	Load          PartyMemberLoad   `json:"party_member_load"`
	Layers        CoverageLayers    `json:"layers"`
}

// CoverageParent names the grid a review is of.
type CoverageParent struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Level string `json:"level"`
}

// Gap is one polygon of the parent that no child covers.
type Gap struct {
	AreaM2   float64         `json:"area_m2"`
	Point    [2]float64      `json:"point"` // a point inside the gap, lon/lat, for a label
	Geometry json.RawMessage `json:"-"`
}

// Overlap is the area two sibling children both cover.
type Overlap struct {
	A        string          `json:"a"`
	AName    string          `json:"a_name"`
	B        string          `json:"b"`
	BName    string          `json:"b_name"`
	AreaM2   float64         `json:"area_m2"`
	Point    [2]float64      `json:"point"`
	Geometry json.RawMessage `json:"-"`
}

// OutsideParent is the part of a child that lies outside its parent, as a
// shrunk parent leaves it.
type OutsideParent struct {
	Code     string          `json:"code"`
	Name     string          `json:"name"`
	AreaM2   float64         `json:"area_m2"`
	Point    [2]float64      `json:"point"`
	Geometry json.RawMessage `json:"-"`
}

// Unstaffed is a grid below the parent with nobody on duty now for a duty
// its level needs: zone needs zone (包片), village needs village (包村) and
// patrol (巡查), household grid needs household (包户).
type Unstaffed struct {
	Code       string          `json:"code"`
	Name       string          `json:"name"`
	Level      string          `json:"level"`
	ParentCode string          `json:"parent_code"`
	Missing    []string        `json:"missing"`
	Geometry   json.RawMessage `json:"-"`
}

// HouseholdRef is a household by id, address and household grid.
type HouseholdRef struct {
	ID       int64           `json:"id"`
	Address  string          `json:"address"`
	GridCode string          `json:"grid_code"`
	Geometry json.RawMessage `json:"-"`
}

// HouseholdAstray is a household whose location its household grid does
// not cover (ST_Covers).
type HouseholdAstray struct {
	HouseholdRef
	// CoveredBy is the current household grid that does cover the
	// location (lowest code on a shared edge), nil when none does.
	CoveredBy *string `json:"covered_by"`
	// DistanceM is the distance from the location to its own grid, metres.
	DistanceM float64 `json:"distance_m"`
}

// MemberLoad is one party member and how many of the parent's households
// they look after.
type MemberLoad struct {
	PersonID   int64           `json:"person_id"`
	Name       string          `json:"name"`
	Phone      string          `json:"phone"` // masked unless the caller's role sees duty phones
	Households int             `json:"households"`
	GridCodes  []string        `json:"grid_codes"` // household grids under the parent they are on duty for now
	Z          float64         `json:"z"`          // (households - mean) / sd; 0 when sd is 0
	Geometry   json.RawMessage `json:"-"`
}

// PartyMemberLoad is the households-per-party-member statistic over the
// party members of the parent: those on household duty now in a household
// grid under it, or named as party member of one of its households.
type PartyMemberLoad struct {
	Members    int          `json:"members"`
	Households int          `json:"households"` // households with a party member
	Mean       float64      `json:"mean"`
	SD         float64      `json:"sd"`   // population standard deviation
	Low        float64      `json:"low"`  // mean - 2 sd: fewer households is an outlier
	High       float64      `json:"high"` // mean + 2 sd: more households is an outlier
	Rule       string       `json:"rule"`
	Loads      []MemberLoad `json:"loads"` // every member, most households first
	Outliers   []MemberLoad `json:"outliers"`
}

// CoverageLayers are the lists as GeoJSON FeatureCollections for the map.
type CoverageLayers struct {
	Gaps          FeatureCollection `json:"gaps"`                            // Polygon
	Overlaps      FeatureCollection `json:"overlaps"`                        // Polygon or MultiPolygon
	OutsideParent FeatureCollection `json:"outside_parent"`                  // Polygon or MultiPolygon
	Unstaffed     FeatureCollection `json:"unstaffed"`                       // MultiPolygon: the grid
	Outside       FeatureCollection `json:"households_outside"`              // Point
	NoMember      FeatureCollection `json:"households_without_party_member"` // Point
	Load          FeatureCollection `json:"party_member_load"`               // MultiPoint of an outlier's households, null when none
}

// FeatureCollection is a GeoJSON FeatureCollection whose geometries come
// from ST_AsGeoJSON unchanged.
type FeatureCollection struct {
	Type     string       `json:"type"`
	Features []GeoFeature `json:"features"`
}

// GeoFeature is a GeoJSON Feature with any properties.
type GeoFeature struct {
	Type       string          `json:"type"`
	ID         string          `json:"id,omitempty"`
	Geometry   json.RawMessage `json:"geometry"`
	Properties any             `json:"properties"`
}

// layer turns a list into a FeatureCollection.
func layer[T any](items []T, id func(int, T) string, geom func(T) json.RawMessage) FeatureCollection {
	fc := FeatureCollection{Type: "FeatureCollection", Features: make([]GeoFeature, 0, len(items))}
	for i, it := range items {
		g := geom(it)
		if len(g) == 0 {
			g = json.RawMessage("null")
		}
		fc.Features = append(fc.Features, GeoFeature{Type: "Feature", ID: id(i, it), Geometry: g, Properties: it})
	}
	return fc
}

// subtree is the CTE of the grid $1 and every current grid below it,
// walked by parent_id (a village's code does not start with its zone's).
const subtree = `
WITH RECURSIVE sub AS (
	SELECT id, level FROM grids WHERE id = $1
	UNION ALL
	SELECT g.id, g.level FROM grids g JOIN sub ON g.parent_id = sub.id WHERE g.valid_to IS NULL
)`

const coverageParent = `
SELECT g.id, g.code, g.name, g.level,
	(SELECT count(*) FROM grids c WHERE c.parent_id = g.id AND c.valid_to IS NULL)
FROM grids g
WHERE g.code = $1 AND g.valid_to IS NULL AND `

// coverageGaps: the parent minus the union of its children (computed once),
// dumped to polygons; slivers under the tolerance dropped.
const coverageGaps = `
WITH u AS (SELECT ST_Union(geom) AS geom FROM grids WHERE parent_id = $1 AND valid_to IS NULL),
d AS (
	SELECT (ST_Dump(CASE WHEN u.geom IS NULL THEN p.geom ELSE ST_Difference(p.geom, u.geom) END)).geom AS geom
	FROM grids p, u WHERE p.id = $1
),
a AS (SELECT geom, ST_Area(geom::geography) AS area FROM d WHERE ST_Dimension(geom) = 2)
SELECT area, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)), ST_AsGeoJSON(ST_ForcePolygonCCW(geom), 6)
FROM a WHERE area >= $2
ORDER BY area DESC`

// coverageOverlaps: sibling pairs whose interiors intersect (DE-9IM
// 2********), found through the GiST index with &&.
const coverageOverlaps = `
SELECT a.code, a.name, b.code, b.name, x.area, ST_X(ST_PointOnSurface(x.geom)), ST_Y(ST_PointOnSurface(x.geom)), ST_AsGeoJSON(ST_ForcePolygonCCW(x.geom), 6)
FROM grids a
JOIN grids b ON b.parent_id = a.parent_id AND b.valid_to IS NULL AND a.code < b.code AND a.geom && b.geom
CROSS JOIN LATERAL (SELECT ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 3) AS geom) i
CROSS JOIN LATERAL (SELECT i.geom, ST_Area(i.geom::geography) AS area) x
WHERE a.parent_id = $1 AND a.valid_to IS NULL AND ST_Relate(a.geom, b.geom, '2********') AND x.area >= $2
ORDER BY x.area DESC, a.code, b.code`

// coverageOutsideParent: parts of children outside the parent.
const coverageOutsideParent = `
SELECT c.code, c.name, x.area, ST_X(ST_PointOnSurface(x.geom)), ST_Y(ST_PointOnSurface(x.geom)), ST_AsGeoJSON(ST_ForcePolygonCCW(x.geom), 6)
FROM grids p
JOIN grids c ON c.parent_id = p.id AND c.valid_to IS NULL
CROSS JOIN LATERAL (SELECT ST_CollectionExtract(ST_Difference(c.geom, p.geom), 3) AS geom) d
CROSS JOIN LATERAL (SELECT d.geom, ST_Area(d.geom::geography) AS area) x
WHERE p.id = $1 AND NOT ST_Covers(p.geom, c.geom) AND x.area >= $2
ORDER BY x.area DESC, c.code`

const coverageUnstaffed = subtree + `
SELECT g.code, g.name, g.level, p.code, array_agg(n.duty ORDER BY n.ord), ST_AsGeoJSON(ST_ForcePolygonCCW(g.geom), 6)
FROM sub s
JOIN grids g ON g.id = s.id
JOIN grids p ON p.id = g.parent_id
CROSS JOIN LATERAL unnest(CASE g.level
	WHEN 'zone' THEN ARRAY['zone']
	WHEN 'village' THEN ARRAY['village', 'patrol']
	WHEN 'household' THEN ARRAY['household']
	ELSE ARRAY[]::text[] END) WITH ORDINALITY AS n(duty, ord)
WHERE s.id <> $1
  AND NOT EXISTS (SELECT 1 FROM assignments a
	WHERE a.grid_id = g.id AND a.duty = n.duty AND a.valid_from <= $2 AND (a.valid_to IS NULL OR a.valid_to > $2))
GROUP BY g.id, p.code
ORDER BY g.code`

const coverageHouseholdsOutside = subtree + `
SELECT h.id, h.address, g.code, c.code, ST_Distance(g.geom::geography, h.location::geography), ST_AsGeoJSON(h.location, 6)
FROM sub s
JOIN grids g ON g.id = s.id
JOIN households h ON h.grid_id = g.id
LEFT JOIN LATERAL (
	SELECT c.code FROM grids c
	WHERE c.level = 'household' AND c.valid_to IS NULL AND ST_Covers(c.geom, h.location)
	ORDER BY c.code LIMIT 1) c ON true
WHERE s.level = 'household' AND NOT ST_Covers(g.geom, h.location)
ORDER BY h.id`

const coverageNoMember = subtree + `
SELECT h.id, h.address, g.code, ST_AsGeoJSON(h.location, 6)
FROM sub s
JOIN grids g ON g.id = s.id
JOIN households h ON h.grid_id = s.id
WHERE s.level = 'household' AND h.party_member_id IS NULL
ORDER BY h.id`

const coverageLoad = subtree + `,
hh AS (SELECT h.party_member_id AS pid FROM sub JOIN households h ON h.grid_id = sub.id WHERE sub.level = 'household'),
duty AS (
	SELECT a.person_id AS pid, g.code FROM sub
	JOIN assignments a ON a.grid_id = sub.id AND a.duty = 'household'
	JOIN grids g ON g.id = sub.id
	WHERE sub.level = 'household' AND a.valid_from <= $2 AND (a.valid_to IS NULL OR a.valid_to > $2)
),
n AS (SELECT pid, count(*) AS n FROM hh WHERE pid IS NOT NULL GROUP BY pid),
dc AS (SELECT pid, array_agg(code ORDER BY code) AS codes FROM duty GROUP BY pid),
m AS (SELECT pid FROM n UNION SELECT pid FROM dc)
SELECT pe.id, pe.name, coalesce(pe.phone, ''), coalesce(n.n, 0), coalesce(dc.codes, ARRAY[]::text[])
FROM m
JOIN people pe ON pe.id = m.pid AND pe.role = 'party_member'
LEFT JOIN n ON n.pid = m.pid
LEFT JOIN dc ON dc.pid = m.pid
ORDER BY 4 DESC, pe.id`

const coverageLoadGeometry = subtree + `
SELECT h.party_member_id, ST_AsGeoJSON(ST_Collect(h.location ORDER BY h.id), 6)
FROM sub JOIN households h ON h.grid_id = sub.id
WHERE sub.level = 'household' AND h.party_member_id = ANY($2)
GROUP BY h.party_member_id`

// Coverage reviews the grid parent ("" for the caller's own grid) in the
// caller's jurisdiction at the current moment: gaps and overlaps among its
// children and children's parts outside it (areas on the ellipsoid, at
// least ToleranceM2), grids below it with a duty nobody holds, households
// outside their household grid or without a party member, and the load
// per party member. Party members' phones are masked unless the caller's
// role sees duty phones. A parent out of the jurisdiction is ErrNotFound.
// All lists are read in one repeatable-read snapshot.
func (s *Store) Coverage(ctx context.Context, sc access.Scope, parent string) (*Coverage, error) {
	if parent == "" {
		parent = sc.GridCode
	}
	if parent == "" {
		return nil, fault.FieldErrorf(ErrInvalid, "parent", "parent is required")
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("grid: coverage: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()

	cv := &Coverage{ToleranceM2: ToleranceM2}
	var id int64
	err = tx.QueryRow(ctx, coverageParent+access.PrefixClause("g.code", "$2"), parent, sc.Prefixes()).
		Scan(&id, &cv.Parent.Code, &cv.Parent.Name, &cv.Parent.Level, &cv.Children)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fault.Errorf(ErrNotFound, "no grid %s in your jurisdiction", parent)
	}
	if err != nil {
		return nil, fmt.Errorf("grid: coverage: %w", err)
	}
	if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&cv.CheckedAt); err != nil {
		return nil, fmt.Errorf("grid: coverage: %w", err)
	}
	at := cv.CheckedAt

	if cv.Parent.Level != "household" {
		if cv.Gaps, err = collect(ctx, tx, "gaps", coverageGaps, []any{id, ToleranceM2}, func(r pgx.CollectableRow) (Gap, error) {
			var g Gap
			var geom string
			err := r.Scan(&g.AreaM2, &g.Point[0], &g.Point[1], &geom)
			g.Geometry = json.RawMessage(geom)
			return g, err
		}); err != nil {
			return nil, err
		}
	} else {
		cv.Gaps = []Gap{}
	}
	if cv.Overlaps, err = collect(ctx, tx, "overlaps", coverageOverlaps, []any{id, ToleranceM2}, func(r pgx.CollectableRow) (Overlap, error) {
		var o Overlap
		var geom string
		err := r.Scan(&o.A, &o.AName, &o.B, &o.BName, &o.AreaM2, &o.Point[0], &o.Point[1], &geom)
		o.Geometry = json.RawMessage(geom)
		return o, err
	}); err != nil {
		return nil, err
	}
	if cv.OutsideParent, err = collect(ctx, tx, "outside parent", coverageOutsideParent, []any{id, ToleranceM2}, func(r pgx.CollectableRow) (OutsideParent, error) {
		var o OutsideParent
		var geom string
		err := r.Scan(&o.Code, &o.Name, &o.AreaM2, &o.Point[0], &o.Point[1], &geom)
		o.Geometry = json.RawMessage(geom)
		return o, err
	}); err != nil {
		return nil, err
	}
	if cv.Unstaffed, err = collect(ctx, tx, "unstaffed", coverageUnstaffed, []any{id, at}, func(r pgx.CollectableRow) (Unstaffed, error) {
		var u Unstaffed
		var geom string
		err := r.Scan(&u.Code, &u.Name, &u.Level, &u.ParentCode, &u.Missing, &geom)
		u.Geometry = json.RawMessage(geom)
		return u, err
	}); err != nil {
		return nil, err
	}
	if cv.Outside, err = collect(ctx, tx, "households outside", coverageHouseholdsOutside, []any{id}, func(r pgx.CollectableRow) (HouseholdAstray, error) {
		var h HouseholdAstray
		var geom string
		err := r.Scan(&h.ID, &h.Address, &h.GridCode, &h.CoveredBy, &h.DistanceM, &geom)
		h.Geometry = json.RawMessage(geom)
		return h, err
	}); err != nil {
		return nil, err
	}
	if cv.NoMember, err = collect(ctx, tx, "households without party member", coverageNoMember, []any{id}, func(r pgx.CollectableRow) (HouseholdRef, error) {
		var h HouseholdRef
		var geom string
		err := r.Scan(&h.ID, &h.Address, &h.GridCode, &geom)
		h.Geometry = json.RawMessage(geom)
		return h, err
	}); err != nil {
		return nil, err
	}
	loads, err := collect(ctx, tx, "party member load", coverageLoad, []any{id, at}, func(r pgx.CollectableRow) (MemberLoad, error) {
		var m MemberLoad
		err := r.Scan(&m.PersonID, &m.Name, &m.Phone, &m.Households, &m.GridCodes)
		if !sc.SeesDutyPhones() {
			m.Phone = access.MaskPhone(m.Phone)
		}
		return m, err
	})
	if err != nil {
		return nil, err
	}
	cv.Load = LoadStats(loads)
	if len(cv.Load.Outliers) > 0 {
		ids := make([]int64, len(cv.Load.Outliers))
		for i, m := range cv.Load.Outliers {
			ids[i] = m.PersonID
		}
		rows, err := tx.Query(ctx, coverageLoadGeometry, id, ids)
		if err != nil {
			return nil, fmt.Errorf("grid: coverage: party member load: %w", err)
		}
		geoms := map[int64]json.RawMessage{}
		var pid int64
		var geom string
		if _, err := pgx.ForEachRow(rows, []any{&pid, &geom}, func() error {
			geoms[pid] = json.RawMessage(geom)
			return nil
		}); err != nil {
			return nil, fmt.Errorf("grid: coverage: party member load: %w", err)
		}
		for i := range cv.Load.Outliers {
			cv.Load.Outliers[i].Geometry = geoms[cv.Load.Outliers[i].PersonID]
		}
	}
	cv.Layers = cv.layers()
	return cv, nil
}

func (cv *Coverage) layers() CoverageLayers {
	return CoverageLayers{
		Gaps:          layer(cv.Gaps, func(i int, _ Gap) string { return fmt.Sprintf("gap-%d", i+1) }, func(g Gap) json.RawMessage { return g.Geometry }),
		Overlaps:      layer(cv.Overlaps, func(_ int, o Overlap) string { return o.A + "/" + o.B }, func(o Overlap) json.RawMessage { return o.Geometry }),
		OutsideParent: layer(cv.OutsideParent, func(_ int, o OutsideParent) string { return o.Code }, func(o OutsideParent) json.RawMessage { return o.Geometry }),
		Unstaffed:     layer(cv.Unstaffed, func(_ int, u Unstaffed) string { return u.Code }, func(u Unstaffed) json.RawMessage { return u.Geometry }),
		Outside: layer(cv.Outside, func(_ int, h HouseholdAstray) string { return fmt.Sprint(h.ID) },
			func(h HouseholdAstray) json.RawMessage { return h.Geometry }),
		NoMember: layer(cv.NoMember, func(_ int, h HouseholdRef) string { return fmt.Sprint(h.ID) },
			func(h HouseholdRef) json.RawMessage { return h.Geometry }),
		Load: layer(cv.Load.Outliers, func(_ int, m MemberLoad) string { return fmt.Sprint(m.PersonID) },
			func(m MemberLoad) json.RawMessage { return m.Geometry }),
	}
}

// collect runs one query of the review and collects its rows, never nil.
func collect[T any](ctx context.Context, tx pgx.Tx, what, q string, args []any, scan func(pgx.CollectableRow) (T, error)) ([]T, error) {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("grid: coverage: %s: %w", what, err)
	}
	out, err := pgx.CollectRows(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("grid: coverage: %s: %w", what, err)
	}
	if out == nil {
		out = []T{}
	}
	return out, nil
}

// LoadStats computes the mean and population standard deviation of the
// household counts in loads, each load's z score, and the outliers:
// loads outside mean ± OutlierSD·sd (none when sd is 0). Loads are
// ordered most households first, then by person id; outliers likewise.
func LoadStats(loads []MemberLoad) PartyMemberLoad {
	pl := PartyMemberLoad{Rule: OutlierRule, Loads: []MemberLoad{}, Outliers: []MemberLoad{}}
	if len(loads) == 0 {
		return pl
	}
	sorted := append([]MemberLoad(nil), loads...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].Households != sorted[j].Households {
			return sorted[i].Households > sorted[j].Households
		}
		return sorted[i].PersonID < sorted[j].PersonID
	})
	var sum float64
	for _, m := range sorted {
		sum += float64(m.Households)
		pl.Households += m.Households
	}
	pl.Members = len(sorted)
	pl.Mean = sum / float64(len(sorted))
	var ss float64
	for _, m := range sorted {
		d := float64(m.Households) - pl.Mean
		ss += d * d
	}
	pl.SD = math.Sqrt(ss / float64(len(sorted)))
	pl.Low, pl.High = pl.Mean-OutlierSD*pl.SD, pl.Mean+OutlierSD*pl.SD
	for i := range sorted {
		m := &sorted[i]
		if m.GridCodes == nil {
			m.GridCodes = []string{}
		}
		if pl.SD > 0 {
			m.Z = (float64(m.Households) - pl.Mean) / pl.SD
			if math.Abs(m.Z) > OutlierSD {
				pl.Outliers = append(pl.Outliers, *m)
			}
		}
	}
	pl.Loads = sorted
	return pl
}

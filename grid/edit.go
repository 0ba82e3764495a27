package grid

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"whistlegrid/access"
	"whistlegrid/fault"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
)

// ErrForbidden is returned when the caller's role may not make a change.
var ErrForbidden = fault.New(fault.Forbidden, "grid: forbidden")

// MaxOutlinePoints is the most positions a new grid outline may have.
const MaxOutlinePoints = 200_000

// Refusal rules of an edit, in the order they are checked.
const (
	RuleGeoJSON     = "geojson"            // not a GeoJSON Polygon/MultiPolygon with closed rings in lon/lat bounds
	RuleInvalid     = "invalid_geometry"   // ST_IsValid is false; the reason is ST_IsValidReason
	RuleTooSmall    = "too_small"          // area under ToleranceM2
	RuleOutside     = "outside_parent"     // the part outside the parent is ToleranceM2 or more
	RuleOverlap     = "overlaps_sibling"   // the intersection with a sibling is ToleranceM2 or more
	RuleHouseholds  = "households_outside" // a household grid would no longer cover its households
	warnChildrenOut = "children_outside"
)

// Refusal is why an edit was refused; it wraps ErrInvalid, and errors.As
// finds it as a *fault.Error (Invalid, on the field geometry, its Reason
// the message). Siblings and Households say which grids and households
// are at fault.
type Refusal struct {
	Rule       string           `json:"rule"`
	Reason     string           `json:"reason"`
	AreaM2     float64          `json:"area_m2,omitempty"` // outside the parent, or overlapping the first sibling
	Siblings   []SiblingOverlap `json:"siblings,omitempty"`
	Households []HouseholdRef   `json:"households,omitempty"`
}

func (r *Refusal) Error() string { return "grid: invalid: " + r.Reason }

// Unwrap makes a Refusal an ErrInvalid.
func (r *Refusal) Unwrap() error { return ErrInvalid }

// As gives errors.As a Refusal as the *fault.Error the API answers.
func (r *Refusal) As(target any) bool {
	t, ok := target.(**fault.Error)
	if ok {
		*t = fault.FieldErrorf(ErrInvalid, "geometry", "%s", r.Reason)
	}
	return ok
}

// SiblingOverlap is a sibling the new outline overlaps.
type SiblingOverlap struct {
	Code   string  `json:"code"`
	Name   string  `json:"name"`
	AreaM2 float64 `json:"area_m2"`
}

// Warning is something an accepted edit left for the coverage review.
type Warning struct {
	Rule    string   `json:"rule"` // children_outside
	Message string   `json:"message"`
	Codes   []string `json:"codes"`
}

// Edited is the answer to an accepted edit.
type Edited struct {
	Code      string          `json:"code"`
	Level     string          `json:"level"`
	ValidFrom time.Time       `json:"valid_from"`
	AreaM2    float64         `json:"area_m2"`
	Geometry  json.RawMessage `json:"geometry"`
	Warnings  []Warning       `json:"warnings"`
}

// ParseOutline reads a GeoJSON Polygon or MultiPolygon geometry in WGS-84
// lon/lat. Every ring needs at least 4 positions and must be closed; each
// position has 2 or 3 finite numbers (a third, altitude, is dropped) with
// lon in [-180, 180] and lat in [-90, 90]. Topology (self-intersection,
// ring orientation, holes) is left to ST_IsValid. The error is a *Refusal
// with rule geojson.
func ParseOutline(raw json.RawMessage) (orb.MultiPolygon, error) {
	refuse := func(format string, a ...any) error {
		return &Refusal{Rule: RuleGeoJSON, Reason: fmt.Sprintf(format, a...)}
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, refuse("geometry is required")
	}
	var g struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		return nil, refuse("geometry must be a GeoJSON object")
	}
	var polys [][][][]float64
	switch g.Type {
	case "Polygon":
		var p [][][]float64
		if err := json.Unmarshal(g.Coordinates, &p); err != nil {
			return nil, refuse("Polygon coordinates must be an array of rings of [lon, lat] positions")
		}
		polys = [][][][]float64{p}
	case "MultiPolygon":
		if err := json.Unmarshal(g.Coordinates, &polys); err != nil {
			return nil, refuse("MultiPolygon coordinates must be an array of polygons of rings of [lon, lat] positions")
		}
	default:
		return nil, refuse("geometry type must be Polygon or MultiPolygon, not %q", g.Type)
	}
	if len(polys) == 0 {
		return nil, refuse("geometry has no polygon")
	}
	out := make(orb.MultiPolygon, 0, len(polys))
	n := 0
	for i, p := range polys {
		if len(p) == 0 {
			return nil, refuse("polygon %d has no ring", i+1)
		}
		poly := make(orb.Polygon, 0, len(p))
		for j, r := range p {
			if len(r) < 4 {
				return nil, refuse("polygon %d ring %d has %d positions; a ring needs at least 4", i+1, j+1, len(r))
			}
			n += len(r)
			if n > MaxOutlinePoints {
				return nil, refuse("geometry has more than %d positions", MaxOutlinePoints)
			}
			ring := make(orb.Ring, len(r))
			for k, pos := range r {
				if len(pos) < 2 || len(pos) > 3 {
					return nil, refuse("polygon %d ring %d position %d must be [lon, lat]", i+1, j+1, k+1)
				}
				for _, v := range pos {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						return nil, refuse("polygon %d ring %d position %d is not finite", i+1, j+1, k+1)
					}
				}
				if pos[0] < -180 || pos[0] > 180 || pos[1] < -90 || pos[1] > 90 {
					return nil, refuse("polygon %d ring %d position %d (%v, %v) is outside lon -180..180, lat -90..90", i+1, j+1, k+1, pos[0], pos[1])
				}
				ring[k] = orb.Point{pos[0], pos[1]}
			}
			if ring[0] != ring[len(ring)-1] {
				return nil, refuse("polygon %d ring %d is not closed: its first and last positions differ", i+1, j+1)
			}
			poly = append(poly, ring)
		}
		out = append(out, poly)
	}
	return out, nil
}

const editTarget = `
SELECT g.id, g.level, coalesce(g.parent_id, 0)
FROM grids g
WHERE g.code = $1 AND g.valid_to IS NULL AND `

const editValid = `SELECT ST_IsValid(g), ST_IsValidReason(g), ST_Area(g::geography) FROM ST_GeomFromWKB($1, 4326) g`

// editOutside: the area of the new outline outside the parent.
const editOutside = `
SELECT CASE WHEN ST_Covers(p.geom, n.geom) THEN 0 ELSE ST_Area(ST_Difference(n.geom, p.geom)::geography) END
FROM grids p, ST_GeomFromWKB($1, 4326) n(geom)
WHERE p.id = $2`

const editSiblings = `
SELECT s.code, s.name, x.area
FROM ST_GeomFromWKB($1, 4326) n(geom)
JOIN grids s ON s.parent_id = $2 AND s.id <> $3 AND s.valid_to IS NULL AND s.geom && n.geom
CROSS JOIN LATERAL (SELECT ST_Area(ST_Intersection(s.geom, n.geom)::geography) AS area) x
WHERE ST_Relate(s.geom, n.geom, '2********') AND x.area >= $4
ORDER BY x.area DESC, s.code`

const editHouseholds = `
SELECT h.id, h.address, g.code, ST_AsGeoJSON(h.location, 6)
FROM households h JOIN grids g ON g.id = h.grid_id, ST_GeomFromWKB($1, 4326) n(geom)
WHERE h.grid_id = $2 AND NOT ST_Covers(n.geom, h.location)
ORDER BY h.id`

const editChildren = `
SELECT c.code
FROM grids c, ST_GeomFromWKB($1, 4326) n(geom)
WHERE c.parent_id = $2 AND c.valid_to IS NULL AND NOT ST_Covers(n.geom, c.geom)
  AND ST_Area(ST_Difference(c.geom, n.geom)::geography) >= $3
ORDER BY c.code`

// editUpdate moves valid_from forward, so the grid_versions trigger closes
// the open version at that moment and opens the new one.
const editUpdate = `
UPDATE grids SET geom = ST_Multi(ST_GeomFromWKB($1, 4326)), valid_from = greatest(now(), valid_from)
WHERE id = $2
RETURNING valid_from, ST_Area(geom::geography), ST_AsGeoJSON(ST_ForcePolygonCCW(geom), 6)`

const editChangedBy = `UPDATE grid_versions SET changed_by = $2 WHERE grid_id = $1 AND valid_to IS NULL`

const editEvent = `
INSERT INTO events (kind, township, payload)
VALUES ('grid.edited', $1, json_build_object('code', $2::text, 'level', $3::text, 'actor', $4::text, 'note', $5::text)::jsonb)`

// MaxEditNote is the longest note of a grid edit, in characters (Unicode
// code points); a longer one is refused (ErrInvalid naming "note").
const MaxEditNote = 4000

// Edit replaces the outline of the current grid code with outline
// (WGS-84, lon/lat), for the command center only (others ErrForbidden).
// It refuses, with a *Refusal and changing nothing, an outline that is not
// valid (ST_IsValidReason, never repaired), smaller than ToleranceM2, out
// of its parent by ToleranceM2 or more (area of ST_Difference on the
// ellipsoid), overlapping a sibling by ToleranceM2 or more, or, for a
// household grid, no longer covering all its households. Accepted, it
// sets geom and valid_from = now() (grid_versions keeps the old outline,
// closed at that moment), records the actor on the new version and writes
// a grid.edited event, all in one transaction. Children left partly
// outside the new outline are accepted with a warning: the coverage
// review shows them. The caller refreshes the placement index.
func (s *Store) Edit(ctx context.Context, sc access.Scope, code string, outline orb.MultiPolygon, note string) (*Edited, error) {
	if sc.Role != access.RoleCommand {
		return nil, fault.Errorf(ErrForbidden, "only the command center edits grid outlines")
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("grid: edit: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	ed, err := EditTx(ctx, tx, sc, code, outline, note)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("grid: edit: %w", err)
	}
	return ed, nil
}

// EditTx is Edit inside the caller's transaction tx (the one definition of
// a grid outline change: Edit and the grid import both use it). It checks
// the role and note like Edit; on a refusal or error the caller rolls back
// (or to a savepoint).
func EditTx(ctx context.Context, tx pgx.Tx, sc access.Scope, code string, outline orb.MultiPolygon, note string) (*Edited, error) {
	if sc.Role != access.RoleCommand {
		return nil, fault.Errorf(ErrForbidden, "only the command center edits grid outlines")
	}
	if utf8.RuneCountInString(note) > MaxEditNote {
		return nil, fault.FieldErrorf(ErrInvalid, "note", "note is at most %d characters", MaxEditNote)
	}
	geom, err := wkb.Marshal(outline)
	if err != nil {
		return nil, &Refusal{Rule: RuleGeoJSON, Reason: "geometry cannot be encoded: " + err.Error()}
	}
	var id, parentID int64
	var level string
	err = tx.QueryRow(ctx, editTarget+access.PrefixClause("g.code", "$2"), code, sc.Prefixes()).Scan(&id, &level, &parentID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fault.Errorf(ErrNotFound, "no grid %s in your jurisdiction", code)
	}
	if err != nil {
		return nil, fmt.Errorf("grid: edit: %w", err)
	}
	// Lock ancestor first, then the grid: concurrent edits of siblings,
	// or of a grid and its parent, run one after the other.
	if parentID != 0 {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM grids WHERE id = $1 FOR UPDATE`, parentID); err != nil {
			return nil, fmt.Errorf("grid: edit: lock: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM grids WHERE id = $1 FOR UPDATE`, id); err != nil {
		return nil, fmt.Errorf("grid: edit: lock: %w", err)
	}

	if err := checkOutline(ctx, tx, geom, id, parentID, level); err != nil {
		return nil, err
	}

	rows, err := tx.Query(ctx, editChildren, geom, id, ToleranceM2)
	if err != nil {
		return nil, fmt.Errorf("grid: edit: children: %w", err)
	}
	outside, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("grid: edit: children: %w", err)
	}
	ed := &Edited{Code: code, Level: level, Warnings: []Warning{}}
	if len(outside) > 0 {
		ed.Warnings = append(ed.Warnings, Warning{Rule: warnChildrenOut, Codes: outside,
			Message: fmt.Sprintf("%d child grids now lie partly outside the outline; see the coverage review", len(outside))})
	}
	var g string
	if err := tx.QueryRow(ctx, editUpdate, geom, id).Scan(&ed.ValidFrom, &ed.AreaM2, &g); err != nil {
		return nil, fmt.Errorf("grid: edit: update: %w", err)
	}
	ed.Geometry = json.RawMessage(g)
	if _, err := tx.Exec(ctx, editChangedBy, id, sc.Username); err != nil {
		return nil, fmt.Errorf("grid: edit: version: %w", err)
	}
	var township *string
	if len(code) >= 9 {
		t := code[:9]
		township = &t
	}
	if _, err := tx.Exec(ctx, editEvent, township, code, level, sc.Username, note); err != nil {
		return nil, fmt.Errorf("grid: edit: event: %w", err)
	}
	return ed, nil
}

// checkOutline runs the refusal rules of an outline geom (WKB, 4326) for
// grid id (0 for a new grid) at level under parentID (0: none): validity,
// size, inside the parent, no sibling overlap, and for an existing
// household grid its households inside. The error is a *Refusal, or a
// database error.
func checkOutline(ctx context.Context, tx pgx.Tx, geom []byte, id, parentID int64, level string) error {
	var valid bool
	var reason string
	var area float64
	if err := tx.QueryRow(ctx, editValid, geom).Scan(&valid, &reason, &area); err != nil {
		return fmt.Errorf("grid: edit: validity: %w", err)
	}
	if !valid {
		return &Refusal{Rule: RuleInvalid, Reason: "geometry is not valid: " + reason}
	}
	if area < ToleranceM2 {
		return &Refusal{Rule: RuleTooSmall, Reason: fmt.Sprintf("the outline covers %.3f m², less than %g m²", area, ToleranceM2), AreaM2: area}
	}
	if parentID != 0 {
		var out float64
		if err := tx.QueryRow(ctx, editOutside, geom, parentID).Scan(&out); err != nil {
			return fmt.Errorf("grid: edit: parent: %w", err)
		}
		if out >= ToleranceM2 {
			return &Refusal{Rule: RuleOutside, AreaM2: out,
				Reason: fmt.Sprintf("%.1f m² of the outline lie outside its parent (at most %g m² allowed)", out, ToleranceM2)}
		}
		rows, err := tx.Query(ctx, editSiblings, geom, parentID, id, ToleranceM2)
		if err != nil {
			return fmt.Errorf("grid: edit: siblings: %w", err)
		}
		sibs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SiblingOverlap, error) {
			var o SiblingOverlap
			err := r.Scan(&o.Code, &o.Name, &o.AreaM2)
			return o, err
		})
		if err != nil {
			return fmt.Errorf("grid: edit: siblings: %w", err)
		}
		if len(sibs) > 0 {
			return &Refusal{Rule: RuleOverlap, AreaM2: sibs[0].AreaM2, Siblings: sibs,
				Reason: fmt.Sprintf("the outline overlaps sibling %s (%s) by %.1f m² (at most %g m² allowed)", sibs[0].Code, sibs[0].Name, sibs[0].AreaM2, ToleranceM2)}
		}
	}
	if level == "household" {
		rows, err := tx.Query(ctx, editHouseholds, geom, id)
		if err != nil {
			return fmt.Errorf("grid: edit: households: %w", err)
		}
		hs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (HouseholdRef, error) {
			var h HouseholdRef
			var g string
			err := r.Scan(&h.ID, &h.Address, &h.GridCode, &g)
			h.Geometry = json.RawMessage(g)
			return h, err
		})
		if err != nil {
			return fmt.Errorf("grid: edit: households: %w", err)
		}
		if len(hs) > 0 {
			ids := make([]string, len(hs))
			for i, h := range hs {
				ids[i] = fmt.Sprint(h.ID)
			}
			return &Refusal{Rule: RuleHouseholds, Households: hs,
				Reason: fmt.Sprintf("%d of the grid's households would fall outside the outline: %s", len(hs), strings.Join(ids, ", "))}
		}
	}

	return nil
}

// Version is one outline a grid has had.
type Version struct {
	ValidFrom time.Time       `json:"valid_from"`
	ValidTo   *time.Time      `json:"valid_to"` // null for the current outline
	AreaM2    float64         `json:"area_m2"`
	ChangedBy *string         `json:"changed_by"` // username of the editor, null for loaded outlines
	Geometry  json.RawMessage `json:"geometry"`
}

// History is every outline of one grid, newest first.
type History struct {
	Code     string    `json:"code"`
	Name     string    `json:"name"`
	Level    string    `json:"level"`
	Versions []Version `json:"versions"`
}

const historyGrid = `SELECT g.id, g.code, g.name, g.level FROM grids g WHERE g.code = $1 AND `

const historyVersions = `
SELECT valid_from, valid_to, ST_Area(geom::geography), changed_by, ST_AsGeoJSON(ST_ForcePolygonCCW(geom), 6)
FROM grid_versions WHERE grid_id = $1
ORDER BY valid_from DESC`

// History returns the outlines grid code has had, newest first, with
// their validity, area on the ellipsoid (m²) and editor. A grid out of
// the caller's jurisdiction is ErrNotFound.
func (s *Store) History(ctx context.Context, sc access.Scope, code string) (*History, error) {
	h := &History{}
	var id int64
	err := s.pool.QueryRow(ctx, historyGrid+access.PrefixClause("g.code", "$2"), code, sc.Prefixes()).Scan(&id, &h.Code, &h.Name, &h.Level)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fault.Errorf(ErrNotFound, "no grid %s in your jurisdiction", code)
	}
	if err != nil {
		return nil, fmt.Errorf("grid: history: %w", err)
	}
	rows, err := s.pool.Query(ctx, historyVersions, id)
	if err != nil {
		return nil, fmt.Errorf("grid: history: %w", err)
	}
	h.Versions, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Version, error) {
		var v Version
		var g string
		err := r.Scan(&v.ValidFrom, &v.ValidTo, &v.AreaM2, &v.ChangedBy, &g)
		v.Geometry = json.RawMessage(g)
		return v, err
	})
	if err != nil {
		return nil, fmt.Errorf("grid: history: %w", err)
	}
	if h.Versions == nil {
		h.Versions = []Version{}
	}
	return h, nil
}

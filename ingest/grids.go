package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"

	"whistlegrid/access"
	"whistlegrid/fault"
	"whistlegrid/geo"
	"whistlegrid/grid"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
)

// Outcomes of a grid feature.
const (
	OutcomeNew       = "new"
	OutcomeChanged   = "changed"
	OutcomeUnchanged = "unchanged"
	OutcomeRefused   = "refused"
)

// MaxRepairChange is the largest relative area change ST_MakeValid may
// make to an invalid outline; a larger one refuses the feature.
const MaxRepairChange = 0.01

// GridOptions tune ImportGrids.
type GridOptions struct {
	Level    string // when set, every feature must be at this level
	Datum    string // wgs84, cgcs2000 or gcj02; "" takes the file's
	Encoding string // .dbf encoding when the zip has no .cpg; "" is CP936 (GBK)
	DryRun   bool   // check and report, write nothing
	Actor    string // username recorded on the new versions; "import" when empty
	// Refresh, when set, is called after a commit (the in-process Placer);
	// other servers refresh on NOTIFY grid_changed (grid.FollowChanges).
	Refresh func(context.Context) error
	// Progress, when set, is called after each feature with how many
	// have been checked.
	Progress func(features int64)
}

// GridResult is what happens to one feature.
type GridResult struct {
	N                 int     `json:"n"` // 1-based position in the file
	Code              string  `json:"code"`
	Name              string  `json:"name"`
	Level             string  `json:"level"`
	Outcome           string  `json:"outcome"`
	Reason            string  `json:"reason,omitempty"`
	Rule              string  `json:"rule,omitempty"`
	Repaired          bool    `json:"repaired"`
	RepairChange      float64 `json:"repair_area_change"` // |after − before| / before of ST_MakeValid
	AreaM2            float64 `json:"area_m2"`
	OutsideParentM2   float64 `json:"outside_parent_m2"`
	OverlapSiblingsM2 float64 `json:"overlap_siblings_m2"`
	ParentAreaM2      float64 `json:"parent_area_m2"`
}

// ParentGap is the coverage of a parent whose children the import
// touched, after the import: the part of the parent no child covers, and
// the area covered twice by its children.
type ParentGap struct {
	Code         string  `json:"code"`
	AreaM2       float64 `json:"area_m2"`
	GapM2        float64 `json:"gap_m2"`
	GapShare     float64 `json:"gap_share"`
	OverlapM2    float64 `json:"overlap_m2"`
	OverlapShare float64 `json:"overlap_share"`
}

// GridReport is the whole answer: per feature, per parent, totals.
type GridReport struct {
	Datum    string         `json:"datum"`
	DryRun   bool           `json:"dry_run"`
	Applied  bool           `json:"applied"`
	Features []GridResult   `json:"features"`
	Parents  []ParentGap    `json:"parents"`
	Totals   map[string]int `json:"totals"`
}

var levelOrder = map[string]int{"district": 0, "township": 1, "zone": 2, "village": 3, "household": 4}

// ImportGrids reads file (GeoJSON or a zipped Shapefile) and brings its
// grids in: each feature is checked (code and parent against the
// hierarchy, geometry repaired with ST_MakeValid within MaxRepairChange,
// the refusal rules of a grid edit: inside the parent, no sibling
// overlap) and, unless DryRun, written in one transaction as a new
// version in the grid history (grid.EditTx / grid.CreateTx, the code path
// of PUT /api/v1/grids/{code}). Refused features are reported and not
// written; the others are. Assignments stay with their grid codes.
func ImportGrids(ctx context.Context, pool *pgxpool.Pool, file string, opts GridOptions) (*GridReport, error) {
	raws, datum, err := ReadGridFile(ctx, file, opts.Encoding)
	if err != nil {
		return nil, err
	}
	return ApplyGrids(ctx, pool, raws, datum, opts)
}

// ApplyGrids is ImportGrids on features already read.
func ApplyGrids(ctx context.Context, pool *pgxpool.Pool, raws []RawGrid, fileDatum string, opts GridOptions) (*GridReport, error) {
	datum, err := GridDatum(fileDatum, opts)
	if err != nil {
		return nil, err
	}
	actor := opts.Actor
	if actor == "" {
		actor = "import"
	}
	sc := access.Scope{Role: access.RoleCommand, Username: actor}
	rep := &GridReport{Datum: datum, DryRun: opts.DryRun, Features: []GridResult{}, Parents: []ParentGap{},
		Totals: map[string]int{OutcomeNew: 0, OutcomeChanged: 0, OutcomeUnchanged: 0, OutcomeRefused: 0}}

	// parents before children, then file order
	order := make([]int, len(raws))
	levels := make([]string, len(raws))
	for i, r := range raws {
		order[i] = i
		lv, _, _ := grid.LevelOfCode(r.Code)
		levels[i] = lv
	}
	sort.SliceStable(order, func(a, b int) bool {
		la, lb := levels[order[a]], levels[order[b]]
		return levelOrder[la] < levelOrder[lb]
	})

	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("ingest: grids: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	results := make([]GridResult, len(raws))
	parents := map[string]bool{}
	for k, i := range order {
		res, err := applyGrid(ctx, tx, sc, raws[i], datum, opts)
		if err != nil {
			return nil, err
		}
		if opts.Progress != nil {
			opts.Progress(int64(k + 1))
		}
		results[i] = res
		if res.Outcome == OutcomeNew || res.Outcome == OutcomeChanged {
			var pc string
			if err := tx.QueryRow(ctx, `SELECT coalesce(p.code, '') FROM grids g LEFT JOIN grids p ON p.id = g.parent_id WHERE g.code = $1`, res.Code).Scan(&pc); err != nil {
				return nil, fmt.Errorf("ingest: grids: %w", err)
			}
			if pc != "" {
				parents[pc] = true
			}
		}
	}
	rep.Features = results
	for _, r := range results {
		rep.Totals[r.Outcome]++
	}
	codes := make([]string, 0, len(parents))
	for c := range parents {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		pg := ParentGap{Code: c}
		if err := tx.QueryRow(ctx, parentGapQuery, c).Scan(&pg.AreaM2, &pg.GapM2, &pg.OverlapM2); err != nil {
			return nil, fmt.Errorf("ingest: grids: coverage of %s: %w", c, err)
		}
		if pg.AreaM2 > 0 {
			pg.GapShare, pg.OverlapShare = pg.GapM2/pg.AreaM2, pg.OverlapM2/pg.AreaM2
		}
		rep.Parents = append(rep.Parents, pg)
	}
	if opts.DryRun || rep.Totals[OutcomeNew]+rep.Totals[OutcomeChanged] == 0 {
		return rep, nil
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("ingest: grids: %w", err)
	}
	rep.Applied = true
	if opts.Refresh != nil {
		if err := opts.Refresh(ctx); err != nil {
			return rep, fmt.Errorf("ingest: grids written; placement refresh failed: %w", err)
		}
	}
	return rep, nil
}

// GridDatum checks opts' level and datum and answers the datum a file
// whose own (its .prj or crs member; "" when it has none) is fileDatum
// is read in.
func GridDatum(fileDatum string, opts GridOptions) (string, error) {
	datum := fileDatum
	switch opts.Datum {
	case "":
		if datum == "" {
			datum = DatumWGS84
		}
	case DatumGCJ02:
		// GCJ-02 files usually claim WGS-84; only the flag tells
		if fileDatum == DatumCGCS2000 {
			return "", fault.Errorf(ErrGridFile, "--datum gcj02 but the file says CGCS2000")
		}
		datum = DatumGCJ02
	case DatumWGS84, DatumCGCS2000:
		datum = opts.Datum
	default:
		return "", fault.FieldErrorf(ErrGridFile, "datum", "datum must be wgs84, cgcs2000 or gcj02, not %q", opts.Datum)
	}
	if opts.Level != "" && !grid.ValidLevel(opts.Level) {
		return "", fault.FieldErrorf(ErrGridFile, "level", "level must be one of district, township, zone, village, household")
	}
	return datum, nil
}

// parentGapQuery: the parent's area, what its current children leave
// uncovered, and what they cover twice (sum of areas − area of the union).
const parentGapQuery = `
WITH p AS (SELECT id, geom FROM grids WHERE code = $1 AND valid_to IS NULL),
c AS (SELECT ST_Union(g.geom) u, sum(ST_Area(g.geom::geography)) s FROM grids g, p WHERE g.parent_id = p.id AND g.valid_to IS NULL)
SELECT ST_Area(p.geom::geography),
	ST_Area(coalesce(ST_Difference(p.geom, c.u), p.geom)::geography),
	greatest(coalesce(c.s - ST_Area(c.u::geography), 0), 0)
FROM p, c`

// repairQuery: validity, area before, the repaired polygonal part and its area.
const repairQuery = `
SELECT ST_IsValid(g), ST_IsValidReason(g), ST_Area(g::geography),
	ST_Area(m::geography), ST_AsBinary(m)
FROM ST_GeomFromWKB($1, 4326) g,
	LATERAL (SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(g), 3)) m) r`

const statsQuery = `
SELECT coalesce(ST_Area(p.geom::geography), 0),
	coalesce(ST_Area(ST_Difference(n.geom, p.geom)::geography), 0),
	coalesce((SELECT sum(ST_Area(ST_Intersection(s.geom, n.geom)::geography)) FROM grids s
		WHERE s.parent_id = p.id AND s.code <> $3 AND s.valid_to IS NULL AND s.geom && n.geom), 0)
FROM ST_GeomFromWKB($1, 4326) n(geom)
LEFT JOIN grids p ON p.code = $2 AND p.valid_to IS NULL`

const currentQuery = `
SELECT g.name, coalesce(p.code, ''), ST_Equals(ST_SnapToGrid(g.geom, 1e-7), ST_SnapToGrid(ST_Multi(ST_GeomFromWKB($2, 4326)), 1e-7))
FROM grids g LEFT JOIN grids p ON p.id = g.parent_id
WHERE g.code = $1 AND g.valid_to IS NULL`

func applyGrid(ctx context.Context, tx pgx.Tx, sc access.Scope, r RawGrid, datum string, opts GridOptions) (GridResult, error) {
	res := GridResult{N: r.N, Code: r.Code, Name: r.Name}
	refuse := func(rule, format string, a ...any) (GridResult, error) {
		res.Outcome, res.Rule, res.Reason = OutcomeRefused, rule, fmt.Sprintf(format, a...)
		return res, nil
	}
	level, parent, ok := grid.LevelOfCode(r.Code)
	res.Level = level
	if !ok {
		return refuse("code", "code %q has no grid level: 6 digits (district), 9 (township), 9+P+2 (zone), 12 (village), 15 (household)", r.Code)
	}
	if r.Level != "" && r.Level != level {
		return refuse("level", "level %q does not match code %s, which is a %s", r.Level, r.Code, level)
	}
	if opts.Level != "" && level != opts.Level {
		return refuse("level", "the feature is a %s; --level %s", level, opts.Level)
	}
	if r.Name == "" {
		return refuse("name", "the feature has no name")
	}
	switch {
	case r.ParentCode != "" && parent != "" && r.ParentCode != parent:
		return refuse("parent", "parent %s does not match code %s, whose parent is %s", r.ParentCode, r.Code, parent)
	case r.ParentCode != "":
		parent = r.ParentCode
	case level == "village":
		// a village's zone is not in its code: take the current one
		var cur string
		err := tx.QueryRow(ctx, `SELECT coalesce(p.code, '') FROM grids g LEFT JOIN grids p ON p.id = g.parent_id WHERE g.code = $1 AND g.valid_to IS NULL`, r.Code).Scan(&cur)
		if errors.Is(err, pgx.ErrNoRows) {
			return refuse("parent", "a new village grid needs parent_code (its zone, e.g. %sP01)", r.Code[:9])
		}
		if err != nil {
			return res, fmt.Errorf("ingest: grids: %w", err)
		}
		parent = cur
	}
	if level == "village" && (len(parent) != 12 || parent[:9] != r.Code[:9]) {
		return refuse("parent", "the parent of village %s must be a zone of township %s, not %q", r.Code, r.Code[:9], parent)
	}
	outline, err := grid.ParseOutline(r.Geometry)
	if err != nil {
		var rf *grid.Refusal
		if errors.As(err, &rf) {
			return refuse(rf.Rule, "%s", rf.Reason)
		}
		return res, err
	}
	if datum == DatumGCJ02 {
		outline = gcjToWGS(outline)
	}
	b, err := wkb.Marshal(outline)
	if err != nil {
		return refuse(grid.RuleGeoJSON, "geometry cannot be encoded: %v", err)
	}
	var valid bool
	var why string
	var before, after float64
	var repaired []byte
	if err := tx.QueryRow(ctx, repairQuery, b).Scan(&valid, &why, &before, &after, &repaired); err != nil {
		return res, fmt.Errorf("ingest: grids: repair: %w", err)
	}
	res.AreaM2 = before
	if !valid {
		res.Repaired = true
		switch {
		case before > 0:
			res.RepairChange = math.Abs(after-before) / before
		case after > 0:
			res.RepairChange = 1
		}
		if res.RepairChange > MaxRepairChange || after <= 0 {
			return refuse(grid.RuleInvalid, "the geometry is not valid (%s); repairing it changes its area by %.2f%% (%.1f → %.1f m²), more than %.0f%%",
				why, 100*res.RepairChange, before, after, 100*MaxRepairChange)
		}
		res.AreaM2 = after
		g, err := wkb.Unmarshal(repaired)
		if err != nil {
			return res, fmt.Errorf("ingest: grids: repaired geometry: %w", err)
		}
		mp, ok := g.(orb.MultiPolygon)
		if !ok {
			return refuse(grid.RuleInvalid, "the repaired geometry is a %s", g.GeoJSONType())
		}
		outline, b = mp, repaired
	}
	if err := tx.QueryRow(ctx, statsQuery, b, parent, r.Code).Scan(&res.ParentAreaM2, &res.OutsideParentM2, &res.OverlapSiblingsM2); err != nil {
		return res, fmt.Errorf("ingest: grids: coverage: %w", err)
	}

	var curName, curParent string
	var same bool
	err = tx.QueryRow(ctx, currentQuery, r.Code, b).Scan(&curName, &curParent, &same)
	exists := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return res, fmt.Errorf("ingest: grids: %w", err)
	}
	if exists && curParent != parent {
		return refuse("parent", "grid %s is under %s; moving it to %s is not an outline change", r.Code, curParent, parent)
	}
	if exists && same && curName == r.Name {
		res.Outcome = OutcomeUnchanged
		return res, nil
	}
	if _, err := tx.Exec(ctx, "SAVEPOINT grid_feature"); err != nil {
		return res, fmt.Errorf("ingest: grids: %w", err)
	}
	note := fmt.Sprintf("import, feature %d", r.N)
	if exists {
		res.Outcome = OutcomeChanged
		if !same {
			_, err = grid.EditTx(ctx, tx, sc, r.Code, outline, note)
		}
		if err == nil && curName != r.Name {
			_, err = tx.Exec(ctx, `UPDATE grids SET name = $2 WHERE code = $1 AND valid_to IS NULL`, r.Code, r.Name)
		}
	} else {
		res.Outcome = OutcomeNew
		kind := r.Kind
		if kind == "" {
			kind = defaultKind[level]
		}
		_, err = grid.CreateTx(ctx, tx, sc, grid.NewGrid{Code: r.Code, Name: r.Name, Level: level, Kind: kind, ParentCode: parent}, outline, note)
	}
	if err != nil {
		if _, rerr := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT grid_feature"); rerr != nil {
			return res, fmt.Errorf("ingest: grids: %w", rerr)
		}
		var rf *grid.Refusal
		var fe *fault.Error
		switch {
		case errors.As(err, &rf):
			return refuse(rf.Rule, "%s", rf.Reason)
		case errors.Is(err, grid.ErrInvalid) && errors.As(err, &fe):
			return refuse("hierarchy", "%s", fe.Message)
		}
		return res, err
	}
	if _, err := tx.Exec(ctx, "RELEASE SAVEPOINT grid_feature"); err != nil {
		return res, fmt.Errorf("ingest: grids: %w", err)
	}
	return res, nil
}

var defaultKind = map[string]string{"district": "district", "township": "township", "zone": "zone", "village": "village", "household": "household"}

func gcjToWGS(mp orb.MultiPolygon) orb.MultiPolygon {
	out := make(orb.MultiPolygon, len(mp))
	for i, p := range mp {
		out[i] = make(orb.Polygon, len(p))
		for j, r := range p {
			nr := make(orb.Ring, len(r))
			for k, pt := range r {
				nr[k] = geo.GCJ02ToWGS84(pt)
			}
			nr[len(nr)-1] = nr[0] // keep the ring closed exactly
			out[i][j] = nr
		}
	}
	return out
}

// WriteGridReport prints rep for a terminal: one line per feature, the
// coverage of each parent touched, then the totals.
func WriteGridReport(w io.Writer, rep *GridReport) {
	fmt.Fprintf(w, "datum %s%s\n", rep.Datum, map[bool]string{true: " (dry run: nothing written)", false: ""}[rep.DryRun])
	for _, f := range rep.Features {
		fmt.Fprintf(w, "#%d %s %s [%s] %s", f.N, f.Code, f.Name, f.Level, f.Outcome)
		if f.Outcome == OutcomeRefused {
			fmt.Fprintf(w, ": %s (%s)", f.Reason, f.Rule)
		}
		fmt.Fprintf(w, "; area %.1f m²", f.AreaM2)
		if f.Repaired {
			fmt.Fprintf(w, ", repaired with ST_MakeValid: area changed %.3f%%", 100*f.RepairChange)
		}
		if f.ParentAreaM2 > 0 {
			fmt.Fprintf(w, ", outside parent %.1f m² (%.4f%% of it), overlapping siblings %.1f m² (%.4f%%)",
				f.OutsideParentM2, 100*f.OutsideParentM2/f.ParentAreaM2, f.OverlapSiblingsM2, 100*f.OverlapSiblingsM2/f.ParentAreaM2)
		}
		fmt.Fprintln(w)
	}
	for _, p := range rep.Parents {
		fmt.Fprintf(w, "parent %s: area %.1f m², gap %.1f m² (%.4f%%), children overlapping %.1f m² (%.4f%%)\n",
			p.Code, p.AreaM2, p.GapM2, 100*p.GapShare, p.OverlapM2, 100*p.OverlapShare)
	}
	fmt.Fprintf(w, "total %d: new %d, changed %d, unchanged %d, refused %d\n", len(rep.Features),
		rep.Totals[OutcomeNew], rep.Totals[OutcomeChanged], rep.Totals[OutcomeUnchanged], rep.Totals[OutcomeRefused])
}

// Grids is ApplyGrids on the importer's database: the browser's upload
// of a grid file (POST /api/v1/imports, kind grids), read by
// ReadGridData, as ImportGrids is the CLI's.
func (im *Importer) Grids(ctx context.Context, raws []RawGrid, fileDatum string, opts GridOptions) (*GridReport, error) {
	return ApplyGrids(ctx, im.pool, raws, fileDatum, opts)
}

// EndReport records the end of an import whose report is its own (a
// GridReport or a PeopleReport), with the rows (features) it read; a
// failure is recorded as {"error": …}.
func (im *Importer) EndReport(ctx context.Context, id int64, report any, rows int64, failure error) {
	status := "done"
	if failure != nil {
		status, report = "failed", map[string]string{"error": failure.Error()}
	}
	_, _ = im.pool.Exec(ctx, `UPDATE imports SET status = $2, report = $3, finished_at = now(), rows_read = greatest(rows_read, $4) WHERE id = $1`,
		id, status, report, rows)
}

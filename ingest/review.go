package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"whistlegrid/access"
	"whistlegrid/fault"
	"whistlegrid/geo"
	"whistlegrid/grid"
	"whistlegrid/whistle"
)

// Request is one import as the CLI and the API ask for it: the kind of
// file and how to bring it in. Every kind reads the fields it needs.
type Request struct {
	Kind     string
	DryRun   bool
	Mode     Mode
	Encoding Encoding
	Mapping  *Mapping
	FileName string
	By       string
	Scope    access.Scope
	ImportID int64
	Progress func(rows int64)
	Rejects  io.Writer
}

// Runner brings one kind of file in.
type Runner func(ctx context.Context, r io.Reader, req Request) (*Report, error)

// Kinds returns the runners of every kind of file the platform imports,
// by kind: hotline and places here; other importers add theirs to the
// map (the API and the CLI take any kind in it).
func (im *Importer) Kinds() map[string]Runner {
	return map[string]Runner{
		"hotline": func(ctx context.Context, r io.Reader, q Request) (*Report, error) {
			return im.ImportHotline(ctx, r, HotlineOptions{Mode: q.Mode, DryRun: q.DryRun, Encoding: q.Encoding, Mapping: q.Mapping,
				FileName: q.FileName, By: q.By, Scope: q.Scope, ImportID: q.ImportID, Progress: q.Progress, Rejects: q.Rejects})
		},
		"places": func(ctx context.Context, r io.Reader, q Request) (*Report, error) {
			return im.ImportPlaces(ctx, r, PlacesOptions{DryRun: q.DryRun, Encoding: q.Encoding, FileName: q.FileName, By: q.By, ImportID: q.ImportID})
		},
	}
}

// KindNames lists the kinds of Kinds, sorted.
func KindNames(kinds map[string]Runner) []string {
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ImportStatus is an import as GET /api/v1/imports/{id} shows it.
type ImportStatus struct {
	ID         int64      `json:"id"`
	Kind       string     `json:"kind"`
	File       string     `json:"file"`
	Mode       string     `json:"mode"`
	Status     string     `json:"status"` // running, done, failed
	StartedBy  string     `json:"started_by"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	RowsRead   int64      `json:"rows_read"`
	// Report is the import's Report when done, {"error": …} when failed.
	Report any `json:"report"`
}

// Status reads an import; an unknown id is ErrNotFound.
func (im *Importer) Status(ctx context.Context, id int64) (ImportStatus, error) {
	var s ImportStatus
	err := im.pool.QueryRow(ctx, `SELECT id, kind, file_name, mode, status, started_by, started_at, finished_at, rows_read, report
        FROM imports WHERE id = $1`, id).Scan(&s.ID, &s.Kind, &s.File, &s.Mode, &s.Status, &s.StartedBy, &s.StartedAt, &s.FinishedAt, &s.RowsRead, &s.Report)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, fault.Errorf(ErrNotFound, "no import %d", id)
	}
	if err != nil {
		return s, fmt.Errorf("ingest: import status: %w", err)
	}
	return s, nil
}

// Progress records how many rows an import has read.
func (im *Importer) Progress(ctx context.Context, id, rows int64) {
	_, _ = im.pool.Exec(ctx, `UPDATE imports SET rows_read = $2 WHERE id = $1`, id, rows)
}

// UnplacedOrder is a hotline order waiting in the review queue.
type UnplacedOrder struct {
	ID           int64     `json:"id"`
	OrderNo      string    `json:"order_no"`
	Mode         string    `json:"mode"`
	ReceivedAt   time.Time `json:"received_at"`
	Address      string    `json:"address"`
	Content      string    `json:"content"`
	Category     string    `json:"category"`
	CategoryName string    `json:"category_name"`
	Precision    Precision `json:"precision"`
	Matched      string    `json:"matched"`
	Reason       string    `json:"reason"`
	Township     *string   `json:"township"` // code; null: no township known
	TownshipName *string   `json:"township_name"`
	Caller       string    `json:"caller"`
	Phone        string    `json:"phone"`
}

// Unplaced lists the review queue the caller sees, oldest first: a
// township operator the orders of their township, the command center all
// (those with no township known too). total counts them all.
func (im *Importer) Unplaced(ctx context.Context, sc access.Scope, limit, offset int) (out []UnplacedOrder, total int, err error) {
	if sc.Role != access.RoleCommand && sc.Role != access.RoleTownship && sc.Role != access.RoleScreen {
		return nil, 0, fault.Errorf(ErrForbidden, "a %s has no review queue", sc.Role)
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	rows, err := im.pool.Query(ctx, unplacedQuery, sc.Prefixes(), limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("ingest: review queue: %w", err)
	}
	defer rows.Close()
	out = []UnplacedOrder{}
	for rows.Next() {
		var o UnplacedOrder
		var name, phone *string
		if err := rows.Scan(&o.ID, &o.OrderNo, &o.Mode, &o.ReceivedAt, &o.Address, &o.Content, &o.Category, &o.CategoryName,
			&o.Precision, &o.Matched, &o.Reason, &o.Township, &o.TownshipName, &name, &phone, &total); err != nil {
			return nil, 0, fmt.Errorf("ingest: review queue: %w", err)
		}
		if name != nil {
			o.Caller = *name
		}
		if phone != nil {
			o.Phone = *phone
		}
		// the township's operator calls its callers back; the command
		// center's callback desk any caller (the one rule, SeesReporter)
		o.Caller, o.Phone = sc.Reporter(deref(o.Township), o.Caller, o.Phone)
		out = append(out, o)
	}
	return out, total, rows.Err()
}

// unplacedQuery: the jurisdiction's unplaced orders; an order with no
// township is the command center's (a NULL prefix list) alone.
const unplacedQuery = `
SELECT h.id, h.order_no, h.mode, h.received_at, h.address, h.content, c.code, c.name, h.precision, h.matched, h.reason,
    t.code, t.name, h.caller_name, h.caller_phone, count(*) OVER ()
FROM hotline_orders h
JOIN categories c ON c.id = h.category_id
LEFT JOIN grids t ON t.id = h.township_id
WHERE h.clue_id IS NULL
  AND ($1::text[] IS NULL OR t.code LIKE ANY($1::text[]))
ORDER BY h.received_at, h.id
LIMIT $2 OFFSET $3`

// PlacedOrder is what a pin did.
type PlacedOrder struct {
	ID     int64 `json:"id"`
	ClueID int64 `json:"clue_id"`
	// Whistle is the whistle a live order raised or joined, if any.
	Whistle *whistle.Summary `json:"whistle"`
}

// Place puts an unplaced order where the reviewer dropped a pin (WGS-84):
// a live order goes through the whistle intake (its rules may raise a
// whistle), a history order is stored as a clue with no rules run, as the
// import would have. The pin must lie in the caller's jurisdiction; an
// order placed already is ErrConflict.
func (im *Importer) Place(ctx context.Context, sc access.Scope, id int64, lon, lat float64) (PlacedOrder, error) {
	res := PlacedOrder{ID: id}
	if sc.Role != access.RoleCommand && sc.Role != access.RoleTownship {
		return res, fault.Errorf(ErrForbidden, "a %s may not place orders", sc.Role)
	}
	if err := geo.ValidLonLat(lon, lat); err != nil {
		return res, invalid("lon", "%v", err)
	}
	pt := orb.Point{lon, lat}
	pl, err := im.placer.Place(pt)
	if errors.Is(err, grid.ErrOutside) {
		return res, invalid("lon", "the point %.6f,%.6f is outside the district's grids", lon, lat)
	}
	if err != nil {
		return res, err
	}
	if !sc.Covers(pl.Chain[0].Code) {
		return res, fault.Errorf(ErrForbidden, "the point lies outside your jurisdiction")
	}
	var o struct {
		orderNo, mode, content, category, township string
		received                                   time.Time
		caller, phone                              *string
		clue                                       *int64
	}
	err = im.pool.QueryRow(ctx, `SELECT h.order_no, h.mode, h.content, c.code, coalesce(t.code, ''), h.received_at, h.caller_name, h.caller_phone, h.clue_id
        FROM hotline_orders h JOIN categories c ON c.id = h.category_id LEFT JOIN grids t ON t.id = h.township_id WHERE h.id = $1`, id).
		Scan(&o.orderNo, &o.mode, &o.content, &o.category, &o.township, &o.received, &o.caller, &o.phone, &o.clue)
	if errors.Is(err, pgx.ErrNoRows) {
		return res, fault.Errorf(ErrNotFound, "no hotline order %d", id)
	}
	if err != nil {
		return res, fmt.Errorf("ingest: place order: %w", err)
	}
	if sc.Role != access.RoleCommand && (o.township == "" || !sc.Covers(o.township)) {
		return res, fault.Errorf(ErrNotFound, "no hotline order %d in your review queue", id)
	}
	if o.clue != nil {
		return res, fault.Errorf(ErrConflict, "order %s is placed already (clue %d)", o.orderNo, *o.clue)
	}
	if o.mode == string(ModeLive) {
		in := whistle.ClueInput{Source: "hotline", ExternalID: o.orderNo, Category: o.category, Text: o.content,
			Lon: &lon, Lat: &lat, Datum: "wgs84", ReportedAt: o.received.Format(time.RFC3339)}
		if o.caller != nil || o.phone != nil {
			in.Reporter = &whistle.Reporter{Name: deref(o.caller), Phone: deref(o.phone)}
		}
		got, err := im.whistles.Intake(ctx, sc, in)
		if err != nil {
			return res, err
		}
		res.ClueID, res.Whistle = got.Clue.ID, got.Whistle
	} else {
		town := linkAt(pl.Chain, grid.LevelTownship)
		err := im.pool.QueryRow(ctx, insertPinnedClue, o.orderNo, o.category, o.content, lon, lat, geo.H3Cell(pt, geo.DefaultH3Res),
			pl.Chain[0].ID, town.ID, pl.EdgeDistanceM, pl.NearEdge, o.received, o.caller, o.phone).Scan(&res.ClueID)
		if err != nil {
			return res, fmt.Errorf("ingest: place order: %w", err)
		}
	}
	tag, err := im.pool.Exec(ctx, `UPDATE hotline_orders SET clue_id = $2, precision = 'household', method = 'pin',
        matched = $3, reason = '', township_id = (SELECT township_id FROM clues WHERE id = $2), placed_by = $4, placed_at = now()
        WHERE id = $1 AND clue_id IS NULL`, id, res.ClueID, fmt.Sprintf("%.6f,%.6f wgs84", lon, lat), sc.Username)
	if err != nil {
		return res, fmt.Errorf("ingest: place order: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return res, fault.Errorf(ErrConflict, "order %s was placed meanwhile", o.orderNo)
	}
	return res, nil
}

// insertPinnedClue stores a history order's clue at its pin (or finds the
// one stored under its number), no rules run.
const insertPinnedClue = `
WITH ins AS (
    INSERT INTO clues (source, external_id, category_id, text, received_lon, received_lat, datum, location, h3,
        grid_id, township_id, boundary_distance_m, near_edge, reported_at, reporter_name, reporter_phone)
    SELECT 'hotline', $1, c.id, $3, $4, $5, 'wgs84', ST_SetSRID(ST_MakePoint($4, $5), 4326), $6, $7, $8, $9, $10, $11, $12, $13
    FROM categories c WHERE c.code = $2
    ON CONFLICT (source, external_id) DO NOTHING
    RETURNING id
)
SELECT id FROM ins UNION ALL SELECT id FROM clues WHERE source = 'hotline' AND external_id = $1 LIMIT 1`

// SaveRejects keeps an import's rejects file.
func (im *Importer) SaveRejects(ctx context.Context, id int64, csv string) {
	_, _ = im.pool.Exec(ctx, `UPDATE imports SET rejects = $2 WHERE id = $1`, id, csv)
}

// Rejects returns an import's rejects file (CSV row,column,reason; the
// header alone when it has none).
func (im *Importer) Rejects(ctx context.Context, id int64) (string, error) {
	var s *string
	err := im.pool.QueryRow(ctx, `SELECT rejects FROM imports WHERE id = $1`, id).Scan(&s)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fault.Errorf(ErrNotFound, "no import %d", id)
	}
	if err != nil {
		return "", fmt.Errorf("ingest: rejects: %w", err)
	}
	if s == nil {
		return "row,column,reason\n", nil
	}
	return *s, nil
}

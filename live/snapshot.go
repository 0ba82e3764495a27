package live

import (
	"context"
	"fmt"
	"strings"
	"time"

	"whistlegrid/access"
	"whistlegrid/fault"

	"github.com/jackc/pgx/v5"
)

// ErrNotFound is returned for a township that does not exist or lies
// outside the caller's jurisdiction.
var ErrNotFound = fault.New(fault.NotFound, "live: not found")

// RateWindow is the period the three rates of a snapshot are computed over.
const RateWindow = 30 * 24 * time.Hour

// Snapshot is the state the wall map starts from: the open whistles, their
// counts, today's figures and the rates, all true at Seq. A client applies
// the live events after Seq (GET /api/v1/live?since=Seq).
type Snapshot struct {
	// Seq is the events seq the snapshot includes every change up to. It is
	// the highest seq in the table when the snapshot was read, lowered to
	// the hub's delivered seq when that is lower, so that no change can
	// fall between the snapshot and the stream; events after Seq may
	// already be reflected and are safe to apply again (they carry the
	// whistle's whole state).
	Seq      int64             `json:"seq"`
	At       time.Time         `json:"at"`                 // the database's time of the snapshot
	Township string            `json:"township,omitempty"` // the township asked for, "" for the whole jurisdiction
	Whistles []SnapshotWhistle `json:"whistles"`           // open whistles, by id
	Counts   Counts            `json:"counts"`
	Today    Today             `json:"today"`
	Rates    Rates             `json:"rates"`
}

// SnapshotWhistle is one open whistle on the map, in the same shape as an
// event's payload whistle. Lon/lat are WGS-84 (SRID 4326), null when the
// whistle has no location. OverdueNow and EverOverdue are the two meanings
// of overdue (migrations/00005_whistle_summaries.sql); on an open whistle
// they agree, and Overdue is EverOverdue by its older name, which the wall
// map reads.
type SnapshotWhistle struct {
	ID           int64     `json:"id"`
	Lon          *float64  `json:"lon"`
	Lat          *float64  `json:"lat"`
	Grade        string    `json:"grade"`
	Status       string    `json:"status"`
	Overdue      bool      `json:"overdue"`
	OverdueNow   bool      `json:"overdue_now"`
	EverOverdue  bool      `json:"ever_overdue"`
	Category     string    `json:"category"`
	CategoryName string    `json:"category_name"`
	Township     string    `json:"township"`
	TownshipName string    `json:"township_name"`
	RaisedAt     time.Time `json:"raised_at"`
	ReportInDue  time.Time `json:"report_in_due"`
	ResolveDue   time.Time `json:"resolve_due"`
}

// Counts count the open whistles by status (raised, in_progress,
// awaiting_approval) and grade (routine, priority, hard), every key present.
// OverdueNow counts the open whistles overdue now; Overdue is the same
// count by its older name, which the wall map reads.
type Counts struct {
	Open       int            `json:"open"`
	Overdue    int            `json:"overdue"`
	OverdueNow int            `json:"overdue_now"`
	ByStatus   map[string]int `json:"by_status"`
	ByGrade    map[string]int `json:"by_grade"`
}

// Today are the figures of the current day in Beijing time (Asia/Shanghai,
// from 00:00).
type Today struct {
	CluesReceived  int64 `json:"clues_received"`
	WhistlesRaised int64 `json:"whistles_raised"`
	WhistlesClosed int64 `json:"whistles_closed"`
}

// Rate is num/den, null when den is 0.
type Rate struct {
	Rate *float64 `json:"rate"`
	Num  int64    `json:"num"`
	Den  int64    `json:"den"`
}

func rate(num, den int64) Rate {
	r := Rate{Num: num, Den: den}
	if den > 0 {
		v := float64(num) / float64(den)
		r.Rate = &v
	}
	return r
}

// Rates are the three figures of 一哨三评 over the last RateWindow:
//   - ReportIn (响应率): summons summoned in the window that reported in on
//     time, over those whose report-in due has passed or that reported in.
//     A summons is due at its whistle's report_in_due, or, for a unit
//     summoned later, its summoned_at plus the whistle's report-in window;
//   - Resolution (解决率): whistles closed in the window with outcome
//     resolved, over whistles closed in the window;
//   - Satisfaction (满意率): summons rated in the window with a satisfied
//     rating of 4 or 5, over summons rated in the window.
//
// A unit user's rates count its own summons only.
type Rates struct {
	WindowDays   int  `json:"window_days"`
	ReportIn     Rate `json:"report_in"`
	Resolution   Rate `json:"resolution"`
	Satisfaction Rate `json:"satisfaction"`
}

// sqlScope is a caller's jurisdiction as binds: role, grid and unit for
// the whistles (whistle_summaries, migrations/00005_whistle_summaries.sql,
// the one definition of a whistle's jurisdiction); for the clues (clueScope)
// a township code ("" for any), a unit that must be summoned (nil for
// none), grid-code prefixes the clue's grid must match (nil for any). unit
// also limits a unit user's rates to its own summons.
type sqlScope struct {
	role, grid string
	unitID     int64
	township   string
	unit       *int64
	prefixes   []string
}

// scopeOf turns a caller and the township it asked for into binds. A
// township outside the jurisdiction is ErrNotFound: a township user may
// ask only for its own, a grid worker or party member for the township
// its grid lies in, a field station for the townships it serves.
//
// The rule is the live stream's (Visible): command and screen see every
// whistle; a township its own; a unit the whistles it is summoned to; a
// grid worker or party member the whistles and clues whose grid lies in
// its grid.
func scopeOf(sc access.Scope, township string) (sqlScope, error) {
	if township != "" && !sc.Covers(township) && !strings.HasPrefix(sc.GridCode, township) {
		return sqlScope{}, fault.Errorf(ErrNotFound, "township %s is not in your jurisdiction", township)
	}
	out := sqlScope{role: string(sc.Role), grid: sc.GridCode, unitID: sc.UnitID, township: township}
	switch sc.Role {
	case access.RoleCommand, access.RoleScreen:
	case access.RoleTownship:
		out.township = sc.GridCode
	case access.RoleUnit:
		id := sc.UnitID
		out.unit = &id
	case access.RoleGridWorker, access.RolePartyMember:
		out.prefixes = sc.Prefixes()
	default:
		out.prefixes = []string{}
	}
	return out, nil
}

// whistlesIn is the whistles w of the jurisdiction bound at $1 $2 $3
// (role, grid, unit), with their summaries as of now.
const whistlesIn = `whistle_summaries(now(), $1, $2, $3) w`

// clueScope limits clues c (with t its township grid and hg its household
// grid) to the binds $5 township, $6 unit, $7 prefixes.
const clueScope = `($5::text = '' OR t.code = $5)
	AND ($6::bigint IS NULL OR EXISTS (SELECT 1 FROM summons su WHERE su.whistle_id = c.whistle_id AND su.unit_id = $6))
	AND ($7::text[] IS NULL OR hg.code LIKE ANY($7::text[]))`

const snapshotHead = `SELECT coalesce(max(seq), 0), now(),
	$1::text = '' OR EXISTS (SELECT 1 FROM grids WHERE code = $1 AND level = 'township' AND valid_to IS NULL)
FROM events`

// snapshotWhistles: binds $1 $2 $3 the jurisdiction (whistlesIn), $4 the
// township asked for ("" for all).
const snapshotWhistles = `
SELECT w.id, ST_X(w.location), ST_Y(w.location), w.grade, w.status, w.overdue_now, w.ever_overdue,
	w.category, w.category_name, w.township, w.township_name, w.raised_at, w.report_in_due, w.resolve_due
FROM ` + whistlesIn + `
WHERE w.status <> 'closed' AND ($4::text = '' OR w.township = $4)
ORDER BY w.id`

// snapshotFigures: binds as snapshotWhistles, then the clues' $5 $6 $7
// (clueScope; $6 also limits a unit user's rates to its own summons), $8
// RateWindow.
const snapshotFigures = `
WITH day AS (
	SELECT date_trunc('day', now(), 'Asia/Shanghai') AS start
), sw AS (
	SELECT w.id, w.raised_at, w.report_in_due, w.closed_at, w.outcome
	FROM ` + whistlesIn + `
	WHERE $4::text = '' OR w.township = $4
), ss AS (
	SELECT s.summoned_at, s.reported_in_at, s.rated_at, s.rating_satisfied,
		greatest(sw.report_in_due, s.summoned_at + (sw.report_in_due - sw.raised_at)) AS due
	FROM summons s JOIN sw ON sw.id = s.whistle_id
	WHERE $6::bigint IS NULL OR s.unit_id = $6
)
SELECT
	(SELECT count(*) FROM clues c
		JOIN grids t ON t.id = c.township_id
		JOIN grids hg ON hg.id = c.grid_id
		WHERE c.received_at >= (SELECT start FROM day) AND ` + clueScope + `),
	(SELECT count(*) FROM sw WHERE raised_at >= (SELECT start FROM day)),
	(SELECT count(*) FROM sw WHERE closed_at >= (SELECT start FROM day)),
	(SELECT count(*) FROM ss WHERE summoned_at >= now() - $8::interval AND reported_in_at <= due),
	(SELECT count(*) FROM ss WHERE summoned_at >= now() - $8::interval AND (reported_in_at IS NOT NULL OR due <= now())),
	(SELECT count(*) FROM sw WHERE closed_at >= now() - $8::interval AND outcome = 'resolved'),
	(SELECT count(*) FROM sw WHERE closed_at >= now() - $8::interval),
	(SELECT count(*) FROM ss WHERE rated_at >= now() - $8::interval AND rating_satisfied >= 4),
	(SELECT count(*) FROM ss WHERE rated_at >= now() - $8::interval)`

// Snapshot reads the wall map's starting state for the caller, for one
// township or ("") the whole jurisdiction, in one REPEATABLE READ
// transaction so that Seq and the data agree.
func (h *Hub) Snapshot(ctx context.Context, sc access.Scope, township string) (*Snapshot, error) {
	sq, err := scopeOf(sc, township)
	if err != nil {
		return nil, err
	}
	// Read before the transaction's snapshot: every event up to it is
	// committed, so its change is in what the transaction sees.
	delivered, hubOK := h.Seq()
	tx, err := h.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("live: snapshot: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	s := &Snapshot{Township: township, Whistles: []SnapshotWhistle{}, Counts: Counts{
		ByStatus: map[string]int{"raised": 0, "in_progress": 0, "awaiting_approval": 0},
		ByGrade:  map[string]int{"routine": 0, "priority": 0, "hard": 0},
	}}
	var exists bool
	if err := tx.QueryRow(ctx, snapshotHead, township).Scan(&s.Seq, &s.At, &exists); err != nil {
		return nil, fmt.Errorf("live: snapshot: %w", err)
	}
	if !exists {
		return nil, fault.Errorf(ErrNotFound, "no township %s", township)
	}
	if hubOK && delivered < s.Seq {
		s.Seq = delivered
	}
	rows, err := tx.Query(ctx, snapshotWhistles, sq.role, sq.grid, sq.unitID, township)
	if err != nil {
		return nil, fmt.Errorf("live: snapshot: %w", err)
	}
	for rows.Next() {
		var w SnapshotWhistle
		if err := rows.Scan(&w.ID, &w.Lon, &w.Lat, &w.Grade, &w.Status, &w.OverdueNow, &w.EverOverdue, &w.Category, &w.CategoryName,
			&w.Township, &w.TownshipName, &w.RaisedAt, &w.ReportInDue, &w.ResolveDue); err != nil {
			rows.Close()
			return nil, fmt.Errorf("live: snapshot: %w", err)
		}
		w.Overdue = w.EverOverdue
		s.Whistles = append(s.Whistles, w)
		s.Counts.Open++
		s.Counts.ByStatus[w.Status]++
		s.Counts.ByGrade[w.Grade]++
		if w.OverdueNow {
			s.Counts.OverdueNow++
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("live: snapshot: %w", err)
	}
	s.Counts.Overdue = s.Counts.OverdueNow
	var f [9]int64
	if err := tx.QueryRow(ctx, snapshotFigures, sq.role, sq.grid, sq.unitID, township, sq.township, sq.unit, sq.prefixes, RateWindow).Scan(
		&f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8]); err != nil {
		return nil, fmt.Errorf("live: snapshot: %w", err)
	}
	s.Today = Today{CluesReceived: f[0], WhistlesRaised: f[1], WhistlesClosed: f[2]}
	s.Rates = Rates{
		WindowDays:   int(RateWindow / (24 * time.Hour)),
		ReportIn:     rate(f[3], f[4]),
		Resolution:   rate(f[5], f[6]),
		Satisfaction: rate(f[7], f[8]),
	}
	return s, tx.Commit(ctx)
}

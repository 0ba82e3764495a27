package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/access"
	"whistlegrid/fault"
	"whistlegrid/geo"
)

// Store runs the ledger against the database.
type Store struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

// NewStore returns a Store on pool; now is the clock (nil: time.Now).
func NewStore(pool *pgxpool.Pool, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{pool: pool, now: now}
}

// Ref is a grid or unit named by code.
type Ref struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// Responsible is an item's responsible party: a township or a unit.
type Responsible struct {
	Kind string `json:"kind"` // township or unit
	Code string `json:"code"`
	Name string `json:"name"`
}

// Measure is one measure of an item, with its deadline. Overdue is true
// while it is not done and past its deadline.
type Measure struct {
	N         int        `json:"n"`
	Text      string     `json:"text"`
	Due       time.Time  `json:"due"`
	DoneAt    *time.Time `json:"done_at"`
	OverdueAt *time.Time `json:"overdue_at"`
	LateAt    *time.Time `json:"late_at"`
	Overdue   bool       `json:"overdue"`
}

// Item is a ledger item as lists and the detail show it.
type Item struct {
	ID              int64       `json:"id"`
	Title           string      `json:"title"`
	Problem         string      `json:"problem"`
	Grid            Ref         `json:"grid"`
	Township        Ref         `json:"township"`
	Source          string      `json:"source"`
	SourceName      string      `json:"source_name"`
	Responsible     Responsible `json:"responsible"`
	SupervisingUnit *Ref        `json:"supervising_unit"`
	Level           string      `json:"level"`
	LevelName       string      `json:"level_name"`
	Status          string      `json:"status"`
	StatusName      string      `json:"status_name"`
	WhistleID       *int64      `json:"whistle_id"`
	HotspotCell     *string     `json:"hotspot_cell"`
	CreatedAt       time.Time   `json:"created_at"`
	UpdatedAt       time.Time   `json:"updated_at"`
	ClosedAt        *time.Time  `json:"closed_at"`
	Measures        []Measure   `json:"measures"`
	Overdue         bool        `json:"overdue"`  // a measure not done is past its deadline
	NextDue         *time.Time  `json:"next_due"` // the earliest deadline of a measure not done
	party           Party
	responsibleUnit *int64
}

// Entry is one step of an item's trail.
type Entry struct {
	ID          int64     `json:"id"`
	At          time.Time `json:"at"`
	Kind        string    `json:"kind"`
	Actor       string    `json:"actor"`
	Note        string    `json:"note"`
	Attachments []string  `json:"attachments"`
}

// Notice is a supervision notice sent when the item rose.
type Notice struct {
	Level     string    `json:"level"`
	Recipient string    `json:"recipient"`
	At        time.Time `json:"at"`
	Note      string    `json:"note"`
}

// Detail is an item with its trail and notices.
type Detail struct {
	Item
	Entries []Entry  `json:"entries"`
	Notices []Notice `json:"notices"`
	// LastReject is the reason of the latest rejected 销账, "" if none.
	LastReject string `json:"last_reject"`
}

// itemColumns are the columns scanItem reads, over ledger_items i.
const itemColumns = `i.id, i.title, i.problem, i.grid_code, g.name, i.township_code, t.name, i.source,
	coalesce(i.responsible_township, ''), coalesce(rt.name, ''), i.responsible_unit_id, coalesce(ru.code, ''), coalesce(ru.name, ''),
	i.supervising_unit_id, coalesce(su.code, ''), coalesce(su.name, ''),
	i.level, i.status, i.whistle_id, i.hotspot_cell, i.created_at, i.updated_at, i.closed_at,
	coalesce((SELECT json_agg(json_build_object('n', m.n, 'text', m.text, 'due', m.due, 'done_at', m.done_at,
		'overdue_at', m.overdue_at, 'late_at', m.late_at, 'overdue', m.done_at IS NULL AND m.due < $1) ORDER BY m.n)
		FROM ledger_measures m WHERE m.item_id = i.id), '[]')::text`

// itemFrom is the FROM clause of itemColumns, the items the caller sees:
// the scope binds are $2 (role), $3 (prefixes), $4 (unit id).
const itemFrom = `
FROM ledger_items i
JOIN grids g ON g.id = i.grid_id
JOIN grids t ON t.code = i.township_code
LEFT JOIN grids rt ON rt.code = i.responsible_township
LEFT JOIN units ru ON ru.id = i.responsible_unit_id
LEFT JOIN units su ON su.id = i.supervising_unit_id
WHERE ledger_visible(i, $2, $3, $4)`

func scopeArgs(sc access.Scope) []any {
	p := sc.Prefixes()
	if p == nil {
		p = []string{"%"}
	}
	return []any{string(sc.Role), p, sc.UnitID}
}

func (it *Item) finish(su *int64, suCode, suName, measures string) error {
	it.party.Grid = it.Grid.Code
	if it.party.ResponsibleTownship != "" {
		it.Responsible.Kind, it.Responsible.Code = "township", it.party.ResponsibleTownship
	} else {
		it.Responsible.Kind = "unit"
		if it.responsibleUnit != nil {
			it.party.ResponsibleUnit = *it.responsibleUnit
		}
	}
	if su != nil {
		it.party.SupervisingUnit = *su
		it.SupervisingUnit = &Ref{Code: suCode, Name: suName}
	}
	it.SourceName, it.LevelName, it.StatusName = SourceNames[it.Source], LevelNames[it.Level], StatusNames[it.Status]
	if err := json.Unmarshal([]byte(measures), &it.Measures); err != nil {
		return fmt.Errorf("ledger: measures: %w", err)
	}
	for _, m := range it.Measures {
		if m.Overdue && it.Status != StatusClosed {
			it.Overdue = true
		}
		if m.DoneAt == nil && (it.NextDue == nil || m.Due.Before(*it.NextDue)) {
			d := m.Due
			it.NextDue = &d
		}
	}
	return nil
}

// fixResponsibleName moves the unit's name where a township's would be.
func fixResponsible(it *Item, unitName string) {
	if it.Responsible.Kind == "unit" {
		it.Responsible.Name = unitName
	}
}

// Filter narrows List.
type Filter struct {
	Status   string // open, writeoff_requested, closed; "" all
	Level    string // township, department, command; "" all
	Source   string
	Township string // township code
	Overdue  bool   // only items with a measure past its deadline, not done
	Query    string // in the title or problem
	Limit    int    // default 50, at most 500
	Offset   int
}

// List answers the items the caller sees, newest first, and how many
// match in all.
func (s *Store) List(ctx context.Context, sc access.Scope, f Filter) ([]Item, int, error) {
	args := append([]any{s.now()}, scopeArgs(sc)...)
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	var where strings.Builder
	if f.Status != "" {
		if StatusNames[f.Status] == "" {
			return nil, 0, fault.FieldErrorf(ErrInvalid, "status", "status must be open, writeoff_requested or closed")
		}
		where.WriteString(" AND i.status = " + arg(f.Status))
	}
	if f.Level != "" {
		if LevelNames[f.Level] == "" {
			return nil, 0, fault.FieldErrorf(ErrInvalid, "level", "level must be township, department or command")
		}
		where.WriteString(" AND i.level = " + arg(f.Level))
	}
	if f.Source != "" {
		if !ValidSource(f.Source) {
			return nil, 0, fault.FieldErrorf(ErrInvalid, "source", "source must be one of %s", strings.Join(Sources, ", "))
		}
		where.WriteString(" AND i.source = " + arg(f.Source))
	}
	if f.Township != "" {
		where.WriteString(" AND i.township_code = " + arg(f.Township))
	}
	if f.Overdue {
		where.WriteString(" AND i.status <> 'closed' AND EXISTS (SELECT 1 FROM ledger_measures m WHERE m.item_id = i.id AND m.done_at IS NULL AND m.due < $1)")
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		p := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q) + "%"
		a := arg(p)
		where.WriteString(" AND (i.title LIKE " + a + " OR i.problem LIKE " + a + ")")
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	if f.Limit > 500 {
		return nil, 0, fault.FieldErrorf(ErrInvalid, "limit", "limit is at most 500")
	}
	var total int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FILTER (WHERE $1::timestamptz IS NOT NULL)"+itemFrom+where.String(), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("ledger: list: %w", err)
	}
	q := "SELECT " + itemColumns + ", coalesce(ru.name, '')" + itemFrom + where.String() + " ORDER BY i.created_at DESC, i.id DESC LIMIT " + arg(f.Limit) + " OFFSET " + arg(f.Offset)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("ledger: list: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanItemRow)
	if err != nil {
		return nil, 0, fmt.Errorf("ledger: list: %w", err)
	}
	if out == nil {
		out = []Item{}
	}
	return out, total, nil
}

// scanItemRow reads itemColumns and the responsible unit's name.
func scanItemRow(r pgx.CollectableRow) (Item, error) {
	var it Item
	var su *int64
	var suCode, suName, measures, unitName string
	err := r.Scan(&it.ID, &it.Title, &it.Problem, &it.Grid.Code, &it.Grid.Name, &it.Township.Code, &it.Township.Name, &it.Source,
		&it.party.ResponsibleTownship, &it.Responsible.Name, &it.responsibleUnit, &it.Responsible.Code, &unitName,
		&su, &suCode, &suName, &it.Level, &it.Status, &it.WhistleID, &it.HotspotCell, &it.CreatedAt, &it.UpdatedAt, &it.ClosedAt, &measures, new(string))
	if err != nil {
		return it, err
	}
	if err := it.finish(su, suCode, suName, measures); err != nil {
		return it, err
	}
	fixResponsible(&it, unitName)
	return it, nil
}

// item reads one item the caller sees; q is the pool or a transaction.
// lock takes the item's row lock (FOR UPDATE OF i) for a change.
func (s *Store) item(ctx context.Context, q pgx.Tx, sc access.Scope, id int64, lock bool) (Item, error) {
	sql := "SELECT " + itemColumns + ", coalesce(ru.name, '')" + itemFrom + " AND i.id = $5"
	if lock {
		sql += " FOR UPDATE OF i"
	}
	args := append([]any{s.now()}, scopeArgs(sc)...)
	args = append(args, id)
	var rows pgx.Rows
	var err error
	if q != nil {
		rows, err = q.Query(ctx, sql, args...)
	} else {
		rows, err = s.pool.Query(ctx, sql, args...)
	}
	if err != nil {
		return Item{}, fmt.Errorf("ledger: item: %w", err)
	}
	it, err := pgx.CollectExactlyOneRow(rows, scanItemRow)
	if errors.Is(err, pgx.ErrNoRows) {
		return Item{}, fault.Errorf(ErrNotFound, "no ledger item %d (or outside your jurisdiction)", id)
	}
	if err != nil {
		return Item{}, fmt.Errorf("ledger: item: %w", err)
	}
	return it, nil
}

// Get answers an item with its trail and notices.
func (s *Store) Get(ctx context.Context, sc access.Scope, id int64) (Detail, error) {
	it, err := s.item(ctx, nil, sc, id, false)
	if err != nil {
		return Detail{}, err
	}
	d := Detail{Item: it, Entries: []Entry{}, Notices: []Notice{}}
	rows, err := s.pool.Query(ctx, `SELECT id, at, kind, actor, note, attachments FROM ledger_entries WHERE item_id = $1 ORDER BY at, id`, id)
	if err != nil {
		return Detail{}, fmt.Errorf("ledger: entries: %w", err)
	}
	d.Entries, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Entry, error) {
		var e Entry
		err := r.Scan(&e.ID, &e.At, &e.Kind, &e.Actor, &e.Note, &e.Attachments)
		return e, err
	})
	if err != nil {
		return Detail{}, fmt.Errorf("ledger: entries: %w", err)
	}
	for _, e := range d.Entries {
		switch e.Kind {
		case "reject":
			d.LastReject = e.Note
		case "approve":
			d.LastReject = ""
		}
	}
	rows, err = s.pool.Query(ctx, `SELECT level, recipient, at, note FROM ledger_notices WHERE item_id = $1 ORDER BY at, id`, id)
	if err != nil {
		return Detail{}, fmt.Errorf("ledger: notices: %w", err)
	}
	d.Notices, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Notice, error) {
		var n Notice
		err := r.Scan(&n.Level, &n.Recipient, &n.At, &n.Note)
		return n, err
	})
	if err != nil {
		return Detail{}, fmt.Errorf("ledger: notices: %w", err)
	}
	if d.Entries == nil {
		d.Entries = []Entry{}
	}
	if d.Notices == nil {
		d.Notices = []Notice{}
	}
	return d, nil
}

// MeasureInput is a measure as it arrives.
type MeasureInput struct {
	Text string `json:"text"`
	Due  string `json:"due"` // RFC 3339, or a date YYYY-MM-DD (the end of that day, Beijing time)
}

// CreateInput is an item as it arrives at POST /api/v1/ledger. WhistleID
// or HotspotCell turn a whistle or a hotspot place into an item in one
// step: the item keeps the link, and a whistle gives the grid (and the
// title and source, when they are not given).
type CreateInput struct {
	Title               string         `json:"title"`
	Problem             string         `json:"problem"`
	Grid                string         `json:"grid"`
	Source              string         `json:"source"`
	ResponsibleTownship string         `json:"responsible_township"`
	ResponsibleUnit     string         `json:"responsible_unit"`
	SupervisingUnit     string         `json:"supervising_unit"`
	Measures            []MeasureInput `json:"measures"`
	WhistleID           int64          `json:"whistle_id"`
	HotspotCell         string         `json:"hotspot_cell"`
}

// parseDue reads a measure's deadline.
func parseDue(field, s string) (time.Time, error) {
	if t, err := geo.ParseTime(s); err == nil {
		return t, nil
	}
	if d, err := time.ParseInLocation("2006-01-02", s, geo.Beijing); err == nil {
		return d.Add(24*time.Hour - time.Second), nil
	}
	return time.Time{}, fault.FieldErrorf(ErrInvalid, field, "%s must be an RFC 3339 time or a date YYYY-MM-DD", field)
}

func checkText(field, v string, maxLen int, required bool) error {
	if required && strings.TrimSpace(v) == "" {
		return fault.FieldErrorf(ErrInvalid, field, "%s is required", field)
	}
	if utf8.RuneCountInString(v) > maxLen {
		return fault.FieldErrorf(ErrInvalid, field, "%s is at most %d characters", field, maxLen)
	}
	return nil
}

func parseMeasures(ms []MeasureInput, field string) ([]string, []time.Time, error) {
	if len(ms) > MaxMeasures {
		return nil, nil, fault.FieldErrorf(ErrInvalid, field, "at most %d measures", MaxMeasures)
	}
	texts := make([]string, len(ms))
	dues := make([]time.Time, len(ms))
	for i, m := range ms {
		f := fmt.Sprintf("%s[%d]", field, i)
		if err := checkText(f+".text", m.Text, MaxMeasure, true); err != nil {
			return nil, nil, err
		}
		d, err := parseDue(f+".due", m.Due)
		if err != nil {
			return nil, nil, err
		}
		if d.Year() < 2000 || d.Year() > 2100 {
			return nil, nil, fault.FieldErrorf(ErrInvalid, f+".due", "%s.due must lie between 2000 and 2100", f)
		}
		texts[i], dues[i] = strings.TrimSpace(m.Text), d
	}
	return texts, dues, nil
}

// Create records an item (open, at the township level) and answers it.
func (s *Store) Create(ctx context.Context, sc access.Scope, in CreateInput) (Detail, error) {
	now := s.now()
	if in.Title == "" && in.WhistleID == 0 {
		return Detail{}, fault.FieldErrorf(ErrInvalid, "title", "title is required")
	}
	if err := checkText("title", in.Title, MaxTitle, false); err != nil {
		return Detail{}, err
	}
	if err := checkText("problem", in.Problem, MaxProblem, false); err != nil {
		return Detail{}, err
	}
	if in.Source != "" && !ValidSource(in.Source) {
		return Detail{}, fault.FieldErrorf(ErrInvalid, "source", "source must be one of %s", strings.Join(Sources, ", "))
	}
	if (in.ResponsibleTownship == "") == (in.ResponsibleUnit == "") {
		return Detail{}, fault.FieldErrorf(ErrInvalid, "responsible_township", "give exactly one of responsible_township and responsible_unit")
	}
	if len(in.Measures) == 0 {
		return Detail{}, fault.FieldErrorf(ErrInvalid, "measures", "at least one measure, each with text and due")
	}
	texts, dues, err := parseMeasures(in.Measures, "measures")
	if err != nil {
		return Detail{}, err
	}
	if in.HotspotCell != "" {
		in.HotspotCell = strings.ToLower(in.HotspotCell)
		if len(in.HotspotCell) != 15 || strings.Trim(in.HotspotCell, "0123456789abcdef") != "" {
			return Detail{}, fault.FieldErrorf(ErrInvalid, "hotspot_cell", "hotspot_cell is an H3 cell in hex (15 digits)")
		}
		if in.Source == "" {
			in.Source = "hotspot"
		}
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return Detail{}, fmt.Errorf("ledger: create: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if in.WhistleID != 0 {
		var grid, township, cat, note string
		err := tx.QueryRow(ctx, `SELECT w.grid, w.township, w.category_name, coalesce(w.note, '')
			FROM whistle_summaries($1, $2, $3, $4) w WHERE w.id = $5`, now, string(sc.Role), sc.GridCode, sc.UnitID, in.WhistleID).Scan(&grid, &township, &cat, &note)
		if errors.Is(err, pgx.ErrNoRows) {
			return Detail{}, fault.FieldErrorf(ErrInvalid, "whistle_id", "no whistle %d (or outside your jurisdiction)", in.WhistleID)
		}
		if err != nil {
			return Detail{}, fmt.Errorf("ledger: create: %w", err)
		}
		if in.Grid == "" {
			in.Grid = grid
			if in.Grid == "" {
				in.Grid = township
			}
		}
		if in.Title == "" {
			in.Title = fmt.Sprintf("%s（第%d号哨）", cat, in.WhistleID)
		}
		if in.Problem == "" {
			in.Problem = note
		}
		if in.Source == "" {
			in.Source = "complaints"
		}
	}
	if in.Source == "" {
		return Detail{}, fault.FieldErrorf(ErrInvalid, "source", "source is required: one of %s", strings.Join(Sources, ", "))
	}
	if in.Grid == "" {
		return Detail{}, fault.FieldErrorf(ErrInvalid, "grid", "grid is required (a township, village or household grid code)")
	}
	var gridID int64
	var level string
	err = tx.QueryRow(ctx, `SELECT id, level FROM grids WHERE code = $1 AND valid_to IS NULL`, in.Grid).Scan(&gridID, &level)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && level == "district") {
		return Detail{}, fault.FieldErrorf(ErrInvalid, "grid", "no township, village or household grid %q", in.Grid)
	}
	if err != nil {
		return Detail{}, fmt.Errorf("ledger: create: %w", err)
	}
	township := in.Grid[:9]
	var respUnit, supUnit any
	if in.ResponsibleTownship != "" {
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM grids WHERE code = $1 AND level = 'township')`, in.ResponsibleTownship).Scan(&ok); err != nil {
			return Detail{}, fmt.Errorf("ledger: create: %w", err)
		}
		if !ok {
			return Detail{}, fault.FieldErrorf(ErrInvalid, "responsible_township", "no township %q", in.ResponsibleTownship)
		}
	} else if respUnit, err = unitID(ctx, tx, "responsible_unit", in.ResponsibleUnit); err != nil {
		return Detail{}, err
	}
	if in.SupervisingUnit != "" {
		if supUnit, err = unitID(ctx, tx, "supervising_unit", in.SupervisingUnit); err != nil {
			return Detail{}, err
		}
	}
	p := Party{Grid: in.Grid, ResponsibleTownship: in.ResponsibleTownship}
	if err := Authorize(sc, ActCreate, p); err != nil {
		return Detail{}, err
	}
	var id int64
	var whistle, cell any
	if in.WhistleID != 0 {
		whistle = in.WhistleID
	}
	if in.HotspotCell != "" {
		cell = in.HotspotCell
	}
	err = tx.QueryRow(ctx, `INSERT INTO ledger_items (title, problem, grid_id, grid_code, township_code, source, responsible_township,
		responsible_unit_id, supervising_unit_id, whistle_id, hotspot_cell, created_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, nullif($7, ''), $8, $9, $10, $11, nullif($12, 0), $13, $13) RETURNING id`,
		strings.TrimSpace(in.Title), in.Problem, gridID, in.Grid, township, in.Source, in.ResponsibleTownship, respUnit, supUnit,
		whistle, cell, sc.UserID, now).Scan(&id)
	if err != nil {
		if strings.Contains(err.Error(), "ledger_items_whistle_idx") {
			return Detail{}, fault.FieldErrorf(ErrConflict, "whistle_id", "whistle %d is already a ledger item", in.WhistleID)
		}
		return Detail{}, fmt.Errorf("ledger: create: %w", err)
	}
	if err := insertMeasures(ctx, tx, id, 1, texts, dues); err != nil {
		return Detail{}, err
	}
	if err := entry(ctx, tx, id, sc, "created", "建立台账", nil, now); err != nil {
		return Detail{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return Detail{}, fmt.Errorf("ledger: create: %w", err)
	}
	return s.Get(ctx, sc, id)
}

func unitID(ctx context.Context, tx pgx.Tx, field, code string) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `SELECT id FROM units WHERE code = $1`, code).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fault.FieldErrorf(ErrInvalid, field, "no unit %q", code)
	}
	if err != nil {
		return 0, fmt.Errorf("ledger: unit: %w", err)
	}
	return id, nil
}

func insertMeasures(ctx context.Context, tx pgx.Tx, id int64, first int, texts []string, dues []time.Time) error {
	if len(texts) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO ledger_measures (item_id, n, text, due)
		SELECT $1, $2 + o - 1, t, d FROM unnest($3::text[], $4::timestamptz[]) WITH ORDINALITY AS x(t, d, o)`, id, first, texts, dues)
	if err != nil {
		return fmt.Errorf("ledger: measures: %w", err)
	}
	return nil
}

// entry appends a step to the item's trail.
func entry(ctx context.Context, tx pgx.Tx, id int64, sc access.Scope, kind, note string, attachments []string, now time.Time) error {
	if attachments == nil {
		attachments = []string{}
	}
	actor := sc.Username
	if actor == "" {
		actor = "system"
	}
	_, err := tx.Exec(ctx, `INSERT INTO ledger_entries (item_id, at, kind, actor_id, actor, note, attachments) VALUES ($1, $2, $3, nullif($4, 0), $5, $6, $7)`,
		id, now, kind, sc.UserID, actor, note, attachments)
	if err != nil {
		return fmt.Errorf("ledger: entry: %w", err)
	}
	return nil
}

// PatchInput changes an item: the command center edits the title, the
// problem, the supervising unit and adds measures; Done marks measures
// done (the responsible party or the command center).
type PatchInput struct {
	Title           *string        `json:"title"`
	Problem         *string        `json:"problem"`
	SupervisingUnit *string        `json:"supervising_unit"`
	AddMeasures     []MeasureInput `json:"add_measures"`
	Done            []int          `json:"done"`
}

// change runs fn on the locked item the caller sees, in a transaction,
// and answers the item afterwards.
func (s *Store) change(ctx context.Context, sc access.Scope, id int64, fn func(tx pgx.Tx, it Item, now time.Time) error) (Detail, error) {
	now := s.now()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return Detail{}, fmt.Errorf("ledger: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	it, err := s.item(ctx, tx, sc, id, true)
	if err != nil {
		return Detail{}, err
	}
	if err := fn(tx, it, now); err != nil {
		return Detail{}, err
	}
	if _, err := tx.Exec(ctx, `UPDATE ledger_items SET updated_at = $2 WHERE id = $1`, id, now); err != nil {
		return Detail{}, fmt.Errorf("ledger: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return Detail{}, fmt.Errorf("ledger: %w", err)
	}
	return s.Get(ctx, sc, id)
}

// Patch applies in to an item.
func (s *Store) Patch(ctx context.Context, sc access.Scope, id int64, in PatchInput) (Detail, error) {
	edit := in.Title != nil || in.Problem != nil || in.SupervisingUnit != nil || len(in.AddMeasures) > 0
	if !edit && len(in.Done) == 0 {
		return Detail{}, fault.Errorf(ErrInvalid, "nothing to change: give title, problem, supervising_unit, add_measures or done")
	}
	return s.change(ctx, sc, id, func(tx pgx.Tx, it Item, now time.Time) error {
		if it.Status == StatusClosed {
			return fault.Errorf(ErrConflict, "item %d is closed", id)
		}
		if edit {
			if err := Authorize(sc, ActEdit, it.party); err != nil {
				return err
			}
		}
		if len(in.Done) > 0 {
			if err := Authorize(sc, ActProgress, it.party); err != nil {
				return err
			}
		}
		var notes []string
		if in.Title != nil {
			if err := checkText("title", *in.Title, MaxTitle, true); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE ledger_items SET title = $2 WHERE id = $1`, id, strings.TrimSpace(*in.Title)); err != nil {
				return fmt.Errorf("ledger: patch: %w", err)
			}
			notes = append(notes, "修改标题")
		}
		if in.Problem != nil {
			if err := checkText("problem", *in.Problem, MaxProblem, false); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE ledger_items SET problem = $2 WHERE id = $1`, id, *in.Problem); err != nil {
				return fmt.Errorf("ledger: patch: %w", err)
			}
			notes = append(notes, "修改问题描述")
		}
		if in.SupervisingUnit != nil {
			var u any
			if *in.SupervisingUnit != "" {
				var err error
				if u, err = unitID(ctx, tx, "supervising_unit", *in.SupervisingUnit); err != nil {
					return err
				}
			}
			if _, err := tx.Exec(ctx, `UPDATE ledger_items SET supervising_unit_id = $2 WHERE id = $1`, id, u); err != nil {
				return fmt.Errorf("ledger: patch: %w", err)
			}
			notes = append(notes, "修改督办部门")
		}
		if len(in.AddMeasures) > 0 {
			texts, dues, err := parseMeasures(in.AddMeasures, "add_measures")
			if err != nil {
				return err
			}
			if len(it.Measures)+len(texts) > MaxMeasures {
				return fault.FieldErrorf(ErrInvalid, "add_measures", "an item has at most %d measures", MaxMeasures)
			}
			if err := insertMeasures(ctx, tx, id, len(it.Measures)+1, texts, dues); err != nil {
				return err
			}
			notes = append(notes, fmt.Sprintf("新增措施 %d 项", len(texts)))
		}
		for _, n := range in.Done {
			tag, err := tx.Exec(ctx, `UPDATE ledger_measures SET done_at = $3 WHERE item_id = $1 AND n = $2 AND done_at IS NULL`, id, n, now)
			if err != nil {
				return fmt.Errorf("ledger: patch: %w", err)
			}
			if tag.RowsAffected() == 0 {
				return fault.FieldErrorf(ErrInvalid, "done", "item %d has no measure %d not yet done", id, n)
			}
			notes = append(notes, fmt.Sprintf("措施 %d 完成", n))
		}
		return entry(ctx, tx, id, sc, "edit", strings.Join(notes, "；"), nil, now)
	})
}

// NoteInput is a progress entry or a 销账 request: the text and the ids
// of attachments (uploaded elsewhere; kept as given).
type NoteInput struct {
	Note        string   `json:"note"`
	Attachments []string `json:"attachments"`
}

func (in NoteInput) check() error {
	if err := checkText("note", in.Note, MaxNote, true); err != nil {
		return err
	}
	if len(in.Attachments) > MaxAttach {
		return fault.FieldErrorf(ErrInvalid, "attachments", "at most %d attachments", MaxAttach)
	}
	for i, a := range in.Attachments {
		if a == "" || len(a) > 200 {
			return fault.FieldErrorf(ErrInvalid, fmt.Sprintf("attachments[%d]", i), "an attachment id is 1 to 200 characters")
		}
	}
	return nil
}

// Progress adds a progress entry from the responsible party.
func (s *Store) Progress(ctx context.Context, sc access.Scope, id int64, in NoteInput) (Detail, error) {
	if err := in.check(); err != nil {
		return Detail{}, err
	}
	return s.change(ctx, sc, id, func(tx pgx.Tx, it Item, now time.Time) error {
		if err := Authorize(sc, ActProgress, it.party); err != nil {
			return err
		}
		if it.Status == StatusClosed {
			return fault.Errorf(ErrConflict, "item %d is closed", id)
		}
		return entry(ctx, tx, id, sc, "progress", in.Note, in.Attachments, now)
	})
}

// Writeoff asks for 销账 with evidence: the item goes to
// writeoff_requested.
func (s *Store) Writeoff(ctx context.Context, sc access.Scope, id int64, in NoteInput) (Detail, error) {
	if err := in.check(); err != nil {
		return Detail{}, err
	}
	return s.change(ctx, sc, id, func(tx pgx.Tx, it Item, now time.Time) error {
		if err := Authorize(sc, ActWriteoff, it.party); err != nil {
			return err
		}
		if it.Status != StatusOpen {
			return fault.Errorf(ErrConflict, "item %d is %s: 销账 is asked of an open item", id, it.Status)
		}
		if _, err := tx.Exec(ctx, `UPDATE ledger_items SET status = 'writeoff_requested' WHERE id = $1`, id); err != nil {
			return fmt.Errorf("ledger: writeoff: %w", err)
		}
		return entry(ctx, tx, id, sc, "writeoff", in.Note, in.Attachments, now)
	})
}

// ReviewInput is the level above's decision on a 销账.
type ReviewInput struct {
	Decision string `json:"decision"` // approve or reject
	Reason   string `json:"reason"`   // required to reject
}

// Decide approves (closed) or rejects (open again, the reason kept) a
// requested 销账.
func (s *Store) Decide(ctx context.Context, sc access.Scope, id int64, in ReviewInput) (Detail, error) {
	if in.Decision != "approve" && in.Decision != "reject" {
		return Detail{}, fault.FieldErrorf(ErrInvalid, "decision", "decision must be approve or reject")
	}
	if in.Decision == "reject" && strings.TrimSpace(in.Reason) == "" {
		return Detail{}, fault.FieldErrorf(ErrInvalid, "reason", "a rejection needs a reason")
	}
	if err := checkText("reason", in.Reason, MaxNote, false); err != nil {
		return Detail{}, err
	}
	return s.change(ctx, sc, id, func(tx pgx.Tx, it Item, now time.Time) error {
		if err := Authorize(sc, ActReview, it.party); err != nil {
			return err
		}
		if it.Status != StatusRequested {
			return fault.Errorf(ErrConflict, "item %d is %s: only a requested 销账 is reviewed", id, it.Status)
		}
		q := `UPDATE ledger_items SET status = 'open' WHERE id = $1 AND $2::timestamptz IS NOT NULL`
		note := in.Reason
		if in.Decision == "approve" {
			q = `UPDATE ledger_items SET status = 'closed', closed_at = $2 WHERE id = $1`
			if note == "" {
				note = "同意销账"
			}
		}
		if _, err := tx.Exec(ctx, q, id, now); err != nil {
			return fmt.Errorf("ledger: review: %w", err)
		}
		return entry(ctx, tx, id, sc, in.Decision, note, nil, now)
	})
}

package whistle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"whistlegrid/access"
	"whistlegrid/fault"
	"whistlegrid/keyset"

	"github.com/jackc/pgx/v5"
)

// Clue is a stored clue as the API answers it.
type Clue struct {
	ID            int64      `json:"id"`
	Source        string     `json:"source"`
	ExternalID    string     `json:"external_id"`
	Category      string     `json:"category"`
	CategoryName  string     `json:"category_name"`
	Text          string     `json:"text"`
	Lon           float64    `json:"lon"` // WGS-84
	Lat           float64    `json:"lat"`
	Received      [2]float64 `json:"received"` // as sent, in Datum
	Datum         string     `json:"datum"`
	H3            string     `json:"h3"`
	Chain         []Link     `json:"chain"`
	EdgeDistanceM float64    `json:"edge_distance_m"`
	NearEdge      bool       `json:"near_edge"`
	ReportedAt    time.Time  `json:"reported_at"`
	ReceivedAt    time.Time  `json:"received_at"`
	Reporter      *Reporter  `json:"reporter"`
	WhistleID     *int64     `json:"whistle_id"`
	// Attachments are the photos and documents posted with the clue.
	Attachments []AttachmentRef `json:"attachments"`
	Risk        *Risk           `json:"risk,omitempty"` // flagged high-risk (风险研判)
}

// Link is one level of a clue's chain.
type Link struct {
	Level string `json:"level"`
	Code  string `json:"code"`
	Name  string `json:"name"`
}

const clueColumns = `c.id, c.source, c.external_id, cat.code, cat.name, c.text, ST_X(c.location), ST_Y(c.location),
	c.received_lon, c.received_lat, c.datum, coalesce(to_hex(c.h3), ''), hg.code, hg.name, v.code, v.name, z.code, z.name, t.code, t.name, d.code, d.name,
	coalesce(c.boundary_distance_m, 0), c.near_edge, c.reported_at, c.received_at, coalesce(c.reporter_name, ''), coalesce(c.reporter_phone, ''), c.whistle_id, c.risk`

const clueFrom = `
FROM clues c
JOIN categories cat ON cat.id = c.category_id
JOIN grids hg ON hg.id = c.grid_id
JOIN grids v ON v.id = hg.parent_id
JOIN grids z ON z.id = v.parent_id
JOIN grids t ON t.id = c.township_id
JOIN grids d ON d.id = t.parent_id`

func scanClue(sc access.Scope, r pgx.Row) (Clue, error) {
	var c Clue
	var l [5]Link
	var name, phone string
	err := r.Scan(&c.ID, &c.Source, &c.ExternalID, &c.Category, &c.CategoryName, &c.Text, &c.Lon, &c.Lat,
		&c.Received[0], &c.Received[1], &c.Datum, &c.H3, &l[0].Code, &l[0].Name, &l[1].Code, &l[1].Name, &l[2].Code, &l[2].Name,
		&l[3].Code, &l[3].Name, &l[4].Code, &l[4].Name, &c.EdgeDistanceM, &c.NearEdge, &c.ReportedAt, &c.ReceivedAt, &name, &phone, &c.WhistleID, &c.Risk)
	if err != nil {
		return c, err
	}
	for i, lv := range []string{"household", "village", "zone", "township", "district"} {
		l[i].Level = lv
	}
	c.Chain = l[:]
	c.Lon, c.Lat = round6(c.Lon), round6(c.Lat)
	if name != "" || phone != "" {
		name, phone = sc.Reporter(l[0].Code, name, phone)
		c.Reporter = &Reporter{Name: name, Phone: phone}
	}
	return c, nil
}

// visibleClueByKey is the clue stored under (source, ext) if the caller
// may see it, by the jurisdiction rule of GET /clues (clueWhere); a clue
// that exists outside it is ErrConflict naming nothing of it, one that
// does not exist ErrNotFound.
func (s *Store) visibleClueByKey(ctx context.Context, sc access.Scope, source, ext string) (Clue, error) {
	where, args := clueWhere(sc, ClueFilter{})
	n := len(args)
	args = append(args, source, ext)
	c, err := scanClue(sc, s.pool.QueryRow(ctx, `SELECT `+clueColumns+clueFrom+where+
		fmt.Sprintf(" AND c.source = $%d AND c.external_id = $%d", n+1, n+2), args...))
	if !errors.Is(err, pgx.ErrNoRows) {
		return c, err
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM clues WHERE source = $1 AND external_id = $2)`, source, ext).Scan(&exists); err != nil {
		return Clue{}, fmt.Errorf("whistle: clue: %w", err)
	}
	if exists {
		return Clue{}, fault.FieldErrorf(ErrConflict, "external_id",
			"a clue with source %q and external_id %q is already stored outside your jurisdiction; use another external_id", source, ext)
	}
	return Clue{}, fault.Errorf(ErrNotFound, "no clue %s/%s", source, ext)
}

// ClueFilter selects clues for Clues. Zero fields select everything;
// Page.Limit must be set (the API's default is 100).
type ClueFilter struct {
	Township, Source, Category string
	From, To                   time.Time
	WhistleID                  int64
	Page                       keyset.Page
}

// ClueOrder is the one order of clue lists, newest first: reported_at
// then id, descending (the index clues_reported_id_idx, migration 00009).
var ClueOrder = keyset.Order{Name: "newest", Key: "c.reported_at", ID: "c.id", Kind: keyset.Time, Desc: true}

// ClueList is a page of clues.
type ClueList struct {
	Clues []Clue
	// Next is the cursor of the next page; nil on the last.
	Next *keyset.Cursor
	// Total counts every clue the filter selects (not only this page):
	// exact when the planner expects at most keyset.ExactBelow, else the
	// planner's estimate (Total.Exact false).
	Total keyset.Total
}

// Clues lists a page of clues in the caller's jurisdiction, newest first
// (ClueOrder), with the total the filter selects (exact or estimated, see
// ClueList).
func (s *Store) Clues(ctx context.Context, sc access.Scope, f ClueFilter) (ClueList, error) {
	var out ClueList
	if f.Source != "" && !ValidSource(f.Source) {
		return out, invalid("source", "source must be one of patrol, hotline, app, forum, hotspot, sensor, meeting")
	}
	where, args := clueWhere(sc, f)
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	total, err := keyset.Count(ctx, s.pool, clueFrom+where, args)
	if err != nil {
		return out, fmt.Errorf("whistle: clues: %w", err)
	}
	if f.Page.After != nil {
		after, err := ClueOrder.After(*f.Page.After, arg)
		if err != nil {
			return out, invalid("after", "%v", err)
		}
		where += " AND " + after
	}
	rows, err := s.pool.Query(ctx, `SELECT `+clueColumns+clueFrom+where+ClueOrder.By()+" LIMIT "+arg(f.Page.Limit+1), args...)
	if err != nil {
		return out, fmt.Errorf("whistle: clues: %w", err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Clue, error) { return scanClue(sc, r) })
	if err != nil {
		return out, fmt.Errorf("whistle: clues: %w", err)
	}
	got, more := keyset.Trim(got, f.Page.Limit)
	if more {
		last := got[len(got)-1]
		next := ClueOrder.Next(last.ReportedAt, last.ID)
		out.Next = &next
	}
	if got == nil {
		got = []Clue{}
	}
	if err := s.withAttachments(ctx, got); err != nil {
		return out, err
	}
	out.Clues, out.Total = got, total
	return out, nil
}

func clueWhere(sc access.Scope, f ClueFilter) (string, []any) {
	var conds []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	conds = append(conds, clueScope(sc, arg))
	if f.Township != "" {
		conds = append(conds, "t.code = "+arg(f.Township))
	}
	if f.Source != "" {
		conds = append(conds, "c.source = "+arg(f.Source))
	}
	if f.Category != "" {
		conds = append(conds, "cat.code LIKE "+arg(f.Category+"%"))
	}
	if !f.From.IsZero() {
		conds = append(conds, "c.reported_at >= "+arg(f.From))
	}
	if !f.To.IsZero() {
		conds = append(conds, "c.reported_at < "+arg(f.To))
	}
	if f.WhistleID != 0 {
		conds = append(conds, "c.whistle_id = "+arg(f.WhistleID))
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// clueScope is the jurisdiction of clues c (with hg, its household
// grid), its binds added with arg: a unit sees the clues of the whistles
// it is summoned to, every other role the clues in its grids.
func clueScope(sc access.Scope, arg func(any) string) string {
	if sc.Role == access.RoleUnit {
		return "EXISTS (SELECT 1 FROM summons sm WHERE sm.whistle_id = c.whistle_id AND sm.unit_id = " + arg(sc.UnitID) + ")"
	}
	return access.PrefixClause("hg.code", arg(sc.Prefixes()))
}

// Summary is a whistle in lists and events.
//
// Overdue has two meanings (migrations/00005_whistle_summaries.sql defines
// both): OverdueNow (超期中), the whistle is open and a sweep marked it, or
// its resolve deadline has passed, or its report-in deadline has passed
// with a summoned unit not reported in; EverOverdue (曾超期), OverdueNow or,
// whatever the status now, a sweep marked it or it was closed after its
// resolve deadline. Overdue is the older name of EverOverdue, kept for the
// wall map; on an open whistle all three agree.
type Summary struct {
	ID           int64      `json:"id"`
	Township     string     `json:"township"`
	TownshipName string     `json:"township_name"`
	Grid         string     `json:"grid"`
	Grade        Grade      `json:"grade"`
	Status       Status     `json:"status"`
	Category     string     `json:"category"`
	CategoryName string     `json:"category_name"`
	Lon          float64    `json:"lon"`
	Lat          float64    `json:"lat"`
	RaisedAt     time.Time  `json:"raised_at"`
	ReportInDue  time.Time  `json:"report_in_due"`
	ResolveDue   time.Time  `json:"resolve_due"`
	ClosedAt     *time.Time `json:"closed_at"`
	Outcome      *string    `json:"outcome"`
	ClueCount    int        `json:"clue_count"`
	Overdue      bool       `json:"overdue"` // EverOverdue, by its older name
	OverdueNow   bool       `json:"overdue_now"`
	EverOverdue  bool       `json:"ever_overdue"`
	Units        []string   `json:"units"`          // codes of the lead units
	Risk         *Risk      `json:"risk,omitempty"` // flagged high-risk (风险研判)
}

// summaryColumns are a Summary's columns over w, a row of the SQL function
// whistle_summaries (migrations/00005_whistle_summaries.sql), the one
// source of the summary, of both overdue meanings and of the jurisdiction:
// the columns of whistle_summary, in its order, then overdue_now.
const summaryColumns = `w.id, w.township, w.township_name, w.grid, w.grade, w.status, w.category, w.category_name,
	coalesce(ST_X(w.location), 0), coalesce(ST_Y(w.location), 0), w.raised_at, w.report_in_due, w.resolve_due, w.closed_at, w.outcome, w.clue_count,
	w.ever_overdue, w.units, w.overdue_now, (SELECT wr.risk FROM whistles wr WHERE wr.id = w.id)`

// summaries is the FROM clause of the whistles in the caller's
// jurisdiction with their summaries as of the bind at: whistle_summaries
// w, the scope's binds added with arg. The jurisdiction is the SQL
// function's (the one definition; Visible mirrors it in Go).
func summaries(at string, sc access.Scope, arg func(any) string) string {
	return "\nFROM whistle_summaries(" + at + ", " + arg(string(sc.Role)) + ", " + arg(sc.GridCode) + ", " + arg(sc.UnitID) + ") w"
}

// dest is where the columns of whistle_summary go, in its order.
func (w *Summary) dest() []any {
	return []any{&w.ID, &w.Township, &w.TownshipName, &w.Grid, &w.Grade, &w.Status, &w.Category, &w.CategoryName,
		&w.Lon, &w.Lat, &w.RaisedAt, &w.ReportInDue, &w.ResolveDue, &w.ClosedAt, &w.Outcome, &w.ClueCount, &w.EverOverdue, &w.Units}
}

func (w *Summary) finish() {
	w.Lon, w.Lat = round6(w.Lon), round6(w.Lat)
	w.Overdue = w.EverOverdue
}

// scanSummary scans summaryColumns.
func scanSummary(r pgx.Row) (Summary, error) {
	var w Summary
	err := r.Scan(w.columns()...)
	w.finish()
	return w, err
}

// columns are the destinations of summaryColumns, in its order.
func (w *Summary) columns() []any { return append(w.dest(), &w.OverdueNow, &w.Risk) }

// scanIntakeSummary scans a row of whistle_summary, as whistle_intake_batch
// returns it: no overdue_now column. Intake returns only open whistles, and
// overdue_now is by its definition ever_overdue on an open whistle.
func scanIntakeSummary(r pgx.Row) (Summary, error) {
	var w Summary
	err := r.Scan(w.dest()...)
	w.finish()
	w.OverdueNow = w.EverOverdue && w.Status != Closed
	return w, err
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// summaryOf reads a whistle's summary as of the database's now, whatever
// the jurisdiction (for events, which the live stream scopes itself).
func summaryOf(ctx context.Context, q querier, id int64) (Summary, error) {
	return scanSummaryOf(q.QueryRow(ctx, summaryByID, id), id)
}

// summaryByID reads whistle $1's summary as summaryOf does.
const summaryByID = `SELECT ` + summaryColumns + ` FROM whistle_summaries(now(), 'command', '', NULL) w WHERE w.id = $1`

// scanSummaryOf scans the answer of summaryByID for whistle id.
func scanSummaryOf(r pgx.Row, id int64) (Summary, error) {
	w, err := scanSummary(r)
	if errors.Is(err, pgx.ErrNoRows) {
		return w, fault.Errorf(ErrNotFound, "no whistle %d", id)
	}
	if err != nil {
		return w, fmt.Errorf("whistle: %w", err)
	}
	return w, nil
}

// Filter selects whistles for List. Zero fields select everything.
// OverdueNow and EverOverdue select by the two meanings of overdue (see
// Summary).
type Filter struct {
	Township, Unit, Status, Grade, Category string
	OverdueNow, EverOverdue                 *bool
	From, To                                time.Time
	// Sort is one of WhistleOrders' names; "" is "newest".
	Sort string
	Page keyset.Page
}

// WhistleOrders are the orders of whistle lists: newest (raised_at then
// id, descending; the index whistles_raised_id_idx) and deadline (the
// resolve deadline then id, soonest first; whistles_resolve_due_id_idx),
// both in migration 00009.
var WhistleOrders = []keyset.Order{
	{Name: "newest", Key: "w.raised_at", ID: "w.id", Kind: keyset.Time, Desc: true},
	{Name: "deadline", Key: "w.resolve_due", ID: "w.id", Kind: keyset.Time},
}

// WhistleList is a page of whistles.
type WhistleList struct {
	Whistles []Summary
	// Next is the cursor of the next page; nil on the last.
	Next *keyset.Cursor
	// Total counts every whistle the filter selects, exact or estimated
	// as keyset.Count says.
	Total keyset.Total
}

// listWhere checks f and builds the FROM clause (whistle_summaries in the
// caller's jurisdiction) and the WHERE clause of its whistles, the binds
// added with arg: the one selection of List and EachWhistle.
func (s *Store) listWhere(sc access.Scope, f Filter, arg func(any) string) (from, where string, err error) {
	if f.Status != "" {
		switch Status(f.Status) {
		case Raised, InProgress, AwaitingApproval, Closed:
		default:
			return "", "", invalid("status", "status must be raised, in_progress, awaiting_approval or closed")
		}
	}
	if f.Grade != "" && Grade(f.Grade).Rank() == 0 {
		return "", "", invalid("grade", "grade must be routine, priority or hard")
	}
	from = summaries(arg(s.now()), sc, arg)
	conds := []string{"true"}
	if f.Township != "" {
		conds = append(conds, "w.township = "+arg(f.Township))
	}
	if f.Unit != "" {
		conds = append(conds, "EXISTS (SELECT 1 FROM summons su JOIN units uu ON uu.id = su.unit_id WHERE su.whistle_id = w.id AND uu.code = "+arg(f.Unit)+")")
	}
	if f.Status != "" {
		conds = append(conds, "w.status = "+arg(f.Status))
	}
	if f.Grade != "" {
		conds = append(conds, "w.grade = "+arg(f.Grade))
	}
	if f.Category != "" {
		conds = append(conds, "w.category LIKE "+arg(f.Category+"%"))
	}
	for _, o := range []struct {
		column string
		want   *bool
	}{{"w.overdue_now", f.OverdueNow}, {"w.ever_overdue", f.EverOverdue}} {
		switch {
		case o.want == nil:
		case *o.want:
			conds = append(conds, o.column)
		default:
			conds = append(conds, "NOT "+o.column)
		}
	}
	if !f.From.IsZero() {
		conds = append(conds, "w.raised_at >= "+arg(f.From))
	}
	if !f.To.IsZero() {
		conds = append(conds, "w.raised_at < "+arg(f.To))
	}
	return from, " WHERE " + strings.Join(conds, " AND "), nil
}

// List lists a page of the whistles in the caller's jurisdiction that
// match f, in f.Sort's order, with the total the filter selects.
func (s *Store) List(ctx context.Context, sc access.Scope, f Filter) (WhistleList, error) {
	var out WhistleList
	order, ok := WhistleOrders[0], f.Sort == ""
	for _, o := range WhistleOrders {
		if o.Name == f.Sort {
			order, ok = o, true
		}
	}
	if !ok {
		return out, invalid("sort", "sort must be newest or deadline")
	}
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	from, where, err := s.listWhere(sc, f, arg)
	if err != nil {
		return out, err
	}
	total, err := keyset.Count(ctx, s.pool, from+where, args)
	if err != nil {
		return out, fmt.Errorf("whistle: list: %w", err)
	}
	if f.Page.After != nil {
		after, err := order.After(*f.Page.After, arg)
		if err != nil {
			return out, invalid("after", "%v", err)
		}
		where += " AND " + after
	}
	q := `SELECT ` + summaryColumns + from + where + order.By() + " LIMIT " + arg(f.Page.Limit+1)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return out, fmt.Errorf("whistle: list: %w", err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Summary, error) { return scanSummary(r) })
	if err != nil {
		return out, fmt.Errorf("whistle: list: %w", err)
	}
	got, more := keyset.Trim(got, f.Page.Limit)
	if more {
		last := got[len(got)-1]
		key := last.RaisedAt
		if order.Name == "deadline" {
			key = last.ResolveDue
		}
		next := order.Next(key, last.ID)
		out.Next = &next
	}
	if got == nil {
		got = []Summary{}
	}
	out.Whistles, out.Total = got, total
	return out, nil
}

// Detail is one whistle in full.
type Detail struct {
	Summary
	Deadlines struct {
		ReportIn time.Time `json:"report_in"`
		Resolve  time.Time `json:"resolve"`
	} `json:"deadlines"`
	Note        string         `json:"note"`
	Escalations int            `json:"escalations"`
	RuledUnit   *string        `json:"ruled_unit"`
	Contested   bool           `json:"contested"`
	Summons     []SummonsView  `json:"summons"`
	Clues       []Clue         `json:"clues"`
	Trail       []TrailEntry   `json:"trail"`
	Notices     []NoticeView   `json:"supervision_notices"`
	Callbacks   []CallbackView `json:"callbacks"`
}

// SummonsView is a summoned unit as the API shows it.
type SummonsView struct {
	Unit            UnitView   `json:"unit"`
	Role            string     `json:"role"`
	SummonedAt      time.Time  `json:"summoned_at"`
	ReportedInAt    *time.Time `json:"reported_in_at"`
	Person          string     `json:"person"`
	Phone           string     `json:"phone"`
	ResolvedAt      *time.Time `json:"resolved_at"`
	Outcome         *string    `json:"outcome"`
	Ratings         *Ratings   `json:"ratings"`
	ReportInOverdue bool       `json:"report_in_overdue"`
	ResolveOverdue  bool       `json:"resolve_overdue"`
}

// UnitView names a unit.
type UnitView struct {
	Code string `json:"code"`
	Name string `json:"name"`
	Kind string `json:"kind"`
}

// Ratings are the three ratings (一哨三评) a township gives a unit, 1–5.
type Ratings struct {
	ReportedIn int `json:"reported_in"`
	Resolved   int `json:"resolved"`
	Satisfied  int `json:"satisfied"`
}

// TrailEntry is one step of a whistle's trail.
type TrailEntry struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Unit   *string   `json:"unit"`
	Note   string    `json:"note"`
	// Attachments are the photos and documents posted with the step
	// (办结 with photos).
	Attachments []AttachmentRef `json:"attachments"`
	id          int64
}

// CallbackView is one callback to the resident (回访), oldest first.
type CallbackView struct {
	At     time.Time      `json:"at"`
	Actor  string         `json:"actor"`
	Result CallbackResult `json:"result"`
	Note   string         `json:"note"`
}

// NoticeView is a supervision notice (督办).
type NoticeView struct {
	Unit string    `json:"unit"`
	Kind string    `json:"kind"`
	At   time.Time `json:"at"`
}

// Get returns one whistle in full, if it lies in the caller's jurisdiction.
func (s *Store) Get(ctx context.Context, sc access.Scope, id int64) (Detail, error) {
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	from := summaries(arg(s.now()), sc, arg)
	var d Detail
	var ruled *string
	row := s.pool.QueryRow(ctx, `SELECT `+summaryColumns+`, w.note, w.escalations, ru.code, w.contested_at IS NOT NULL`+from+
		` LEFT JOIN units ru ON ru.id = w.ruled_unit_id WHERE w.id = `+arg(id), args...)
	err := row.Scan(append(d.Summary.columns(), &d.Note, &d.Escalations, &ruled, &d.Contested)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, fault.Errorf(ErrNotFound, "no whistle %d in your jurisdiction", id)
	}
	if err != nil {
		return d, fmt.Errorf("whistle: get: %w", err)
	}
	d.Summary.finish()
	d.RuledUnit = ruled
	d.Deadlines.ReportIn, d.Deadlines.Resolve = d.ReportInDue, d.ResolveDue

	rows, err := s.pool.Query(ctx, `
		SELECT u.code, u.name, u.kind, s.role, s.summoned_at, s.reported_in_at, coalesce(s.person, ''), coalesce(s.phone, ''),
			s.resolved_at, s.outcome, s.rating_reported_in, s.rating_resolved, s.rating_satisfied,
			s.report_in_overdue_at IS NOT NULL, s.resolve_overdue_at IS NOT NULL
		FROM summons s JOIN units u ON u.id = s.unit_id WHERE s.whistle_id = $1 ORDER BY s.role DESC, u.code`, id)
	if err != nil {
		return d, fmt.Errorf("whistle: get: %w", err)
	}
	d.Summons, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (SummonsView, error) {
		var v SummonsView
		var a, b, c *int
		err := r.Scan(&v.Unit.Code, &v.Unit.Name, &v.Unit.Kind, &v.Role, &v.SummonedAt, &v.ReportedInAt, &v.Person, &v.Phone,
			&v.ResolvedAt, &v.Outcome, &a, &b, &c, &v.ReportInOverdue, &v.ResolveOverdue)
		if a != nil && b != nil && c != nil {
			v.Ratings = &Ratings{*a, *b, *c}
		}
		if !sc.SeesDutyPhones() {
			v.Person, v.Phone = access.MaskName(v.Person), access.MaskPhone(v.Phone)
		}
		return v, err
	})
	if err != nil {
		return d, fmt.Errorf("whistle: get: %w", err)
	}
	// every clue of the whistle, page after page (a handful, nearly always)
	d.Clues = []Clue{}
	for f := (ClueFilter{WhistleID: id, Page: keyset.Page{Limit: 1000}}); ; {
		l, err := s.Clues(ctx, access.Scope{Role: access.RoleCommand, Duties: []access.Duty{access.DutyCallback}}, f)
		if err != nil {
			return d, err
		}
		d.Clues = append(d.Clues, l.Clues...)
		if l.Next == nil {
			break
		}
		f.Page.After = l.Next
	}
	for i := range d.Clues { // read unmasked: mask by each clue's own grid
		if r := d.Clues[i].Reporter; r != nil {
			r.Name, r.Phone = sc.Reporter(d.Clues[i].Chain[0].Code, r.Name, r.Phone)
		}
	}
	rows, err = s.pool.Query(ctx, `
		SELECT e.at, e.actor, e.action, u.code, e.note, e.id FROM whistle_events e LEFT JOIN units u ON u.id = e.unit_id
		WHERE e.whistle_id = $1 ORDER BY e.at, e.id`, id)
	if err != nil {
		return d, fmt.Errorf("whistle: get: %w", err)
	}
	d.Trail, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (TrailEntry, error) {
		var t TrailEntry
		err := r.Scan(&t.At, &t.Actor, &t.Action, &t.Unit, &t.Note, &t.id)
		return t, err
	})
	if err != nil {
		return d, fmt.Errorf("whistle: get: %w", err)
	}
	eventIDs := make([]int64, len(d.Trail))
	for i, t := range d.Trail {
		eventIDs[i] = t.id
	}
	att, err := s.attachmentsOf(ctx, "event_id", eventIDs)
	if err != nil {
		return d, err
	}
	for i := range d.Trail {
		d.Trail[i].Attachments = att[d.Trail[i].id]
		if d.Trail[i].Attachments == nil {
			d.Trail[i].Attachments = []AttachmentRef{}
		}
	}
	rows, err = s.pool.Query(ctx, `SELECT u.code, n.kind, n.at FROM supervision_notices n JOIN units u ON u.id = n.unit_id WHERE n.whistle_id = $1 ORDER BY n.at, n.id`, id)
	if err != nil {
		return d, fmt.Errorf("whistle: get: %w", err)
	}
	d.Notices, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (NoticeView, error) {
		var n NoticeView
		err := r.Scan(&n.Unit, &n.Kind, &n.At)
		return n, err
	})
	if err != nil {
		return d, fmt.Errorf("whistle: get: %w", err)
	}
	if d.Notices == nil {
		d.Notices = []NoticeView{}
	}
	rows, err = s.pool.Query(ctx, `SELECT at, actor, result, note FROM whistle_callbacks WHERE whistle_id = $1 ORDER BY at, id`, id)
	if err != nil {
		return d, fmt.Errorf("whistle: get: %w", err)
	}
	d.Callbacks, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (CallbackView, error) {
		var v CallbackView
		err := r.Scan(&v.At, &v.Actor, &v.Result, &v.Note)
		return v, err
	})
	if err != nil {
		return d, fmt.Errorf("whistle: get: %w", err)
	}
	if d.Callbacks == nil {
		d.Callbacks = []CallbackView{}
	}
	return d, nil
}

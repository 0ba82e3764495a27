package whistle

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"whistlegrid/access"
	"whistlegrid/fault"
	"whistlegrid/keyset"
)

// Tab is one queue of the workbench (/work): what a role has to do next.
type Tab string

// The tabs. A township: clues in no whistle (TabClues), its open whistles
// (TabOpen), those awaiting its approval, those closed and not yet rated,
// those closed (TabDone). A unit: the whistles it must report in to
// (TabReportIn), resolve (TabResolving), whose ruling it may contest, and
// those closed. The command center: overdue now, hard and waiting for a
// ruling, and all.
const (
	TabClues     Tab = "clues"
	TabOpen      Tab = "open"
	TabApproval  Tab = "approval"
	TabRate      Tab = "rate"
	TabDone      Tab = "done"
	TabReportIn  Tab = "report-in"
	TabResolving Tab = "resolving"
	TabContest   Tab = "contest"
	TabOverdue   Tab = "overdue"
	TabRule      Tab = "rule"
	TabAll       Tab = "all"
)

// Tabs are a role's tabs in the order the page shows them; none for a role
// without a workbench.
func Tabs(role access.Role) []Tab {
	switch role {
	case access.RoleTownship:
		return []Tab{TabClues, TabOpen, TabApproval, TabRate, TabDone}
	case access.RoleUnit:
		return []Tab{TabReportIn, TabResolving, TabContest, TabDone}
	case access.RoleCommand:
		return []Tab{TabOverdue, TabRule, TabAll}
	}
	return nil
}

// Sort orders a queue: by deadline (the nearest first: the report-in
// deadline on TabReportIn, the resolve deadline elsewhere) or newest
// first (raised_at; reported_at for clues). Each tab has its default
// (DefaultSort).
type Sort string

// The sorts.
const (
	SortDeadline Sort = "deadline"
	SortNewest   Sort = "newest"
)

// DefaultSort is the tab's order when the caller names none: what is due
// first where a deadline is running, newest first where it is not.
func DefaultSort(t Tab) Sort {
	switch t {
	case TabOpen, TabReportIn, TabResolving, TabContest, TabOverdue, TabRule:
		return SortDeadline
	}
	return SortNewest
}

// tabCondition is the one SQL definition of a whistle tab over w, a row of
// whistle_summaries, with unit() binding the caller's unit id where the
// tab needs it: what the queue lists and what its count counts.
func tabCondition(t Tab, unit func() string) string {
	switch t {
	case TabOpen:
		return "w.status <> 'closed'"
	case TabApproval:
		return "w.status = 'awaiting_approval'"
	case TabRate:
		return "w.status = 'closed' AND EXISTS (SELECT 1 FROM summons rs WHERE rs.whistle_id = w.id AND rs.rated_at IS NULL)"
	case TabDone:
		return "w.status = 'closed'"
	case TabReportIn:
		return "w.status <> 'closed' AND EXISTS (SELECT 1 FROM summons ms WHERE ms.whistle_id = w.id AND ms.unit_id = " + unit() + " AND ms.reported_in_at IS NULL)"
	case TabResolving:
		return "w.status = 'in_progress' AND EXISTS (SELECT 1 FROM summons ms WHERE ms.whistle_id = w.id AND ms.unit_id = " + unit() +
			" AND ms.reported_in_at IS NOT NULL AND ms.resolved_at IS NULL)"
	case TabContest:
		return "w.status <> 'closed' AND w.ruled_unit_id = " + unit() + " AND w.contested_at IS NULL"
	case TabOverdue:
		return "w.overdue_now"
	case TabRule:
		return "w.status <> 'closed' AND w.grade = 'hard' AND (w.ruled_unit_id IS NULL OR w.contested_at IS NOT NULL)"
	case TabAll:
		return "true"
	}
	return "false"
}

// QueueFilter narrows a queue; zero fields select everything. Category
// takes its subtree; From and To bound raised_at (reported_at for clues).
type QueueFilter struct {
	Township, Unit, Grade, Status, Category string
	From, To                                time.Time
	Sort                                    Sort // "" for DefaultSort
	// Page is the keyset page: Limit 1 to MaxQueuePage (0 for
	// DefaultQueuePage), After the Next of the page before (nil: the first).
	Page keyset.Page
}

// The page sizes of a queue (MaxQueuePage is the API's keyset maximum).
const (
	DefaultQueuePage = 50
	MaxQueuePage     = 1000
)

// QueueItem is a whistle in a queue: its summary and the deadline the
// page counts down to (Due: the report-in deadline on TabReportIn, the
// resolve deadline elsewhere).
type QueueItem struct {
	Summary
	Due time.Time `json:"due"`
}

// QueuePage is one page of a queue. Next is the keyset cursor of the
// following page (the API answers it as "next" and a Link rel=next), nil
// on the last. Whistles is set on whistle tabs, Clues on TabClues.
type QueuePage struct {
	Tab      Tab            `json:"tab"`
	Sort     Sort           `json:"sort"`
	Whistles []QueueItem    `json:"whistles,omitempty"`
	Clues    []Clue         `json:"clues,omitempty"`
	Next     *keyset.Cursor `json:"-"`
}

// queueOrder is a queue's keyset order: clues newest first (ClueOrder);
// whistles newest by raised_at, or by deadline, nearest first: the
// report-in deadline on TabReportIn, the resolve deadline elsewhere.
func queueOrder(t Tab, s Sort) keyset.Order {
	switch {
	case t == TabClues:
		return ClueOrder
	case s == SortNewest:
		return keyset.Order{Name: string(SortNewest), Key: "w.raised_at", ID: "w.id", Kind: keyset.Time, Desc: true}
	case t == TabReportIn:
		return keyset.Order{Name: string(SortDeadline), Key: "w.report_in_due", ID: "w.id", Kind: keyset.Time}
	}
	return keyset.Order{Name: string(SortDeadline), Key: "w.resolve_due", ID: "w.id", Kind: keyset.Time}
}

func (f *QueueFilter) check(sc access.Scope, t Tab) error {
	ok := false
	for _, x := range Tabs(sc.Role) {
		ok = ok || x == t
	}
	if !ok {
		names := make([]string, 0, 5)
		for _, x := range Tabs(sc.Role) {
			names = append(names, string(x))
		}
		if len(names) == 0 {
			return fault.Errorf(ErrNotFound, "your role has no workbench")
		}
		return fault.Errorf(ErrNotFound, "no tab %q for your role: use %s", t, strings.Join(names, ", "))
	}
	switch f.Sort {
	case "":
		f.Sort = DefaultSort(t)
	case SortDeadline, SortNewest:
		if t == TabClues && f.Sort == SortDeadline {
			return invalid("sort", "clues have no deadline: sort=newest")
		}
	default:
		return invalid("sort", "sort must be deadline or newest")
	}
	if f.Status != "" {
		switch Status(f.Status) {
		case Raised, InProgress, AwaitingApproval, Closed:
		default:
			return invalid("status", "status must be raised, in_progress, awaiting_approval or closed")
		}
	}
	if f.Grade != "" && Grade(f.Grade).Rank() == 0 {
		return invalid("grade", "grade must be routine, priority or hard")
	}
	switch {
	case f.Page.Limit == 0:
		f.Page.Limit = DefaultQueuePage
	case f.Page.Limit < 1 || f.Page.Limit > MaxQueuePage:
		return invalid("limit", "limit is 1 to %d", MaxQueuePage)
	}
	return nil
}

// Queue reads one page of tab for the caller, keyset paged: the rows after
// f.Page.After in the tab's order (sort key, then id), at most f.Page.Limit. The
// whistles come from whistle_summaries (the jurisdiction, the summary and
// overdue are its), the clues are those in the caller's jurisdiction in no
// whistle, newest first.
func (s *Store) Queue(ctx context.Context, sc access.Scope, t Tab, f QueueFilter) (QueuePage, error) {
	if err := f.check(sc, t); err != nil {
		return QueuePage{}, err
	}
	order := queueOrder(t, f.Sort)
	page := QueuePage{Tab: t, Sort: f.Sort}
	if t == TabClues {
		clues, next, err := s.clueQueue(ctx, sc, f)
		page.Clues, page.Next = clues, next
		return page, err
	}
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	from := queueSummaries(arg(s.now()), sc, arg)
	conds := []string{tabCondition(t, unitArg(sc, arg))}
	conds = append(conds, whistleFilter(f, arg)...)
	if f.Page.After != nil {
		after, err := order.After(*f.Page.After, arg)
		if err != nil {
			return page, invalid("after", "%v", err)
		}
		conds = append(conds, after)
	}
	q := `SELECT ` + summaryColumns + from + ` WHERE ` + strings.Join(conds, " AND ") + order.By() + " LIMIT " + arg(f.Page.Limit+1)
	var items []QueueItem
	err := s.genericPlan(ctx, q, args, func(rows pgx.Rows) error {
		var err error
		items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (QueueItem, error) {
			var it QueueItem
			err := r.Scan(it.Summary.columns()...)
			it.Summary.finish()
			it.Due = it.ResolveDue
			if t == TabReportIn {
				it.Due = it.ReportInDue
			}
			return it, err
		})
		return err
	})
	if err != nil {
		return page, fmt.Errorf("whistle: queue: %w", err)
	}
	items, more := keyset.Trim(items, f.Page.Limit)
	if more {
		last := items[len(items)-1]
		key := last.RaisedAt
		switch order.Key {
		case "w.report_in_due":
			key = last.ReportInDue
		case "w.resolve_due":
			key = last.ResolveDue
		}
		next := order.Next(key, last.ID)
		page.Next = &next
	}
	if items == nil {
		items = []QueueItem{}
	}
	page.Whistles = items
	return page, nil
}

// queueSummaries is summaries with the caller's role written into the
// statement, not bound: each role's queue is then its own prepared
// statement, whose generic plan (genericPlan) has the role's branch of
// whistle_summaries' jurisdiction folded in and can use its index (a
// township's by township, a unit's by its summons). The role is one of
// access's fixed names, never caller text.
func queueSummaries(at string, sc access.Scope, arg func(any) string) string {
	role := "''"
	if sc.Role.Valid() {
		role = "'" + string(sc.Role) + "'"
	}
	return "\nFROM whistle_summaries(" + at + ", " + role + ", " + arg(sc.GridCode) + ", " + arg(sc.UnitID) + ") w"
}

// genericPlan runs the query q in a read-only transaction whose
// statements use their generic plan (plan_cache_mode force_generic_plan),
// reading its rows with f: a queue page executes in about a millisecond,
// and planning the joins of whistle_summaries (or of a clue's grid chain)
// again for each page's binds, as a custom plan does, cost 2 to 6 ms of it
// (EXPLAIN ANALYZE on the demo's year; see bench work). The binds of a
// queue (a township, a unit, a page's position) do not change which plan
// is right. The transaction, the setting and the query go as one batch:
// one round trip, as the query alone.
func (s *Store) genericPlan(ctx context.Context, q string, args []any, f func(pgx.Rows) error) error {
	b := &pgx.Batch{}
	b.Queue("BEGIN READ ONLY")
	b.Queue("SET LOCAL plan_cache_mode = force_generic_plan")
	b.Queue(q, args...).Query(f)
	b.Queue("COMMIT")
	return s.pool.SendBatch(ctx, b).Close()
}

// unitArg binds the caller's unit id on first use (a bind no condition
// reads would have no type).
func unitArg(sc access.Scope, arg func(any) string) func() string {
	p := ""
	return func() string {
		if p == "" {
			p = arg(sc.UnitID)
		}
		return p
	}
}

// whistleFilter is f's conditions over w, a row of whistle_summaries.
func whistleFilter(f QueueFilter, arg func(any) string) []string {
	var conds []string
	if f.Township != "" {
		conds = append(conds, "w.township = "+arg(f.Township))
	}
	if f.Unit != "" {
		conds = append(conds, "EXISTS (SELECT 1 FROM summons fs JOIN units fu ON fu.id = fs.unit_id WHERE fs.whistle_id = w.id AND fu.code = "+arg(f.Unit)+")")
	}
	if f.Grade != "" {
		conds = append(conds, "w.grade = "+arg(f.Grade))
	}
	if f.Status != "" {
		conds = append(conds, "w.status = "+arg(f.Status))
	}
	if f.Category != "" {
		conds = append(conds, "w.category LIKE "+arg(access.CodePrefix(f.Category)))
	}
	if !f.From.IsZero() {
		conds = append(conds, "w.raised_at >= "+arg(f.From))
	}
	if !f.To.IsZero() {
		conds = append(conds, "w.raised_at < "+arg(f.To))
	}
	return conds
}

// clueQueueWhere is the clue queue's conditions: the caller's jurisdiction
// (clueWhere's rule), in no whistle, and f's filters. A township's clues
// are also selected by township id, the same set, so that the index of
// the unraised clues by township serves the queue.
func clueQueueWhere(sc access.Scope, f QueueFilter) (string, []any) {
	where, args := clueWhere(sc, ClueFilter{Township: f.Township, Category: f.Category, From: f.From, To: f.To})
	where += " AND c.whistle_id IS NULL"
	if sc.Role == access.RoleTownship {
		args = append(args, sc.GridCode)
		where += fmt.Sprintf(" AND c.township_id = (SELECT id FROM grids WHERE code = $%d AND level = 'township')", len(args))
	}
	return where, args
}

func (s *Store) clueQueue(ctx context.Context, sc access.Scope, f QueueFilter) ([]Clue, *keyset.Cursor, error) {
	where, args := clueQueueWhere(sc, f)
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.Page.After != nil {
		after, err := ClueOrder.After(*f.Page.After, arg)
		if err != nil {
			return nil, nil, invalid("after", "%v", err)
		}
		where += " AND " + after
	}
	q := `SELECT ` + clueColumns + clueFrom + where + ClueOrder.By() + " LIMIT " + arg(f.Page.Limit+1)
	var out []Clue
	err := s.genericPlan(ctx, q, args, func(rows pgx.Rows) error {
		var err error
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Clue, error) { return scanClue(sc, r) })
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("whistle: queue: %w", err)
	}
	out, more := keyset.Trim(out, f.Page.Limit)
	var next *keyset.Cursor
	if more {
		last := out[len(out)-1]
		c := ClueOrder.Next(last.ReportedAt, last.ID)
		next = &c
	}
	if out == nil {
		out = []Clue{}
	}
	return out, next, nil
}

// QueueCounts counts each of the caller's tabs (no filters): one pass over
// whistle_summaries with a count per tab condition, and for a township
// its clues in no whistle.
func (s *Store) QueueCounts(ctx context.Context, sc access.Scope) (map[Tab]int, error) {
	tabs := Tabs(sc.Role)
	if len(tabs) == 0 {
		return nil, fault.Errorf(ErrNotFound, "your role has no workbench")
	}
	out := map[Tab]int{}
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	from := summaries(arg(s.now()), sc, arg)
	u := unitArg(sc, arg)
	var cols []string
	var wtabs []Tab
	for _, t := range tabs {
		if t == TabClues {
			continue
		}
		cols = append(cols, "count(*) FILTER (WHERE "+tabCondition(t, u)+")")
		wtabs = append(wtabs, t)
	}
	counts := make([]int, len(wtabs))
	dest := make([]any, len(wtabs))
	for i := range counts {
		dest[i] = &counts[i]
	}
	if err := s.pool.QueryRow(ctx, `SELECT `+strings.Join(cols, ", ")+from, args...).Scan(dest...); err != nil {
		return nil, fmt.Errorf("whistle: queue counts: %w", err)
	}
	for i, t := range wtabs {
		out[t] = counts[i]
	}
	if tabs[0] == TabClues {
		where, args := clueQueueWhere(sc, QueueFilter{})
		var n int
		if err := s.pool.QueryRow(ctx, `SELECT count(*)`+clueFrom+where, args...).Scan(&n); err != nil {
			return nil, fmt.Errorf("whistle: queue counts: %w", err)
		}
		out[TabClues] = n
	}
	return out, nil
}

package whistle

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"whistlegrid/access"
	"whistlegrid/fault"
	"whistlegrid/geo"
	"whistlegrid/grid"
)

// This file holds the whistle rules that are pure decisions, each the one
// definition the Store and the demo history (demo/history_*.go) both call:
// the status a step leads to, the outcome on close, the units a whistle
// summons, the deadlines at a raise and after an escalation, the grade a
// missed deadline leads to, and the ratings' range. Who may take which
// step, and when, is in steps.go (Authorize, Allowed).
//
// Rules that run inside PostgreSQL stay there, and the demo reads the same
// tables: the choice of rule for a clue, the search for a whistle to join
// and the escalation on repeated clues (whistle_intake_batch in
// migrations/00023_intake_batch.sql, reading rules, categories and
// grade_policies), and the overdue marks of the sweep (sweep.go).

// Next is the status a whistle in state s moves to when unit unitID (0 for
// a township's or the command center's step) takes step, an allowed one:
// a raise opens it (raised), the first report-in starts the work (raised → in_progress); the
// resolution that leaves no lead unit unresolved puts it before the
// township (→ awaiting_approval); close closes it; a return, and a ruling
// on a whistle awaiting approval, send it back to work (→ in_progress), as
// does a reopening of a closed whistle (MayReopen).
// The other steps leave the status as it is.
func Next(step Step, s *State, unitID int64) Status {
	switch step {
	case StepRaise:
		return Raised
	case StepReportIn:
		if s.Status == Raised {
			return InProgress
		}
	case StepResolve:
		if s.leadsResolvedWith(unitID) {
			return AwaitingApproval
		}
	case StepClose:
		return Closed
	case StepReturn:
		return InProgress
	case StepReopen:
		return InProgress
	case StepRule:
		if s.Status == AwaitingApproval {
			return InProgress
		}
	}
	return s.Status
}

// leadsResolvedWith reports whether every lead unit has resolved once
// unitID has too (0: as things are), and that there is a lead.
func (s *State) leadsResolvedWith(unitID int64) bool {
	n := 0
	for _, sm := range s.Summons {
		if sm.Role == "lead" {
			n++
			if !sm.Resolved && (unitID == 0 || sm.UnitID != unitID) {
				return false
			}
		}
	}
	return n > 0
}

// CloseOutcome is a whistle's outcome on close, from its lead units'
// outcomes: resolved when all resolved, unresolved when none did (or there
// is none), partly otherwise.
func CloseOutcome(outcomes []Outcome) Outcome {
	if len(outcomes) == 0 {
		return Unresolved
	}
	res, unres := 0, 0
	for _, o := range outcomes {
		switch o {
		case Resolved:
			res++
		case Unresolved:
			unres++
		}
	}
	switch {
	case res == len(outcomes):
		return Resolved
	case unres == len(outcomes):
		return Unresolved
	}
	return Partly
}

// Raisable reports whether a whistle can be raised where the
// responsibility list for a placement and category names units: only when
// it names a unit to lead. When the township answers itself (属地兜底)
// there is nobody to summon.
func Raisable(units []grid.UnitRef) bool {
	return len(units) > 0 && units[0].Kind != "township"
}

// Summonable is the units a raised whistle summons, from the
// responsibility list, in its order: each once, townships left out (a
// township does not summon itself), with the role the list gives.
func Summonable(units []grid.UnitRef) (codes, roles []string) {
	seen := map[string]bool{}
	for _, u := range units {
		if seen[u.Code] || u.Kind == "township" {
			continue
		}
		seen[u.Code] = true
		codes, roles = append(codes, u.Code), append(roles, u.Role)
	}
	return codes, roles
}

// MayRaise decides whether the caller may raise a whistle by hand: a
// township (in its own township) or the command center.
func MayRaise(sc access.Scope) error {
	if sc.Role != access.RoleTownship && sc.Role != access.RoleCommand {
		return fault.Errorf(ErrForbidden, "only a township (or the command center) raises whistles")
	}
	return nil
}

// OverdueEscalation is the grade a missed deadline raises a whistle of
// grade g to, one step up; false for a hard whistle, which stays hard.
func OverdueEscalation(g Grade) (Grade, bool) {
	if g == Hard {
		return g, false
	}
	return g.Next(), true
}

// The range of each of a unit's three ratings (一哨三评: reported in,
// resolved, satisfied).
const (
	MinRating = 1
	MaxRating = 5
)

// ValidRating reports whether r is a rating, MinRating to MaxRating.
func ValidRating(r int) bool { return r >= MinRating && r <= MaxRating }

// Policy is a pair of deadlines as durations: how long the summoned units
// have to report in, and the lead units to resolve, counted from a raise
// or an escalation.
type Policy struct {
	ReportIn, Resolve time.Duration
}

// CategoryPolicy is a category's own deadlines (categories.report_in_minutes
// and resolve_minutes), which hold at its default grade.
type CategoryPolicy struct {
	Grade Grade // categories.default_grade
	Policy
}

// Policies are the deadline rules as the database holds them: each grade's
// (grade_policies) and each category's own, by category code.
type Policies struct {
	Grades     map[Grade]Policy
	Categories map[string]CategoryPolicy
}

// AtRaise is the grade and the deadlines of a whistle of category raised
// at grade g ("" for the category's default grade): the category's own
// deadlines at its default grade, the grade's at any other. False for an
// unknown category or grade.
func (p Policies) AtRaise(category string, g Grade) (Grade, Policy, bool) {
	c, ok := p.Categories[category]
	if !ok {
		return "", Policy{}, false
	}
	if g == "" || g == c.Grade {
		return c.Grade, c.Policy, true
	}
	gp, ok := p.Grades[g]
	if !ok {
		return "", Policy{}, false
	}
	return g, gp, true
}

// Tighten is a whistle's deadlines after an escalation at now to a grade
// with policy p, by hand or on repeated clues: each deadline still ahead
// of now moves to p's, counted from now, but never later than it was; a
// deadline already missed stays, and the resolve deadline never moves
// before the report-in deadline as it was. (The sweep's escalation keeps
// the deadlines: see OverdueEscalation.)
func Tighten(now, reportInDue, resolveDue time.Time, p Policy) (time.Time, time.Time) {
	ri, rs := reportInDue, resolveDue
	if reportInDue.After(now) {
		ri = minTime(reportInDue, now.Add(p.ReportIn))
	}
	if resolveDue.After(now) {
		rs = minTime(resolveDue, now.Add(p.Resolve))
		if rs.Before(reportInDue) {
			rs = reportInDue
		}
	}
	return ri, rs
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// rowsQuerier is a pool or a transaction.
type rowsQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// selectPolicies reads each grade's deadlines, then each category's (all of
// them when $1 is empty, else those whose code is in the list $1), in
// minutes.
const selectPolicies = `
SELECT '', grade, report_in_minutes, resolve_minutes FROM grade_policies
UNION ALL
SELECT code, default_grade, report_in_minutes, resolve_minutes FROM categories WHERE $1 = '' OR code = ANY(string_to_array($1, ','))`

// LoadPolicies reads the deadline rules of every grade and category.
func LoadPolicies(ctx context.Context, q rowsQuerier) (Policies, error) {
	return loadPolicies(ctx, q, "")
}

// loadPolicies reads the deadline rules of every grade and of category
// ("" for every category; several codes joined by commas: codes hold
// none).
func loadPolicies(ctx context.Context, q rowsQuerier, category string) (Policies, error) {
	rows, err := q.Query(ctx, selectPolicies, category)
	if err != nil {
		return Policies{}, fmt.Errorf("whistle: policies: %w", err)
	}
	return scanPolicies(rows)
}

// scanPolicies reads the rows of selectPolicies.
func scanPolicies(rows pgx.Rows) (Policies, error) {
	p := Policies{Grades: map[Grade]Policy{}, Categories: map[string]CategoryPolicy{}}
	defer rows.Close()
	for rows.Next() {
		var code string
		var g Grade
		var ri, rs int
		if err := rows.Scan(&code, &g, &ri, &rs); err != nil {
			return p, fmt.Errorf("whistle: policies: %w", err)
		}
		pol := Policy{ReportIn: time.Duration(ri) * time.Minute, Resolve: time.Duration(rs) * time.Minute}
		if code == "" {
			p.Grades[g] = pol
		} else {
			p.Categories[code] = CategoryPolicy{Grade: g, Policy: pol}
		}
	}
	if err := rows.Err(); err != nil {
		return p, fmt.Errorf("whistle: policies: %w", err)
	}
	return p, nil
}

// CallbackResult is the resident's answer at a callback (回访).
type CallbackResult string

// The answers, best first.
const (
	CallbackSatisfied   CallbackResult = "satisfied"           // 满意
	CallbackBasically   CallbackResult = "basically_satisfied" // 基本满意
	CallbackUnsatisfied CallbackResult = "unsatisfied"         // 不满意
)

// ReopenWindow is how long after an unsatisfied callback the township may
// reopen the whistle.
const ReopenWindow = 7 * 24 * time.Hour

// Valid reports whether r is an answer.
func (r CallbackResult) Valid() bool {
	return r == CallbackSatisfied || r == CallbackBasically || r == CallbackUnsatisfied
}

// Satisfied reports whether the answer counts as satisfied in the
// residents' satisfaction rate (居民满意率): satisfied and basically
// satisfied do. The SQL of whistle/stats.go (residentSatisfied) is the
// same rule.
func (r CallbackResult) Satisfied() bool { return r == CallbackSatisfied || r == CallbackBasically }

// MayReopen decides whether a closed whistle may be reopened at now: only
// when its latest callback was unsatisfied, within ReopenWindow of it.
func MayReopen(s *State, now time.Time) error {
	if s.LastCallback != CallbackUnsatisfied {
		return fault.Errorf(ErrConflict, "a whistle is reopened only after an unsatisfied callback")
	}
	if now.Sub(s.LastCallbackAt) > ReopenWindow {
		return fault.Errorf(ErrConflict, "the unsatisfied callback was more than 7 days ago (%s)", s.LastCallbackAt.In(geo.Beijing).Format("2006-01-02 15:04"))
	}
	return nil
}

// RiskPolicy is the deadlines of a flagged (high-risk) clue's whistle of
// category: each the fastest of the category's own and the priority
// grade's.
func (p Policies) RiskPolicy(category string) Policy {
	out := p.Grades[Priority]
	if c, ok := p.Categories[category]; ok {
		if out.ReportIn == 0 || c.ReportIn < out.ReportIn {
			out.ReportIn = c.ReportIn
		}
		if out.Resolve == 0 || c.Resolve < out.Resolve {
			out.Resolve = c.Resolve
		}
	}
	return out
}

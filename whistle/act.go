package whistle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"whistlegrid/access"
	"whistlegrid/fault"
	"whistlegrid/grid"
)

// StepInput is the body of a step; each step reads its own fields.
type StepInput struct {
	Person     string   `json:"person"`      // report-in: who goes on site
	Phone      string   `json:"phone"`       // report-in
	Note       string   `json:"note"`        // report-in, resolve, close, supervise
	Outcome    string   `json:"outcome"`     // resolve: resolved, partly, unresolved
	Reason     string   `json:"reason"`      // return, escalate, rule, contest
	Unit       string   `json:"unit"`        // rate: the unit rated; supervise: the late unit; report-in/resolve by the command center: the unit acted for
	ReportedIn int      `json:"reported_in"` // rate, 1–5
	Resolved   int      `json:"resolved"`    // rate, 1–5
	Satisfied  int      `json:"satisfied"`   // rate, 1–5
	Grade      string   `json:"grade"`       // escalate
	Attendees  []string `json:"attendees"`   // consult
	Minutes    string   `json:"minutes"`     // consult
	LeadUnit   string   `json:"lead_unit"`   // rule
	// Attachments are ids of the caller's uploads (POST
	// /api/v1/attachments) to attach to the step, e.g. photos of a
	// resolution; at most MaxAttachments.
	Attachments []int64 `json:"attachments"`
	Result      string  `json:"result"` // callback: satisfied, basically_satisfied, unsatisfied
}

// Limits of the free-text fields of a step and of a raised whistle, in
// characters (Unicode code points): a longer one is refused (ErrInvalid
// naming the field). A phone has 7 to 20 digits, '+' or '-'.
const (
	MaxNote      = 4000 // note, reason, minutes
	MaxPerson    = 128  // person, each attendee
	MaxAttendees = 50
)

// validateInput checks a step's own fields (422), before the status is
// looked at.
func validateInput(step Step, in StepInput) error {
	long := func(field, v string, n int) error {
		if utf8.RuneCountInString(v) > n {
			return invalid(field, "%s is at most %d characters", field, n)
		}
		return nil
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"note", in.Note, MaxNote}, {"reason", in.Reason, MaxNote}, {"person", in.Person, MaxPerson}, {"minutes", in.Minutes, MaxNote}} {
		if err := long(f.name, f.v, f.max); err != nil {
			return err
		}
	}
	if len(in.Attendees) > MaxAttendees {
		return invalid("attendees", "at most %d attendees", MaxAttendees)
	}
	for i, a := range in.Attendees {
		if err := long(fmt.Sprintf("attendees[%d]", i), a, MaxPerson); err != nil {
			return err
		}
	}
	switch step {
	case StepReportIn:
		if strings.TrimSpace(in.Person) == "" {
			return invalid("person", "person (who goes on site) is required")
		}
		if in.Phone != "" && !validPhone(in.Phone) {
			return invalid("phone", "a phone has 7 to 20 digits, '+' or '-'")
		}
	case StepResolve:
		if !Outcome(in.Outcome).Valid() {
			return invalid("outcome", "outcome must be resolved, partly or unresolved")
		}
	case StepReturn:
		if strings.TrimSpace(in.Reason) == "" {
			return invalid("reason", "a return needs a reason")
		}
	case StepSupervise:
		if in.Unit == "" {
			return invalid("unit", "unit (the late unit) is required")
		}
	case StepRate:
		if in.Unit == "" {
			return invalid("unit", "unit (the unit rated) is required")
		}
		for _, r := range []struct {
			name string
			v    int
		}{{"reported_in", in.ReportedIn}, {"resolved", in.Resolved}, {"satisfied", in.Satisfied}} {
			if !ValidRating(r.v) {
				return invalid(r.name, "%s must be 1 to 5", r.name)
			}
		}
	case StepEscalate:
		if Grade(in.Grade).Rank() == 0 {
			return invalid("grade", "grade must be routine, priority or hard")
		}
		if strings.TrimSpace(in.Reason) == "" {
			return invalid("reason", "an escalation needs a reason")
		}
	case StepConsult:
		if len(in.Attendees) == 0 {
			return invalid("attendees", "a consultation has attendees")
		}
		if strings.TrimSpace(in.Minutes) == "" {
			return invalid("minutes", "minutes are required")
		}
	case StepRule:
		if in.LeadUnit == "" {
			return invalid("lead_unit", "lead_unit is required")
		}
		if strings.TrimSpace(in.Reason) == "" {
			return invalid("reason", "a ruling needs a reason")
		}
	case StepContest:
		if strings.TrimSpace(in.Reason) == "" {
			return invalid("reason", "a contest needs a reason")
		}
	case StepCallback:
		if !CallbackResult(in.Result).Valid() {
			return invalid("result", "result must be satisfied, basically_satisfied or unsatisfied")
		}
	case StepReopen:
		if strings.TrimSpace(in.Reason) == "" {
			return invalid("reason", "a reopening needs a reason (what the resident was unsatisfied with)")
		}
	}
	return nil
}

// stateQuerier is a pool or a transaction.
type stateQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// loadState reads what the decisions need of whistle id, locking its row
// when lock (in a transaction that will act on it).
func loadState(ctx context.Context, q stateQuerier, id int64, lock bool) (*State, error) {
	st := &State{ID: id}
	sql := `
		SELECT t.code, coalesce(g.code, ''), w.status, w.grade, coalesce(w.ruled_unit_id, 0), w.contested_at IS NOT NULL, w.report_in_due, w.resolve_due
		FROM whistles w JOIN grids t ON t.id = w.township_id LEFT JOIN grids g ON g.id = w.grid_id
		WHERE w.id = $1`
	if lock {
		sql += ` FOR UPDATE OF w`
	}
	err := q.QueryRow(ctx, sql, id).Scan(&st.TownshipCode, &st.GridCode, &st.Status, &st.Grade, &st.RuledUnitID, &st.Contested, &st.ReportInDue, &st.ResolveDue)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fault.Errorf(ErrNotFound, "no whistle %d", id)
	}
	if err != nil {
		return nil, fmt.Errorf("whistle: %w", err)
	}
	err = q.QueryRow(ctx, `SELECT result, at FROM whistle_callbacks WHERE whistle_id = $1 ORDER BY at DESC, id DESC LIMIT 1`, id).
		Scan(&st.LastCallback, &st.LastCallbackAt)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("whistle: %w", err)
	}
	rows, err := q.Query(ctx, `
		SELECT s.unit_id, u.code, u.name, s.role, s.reported_in_at IS NOT NULL, s.resolved_at IS NOT NULL, s.rated_at IS NOT NULL,
			EXISTS (SELECT 1 FROM supervision_notices n WHERE n.whistle_id = s.whistle_id AND n.unit_id = s.unit_id AND n.kind = 'report_in'),
			EXISTS (SELECT 1 FROM supervision_notices n WHERE n.whistle_id = s.whistle_id AND n.unit_id = s.unit_id AND n.kind = 'resolve')
		FROM summons s JOIN units u ON u.id = s.unit_id WHERE s.whistle_id = $1 ORDER BY s.role DESC, u.code`, id)
	if err != nil {
		return nil, fmt.Errorf("whistle: %w", err)
	}
	st.Summons, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Summons, error) {
		var s Summons
		err := r.Scan(&s.UnitID, &s.UnitCode, &s.UnitName, &s.Role, &s.ReportedIn, &s.Resolved, &s.Rated, &s.SupervisedReportIn, &s.SupervisedResolve)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("whistle: %w", err)
	}
	return st, nil
}

// Actions lists the steps the caller may take now on whistle id (see the
// function Actions): ErrNotFound outside the caller's jurisdiction.
func (s *Store) Actions(ctx context.Context, sc access.Scope, id int64) ([]Action, error) {
	st, err := loadState(ctx, s.pool, id, false)
	if err != nil {
		return nil, err
	}
	if !Visible(sc, st) {
		return nil, fault.Errorf(ErrNotFound, "no whistle %d in your jurisdiction", id)
	}
	st.At = s.now()
	return Actions(sc, st), nil
}

func (st *State) unitByCode(code string) int64 {
	for _, s := range st.Summons {
		if s.UnitCode == code {
			return s.UnitID
		}
	}
	return 0
}

// Act takes one step on a whistle for the caller, checked in this order:
// jurisdiction (ErrNotFound), role (ErrForbidden), the body (ErrInvalid),
// the status (ErrConflict). Each step appends to the trail and writes an
// events row in the same transaction. It returns the whistle after the step.
func (s *Store) Act(ctx context.Context, sc access.Scope, id int64, step Step, in StepInput) (Detail, error) {
	now := s.now()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return Detail{}, fmt.Errorf("whistle: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	st, err := loadState(ctx, tx, id, true)
	if err != nil {
		return Detail{}, err
	}
	st.At = now
	if !Visible(sc, st) {
		return Detail{}, fault.Errorf(ErrNotFound, "no whistle %d in your jurisdiction", id)
	}
	acting := int64(0)
	if sc.Role == access.RoleCommand && (step == StepReportIn || step == StepResolve) {
		acting = st.unitByCode(in.Unit)
	}
	unitID, err := Authorize(sc, step, st, acting)
	if err != nil {
		return Detail{}, err
	}
	if err := validateInput(step, in); err != nil {
		return Detail{}, err
	}
	if in.Attachments, err = checkAttachmentIDs(in.Attachments); err != nil {
		return Detail{}, err
	}
	arg := in.Grade
	if step == StepRate || step == StepSupervise {
		if unitID = st.unitByCode(in.Unit); unitID == 0 {
			return Detail{}, invalid("unit", "unit %q is not summoned to whistle %d", in.Unit, id)
		}
	}
	if err := Allowed(step, st, unitID, arg); err != nil {
		return Detail{}, err
	}
	if step == StepReopen {
		if err := MayReopen(st, now); err != nil {
			return Detail{}, err
		}
	}
	ev := events{}
	if err := s.apply(ctx, tx, &ev, st, sc, step, unitID, in, now); err != nil {
		return Detail{}, err
	}
	if err := attachToStep(ctx, tx, id, sc.UserID, in.Attachments); err != nil {
		return Detail{}, err
	}
	if err := ev.write(ctx, tx, now); err != nil {
		return Detail{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return Detail{}, fmt.Errorf("whistle: %w", err)
	}
	return s.Get(ctx, sc, id)
}

// apply changes the database for one allowed step.
func (s *Store) apply(ctx context.Context, tx pgx.Tx, ev *events, st *State, sc access.Scope, step Step, unitID int64, in StepInput, now time.Time) error {
	id, actor, actorID := st.ID, sc.Username, sc.UserID
	exec := func(sql string, args ...any) error {
		if _, err := tx.Exec(ctx, sql, args...); err != nil {
			return fmt.Errorf("whistle: %s: %w", step, err)
		}
		return nil
	}
	touch := func(status Status) error {
		return exec(`UPDATE whistles SET status = $2, updated_at = $3 WHERE id = $1`, id, string(status), now)
	}
	unitRef := func() map[string]any {
		if sm := st.summons(unitID); sm != nil {
			return map[string]any{"code": sm.UnitCode, "name": sm.UnitName}
		}
		return nil
	}
	switch step {
	case StepReportIn:
		if err := exec(`UPDATE summons SET reported_in_at = $3, person = $4, phone = $5 WHERE whistle_id = $1 AND unit_id = $2`,
			id, unitID, now, in.Person, nullable(in.Phone)); err != nil {
			return err
		}
		if to := Next(step, st, unitID); to != st.Status {
			if err := touch(to); err != nil {
				return err
			}
		}
		if err := trail(ctx, tx, id, actorID, actor, "report_in", unitID, in.Note, map[string]any{"person": in.Person}, now); err != nil {
			return err
		}
		return ev.whistle(ctx, tx, "whistle.reported_in", id, map[string]any{"unit": unitRef(), "person": in.Person, "phone": in.Phone, "actor": actor})
	case StepResolve:
		if err := exec(`UPDATE summons SET resolved_at = $3, outcome = $4 WHERE whistle_id = $1 AND unit_id = $2`, id, unitID, now, in.Outcome); err != nil {
			return err
		}
		if to := Next(step, st, unitID); to != st.Status {
			if err := touch(to); err != nil {
				return err
			}
		}
		if err := trail(ctx, tx, id, actorID, actor, "resolve", unitID, in.Note, map[string]any{"outcome": in.Outcome}, now); err != nil {
			return err
		}
		return ev.whistle(ctx, tx, "whistle.resolved", id, map[string]any{"unit": unitRef(), "outcome": in.Outcome, "actor": actor})
	case StepClose:
		rows, err := tx.Query(ctx, `SELECT outcome FROM summons WHERE whistle_id = $1 AND role = 'lead'`, id)
		if err != nil {
			return fmt.Errorf("whistle: close: %w", err)
		}
		outs, err := pgx.CollectRows(rows, pgx.RowTo[Outcome])
		if err != nil {
			return fmt.Errorf("whistle: close: %w", err)
		}
		out := CloseOutcome(outs)
		if err := exec(`UPDATE whistles SET status = $4, closed_at = $2, outcome = $3, updated_at = $2 WHERE id = $1`, id, now, string(out), string(Next(step, st, 0))); err != nil {
			return err
		}
		if err := trail(ctx, tx, id, actorID, actor, "close", 0, in.Note, map[string]any{"outcome": out}, now); err != nil {
			return err
		}
		return ev.whistle(ctx, tx, "whistle.closed", id, map[string]any{"outcome": out, "actor": actor})
	case StepReturn:
		if err := exec(`UPDATE summons SET resolved_at = NULL, outcome = NULL WHERE whistle_id = $1 AND role = 'lead'`, id); err != nil {
			return err
		}
		if err := exec(`UPDATE whistles SET status = $3, returns = returns + 1, updated_at = $2 WHERE id = $1`, id, now, string(Next(step, st, 0))); err != nil {
			return err
		}
		if err := trail(ctx, tx, id, actorID, actor, "return", 0, in.Reason, nil, now); err != nil {
			return err
		}
		return ev.whistle(ctx, tx, "whistle.returned", id, map[string]any{"reason": in.Reason, "actor": actor})
	case StepRate:
		if err := exec(`UPDATE summons SET rating_reported_in = $3, rating_resolved = $4, rating_satisfied = $5, rated_at = $6 WHERE whistle_id = $1 AND unit_id = $2`,
			id, unitID, in.ReportedIn, in.Resolved, in.Satisfied, now); err != nil {
			return err
		}
		r := map[string]any{"reported_in": in.ReportedIn, "resolved": in.Resolved, "satisfied": in.Satisfied}
		if err := trail(ctx, tx, id, actorID, actor, "rate", unitID, in.Note, r, now); err != nil {
			return err
		}
		return ev.whistle(ctx, tx, "whistle.rated", id, map[string]any{"unit": unitRef(), "ratings": r, "actor": actor})
	case StepEscalate:
		return escalate(ctx, tx, ev, id, Grade(in.Grade), actor, actorID, in.Reason, now, true)
	case StepConsult:
		if err := exec(`UPDATE whistles SET consultations = consultations + 1, updated_at = $2 WHERE id = $1`, id, now); err != nil {
			return err
		}
		if err := trail(ctx, tx, id, actorID, actor, "consult", 0, in.Minutes, map[string]any{"attendees": in.Attendees}, now); err != nil {
			return err
		}
		return ev.whistle(ctx, tx, "whistle.consulted", id, map[string]any{"attendees": in.Attendees, "actor": actor})
	case StepRule:
		var lead int64
		var name string
		if err := tx.QueryRow(ctx, `SELECT id, name FROM units WHERE code = $1`, in.LeadUnit).Scan(&lead, &name); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return invalid("lead_unit", "unknown unit %q", in.LeadUnit)
			}
			return fmt.Errorf("whistle: rule: %w", err)
		}
		// the ruled unit leads; every other lead becomes an assistant
		if err := exec(`UPDATE summons SET role = 'assist' WHERE whistle_id = $1 AND unit_id <> $2 AND role = 'lead'`, id, lead); err != nil {
			return err
		}
		if err := exec(`INSERT INTO summons (whistle_id, unit_id, role, summoned_at) VALUES ($1, $2, 'lead', $3)
			ON CONFLICT (whistle_id, unit_id) DO UPDATE SET role = 'lead'`, id, lead, now); err != nil {
			return err
		}
		if err := exec(`UPDATE whistles SET ruled_unit_id = $2, ruled_at = $3, contested_at = NULL, updated_at = $3, status = $4 WHERE id = $1`,
			id, lead, now, string(Next(step, st, 0))); err != nil {
			return err
		}
		if err := trail(ctx, tx, id, actorID, actor, "rule", lead, in.Reason, map[string]any{"lead_unit": in.LeadUnit}, now); err != nil {
			return err
		}
		return ev.whistle(ctx, tx, "whistle.ruled", id, map[string]any{"unit": map[string]any{"code": in.LeadUnit, "name": name}, "reason": in.Reason, "actor": actor})
	case StepCallback:
		if err := exec(`INSERT INTO whistle_callbacks (whistle_id, at, actor_id, actor, result, note) VALUES ($1, $2, $3, $4, $5, $6)`,
			id, now, nullID(actorID), actor, in.Result, in.Note); err != nil {
			return err
		}
		if err := trail(ctx, tx, id, actorID, actor, "callback", 0, in.Note, map[string]any{"result": in.Result}, now); err != nil {
			return err
		}
		return ev.whistle(ctx, tx, "whistle.callback", id, map[string]any{"result": in.Result, "actor": actor})
	case StepReopen:
		// back to work with the same units: the leads resolve again, by a
		// new resolve deadline at the whistle's grade
		var category string
		if err := tx.QueryRow(ctx, `SELECT c.code FROM whistles w JOIN categories c ON c.id = w.category_id WHERE w.id = $1`, id).Scan(&category); err != nil {
			return fmt.Errorf("whistle: reopen: %w", err)
		}
		pol, err := loadPolicies(ctx, tx, category)
		if err != nil {
			return err
		}
		_, p, ok := pol.AtRaise(category, st.Grade)
		if !ok {
			return fmt.Errorf("whistle: reopen: no deadlines for %s at %s", category, st.Grade)
		}
		if err := exec(`UPDATE summons SET resolved_at = NULL, outcome = NULL WHERE whistle_id = $1 AND role = 'lead'`, id); err != nil {
			return err
		}
		if err := exec(`UPDATE whistles SET status = $3, closed_at = NULL, outcome = NULL, updated_at = $2,
			resolve_due = GREATEST(report_in_due, $4::timestamptz) WHERE id = $1`,
			id, now, string(Next(step, st, 0)), now.Truncate(time.Microsecond).Add(p.Resolve)); err != nil {
			return err
		}
		if err := trail(ctx, tx, id, actorID, actor, "reopen", 0, in.Reason, map[string]any{"callback_at": st.LastCallbackAt}, now); err != nil {
			return err
		}
		return ev.whistle(ctx, tx, "whistle.reopened", id, map[string]any{"reason": in.Reason, "actor": actor})
	case StepContest:
		if err := exec(`UPDATE whistles SET contested_at = $2, updated_at = $2 WHERE id = $1`, id, now); err != nil {
			return err
		}
		if err := trail(ctx, tx, id, actorID, actor, "contest", unitID, in.Reason, nil, now); err != nil {
			return err
		}
		return ev.whistle(ctx, tx, "whistle.contested", id, map[string]any{"unit": unitRef(), "reason": in.Reason, "actor": actor})
	case StepSupervise:
		sm := st.summons(unitID)
		kind, err := st.LateKind(sm)
		if err != nil {
			return err
		}
		note := in.Note
		if strings.TrimSpace(note) == "" {
			note = "指挥中心督办"
		}
		tag, err := tx.Exec(ctx, `INSERT INTO supervision_notices (whistle_id, unit_id, kind, at, note) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (whistle_id, unit_id, kind) DO NOTHING`, id, unitID, kind, now, note)
		if err != nil {
			return fmt.Errorf("whistle: supervise: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fault.Errorf(ErrConflict, "%s was already supervised", sm.UnitName)
		}
		if err := trail(ctx, tx, id, actorID, actor, "supervise", unitID, note+"，督办 "+sm.UnitName, map[string]any{"kind": kind}, now); err != nil {
			return err
		}
		return ev.whistle(ctx, tx, "whistle.supervised", id, map[string]any{"kind": kind, "unit": unitRef(), "note": note, "actor": actor})
	}
	return fault.Errorf(ErrInvalid, "unknown step %q", step)
}

// RaiseInput is the body of POST /api/v1/whistles: a township raises a
// whistle by hand from clues it selected.
// Units, when given, replace the responsibility list's units (the page
// pre-fills them from it and the township may edit them): each a unit
// code with role lead or assist, at least one lead.
type RaiseInput struct {
	ClueIDs []int64     `json:"clue_ids"`
	Grade   string      `json:"grade"`
	Note    string      `json:"note"`
	Units   []RaiseUnit `json:"units"`
}

// RaiseUnit is a unit a township summons by hand, and its part.
type RaiseUnit struct {
	Code string `json:"code"`
	Role string `json:"role"` // lead or assist
}

// MaxRaiseUnits bounds the units of a raised whistle.
const MaxRaiseUnits = 20

// checkRaiseUnits validates the units a township named: known codes, each
// once, lead or assist, at least one lead. It returns them as the
// responsibility list would name them.
func checkRaiseUnits(ctx context.Context, q stateQuerier, in []RaiseUnit) ([]grid.UnitRef, error) {
	if len(in) > MaxRaiseUnits {
		return nil, invalid("units", "at most %d units", MaxRaiseUnits)
	}
	codes := make([]string, len(in))
	leads := 0
	seen := map[string]bool{}
	for i, u := range in {
		field := fmt.Sprintf("units[%d]", i)
		if u.Role != "lead" && u.Role != "assist" {
			return nil, invalid(field+".role", "role must be lead or assist")
		}
		if seen[u.Code] {
			return nil, invalid(field+".code", "unit %q is named twice", u.Code)
		}
		seen[u.Code] = true
		if u.Role == "lead" {
			leads++
		}
		codes[i] = u.Code
	}
	if leads == 0 {
		return nil, invalid("units", "name at least one lead unit")
	}
	rows, err := q.Query(ctx, `SELECT code, name, kind FROM units WHERE code = ANY($1)`, codes)
	if err != nil {
		return nil, fmt.Errorf("whistle: raise: %w", err)
	}
	known := map[string]grid.UnitRef{}
	for rows.Next() {
		var u grid.UnitRef
		if err := rows.Scan(&u.Code, &u.Name, &u.Kind); err != nil {
			rows.Close()
			return nil, fmt.Errorf("whistle: raise: %w", err)
		}
		known[u.Code] = u
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("whistle: raise: %w", err)
	}
	out := make([]grid.UnitRef, 0, len(in))
	for i, u := range in {
		k, ok := known[u.Code]
		if !ok {
			return nil, invalid(fmt.Sprintf("units[%d].code", i), "unknown unit %q", u.Code)
		}
		k.Role = u.Role
		out = append(out, k)
	}
	// leads first, as the responsibility list orders them
	slices.SortStableFunc(out, func(a, b grid.UnitRef) int {
		if a.Role == b.Role {
			return 0
		}
		if a.Role == "lead" {
			return -1
		}
		return 1
	})
	return out, nil
}

// Raise opens a whistle from clues that are in the caller's township and in
// no whistle yet, summoning the units on the duty list of the first clue's
// category (the township itself answers where the list names nobody, and
// then there is nobody to summon: ErrConflict).
func (s *Store) Raise(ctx context.Context, sc access.Scope, in RaiseInput) (Detail, error) {
	if err := MayRaise(sc); err != nil {
		return Detail{}, err
	}
	if len(in.ClueIDs) == 0 || len(in.ClueIDs) > 100 {
		return Detail{}, invalid("clue_ids", "give 1 to 100 clue ids")
	}
	if in.Grade != "" && Grade(in.Grade).Rank() == 0 {
		return Detail{}, invalid("grade", "grade must be routine, priority or hard")
	}
	if utf8.RuneCountInString(in.Note) > MaxNote {
		return Detail{}, invalid("note", "note is at most %d characters", MaxNote)
	}
	now := s.now()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return Detail{}, fmt.Errorf("whistle: raise: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	type clueRow struct {
		id, gridID, townshipID, whistleID int64
		township, gridCode, category      string
		lon, lat                          float64
	}
	rows, err := tx.Query(ctx, `
		SELECT c.id, c.grid_id, c.township_id, coalesce(c.whistle_id, 0), t.code, g.code, cat.code, ST_X(c.location), ST_Y(c.location)
		FROM clues c JOIN grids t ON t.id = c.township_id JOIN grids g ON g.id = c.grid_id JOIN categories cat ON cat.id = c.category_id
		WHERE c.id = ANY($1) ORDER BY array_position($1, c.id) FOR UPDATE OF c`, in.ClueIDs)
	if err != nil {
		return Detail{}, fmt.Errorf("whistle: raise: %w", err)
	}
	clues, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (clueRow, error) {
		var c clueRow
		err := r.Scan(&c.id, &c.gridID, &c.townshipID, &c.whistleID, &c.township, &c.gridCode, &c.category, &c.lon, &c.lat)
		return c, err
	})
	if err != nil {
		return Detail{}, fmt.Errorf("whistle: raise: %w", err)
	}
	found := map[int64]bool{}
	for _, c := range clues {
		found[c.id] = true
	}
	for _, id := range in.ClueIDs {
		if !found[id] {
			return Detail{}, fault.Errorf(ErrNotFound, "no clue %d", id)
		}
	}
	first := clues[0]
	for _, c := range clues {
		if !sc.Covers(c.gridCode) {
			return Detail{}, fault.Errorf(ErrNotFound, "no clue %d in your jurisdiction", c.id)
		}
		if c.township != first.township {
			return Detail{}, invalid("clue_ids", "the clues lie in different townships")
		}
		if c.whistleID != 0 {
			return Detail{}, fault.Errorf(ErrConflict, "clue %d is already in whistle %d", c.id, c.whistleID)
		}
	}
	chain, ok := s.placer.Index().Chain(first.gridID)
	if !ok {
		return Detail{}, fault.Errorf(ErrConflict, "clue %d's grid is no longer current", first.id)
	}
	_, units, err := s.placer.Responsible(access.Scope{Role: access.RoleCommand}, grid.Placement{Chain: chain}, first.category, now)
	if err != nil {
		return Detail{}, err
	}
	if in.Units != nil {
		if units, err = checkRaiseUnits(ctx, tx, in.Units); err != nil {
			return Detail{}, err
		}
	}
	if !Raisable(units) {
		return Detail{}, fault.Errorf(ErrConflict, "the responsibility list names no unit for %s here; the township handles it itself (属地兜底)", first.category)
	}
	ev := events{}
	id, err := s.raise(ctx, tx, &ev, raiseArgs{
		townshipID: first.townshipID, gridID: first.gridID, category: first.category, grade: Grade(in.Grade),
		location: [2]float64{first.lon, first.lat}, units: units, clueIDs: in.ClueIDs, actorID: sc.UserID, actor: sc.Username,
		note: in.Note, now: now,
	})
	if err != nil {
		return Detail{}, err
	}
	if err := ev.write(ctx, tx, now); err != nil {
		return Detail{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return Detail{}, fmt.Errorf("whistle: raise: %w", err)
	}
	return s.Get(ctx, sc, id)
}

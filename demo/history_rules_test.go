package demo_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/access"
	"whistlegrid/whistle"
)

// checkWhistleRules reads the history on pool back and holds it against
// whistle's own rules, so that a change to a rule that the demo did not
// follow fails here:
//   - every whistle's deadlines at its raise are whistle.Policies.AtRaise's
//     for its category (read from the database as the store reads them), and
//     after every escalation whistle.Tighten's (by hand or on repeated
//     clues) or unchanged (the sweep's, at the moment of an overdue mark);
//   - every step of the trail, replayed in order from the raise, is one the
//     actor's role may take (whistle.Authorize, whistle.MayRaise) and the
//     whistle's state allows (whistle.Allowed), every status the path
//     passes through is whistle.Next's, and the path ends in the status and
//     grade the whistle has at End;
//   - the sweep escalates by whistle.OverdueEscalation, repeated clues from
//     routine to priority.
func checkWhistleRules(t *testing.T, ctx context.Context, pool *pgxpool.Pool) {
	pol, err := whistle.LoadPolicies(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	type hw struct {
		category      string
		status        whistle.Status
		grade         whistle.Grade
		raisedAt      time.Time
		st            *whistle.State
		leads         map[string]bool // lead unit codes at the raise
		ri, rs        time.Time       // deadlines as the events tell them
		lastOverdue   time.Time       // the last overdue mark, as the events tell it
		trailOverdue  time.Time       // the last overdue mark, as the trail tells it
		after         []whistle.State // status and grade after each step, as its event tells them
		steps         int             // trail rows replayed
		raised, ended bool
	}
	ws := map[int64]*hw{}
	rows, err := pool.Query(ctx, `
		SELECT w.id, t.code, coalesce(g.code, ''), c.code, w.status, w.grade, w.raised_at
		FROM whistles w JOIN grids t ON t.id = w.township_id LEFT JOIN grids g ON g.id = w.grid_id JOIN categories c ON c.id = w.category_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		w := &hw{st: &whistle.State{}, leads: map[string]bool{}}
		if err := rows.Scan(&w.st.ID, &w.st.TownshipCode, &w.st.GridCode, &w.category, &w.status, &w.grade, &w.raisedAt); err != nil {
			t.Fatal(err)
		}
		ws[w.st.ID] = w
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	if len(ws) == 0 {
		t.Fatal("no whistles")
	}

	bad := 0
	fail := func(format string, args ...any) {
		t.Helper()
		if bad++; bad <= 20 {
			t.Errorf(format, args...)
		}
	}

	// the events of the whistles' steps, one for each row of the trail, in
	// the same order: each carries the whistle just after its step
	rows, err = pool.Query(ctx, `
		SELECT (payload->'whistle'->>'id')::bigint, at, kind, payload->'whistle'->>'status', payload->'whistle'->>'grade',
			(payload->'whistle'->>'report_in_due')::timestamptz, (payload->'whistle'->>'resolve_due')::timestamptz,
			coalesce(payload->>'to', ''), ARRAY(SELECT jsonb_array_elements_text(payload->'whistle'->'units'))
		FROM events WHERE kind LIKE 'whistle.%' ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	var raises, tightened, kept int
	for rows.Next() {
		var id int64
		var at, ri, rs time.Time
		var kind, to string
		var after whistle.State
		var leads []string
		if err := rows.Scan(&id, &at, &kind, &after.Status, &after.Grade, &ri, &rs, &to, &leads); err != nil {
			t.Fatal(err)
		}
		w := ws[id]
		if w == nil {
			fail("an event of whistle %d, which is not there", id)
			continue
		}
		w.after = append(w.after, after)
		switch kind {
		case "whistle.raised":
			raises++
			grade, p, ok := pol.AtRaise(w.category, "")
			w.st.Grade = grade
			if !ok || !ri.Equal(at.Add(p.ReportIn)) || !rs.Equal(at.Add(p.Resolve)) {
				fail("whistle %d (%s) raised at %v due %v / %v; whistle's policy %v (%v)", id, w.category, at, ri, rs, p, ok)
			}
			for _, l := range leads {
				w.leads[l] = true
			}
		case "whistle.escalated":
			wantRI, wantRS := w.ri, w.rs
			if at.Equal(w.lastOverdue) {
				kept++
			} else {
				tightened++
				wantRI, wantRS = whistle.Tighten(at, w.ri, w.rs, pol.Grades[whistle.Grade(to)])
			}
			if !ri.Equal(wantRI) || !rs.Equal(wantRS) {
				fail("whistle %d escalated to %s at %v: due %v / %v, want %v / %v (from %v / %v)", id, to, at, ri, rs, wantRI, wantRS, w.ri, w.rs)
			}
		case "whistle.overdue":
			w.lastOverdue = at
		}
		w.ri, w.rs = ri, rs
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	if raises != len(ws) || tightened == 0 || kept == 0 {
		t.Errorf("%d raise events for %d whistles, %d tightening escalations, %d that kept the deadlines: want one raise each and some of both",
			raises, len(ws), tightened, kept)
	}

	// the units summoned at each raise; a ruling may add one later
	units := map[string]int64{}
	rows, err = pool.Query(ctx, `
		SELECT s.whistle_id, u.id, u.code FROM summons s JOIN units u ON u.id = s.unit_id JOIN whistles w ON w.id = s.whistle_id
		WHERE s.summoned_at = w.raised_at ORDER BY s.whistle_id, s.role DESC, u.code`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, unit int64
		var code string
		if err := rows.Scan(&id, &unit, &code); err != nil {
			t.Fatal(err)
		}
		units[code] = unit
		if w := ws[id]; w != nil {
			role := "assist"
			if w.leads[code] {
				role = "lead"
			}
			w.st.Summons = append(w.st.Summons, whistle.Summons{UnitID: unit, UnitCode: code, Role: role})
		}
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	rows, err = pool.Query(ctx, `SELECT code, id FROM units`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var code string
		var id int64
		if err := rows.Scan(&code, &id); err != nil {
			t.Fatal(err)
		}
		units[code] = id
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}

	// who acts: the users the demo's trail names
	scope := func(actor string) (access.Scope, bool) {
		switch {
		case actor == "command":
			return access.Scope{Role: access.RoleCommand, Username: actor}, true
		case strings.HasPrefix(actor, "t"):
			return access.Scope{Role: access.RoleTownship, GridCode: actor[1:], Username: actor}, true
		case strings.HasPrefix(actor, "u"):
			id := units[actor[1:]]
			return access.Scope{Role: access.RoleUnit, UnitID: id, UnitCode: actor[1:], Username: actor}, id != 0
		}
		return access.Scope{}, false
	}
	summons := func(st *whistle.State, unit int64) *whistle.Summons {
		for i := range st.Summons {
			if st.Summons[i].UnitID == unit {
				return &st.Summons[i]
			}
		}
		return nil
	}
	steps := map[string]whistle.Step{"report_in": whistle.StepReportIn, "resolve": whistle.StepResolve, "close": whistle.StepClose,
		"return": whistle.StepReturn, "rate": whistle.StepRate, "escalate": whistle.StepEscalate, "consult": whistle.StepConsult,
		"rule": whistle.StepRule, "contest": whistle.StepContest, "callback": whistle.StepCallback, "reopen": whistle.StepReopen}

	// the trail, replayed
	// (a callback's result comes as "to")
	rows, err = pool.Query(ctx, `SELECT whistle_id, at, actor, action, coalesce(unit_id, 0), coalesce(data->>'from', ''), coalesce(data->>'to', data->>'result', '')
		FROM whistle_events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	taken := map[string]int{}
	// replay takes one row of w's trail, or says why whistle's rules do not
	// allow it
	replay := func(w *hw, at time.Time, actor, action string, unit int64, from, to string) string {
		st := w.st
		if !w.raised && action != "raise" {
			return action + " before the raise"
		}
		switch action {
		case "raise":
			if w.raised || !at.Equal(w.raisedAt) {
				return "raised again, or not at raised_at"
			}
			if actor != "system" {
				sc, ok := scope(actor)
				if !ok || whistle.MayRaise(sc) != nil || !sc.Covers(st.GridCode) {
					return "raised by hand by " + actor + ", who may not"
				}
			}
			w.raised = true
			st.Status = whistle.Next(whistle.StepRaise, st, 0)
			taken[action]++
			return ""
		case "overdue":
			w.trailOverdue = at
			return ""
		case "join", "supervise":
			return "" // the system's, with no status of their own
		}
		step, ok := steps[action]
		if !ok {
			return "unknown step " + action
		}
		if action == "escalate" && whistle.Grade(from) != st.Grade {
			return fmt.Sprintf("escalated from %s, but it is %s", from, st.Grade)
		}
		if action == "escalate" && actor == "system" {
			// the sweep's, at an overdue mark; else on repeated clues,
			// which make a routine whistle priority
			want, ok := whistle.OverdueEscalation(st.Grade)
			kind := "escalate by the sweep"
			if !at.Equal(w.trailOverdue) {
				want, ok, kind = whistle.Priority, st.Grade == whistle.Routine, "escalate on repeated clues"
			}
			if !ok || whistle.Grade(to) != want {
				return fmt.Sprintf("the system escalated %s to %s (%s)", from, to, kind)
			}
			st.Grade = whistle.Grade(to)
			taken[kind]++
			return ""
		}
		sc, ok := scope(actor)
		if !ok {
			return fmt.Sprintf("%s by %q, who is nobody", action, actor)
		}
		acting, err := whistle.Authorize(sc, step, st, 0)
		if err != nil {
			return fmt.Sprintf("%s by %s: %v", action, actor, err)
		}
		switch {
		case step == whistle.StepRate || step == whistle.StepRule:
			acting = unit // the unit rated, the unit ruled to lead
		case acting != unit:
			return fmt.Sprintf("%s by %s acts for unit %d, the trail names unit %d", action, actor, acting, unit)
		}
		arg := ""
		if step == whistle.StepEscalate {
			arg = to
		}
		if err := whistle.Allowed(step, st, acting, arg); err != nil {
			return fmt.Sprintf("%s by %s at %v, from %s: %v", action, actor, at, st.Status, err)
		}
		if step == whistle.StepReopen {
			if err := whistle.MayReopen(st, at); err != nil {
				return fmt.Sprintf("reopen by %s at %v: %v", actor, at, err)
			}
		}
		next := whistle.Next(step, st, acting)
		switch step {
		case whistle.StepReportIn:
			summons(st, acting).ReportedIn = true
		case whistle.StepResolve:
			summons(st, acting).Resolved = true
		case whistle.StepReturn:
			for i := range st.Summons {
				if st.Summons[i].Role == "lead" {
					st.Summons[i].Resolved = false
				}
			}
		case whistle.StepRate:
			summons(st, acting).Rated = true
		case whistle.StepEscalate:
			st.Grade = whistle.Grade(to)
		case whistle.StepRule:
			for i := range st.Summons {
				if st.Summons[i].Role == "lead" && st.Summons[i].UnitID != acting {
					st.Summons[i].Role = "assist"
				}
			}
			if s := summons(st, acting); s != nil {
				s.Role = "lead"
			} else {
				st.Summons = append(st.Summons, whistle.Summons{UnitID: acting, Role: "lead"})
			}
			st.RuledUnitID, st.Contested = acting, false
		case whistle.StepContest:
			st.Contested = true
		case whistle.StepCallback:
			st.LastCallback, st.LastCallbackAt = whistle.CallbackResult(to), at
		case whistle.StepReopen:
			for i := range st.Summons {
				if st.Summons[i].Role == "lead" {
					st.Summons[i].Resolved = false
				}
			}
		}
		st.Status = next
		taken[action]++
		return ""
	}
	for rows.Next() {
		var id, unit int64
		var at time.Time
		var actor, action, from, to string
		if err := rows.Scan(&id, &at, &actor, &action, &unit, &from, &to); err != nil {
			t.Fatal(err)
		}
		w := ws[id]
		if w == nil {
			fail("a trail row of whistle %d, which is not there", id)
			continue
		}
		if w.ended {
			continue // already failed
		}
		if why := replay(w, at, actor, action, unit, from, to); why != "" {
			fail("whistle %d, step %d: %s", id, w.steps, why)
			w.ended = true
			continue
		}
		// the status and grade the step led to, as the demo wrote them
		if w.steps >= len(w.after) {
			fail("whistle %d: step %d (%s) has no event", id, w.steps, action)
			w.ended = true
			continue
		}
		if a := w.after[w.steps]; a.Status != w.st.Status || a.Grade != w.st.Grade {
			fail("whistle %d, step %d (%s by %s at %v): the demo wrote %s and %s, whistle's rules lead to %s and %s",
				id, w.steps, action, actor, at, a.Status, a.Grade, w.st.Status, w.st.Grade)
			w.ended = true
		}
		w.steps++
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	for id, w := range ws {
		if !w.ended && (w.st.Status != w.status || w.st.Grade != w.grade) {
			fail("whistle %d: the trail replayed by whistle's rules ends %s and %s, the whistle is %s and %s", id, w.st.Status, w.st.Grade, w.status, w.grade)
		}
	}
	for _, a := range []string{"raise", "report_in", "resolve", "close", "return", "rate", "escalate", "consult", "rule", "contest", "escalate by the sweep", "escalate on repeated clues", "callback", "reopen"} {
		if taken[a] == 0 {
			t.Errorf("no %s replayed", a)
		}
	}
	if bad > 20 {
		t.Errorf("… and %d more", bad-20)
	}
	t.Logf("replayed %v on %d whistles; %d raises, %d escalations that tightened the deadlines, %d that kept them", taken, len(ws), raises, tightened, kept)
}

package whistle_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"whistlegrid/access"
	"whistlegrid/whistle"
)

// The deadlines the store writes are whistle.Policies' and whistle.Tighten's,
// read from the same grade_policies and categories: at a raise by hand (at
// the category's grade and at another), at an automatic raise and after an
// escalation on repeated clues (both run by whistle_intake_batch in PostgreSQL,
// which must agree), and after an escalation by hand.
func TestDeadlinesFollowPolicies(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	pool := f.env.Pool
	pol, err := whistle.LoadPolicies(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(pol.Grades) != 3 || len(pol.Categories) < 100 {
		t.Fatalf("policies: %d grades, %d categories", len(pol.Grades), len(pol.Categories))
	}
	// a clock in the future of the server's own sweeps: they leave these
	// whistles alone
	t0 := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	now := t0
	st := whistle.NewStore(pool, f.env.Placer, whistle.Options{Now: func() time.Time { return now }})
	var townID int64
	if err := pool.QueryRow(ctx, `SELECT id FROM users WHERE username = $1`, "t"+kangzhuang).Scan(&townID); err != nil {
		t.Fatal(err)
	}
	town := access.Scope{Role: access.RoleTownship, GridCode: kangzhuang, Username: "t" + kangzhuang, UserID: townID}
	n := 0
	clue := func(cat string, dLon float64) whistle.IntakeResult {
		t.Helper()
		n++
		lon, lat := f.lon+dLon, f.lat
		r, err := st.Intake(ctx, town, whistle.ClueInput{Source: "patrol", ExternalID: fmt.Sprintf("deadline-%d", n), Category: cat, Text: "x",
			Lon: &lon, Lat: &lat, ReportedAt: now.Format(time.RFC3339Nano)})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	dues := func(id int64) (grade whistle.Grade, ri, rs time.Time) {
		t.Helper()
		if err := pool.QueryRow(ctx, `SELECT grade, report_in_due, resolve_due FROM whistles WHERE id = $1`, id).Scan(&grade, &ri, &rs); err != nil {
			t.Fatal(err)
		}
		return grade, ri, rs
	}
	check := func(what string, id int64, wantGrade whistle.Grade, wantRI, wantRS time.Time) {
		t.Helper()
		g, ri, rs := dues(id)
		if g != wantGrade || !ri.Equal(wantRI) || !rs.Equal(wantRS) {
			t.Errorf("%s: %s due %v / %v, want %s due %v / %v", what, g, ri, rs, wantGrade, wantRI, wantRS)
		}
	}

	// raised by whistle_intake_batch at the category's grade
	r := clue(category, 0)
	if r.Whistle == nil {
		t.Fatalf("no whistle raised: %+v", r)
	}
	id := r.Whistle.ID
	g, p, _ := pol.AtRaise(category, "")
	check("raised by intake", id, g, t0.Add(p.ReportIn), t0.Add(p.Resolve))

	// repeated clues: joined, then escalated by whistle_intake_batch
	now = t0.Add(10 * time.Minute)
	clue(category, 0.00001)
	now = t0.Add(time.Hour)
	clue(category, -0.00001)
	_, ri0, rs0 := dues(id)
	if g != whistle.Routine {
		t.Fatalf("%s is %s; the test wants a routine category", category, g)
	}
	wantRI, wantRS := whistle.Tighten(now, t0.Add(p.ReportIn), t0.Add(p.Resolve), pol.Grades[whistle.Priority])
	check("escalated by intake on the third clue", id, whistle.Priority, wantRI, wantRS)
	if wantRI.Equal(t0.Add(p.ReportIn)) {
		t.Errorf("the test's escalation moved no deadline")
	}

	// escalated by hand
	now = t0.Add(90 * time.Minute)
	if _, err := st.Act(ctx, town, id, whistle.StepEscalate, whistle.StepInput{Grade: "hard", Reason: "反复出现"}); err != nil {
		t.Fatal(err)
	}
	wantRI, wantRS = whistle.Tighten(now, ri0, rs0, pol.Grades[whistle.Hard])
	check("escalated by hand", id, whistle.Hard, wantRI, wantRS)

	// raised by hand from clues that stayed in the village (the default
	// rule), at the category's grade and at hard, 400 m apart: the second
	// does not join the first
	for i, grade := range []whistle.Grade{"", whistle.Hard} {
		now = now.Add(time.Minute)
		c := clue("CM.01.02", 0.0001+0.005*float64(i))
		if c.Whistle != nil {
			t.Fatalf("a CM.01.02 clue raised whistle %d", c.Whistle.ID)
		}
		d, err := st.Raise(ctx, town, whistle.RaiseInput{ClueIDs: []int64{c.Clue.ID}, Grade: string(grade)})
		if err != nil {
			t.Fatal(err)
		}
		g, p, ok := pol.AtRaise("CM.01.02", grade)
		if !ok || d.Status != whistle.Raised {
			t.Fatalf("raised by hand at %q: %s, policy %v", grade, d.Status, ok)
		}
		check(fmt.Sprintf("raised by hand at %q", grade), d.ID, g, now.Add(p.ReportIn), now.Add(p.Resolve))
	}
}

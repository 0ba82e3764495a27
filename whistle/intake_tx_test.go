package whistle_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"whistlegrid/access"
	"whistlegrid/whistle"
)

// The risk rules are held in memory by each store (each server instance)
// and a change made through another store reaches it at its next clue; a
// flagged clue is stored, flagged and announced in ONE transaction; and an
// intake's events are notified after its commit, so the live stream learns
// of them without waiting for its poll.
func TestIntakeRiskInOneTransactionAndNotified(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	a := whistle.NewStore(f.env.Pool, f.env.Placer, whistle.Options{})
	b := whistle.NewStore(f.env.Pool, f.env.Placer, whistle.Options{})
	command := access.Scope{Role: access.RoleCommand, Username: "command"}

	listen, err := f.env.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer listen.Release()
	if _, err := listen.Exec(ctx, "LISTEN whistlegrid_events"); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = listen.Exec(context.Background(), "UNLISTEN *") }()

	intake := func(st *whistle.Store, text string) whistle.IntakeResult {
		t.Helper()
		f.n++
		lon, lat := f.lon, f.lat
		r, err := st.Intake(ctx, command, whistle.ClueInput{Source: "patrol", ExternalID: fmt.Sprintf("tx-%d-%d", time.Now().UnixNano(), f.n),
			Category: category, Text: text, Lon: &lon, Lat: &lat, ReportedAt: time.Now().Format(time.RFC3339)})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// store a reads (and keeps) the rules as they are: nothing flags 井盖丢失
	rules, err := a.RiskRulesOf(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rules.PlaceClues = 0
	if _, err := a.PutRiskRules(ctx, command, rules); err != nil {
		t.Fatal(err)
	}
	if r := intake(a, "井盖丢失"); r.Clue.Risk != nil {
		t.Fatalf("flagged before the rule: %+v", r.Clue.Risk)
	}
	// the intake's events are notified, with the highest seq it wrote
	var top int64
	if err := f.env.Pool.QueryRow(ctx, `SELECT max(seq) FROM events`).Scan(&top); err != nil {
		t.Fatal(err)
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		n, err := listen.Conn().WaitForNotification(wctx)
		cancel()
		if err != nil {
			t.Fatalf("no notification of the intake's events: %v", err)
		}
		if s, _ := strconv.ParseInt(n.Payload, 10, 64); s >= top {
			break
		}
	}

	// another instance changes the rules; a's next clue is judged by them
	rules.Keywords = append(rules.Keywords, "井盖丢失")
	if _, err := b.PutRiskRules(ctx, command, rules); err != nil {
		t.Fatal(err)
	}
	r := intake(a, "路口井盖丢失")
	if r.Clue.Risk == nil || len(r.Clue.Risk.Reasons) != 1 || r.Clue.Risk.Reasons[0] != "关键词：井盖丢失" {
		t.Fatalf("the changed rules did not reach the other store: %+v", r.Clue.Risk)
	}
	if r.Whistle == nil || r.Whistle.Grade != "priority" {
		t.Fatalf("the flagged clue's whistle: %+v", r.Whistle)
	}
	// the clue, its flag, and its clue.received and clue.risk events: one transaction
	var same bool
	var kinds int
	err = f.env.Pool.QueryRow(ctx, `SELECT bool_and(e.xmin::text = c.xmin::text AND c.risk IS NOT NULL), count(DISTINCT e.kind)
		FROM clues c JOIN events e ON e.kind IN ('clue.received', 'clue.risk')
			AND coalesce((e.payload->'clue'->>'id')::bigint, (e.payload->>'clue_id')::bigint) = c.id
		WHERE c.id = $1`, r.Clue.ID).Scan(&same, &kinds)
	if err != nil {
		t.Fatal(err)
	}
	if !same || kinds != 2 {
		t.Errorf("clue %d: flag and events in one transaction %v, %d kinds of event (want 2)", r.Clue.ID, same, kinds)
	}
}

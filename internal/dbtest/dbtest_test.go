package dbtest_test

import (
	"context"
	"testing"

	"whistlegrid/internal/dbtest"
)

func TestNewIsMigratedAndPrivate(t *testing.T) {
	a := dbtest.New(t)
	b := dbtest.New(t)
	ctx := context.Background()
	var postgis string
	if err := a.QueryRow(ctx, `SELECT postgis_lib_version()`).Scan(&postgis); err != nil {
		t.Fatalf("postgis: %v", err)
	}
	if postgis[0] != '3' {
		t.Errorf("postgis %s, want 3.x", postgis)
	}
	if _, err := a.Exec(ctx, `INSERT INTO events (kind, payload) VALUES ('test.ping', '{}')`); err != nil {
		t.Fatalf("insert: %v", err)
	}
	var na, nb int
	if err := a.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&na); err != nil {
		t.Fatal(err)
	}
	if err := b.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&nb); err != nil {
		t.Fatal(err)
	}
	if na != 1 || nb != 0 {
		t.Errorf("events: a=%d b=%d, want 1 and 0 (databases must be separate)", na, nb)
	}
}

package keyset_test

import (
	"context"
	"testing"

	"whistlegrid/internal/dbtest"
	"whistlegrid/keyset"
)

// TestCount: a wide filter gets the planner's estimate, labelled as one;
// a selective one is counted exactly.
func TestCount(t *testing.T) {
	pool := dbtest.New(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE rows AS SELECT g AS id, g % 10 AS k FROM generate_series(1, 50000) g;
		CREATE INDEX ON rows (k); ANALYZE rows`); err != nil {
		t.Fatal(err)
	}
	wide, err := keyset.Count(ctx, pool, `FROM rows WHERE id > $1`, []any{0})
	if err != nil || wide.Exact || wide.N < 40_000 || wide.N > 60_000 {
		t.Errorf("wide: %+v %v, want an estimate near 50,000", wide, err)
	}
	narrow, err := keyset.Count(ctx, pool, `FROM rows WHERE k = $1 AND id <= $2`, []any{3, 20_000})
	if err != nil || !narrow.Exact || narrow.N != 2000 {
		t.Errorf("narrow: %+v %v, want exactly 2,000", narrow, err)
	}
}

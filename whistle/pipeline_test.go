package whistle

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"whistlegrid/internal/dbtest"
)

// sendTwo sends b1 and b2 on a pipeline, b2 right behind b1, and answers
// their results, to be read in that order.
func sendTwo(t *testing.T, conn *pgx.Conn, b1, b2 *pgx.Batch) (pgx.BatchResults, pgx.BatchResults) {
	t.Helper()
	p, err := startPipeline(context.Background(), conn, b1, b2)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []*pgx.Batch{b1, b2} {
		if err := p.send(b); err != nil {
			t.Fatal(err)
		}
	}
	return p.results(b1), p.results(b2)
}

// Batches sent one behind the other on a pipeline are answered each in
// its own right: values of every type come back as the statement that
// asked for them encoded them (the result formats of a batch are not
// those of the batch sent after it), an error skips only the rest of its
// own batch, callbacks see the error, and the connection is usable again
// once the last batch is read.
func TestPipelineBatches(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	pc, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Release()
	conn := pc.Conn()

	// 1. two batches of different result types, the first read after the
	// second is sent
	var n int32
	var at time.Time
	var ids []int64
	b1 := &pgx.Batch{}
	b1.Queue(`SELECT $1::int4 + 1, now(), ARRAY[7, 8]::bigint[]`, int32(41)).QueryRow(func(r pgx.Row) error {
		return r.Scan(&n, &at, &ids)
	})
	var s string
	var f float64
	b2 := &pgx.Batch{}
	b2.Queue(`SELECT $1::text || '乙', 1.5::float8`, "甲").QueryRow(func(r pgx.Row) error {
		return r.Scan(&s, &f)
	})
	r1, r2 := sendTwo(t, conn, b1, b2)
	if err := r1.Close(); err != nil {
		t.Fatalf("first batch: %v", err)
	}
	if n != 42 || at.IsZero() || !slices.Equal(ids, []int64{7, 8}) {
		t.Errorf("first batch read %d, %v, %v", n, at, ids)
	}
	if err := r2.Close(); err != nil {
		t.Fatalf("second batch: %v", err)
	}
	if s != "甲乙" || f != 1.5 {
		t.Errorf("second batch read %q, %v", s, f)
	}
	if _, err := conn.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatalf("the connection after the pipeline: %v", err)
	}

	// 2. an error skips the rest of its batch only: the failing statement's
	// callback sees it in its rows and, as in pgx's batches, a callback
	// queued after it is not called
	b1, b2 = &pgx.Batch{}, &pgx.Batch{}
	var sawErr error
	b1.Queue(`SELECT 1 / $1::int`, 0).Query(func(rows pgx.Rows) error {
		sawErr = rows.Err()
		return nil
	})
	called := false
	b1.Queue(`SELECT 2`).Query(func(rows pgx.Rows) error {
		called = true
		return nil
	})
	b2.Queue(`SELECT 3`).QueryRow(func(r pgx.Row) error { return r.Scan(&n) })
	r1, r2 = sendTwo(t, conn, b1, b2)
	var pe *pgconn.PgError
	if err := r1.Close(); !errors.As(err, &pe) || pe.Code != "22012" {
		t.Errorf("first batch: %v, want division_by_zero", err)
	}
	if !errors.As(sawErr, &pe) || pe.Code != "22012" {
		t.Errorf("the failing statement's callback saw %v", sawErr)
	}
	if called {
		t.Error("the callback after the error was called")
	}
	if err := r2.Close(); err != nil || n != 3 {
		t.Errorf("second batch: %v, read %d; want 3", err, n)
	}

	// 3. a batch behind a transaction that failed fails in it, and the
	// transaction is then rolled back as usual (the lane's commitChained)
	b1, b2 = &pgx.Batch{}, &pgx.Batch{}
	b1.Queue("BEGIN")
	b1.Queue(`SELECT 1 / $1::int`, 0)
	b1.Queue("COMMIT")
	b2.Queue("BEGIN")
	b2.Queue(`SELECT 4`)
	r1, r2 = sendTwo(t, conn, b1, b2)
	if err := r1.Close(); !errors.As(err, &pe) || pe.Code != "22012" {
		t.Errorf("first batch: %v, want division_by_zero", err)
	}
	if err := r2.Close(); !errors.As(err, &pe) || pe.Code != "25P02" {
		t.Errorf("second batch: %v, want in_failed_sql_transaction", err)
	}
	if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil || conn.PgConn().TxStatus() != 'I' {
		t.Errorf("rollback: %v, status %c", err, conn.PgConn().TxStatus())
	}
}

package outbox_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"whistlegrid/internal/dbtest"
	"whistlegrid/internal/outbox"
)

// Events written with AfterCommit are not notified by the trigger; Notify
// announces them after the commit, and notifications asked for while one
// is being sent are folded into one carrying the highest seq.
func TestNotifierAnnouncesTheHighestSeq(t *testing.T) {
	pool := dbtest.New(t)
	ctx := context.Background()
	listen, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer listen.Release()
	if _, err := listen.Exec(ctx, "LISTEN "+outbox.Channel); err != nil {
		t.Fatal(err)
	}
	write := func(afterCommit bool) int64 {
		t.Helper()
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tx.Rollback(ctx) }()
		if afterCommit {
			if _, err := tx.Exec(ctx, outbox.AfterCommit); err != nil {
				t.Fatal(err)
			}
		}
		var seq int64
		if err := tx.QueryRow(ctx, `INSERT INTO events (kind, payload) VALUES ('test.event', '{}') RETURNING seq`).Scan(&seq); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		return seq
	}
	// unnotified by the trigger: the first notification is the next
	// event's, written without AfterCommit
	first := write(true)
	plain := write(false)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	n, err := listen.Conn().WaitForNotification(wctx)
	cancel()
	if err != nil {
		t.Fatalf("the trigger did not notify: %v", err)
	}
	if n.Payload != strconv.FormatInt(plain, 10) {
		t.Fatalf("first notification %q, want the plain event's seq %d (the after_commit one was %d)", n.Payload, plain, first)
	}
	var nt outbox.Notifier
	var top int64
	for range 20 {
		top = write(true)
		nt.Notify(pool, top)
	}
	if top <= plain {
		t.Fatalf("seqs did not grow: %d after %d", top, plain)
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		n, err := listen.Conn().WaitForNotification(wctx)
		cancel()
		if err != nil {
			t.Fatalf("no notification of seq %d: %v", top, err)
		}
		s, err := strconv.ParseInt(n.Payload, 10, 64)
		if err != nil || s > top {
			t.Fatalf("notified %q, past the highest seq written %d", n.Payload, top)
		}
		if s == top {
			break
		}
	}
}

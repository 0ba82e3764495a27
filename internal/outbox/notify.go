// Package outbox notifies the live stream of events rows written without
// the events trigger's notification (whistlegrid.notify = after_commit,
// migrations/00020_intake_notify_after_commit.sql), once their commit is
// durable.
//
// PostgreSQL serialises every commit that carries a NOTIFY on one lock,
// held until the commit's WAL is flushed: on a durable cluster notifying
// transactions cannot share a WAL flush, and at a few hundred commits a
// second they queue behind each other. Writers of many events (clue
// intake, bench live's producers) therefore write them unnotified and
// call Notifier.Notify after the commit: one notification at a time, in a
// transaction of its own that writes no data, carrying the highest seq
// known then.
package outbox

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Channel is the channel the events trigger notifies (live.Channel).
const Channel = "whistlegrid_events"

// AfterCommit is the SQL that makes the events written in the current
// transaction go unnotified by the trigger: the caller notifies them with
// Notifier.Notify once the commit returns.
const AfterCommit = `SELECT set_config('whistlegrid.notify', 'after_commit', true)`

// Notifier notifies Channel of events committed unnotified, one
// notification at a time, each carrying the highest seq known then:
// notifications that would queue behind the one being sent are folded into
// the next. The zero value is ready to use.
type Notifier struct {
	top     atomic.Int64 // the highest seq committed
	sending atomic.Bool  // a goroutine is sending
}

// Notify makes sure a notification carrying at least seq top goes out
// through pool; it does not wait for it. A top of 0 is nothing to notify.
func (n *Notifier) Notify(pool *pgxpool.Pool, top int64) {
	if top == 0 {
		return
	}
	for {
		cur := n.top.Load()
		if top <= cur || n.top.CompareAndSwap(cur, top) {
			break
		}
	}
	if !n.sending.CompareAndSwap(false, true) {
		return // the sender sees the new top when it is done
	}
	go func() {
		for {
			top := n.top.Load()
			send(pool, top)
			n.sending.Store(false)
			if n.top.Load() == top || !n.sending.CompareAndSwap(false, true) {
				return
			}
		}
	}()
}

// send notifies Channel of seq top, in a transaction of its own that
// writes no data: it need not wait for a WAL flush (the events it
// announces are durable already). A notification that fails is lost: the
// hubs poll as well (live.Options.Poll).
func send(pool *pgxpool.Pool, top int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue("SET LOCAL synchronous_commit = off")
	b.Queue("SELECT pg_notify($1, $2)", Channel, strconv.FormatInt(top, 10))
	b.Queue("COMMIT")
	_ = pool.SendBatch(ctx, b).Close()
}

package live

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// querier is what the reads need of a connection: the hub's own listening
// connection or the pool.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// readEvents reads outbox rows with lo < seq <= hi in seq order, with the
// jurisdiction keys of each (Visible): the grid code of the event's whistle
// or clue, the payload's unit code, the grid of the payload's clue (whose
// reporter it may carry), and the units summoned to its whistle.
// The last column is the server's clock after the snapshot was taken, for
// the gap rule (hub.catchUp).
const readEvents = `
SELECT e.seq, e.at, e.kind, coalesce(e.township, ''), e.payload::text,
	coalesce(nullif(e.payload #>> '{whistle,grid}', ''), gw.code, gc.code, ''),
	coalesce(e.payload #>> '{unit,code}', ''),
	coalesce(e.payload #>> '{clue,grid}', ''),
	ARRAY(SELECT s.unit_id FROM summons s WHERE s.whistle_id = coalesce(w.id, c.whistle_id) ORDER BY s.unit_id),
	clock_timestamp()
FROM events e
LEFT JOIN whistles w ON w.id = CASE WHEN e.payload #>> '{whistle,id}' ~ '^[0-9]{1,18}$' THEN (e.payload #>> '{whistle,id}')::bigint END
LEFT JOIN grids gw ON gw.id = w.grid_id
LEFT JOIN clues c ON c.id = CASE WHEN e.payload #>> '{clue,id}' ~ '^[0-9]{1,18}$' THEN (e.payload #>> '{clue,id}')::bigint END
LEFT JOIN grids gc ON gc.id = c.grid_id
WHERE e.seq > $1 AND e.seq <= $2
ORDER BY e.seq
LIMIT $3`

// read returns up to limit events with lo < seq <= hi, and the server time
// of the read.
func read(ctx context.Context, q querier, lo, hi int64, limit int) ([]*Event, time.Time, error) {
	rows, err := q.Query(ctx, readEvents, lo, hi, limit)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("live: read events: %w", err)
	}
	defer rows.Close()
	var out []*Event
	var now time.Time
	for rows.Next() {
		e := &Event{}
		var payload string
		if err := rows.Scan(&e.Seq, &e.At, &e.Kind, &e.Township, &payload, &e.grid, &e.unitCode, &e.reporterGrid, &e.units, &now); err != nil {
			return nil, time.Time{}, fmt.Errorf("live: read events: %w", err)
		}
		e.Payload = json.RawMessage(payload)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, fmt.Errorf("live: read events: %w", err)
	}
	return out, now, nil
}

// maxSeq is the highest seq in the outbox, 0 when it is empty.
const maxSeq = `SELECT coalesce(max(seq), 0) FROM events`

// bounds are the oldest seq still in the outbox (0 when it is empty) and
// the last value the seq sequence handed out (0 when none).
const bounds = `
SELECT coalesce((SELECT min(seq) FROM events), 0),
	coalesce(pg_sequence_last_value(pg_get_serial_sequence('events', 'seq')::regclass), 0)`

// oldTransactions tells whether a transaction that began at or before $1
// and may write is still open in this database. A missing seq below a seq
// already read was taken by such a transaction: nextval runs inside it
// before the later row was taken and committed. Once none is open, the
// missing seq will never appear. "May write": it has a transaction id, or
// a statement running (an INSERT between its nextval and its first row has
// no id yet); read-only transactions idling are not counted, so a long
// report does not hold the stream. Sessions of other roles, whose
// xact_start is hidden, are not counted: they do not write the outbox.
const oldTransactions = `
SELECT EXISTS (
	SELECT 1 FROM pg_stat_activity
	WHERE datname = current_database() AND pid <> pg_backend_pid()
	  AND backend_type = 'client backend' AND xact_start <= $1
	  AND (backend_xid IS NOT NULL OR state = 'active'))`

// prune deletes outbox rows older than the retention; see Options.Retention.
const prune = `DELETE FROM events WHERE at < now() - $1::interval`

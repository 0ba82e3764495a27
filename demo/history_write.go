package demo

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"

	"whistlegrid/whistle"
)

// ewkbPoint is p as PostGIS's binary input takes it: little-endian EWKB
// with SRID 4326.
func ewkbPoint(p orb.Point) []byte {
	b := make([]byte, 25)
	b[0] = 1
	binary.LittleEndian.PutUint32(b[1:], 0x20000001)
	binary.LittleEndian.PutUint32(b[5:], 4326)
	binary.LittleEndian.PutUint64(b[9:], math.Float64bits(p[0]))
	binary.LittleEndian.PutUint64(b[17:], math.Float64bits(p[1]))
	return b
}

// copyRows feeds CopyFrom n rows made on demand by row, so encoding runs
// alongside the server's work.
type copyRows struct {
	n, i int
	row  func(i int) ([]any, error)
}

func (c *copyRows) Next() bool { c.i++; return c.i <= c.n }

func (c *copyRows) Values() ([]any, error) { return c.row(c.i - 1) }

func (c *copyRows) Err() error { return nil }

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullRating(r int, rated time.Time) any {
	if rated.IsZero() {
		return nil
	}
	return int16(r)
}

// historyTables are the tables the history writes, parents first.
var historyTables = []string{"whistles", "clues", "summons", "whistle_events", "supervision_notices", "events"}

// write stores the simulated year in one transaction, with COPY. For
// speed the secondary indexes are dropped first and built again at the end
// (set-based, as CREATE INDEX does), and where the role may (a superuser,
// as in the private cluster) triggers are off while the rows go in: the
// row-by-row foreign-key checks are replaced by one anti-join per foreign
// key at the end, and the outbox trigger that notifies listeners row by row
// by one notification with the last seq. CHECK, NOT NULL and UNIQUE
// constraints are enforced as always.
func (s *sim) write(ctx context.Context, pool *pgxpool.Pool) error {
	if !sort.SliceIsSorted(s.events, func(i, j int) bool { return s.events[i].at.Before(s.events[j].at) }) {
		sort.SliceStable(s.events, func(i, j int) bool { return s.events[i].at.Before(s.events[j].at) })
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("demo: history: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // no-op after Commit
	if _, err := tx.Exec(ctx, `LOCK TABLE clues, whistles IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("demo: history: %w", err)
	}
	// the hotline's clues are in already, from the import; nothing else
	var empty bool
	var hotline int
	if err := tx.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM clues WHERE source <> 'hotline') AND NOT EXISTS (SELECT 1 FROM whistles),
		(SELECT count(*) FROM clues WHERE source = 'hotline')`).Scan(&empty, &hotline); err != nil {
		return fmt.Errorf("demo: history: %w", err)
	}
	if !empty {
		return ErrHistoryNotEmpty
	}
	var own, hot []int // the clues to write, and the hotline's (imported)
	for i, d := range s.clues {
		if d.source == srcHotline {
			hot = append(hot, i)
		} else {
			own = append(own, i)
		}
	}
	if hotline != len(hot) {
		return fmt.Errorf("demo: history: %d hotline clues imported, %d simulated", hotline, len(hot))
	}
	ectx, cancel := context.WithCancel(ctx)
	defer cancel()
	enc := s.encode(ectx)
	fast, err := bulkMode(ctx, tx)
	if err != nil {
		return err
	}
	indexes, err := dropIndexes(ctx, tx, historyTables)
	if err != nil {
		return err
	}
	steps := []struct {
		table string
		cols  []string
		n     int
		row   func(i int) ([]any, error)
	}{
		{"whistles", []string{"id", "township_id", "grid_id", "category_id", "grade", "status", "location", "note", "raised_by", "raised_at",
			"report_in_due", "resolve_due", "closed_at", "outcome", "report_in_overdue_at", "resolve_overdue_at", "clue_count", "escalations",
			"ruled_unit_id", "ruled_at", "contested_at", "consultations", "returns", "updated_at"}, len(s.whistles), s.whistleRow},
		{"clues", []string{"id", "source", "external_id", "category_id", "text", "received_lon", "received_lat", "datum", "location", "h3",
			"grid_id", "township_id", "boundary_distance_m", "near_edge", "reported_at", "received_at", "reporter_name", "reporter_phone", "whistle_id"},
			len(own), func(k int) ([]any, error) { return s.clueRow(own[k]) }},
		{"summons", []string{"whistle_id", "unit_id", "role", "summoned_at", "reported_in_at", "person", "phone", "resolved_at", "outcome",
			"rating_reported_in", "rating_resolved", "rating_satisfied", "rated_at", "report_in_overdue_at", "resolve_overdue_at"}, 0, nil},
		{"whistle_events", []string{"id", "whistle_id", "at", "actor_id", "actor", "action", "unit_id", "note", "data"}, len(s.trail), s.trailRow(enc)},
		{"supervision_notices", []string{"id", "whistle_id", "unit_id", "kind", "at", "note"}, len(s.notices), s.noticeRow},
		{"events", []string{"seq", "at", "kind", "township", "payload"}, len(s.events), s.eventRow(enc)},
		{"whistle_callbacks", []string{"whistle_id", "at", "actor_id", "actor", "result", "note"}, len(s.callbacks), func(i int) ([]any, error) {
			c := s.callbacks[i]
			return []any{c.whistle, c.at, nullID(c.actorID), c.actor, c.result, c.note}, nil
		}},
	}
	summons := s.summonsRows()
	steps[2].n, steps[2].row = len(summons), func(i int) ([]any, error) { return summons[i], nil }
	for _, st := range steps {
		if st.n == 0 {
			continue
		}
		t := time.Now()
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{st.table}, st.cols, &copyRows{n: st.n, row: st.row}); err != nil {
			return fmt.Errorf("demo: history: %s: %w", st.table, err)
		}
		s.log.Info("demo: history: written", "table", st.table, "rows", st.n, "took", time.Since(t).Round(time.Millisecond))
		if st.table == "clues" {
			if err := s.linkHotline(ctx, tx, hot); err != nil {
				return err
			}
		}
	}
	t := time.Now()
	for _, def := range indexes {
		if _, err := tx.Exec(ctx, def); err != nil {
			return fmt.Errorf("demo: history: index: %w", err)
		}
	}
	s.log.Info("demo: history: indexes built", "indexes", len(indexes), "took", time.Since(t).Round(time.Millisecond))
	if fast {
		t := time.Now()
		if err := checkForeignKeys(ctx, tx, historyTables); err != nil {
			return err
		}
		s.log.Info("demo: history: foreign keys checked", "took", time.Since(t).Round(time.Millisecond))
		if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = origin`); err != nil {
			return fmt.Errorf("demo: history: %w", err)
		}
	}
	for _, q := range []string{
		`SELECT setval(pg_get_serial_sequence('clues', 'id'), (SELECT max(id) FROM clues))`,
		`SELECT setval(pg_get_serial_sequence('whistles', 'id'), (SELECT max(id) FROM whistles))`,
		`SELECT setval(pg_get_serial_sequence('whistle_events', 'id'), (SELECT max(id) FROM whistle_events))`,
		`SELECT setval(pg_get_serial_sequence('supervision_notices', 'id'), (SELECT max(id) FROM supervision_notices))`,
		`SELECT setval(pg_get_serial_sequence('events', 'seq'), (SELECT max(seq) FROM events))`,
		`SELECT pg_notify('whistlegrid_events', (SELECT max(seq) FROM events)::text)`,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("demo: history: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("demo: history: commit: %w", err)
	}
	return nil
}

func (s *sim) whistleRow(i int) ([]any, error) {
	w := s.whistles[i]
	var ruled any
	if w.ruled != nil {
		ruled = w.ruled.id
	}
	var outcome any
	if w.outcome != "" {
		outcome = string(w.outcome)
	}
	return []any{w.id, w.town.id, w.gridID, w.cat.id, string(w.grade), string(w.status), ewkbPoint(w.loc), s.clueNote(w.note, w.noteClue), nullID(w.raisedBy), w.raisedAt,
		w.reportInDue, w.resolveDue, nullTime(w.closedAt), outcome, nullTime(w.riOverdue), nullTime(w.rsOverdue), int32(w.clueCount), int32(w.escalations),
		ruled, nullTime(w.ruledAt), nullTime(w.contestedAt), int32(w.consultations), int32(w.returns), w.updatedAt}, nil
}

// linkHotline puts the imported hotline clues (hot, by clue index) in
// the whistles the simulation joined them to, and gives each the instant
// the platform received it in the simulated year (the import writes the
// instant of the import: a history import has no other).
func (s *sim) linkHotline(ctx context.Context, tx pgx.Tx, hot []int) error {
	ids, whistles, received := make([]int64, len(hot)), make([]*int64, len(hot)), make([]time.Time, len(hot))
	for k, i := range hot {
		ids[k], received[k] = s.ids[i], s.clues[i].received
		if w := s.clueWh[i]; w != nil {
			whistles[k] = &w.id
		}
	}
	tag, err := tx.Exec(ctx, linkHotline, ids, whistles, received)
	if err != nil {
		return fmt.Errorf("demo: history: hotline clues: %w", err)
	}
	if tag.RowsAffected() != int64(len(hot)) {
		return fmt.Errorf("demo: history: hotline clues: %d of %d updated", tag.RowsAffected(), len(hot))
	}
	return nil
}

const linkHotline = `
UPDATE clues c SET whistle_id = x.whistle_id, received_at = x.received_at
FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[]) AS x(id, whistle_id, received_at)
WHERE c.id = x.id AND c.source = 'hotline'`

func (s *sim) clueRow(i int) ([]any, error) {
	d := s.clues[i]
	var wid any
	if w := s.clueWh[i]; w != nil {
		wid = w.id
	}
	return []any{s.ids[i], sourceNames[d.source], d.ext, d.cat.id, d.text, d.recv[0], d.recv[1], string(d.datum), ewkbPoint(d.wgs), d.h3,
		d.pl.Chain[0].ID, linkAt(d.pl.Chain, "township").ID, d.pl.EdgeDistanceM, d.pl.NearEdge, d.reported, d.received,
		nullString(d.name), nullString(d.phone), wid}, nil
}

func (s *sim) summonsRows() [][]any {
	var out [][]any
	for _, w := range s.whistles {
		for _, x := range w.summons {
			var outcome any
			if x.outcome != "" {
				outcome = string(x.outcome)
			}
			out = append(out, []any{w.id, x.u.id, x.role, x.summonedAt, nullTime(x.reportedAt), nullString(x.person), nullString(x.phone),
				nullTime(x.resolvedAt), outcome, nullRating(x.rating[0], x.ratedAt), nullRating(x.rating[1], x.ratedAt),
				nullRating(x.rating[2], x.ratedAt), nullTime(x.ratedAt), nullTime(x.riOverdue), nullTime(x.rsOverdue)})
		}
	}
	return out
}

func (s *sim) trailRow(enc *encoded) func(i int) ([]any, error) {
	return func(i int) ([]any, error) {
		b, err := enc.trail(i)
		if err != nil {
			return nil, err
		}
		t := &s.trail[i]
		return []any{s.w.base.trail + int64(i) + 1, t.whistle, t.at, nullID(t.actorID), t.actor, t.action, nullID(t.unitID), s.clueNote(t.note, t.clue), b}, nil
	}
}

func (s *sim) noticeRow(i int) ([]any, error) {
	n := &s.notices[i]
	return []any{s.w.base.notice + int64(i) + 1, n.whistle, n.unit, n.kind, n.at, n.note}, nil
}

func (s *sim) eventRow(enc *encoded) func(i int) ([]any, error) {
	return func(i int) ([]any, error) {
		b, err := enc.event(i)
		if err != nil {
			return nil, err
		}
		e := &s.events[i]
		return []any{s.w.base.event + int64(i) + 1, e.at, e.kind, nullString(e.township), b}, nil
	}
}

// encoded is the JSON of the trail's data and the events' payloads,
// marshalled in the background by two workers, chunk by chunk in order,
// while the rows before them are copied.
type encoded struct {
	ctx                  context.Context
	trailJSON, eventJSON [][]byte
	ready                []chan struct{} // per chunk: trail chunks first, then event chunks
	errs                 []error
	trailChunks          int
}

const encodeChunk = 4096

func (s *sim) encode(ctx context.Context) *encoded {
	e := &encoded{ctx: ctx, trailJSON: make([][]byte, len(s.trail)), eventJSON: make([][]byte, len(s.events))}
	e.trailChunks = (len(s.trail) + encodeChunk - 1) / encodeChunk
	n := e.trailChunks + (len(s.events)+encodeChunk-1)/encodeChunk
	e.ready = make([]chan struct{}, n)
	e.errs = make([]error, n)
	for i := range e.ready {
		e.ready[i] = make(chan struct{})
	}
	var next atomic.Int64
	for range 2 {
		go func() {
			for {
				c := int(next.Add(1) - 1)
				if c >= n || ctx.Err() != nil {
					return
				}
				if c < e.trailChunks {
					for i := c * encodeChunk; i < min(len(s.trail), (c+1)*encodeChunk) && e.errs[c] == nil; i++ {
						e.trailJSON[i], e.errs[c] = json.Marshal(s.trail[i].data)
						s.trail[i].data = nil
					}
				} else {
					k := c - e.trailChunks
					for i := k * encodeChunk; i < min(len(s.events), (k+1)*encodeChunk) && e.errs[c] == nil; i++ {
						e.eventJSON[i], e.errs[c] = json.Marshal(s.events[i].payload)
						s.events[i].payload = nil
					}
				}
				close(e.ready[c])
			}
		}()
	}
	return e
}

// wait waits for chunk c, or for the context to end (the workers stop
// then, and c may never be done).
func (e *encoded) wait(c int) error {
	select {
	case <-e.ready[c]:
		return nil
	case <-e.ctx.Done():
		return e.ctx.Err()
	}
}

// trail returns trail row i's data, once; event does the same for the
// payloads. Each is dropped as it is handed out, to keep the memory down.
func (e *encoded) trail(i int) ([]byte, error) {
	c := i / encodeChunk
	if err := e.wait(c); err != nil {
		return nil, err
	}
	b := e.trailJSON[i]
	e.trailJSON[i] = nil
	return b, e.errs[c]
}

func (e *encoded) event(i int) ([]byte, error) {
	c := e.trailChunks + i/encodeChunk
	if err := e.wait(c); err != nil {
		return nil, err
	}
	b := e.eventJSON[i]
	e.eventJSON[i] = nil
	return b, e.errs[c]
}

// summarize counts what the year holds.
func (s *sim) summarize(sum *HistorySummary) {
	sum.Clues = len(s.clues)
	sum.BySource = map[string]int{}
	for _, d := range s.clues {
		sum.BySource[sourceNames[d.source]]++
	}
	sum.Whistles = len(s.whistles)
	sum.ByStatus = map[string]int{}
	sum.ByGrade = map[string]int{}
	p := &sum.Paths
	for _, w := range s.whistles {
		sum.ByStatus[string(w.status)]++
		sum.ByGrade[string(w.grade)]++
		sum.Summons += len(w.summons)
		count := func(c *int, ok bool) {
			if ok {
				*c++
			}
		}
		count(&p.Joined, w.clueCount > 1)
		count(&p.RaisedByHand, w.byHand)
		count(&p.ClosedOnTime, w.status == whistle.Closed && !w.closedAt.After(w.resolveDue) && w.riOverdue.IsZero() && w.rsOverdue.IsZero())
		count(&p.ReportInOverdue, !w.riOverdue.IsZero())
		count(&p.ResolveOverdue, !w.rsOverdue.IsZero())
		count(&p.Returned, w.returns >= 1)
		count(&p.ReturnedTwice, w.returns >= 2)
		count(&p.EscalatedByClues, w.escClues)
		count(&p.EscalatedByHand, w.escHand)
		count(&p.EscalatedBySweep, w.escSwp)
		count(&p.Consulted, w.consultations > 0)
		count(&p.Ruled, w.ruled != nil)
		count(&p.Contested, w.contested)
		count(&p.ReRuled, w.reruled)
		count(&p.Rated, w.rated)
		count(&p.Open, w.status != whistle.Closed)
		count(&p.OpenOverdue, w.status != whistle.Closed && s.overdue(w, s.end))
		count(&p.Reopened, w.reopened)
	}
	sum.Callbacks = len(s.callbacks)
	for _, c := range s.callbacks {
		if c.result == string(whistle.CallbackUnsatisfied) {
			sum.CallbacksUnsatisfied++
		}
	}
	sum.Trail, sum.Events, sum.Notices = len(s.trail), len(s.events), len(s.notices)
}

// bulkMode switches triggers off for the transaction when the role may
// (session_replication_role is a superuser setting), and reports whether
// it did; otherwise only the outbox trigger is switched off when the role
// owns the table, and else nothing.
func bulkMode(ctx context.Context, tx pgx.Tx) (bool, error) {
	try := func(q string) (bool, error) {
		sp, err := tx.Begin(ctx)
		if err != nil {
			return false, fmt.Errorf("demo: history: %w", err)
		}
		if _, err := sp.Exec(ctx, q); err != nil {
			if err := sp.Rollback(ctx); err != nil {
				return false, fmt.Errorf("demo: history: %w", err)
			}
			return false, nil
		}
		if err := sp.Commit(ctx); err != nil {
			return false, fmt.Errorf("demo: history: %w", err)
		}
		return true, nil
	}
	ok, err := try(`SET LOCAL session_replication_role = replica`)
	if ok || err != nil {
		return ok, err
	}
	if _, err := try(`ALTER TABLE events DISABLE TRIGGER events_notify`); err != nil {
		return false, err
	}
	return false, nil
}

// indexesOf lists the indexes of the tables that back no constraint, as
// CREATE INDEX statements.
const indexesOf = `
SELECT n.nspname, c.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE i.indrelid = ANY($1::regclass[]) AND NOT i.indisprimary AND NOT i.indisunique
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
ORDER BY i.indrelid, c.relname`

// dropIndexes drops the tables' secondary indexes and returns the
// statements that build them again.
func dropIndexes(ctx context.Context, tx pgx.Tx, tables []string) ([]string, error) {
	rows, err := tx.Query(ctx, indexesOf, tables)
	if err != nil {
		return nil, fmt.Errorf("demo: history: indexes: %w", err)
	}
	type index struct{ schema, name, def string }
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (index, error) {
		var x index
		err := r.Scan(&x.schema, &x.name, &x.def)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("demo: history: indexes: %w", err)
	}
	var defs []string
	for _, x := range all {
		if _, err := tx.Exec(ctx, "DROP INDEX "+pgx.Identifier{x.schema, x.name}.Sanitize()); err != nil {
			return nil, fmt.Errorf("demo: history: indexes: %w", err)
		}
		defs = append(defs, x.def)
	}
	return defs, nil
}

// foreignKeysOf lists the foreign keys of the tables with their columns.
const foreignKeysOf = `
SELECT k.conname, cn.nspname, c.relname, pn.nspname, p.relname,
	ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY x(n, o) JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = x.n ORDER BY x.o),
	ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY x(n, o) JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = x.n ORDER BY x.o)
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
JOIN pg_class p ON p.oid = k.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace
WHERE k.contype = 'f' AND k.conrelid = ANY($1::regclass[])
ORDER BY k.conrelid, k.conname`

// checkForeignKeys verifies every foreign key of the tables with one
// anti-join each (MATCH SIMPLE: a row with a NULL in the key is not
// checked), as the row-by-row triggers would have.
func checkForeignKeys(ctx context.Context, tx pgx.Tx, tables []string) error {
	rows, err := tx.Query(ctx, foreignKeysOf, tables)
	if err != nil {
		return fmt.Errorf("demo: history: foreign keys: %w", err)
	}
	type fk struct {
		name, cs, c, ps, p string
		cols, refs         []string
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (fk, error) {
		var x fk
		err := r.Scan(&x.name, &x.cs, &x.c, &x.ps, &x.p, &x.cols, &x.refs)
		return x, err
	})
	if err != nil {
		return fmt.Errorf("demo: history: foreign keys: %w", err)
	}
	for _, k := range all {
		var notNull, match []string
		for i, col := range k.cols {
			c := "x." + pgx.Identifier{col}.Sanitize()
			notNull = append(notNull, c+" IS NOT NULL")
			match = append(match, "y."+pgx.Identifier{k.refs[i]}.Sanitize()+" = "+c)
		}
		q := "SELECT count(*) FROM " + pgx.Identifier{k.cs, k.c}.Sanitize() + " x WHERE " + strings.Join(notNull, " AND ") +
			" AND NOT EXISTS (SELECT 1 FROM " + pgx.Identifier{k.ps, k.p}.Sanitize() + " y WHERE " + strings.Join(match, " AND ") + ")"
		var bad int
		if err := tx.QueryRow(ctx, q).Scan(&bad); err != nil {
			return fmt.Errorf("demo: history: foreign key %s: %w", k.name, err)
		}
		if bad > 0 {
			return fmt.Errorf("demo: history: %d rows of %s violate foreign key %s", bad, k.c, k.name)
		}
	}
	return nil
}

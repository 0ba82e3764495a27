package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// SweepResult counts what one sweep did.
type SweepResult struct {
	Marked  int // measures newly marked overdue or late
	Rose    int // items that rose a level
	Notices int // notices written
}

// sweepMarks marks the measures newly past their deadline (overdue_at)
// and those still not done LateAfter after it (late_at), of items not
// closed. As whistle.Sweep's, the UPDATE … WHERE … IS NULL is the guard
// that makes concurrent sweeps safe: a second sweep waiting for the row
// lock re-checks the condition and finds the mark set, so each measure
// strikes once however many instances sweep at once.
const sweepMarks = `
WITH o AS (
	UPDATE ledger_measures m SET overdue_at = $1
	FROM ledger_items i
	WHERE i.id = m.item_id AND i.status <> 'closed' AND m.done_at IS NULL AND m.overdue_at IS NULL AND m.due < $1
	RETURNING m.item_id, m.n
), l AS (
	UPDATE ledger_measures m SET late_at = $1
	FROM ledger_items i
	WHERE i.id = m.item_id AND i.status <> 'closed' AND m.done_at IS NULL AND m.overdue_at IS NOT NULL AND m.late_at IS NULL
		AND m.due < $1::timestamptz - $2::interval
	RETURNING m.item_id, m.n
)
SELECT item_id, min(n) FROM (SELECT * FROM o UNION ALL SELECT * FROM l) x GROUP BY item_id ORDER BY item_id`

// sweepRise raises an item one level, once per level: the rise's row is
// the guard (its primary key is the item and the level).
const sweepRise = `
WITH cur AS (SELECT id, level FROM ledger_items WHERE id = $1 AND level <> 'command' FOR UPDATE),
r AS (
	INSERT INTO ledger_rises (item_id, level, at, n)
	SELECT id, CASE level WHEN 'township' THEN 'department' ELSE 'command' END, $2, $3 FROM cur
	ON CONFLICT DO NOTHING RETURNING item_id, level
)
UPDATE ledger_items i SET level = r.level, updated_at = $2 FROM r WHERE i.id = r.item_id
RETURNING i.level, i.township_code, coalesce(i.responsible_township, ''),
	coalesce((SELECT code FROM units WHERE id = i.responsible_unit_id), ''),
	coalesce((SELECT code FROM units WHERE id = i.supervising_unit_id), ''), i.title`

// Sweep marks the measures past their deadline as of now and raises each
// item with a newly marked measure one level (township → department →
// command), once per level, with a notice to the responsible party and to
// the new level (ledger_notices) and a ledger.rose event on the live
// stream. It runs in one transaction and is safe to run from several
// instances at once.
func (s *Store) Sweep(ctx context.Context) (SweepResult, error) {
	now := s.now()
	var res SweepResult
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sweepMarks, now, fmt.Sprintf("%d seconds", int(LateAfter.Seconds())))
		if err != nil {
			return err
		}
		type mark struct {
			id int64
			n  int
		}
		marks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (mark, error) {
			var m mark
			err := r.Scan(&m.id, &m.n)
			return m, err
		})
		if err != nil {
			return err
		}
		for _, m := range marks {
			res.Marked++
			var level, township, respTownship, respUnit, supUnit, title string
			err := tx.QueryRow(ctx, sweepRise, m.id, now, m.n).Scan(&level, &township, &respTownship, &respUnit, &supUnit, &title)
			if err == pgx.ErrNoRows {
				continue // at the top already, or risen to that level before
			}
			if err != nil {
				return err
			}
			res.Rose++
			n, err := rise(ctx, tx, m.id, m.n, level, township, respTownship, respUnit, supUnit, title, now)
			if err != nil {
				return err
			}
			res.Notices += n
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("ledger: sweep: %w", err)
	}
	return res, nil
}

// rise writes the notices, the trail entry and the event of one rise.
func rise(ctx context.Context, tx pgx.Tx, id int64, n int, level, township, respTownship, respUnit, supUnit, title string, now time.Time) (int, error) {
	resp := respTownship
	if resp == "" {
		resp = "unit:" + respUnit
	}
	to := "command"
	if level == LevelDepartment {
		to = "command" // no supervising department: the command center watches
		if supUnit != "" {
			to = "unit:" + supUnit
		}
	}
	note := fmt.Sprintf("措施 %d 逾期未完成，升级为%s", n, LevelNames[level])
	count := 0
	for _, r := range []string{resp, to} {
		tag, err := tx.Exec(ctx, `INSERT INTO ledger_notices (item_id, level, recipient, at, note) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT DO NOTHING`, id, level, r, now, note)
		if err != nil {
			return 0, err
		}
		count += int(tag.RowsAffected())
	}
	if _, err := tx.Exec(ctx, `INSERT INTO ledger_entries (item_id, at, kind, actor, note) VALUES ($1, $2, 'rise', 'system', $3)`, id, now, note); err != nil {
		return 0, err
	}
	payload := map[string]any{"ledger": map[string]any{"id": id, "title": title, "level": level, "measure": n},
		"recipients": []string{resp, to}}
	if respUnit != "" {
		payload["unit"] = map[string]any{"code": respUnit}
	} else if supUnit != "" && level == LevelDepartment {
		payload["unit"] = map[string]any{"code": supUnit}
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO events (at, kind, township, payload) VALUES ($1, 'ledger.rose', $2, $3::jsonb)`, now, township, string(b)); err != nil {
		return 0, err
	}
	return count, nil
}

// RunSweeps sweeps every interval until ctx ends, logging what it did.
func (s *Store) RunSweeps(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		res, err := s.Sweep(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("ledger sweep failed", slog.Any("err", err))
		case res.Rose > 0:
			log.Info("ledger sweep", slog.Int("marked", res.Marked), slog.Int("rose", res.Rose), slog.Int("notices", res.Notices))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

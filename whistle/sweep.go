package whistle

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"whistlegrid/metrics"

	"github.com/jackc/pgx/v5"
)

// SweepResult counts what one sweep did.
type SweepResult struct {
	ReportInOverdue int // whistles newly past their report-in deadline with a unit not reported in
	ResolveOverdue  int // whistles newly past their resolve deadline with a lead unit not resolved
	Notices         int // supervision notices sent (one per unit and kind)
	Escalated       int // grade escalations
}

// sweepMarks marks whistles overdue. The UPDATE … WHERE …_overdue_at IS
// NULL is the guard that makes concurrent sweeps safe: PostgreSQL takes the
// row lock, and a second sweep that waited for it re-checks the condition
// and finds the mark set, so each whistle is marked, noticed and escalated
// once per deadline however many instances sweep at once.
const sweepReportIn = `
UPDATE whistles w SET report_in_overdue_at = $1, updated_at = $1
WHERE w.status <> 'closed' AND w.report_in_overdue_at IS NULL AND w.report_in_due < $1
  AND EXISTS (SELECT 1 FROM summons s WHERE s.whistle_id = w.id AND s.reported_in_at IS NULL)
RETURNING w.id, w.grade`

const sweepResolve = `
UPDATE whistles w SET resolve_overdue_at = $1, updated_at = $1
WHERE w.status IN ('raised', 'in_progress') AND w.resolve_overdue_at IS NULL AND w.resolve_due < $1
  AND EXISTS (SELECT 1 FROM summons s WHERE s.whistle_id = w.id AND s.role = 'lead' AND s.resolved_at IS NULL)
RETURNING w.id, w.grade`

// Sweep marks overdue report-ins and resolutions as of now, sends
// supervision notices (督办) to each late unit and to the command center
// (the events outbox), and escalates each newly overdue whistle one grade.
// It runs in one transaction and is safe to run from several instances at
// once.
//
// Each sweep is counted in metrics.Sweep.
func (s *Store) Sweep(ctx context.Context) (SweepResult, error) {
	res, err := s.sweep(ctx)
	metrics.Sweep(err, res.ReportInOverdue, res.ResolveOverdue, res.Notices, res.Escalated)
	return res, err
}

// sweep is Sweep, uncounted.
func (s *Store) sweep(ctx context.Context) (SweepResult, error) {
	now := s.now()
	var res SweepResult
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return res, fmt.Errorf("whistle: sweep: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	ev := events{}
	for _, k := range []struct {
		kind, sql, units, label string
		count                   *int
	}{
		{"report_in", sweepReportIn, `UPDATE summons SET report_in_overdue_at = $2 WHERE whistle_id = $1 AND reported_in_at IS NULL AND report_in_overdue_at IS NULL RETURNING unit_id`, "报到超期", &res.ReportInOverdue},
		{"resolve", sweepResolve, `UPDATE summons SET resolve_overdue_at = $2 WHERE whistle_id = $1 AND role = 'lead' AND resolved_at IS NULL AND resolve_overdue_at IS NULL RETURNING unit_id`, "办结超期", &res.ResolveOverdue},
	} {
		rows, err := tx.Query(ctx, k.sql, now)
		if err != nil {
			return res, fmt.Errorf("whistle: sweep: %w", err)
		}
		type marked struct {
			id    int64
			grade Grade
		}
		ws, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (marked, error) {
			var m marked
			err := r.Scan(&m.id, &m.grade)
			return m, err
		})
		if err != nil {
			return res, fmt.Errorf("whistle: sweep: %w", err)
		}
		for _, w := range ws {
			*k.count++
			rows, err := tx.Query(ctx, k.units, w.id, now)
			if err != nil {
				return res, fmt.Errorf("whistle: sweep: %w", err)
			}
			units, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if err != nil {
				return res, fmt.Errorf("whistle: sweep: %w", err)
			}
			if err := trail(ctx, tx, w.id, 0, "system", "overdue", 0, k.label, map[string]any{"kind": k.kind}, now); err != nil {
				return res, err
			}
			if err := ev.whistle(ctx, tx, "whistle.overdue", w.id, map[string]any{"kind": k.kind}); err != nil {
				return res, err
			}
			for _, u := range units {
				tag, err := tx.Exec(ctx, `INSERT INTO supervision_notices (whistle_id, unit_id, kind, at, note) VALUES ($1, $2, $3, $4, $5)
					ON CONFLICT (whistle_id, unit_id, kind) DO NOTHING`, w.id, u, k.kind, now, k.label+"，指挥中心督办")
				if err != nil {
					return res, fmt.Errorf("whistle: sweep: %w", err)
				}
				if tag.RowsAffected() == 0 {
					continue
				}
				res.Notices++
				var code, name string
				if err := tx.QueryRow(ctx, `SELECT code, name FROM units WHERE id = $1`, u).Scan(&code, &name); err != nil {
					return res, fmt.Errorf("whistle: sweep: %w", err)
				}
				if err := trail(ctx, tx, w.id, 0, "command", "supervise", u, k.label+"，督办 "+name, map[string]any{"kind": k.kind}, now); err != nil {
					return res, err
				}
				if err := ev.whistle(ctx, tx, "whistle.supervised", w.id, map[string]any{"kind": k.kind, "unit": map[string]any{"code": code, "name": name}}); err != nil {
					return res, err
				}
			}
			if to, ok := OverdueEscalation(w.grade); ok {
				if err := escalate(ctx, tx, &ev, w.id, to, "system", 0, k.label+"，自动升级", now, false); err != nil {
					return res, err
				}
				res.Escalated++
			}
		}
	}
	if err := ev.write(ctx, tx, now); err != nil {
		return res, err
	}
	if err := tx.Commit(ctx); err != nil {
		return res, fmt.Errorf("whistle: sweep: %w", err)
	}
	return res, nil
}

// RunSweeps sweeps every interval until ctx ends, logging what it did.
func (s *Store) RunSweeps(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		res, err := s.Sweep(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("deadline sweep failed", slog.Any("err", err))
		case res.ReportInOverdue+res.ResolveOverdue > 0:
			log.Info("deadline sweep", slog.Int("report_in_overdue", res.ReportInOverdue), slog.Int("resolve_overdue", res.ResolveOverdue),
				slog.Int("notices", res.Notices), slog.Int("escalated", res.Escalated))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

package whistle

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"whistlegrid/access"
)

// EachWhistle calls fn with each whistle List would select with f (its
// Limit and Offset aside), newest first, at most limit of them, reading
// them as a stream: the exports' source. fn's error stops it and is
// returned.
func (s *Store) EachWhistle(ctx context.Context, sc access.Scope, f Filter, limit int, fn func(Summary) error) error {
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	from, where, err := s.listWhere(sc, f, arg)
	if err != nil {
		return err
	}
	return s.withoutJIT(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+summaryColumns+from+where+" ORDER BY w.raised_at DESC, w.id DESC LIMIT "+arg(limit), args...)
		if err != nil {
			return fmt.Errorf("whistle: export: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			w, err := scanSummary(rows)
			if err != nil {
				return fmt.Errorf("whistle: export: %w", err)
			}
			if err := fn(w); err != nil {
				return err
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("whistle: export: %w", err)
		}
		return nil
	})
}

// EachClue calls fn with each clue Clues would select with f (its Limit
// and Offset aside), newest first, at most limit of them, as a stream,
// the reporter masked as Clues masks it.
func (s *Store) EachClue(ctx context.Context, sc access.Scope, f ClueFilter, limit int, fn func(Clue) error) error {
	if f.Source != "" && !ValidSource(f.Source) {
		return invalid("source", "source must be one of patrol, hotline, app, forum, hotspot, sensor")
	}
	where, args := clueWhere(sc, f)
	args = append(args, limit)
	return s.withoutJIT(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+clueColumns+clueFrom+where+fmt.Sprintf(" ORDER BY c.reported_at DESC, c.id DESC LIMIT $%d", len(args)), args...)
		if err != nil {
			return fmt.Errorf("whistle: export: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanClue(sc, rows)
			if err != nil {
				return fmt.Errorf("whistle: export: %w", err)
			}
			if err := fn(c); err != nil {
				return err
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("whistle: export: %w", err)
		}
		return nil
	})
}

// StatusName is a whistle status's Chinese name.
func StatusName(st Status) string {
	switch st {
	case Raised:
		return "已吹哨"
	case InProgress:
		return "办理中"
	case AwaitingApproval:
		return "待审核"
	case Closed:
		return "已结案"
	}
	return string(st)
}

// OutcomeName is a resolution outcome's Chinese name.
func OutcomeName(o string) string {
	switch o {
	case "resolved":
		return "已解决"
	case "partly":
		return "部分解决"
	case "unresolved":
		return "未解决"
	}
	return o
}

// withoutJIT runs fn in a read-only transaction with PostgreSQL's JIT off:
// the statistics' and exports' queries are costed high (a subquery per
// whistle) and JIT compiling them costs seconds on a busy machine for no
// gain (9.1 s against 0.75 s for a month's statistics on the demo).
func (s *Store) withoutJIT(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL jit = off"); err != nil {
			return err
		}
		return fn(tx)
	})
}

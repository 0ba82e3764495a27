package grid

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ChangedChannel is the PostgreSQL channel a change of grids, people or
// assignments notifies (migration 00016, once per committing transaction).
const ChangedChannel = "grid_changed"

// FollowChanges listens on ChangedChannel and refreshes p after every
// notification, so every running server picks up imported grids and
// rosters, and grid edits made on another server, without a restart.
// It reconnects after a lost connection and returns when ctx ends.
func FollowChanges(ctx context.Context, pool *pgxpool.Pool, p *Placer, log *slog.Logger) {
	for ctx.Err() == nil {
		err := followOnce(ctx, pool, p, log)
		if ctx.Err() != nil {
			return
		}
		log.Warn("placement index: listening for grid changes failed; retrying", slog.Any("err", err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
}

func followOnce(ctx context.Context, pool *pgxpool.Pool, p *Placer, log *slog.Logger) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+ChangedChannel); err != nil {
		return err
	}
	// A change committed while we were not listening is caught here.
	if err := p.Refresh(ctx); err != nil {
		return err
	}
	for {
		if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := p.Refresh(ctx); err != nil {
			log.Error("placement index: refresh after grid change", slog.Any("err", err))
			continue
		}
		log.Info("placement index refreshed after a grid change", slog.Int("household_grids", p.Index().Len()))
	}
}

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

// NewFollowingPlacer builds the placement index once and keeps it in step
// as FollowChanges does, until ctx ends: it listens on ChangedChannel
// before it builds, so a change committed during the build is notified and
// refreshes it, and the index is not built a second time to catch one.
func NewFollowingPlacer(ctx context.Context, pool *pgxpool.Pool, opts IndexOptions, log *slog.Logger) (*Placer, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+ChangedChannel); err != nil {
		conn.Release()
		return nil, err
	}
	p, err := NewPlacer(ctx, pool, opts)
	if err != nil {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "UNLISTEN *")
		conn.Release()
		return nil, err
	}
	go func() {
		err := wait(ctx, conn, p, log)
		conn.Release()
		if ctx.Err() != nil {
			return
		}
		log.Warn("placement index: listening for grid changes failed; retrying", slog.Any("err", err))
		FollowChanges(ctx, pool, p, log)
	}()
	return p, nil
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
	return wait(ctx, conn, p, log)
}

// wait refreshes p after each notification on conn, which listens.
func wait(ctx context.Context, conn *pgxpool.Conn, p *Placer, log *slog.Logger) error {
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

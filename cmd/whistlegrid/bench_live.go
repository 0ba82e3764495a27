package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/internal/bench"
	"whistlegrid/internal/pgcluster"
	"whistlegrid/migrations"
)

// benchLive runs websocket clients on one hub in this process while events
// are inserted into the outbox of a scratch database, and measures what
// arrives. Its baseline is the same stream with a fifth of the clients.
func benchLive(ctx context.Context, args []string, c config, log *slog.Logger, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench live", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "end with one JSON line")
	clients := fs.Int("clients", 1000, "websocket clients")
	rate := fs.Int("rate", 200, "events per second")
	dur := fs.Duration("duration", 60*time.Second, "how long events are inserted")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cl, err := pgcluster.Start(ctx, c.dataDir, pgcluster.Options{})
	if err != nil {
		return err
	}
	pool, err := scratchDB(ctx, cl, "bench_live")
	if err != nil {
		return err
	}
	defer pool.Close()
	settings, err := durability(ctx, pool)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "bench live: %d clients, %d events/s for %s, one hub in this process; the cluster: %s\n", *clients, *rate, *dur, settings)
	base, err := bench.Live(ctx, pool, bench.LiveConfig{Clients: max(1, *clients/5), Rate: *rate, Duration: *dur / 4})
	if err != nil {
		return err
	}
	res, err := bench.Live(ctx, pool, bench.LiveConfig{Clients: *clients, Rate: *rate, Duration: *dur})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%-28s %14s %14s\n", "", fmt.Sprintf("%d clients", res.Clients), fmt.Sprintf("%d clients", base.Clients))
	fmt.Fprintf(stdout, "%-28s %14.1f %14.1f\n", "events/s", res.EventsPerS, base.EventsPerS)
	fmt.Fprintf(stdout, "%-28s %14.6f %14.6f\n", "delivered/expected", res.DeliveredRatio, base.DeliveredRatio)
	fmt.Fprintf(stdout, "%-28s %14.1f %14.1f\n", "p50 delivery (ms)", res.P50Ms, base.P50Ms)
	fmt.Fprintf(stdout, "%-28s %14.1f %14.1f\n", "p99 delivery (ms)", res.P99Ms, base.P99Ms)
	fmt.Fprintf(stdout, "%-28s %14d %14d\n", "server bytes per client", res.BytesPerClient, base.BytesPerClient)
	fmt.Fprintf(stdout, "targets: delivered exactly 1 %s; p99 ≤ 100 ms %s\n", passFail(res.DeliveredRatio == 1), passFail(res.P99Ms <= 100))
	if *asJSON {
		b, _ := json.Marshal(map[string]any{"clients": res.Clients, "events_per_s": res.EventsPerS, "delivered_ratio": res.DeliveredRatio,
			"p50_ms": res.P50Ms, "p99_ms": res.P99Ms, "bytes_per_client": res.BytesPerClient})
		fmt.Fprintln(stdout, string(b))
	}
	return nil
}

// scratchDB drops and recreates database name in the private cluster, with
// the schema and nothing else.
func scratchDB(ctx context.Context, cl *pgcluster.Cluster, name string) (*pgxpool.Pool, error) {
	admin, err := pgx.Connect(ctx, cl.URL("postgres"))
	if err != nil {
		return nil, err
	}
	defer admin.Close(ctx)
	id := pgx.Identifier{name}.Sanitize()
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+id+" WITH (FORCE)"); err != nil {
		return nil, err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+id); err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(cl.URL(name))
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = 64
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := migrations.Up(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

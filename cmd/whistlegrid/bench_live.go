package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/internal/bench"
	"whistlegrid/internal/pgcluster"
	"whistlegrid/live"
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
	linger := fs.Duration("linger", 0, "the hub's Linger (live.Options): 0 for its default")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the durable run with all the clients to this file")
	nonDurable := fs.Bool("non-durable", true, "also run with synchronous_commit off (a quarter of the duration), printed beside and labelled (not how it serves)")
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
	base, err := bench.Live(ctx, pool, bench.LiveConfig{Clients: max(1, *clients/5), Rate: *rate, Duration: *dur / 4, Hub: live.Options{Linger: *linger}})
	if err != nil {
		return err
	}
	stopProfile, err := startCPUProfile(*cpuprofile)
	if err != nil {
		return err
	}
	res, err := bench.Live(ctx, pool, bench.LiveConfig{Clients: *clients, Rate: *rate, Duration: *dur, Hub: live.Options{Linger: *linger}})
	stopProfile()
	if err != nil {
		return err
	}
	// Beside it, labelled: the same clients with synchronous_commit off on
	// the inserting connections, so an event's commit does not wait for its
	// WAL flush (never how it serves).
	var fast bench.LiveResult
	if *nonDurable {
		fpool, err := nonDurablePool(ctx, pool)
		if err != nil {
			return err
		}
		fast, err = bench.Live(ctx, fpool, bench.LiveConfig{Clients: *clients, Rate: *rate, Duration: max(*dur/4, time.Second), Hub: live.Options{Linger: *linger}})
		fpool.Close()
		if err != nil {
			return err
		}
	}
	nd := func(f string, v any) string {
		if !*nonDurable {
			return "-"
		}
		return fmt.Sprintf(f, v)
	}
	fmt.Fprintf(stdout, "%-28s %16s %16s %22s\n", "", "durable", "durable baseline", "sync_commit=off (NOT")
	fmt.Fprintf(stdout, "%-28s %16s %16s %22s\n", "", fmt.Sprintf("%d clients", res.Clients), fmt.Sprintf("%d clients", base.Clients),
		fmt.Sprintf("durable) %d clients", *clients))
	fmt.Fprintf(stdout, "%-28s %16.1f %16.1f %22s\n", "events/s", res.EventsPerS, base.EventsPerS, nd("%.1f", fast.EventsPerS))
	fmt.Fprintf(stdout, "%-28s %16.6f %16.6f %22s\n", "delivered/expected", res.DeliveredRatio, base.DeliveredRatio, nd("%.6f", fast.DeliveredRatio))
	fmt.Fprintf(stdout, "%-28s %16.1f %16.1f %22s\n", "p50 delivery (ms)", res.P50Ms, base.P50Ms, nd("%.1f", fast.P50Ms))
	fmt.Fprintf(stdout, "%-28s %16.1f %16.1f %22s\n", "p99 delivery (ms)", res.P99Ms, base.P99Ms, nd("%.1f", fast.P99Ms))
	fmt.Fprintf(stdout, "%-28s %16d %16d %22s\n", "server bytes per client", res.BytesPerClient, base.BytesPerClient, nd("%d", fast.BytesPerClient))
	fmt.Fprintf(stdout, "targets (durable): delivered exactly 1 %s; p99 ≤ 100 ms %s\n", passFail(res.DeliveredRatio == 1), passFail(res.P99Ms <= 100))
	if *asJSON {
		out := map[string]any{"durable": true, "clients": res.Clients, "events_per_s": res.EventsPerS, "delivered_ratio": res.DeliveredRatio,
			"p50_ms": res.P50Ms, "p99_ms": res.P99Ms, "bytes_per_client": res.BytesPerClient}
		if *nonDurable {
			out["non_durable"] = map[string]any{"synchronous_commit": "off", "clients": fast.Clients, "events_per_s": fast.EventsPerS,
				"delivered_ratio": fast.DeliveredRatio, "p50_ms": fast.P50Ms, "p99_ms": fast.P99Ms}
		}
		b, _ := json.Marshal(out)
		fmt.Fprintln(stdout, string(b))
	}
	return nil
}

// scratchDB drops and recreates database name in the private cluster, with
// the schema and nothing else.
// startCPUProfile starts a CPU profile written to path, and returns what
// stops it; with path "" it does nothing.
func startCPUProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

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

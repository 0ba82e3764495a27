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

	"whistlegrid/demo"
	"whistlegrid/grid"
	"whistlegrid/internal/bench"
	"whistlegrid/internal/pgcluster"
	"whistlegrid/migrations"
	"whistlegrid/whistle"
)

// workDB is the database `bench work` keeps between runs: the demo with
// its year of history takes minutes to write, so a later run reuses it
// (--fresh writes it again).
const workDB = "bench_work"

// benchWork is `whistlegrid bench work [--json] [--fresh] [--runs N] [--page N]`:
// each role's workbench queue (whistle.Store.Queue over whistle_summaries)
// on the demo's year, its first page and page N by keyset, beside a bare
// indexed SELECT of the same rows; target: each queue within 3× its bare
// SELECT at p99. The measuring is internal/bench's Work.
func benchWork(ctx context.Context, args []string, c config, log *slog.Logger, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench work", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "end with one JSON line")
	fresh := fs.Bool("fresh", false, "write the demo and its year again even if "+workDB+" has them")
	runs := fs.Int("runs", 200, "timed runs of each query")
	page := fs.Int("page", 20, "the deep page, reached by keyset")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cl, err := pgcluster.Start(ctx, c.dataDir, pgcluster.Options{})
	if err != nil {
		return err
	}
	pool, err := workDemo(ctx, cl, *fresh, log)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `ANALYZE`); err != nil {
		return err
	}
	placer, err := grid.NewPlacer(ctx, pool, grid.IndexOptions{})
	if err != nil {
		return err
	}
	rep, err := bench.Work(ctx, pool, whistle.NewStore(pool, placer, whistle.Options{}), bench.WorkOptions{Runs: *runs, Page: *page})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "bench work: each role's queue (whistle_summaries, keyset) beside a bare indexed SELECT of the same rows, %d runs each\n", *runs)
	fmt.Fprintf(stdout, "%-9s %-12s %-10s %-6s %5s %9s %9s %9s %9s %8s\n", "role", "caller", "tab", "page", "rows", "p50 ms", "p99 ms", "bare p50", "bare p99", "p99 ×")
	for _, r := range rep.Roles {
		for _, p := range []struct {
			name string
			f    bench.WorkFigures
		}{{"1", r.First}, {fmt.Sprint(r.DeepAt), r.Deep}} {
			fmt.Fprintf(stdout, "%-9s %-12s %-10s %-6s %5d %9.2f %9.2f %9.2f %9.2f %7.1f×\n", r.Role, r.Caller, r.Tab+"/"+r.Sort[:1], p.name, p.f.Rows,
				p.f.P50ms, p.f.P99ms, p.f.BareP50, p.f.BareP99, p.f.RatioP99)
		}
	}
	fmt.Fprintf(stdout, "target: each queue within 3× its bare SELECT at p99: worst %.1f× %s\n", rep.WorstRatioP99, passFail(rep.WorstRatioP99 <= 3))
	if *asJSON {
		b, _ := json.Marshal(rep)
		fmt.Fprintln(stdout, string(b))
	}
	return nil
}

// workDemo opens workDB, migrated, with the demo and a year of history:
// kept from an earlier run unless fresh.
func workDemo(ctx context.Context, cl *pgcluster.Cluster, fresh bool, log *slog.Logger) (*pgxpool.Pool, error) {
	if !fresh {
		if pool, err := reuseWorkDB(ctx, cl); err == nil && pool != nil {
			log.Info("bench: reusing the demo year", slog.String("database", workDB))
			return pool, nil
		}
	}
	pool, err := freshDemo(ctx, cl, workDB, log)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	if _, err := demo.LoadHistory(ctx, pool, demo.HistoryOptions{Logger: log}); err != nil {
		pool.Close()
		return nil, err
	}
	log.Info("bench: the demo year written", slog.Duration("took", time.Since(t0).Round(time.Millisecond)))
	return pool, nil
}

// reuseWorkDB opens workDB when it exists and holds whistles, migrated to
// this build; nil when it must be written.
func reuseWorkDB(ctx context.Context, cl *pgcluster.Cluster) (*pgxpool.Pool, error) {
	admin, err := pgx.Connect(ctx, cl.URL("postgres"))
	if err != nil {
		return nil, err
	}
	var exists bool
	err = admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, workDB).Scan(&exists)
	admin.Close(ctx)
	if err != nil || !exists {
		return nil, err
	}
	pool, err := pgxpool.New(ctx, cl.URL(workDB))
	if err != nil {
		return nil, err
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM whistles`).Scan(&n); err != nil || n == 0 {
		pool.Close()
		return nil, err
	}
	if _, err := migrations.Up(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

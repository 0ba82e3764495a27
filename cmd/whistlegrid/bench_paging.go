package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"whistlegrid/api"
	"whistlegrid/demo"
	"whistlegrid/geo"
	"whistlegrid/grid"
	"whistlegrid/internal/bench"
	"whistlegrid/internal/pgcluster"
)

// pagingMaxRatio is the target of `bench paging`: a deep page costs
// within twice the first (issue 13, paging).
const pagingMaxRatio = 2

// pagingHistoryEnd is the end of the bench's year of history: fixed, so
// every run reads the same rows.
var pagingHistoryEnd = time.Date(2026, 11, 25, 12, 0, 0, 0, geo.Beijing)

// benchPaging is `whistlegrid bench paging [--json] [--limit N] [--runs N]`:
// the first page of GET /api/v1/clues, /whistles (both sorts) and Open311
// GET requests (both statuses) against a deep page, through the real
// server in process, on the demo with its year of history in a database
// of its own in the private cluster (bench_paging, loaded on the first
// run and kept), beside the clue list's old SQL (count(*), then OFFSET).
// The measuring is internal/bench's Paging.
func benchPaging(ctx context.Context, args []string, c config, log *slog.Logger, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench paging", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "end with one JSON line")
	limit := fs.Int("limit", 50, "page size")
	runs := fs.Int("runs", 30, "timed requests per page")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cl, err := pgcluster.Start(ctx, c.dataDir, pgcluster.Options{})
	if err != nil {
		return err
	}
	const db = "bench_paging"
	if err := createDatabase(ctx, cl, db); err != nil {
		return err
	}
	c.databaseURL = cl.URL(db)
	pool, err := openPool(ctx, c, log)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := migrate(ctx, pool, log); err != nil {
		return err
	}
	switch _, err := demo.Load(ctx, pool, demo.Options{Password: "demo", Logger: log}); {
	case errors.Is(err, demo.ErrNotEmpty):
		log.Info("bench paging: demo already loaded", "database", db)
	case err != nil:
		return err
	default:
		start := time.Now()
		if _, err := demo.LoadHistory(ctx, pool, demo.HistoryOptions{End: pagingHistoryEnd, Logger: log}); err != nil {
			return err
		}
		log.Info("bench paging: history loaded", "took", time.Since(start).Round(time.Second))
	}
	if _, err := pool.Exec(ctx, `ANALYZE`); err != nil {
		return err
	}
	placer, err := grid.NewPlacer(ctx, pool, grid.IndexOptions{})
	if err != nil {
		return err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := api.New(api.Config{Pool: pool, Logger: quiet, Placer: placer, Version: version})
	body, _ := json.Marshal(map[string]string{"username": "command", "password": "demo"})
	rec := httptest.NewRecorder()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/api/v1/auth/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	srv.ServeHTTP(rec, req)
	var login struct{ Token string }
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &login) != nil {
		return fmt.Errorf("bench paging: login as command: %d", rec.Code)
	}
	rep, err := bench.Paging(ctx, pool, srv, login.Token, bench.PagingOptions{Limit: *limit, Runs: *runs})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "bench paging: %d clues, %d whistles, limit=%d, %d runs each, as command (the whole district)\n",
		rep.Clues, rep.Whistles, rep.Limit, *runs)
	fmt.Fprintf(stdout, "%-38s %9s %9s %6s %9s %9s %7s  %s\n", "list", "first p50", "p99", "page", "deep p50", "p99", "ratio", "total")
	ok := true
	for _, k := range rep.Cases {
		fmt.Fprintf(stdout, "%-38s %9.1f %9.1f %6d %9.1f %9.1f %6.2f×  %s\n", k.Name, k.FirstP50, k.FirstP99, k.DeepPage, k.DeepP50, k.DeepP99, k.Ratio, k.TotalNote)
		if !k.Baseline {
			ok = ok && k.Ratio <= pagingMaxRatio
		}
	}
	for _, k := range rep.Cases {
		if k.Baseline {
			fmt.Fprintf(stdout, "baseline count(*) alone: %.1f ms p50\n", k.TotalMS)
		}
	}
	fmt.Fprintf(stdout, "target: every deep page within %d× its first page (p50) %s\n", pagingMaxRatio, passFail(ok))
	if *asJSON {
		line, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(line))
	}
	return nil
}

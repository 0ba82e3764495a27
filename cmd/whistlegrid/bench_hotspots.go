package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"whistlegrid/internal/bench"
	"whistlegrid/internal/pgcluster"
)

// benchHotspots is `whistlegrid bench hotspots [--json]`: Gi* end to end
// over a million synthetic clues in process (binning, weights, statistic,
// FDR) and, as the baseline, the same statistic in SQL in PostGIS over the
// same points (binned on squares of the same area, since h3-pg is not
// packaged here), in a scratch database of the private cluster
// (bench_hotspots). The measuring is internal/bench's Hotspots and
// HotspotsSQL.
func benchHotspots(ctx context.Context, args []string, c config, log *slog.Logger, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench hotspots", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "end with one JSON line")
	clues := fs.Int("clues", 1_000_000, "synthetic clues for the in-process run")
	sqlClues := fs.Int("sql-clues", 1_000_000, "synthetic clues for the comparison with PostGIS")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rep, err := bench.Hotspots(bench.HotspotsOptions{Clues: *clues})
	if err != nil {
		return err
	}
	o := bench.HotspotsOptions{Clues: *sqlClues}
	small, err := bench.Hotspots(o)
	if err != nil {
		return err
	}
	cl, err := pgcluster.Start(ctx, c.dataDir, pgcluster.Options{})
	if err != nil {
		return err
	}
	pool, err := scratchDB(ctx, cl, "bench_hotspots")
	if err != nil {
		return err
	}
	defer pool.Close()
	sq, err := bench.HotspotsSQL(ctx, pool, o)
	if err != nil {
		return err
	}
	sqlMS, n := sq.MS, sq.Rows
	fmt.Fprintf(stdout, "bench hotspots: Gi* end to end (binning, weights, statistic, FDR)\n")
	fmt.Fprintf(stdout, "%-30s %12s %12s %12s\n", "", fmt.Sprintf("%d", rep.Clues), fmt.Sprintf("%d", small.Clues), fmt.Sprintf("SQL %d", small.Clues))
	fmt.Fprintf(stdout, "%-30s %12.1f %12.1f %12.1f\n", "total ms", rep.TotalMS, small.TotalMS, sqlMS)
	fmt.Fprintf(stdout, "%-30s %12.1f\n", "  binning ms", rep.BinMS)
	fmt.Fprintf(stdout, "%-30s %12.1f\n", "  weights ms", rep.WeightsMS)
	fmt.Fprintf(stdout, "%-30s %12.1f\n", "  Gi* ms", rep.GiStarMS)
	fmt.Fprintf(stdout, "%-30s %12.1f\n", "  p-values + FDR ms", rep.FDRMS)
	fmt.Fprintf(stdout, "%-30s %12d %12d\n", "cells (rows answered)", rep.Cells, n)
	fmt.Fprintf(stdout, "%-30s %12d\n", "hot cells", rep.Hot)
	fmt.Fprintf(stdout, "%-30s %12d\n", "H3 cell mismatches (checked)", rep.Mismatches)
	fmt.Fprintf(stdout, "%-30s %12s %12.1f×\n", "ratio vs SQL (same clues)", "", sqlMS/small.TotalMS)
	fmt.Fprintf(stdout, "targets: ≤ 1000 ms %s; faster than SQL %s\n", passFail(rep.TotalMS <= 1000), passFail(small.TotalMS < sqlMS))
	if *asJSON {
		out, _ := json.Marshal(map[string]any{"clues": rep.Clues, "ms": rep.TotalMS, "sql_ms": sqlMS, "sql_clues": small.Clues, "ratio_vs_sql": sqlMS / small.TotalMS})
		fmt.Fprintln(stdout, string(out))
	}
	return nil
}

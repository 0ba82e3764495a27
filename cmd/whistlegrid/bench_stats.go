package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/access"
	"whistlegrid/api"
	"whistlegrid/demo"
	"whistlegrid/geo"
	"whistlegrid/grid"
	"whistlegrid/internal/pgcluster"
	"whistlegrid/internal/xlsx"
	"whistlegrid/whistle"
)

// statsTiming is one measured query of `whistlegrid bench stats`.
type statsTiming struct {
	Name  string  `json:"name"`
	Ms    float64 `json:"ms"`
	Ratio float64 `json:"ratio"`
	Rows  int     `json:"rows"`
}

// statsResult is what `whistlegrid bench stats` measures.
type statsResult struct {
	Clues         int           `json:"clues"`
	Whistles      int           `json:"whistles"`
	ScanMs        float64       `json:"scan_ms"`
	Timings       []statsTiming `json:"timings"`
	WorstRatio    float64       `json:"worst_ratio"`
	Worst         string        `json:"worst"`
	Target        float64       `json:"target_ratio"`
	ExportRows    int           `json:"export_rows"`
	ExportMs      float64       `json:"export_ms"`
	ExportBytes   int64         `json:"export_bytes"`
	ExportRSSMiB  float64       `json:"export_rss_mib"`
	RSSBeforeMiB  float64       `json:"rss_before_mib"`
	ExportKind    string        `json:"export_kind"`
	WhistleExport int           `json:"whistle_export_rows"`
}

// benchStats loads the demo with its year of history into a scratch
// database (or reuses the one a former run left, --reuse), then times, as
// the command center, every grouping of GET /api/v1/stats and of
// /api/v1/stats/clues over the history's whole year, and the assessment
// of each calendar year the history touches, each the median of --runs,
// beside the baseline: SELECT count(*) over the same year's clues. Target:
// every one within 20× the baseline. Then it exports 100,000 rows as xlsx
// over HTTP from an in-process server and prints the process's peak RSS
// during the export (VmHWM, reset before it): the demo has ~29,000
// whistles, so the 100,000 rows are whistles when there are that many and
// clues otherwise, and the whistles are exported too.
func benchStats(ctx context.Context, args []string, c config, log *slog.Logger, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench stats", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "end with one JSON line")
	runs := fs.Int("runs", 3, "runs of each query (the median is reported)")
	reuse := fs.Bool("reuse", true, "reuse the bench_stats database of a former run when it holds the history")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cl, err := pgcluster.Start(ctx, c.dataDir, pgcluster.Options{})
	if err != nil {
		return err
	}
	pool, err := statsDemo(ctx, cl, *reuse, log)
	if err != nil {
		return err
	}
	defer pool.Close()
	placer, err := grid.NewPlacer(ctx, pool, grid.IndexOptions{})
	if err != nil {
		return err
	}
	store := whistle.NewStore(pool, placer, whistle.Options{})
	res := statsResult{Target: 20}
	var from, to time.Time
	if err := pool.QueryRow(ctx, `SELECT count(*), min(reported_at), max(reported_at) FROM clues`).Scan(&res.Clues, &from, &to); err != nil {
		return err
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM whistles`).Scan(&res.Whistles); err != nil {
		return err
	}
	to = to.Add(time.Microsecond)
	fmt.Fprintf(stdout, "bench stats: %d clues, %d whistles from %s to %s, as the command center, median of %d runs\n",
		res.Clues, res.Whistles, from.In(geo.Beijing).Format("2006-01-02"), to.In(geo.Beijing).Format("2006-01-02"), *runs)
	median := func(f func() (int, error)) (float64, int, error) {
		var ds []float64
		n := 0
		for range *runs {
			t0 := time.Now()
			var err error
			if n, err = f(); err != nil {
				return 0, 0, err
			}
			ds = append(ds, float64(time.Since(t0).Microseconds())/1000)
		}
		sort.Float64s(ds)
		return ds[len(ds)/2], n, nil
	}
	scan, _, err := median(func() (int, error) {
		var n int
		return n, pool.QueryRow(ctx, `SELECT count(*) FROM clues WHERE reported_at >= $1 AND reported_at < $2`, from, to).Scan(&n)
	})
	if err != nil {
		return err
	}
	res.ScanMs = scan
	cmd := access.Scope{Role: access.RoleCommand, GridCode: "110119"} // 延庆区
	add := func(name string, f func() (int, error)) error {
		ms, n, err := median(f)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		t := statsTiming{Name: name, Ms: ms, Ratio: ms / scan, Rows: n}
		res.Timings = append(res.Timings, t)
		if t.Ratio > res.WorstRatio {
			res.WorstRatio, res.Worst = t.Ratio, name
		}
		return nil
	}
	for _, by := range whistle.StatsGroupings() {
		if err := add("stats by="+by, func() (int, error) {
			st, err := store.Stats(ctx, cmd, whistle.StatsQuery{From: from, To: to, By: by})
			return len(st.Groups), err
		}); err != nil {
			return err
		}
	}
	for _, by := range whistle.ClueGroupings() {
		if err := add("stats/clues by="+by, func() (int, error) {
			st, err := store.CountClues(ctx, cmd, whistle.StatsQuery{From: from, To: to, By: by})
			return len(st.Groups), err
		}); err != nil {
			return err
		}
	}
	for y := from.In(geo.Beijing).Year(); y <= to.In(geo.Beijing).Year(); y++ {
		if err := add("assessment "+strconv.Itoa(y), func() (int, error) {
			a, err := store.Assessment(ctx, cmd, y)
			return len(a.Units) + len(a.Townships), err
		}); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "\n%-28s %10s %8s %6s\n", "query", "ms", "× scan", "groups")
	fmt.Fprintf(stdout, "%-28s %10.1f %8s %6s\n", "SELECT count(*) clues (base)", scan, "1.0", "")
	for _, t := range res.Timings {
		fmt.Fprintf(stdout, "%-28s %10.1f %8.1f %6d\n", t.Name, t.Ms, t.Ratio, t.Rows)
	}
	fmt.Fprintf(stdout, "worst: %s at %.1f× the scan (target ≤ %.0f×) %s\n", res.Worst, res.WorstRatio, res.Target, passFail(res.WorstRatio <= res.Target))

	if err := benchExport(ctx, pool, placer, &res, stdout); err != nil {
		return err
	}
	if *asJSON {
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(b))
	}
	return nil
}

// statsDemo is the bench_stats database with the demo and its year of
// history: reused when asked and complete, else made anew.
func statsDemo(ctx context.Context, cl *pgcluster.Cluster, reuse bool, log *slog.Logger) (*pgxpool.Pool, error) {
	if reuse {
		if pool, err := pgxpool.New(ctx, cl.URL("bench_stats")); err == nil {
			var n int
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM whistles`).Scan(&n); err == nil && n > 1000 {
				log.Info("bench: reusing bench_stats", slog.Int("whistles", n))
				return pool, nil
			}
			pool.Close()
		}
	}
	pool, err := freshDemo(ctx, cl, "bench_stats", log)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	if _, err := demo.LoadHistory(ctx, pool, demo.HistoryOptions{Logger: log}); err != nil {
		pool.Close()
		return nil, err
	}
	log.Info("bench: demo history loaded", slog.Duration("took", time.Since(t0).Round(time.Second)))
	return pool, nil
}

// benchExport exports xlsx.MaxRows rows over HTTP from an in-process
// server and records the process's peak RSS during it.
func benchExport(ctx context.Context, pool *pgxpool.Pool, placer *grid.Placer, res *statsResult, stdout io.Writer) error {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := api.New(api.Config{Pool: pool, Logger: quiet, Placer: placer, Version: version})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	base := "http://" + ln.Addr().String()
	hc := &http.Client{Timeout: 10 * time.Minute}
	token, err := benchLogin(hc, base)
	if err != nil {
		return err
	}
	get := func(path string) (int64, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			return n, fmt.Errorf("GET %s: status %d", path, resp.StatusCode)
		}
		return n, err
	}
	// the 100,000 rows: whistles if there are that many, else the newest clues
	kind, path := "whistles", "/api/v1/whistles?format=xlsx"
	rows := min(res.Whistles, xlsx.MaxRows)
	if res.Whistles < xlsx.MaxRows {
		var from time.Time
		if err := pool.QueryRow(ctx, `SELECT reported_at FROM clues ORDER BY reported_at DESC, id DESC OFFSET $1 LIMIT 1`, xlsx.MaxRows-1).Scan(&from); err != nil {
			return err
		}
		kind, path = "clues", "/api/v1/clues?format=xlsx&from="+from.UTC().Format(time.RFC3339Nano)
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM clues WHERE reported_at >= $1`, from).Scan(&rows); err != nil {
			return err
		}
		// the whistles too, all of them
		t0 := time.Now()
		if _, err := get("/api/v1/whistles?format=xlsx"); err != nil {
			return err
		}
		res.WhistleExport = res.Whistles
		fmt.Fprintf(stdout, "\nxlsx of all %d whistles: %.1f s\n", res.Whistles, time.Since(t0).Seconds())
	}
	before, err := resetPeakRSS()
	if err != nil {
		return err
	}
	t0 := time.Now()
	n, err := get(path)
	if err != nil {
		return err
	}
	peak, err := peakRSS()
	if err != nil {
		return err
	}
	res.ExportKind, res.ExportRows, res.ExportBytes = kind, rows, n
	res.ExportMs = float64(time.Since(t0).Milliseconds())
	res.RSSBeforeMiB, res.ExportRSSMiB = before, peak
	fmt.Fprintf(stdout, "xlsx of %d %s: %.1f s, %.1f MiB file; peak RSS of the whole process during it %.1f MiB (%.1f MiB before; target < 200) %s\n",
		rows, kind, res.ExportMs/1000, float64(n)/(1<<20), peak, before, passFail(peak < 200))
	return nil
}

// resetPeakRSS resets the process's peak RSS (Linux: 5 > clear_refs) and
// returns the RSS now, in MiB.
func resetPeakRSS() (float64, error) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return 0, fmt.Errorf("reset the peak RSS: %w", err)
	}
	return procStatus("VmRSS")
}

// peakRSS is the process's peak RSS since the last reset, in MiB.
func peakRSS() (float64, error) { return procStatus("VmHWM") }

func procStatus(field string) (float64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/self/status", field)
}

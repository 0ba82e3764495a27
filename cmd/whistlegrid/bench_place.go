package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/demo"
	"whistlegrid/internal/bench"
	"whistlegrid/internal/pgcluster"
)

// Targets of the placement benchmark (issue "Placement").
const (
	placeMinRatioVsJoin  = 50   // in process vs PostGIS set-based join, points/s
	placeMinRatioVsQuery = 1000 // in process vs one PostGIS query per point
	placeMaxDemoNs       = 200  // ns per point on the demo, one core
	placeMaxBeijingScale = 2    // Beijing's ns per point over the demo's
)

// placeSet is one data set the placement benchmark runs on: a database of
// its own in the private cluster, filled by load when it has no grids.
type placeSet struct {
	name, db string
	load     func(ctx context.Context, pool *pgxpool.Pool, c config, log *slog.Logger) error
}

func placeSets() []placeSet {
	return []placeSet{
		{"demo", "bench_demo", func(ctx context.Context, pool *pgxpool.Pool, c config, log *slog.Logger) error {
			_, err := demo.Load(ctx, pool, demo.Options{Password: c.demoPassword, Logger: log})
			return err
		}},
		{"beijing", "bench_beijing", func(ctx context.Context, pool *pgxpool.Pool, _ config, log *slog.Logger) error {
			_, err := demo.LoadBeijing(ctx, pool, demo.BeijingOptions{Logger: log})
			return err
		}},
	}
}

// placeJSON is the --json line: the demo's figures, and Beijing's under
// "beijing".
type placeJSON struct {
	placeFigures
	Beijing placeFigures `json:"beijing"`
}

type placeFigures struct {
	NsPerPoint       float64 `json:"ns_per_point"`
	NsPerPointBatch  float64 `json:"ns_per_point_batch"`
	PointsPerS       float64 `json:"points_per_s"`
	PostGISQueryPerS float64 `json:"postgis_query_per_s"`
	PostGISJoinPerS  float64 `json:"postgis_join_per_s"`
	RatioVsQuery     float64 `json:"ratio_vs_query"`
	RatioVsJoin      float64 `json:"ratio_vs_join"`
	Mismatches       int     `json:"mismatches"`
}

func figures(b bench.PlaceReport) placeFigures {
	return placeFigures{b.NsPerPoint, b.NsPerPointBatch, b.PointsPerS, b.PostGISQueryPerS, b.PostGISJoinPerS, b.RatioVsQuery, b.RatioVsJoin, b.Mismatches}
}

// benchPlace is `whistlegrid bench place [--json] [--full]`: the in-memory
// placement index against PostGIS, per point and set-based, on the 延庆区
// demo and on the Beijing-scale set, each in a database of its own in the
// private cluster (bench_demo, bench_beijing), created and loaded on the
// first run. --full checks every vertex and edge midpoint of every
// household grid instead of a sample. It fails when the index and PostGIS
// disagree on any point.
func benchPlace(ctx context.Context, args []string, c config, log *slog.Logger, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench place", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "end with one JSON line")
	full := fs.Bool("full", false, "verify every vertex and edge midpoint (slower)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cl, err := pgcluster.Start(ctx, c.dataDir, pgcluster.Options{})
	if err != nil {
		return err
	}
	var results []bench.PlaceReport
	for _, s := range placeSets() {
		b, err := benchPlaceSet(ctx, cl, s, c, log, *full)
		if err != nil {
			return fmt.Errorf("bench place: %s: %w", s.name, err)
		}
		results = append(results, b)
	}
	d, bj := results[0], results[1]
	printPlaceTable(stdout, d, bj, *full)
	printMemoryLatency(stdout)
	if *asJSON {
		line, err := json.Marshal(placeJSON{figures(d), figures(bj)})
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(line))
	}
	if n := d.Mismatches + bj.Mismatches; n > 0 {
		return fmt.Errorf("bench place: the index and PostGIS disagree on %d points", n)
	}
	return nil
}

// benchPlaceSet makes sure the set's database exists, is migrated and
// loaded, and runs the benchmark on it.
func benchPlaceSet(ctx context.Context, cl *pgcluster.Cluster, s placeSet, c config, log *slog.Logger, full bool) (bench.PlaceReport, error) {
	if err := createDatabase(ctx, cl, s.db); err != nil {
		return bench.PlaceReport{}, err
	}
	c.databaseURL = cl.URL(s.db)
	pool, err := openPool(ctx, c, log)
	if err != nil {
		return bench.PlaceReport{}, err
	}
	defer pool.Close()
	if err := migrate(ctx, pool, log); err != nil {
		return bench.PlaceReport{}, err
	}
	start := time.Now()
	switch err := s.load(ctx, pool, c, log); {
	case errors.Is(err, demo.ErrNotEmpty):
		log.Info("bench place: data set already loaded", "set", s.name, "database", s.db)
	case err != nil:
		return bench.PlaceReport{}, err
	default:
		log.Info("bench place: data set loaded", "set", s.name, "database", s.db, "took", time.Since(start).Round(time.Millisecond))
	}
	// statistics for the planner, as a database in service has them:
	// without them the PostGIS join may not use the spatial index
	if _, err := pool.Exec(ctx, `ANALYZE grids`); err != nil {
		return bench.PlaceReport{}, err
	}
	log.Info("bench place: measuring", "set", s.name, "full", full)
	return bench.Place(ctx, pool, bench.PlaceOptions{VerifyAll: full})
}

// createDatabase creates database name in the cluster unless it exists.
func createDatabase(ctx context.Context, cl *pgcluster.Cluster, name string) error {
	conn, err := pgx.Connect(ctx, cl.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil || exists {
		return err
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: another run was first
		return nil
	}
	return err
}

// printMemoryLatency writes the machine's read latency by working set,
// beside the size of each data set's hot part (index.Index.Bytes).
func printMemoryLatency(w io.Writer) {
	fmt.Fprintln(w)
	var rows []placeRow
	for _, mib := range []int{1, 2, 4, 8, 16, 64} {
		ns := float64(bench.MemoryLatency(mib << 20).Nanoseconds())
		rows = append(rows, placeRow{fmt.Sprintf("%d MiB", mib), [2]string{fmt.Sprintf("%.0f", ns), ""}})
	}
	writeColumns(w, []string{"working set, dependent random reads", "ns/read", ""}, rows)
}

// printPlaceTable writes the figures side by side, then the targets.
func printPlaceTable(w io.Writer, d, bj bench.PlaceReport, full bool) {
	verified := "a sample of vertices and edge midpoints"
	if full {
		verified = "every vertex and edge midpoint"
	}
	fmt.Fprintf(w, "placement: in-process index vs PostGIS, %d cores; verified on random points and %s\n\n", d.Cores, verified)
	num := func(format string, a, b any) [2]string {
		return [2]string{fmt.Sprintf(format, a), fmt.Sprintf(format, b)}
	}
	writeColumns(w, []string{"figure", "demo", "beijing"}, []placeRow{
		{"household grids", num("%d", d.HouseholdGrids, bj.HouseholdGrids)},
		{"index build ms", num("%.0f", d.BuildMS, bj.BuildMS)},
		{"index MiB: hot part + leaves", [2]string{fmt.Sprintf("%.1f + %.1f", d.HotMiB, d.BlobMiB), fmt.Sprintf("%.1f + %.1f", bj.HotMiB, bj.BlobMiB)}},
		{"ns/point (chain), 1 core, Locate", num("%.0f", d.NsPerPoint, bj.NsPerPoint)},
		{fmt.Sprintf("ns/point (chain), 1 core, LocateAll x%d", bench.PlaceBatch), num("%.0f", d.NsPerPointBatch, bj.NsPerPointBatch)},
		{"ns/point with edge distance, 1 core", num("%.0f", d.NsPerPointEdge, bj.NsPerPointEdge)},
		{"points/s, 1 core", num("%.0f", d.PointsPerS, bj.PointsPerS)},
		{fmt.Sprintf("points/s, all %d cores", d.Cores), num("%.0f", d.PointsPerSAll, bj.PointsPerSAll)},
		{"PostGIS per-point query/s (1 connection)", num("%.0f", d.PostGISQueryPerS, bj.PostGISQueryPerS)},
		{"PostGIS set-based join points/s", num("%.0f", d.PostGISJoinPerS, bj.PostGISJoinPerS)},
		{"ratio vs query", num("%.0fx", d.RatioVsQuery, bj.RatioVsQuery)},
		{"ratio vs join", num("%.0fx", d.RatioVsJoin, bj.RatioVsJoin)},
		{"mismatches / verified points", [2]string{fmt.Sprintf("%d/%d", d.Mismatches, d.VerifiedPoints), fmt.Sprintf("%d/%d", bj.Mismatches, bj.VerifiedPoints)}},
	})
	fmt.Fprintln(w)
	both := func(ok func(b bench.PlaceReport) bool) [2]string { return [2]string{passFail(ok(d)), passFail(ok(bj))} }
	writeColumns(w, []string{"target", "demo", "beijing"}, []placeRow{
		{fmt.Sprintf("in process >= %dx the join rate", placeMinRatioVsJoin),
			both(func(b bench.PlaceReport) bool { return b.RatioVsJoin >= placeMinRatioVsJoin })},
		{fmt.Sprintf("in process >= %dx the query rate", placeMinRatioVsQuery),
			both(func(b bench.PlaceReport) bool { return b.RatioVsQuery >= placeMinRatioVsQuery })},
		{fmt.Sprintf("<= %d ns/point on the demo", placeMaxDemoNs), [2]string{passFail(d.NsPerPoint <= placeMaxDemoNs), "-"}},
		{fmt.Sprintf("Beijing mean <= %dx the demo's, Locate (is %.2fx)", placeMaxBeijingScale, bj.NsPerPoint/d.NsPerPoint),
			[2]string{"-", passFail(bj.NsPerPoint <= placeMaxBeijingScale*d.NsPerPoint)}},
		{fmt.Sprintf("Beijing mean <= %dx the demo's, LocateAll (is %.2fx)", placeMaxBeijingScale, bj.NsPerPointBatch/d.NsPerPointBatch),
			[2]string{"-", passFail(bj.NsPerPointBatch <= placeMaxBeijingScale*d.NsPerPointBatch)}},
		{"0 mismatches", both(func(b bench.PlaceReport) bool { return b.Mismatches == 0 })},
	})
}

// placeRow is a row of a table: its name and the demo's and Beijing's cells.
type placeRow struct {
	name  string
	cells [2]string
}

// writeColumns writes a table with the names left-aligned and the cells
// right-aligned under head.
func writeColumns(w io.Writer, head []string, rows []placeRow) {
	wn, wc := len(head[0]), max(len(head[1]), len(head[2]))
	for _, r := range rows {
		wn = max(wn, len(r.name))
		wc = max(wc, len(r.cells[0]), len(r.cells[1]))
	}
	fmt.Fprintf(w, "%-*s  %*s  %*s\n", wn, head[0], wc, head[1], wc, head[2])
	for _, r := range rows {
		fmt.Fprintf(w, "%-*s  %*s  %*s\n", wn, r.name, wc, r.cells[0], wc, r.cells[1])
	}
}

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
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"

	"whistlegrid/api"
	"whistlegrid/demo"
	"whistlegrid/grid"
	"whistlegrid/internal/bench"
	"whistlegrid/internal/pgcluster"
)

// cluesResult is what `whistlegrid bench clues` measures.
type cluesResult struct {
	Clients      int     `json:"clients"`
	Clues        int     `json:"clues"`
	CluesPerS    float64 `json:"clues_per_s"`
	P50ms        float64 `json:"p50_ms"`
	P99ms        float64 `json:"p99_ms"`
	Errors       int     `json:"errors"`
	Whistles     int     `json:"whistles"`
	BaselinePerS float64 `json:"baseline_insert_per_s"`
	BaselineP99  float64 `json:"baseline_p99_ms"`
	// DBCPUms and GoCPUms are the CPU time per clue of the cluster (every
	// process of it) and of this process (server and HTTP clients), in ms:
	// on a shared machine the cost, where the rate is the cost and the
	// load beside it.
	DBCPUms float64 `json:"db_cpu_ms_per_clue"`
	GoCPUms float64 `json:"go_cpu_ms_per_clue"`
}

// benchClues posts clues over HTTP from concurrent clients to a server
// running in this process on a fresh copy of the demo, and beside it runs
// the baseline: the same number of clients each inserting a bare clue row
// straight into PostgreSQL (no placement, rules, whistles, events).
func benchClues(ctx context.Context, args []string, c config, log *slog.Logger, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench clues", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "end with one JSON line")
	// 16 clients keep the 2-core box busy; more only queue (the same
	// clues/s at 32, with twice the latency)
	clients := fs.Int("clients", 16, "concurrent HTTP clients")
	dur := fs.Duration("duration", 30*time.Second, "how long to post")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the durable HTTP run to this file")
	nonDurable := fs.Bool("non-durable", true, "also run with synchronous_commit off, printed beside and labelled (not how it serves)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cl, err := pgcluster.Start(ctx, c.dataDir, pgcluster.Options{})
	if err != nil {
		return err
	}
	pool, err := freshDemo(ctx, cl, "bench_clues", log)
	if err != nil {
		return err
	}
	defer pool.Close()
	placer, err := grid.NewPlacer(ctx, pool, grid.IndexOptions{})
	if err != nil {
		return err
	}
	pts, cats, err := benchInputs(ctx, pool)
	if err != nil {
		return err
	}
	settings, err := durability(ctx, pool)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "bench clues: %d clients for %s against an in-process server on a fresh demo; the cluster: %s\n", *clients, *dur, settings)
	var lastCPU [2]time.Duration // the database's and this process's, in the last run
	run := func(pool *pgxpool.Pool, prefix string, profile string) ([]time.Duration, int, time.Duration, error) {
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		srv := api.New(api.Config{Pool: pool, Logger: quiet, Placer: placer, Version: version})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, 0, 0, err
		}
		hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = hs.Serve(ln) }()
		defer hs.Close()
		base := "http://" + ln.Addr().String()
		tr := &http.Transport{MaxIdleConnsPerHost: *clients, MaxConnsPerHost: *clients}
		defer tr.CloseIdleConnections()
		hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		token, err := benchLogin(hc, base)
		if err != nil {
			return nil, 0, 0, err
		}
		var seq atomic.Int64
		post := func(rnd *rand.Rand) error {
			n := seq.Add(1)
			// a few metres from a household, inside the district: a household
			// by the district's edge must not send the clue out of it
			p := pts[rnd.IntN(len(pts))]
			for range 8 {
				q := orb.Point{p[0] + (rnd.Float64()-0.5)*1e-4, p[1] + (rnd.Float64()-0.5)*1e-4}
				if _, err := placer.Place(q); err == nil {
					p = q
					break
				}
			}
			body, _ := json.Marshal(map[string]any{
				"source": "hotline", "external_id": fmt.Sprintf("%s-%d", prefix, n), "category": cats[rnd.IntN(len(cats))],
				"text": "压测线索", "lon": p[0], "lat": p[1],
				"reported_at": time.Now().Format(time.RFC3339),
			})
			req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/clues", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			answer, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				return fmt.Errorf("status %d: %s", resp.StatusCode, answer)
			}
			return nil
		}
		if profile != "" {
			f, err := os.Create(profile)
			if err != nil {
				return nil, 0, 0, err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return nil, 0, 0, err
			}
			defer pprof.StopCPUProfile()
		}
		db0, err := bench.ClusterCPU(cl.Dir)
		if err != nil {
			return nil, 0, 0, err
		}
		go0 := bench.ProcessCPU()
		lat, errs, took := hammer(ctx, *clients, *dur, post)
		db1, err := bench.ClusterCPU(cl.Dir)
		if err != nil {
			return nil, 0, 0, err
		}
		lastCPU = [2]time.Duration{db1 - db0, bench.ProcessCPU() - go0}
		return lat, errs, took, nil
	}
	lat, errs, took, err := run(pool, "bench", *cpuprofile)
	if err != nil {
		return err
	}
	res := cluesResult{Clients: *clients, Clues: len(lat), Errors: errs}
	res.CluesPerS = float64(len(lat)) / took.Seconds()
	res.P50ms, res.P99ms = percentileMS(lat, 0.50), percentileMS(lat, 0.99)
	res.DBCPUms, res.GoCPUms = perClueMS(lastCPU[0], len(lat)), perClueMS(lastCPU[1], len(lat))
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM whistles`).Scan(&res.Whistles); err != nil {
		return err
	}

	// Beside it, labelled: the same run with synchronous_commit off on the
	// server's connections, so a commit does not wait for its WAL flush
	// (an acknowledged clue can be lost in a crash: never how it serves).
	fast := cluesResult{Clients: *clients}
	if *nonDurable {
		fpool, err := nonDurablePool(ctx, pool)
		if err != nil {
			return err
		}
		flat, ferrs, ftook, err := run(fpool, "bench-nd", "")
		fpool.Close()
		if err != nil {
			return err
		}
		fast.Clues, fast.Errors = len(flat), ferrs
		fast.CluesPerS = float64(len(flat)) / ftook.Seconds()
		fast.P50ms, fast.P99ms = percentileMS(flat, 0.50), percentileMS(flat, 0.99)
		fast.DBCPUms, fast.GoCPUms = perClueMS(lastCPU[0], len(flat)), perClueMS(lastCPU[1], len(flat))
	}

	// The baseline: bare inserts of the same rows, same clients, same time.
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_clue_rows (LIKE clues INCLUDING DEFAULTS)`); err != nil {
		return err
	}
	var catID, gridID, townID int64
	if err := pool.QueryRow(ctx, `SELECT c.id, g.id, t.id FROM categories c, grids g JOIN grids t ON t.code = left(g.code, 9)
		WHERE c.depth = 3 AND g.level = 'household' LIMIT 1`).Scan(&catID, &gridID, &townID); err != nil {
		return err
	}
	var bseq atomic.Int64
	insert := func(rnd *rand.Rand) error {
		n := bseq.Add(1)
		p := pts[rnd.IntN(len(pts))]
		_, err := pool.Exec(ctx, `INSERT INTO bench_clue_rows (id, source, external_id, category_id, text, received_lon, received_lat, datum, location,
			grid_id, grid_level, township_id, township_level, near_edge, reported_at, received_at)
			VALUES ($1, 'hotline', $2, $3, '压测线索', $4, $5, 'wgs84', ST_SetSRID(ST_MakePoint($4, $5), 4326), $6, 'household', $7, 'township', false, now(), now())`,
			n, fmt.Sprintf("bench-%d", n), catID, p[0], p[1], gridID, townID)
		return err
	}
	blat, berrs, btook := hammer(ctx, *clients, *dur, insert)
	if berrs > 0 {
		return fmt.Errorf("bench clues: %d baseline inserts failed", berrs)
	}
	res.BaselinePerS = float64(len(blat)) / btook.Seconds()
	res.BaselineP99 = percentileMS(blat, 0.99)

	ndCol := func(f string, v any) string {
		if !*nonDurable {
			return "-"
		}
		return fmt.Sprintf(f, v)
	}
	fmt.Fprintf(stdout, "%-34s %14s %22s %14s\n", "", "durable", "sync_commit=off (NOT", "bare INSERT")
	fmt.Fprintf(stdout, "%-34s %14s %22s %14s\n", "", "(how it serves)", "durable, comparison)", "(durable)")
	fmt.Fprintf(stdout, "%-34s %14.0f %22s %14.0f\n", "clues/s", res.CluesPerS, ndCol("%.0f", fast.CluesPerS), res.BaselinePerS)
	fmt.Fprintf(stdout, "%-34s %14.2f %22s %14s\n", "p50 latency (ms)", res.P50ms, ndCol("%.2f", fast.P50ms), "")
	fmt.Fprintf(stdout, "%-34s %14.2f %22s %14.2f\n", "p99 latency (ms)", res.P99ms, ndCol("%.2f", fast.P99ms), res.BaselineP99)
	fmt.Fprintf(stdout, "%-34s %14d %22s %14d\n", "requests", res.Clues, ndCol("%d", fast.Clues), len(blat))
	fmt.Fprintf(stdout, "%-34s %14d %22s %14d\n", "errors", res.Errors, ndCol("%d", fast.Errors), berrs)
	fmt.Fprintf(stdout, "%-34s %14.2f %22s\n", "database CPU per clue (ms)", res.DBCPUms, ndCol("%.2f", fast.DBCPUms))
	fmt.Fprintf(stdout, "%-34s %14.2f %22s\n", "Go CPU per clue (ms, with clients)", res.GoCPUms, ndCol("%.2f", fast.GoCPUms))
	fmt.Fprintf(stdout, "%-34s %14d\n", "whistles raised or joined into", res.Whistles)
	fmt.Fprintf(stdout, "%-34s %14.2f\n", "ratio to bare INSERT", res.CluesPerS/res.BaselinePerS)
	fmt.Fprintf(stdout, "targets (durable): ≥1000 clues/s %s; p99 ≤ 50 ms %s\n", passFail(res.CluesPerS >= 1000), passFail(res.P99ms <= 50))
	if *asJSON {
		out := map[string]any{"durable": true, "clues_per_s": res.CluesPerS, "p50_ms": res.P50ms, "p99_ms": res.P99ms, "errors": res.Errors,
			"baseline_insert_per_s": res.BaselinePerS, "baseline_p99_ms": res.BaselineP99,
			"db_cpu_ms_per_clue": res.DBCPUms, "go_cpu_ms_per_clue": res.GoCPUms}
		if *nonDurable {
			out["non_durable"] = map[string]any{"synchronous_commit": "off", "clues_per_s": fast.CluesPerS, "p50_ms": fast.P50ms, "p99_ms": fast.P99ms, "errors": fast.Errors}
		}
		b, _ := json.Marshal(out)
		fmt.Fprintln(stdout, string(b))
	}
	return nil
}

// hammer runs f from n goroutines for d, returning each success's latency,
// the error count and the time taken.
func hammer(ctx context.Context, n int, d time.Duration, f func(*rand.Rand) error) ([]time.Duration, int, time.Duration) {
	var mu sync.Mutex
	var all []time.Duration
	var errs atomic.Int64
	var firstErr sync.Once
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(i), 99))
			var mine []time.Duration
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				if err := f(rnd); err != nil {
					errs.Add(1)
					firstErr.Do(func() { slog.Warn("bench: a request failed (first failure shown)", slog.Any("err", err)) })
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	return all, int(errs.Load()), time.Since(start)
}

// perClueMS is d over n clues, in milliseconds.
func perClueMS(d time.Duration, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(d.Microseconds()) / 1000 / float64(n)
}

func percentileMS(d []time.Duration, q float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[min(len(s)-1, int(q*float64(len(s))))].Microseconds()) / 1000
}

// benchInputs returns household locations and the leaf categories.
func benchInputs(ctx context.Context, pool *pgxpool.Pool) ([][2]float64, []string, error) {
	rows, err := pool.Query(ctx, `SELECT ST_X(location), ST_Y(location) FROM households ORDER BY id`)
	if err != nil {
		return nil, nil, err
	}
	pts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]float64, error) {
		var p [2]float64
		err := r.Scan(&p[0], &p[1])
		return p, err
	})
	if err != nil {
		return nil, nil, err
	}
	rows, err = pool.Query(ctx, `SELECT code FROM categories c WHERE NOT EXISTS (SELECT 1 FROM categories k WHERE k.parent_id = c.id) ORDER BY code`)
	if err != nil {
		return nil, nil, err
	}
	cats, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return pts, cats, err
}

func benchLogin(hc *http.Client, base string) (string, error) {
	body, _ := json.Marshal(map[string]string{"username": "command", "password": "demo"})
	resp, err := hc.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
		return "", errors.New("bench: login as command failed")
	}
	return out.Token, nil
}

// freshDemo drops and recreates database name in the private cluster and
// loads the demo (without history) into it.
func freshDemo(ctx context.Context, cl *pgcluster.Cluster, name string, log *slog.Logger) (*pgxpool.Pool, error) {
	pool, err := scratchDB(ctx, cl, name)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	if _, err := demo.Load(ctx, pool, demo.Options{}); err != nil {
		pool.Close()
		return nil, err
	}
	log.Info("bench: demo loaded", slog.String("database", name), slog.Duration("took", time.Since(t0).Round(time.Millisecond)))
	return pool, nil
}

// durability reads the settings that make a commit durable, to print them
// beside the figures: the run is what the server's settings make it.
func durability(ctx context.Context, pool *pgxpool.Pool) (string, error) {
	var fsync, fpw, sc string
	err := pool.QueryRow(ctx, `SELECT current_setting('fsync'), current_setting('full_page_writes'), current_setting('synchronous_commit')`).Scan(&fsync, &fpw, &sc)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("fsync=%s full_page_writes=%s synchronous_commit=%s", fsync, fpw, sc), nil
}

// nonDurablePool is a second pool on pool's database whose connections
// commit with synchronous_commit off: a commit does not wait for its WAL
// flush, so a crash can lose what was acknowledged. The benches print runs
// on it beside the durable ones, labelled; it is never how the server runs.
func nonDurablePool(ctx context.Context, pool *pgxpool.Pool) (*pgxpool.Pool, error) {
	cfg := pool.Config().Copy()
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	return pgxpool.NewWithConfig(ctx, cfg)
}

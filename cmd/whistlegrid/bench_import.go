package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/ingest"
	"whistlegrid/internal/pgcluster"
)

// benchImport: whistlegrid bench import [--rows 1000000] [--live-rows 100000] [--clues-duration 10s] [--role bench_importer] [--cpuprofile F] [--json]
//
// It generates a hotline export of --rows rows (GBK CSV, addresses as
// callers give them) from a fresh copy of the demo, imports it in history
// mode end to end with `whistlegrid import hotline` as a child process
// (read, normalise, match, place, write; its peak RSS from the kernel),
// then COPYs the same file into a bare table of text columns in the same
// database, and prints both rates and their ratio (target ≥ 0.25) and the
// peak RSS (target < 512 MiB); then live mode (through intake) on
// --live-rows more rows, beside `bench clues`' rate (run as a child for
// --clues-duration, its measuring unchanged). The imports run as --role,
// a login role that is no superuser with the rights on the tables the
// platform's own role has, as a production importer would ("" runs them
// as the cluster's superuser).
func benchImport(ctx context.Context, args []string, c config, log *slog.Logger, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench import", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "end with one JSON line")
	rows := fs.Int("rows", 1_000_000, "rows of the history-mode file")
	liveRows := fs.Int("live-rows", 100_000, "rows of the live-mode file (0: skip live mode)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the history-mode import to this file")
	cluesDur := fs.Duration("clues-duration", 10*time.Second, "how long `bench clues` posts, for the rate printed beside live mode")
	role := fs.String("role", "bench_importer", "import as this role, made a login role that is no superuser with rights on the tables (\"\": as the cluster's superuser)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cl, err := pgcluster.Start(ctx, c.dataDir, pgcluster.Options{})
	if err != nil {
		return err
	}
	const dbName = "bench_import"
	pool, err := freshDemo(ctx, cl, dbName, log)
	if err != nil {
		return err
	}
	defer pool.Close()
	gen, err := ingest.NewHotlineGenerator(ctx, pool, 7)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "whistlegrid-bench-import")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	write := func(name string, first, n int) (string, int64, error) {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			return "", 0, err
		}
		bw := bufio.NewWriterSize(f, 1<<20)
		if err := gen.WriteCSV(bw, first, n, true, nil); err != nil {
			f.Close()
			return "", 0, err
		}
		if err := bw.Flush(); err != nil {
			f.Close()
			return "", 0, err
		}
		st, _ := f.Stat()
		return p, st.Size(), f.Close()
	}
	t0 := time.Now()
	histFile, size, err := write("history.csv", 0, *rows)
	if err != nil {
		return err
	}
	log.Info("bench: file written", slog.Int("rows", *rows), slog.Int64("bytes", size), slog.Duration("took", time.Since(t0).Round(time.Millisecond)))

	self, err := os.Executable()
	if err != nil {
		return err
	}
	url := cl.URL(dbName)
	if *role != "" {
		if url, err = plainRole(ctx, pool, url, *role); err != nil {
			return err
		}
	}
	runImport := func(file, mode string) (*ingest.Report, time.Duration, int64, error) {
		args := []string{"import", "hotline", file, "--mode", mode, "--json", "--database-url", url}
		if mode == "history" && *cpuprofile != "" {
			args = append(args, "--cpuprofile", *cpuprofile)
		}
		cmd := exec.CommandContext(ctx, self, args...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return nil, 0, 0, fmt.Errorf("bench: import %s: %v: %s", mode, err, errb.String())
		}
		took := time.Since(start)
		var rep ingest.Report
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			return nil, 0, 0, fmt.Errorf("bench: import report: %v: %s", err, out.String())
		}
		var rss int64
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = ru.Maxrss / 1024 // KiB on Linux
		}
		return &rep, took, rss, nil
	}
	rep, took, rss, err := runImport(histFile, "history")
	if err != nil {
		return err
	}
	rate := float64(rep.Read) / took.Seconds()

	// the baseline: the same file through COPY into a bare table
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `DROP TABLE IF EXISTS bench_copy; CREATE UNLOGGED TABLE bench_copy (`+bareColumns(len(ingest.GeneratedHeader))+`)`)
	if err != nil {
		conn.Release()
		return err
	}
	f, err := os.Open(histFile)
	if err != nil {
		conn.Release()
		return err
	}
	c0 := time.Now()
	tag, err := conn.Conn().PgConn().CopyFrom(ctx, f, `COPY bench_copy FROM STDIN (FORMAT csv, HEADER true, ENCODING 'GB18030')`)
	copyTook := time.Since(c0)
	f.Close()
	conn.Release()
	if err != nil {
		return fmt.Errorf("bench: copy: %w", err)
	}
	copyRate := float64(tag.RowsAffected()) / copyTook.Seconds()
	ratio := rate / copyRate

	var liveRate, cluesRate float64
	var liveRep *ingest.Report
	if *liveRows > 0 {
		liveFile, _, err := write("live.csv", *rows, *liveRows)
		if err != nil {
			return err
		}
		var lt time.Duration
		liveRep, lt, _, err = runImport(liveFile, "live")
		if err != nil {
			return err
		}
		liveRate = float64(liveRep.Read) / lt.Seconds()
		// beside it, POST /api/v1/clues' rate: `bench clues` itself, as a
		// child on its own fresh demo, with its own measuring
		cmd := exec.CommandContext(ctx, self, "bench", "clues", "--json", "--non-durable=false", "--duration", cluesDur.String())
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("bench: bench clues: %v: %s", err, errb.String())
		}
		lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
		var cr struct {
			CluesPerS float64 `json:"clues_per_s"`
		}
		if err := json.Unmarshal(lines[len(lines)-1], &cr); err != nil {
			return fmt.Errorf("bench: bench clues' JSON: %v: %s", err, out.String())
		}
		cluesRate = cr.CluesPerS
	}

	as := "the cluster's superuser"
	if *role != "" {
		as = "role " + *role + " (no superuser)"
	}
	fmt.Fprintf(stdout, "bench import: %d generated hotline rows, GBK CSV (%.1f MiB), imported as %s\n", *rows, float64(size)/(1<<20), as)
	fmt.Fprintf(stdout, "  %-34s %10.0f rows/s  (%.1f s; imported %d, unplaced %d, rejected %d)\n", "history mode, end to end", rate, took.Seconds(), rep.Imported, rep.Unplaced, rep.Rejected)
	fmt.Fprintf(stdout, "  %-34s %10.0f rows/s  (%.1f s)\n", "COPY into a bare table", copyRate, copyTook.Seconds())
	fmt.Fprintf(stdout, "  %-34s %10.2f      target >= 0.25  %s\n", "ratio", ratio, passFail(ratio >= 0.25))
	fmt.Fprintf(stdout, "  %-34s %10d MiB   target < 512    %s\n", "peak RSS of the importer", rss, passFail(rss < 512))
	fmt.Fprintf(stdout, "  precisions: %v\n", rep.Precisions)
	if liveRep != nil {
		fmt.Fprintf(stdout, "  %-34s %10.0f rows/s  (%d rows, imported %d, unplaced %d, rejected %d)\n", "live mode (through intake)", liveRate, liveRep.Read, liveRep.Imported, liveRep.Unplaced, liveRep.Rejected)
		fmt.Fprintf(stdout, "  %-34s %10.0f clues/s (its default clients, durable, %s)\n", "beside it: bench clues (POST)", cluesRate, *cluesDur)
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{
			"role": *role, "rows": rep.Read, "rows_per_s": round1(rate), "copy_rows_per_s": round1(copyRate), "ratio_vs_copy": round2(ratio),
			"peak_rss_mib": rss, "imported": rep.Imported, "unplaced": rep.Unplaced, "precisions": rep.Precisions,
			"live_rows": *liveRows, "live_rows_per_s": round1(liveRate), "bench_clues_per_s": round1(cluesRate),
		})
	}
	return nil
}

// plainRole makes role a login role that is no superuser (once per
// cluster) with every right on the tables and sequences of pool's
// database, and returns url connecting as it.
func plainRole(ctx context.Context, pool *pgxpool.Pool, url, role string) (string, error) {
	id := pgx.Identifier{role}.Sanitize()
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, role).Scan(&exists); err != nil {
		return "", err
	}
	stmts := []string{`GRANT ALL ON ALL TABLES IN SCHEMA public TO ` + id, `GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ` + id}
	if !exists {
		stmts = append([]string{`CREATE ROLE ` + id + ` LOGIN NOSUPERUSER`}, stmts...)
	}
	for _, q := range stmts {
		if _, err := pool.Exec(ctx, q); err != nil {
			return "", fmt.Errorf("bench: role %s: %w", role, err)
		}
	}
	var super bool
	if err := pool.QueryRow(ctx, `SELECT rolsuper FROM pg_roles WHERE rolname = $1`, role).Scan(&super); err != nil {
		return "", err
	}
	if super {
		return "", fmt.Errorf("bench: role %s is a superuser", role)
	}
	u, err := neturl.Parse(url)
	if err != nil {
		return "", err
	}
	u.User = neturl.User(role)
	return u.String(), nil
}

func bareColumns(n int) string {
	var b bytes.Buffer
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "c%d text", i)
	}
	return b.String()
}

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }
func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

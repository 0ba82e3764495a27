package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"sync/atomic"
	"time"

	"whistlegrid/access"
	"whistlegrid/grid"
	"whistlegrid/ingest"
	"whistlegrid/whistle"
)

func init() {
	for _, kind := range []string{"hotline", "places"} {
		importCommands[kind] = func(ctx context.Context, args []string, c config, log *slog.Logger, stdout io.Writer) error {
			return importOrders(ctx, kind, args, c, log, stdout, os.Stderr)
		}
	}
}

// importOrders: whistlegrid import hotline FILE [--mapping FILE] [--mode history|live] [--encoding utf8|gbk] [--writers 2] [--dry-run] [--json]
// and whistlegrid import places FILE [--encoding utf8|gbk] [--dry-run] [--json]; the
// progress bar goes to stderr when it is a terminal.
func importOrders(ctx context.Context, kind string, args []string, c config, log *slog.Logger, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import "+kind, flag.ContinueOnError)
	fs.StringVar(&c.databaseURL, "database-url", c.databaseURL, "PostgreSQL URL (default: the private cluster)")
	mapping := fs.String("mapping", "", "mapping file (JSON): column renames, category map, default datum")
	mode := fs.String("mode", "history", "history (past closed orders, no rules) or live (through intake)")
	encoding := fs.String("encoding", "", "CSV encoding: utf8 or gbk (default: detected)")
	dry := fs.Bool("dry-run", false, "report what would happen; write nothing")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	rejects := fs.String("rejects", "", "rejects file (CSV row,column,reason; default FILE.rejects.csv when rows are rejected)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the import to this file")
	writers := fs.Int("writers", 2, "connections a history import writes on at once")
	// flags may follow the file
	var file string
	rest := args
	for len(rest) > 0 {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		if file != "" {
			return fmt.Errorf("import: one file, got %q and %q", file, fs.Arg(0))
		}
		file, rest = fs.Arg(0), fs.Args()[1:]
	}
	if file == "" {
		return errors.New("import: a FILE is required")
	}
	enc, err := ingest.ParseEncoding(*encoding)
	if err != nil {
		return err
	}
	m, err := ingest.ParseMode(*mode)
	if err != nil {
		return err
	}
	var mp *ingest.Mapping
	if *mapping != "" {
		f, err := os.Open(*mapping)
		if err != nil {
			return err
		}
		mp, err = ingest.ReadMapping(f)
		f.Close()
		if err != nil {
			return err
		}
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if *cpuprofile != "" {
		pf, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	t0 := time.Now()
	pool, err := openMigrated(ctx, c, log)
	if err != nil {
		return err
	}
	defer pool.Close()
	placer, err := grid.NewPlacer(ctx, pool, grid.IndexOptions{})
	if err != nil {
		return err
	}
	im := ingest.NewImporter(pool, placer, whistle.NewStore(pool, placer, whistle.Options{}))
	log.Debug("import: ready", slog.Duration("took", time.Since(t0)))

	var rep *ingest.Report
	if kind == "places" {
		rep, err = im.ImportPlaces(ctx, f, ingest.PlacesOptions{DryRun: *dry, Encoding: enc, FileName: file, By: "cli"})
	} else {
		cr := &countingReader{r: f}
		bar := newProgressBar(stderr, st.Size())
		rejectsPath := *rejects
		if rejectsPath == "" {
			rejectsPath = file + ".rejects.csv"
		}
		rf, err := os.Create(rejectsPath)
		if err != nil {
			return err
		}
		rep, err = im.ImportHotline(ctx, cr, ingest.HotlineOptions{
			Mode: m, DryRun: *dry, Encoding: enc, Mapping: mp, FileName: file, By: "cli",
			Scope:    access.Scope{Role: access.RoleCommand, Username: "import:cli"},
			Progress: func(rows int64) { bar.update(rows, cr.n.Load()) },
			Rejects:  rf,
			Writers:  *writers,
		})
		bar.done()
		rf.Close()
		if err == nil && rep.Rejected == 0 && *rejects == "" {
			_ = os.Remove(rejectsPath)
		} else if err == nil {
			fmt.Fprintf(stderr, "rejects: %s\n", rejectsPath)
		}
		if err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(rep)
	}
	printReport(stdout, rep)
	return nil
}

func printReport(w io.Writer, r *ingest.Report) {
	fmt.Fprintf(w, "%s import of %s", r.Kind, r.File)
	if r.Mode != "" {
		fmt.Fprintf(w, " (%s)", r.Mode)
	}
	if r.Encoding != "" {
		fmt.Fprintf(w, ", read as %s", r.Encoding)
	}
	fmt.Fprintf(w, "\n  read        %d\n  imported    %d\n  duplicates  %d\n  rejected    %d\n", r.Read, r.Imported, r.Duplicates, r.Rejected)
	if r.Kind == "hotline" {
		fmt.Fprintf(w, "  unplaced    %d\n  precision:\n", r.Unplaced)
		for _, p := range ingest.Precisions {
			fmt.Fprintf(w, "    %-10s %d\n", p, r.Precisions[p])
		}
	}
	for _, rj := range r.Rejects {
		fmt.Fprintf(w, "  rejected row %d %s: %s\n", rj.Line, rj.Column, rj.Reason)
	}
	if int64(len(r.Rejects)) < r.Rejected {
		fmt.Fprintf(w, "  ... %d more in the rejects file\n", r.Rejected-int64(len(r.Rejects)))
	}
	fmt.Fprintf(w, "%s (%.1f s)\n", r.Message, r.Seconds)
}

// countingReader counts the bytes read, for the progress bar.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// progressBar draws on a terminal only (stderr a character device).
type progressBar struct {
	w     io.Writer
	total int64
	on    bool
	start time.Time
	last  time.Time
}

func newProgressBar(w io.Writer, total int64) *progressBar {
	b := &progressBar{w: w, total: total, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			b.on = true
		}
	}
	return b
}

func (b *progressBar) update(rows, bytes int64) {
	if !b.on || time.Since(b.last) < 200*time.Millisecond {
		return
	}
	b.last = time.Now()
	frac := 0.0
	if b.total > 0 {
		frac = min(1, float64(bytes)/float64(b.total))
	}
	const width = 30
	n := int(frac * width)
	bar := make([]byte, width)
	for i := range bar {
		bar[i] = '.'
		if i < n {
			bar[i] = '#'
		}
	}
	rate := float64(rows) / time.Since(b.start).Seconds()
	fmt.Fprintf(b.w, "\r[%s] %3.0f%% %d rows, %.0f rows/s ", bar, 100*frac, rows, rate)
}

func (b *progressBar) done() {
	if b.on {
		fmt.Fprintln(b.w)
	}
}

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
)

// benchmark is one `whistlegrid bench NAME`: it prints a table with its
// figures beside a baseline measured in the same run, and with --json ends
// with one JSON line.
type benchmark struct {
	about string
	run   func(ctx context.Context, args []string, c config, log *slog.Logger, stdout io.Writer) error
}

// benchmarks lists the benchmarks this build has.
func benchmarks() map[string]benchmark {
	return map[string]benchmark{
		"clues":    {"clue intake over HTTP from concurrent clients, beside bare INSERTs", benchClues},
		"live":     {"websocket fan-out of the events outbox to 1,000 clients, beside a fifth of them", benchLive},
		"hotspots": {"Gi* end to end over 1,000,000 clues, beside the same statistic in PostGIS SQL", benchHotspots},
		"place":    {"in-process placement vs PostGIS on the demo and Beijing [--full]", benchPlace},
		"paging":   {"first vs deep list pages (clues, whistles, Open311) on the demo year, beside count + OFFSET", benchPaging},
		"work":     {"each role's workbench queue on the demo's year, first page and page 20, beside a bare indexed SELECT", benchWork},
		"import":   {"hotline import (history, GBK CSV) vs COPY, peak RSS; live mode [--rows N --live-rows N]", benchImport},
		"stats":    {"every statistics grouping and the assessment over the demo year, beside SELECT count(*); a 100,000-row xlsx export's RSS", benchStats},
	}
}

func cmdBench(ctx context.Context, args []string, c config, log *slog.Logger, stdout io.Writer) error {
	all := benchmarks()
	if len(args) == 0 {
		names := make([]string, 0, len(all))
		for n := range all {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintln(stdout, "usage: whistlegrid bench NAME [--json]")
		if len(names) == 0 {
			fmt.Fprintln(stdout, "this build has no benchmarks yet")
		}
		for _, n := range names {
			fmt.Fprintf(stdout, "  %-10s %s\n", n, all[n].about)
		}
		return nil
	}
	b, ok := all[args[0]]
	if !ok {
		return fmt.Errorf("bench: no benchmark %q (run `whistlegrid bench` for the list)", args[0])
	}
	return b.run(ctx, args[1:], c, log, stdout)
}

func lookupEnv(k string) string { return os.Getenv(k) }

// passFail marks a benchmark target met or missed.
func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

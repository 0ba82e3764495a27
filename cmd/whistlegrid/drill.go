package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"whistlegrid/internal/drill"
)

// cmdDrill runs `whistlegrid drill failover`: see internal/drill and
// scripts/drill/failover.sh, which `make failover-drill` runs.
func cmdDrill(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "failover" {
		return errors.New("usage: whistlegrid drill failover --dir DIR [--clients 8] [--ws-clients 6] [--rate 80] [--warmup 20s] [--after 10s] [--timeout 180s]")
	}
	fs := flag.NewFlagSet("drill failover", flag.ContinueOnError)
	var cfg drill.Config
	fs.StringVar(&cfg.Dir, "dir", "", "run folder, which the drill fills (the postgres user must be able to pass through it)")
	fs.IntVar(&cfg.Clients, "clients", 8, "intake clients")
	fs.IntVar(&cfg.Streams, "ws-clients", 6, "websocket clients: two on each instance, the rest through HAProxy")
	fs.Float64Var(&cfg.Rate, "rate", 80, "clues per second over all intake clients")
	fs.DurationVar(&cfg.Warmup, "warmup", 20*time.Second, "load before the kill")
	fs.DurationVar(&cfg.After, "after", 10*time.Second, "load after the old primary has rejoined")
	fs.DurationVar(&cfg.Timeout, "timeout", 180*time.Second, "longest wait for each step")
	fs.BoolVar(&cfg.Async, "async", false, "control run: asynchronous replication, to see the drill count what it loses")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if cfg.Dir == "" {
		return errors.New("drill failover: --dir is required")
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cfg.Bin = exe
	if cfg.Dir, err = filepath.Abs(cfg.Dir); err != nil {
		return err
	}
	cfg.Progress = stderr
	res, err := drill.Run(ctx, cfg)
	if err != nil {
		return err
	}
	res.Report(stdout)
	if !res.Targets {
		return fmt.Errorf("drill failover: a target failed")
	}
	return nil
}

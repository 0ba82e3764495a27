// Command whistlegrid runs the grid-management platform for 街乡吹哨、部门报到.
//
//	whistlegrid serve [--addr :8080] [--demo]   serve the API, the live map and the pages
//	whistlegrid migrate                          apply the database migrations
//	whistlegrid demo [--seed N]                  load the 延庆区 demo into an empty database
//	whistlegrid user add --username U --role R [--grid CODE | --unit CODE]   create a user (password from WHISTLEGRID_PASSWORD or a prompt-free flag)
//	whistlegrid bench NAME                       run a benchmark (see `whistlegrid bench`)
//	whistlegrid import grids|people FILE [flags]  bring a district's grids or roster in (see README)
//	whistlegrid db start|stop|url                manage the private PostgreSQL cluster
//	whistlegrid drill failover --dir DIR         the failover drill (make failover-drill)
//	whistlegrid version
//
// Configuration: WHISTLEGRID_DATABASE_URL (when unset, a private PostgreSQL 15
// + PostGIS 3 cluster is started in .pgdata of the checkout),
// WHISTLEGRID_ADDR (default :8080), WHISTLEGRID_DEMO_PASSWORD (default demo),
// WHISTLEGRID_DATA_DIR (the private cluster's folder), WHISTLEGRID_LOG_LEVEL
// (debug, info, warn, error). Flags override the environment.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"whistlegrid/internal/pgcluster"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "whistlegrid:", err)
		}
		os.Exit(1)
	}
}

const usage = `whistlegrid: grid management for 街乡吹哨、部门报到

usage:
  whistlegrid serve [--addr :8080] [--demo]
  whistlegrid migrate
  whistlegrid demo [--seed N]
  whistlegrid user add --username U --role ROLE [--grid CODE] [--unit CODE] [--name NAME]
  whistlegrid import hotline FILE [--mapping FILE] [--mode history|live] [--encoding utf8|gbk] [--dry-run] [--json]
  whistlegrid import places FILE [--encoding utf8|gbk] [--dry-run] [--json]
  whistlegrid import grids FILE [--level L] [--datum wgs84|cgcs2000|gcj02] [--dry-run]
  whistlegrid import people FILE.xlsx [--dry-run]
  whistlegrid bench NAME [--json]
  whistlegrid db start|stop|url
  whistlegrid version

environment: WHISTLEGRID_DATABASE_URL, WHISTLEGRID_ADDR, WHISTLEGRID_DEMO_PASSWORD,
WHISTLEGRID_DATA_DIR, WHISTLEGRID_LOG_LEVEL, WHISTLEGRID_PASSWORD (for user add)
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("a subcommand is required")
	}
	env := envConfig()
	log := newLogger(stderr, env.logLevel)
	switch args[0] {
	case "serve":
		return cmdServe(ctx, args[1:], env, log, stdout)
	case "migrate":
		return cmdMigrate(ctx, args[1:], env, log, stdout)
	case "demo":
		return cmdDemo(ctx, args[1:], env, log, stdout)
	case "user":
		return cmdUser(ctx, args[1:], env, log, stdout)
	case "bench":
		return cmdBench(ctx, args[1:], env, log, stdout)
	case "import":
		return cmdImport(ctx, args[1:], env, log, stdout)
	case "db":
		return cmdDB(ctx, args[1:], env, stdout)
	case "drill":
		return cmdDrill(ctx, args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "whistlegrid", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown subcommand %q", args[0])
}

// config is what the environment says; flags override it.
type config struct {
	databaseURL  string
	addr         string
	demoPassword string
	dataDir      string
	logLevel     string
}

func envConfig() config {
	c := config{
		databaseURL:  os.Getenv("WHISTLEGRID_DATABASE_URL"),
		addr:         os.Getenv("WHISTLEGRID_ADDR"),
		demoPassword: os.Getenv("WHISTLEGRID_DEMO_PASSWORD"),
		dataDir:      os.Getenv("WHISTLEGRID_DATA_DIR"),
		logLevel:     os.Getenv("WHISTLEGRID_LOG_LEVEL"),
	}
	if c.addr == "" {
		c.addr = ":8080"
	}
	if c.demoPassword == "" {
		c.demoPassword = "demo"
	}
	if c.dataDir == "" {
		c.dataDir = filepath.Join(repoRoot(), ".pgdata")
	}
	return c
}

// repoRoot is the folder holding go.mod above the working directory, or the
// working directory itself.
func repoRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if d == filepath.Dir(d) {
			return wd
		}
	}
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	switch strings.ToLower(level) {
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// databaseURL is the configured URL, or the private cluster's after starting it.
func databaseURL(ctx context.Context, c config, log *slog.Logger) (string, error) {
	if c.databaseURL != "" {
		return c.databaseURL, nil
	}
	cl, err := pgcluster.Start(ctx, c.dataDir, pgcluster.Options{})
	if err != nil {
		return "", err
	}
	log.Info("private database cluster running", slog.String("dir", cl.Dir), slog.Int("port", cl.Port))
	return cl.URL(pgcluster.DefaultDatabase), nil
}

func cmdDB(ctx context.Context, args []string, c config, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("usage: whistlegrid db start|stop|url")
	}
	switch args[0] {
	case "start", "url":
		cl, err := pgcluster.Start(ctx, c.dataDir, pgcluster.Options{})
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, cl.URL(pgcluster.DefaultDatabase))
		return nil
	case "stop":
		return pgcluster.Stop(ctx, c.dataDir, "")
	}
	return fmt.Errorf("unknown db command %q: use start, stop or url", args[0])
}

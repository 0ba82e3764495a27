package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/access"
	"whistlegrid/api"
	"whistlegrid/attach"
	"whistlegrid/auth"
	"whistlegrid/demo"
	"whistlegrid/frontend"
	"whistlegrid/grid"
	"whistlegrid/hotspot"
	"whistlegrid/ledger"
	"whistlegrid/live"
	"whistlegrid/migrations"
	"whistlegrid/whistle"
)

func openPool(ctx context.Context, c config, log *slog.Logger) (*pgxpool.Pool, error) {
	url, err := databaseURL(ctx, c, log)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	if cfg.MaxConns < 16 {
		cfg.MaxConns = 16
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("database %s does not answer: %w", redact(url), err)
	}
	return pool, nil
}

// redact hides a password in a database URL for logs.
func redact(url string) string {
	at := strings.LastIndex(url, "@")
	scheme := strings.Index(url, "://")
	if at < 0 || scheme < 0 {
		return url
	}
	userinfo := url[scheme+3 : at]
	if i := strings.Index(userinfo, ":"); i >= 0 {
		return url[:scheme+3] + userinfo[:i] + ":***" + url[at:]
	}
	return url
}

// openMigrated opens the configured database and brings its schema up to date.
func openMigrated(ctx context.Context, c config, log *slog.Logger) (*pgxpool.Pool, error) {
	pool, err := openPool(ctx, c, log)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, pool, log); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

func migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	applied, err := migrations.Up(ctx, pool)
	if err != nil {
		return err
	}
	for _, a := range applied {
		log.Info("migration applied", slog.String("file", a))
	}
	return nil
}

func cmdMigrate(ctx context.Context, args []string, c config, log *slog.Logger, stdout io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.StringVar(&c.databaseURL, "database-url", c.databaseURL, "PostgreSQL URL (default: the private cluster)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pool, err := openMigrated(ctx, c, log)
	if err != nil {
		return err
	}
	defer pool.Close()
	fmt.Fprintln(stdout, "migrations: up to date")
	return nil
}

func cmdDemo(ctx context.Context, args []string, c config, log *slog.Logger, stdout io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.StringVar(&c.databaseURL, "database-url", c.databaseURL, "PostgreSQL URL (default: the private cluster)")
	seed := fs.Int64("seed", 0, "random seed (0: the demo's default)")
	history := fs.Bool("history", true, "also load a year of clues and whistles ending now")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pool, err := openMigrated(ctx, c, log)
	if err != nil {
		return err
	}
	defer pool.Close()
	sum, err := loadDemo(ctx, pool, *seed, c.demoPassword, *history, hotlineExportDir(c), log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo loaded: %+v\n", sum)
	return nil
}

// hotlineExportDir is where the demo writes its year's 12345 hotline
// exports before it imports them: demo-hotline/ in the data folder.
func hotlineExportDir(c config) string { return filepath.Join(c.dataDir, "demo-hotline") }

// loadDemo loads the 延庆区 demo and, with history, a year of clues and
// whistles ending now, its hotline orders imported from the exports it
// writes into exportDir.
func loadDemo(ctx context.Context, pool *pgxpool.Pool, seed int64, password string, history bool, exportDir string, log *slog.Logger) (demo.Summary, error) {
	start := time.Now()
	sum, err := demo.Load(ctx, pool, demo.Options{Seed: seed, Password: password, Logger: log})
	if err != nil {
		return sum, fmt.Errorf("demo: %w", err)
	}
	log.Info("demo loaded", slog.Duration("took", time.Since(start).Round(time.Millisecond)))
	if !history {
		return sum, nil
	}
	start = time.Now()
	h, err := demo.LoadHistory(ctx, pool, demo.HistoryOptions{Seed: seed, Logger: log, ExportDir: exportDir})
	if err != nil {
		return sum, fmt.Errorf("demo history: %w", err)
	}
	log.Info("demo history loaded", slog.Int("whistles", h.Whistles), slog.String("hotline_exports", h.Hotline.Dir),
		slog.Int("hotline_orders", h.Hotline.Orders), slog.Int64("hotline_unplaced", h.Hotline.Unplaced),
		slog.Duration("took", time.Since(start).Round(time.Millisecond)))
	return sum, nil
}

func cmdServe(ctx context.Context, args []string, c config, log *slog.Logger, stdout io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&c.addr, "addr", c.addr, "listen address")
	fs.StringVar(&c.databaseURL, "database-url", c.databaseURL, "PostgreSQL URL (default: the private cluster)")
	withDemo := fs.Bool("demo", false, "load the 延庆区 demo first when the database is empty")
	withHistory := fs.Bool("demo-history", true, "with --demo, also load a year of clues and whistles ending now")
	sweepEvery := fs.Duration("sweep-every", 30*time.Second, "how often to sweep whistle deadlines and ledger measures (0: never; run it on one or more instances)")
	hotspotEvery := fs.Duration("hotspot-every", time.Hour, "how often to scan for new and intensifying hot spots and file them as clues (0: never; safe on several instances)")
	attachDir := fs.String("attachments-dir", attachmentsDir(c), "folder of the uploaded photos and documents, content-addressed (env WHISTLEGRID_ATTACHMENTS_DIR)")
	sc, err := serveFlags(fs)
	if err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	proxies, err := parseProxies(*sc.trustedProxies)
	if err != nil {
		return err
	}
	origins, err := api.ParseCORSOrigins(*sc.corsOrigins)
	if err != nil {
		return fmt.Errorf("--cors-origins: %w", err)
	}
	// Each connection is a file: take all the process may have, and keep
	// the connections under it.
	files, err := raiseFileLimit()
	if err != nil {
		log.Warn("open file limit not raised", slog.Any("err", err))
	}
	maxConns := *sc.maxConns
	if files > 0 && uint64(maxConns)+fileReserve > files {
		capped := int(max(files, 2*fileReserve) - fileReserve)
		log.Warn("--max-conns lowered under the open file limit", slog.Int("max_conns", maxConns), slog.Uint64("file_limit", files), slog.Int("now", capped))
		maxConns = capped
	}

	pool, err := openMigrated(ctx, c, log)
	if err != nil {
		return err
	}
	defer pool.Close()
	if *withDemo {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM grids`).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			log.Info("empty database: loading the 延庆区 demo")
			if _, err := loadDemo(ctx, pool, 0, c.demoPassword, *withHistory, hotlineExportDir(c), log); err != nil {
				return err
			}
		}
	}

	start := time.Now()
	// built once, kept in step with grid changes from then on
	placer, err := grid.NewFollowingPlacer(ctx, pool, grid.IndexOptions{}, log)
	if err != nil {
		return fmt.Errorf("placement index: %w", err)
	}
	log.Info("placement index built", slog.Int("household_grids", placer.Index().Len()), slog.Duration("took", time.Since(start).Round(time.Millisecond)))
	hub := live.NewHub(pool, log, live.Options{})
	hubCtx, stopHub := context.WithCancel(context.Background())
	defer stopHub()
	hubDone := make(chan error, 1)
	go func() { hubDone <- hub.Run(hubCtx) }()
	hotspots := hotspot.NewStore(pool)
	blobs, err := attach.NewDisk(*attachDir)
	if err != nil {
		return err
	}
	log.Info("attachments stored", slog.String("dir", *attachDir))
	limits := api.Limits{
		HeaderTimeout: *sc.headerTimeout, BodyTimeout: *sc.bodyTimeout, RequestTimeout: *sc.requestTimeout,
		WriteTimeout: *sc.writeTimeout, IdleTimeout: *sc.idleTimeout, MaxConns: maxConns,
		Heavy: api.Gate{Slots: *sc.heavySlots, Queue: 2 * *sc.heavySlots},
	}
	srv := api.New(api.Config{Pool: pool, Logger: log, Frontend: frontend.Handler(), Placer: placer, Live: hub, Hotspots: hotspots, Version: version,
		Limits: limits, TrustedProxies: proxies, CORSOrigins: origins, Attachments: blobs})
	whistles := whistle.NewStore(pool, placer, whistle.Options{})
	if *sweepEvery > 0 {
		go whistles.RunSweeps(ctx, *sweepEvery, log)
		go ledger.NewStore(pool, nil).RunSweeps(ctx, *sweepEvery, log)             // the ledger's 三级督办, on the same once-only rule
		go whistles.RunUploadSweeps(ctx, *sweepEvery, blobs, *sc.uploadGrace, log) // loose uploads past their grace
	}
	if *hotspotEvery > 0 {
		go hotspots.RunScans(ctx, whistles, *hotspotEvery, hotspot.ScanOptions{}, log)
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	errc := make(chan error, 2)
	if *sc.metricsAddr != "" {
		mln, err := net.Listen("tcp", *sc.metricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		ms := &http.Server{Handler: srv.Metrics(), ReadHeaderTimeout: 10 * time.Second, WriteTimeout: time.Minute, IdleTimeout: time.Minute}
		defer ms.Close()
		go func() { errc <- fmt.Errorf("metrics: %w", ms.Serve(mln)) }()
		log.Info("serving metrics", slog.String("addr", mln.Addr().String()))
	}
	hs := srv.HTTPServer()
	go func() { errc <- hs.Serve(api.LimitListener(ln, srv.Limits().MaxConns)) }()
	printBanner(ctx, stdout, pool, ln.Addr().(*net.TCPAddr), *withDemo, c.demoPassword)
	l := srv.Limits()
	log.Info("serving", slog.String("addr", ln.Addr().String()), slog.String("version", version),
		slog.Int("max_conns", l.MaxConns), slog.Uint64("file_limit", files), slog.Duration("request_timeout", l.RequestTimeout),
		slog.Int("heavy_slots", l.Heavy.Slots))

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Shutdown: websockets get a close frame (the hub), then HTTP drains,
	// then the pool closes (deferred).
	log.Info("shutting down")
	stopHub()
	if err := <-hubDone; err != nil && !errors.Is(err, context.Canceled) {
		log.Warn("live hub", slog.Any("err", err))
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// attachmentsDir is the default folder of the attachments:
// WHISTLEGRID_ATTACHMENTS_DIR, else attachments/ in the data folder.
func attachmentsDir(c config) string {
	if d := lookupEnv("WHISTLEGRID_ATTACHMENTS_DIR"); d != "" {
		return d
	}
	return filepath.Join(c.dataDir, "attachments")
}

// fileReserve is the open files kept for what is not a client
// connection: the database pool, the listeners, the log, the frontend.
const fileReserve = 256

// serveSettings are serve's flags that bound connections and requests
// (README, "Configuration"); each takes its default from the environment.
type serveSettings struct {
	metricsAddr, trustedProxies, corsOrigins                              *string
	headerTimeout, bodyTimeout, requestTimeout, writeTimeout, idleTimeout *time.Duration
	uploadGrace                                                           *time.Duration
	maxConns, heavySlots                                                  *int
}

// serveFlags defines serve's limit flags on fs, their defaults from the
// WHISTLEGRID_* environment or api.DefaultLimits.
func serveFlags(fs *flag.FlagSet) (serveSettings, error) {
	d := api.DefaultLimits(16, runtime.GOMAXPROCS(0))
	var errs []error
	dur := func(name, env string, def time.Duration, usage string) *time.Duration {
		if v := lookupEnv(env); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil || x <= 0 {
				errs = append(errs, fmt.Errorf("%s=%q: a positive duration such as 30s is required", env, v))
			} else {
				def = x
			}
		}
		return fs.Duration(name, def, usage+" (env "+env+")")
	}
	num := func(name, env string, def int, usage string) *int {
		if v := lookupEnv(env); v != "" {
			x, err := strconv.Atoi(v)
			if err != nil || x < 0 {
				errs = append(errs, fmt.Errorf("%s=%q: a whole number is required", env, v))
			} else {
				def = x
			}
		}
		return fs.Int(name, def, usage+" (env "+env+")")
	}
	str := func(name, env, def, usage string) *string {
		if v, ok := os.LookupEnv(env); ok {
			def = v
		}
		return fs.String(name, def, usage+" (env "+env+")")
	}
	s := serveSettings{
		metricsAddr:    str("metrics-addr", "WHISTLEGRID_METRICS_ADDR", "", "listen address of the Prometheus metrics, e.g. 127.0.0.1:9090 (default: not served)"),
		trustedProxies: str("trusted-proxies", "WHISTLEGRID_TRUSTED_PROXIES", "", "comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For names the client"),
		corsOrigins:    str("cors-origins", "WHISTLEGRID_CORS_ORIGINS", "", "comma-separated origins (https://host[:port], or *) whose pages may call /api, and /open311 and /tiles with a bearer token, across origins"),
		headerTimeout:  dur("header-timeout", "WHISTLEGRID_HEADER_TIMEOUT", d.HeaderTimeout, "time to read a request's headers"),
		bodyTimeout:    dur("body-timeout", "WHISTLEGRID_BODY_TIMEOUT", d.BodyTimeout, "time to read a request's body"),
		requestTimeout: dur("request-timeout", "WHISTLEGRID_REQUEST_TIMEOUT", d.RequestTimeout, "deadline of a request (not the live stream); past it, 503"),
		writeTimeout:   dur("write-timeout", "WHISTLEGRID_WRITE_TIMEOUT", d.WriteTimeout, "time from a request's headers to the end of its answer (not the live stream)"),
		idleTimeout:    dur("idle-timeout", "WHISTLEGRID_IDLE_TIMEOUT", d.IdleTimeout, "close a keep-alive connection idle this long"),
		uploadGrace:    dur("upload-grace", "WHISTLEGRID_UPLOAD_GRACE", whistle.DefaultUploadGrace, "an upload attached to no clue or step for this long is deleted by the sweep (every --sweep-every)"),
		maxConns:       num("max-conns", "WHISTLEGRID_MAX_CONNS", d.MaxConns, "connections served at once (kept under the open file limit)"),
		heavySlots:     num("heavy-slots", "WHISTLEGRID_HEAVY_SLOTS", 0, "heavy reads (lists, snapshot, stats, hotspots) run at once; more wait briefly, then 503 (0: a quarter of the database pool)"),
	}
	return s, errors.Join(errs...)
}

// parseProxies checks a comma-separated list of IPs and CIDRs.
func parseProxies(list string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				return nil, fmt.Errorf("--trusted-proxies: %q is neither an IP nor a CIDR", p)
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// printBanner tells a person where the platform is and, on the demo, how to
// log in.
func printBanner(ctx context.Context, w io.Writer, pool *pgxpool.Pool, addr *net.TCPAddr, withDemo bool, password string) {
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "localhost"
	}
	fmt.Fprintf(w, "\nwhistlegrid %s is serving at http://%s:%d/\n", version, host, addr.Port)
	if !withDemo {
		return
	}
	examples := []struct{ role, q string }{
		{"command center (指挥中心)", `SELECT username, display_name FROM users WHERE role = 'command' AND duties = '{}' ORDER BY username LIMIT 1`},
		{"callback desk (回访席, sees phones)", `SELECT username, display_name FROM users WHERE role = 'command' AND 'callback' = ANY(duties) ORDER BY username LIMIT 1`},
		{"wall screen (大屏, read-only)", `SELECT username, display_name FROM users WHERE role = 'screen' ORDER BY username LIMIT 1`},
		{"township (街乡镇)", `SELECT u.username, u.display_name FROM users u JOIN grids g ON g.id = u.grid_id WHERE u.role = 'township' ORDER BY g.code = '110119101' DESC, u.username LIMIT 1`},
		{"unit (部门/站所/企业)", `SELECT username, display_name FROM users WHERE role = 'unit' ORDER BY username LIMIT 1`},
		{"grid worker (网格员)", `SELECT username, display_name FROM users WHERE role = 'grid_worker' ORDER BY username LIMIT 1`},
		{"party member (党员)", `SELECT username, display_name FROM users WHERE role = 'party_member' ORDER BY username LIMIT 1`},
	}
	fmt.Fprintf(w, "demo logins (password %q for every user):\n", password)
	for _, e := range examples {
		var u, name string
		if err := pool.QueryRow(ctx, e.q).Scan(&u, &name); err != nil {
			continue
		}
		fmt.Fprintf(w, "  %-30s %-18s %s\n", e.role, u, name)
	}
	fmt.Fprintln(w, "  every township is t<township code>, every unit u<unit code>, every grid worker w<village code>,")
	fmt.Fprintln(w, "  every party member p<household grid code>.")
	fmt.Fprintln(w)
}

func cmdUser(ctx context.Context, args []string, c config, log *slog.Logger, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		return errors.New("usage: whistlegrid user add --username U --role ROLE [--grid CODE] [--unit CODE] [--name NAME] [--duty callback] (password in WHISTLEGRID_PASSWORD or --password)")
	}
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	fs.StringVar(&c.databaseURL, "database-url", c.databaseURL, "PostgreSQL URL (default: the private cluster)")
	var nu auth.NewUser
	var role string
	fs.StringVar(&nu.Username, "username", "", "login name")
	fs.StringVar(&nu.Password, "password", "", "password (default: WHISTLEGRID_PASSWORD)")
	fs.StringVar(&role, "role", "", "command, screen, township, unit, grid_worker or party_member")
	fs.StringVar(&nu.GridCode, "grid", "", "the grid code of the jurisdiction (the district for command and screen)")
	fs.StringVar(&nu.UnitCode, "unit", "", "the unit code, for unit users")
	fs.StringVar(&nu.DisplayName, "name", "", "display name")
	var duty string
	fs.StringVar(&duty, "duty", "", "callback: a command-center account at the callback desk (回访席), which sees residents' phones")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	nu.Role = access.Role(role)
	if duty != "" {
		nu.Duties = []access.Duty{access.Duty(duty)}
	}
	if nu.Password == "" {
		nu.Password = lookupEnv("WHISTLEGRID_PASSWORD")
	}
	if nu.Username == "" || nu.Password == "" {
		return errors.New("user add: --username and a password (--password or WHISTLEGRID_PASSWORD) are required")
	}
	pool, err := openMigrated(ctx, c, log)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := auth.NewStore(pool).AddUser(ctx, nu); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "user %s (%s) created\n", nu.Username, nu.Role)
	return nil
}

package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/access"
	"whistlegrid/api"
	"whistlegrid/attach"
	"whistlegrid/auth"
	"whistlegrid/frontend"
	"whistlegrid/grid"
	"whistlegrid/internal/testenv"
	"whistlegrid/live"
	"whistlegrid/whistle"
)

// liveWithin is how soon a raised whistle must show on the wall.
const liveWithin = 2 * time.Second

// liveServer is a full whistlegrid server with the live hub, as `serve`
// runs it, that can be stopped and started again on the same address: a
// page keeps its origin across a server restart.
//
// testenv.Serve builds a server without a hub and cannot restart; until it
// offers both (see the report of this change: Env.Live and Env.Restart),
// the wall test builds its own from the same exported parts.
type liveServer struct {
	t      *testing.T
	pool   *pgxpool.Pool
	placer *grid.Placer
	blobs  *attach.Disk // the attachment store, a folder of the test's own
	log    *slog.Logger
	addr   string // host:port, kept across restarts
	URL    string

	hs      *http.Server
	stopHub context.CancelFunc
	hubDone chan struct{}
}

func startLiveServer(t *testing.T, pool *pgxpool.Pool) *liveServer {
	t.Helper()
	level := slog.LevelWarn
	if os.Getenv("WHISTLEGRID_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	placer, err := grid.NewPlacer(context.Background(), pool, grid.IndexOptions{})
	if err != nil {
		t.Fatalf("placement index: %v", err)
	}
	blobs, err := attach.NewDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &liveServer{t: t, pool: pool, placer: placer, blobs: blobs, addr: ln.Addr().String(),
		log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))}
	s.URL = "http://" + s.addr
	s.serve(ln)
	t.Cleanup(s.stop)
	return s
}

// serve runs a fresh hub and API server on ln.
func (s *liveServer) serve(ln net.Listener) {
	hub := live.NewHub(s.pool, s.log, live.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hub.Run(ctx); err != nil {
			s.t.Errorf("hub: %v", err)
		}
	}()
	srv := api.New(api.Config{Pool: s.pool, Logger: s.log, Frontend: frontend.Handler(), Placer: s.placer, Live: hub, Version: "test", Attachments: s.blobs})
	s.hs = &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	s.stopHub, s.hubDone = cancel, done
	go func() { _ = s.hs.Serve(ln) }()
}

// stop shuts the server down as `serve` does on SIGTERM: the hub closes
// every websocket with 1001, then the HTTP server stops.
func (s *liveServer) stop() {
	if s.hs == nil {
		return
	}
	s.stopHub()
	<-s.hubDone
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.hs.Shutdown(ctx)
	s.hs = nil
}

// start serves again on the same address.
func (s *liveServer) start() {
	s.t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("listen again on %s: %v", s.addr, err)
	}
	s.serve(ln)
}

// wallClue is a patrol clue of 占道经营 at a point of 康庄镇, the
// category the test makes raise a whistle.
func wallClue(n int, lon, lat float64) whistle.ClueInput {
	return whistle.ClueInput{
		Source: "patrol", ExternalID: fmt.Sprintf("wall-%d-%d", time.Now().UnixNano(), n), Category: wallCategory,
		Text: "门口摆摊占道", Lon: &lon, Lat: &lat, Datum: "wgs84", ReportedAt: time.Now().Format(time.RFC3339),
		Reporter: &whistle.Reporter{Name: "张三", Phone: "13900001111"},
	}
}

const (
	wallTownship = "110119101" // 康庄镇
	wallCategory = "CM.01.03"  // 占道经营: each township's 城管执法队 leads
	wallTicker   = "康庄镇 吹哨：占道经营"
)

// TestWall logs the wall screen in at "/", checks that the map drew the 18
// townships and opened the live stream, raises a whistle through the API
// and expects the open-whistle count and the ticker to show it within 2 s;
// then stops the server, raises another whistle while it is down, starts
// the server again on the same address, and expects the page to say it is
// reconnecting, to reconnect, and to catch up on the missed whistle. A
// click on the new whistle in the ticker opens its trail. Screenshots:
// artifacts/e2e-wall.png and artifacts/e2e-wall-trail.png.
// wallServer starts a live server on a copy of the demo where 占道经营
// (wallCategory) raises a whistle in every township, and gives a point of
// 康庄镇 (wallTownship) to report at.
func wallServer(t *testing.T) (pool *pgxpool.Pool, srv *liveServer, lon, lat float64) {
	t.Helper()
	pool = testenv.DemoDB(t)
	srv = startLiveServer(t, pool)
	requireBuiltFrontend(t, srv.URL)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO rules (category_id, action) SELECT id, 'whistle' FROM categories WHERE code = $1
		ON CONFLICT (category_id, township_id) DO UPDATE SET action = 'whistle'`, wallCategory); err != nil {
		t.Fatal(err)
	}
	if err := srv.placer.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM grids
		WHERE level = 'household' AND code LIKE $1 || '%' ORDER BY code LIMIT 1`, wallTownship).Scan(&lon, &lat); err != nil {
		t.Fatal(err)
	}
	return pool, srv, lon, lat
}

func TestWall(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a browser test (make test runs it; make check skips it)")
	}
	browser := newBrowser(t)
	pool, srv, lon, lat := wallServer(t)
	ctx0 := context.Background()

	ctx := openAndLogin(t, browser, srv.URL+"/", "screen")
	t.Cleanup(func() {
		if t.Failed() {
			screenshot(t, ctx, "e2e-wall-failure.png")
		}
	})
	if got := textOf(t, ctx, `[data-testid="township-count"]`); got != strconv.Itoa(wantTownships) {
		t.Errorf("township-count = %q, want %d", got, wantTownships)
	}
	if n := evaluate[int](t, ctx, `document.querySelectorAll('.grid-label.label-township').length`); n != wantTownships {
		t.Errorf("%d township labels, want %d", n, wantTownships)
	}
	const state = `document.querySelector('[data-testid="live-state"]')`
	waitFor(t, ctx, mapReadyTimeout, "live stream open", state+`.dataset.state === 'open'`, state+`.outerHTML`)
	if got := textOf(t, ctx, `[data-testid="live-state"]`); got != "已连接" {
		t.Errorf("live state says %q, want 已连接", got)
	}

	// The page's count agrees with the snapshot.
	screenToken := login(t, srv.URL, "screen")
	type snapshot struct {
		Seq    int64 `json:"seq"`
		Counts struct {
			Open int `json:"open"`
		} `json:"counts"`
	}
	open := func() int {
		t.Helper()
		n, err := strconv.Atoi(textOf(t, ctx, `[data-testid="open-whistles"]`))
		if err != nil {
			t.Fatalf("open-whistles: %v", err)
		}
		return n
	}
	snap := apiGet[snapshot](t, srv.URL, "/api/v1/snapshot", screenToken)
	before := open()
	if before != snap.Counts.Open {
		t.Errorf("open-whistles %d, snapshot says %d", before, snap.Counts.Open)
	}

	// A township operator reports a clue; the rule raises a whistle; the
	// wall shows it within liveWithin.
	tok := login(t, srv.URL, "t"+wallTownship)
	c := wallClue(1, lon, lat)
	status, body := apiDo(t, http.MethodPost, srv.URL+"/api/v1/clues", tok, c)
	if status != http.StatusCreated || !strings.Contains(string(body), `"whistle":{`) {
		t.Fatalf("POST /api/v1/clues: %d %.400s", status, body)
	}
	took := waitFor(t, ctx, liveWithin, "the new whistle on the wall",
		fmt.Sprintf(`Number(document.querySelector('[data-testid="open-whistles"]').textContent) === %d
			&& document.querySelector('[data-testid="event-ticker"]').textContent.includes(%s)`, before+1, jsString(wallTicker)),
		`document.querySelector('[data-testid="open-whistles"]').textContent + ' | ' + document.querySelector('[data-testid="event-ticker"]').textContent.slice(0, 200)`)
	t.Logf("the raised whistle showed after %s", took.Round(time.Millisecond))
	if n := evaluate[int](t, ctx, `document.querySelectorAll('.whistle-pulse').length`); n < 1 {
		t.Errorf("the new whistle does not pulse")
	}
	ticks := evaluate[int](t, ctx, `[...document.querySelectorAll('[data-testid="event-ticker"] li')].filter((li) => li.textContent.includes(`+jsString(wallTicker)+`)).length`)

	// The server goes down: the page says it is reconnecting.
	srv.stop()
	waitFor(t, ctx, 10*time.Second, "the page notices", state+`.dataset.state === 'reconnecting'`, state+`.outerHTML`)
	if got := textOf(t, ctx, `[data-testid="live-state"] .live-text`); !strings.HasPrefix(got, "重连中") {
		t.Errorf("while the server is down the state says %q, want 重连中…", got)
	}

	// A whistle is raised while the server is down (another instance, or
	// the intake of an import, writes the outbox all the same).
	sc := scopeOf(t, pool, tok)
	res, err := whistle.NewStore(pool, srv.placer, whistle.Options{}).Intake(ctx0, sc, wallClue(2, lon+0.01, lat+0.01))
	if err != nil || res.Whistle == nil {
		t.Fatalf("intake while down: %+v %v", res, err)
	}

	// The server comes back on the same address: the page reconnects with
	// since and catches up on the missed whistle without a reload.
	time.Sleep(500 * time.Millisecond)
	srv.start()
	waitFor(t, ctx, 30*time.Second, "reconnected and caught up",
		fmt.Sprintf(state+`.dataset.state === 'open' && Number(document.querySelector('[data-testid="open-whistles"]').textContent) === %d`, before+2),
		state+`.outerHTML + ' | open ' + document.querySelector('[data-testid="open-whistles"]').textContent`)
	if got := evaluate[int](t, ctx, `[...document.querySelectorAll('[data-testid="event-ticker"] li')].filter((li) => li.textContent.includes(`+jsString(wallTicker)+`)).length`); got != ticks+1 {
		t.Errorf("%d ticker lines for the raised whistles after the restart, want %d (one more, none twice)", got, ticks+1)
	}
	if got := evaluate[bool](t, ctx, `performance.getEntriesByType('navigation').length === 1 && !!document.querySelector('.wall')`); !got {
		t.Errorf("the page reloaded")
	}

	screenshot(t, ctx, "e2e-wall.png")

	// A click on the ticker line opens the whistle's trail.
	step(t, ctx, stepTimeout, "open the trail",
		chromedp.Click(chromedp.CSS(`[data-testid="event-ticker"] li.clickable`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="whistle-trail"] li`)),
	)
	if trail := textOf(t, ctx, `[data-testid="whistle-trail"]`); !strings.Contains(trail, "吹哨") {
		t.Errorf("trail %q has no 吹哨 step", trail)
	}
	time.Sleep(1200 * time.Millisecond) // the fly-to ends
	screenshot(t, ctx, "e2e-wall-trail.png")
}

// scopeOf is the caller behind a token, as the API sees it.
func scopeOf(t *testing.T, pool *pgxpool.Pool, token string) access.Scope {
	t.Helper()
	_, sc, err := auth.NewStore(pool).Authenticate(context.Background(), token)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return sc
}

// Package testenv starts whistlegrid for black-box tests: a real server,
// in-process on a free port, over a fresh copy of the 延庆区 demo database
// in the private PostgreSQL cluster.
package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/api"
	"whistlegrid/attach"
	"whistlegrid/demo"
	"whistlegrid/frontend"
	"whistlegrid/grid"
	"whistlegrid/hotspot"
	"whistlegrid/internal/dbtest"
	"whistlegrid/live"
)

// DemoPassword is the password of every demo user in tests.
const DemoPassword = "demo"

// demoSources are the folders whose contents decide when the demo template
// must be rebuilt.
var demoSources = []string{"demo"}

func fillDemo(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := demo.Load(ctx, pool, demo.Options{Password: DemoPassword, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return err
}

// DemoDB returns a pool on a fresh copy of the demo database.
func DemoDB(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return dbtest.Template(t, "demo", demoSources, fillDemo)
}

// DemoURL returns the URL of a fresh copy of the demo database.
func DemoURL(t testing.TB) string {
	t.Helper()
	return dbtest.TemplateURL(t, "demo", demoSources, fillDemo)
}

// Env is a running server under test.
type Env struct {
	URL    string        // base URL, e.g. http://127.0.0.1:34567
	Pool   *pgxpool.Pool // the server's database
	Placer *grid.Placer  // the server's placement index
	Hub    *live.Hub     // the server's live event hub
	// Hotspots is the server's hotspot store, for tests that count its
	// analyses.
	Hotspots *hotspot.Store
	API      *api.Server // the server itself (its metrics, its limits)
	// Blobs is the attachment store, a folder of the test's own.
	Blobs *attach.Disk
}

// Start runs a full whistlegrid server on a fresh copy of the demo; it is
// shut down when the test ends. To empty or reshape the database first,
// take DemoDB, change it, then Serve it (see Serve).
func Start(t testing.TB) *Env {
	t.Helper()
	pool := DemoDB(t)
	return Serve(t, pool)
}

// Serve runs a full whistlegrid server on pool. Its live hub reads the
// outbox from the moment Serve returns, joining events to whistles, clues
// and summons: a statement that locks whole tables one after another
// (TRUNCATE, ALTER TABLE) can deadlock with that read, so run such
// statements on pool before Serve, never under the running server.
// TestNoTableLocksUnderARunningServer holds every test to it.
func Serve(t testing.TB, pool *pgxpool.Pool) *Env {
	t.Helper()
	level := slog.LevelWarn
	if os.Getenv("WHISTLEGRID_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	var ln net.Listener
	placer, err := grid.NewPlacer(context.Background(), pool, grid.IndexOptions{})
	if err != nil {
		t.Fatalf("testenv: placement index: %v", err)
	}
	hub := live.NewHub(pool, log, live.Options{})
	hubCtx, stopHub := context.WithCancel(context.Background())
	hubDone := make(chan struct{})
	go func() {
		defer close(hubDone)
		if err := hub.Run(hubCtx); err != nil && hubCtx.Err() == nil {
			log.Error("testenv: live hub stopped", slog.Any("err", err))
		}
	}()
	hotspots := hotspot.NewStore(pool)
	blobs, err := attach.NewDisk(t.TempDir())
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	srv := api.New(api.Config{Pool: pool, Logger: log, Frontend: frontend.Handler(), Placer: placer, Live: hub, Hotspots: hotspots, Version: "test",
		Attachments: blobs})
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	hs := srv.HTTPServer()
	go func() { _ = hs.Serve(api.LimitListener(ln, srv.Limits().MaxConns)) }()
	t.Cleanup(func() {
		stopHub()
		<-hubDone
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
	})
	return &Env{URL: "http://" + ln.Addr().String(), Pool: pool, Placer: placer, Hub: hub, Hotspots: hotspots, API: srv, Blobs: blobs}
}

// Login logs username in with the demo password and returns the token.
func (e *Env) Login(t testing.TB, username string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": username, "password": DemoPassword})
	resp, err := http.Post(e.URL+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("testenv: login %s: %v", username, err)
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil || out.Token == "" {
		t.Fatalf("testenv: login %s: status %d", username, resp.StatusCode)
	}
	return out.Token
}

// Do sends a request with a bearer token (none when token is empty) and a
// JSON body (none when body is nil), and returns the status and body.
func (e *Env) Do(t testing.TB, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("testenv: %v", err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.URL+path, r)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("testenv: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return resp.StatusCode, b
}

package api_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/api"
	"whistlegrid/grid"
	"whistlegrid/internal/testenv"
	"whistlegrid/live"
)

// edgeServer is a server started as `serve` starts it (its HTTPServer on
// a LimitListener) with the limits a test chooses.
type edgeServer struct {
	addr string // host:port
	url  string
	api  *api.Server
	pool *pgxpool.Pool
}

func edgeLogger() *slog.Logger {
	if os.Getenv("WHISTLEGRID_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startEdge serves cfg (its Pool a fresh demo when nil, its Logger
// quiet when nil), with the
// placement index when placer is true and a live hub when withLive is.
func startEdge(t *testing.T, cfg api.Config, placer, withLive bool) *edgeServer {
	t.Helper()
	if cfg.Pool == nil {
		cfg.Pool = testenv.DemoDB(t)
	}
	if cfg.Logger == nil {
		cfg.Logger = edgeLogger()
	}
	if placer {
		p, err := grid.NewPlacer(context.Background(), cfg.Pool, grid.IndexOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Placer = p
	}
	if withLive {
		hub := live.NewHub(cfg.Pool, cfg.Logger, live.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = hub.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		cfg.Live = hub
	}
	srv := api.New(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := srv.HTTPServer()
	go func() { _ = hs.Serve(api.LimitListener(ln, srv.Limits().MaxConns)) }()
	t.Cleanup(func() { _ = hs.Close() })
	return &edgeServer{addr: ln.Addr().String(), url: "http://" + ln.Addr().String(), api: srv, pool: cfg.Pool}
}

// rawConn is a client connection on which the test writes requests by
// hand and reads answers.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{Conn: c, r: bufio.NewReader(c)}
}

// get writes a keep-alive GET of path.
func (c *rawConn) get(t *testing.T, path string) {
	t.Helper()
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: test\r\n\r\n", path); err != nil {
		t.Fatal(err)
	}
}

// answer reads one answer within d; its body is read whole.
func (c *rawConn) answer(d time.Duration) (*http.Response, []byte, error) {
	_ = c.SetReadDeadline(time.Now().Add(d))
	res, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res, b, err
}

// closedWithin reports whether the server closes c within d, and when.
func (c *rawConn) closedWithin(d time.Duration) (bool, time.Duration) {
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(d))
	_, err := c.r.ReadByte()
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err), time.Since(start)
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

// TestTrickledBodyIsCutOff sends a login body one byte every 200 ms: the
// server must answer 400 and close the connection once BodyTimeout has
// passed, not wait the 20 s the body takes.
func TestTrickledBodyIsCutOff(t *testing.T) {
	s := startEdge(t, api.Config{Limits: api.Limits{BodyTimeout: 600 * time.Millisecond}}, false, false)
	c := dialRaw(t, s.addr)
	start := time.Now()
	if _, err := fmt.Fprintf(c, "POST /api/v1/auth/login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := c.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	res, body, err := c.answer(8 * time.Second) // the whole body would take 20 s
	took := time.Since(start)
	if err != nil {
		t.Fatalf("no answer within 8 s of a trickled body (after %s): %v", took, err)
	}
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "did not arrive within") {
		t.Errorf("answer %d %s, want 400 saying the body did not arrive", res.StatusCode, body)
	}
	if took < 500*time.Millisecond || took > 5*time.Second {
		t.Errorf("answered after %s, want just after the 600ms body timeout", took)
	}
	if closed, _ := c.closedWithin(2 * time.Second); !closed {
		t.Errorf("the connection stays open after the cut-off body")
	}
}

// TestIdleConnectionsAreClosed keeps a connection idle after one answer:
// the server must close it after IdleTimeout, and not before.
func TestIdleConnectionsAreClosed(t *testing.T) {
	s := startEdge(t, api.Config{Limits: api.Limits{IdleTimeout: 700 * time.Millisecond}}, false, false)
	c := dialRaw(t, s.addr)
	c.get(t, "/healthz")
	if res, _, err := c.answer(5 * time.Second); err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", res, err)
	}
	closed, after := c.closedWithin(8 * time.Second)
	if !closed {
		t.Fatalf("an idle connection is still open after 8 s")
	}
	if after < 500*time.Millisecond || after > 5*time.Second {
		t.Errorf("closed after %s idle, want about the 700ms idle timeout", after)
	}
}

// TestConnectionCap serves at most two connections: a third waits
// unanswered while the two open ones, /healthz included, are still
// served, and is answered once one of them closes.
func TestConnectionCap(t *testing.T) {
	s := startEdge(t, api.Config{Limits: api.Limits{MaxConns: 2}}, false, false)
	a, b := dialRaw(t, s.addr), dialRaw(t, s.addr)
	for name, c := range map[string]*rawConn{"a": a, "b": b} {
		c.get(t, "/healthz")
		if res, _, err := c.answer(5 * time.Second); err != nil || res.StatusCode != 200 {
			t.Fatalf("healthz on %s: %v %v", name, res, err)
		}
	}
	third := dialRaw(t, s.addr) // the kernel's queue takes it
	third.get(t, "/healthz")
	if res, _, err := third.answer(time.Second); err == nil {
		t.Fatalf("a third connection was served past the cap of 2: %d", res.StatusCode)
	}
	a.get(t, "/healthz")
	if res, _, err := a.answer(5 * time.Second); err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz on an open connection while the cap is full: %v %v", res, err)
	}
	b.Close()
	res, _, err := third.answer(5 * time.Second)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("the waiting connection is not served once one closed: %v %v", res, err)
	}
}

// TestLiveStreamHasNoDeadlines holds a websocket past the server's write
// timeout and request deadline: an event after them must still arrive.
func TestLiveStreamHasNoDeadlines(t *testing.T) {
	s := startEdge(t, api.Config{Limits: api.Limits{WriteTimeout: time.Second, RequestTimeout: time.Second}}, false, true)
	tok := loginAt(t, s.url, "command")
	c := dialRaw(t, s.addr)
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	fmt.Fprintf(c, "GET /api/v1/live?token=%s HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", tok, base64.StdEncoding.EncodeToString(key))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	res, err := http.ReadResponse(c.r, nil)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", res, err)
	}
	time.Sleep(1500 * time.Millisecond) // past the write timeout and the deadline
	var seq int64
	if err := s.pool.QueryRow(context.Background(), `INSERT INTO events (kind, township, payload) VALUES ('clue.received', '110119101', '{"clue":{}}') RETURNING seq`).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_ = c.SetReadDeadline(deadline)
		op, payload, err := readFrame(c)
		if err != nil {
			t.Fatalf("the stream broke after the write timeout and deadline: %v", err)
		}
		switch op {
		case 0x9: // ping: answer pong, masked as a client must
			writeFrame(t, c, 0xA, payload)
		case 0x8:
			t.Fatalf("the stream was closed: %x", payload)
		case 0x1:
			var f struct {
				Seq int64 `json:"seq"`
			}
			if json.Unmarshal(payload, &f) == nil && f.Seq == seq {
				return
			}
		}
	}
}

// readFrame reads one unfragmented websocket frame from the server.
func readFrame(c *rawConn) (byte, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(c.r, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(c.r, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(c.r, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	payload := make([]byte, n)
	_, err := io.ReadFull(c.r, payload)
	return h[0] & 0x0f, payload, err
}

// writeFrame writes a short masked control frame.
func writeFrame(t *testing.T, c *rawConn, op byte, payload []byte) {
	t.Helper()
	mask := [4]byte{1, 2, 3, 4}
	b := []byte{0x80 | op, 0x80 | byte(len(payload))}
	b = append(b, mask[:]...)
	for i, p := range payload {
		b = append(b, p^mask[i%4])
	}
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

// loginAt logs username in at the server at url.
func loginAt(t *testing.T, url, username string) string {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"username": username, "password": testenv.DemoPassword})
	res, err := http.Post(url+"/api/v1/auth/login", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&out) != nil {
		t.Fatalf("login %s: %d", username, res.StatusCode)
	}
	return out.Token
}

// do sends a request with a token and a body (nil: none) and returns
// the answer with its body read.
func do(t *testing.T, method, url, token string, body io.Reader, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

// errorCode is the code of an API error body.
func errorCode(b []byte) string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(b, &e)
	return e.Error.Code
}

// TestBodyLimits: every route has a body limit, 413 too_large past it,
// whether the length is announced or the body is chunked; POST /place
// takes more, the login less.
func TestBodyLimits(t *testing.T) {
	s := startEdge(t, api.Config{}, true, false)
	tok := loginAt(t, s.url, "t110119101")
	big := func(n int) []byte { return bytes.Repeat([]byte(" "), n) }
	tests := []struct {
		name, method, path string
		body               []byte
		chunked            bool
		status             int
	}{
		{"clue over 1 MiB", "POST", "/api/v1/clues", big(1<<20 + 1), false, 413},
		{"clue over 1 MiB, chunked", "POST", "/api/v1/clues", big(1<<20 + 1), true, 413},
		{"whistle step over 1 MiB", "POST", "/api/v1/whistles/1/resolve", big(2 << 20), false, 413},
		{"login over 16 KiB", "POST", "/api/v1/auth/login", big(17 << 10), false, 413},
		{"login over 16 KiB, chunked", "POST", "/api/v1/auth/login", big(17 << 10), true, 413},
		{"open311 over 1 MiB", "POST", "/open311/v2/requests.json", big(1<<20 + 1), false, 413},
		// 2 MiB is within POST /place's 8 MiB: the points are read
		{"place batch of 2 MiB", "POST", "/api/v1/place", append(append([]byte("["), bytes.Repeat([]byte(`{"lon":116.1,"lat":40.5},`), 2<<20/25)...), []byte(`{"lon":116.1,"lat":40.5}]`)...), false, 422},
		{"place over 8 MiB", "POST", "/api/v1/place", big(8<<20 + 1), false, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = bytes.NewReader(tt.body)
			if tt.chunked {
				body = io.MultiReader(body) // no length: sent chunked
			}
			res, b := do(t, tt.method, s.url+tt.path, tok, body, "Content-Type", "application/json")
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %.200s", res.StatusCode, tt.status, b)
			}
			switch {
			case tt.status != 413:
			case strings.HasPrefix(tt.path, "/open311/"):
				if !bytes.HasPrefix(b, []byte(`[{"code":413,`)) {
					t.Errorf("body %s, want Open311's [{\"code\":413,...}]", b)
				}
			case errorCode(b) != "too_large":
				t.Errorf("body %s, want code too_large", b)
			}
		})
	}
}

// TestSecurityHeaders: pages carry the CSP, framing and referrer
// headers; API answers, errors included, nosniff and a CSP that allows
// nothing.
func TestSecurityHeaders(t *testing.T) {
	env := testenv.Start(t)
	tok := env.Login(t, "command")
	for _, tt := range []struct {
		path, csp string
	}{
		{"/", "worker-src 'self' blob:"},
		{"/coverage", "frame-ancestors 'none'"},
		{"/api/v1/categories", "default-src 'none'"},
		{"/api/v1/no-such-route", "default-src 'none'"},
		{"/healthz", "default-src 'none'"},
	} {
		res, _ := do(t, "GET", env.URL+tt.path, tok, nil)
		h := res.Header
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", tt.path, h)
		}
		if !strings.Contains(h.Get("Content-Security-Policy"), tt.csp) {
			t.Errorf("%s: CSP %q, want it to hold %q", tt.path, h.Get("Content-Security-Policy"), tt.csp)
		}
	}
}

// TestMetricsNotPublic: /metrics is not among the server's routes; the
// metrics handler serves them (the command puts it on --metrics-addr).
func TestMetricsNotPublic(t *testing.T) {
	s := startEdge(t, api.Config{}, false, false)
	for _, r := range s.api.Routes() {
		if strings.Contains(r.Path, "metrics") {
			t.Errorf("route %s %s on the public router", r.Method, r.Path)
		}
	}
	if res, b := do(t, "GET", s.url+"/metrics", "", nil); strings.Contains(string(b), "whistlegrid_") {
		t.Errorf("GET /metrics on the public address: %d with the metrics", res.StatusCode)
	}
	rec := httptest.NewRecorder()
	s.api.Metrics().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "whistlegrid_http_gate_in_use") {
		t.Errorf("metrics handler: %d", rec.Code)
	}
}

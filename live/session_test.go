package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"whistlegrid/access"
	"whistlegrid/internal/dbtest"
)

// These tests run the hub on a real database and real websockets, with a
// handler that serves the command center (which sees every event) at
// /live[?since=SEQ]; the API's own tests cover authentication and
// jurisdiction.

// serveHub runs a hub on pool until the test ends and returns it with the
// websocket URL of its stream.
func serveHub(t *testing.T, pool *pgxpool.Pool, opts Options) (*Hub, string) {
	t.Helper()
	h := NewHub(pool, nil, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub := Subscription{Scope: access.Scope{Role: access.RoleCommand, Username: "test"}, Since: FromNow}
		if v := r.URL.Query().Get("since"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			sub.Since = n
		}
		if err := h.Serve(w, r, sub); errors.Is(err, ErrUnavailable) {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		srv.Close()
	})
	return h, "ws" + strings.TrimPrefix(srv.URL, "http") + "/live"
}

// streamClient reads a stream's frames in its own goroutine.
type streamClient struct {
	conn *websocket.Conn
	seqs chan int64
	err  chan error // why reading ended
}

// dialStream connects to url with since ("" for none). A client without
// since gets what is published after it registers, so dialStream then
// waits for the hub to count it.
func dialStream(t *testing.T, h *Hub, url, since string) *streamClient {
	t.Helper()
	before := h.Clients()
	if since != "" {
		url += "?since=" + since
	}
	conn, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close() })
	if since == "" {
		waitFor(t, "the client to register", func() bool { return h.Clients() > before })
	}
	c := &streamClient{conn: conn, seqs: make(chan int64, 100000), err: make(chan error, 1)}
	go func() {
		defer close(c.seqs)
		for {
			_, b, err := conn.ReadMessage()
			if err != nil {
				c.err <- err
				return
			}
			var f struct {
				Seq int64 `json:"seq"`
			}
			if err := json.Unmarshal(b, &f); err != nil {
				c.err <- err
				return
			}
			c.seqs <- f.Seq
		}
	}()
	return c
}

// read returns the next n seqs.
func (c *streamClient) read(t *testing.T, n int) []int64 {
	t.Helper()
	out := make([]int64, 0, n)
	timeout := time.After(20 * time.Second)
	for len(out) < n {
		select {
		case s, ok := <-c.seqs:
			if !ok {
				t.Fatalf("stream ended after %d of %d frames: %v", len(out), n, <-c.err)
			}
			out = append(out, s)
		case <-timeout:
			t.Fatalf("%d of %d frames within 20s: %v", len(out), n, out)
		}
	}
	return out
}

// quiet checks that no frame arrives within d.
func (c *streamClient) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case s, ok := <-c.seqs:
		if ok {
			t.Fatalf("unexpected frame seq %d", s)
		}
	case <-time.After(d):
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for %s", what)
		}
	}
}

// insertEvents writes n outbox rows in one statement and returns their
// seqs.
func insertEvents(t *testing.T, pool *pgxpool.Pool, n int) []int64 {
	t.Helper()
	seqs, err := insertSeqs(pool, n)
	if err != nil {
		t.Fatal(err)
	}
	return seqs
}

func insertSeqs(pool *pgxpool.Pool, n int) ([]int64, error) {
	rows, err := pool.Query(context.Background(), `INSERT INTO events (kind, township, payload)
		SELECT 'whistle.raised', '110119101', jsonb_build_object('n', n) FROM generate_series(1, $1::int) n RETURNING seq`, n)
	if err != nil {
		return nil, err
	}
	seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	slices.Sort(seqs)
	return seqs, err
}

// after returns the seqs of all greater than since.
func after(all []int64, since int64) []int64 {
	var out []int64
	for _, s := range all {
		if s > since {
			out = append(out, s)
		}
	}
	return out
}

// TestServeInSeqOrderOnceEach commits events from several connections in
// an order unlike their seqs (transactions held open, some rolled back):
// every client gets every committed seq, in seq order, once, and no
// rolled-back one.
func TestServeInSeqOrderOnceEach(t *testing.T) {
	pool := dbtest.New(t)
	h, url := serveHub(t, pool, Options{})
	clients := []*streamClient{dialStream(t, h, url, ""), dialStream(t, h, url, ""), dialStream(t, h, url, "")}

	const producers, txs = 6, 15
	var (
		mu        sync.Mutex
		committed []int64
		wg        sync.WaitGroup
		errs      = make(chan error, producers)
	)
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(p), 11))
			ctx := context.Background()
			for i := range txs {
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					var seqs []int64
					for range 1 + rng.IntN(3) {
						var s int64
						if err := tx.QueryRow(ctx, `INSERT INTO events (kind, township) VALUES ('whistle.raised', '110119101') RETURNING seq`).Scan(&s); err != nil {
							return err
						}
						seqs = append(seqs, s)
					}
					// held open so that later seqs commit first
					time.Sleep(time.Duration(rng.IntN(15)) * time.Millisecond)
					if i%5 == 4 {
						return errRollback
					}
					mu.Lock()
					committed = append(committed, seqs...)
					mu.Unlock()
					return nil
				})
				if err != nil && !errors.Is(err, errRollback) {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	slices.Sort(committed)
	for i, c := range clients {
		t.Run(fmt.Sprintf("client %d", i), func(t *testing.T) {
			if got := c.read(t, len(committed)); !slices.Equal(got, committed) {
				t.Fatalf("got %v\nwant %v", got, committed)
			}
			c.quiet(t, 300*time.Millisecond)
		})
	}
}

var errRollback = errors.New("roll back")

// TestServeResumeSince connects with since while events are being
// written: the client gets exactly the events after since, from the ring
// or the table, then the live ones, each once and in order.
func TestServeResumeSince(t *testing.T) {
	pool := dbtest.New(t)
	all := insertEvents(t, pool, 40)
	// a ring of 8: resumes from early seqs read the table
	h, url := serveHub(t, pool, Options{RingSize: 8})
	waitFor(t, "the hub to read the outbox", func() bool { s, ok := h.Seq(); return ok && s >= all[len(all)-1] })
	tests := []struct {
		name  string
		since func(all []int64) int64
	}{
		{"before the oldest kept: everything, from the table", func(all []int64) int64 { return all[0] - 1 }},
		{"from the table", func(all []int64) int64 { return all[5] }},
		{"from the ring", func(all []int64) int64 { return all[len(all)-3] }},
		{"at the last seq: live events only", func(all []int64) int64 { return all[len(all)-1] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			since := tt.since(all)
			// events keep coming while the client connects and catches up
			more := make(chan []int64, 1)
			errc := make(chan error, 1)
			go func() {
				var seqs []int64
				for range 10 {
					s, err := insertSeqs(pool, 2)
					if err != nil {
						errc <- err
						return
					}
					seqs = append(seqs, s...)
					time.Sleep(3 * time.Millisecond)
				}
				more <- seqs
			}()
			c := dialStream(t, h, url, strconv.FormatInt(since, 10))
			select {
			case seqs := <-more:
				all = append(all, seqs...)
			case err := <-errc:
				t.Fatal(err)
			}
			want := after(all, since)
			if got := c.read(t, len(want)); !slices.Equal(got, want) {
				t.Fatalf("since %d: got %v\nwant %v", since, got, want)
			}
			c.quiet(t, 200*time.Millisecond)
		})
	}
}

// TestServeReconnectWithSince: a client that goes away and comes back with
// since=<last seq it received> misses nothing and gets nothing twice.
func TestServeReconnectWithSince(t *testing.T) {
	pool := dbtest.New(t)
	h, url := serveHub(t, pool, Options{})
	first := dialStream(t, h, url, "")
	seen := insertEvents(t, pool, 10)
	got := first.read(t, 10)
	if !slices.Equal(got, seen) {
		t.Fatalf("first connection: got %v, want %v", got, seen)
	}
	first.conn.Close()
	waitFor(t, "the hub to drop the client", func() bool { return h.Clients() == 0 })

	missed := insertEvents(t, pool, 10)
	waitFor(t, "the hub to publish", func() bool { s, _ := h.Seq(); return s >= missed[len(missed)-1] })
	again := dialStream(t, h, url, strconv.FormatInt(got[len(got)-1], 10))
	later := insertEvents(t, pool, 5)
	want := append(missed, later...)
	if got := again.read(t, len(want)); !slices.Equal(got, want) {
		t.Fatalf("after reconnecting: got %v, want %v", got, want)
	}
	again.quiet(t, 200*time.Millisecond)
}

// TestServeDropsClientStuckOnWrite: a client that stops reading fills the
// socket buffers; the write that blocks ends after WriteTimeout and the
// client is dropped, counted as a write timeout.
func TestServeDropsClientStuckOnWrite(t *testing.T) {
	pool := dbtest.New(t)
	h, url := serveHub(t, pool, Options{QueueSize: 4096, WriteTimeout: 300 * time.Millisecond})
	conn, _, err := websocket.DefaultDialer.Dial(url, nil) // never read
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	waitFor(t, "the client to register", func() bool { return h.Clients() == 1 })
	// 600 frames of 64 KB: far more than loopback socket buffers hold
	if _, err := pool.Exec(context.Background(), `INSERT INTO events (kind, township, payload)
		SELECT 'whistle.raised', '110119101', jsonb_build_object('pad', repeat('x', 65000)) FROM generate_series(1, 600)`); err != nil {
		t.Fatal(err)
	}
	// the session leaves the hub (Clients) before its handler counts why it
	// ended: wait for the count, which comes last
	waitFor(t, "the stuck client to be dropped for its write timeout", func() bool { return dropped(t, h, "write_timeout") >= 1 })
	if n := dropped(t, h, "write_timeout"); n != 1 || h.Clients() != 0 {
		t.Errorf("write timeouts counted: %v, clients %d; want 1 and 0", n, h.Clients())
	}
	if n := dropped(t, h, "slow"); n != 0 {
		t.Errorf("slow drops counted: %v, want 0 (the queue holds every event)", n)
	}
}

// dropped is the hub's count of clients dropped for reason.
func dropped(t *testing.T, h *Hub, reason string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	if err := h.Register(reg); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "whistlegrid_live_dropped_clients_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func TestCheckOrigin(t *testing.T) {
	h := NewHub(nil, nil, Options{OriginPatterns: []string{"*.example.org", "https://wall.example.com"}})
	tests := []struct {
		name, host, origin string
		want               bool
	}{
		{"no origin (not a browser)", "grid.local", "", true},
		{"same origin", "grid.local:8080", "http://grid.local:8080", true},
		{"same origin, other case", "Grid.Local", "http://grid.LOCAL", true},
		{"other origin", "grid.local", "http://evil.test", false},
		{"host pattern", "grid.local", "https://screen.example.org", true},
		{"host pattern, other case", "grid.local", "https://SCREEN.example.org", true},
		{"scheme pattern", "grid.local", "https://wall.example.com", true},
		{"scheme pattern, other scheme", "grid.local", "http://wall.example.com", false},
		{"not a URL", "grid.local", "%zz", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://"+tt.host+"/live", nil)
			r.Host = tt.host
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if got := h.checkOrigin(r); got != tt.want {
				t.Errorf("checkOrigin = %v, want %v", got, tt.want)
			}
		})
	}
}

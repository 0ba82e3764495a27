package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/access"
	"whistlegrid/internal/outbox"
	"whistlegrid/live"
)

// LiveKind is the kind of the events Live writes; it deletes them when it
// ends. Run it on a scratch database: clients of a real wall map on the
// same database would receive them.
const LiveKind = "bench.event"

// LiveConfig tunes Live; zero fields take the defaults.
type LiveConfig struct {
	Clients   int           // websocket clients on one hub; default 1000
	Rate      int           // events inserted per second; default 200
	Duration  time.Duration // how long events are inserted; default 60s
	Drain     time.Duration // how long to wait for the last deliveries after that; default 10s
	Producers int           // connections inserting concurrently (so commits interleave); default 8
	Hub       live.Options  // options of the hub under test
	Logger    *slog.Logger  // progress; nil discards
}

// LiveResult is what Live measured.
type LiveResult struct {
	Clients int `json:"clients"`
	// EventsPerS is the insert rate achieved.
	EventsPerS float64 `json:"events_per_s"`
	// DeliveredRatio is frames received in order over the frames the
	// clients' subscriptions should have received; the target is exactly 1.
	DeliveredRatio float64 `json:"delivered_ratio"`
	// P50Ms and P99Ms are the delivery latencies, from just before the
	// event's transaction was sent to its receipt by a client, in
	// milliseconds (0.1 ms buckets).
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
	// BytesPerClient is the server's memory per connected client: the Go
	// heap and stack growth when the clients connect, less that of the same
	// clients connected to a bare TCP listener (the baseline, measured in
	// the same run, since both ends live in this process).
	BytesPerClient int64 `json:"bytes_per_client"`
	// BaselineBytesPerClient is that baseline: the client side and a bare
	// accepted connection.
	BaselineBytesPerClient int64 `json:"baseline_bytes_per_client"`
	Events                 int64 `json:"events"`
	Expected               int64 `json:"expected"`
	Delivered              int64 `json:"delivered"`
	OutOfOrder             int64 `json:"out_of_order"` // frames repeated or out of seq order; the target is 0
	Dropped                int64 `json:"dropped"`      // clients closed before the end
}

// Live measures the live stream on pool's database: Clients websocket
// clients on one live.Hub (half command center, a quarter wall screen with
// masked data, a quarter one township each), events of kind LiveKind
// inserted through SQL at Rate per second for Duration, each in its own
// transaction and notified after its commit as intake does (outbox). The hub is the real one, served through
// Hub.Serve by a handler of this package that skips authentication; the
// clients are gorilla/websocket readers in this process.
func Live(ctx context.Context, pool *pgxpool.Pool, cfg LiveConfig) (LiveResult, error) {
	if cfg.Clients <= 0 {
		cfg.Clients = 1000
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 200
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 60 * time.Second
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 10 * time.Second
	}
	if cfg.Producers <= 0 {
		cfg.Producers = 8
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	res := LiveResult{Clients: cfg.Clients}

	townships, err := liveTownships(ctx, pool)
	if err != nil {
		return res, err
	}
	hctx, stopHub := context.WithCancel(ctx)
	hub := live.NewHub(pool, log, cfg.Hub)
	hubDone := make(chan struct{})
	go func() { defer close(hubDone); _ = hub.Run(hctx) }()
	defer func() { stopHub(); <-hubDone }()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, fmt.Errorf("bench: live: %w", err)
	}
	srv := &http.Server{Handler: liveHandler(hub), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	// the baseline: the same clients on a listener that only accepts
	dialer := liveDialer()
	base0 := liveHeapAndStacks()
	bl, err := liveBaselineFor(dialer, cfg.Clients)
	if err != nil {
		return res, err
	}
	base1 := liveHeapAndStacks()
	bl.close()
	res.BaselineBytesPerClient = (base1 - base0) / int64(cfg.Clients)

	hist := newLiveHistogram()
	m0 := liveHeapAndStacks()
	clients := make([]*liveClient, cfg.Clients)
	for i := range clients {
		path := "/live?role=command"
		town := -1
		switch i % 4 {
		case 2:
			path = "/live?role=screen"
		case 3:
			town = i / 4 % len(townships)
			path = "/live?role=township&township=" + townships[town]
		}
		bc, err := dialLive(dialer, ln.Addr().String(), path)
		if err != nil {
			for _, c := range clients[:i] {
				c.conn.Close()
			}
			return res, fmt.Errorf("bench: live: client %d: %w", i, err)
		}
		bc.township = town
		clients[i] = bc
	}
	var readers sync.WaitGroup
	for _, c := range clients {
		readers.Add(1)
		go func() { defer readers.Done(); c.read(hist) }()
	}
	defer func() {
		for _, c := range clients {
			c.conn.Close()
		}
		readers.Wait()
	}()
	for deadline := time.Now().Add(30 * time.Second); hub.Clients() < cfg.Clients; {
		if time.Now().After(deadline) {
			return res, fmt.Errorf("bench: live: only %d of %d clients connected", hub.Clients(), cfg.Clients)
		}
		time.Sleep(10 * time.Millisecond)
	}
	m1 := liveHeapAndStacks()
	res.BytesPerClient = (m1-m0)/int64(cfg.Clients) - res.BaselineBytesPerClient
	log.Info("live bench: clients connected", slog.Int("clients", cfg.Clients), slog.Int64("bytes_per_client", res.BytesPerClient))

	perTownship := make([]atomic.Int64, len(townships))
	var inserted atomic.Int64
	start := time.Now()
	total := int(cfg.Duration.Seconds() * float64(cfg.Rate))
	interval := time.Second / time.Duration(cfg.Rate)
	var producers sync.WaitGroup
	var notifier outbox.Notifier
	errc := make(chan error, cfg.Producers)
	for p := 0; p < cfg.Producers; p++ {
		producers.Add(1)
		go func() {
			defer producers.Done()
			for k := p; k < total; k += cfg.Producers {
				if d := time.Until(start.Add(time.Duration(k) * interval)); d > 0 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(d):
					}
				}
				t := k % len(townships)
				payload := livePayload(k, townships[t], time.Now().UnixNano())
				// as intake writes its events: unnotified by the trigger,
				// notified once the commit is durable, so that commits share
				// WAL flushes (outbox)
				var seq int64
				b := &pgx.Batch{}
				b.Queue("BEGIN")
				b.Queue(outbox.AfterCommit)
				b.Queue(`INSERT INTO events (kind, township, payload) VALUES ($1, $2, $3::jsonb) RETURNING seq`, LiveKind, townships[t], payload).
					QueryRow(func(r pgx.Row) error { return r.Scan(&seq) })
				b.Queue("COMMIT")
				if err := pool.SendBatch(ctx, b).Close(); err != nil {
					errc <- fmt.Errorf("bench: live: insert: %w", err)
					return
				}
				notifier.Notify(pool, seq)
				perTownship[t].Add(1)
				inserted.Add(1)
			}
		}()
	}
	producers.Wait()
	elapsed := time.Since(start)
	defer func() {
		_, _ = pool.Exec(context.WithoutCancel(ctx), `DELETE FROM events WHERE kind = $1`, LiveKind)
	}()
	select {
	case err := <-errc:
		return res, err
	default:
	}
	res.Events = inserted.Load()
	res.EventsPerS = float64(res.Events) / elapsed.Seconds()
	for _, c := range clients {
		if c.township < 0 {
			res.Expected += res.Events
		} else {
			res.Expected += perTownship[c.township].Load()
		}
	}
	for deadline := time.Now().Add(cfg.Drain); ; time.Sleep(20 * time.Millisecond) {
		res.Delivered = 0
		for _, c := range clients {
			res.Delivered += c.got.Load()
		}
		if res.Delivered >= res.Expected || time.Now().After(deadline) {
			break
		}
	}
	for _, c := range clients {
		res.OutOfOrder += c.bad.Load()
		if c.closed.Load() {
			res.Dropped++
		}
	}
	if res.Expected > 0 {
		res.DeliveredRatio = float64(res.Delivered) / float64(res.Expected)
	}
	res.P50Ms, res.P99Ms, res.MaxMs = hist.quantile(0.50), hist.quantile(0.99), hist.max()
	log.Info("live bench: done", slog.Int64("events", res.Events), slog.Float64("delivered_ratio", res.DeliveredRatio),
		slog.Float64("p50_ms", res.P50Ms), slog.Float64("p99_ms", res.P99Ms))
	return res, nil
}

// liveHandler serves /live?role=command|screen|township[&township=CODE]
// without authentication, for the bench only: it lives here, in a program's
// package, so that no production package carries an open door.
func liveHandler(hub *live.Hub) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		sc := access.Scope{Role: access.Role(q.Get("role")), Username: "bench"}
		sub := live.Subscription{Scope: sc, Since: live.FromNow}
		if t := q.Get("township"); t != "" {
			sc.GridCode = t
			sub.Scope = sc
			sub.Townships = []string{t}
		}
		if err := hub.Serve(w, r, sub); errors.Is(err, live.ErrUnavailable) {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	})
}

// liveTownships are the township codes of the database, or made-up ones.
func liveTownships(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	rows, err := pool.Query(ctx, `SELECT code FROM grids WHERE level = 'township' AND valid_to IS NULL ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("bench: live: %w", err)
	}
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return nil, fmt.Errorf("bench: live: %w", err)
		}
		out = append(out, c)
	}
	rows.Close()
	if len(out) == 0 { // an empty database: 18 made-up codes
		for i := 1; i <= 18; i++ {
			out = append(out, fmt.Sprintf("110119%03d", 100+i))
		}
	}
	return out, rows.Err()
}

// livePayload is a whistle.raised-like payload with personal data (so
// masking runs) and the send time.
func livePayload(k int, township string, sentNS int64) string {
	now := time.Unix(0, sentNS)
	p := map[string]any{
		"bench": map[string]any{"sent_ns": sentNS, "n": k},
		"whistle": map[string]any{
			"id": k, "grade": "routine", "status": "raised", "category": "A01", "category_name": "市容环境",
			"township": township, "township_name": "", "lon": 115.97 + float64(k%100)/1000, "lat": 40.46,
			"raised_at": now, "report_in_due": now.Add(24 * time.Hour), "resolve_due": now.Add(7 * 24 * time.Hour), "overdue": false,
		},
		"unit":   map[string]any{"code": "D001", "name": "区城市管理委员会"},
		"actor":  "指挥中心值班员",
		"note":   "路面破损，影响通行",
		"person": "王小明",
		"phone":  "13812345678",
	}
	b, _ := json.Marshal(p)
	return string(b)
}

// liveHeapAndStacks is the Go heap in use plus goroutine stacks, after a
// collection.
func liveHeapAndStacks() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc + m.StackInuse)
}

// liveHistogram counts latencies in 0.1 ms buckets up to 10 s.
type liveHistogram struct {
	b    []atomic.Int64
	maxN atomic.Int64
}

const liveBucket = 100 * time.Microsecond

func newLiveHistogram() *liveHistogram { return &liveHistogram{b: make([]atomic.Int64, 100_001)} }

func (h *liveHistogram) add(d time.Duration) {
	i := int(max(d, 0) / liveBucket)
	i = min(i, len(h.b)-1)
	h.b[i].Add(1)
	for {
		m := h.maxN.Load()
		if int64(d) <= m || h.maxN.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

func (h *liveHistogram) quantile(q float64) float64 {
	var n int64
	for i := range h.b {
		n += h.b[i].Load()
	}
	if n == 0 {
		return 0
	}
	rank := int64(q * float64(n))
	var seen int64
	for i := range h.b {
		seen += h.b[i].Load()
		if seen > rank {
			return float64(i+1) * float64(liveBucket) / float64(time.Millisecond)
		}
	}
	return float64(len(h.b)) * float64(liveBucket) / float64(time.Millisecond)
}

func (h *liveHistogram) max() float64 { return float64(h.maxN.Load()) / float64(time.Millisecond) }

// liveDialer is the clients' dialer: default read buffers, write buffers
// (pongs only) borrowed per message.
func liveDialer() *websocket.Dialer {
	return &websocket.Dialer{HandshakeTimeout: 10 * time.Second, WriteBufferPool: &sync.Pool{}}
}

// liveClient is one websocket client of the bench: it reads text frames,
// checking their order and recording their latency; gorilla answers the
// hub's pings while it reads.
type liveClient struct {
	conn     *websocket.Conn
	township int // index of its township, -1 for all
	got      atomic.Int64
	bad      atomic.Int64
	closed   atomic.Bool
	lastSeq  int64
}

func dialLive(d *websocket.Dialer, addr, path string) (*liveClient, error) {
	conn, resp, err := d.Dial("ws://"+addr+path, nil)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("handshake: %s: %w", resp.Status, err)
		}
		return nil, err
	}
	return &liveClient{conn: conn}, nil
}

func (c *liveClient) read(h *liveHistogram) {
	defer c.closed.Store(true)
	buf := make([]byte, 0, 2048)
	for {
		op, r, err := c.conn.NextReader()
		if err != nil {
			return
		}
		if op != websocket.TextMessage {
			continue
		}
		buf = buf[:0]
		for {
			if len(buf) == cap(buf) {
				buf = append(buf, 0)[:len(buf)]
			}
			n, err := r.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if err == io.EOF {
				break
			}
			if err != nil {
				return
			}
		}
		now := time.Now()
		seq := liveNumber(buf, `"seq":`)
		if seq <= c.lastSeq {
			c.bad.Add(1)
			continue
		}
		c.lastSeq = seq
		c.got.Add(1)
		if sent := liveNumber(buf, `"sent_ns":`); sent > 0 {
			h.add(now.Sub(time.Unix(0, sent)))
		}
	}
}

// liveNumber reads the whole number after key in a frame.
func liveNumber(p []byte, key string) int64 {
	i := bytes.Index(p, []byte(key))
	if i < 0 {
		return 0
	}
	i += len(key)
	j := i
	for j < len(p) && p[j] >= '0' && p[j] <= '9' {
		j++
	}
	n, _ := strconv.ParseInt(string(p[i:j]), 10, 64)
	return n
}

// liveBaseline is the bench clients connected to a listener that answers
// the handshake and holds the connection, nothing more.
type liveBaseline struct {
	ln      net.Listener
	held    []net.Conn
	clients []*liveClient
	readers sync.WaitGroup
}

// liveAcceptKey is the Sec-WebSocket-Accept answering key (RFC 6455 4.2.2).
func liveAcceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

func liveBaselineFor(d *websocket.Dialer, n int) (*liveBaseline, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: live: %w", err)
	}
	b := &liveBaseline{ln: ln}
	accepted := make(chan net.Conn, n)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			req, err := http.ReadRequest(bufio.NewReader(conn))
			if err != nil {
				conn.Close()
				continue
			}
			_, _ = io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "+
				liveAcceptKey(req.Header.Get("Sec-WebSocket-Key"))+"\r\n\r\n")
			accepted <- conn
		}
	}()
	hist := newLiveHistogram()
	for i := 0; i < n; i++ {
		c, err := dialLive(d, ln.Addr().String(), "/")
		if err != nil {
			b.close()
			return nil, fmt.Errorf("bench: live: baseline: %w", err)
		}
		b.clients = append(b.clients, c)
		b.held = append(b.held, <-accepted)
		b.readers.Add(1)
		go func() { defer b.readers.Done(); c.read(hist) }()
	}
	return b, nil
}

func (b *liveBaseline) close() {
	b.ln.Close()
	for _, c := range b.held {
		c.Close()
	}
	for _, c := range b.clients {
		c.conn.Close()
	}
	b.readers.Wait()
}

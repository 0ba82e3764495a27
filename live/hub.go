// Package live is the event stream behind the wall map: it reads the events
// outbox, LISTENs for new rows, and fans them out to websocket clients.
//
// Every change writes an events row in its own transaction; an AFTER INSERT
// trigger notifies 'whistlegrid_events' with the seq. Each server instance
// runs one Hub: it holds a dedicated connection that LISTENs, reads the rows
// after the last seq it delivered (on a notification, on a periodic poll as
// a safety net, and after reconnecting), and puts each event on the bounded
// send queue of every client that may see it. A client writer that falls
// behind is dropped with close code 4008 and resumes with since=SEQ; a
// resume is served from an in-memory ring of recent events, or from the
// table while the rows are kept (Options.Retention); older than that the
// client gets 4009 and reloads the snapshot.
//
// Each client is a gorilla/websocket connection served by two goroutines:
// its writer (the HTTP handler's goroutine) is the only one to write data
// frames, pings and the close frame the hub chose (4008, 4009, 1001 on
// shutdown), each write under Options.WriteTimeout; its reader handles
// pongs, which move a read deadline of PingInterval+PongTimeout on, and the
// client's close.
//
// Order and exactly-once: seqs are taken when a row is inserted but become
// visible when its transaction commits, so seq 11 may be seen before seq
// 10. The hub never delivers past a missing seq until it knows the seq will
// not appear: every transaction that was open when the gap was first seen
// has ended (and a re-read still misses it), or Options.GapTimeout passed.
package live

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"whistlegrid/fault"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// Channel is the LISTEN/NOTIFY channel the events trigger notifies.
const Channel = "whistlegrid_events"

// TokenChannel is the LISTEN/NOTIFY channel a revoked token is notified on,
// with the hex of its SHA-256 (migrations/00007_token_revoked_notify.sql).
const TokenChannel = "whistlegrid_tokens"

// ApplicationName names the hub's listening connection in
// pg_stat_activity.
const ApplicationName = "whistlegrid live hub"

// Close codes a client receives, beside 1001 (going away) on shutdown.
const (
	// CloseTooSlow: the client's send queue overflowed; reconnect with
	// since=<last seq received>.
	CloseTooSlow = 4008
	// CloseReload: since is older than the kept history (or newer than any
	// seq ever handed out); load the snapshot again and resume from its seq.
	CloseReload = 4009
	// CloseRevoked: the token the stream was opened with was revoked
	// (logout), has expired, or its user was disabled; log in again.
	CloseRevoked = 4001
)

// Errors of Serve before the websocket handshake.
var (
	ErrUnavailable = fault.New(fault.Unavailable, "live: the event stream is not running; try again shortly")
)

// Options tune a Hub; the zero value is the production setting.
type Options struct {
	// Registry receives the hub's metrics; nil registers none (see Register).
	Registry prometheus.Registerer
	// QueueSize is each client's send queue, in events; default 256. A
	// client whose queue is full when an event arrives is closed with 4008.
	QueueSize int
	// RingSize is how many recent events are kept in memory for resumes;
	// default 4096. Older resumes read the table.
	RingSize int
	// BatchSize is how many rows one outbox read returns at most; default 500.
	BatchSize int
	// Poll is how often the outbox is read when no notification came;
	// default 2s.
	Poll time.Duration
	// Retention is how long events stay in the table, and so how far back a
	// client can resume: rows whose at is older are deleted every
	// PruneEvery. Default 7 days; negative keeps every row.
	Retention time.Duration
	// Linger is the shortest time between two reads of the outbox after
	// notifications; default 20ms, negative for none. A notification that
	// comes sooner waits for the rest of it, so that under load one read
	// carries several events and each client gets them in one network
	// write; when events are further apart than Linger, none waits.
	Linger time.Duration
	// PruneEvery is how often old rows are deleted; default 1h.
	PruneEvery time.Duration
	// GapTimeout is the longest the hub holds delivery for a missing seq
	// whose transaction may still commit; default 30s. After it the seq is
	// skipped (logged); clients then see that change only on a snapshot.
	GapTimeout time.Duration
	// PingInterval is how often each client is pinged; default 25s.
	PingInterval time.Duration
	// PongTimeout is how long a pong may take; default 10s. A client that
	// sends no pong within PingInterval+PongTimeout of its last one is
	// disconnected.
	PongTimeout time.Duration
	// WriteTimeout is how long one write may take (a burst of frames, a
	// ping, a close frame); default 10s. A client stuck longer is
	// disconnected.
	WriteTimeout time.Duration
	// ShutdownTimeout is how long Run waits, when its context ends, for the
	// clients' close handshakes; default 5s.
	ShutdownTimeout time.Duration
	// TokenCheck is how often each session asks whether its token is still
	// valid (Subscription.Check), so that an expired token, or one revoked
	// while no notification could arrive, is cut within it; default 30s.
	// A revocation notified on TokenChannel closes the session at once.
	TokenCheck time.Duration
	// ReadyTimeout is how long a new client waits for the hub's first read
	// of the outbox before Serve gives up with ErrUnavailable; default 10s.
	ReadyTimeout time.Duration
	// ReconnectMin and ReconnectMax bound the backoff between attempts to
	// reconnect the listening connection; defaults 250ms and 15s.
	ReconnectMin, ReconnectMax time.Duration
	// OriginPatterns are the cross-origin hosts allowed to open the
	// websocket, in path.Match syntax, case-insensitive ("*.example.org";
	// with "://" the pattern is matched against scheme://host). Same-origin
	// requests and those without an Origin header are always allowed.
	OriginPatterns []string
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 256
	}
	if o.RingSize <= 0 {
		o.RingSize = 4096
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	def(&o.Poll, 2*time.Second)
	def(&o.Linger, 20*time.Millisecond)
	def(&o.Retention, 7*24*time.Hour)
	def(&o.PruneEvery, time.Hour)
	def(&o.GapTimeout, 30*time.Second)
	def(&o.PingInterval, 25*time.Second)
	def(&o.PongTimeout, 10*time.Second)
	def(&o.WriteTimeout, 10*time.Second)
	def(&o.ShutdownTimeout, 5*time.Second)
	def(&o.ReadyTimeout, 10*time.Second)
	def(&o.TokenCheck, 30*time.Second)
	def(&o.ReconnectMin, 250*time.Millisecond)
	def(&o.ReconnectMax, 15*time.Second)
}

// Hub reads the events outbox and fans events out to websocket clients.
// Build it with NewHub, run it with Run, and serve clients with Serve.
type Hub struct {
	pool *pgxpool.Pool
	log  *slog.Logger
	opt  Options
	m    metrics

	mu       sync.Mutex
	sessions map[*session]struct{}
	last     int64 // every seq <= last is resolved: delivered, or known never to appear
	ring     ring
	closing  bool

	bufs     sync.Pool // write buffers of the clients' bursts (*[]byte)
	upgrader websocket.Upgrader

	seq     atomic.Int64 // last, for readers outside mu; -1 until ready
	ready   chan struct{}
	running atomic.Bool
	conns   sync.WaitGroup // sessions being served

	// owned by the Run goroutine
	gap       *gap
	lastPrune time.Time
	lastRead  time.Time
}

// gap is a missing seq the hub is waiting for.
type gap struct {
	from   int64     // the missing seq
	seenAt time.Time // server clock when first seen missing
	wall   time.Time // local clock when first seen missing
	clear  bool      // no transaction open at seenAt remains; one more read decides
}

// NewHub returns a hub reading the outbox through pool. Nothing happens
// until Run.
func NewHub(pool *pgxpool.Pool, log *slog.Logger, opts Options) *Hub {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts.defaults()
	h := &Hub{
		pool:     pool,
		log:      log,
		opt:      opts,
		m:        newMetrics(),
		sessions: make(map[*session]struct{}),
		ready:    make(chan struct{}),
	}
	h.bufs.New = func() any { b := make([]byte, 0, 16<<10); return &b }
	h.upgrader = websocket.Upgrader{
		CheckOrigin: h.checkOrigin,
		// clients send only control frames: a small read buffer, and the
		// write buffer borrowed per message, so an idle client holds little
		ReadBufferSize:  256,
		WriteBufferPool: &sync.Pool{},
	}
	h.seq.Store(-1)
	h.ring.buf = make([]*Event, opts.RingSize)
	if opts.Registry != nil {
		if err := h.Register(opts.Registry); err != nil {
			log.Warn("live: metrics not registered", slog.Any("err", err))
		}
	}
	return h
}

// Seq is the seq up to which the hub has delivered every event (all lower
// seqs are delivered or known never to appear); ok is false until the hub
// has read the outbox once.
func (h *Hub) Seq() (seq int64, ok bool) {
	s := h.seq.Load()
	return s, s >= 0
}

// Clients is the number of connected websocket clients.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions)
}

// Run reads the outbox and fans events out until ctx ends; then it closes
// every client with 1001 (going away), waits up to ShutdownTimeout for the
// close handshakes, and returns nil. A dropped listening connection is
// reconnected with backoff. Run may be called once.
func (h *Hub) Run(ctx context.Context) error {
	if !h.running.CompareAndSwap(false, true) {
		return errors.New("live: Run called twice")
	}
	backoff := h.opt.ReconnectMin
	for {
		start := time.Now()
		err := h.listen(ctx)
		if ctx.Err() != nil {
			break
		}
		h.m.reconnects.Inc()
		if time.Since(start) > time.Minute {
			backoff = h.opt.ReconnectMin
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		h.log.Warn("live: listening connection lost, reconnecting", slog.Any("err", err), slog.Duration("in", wait))
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		if ctx.Err() != nil {
			break
		}
		backoff = min(backoff*2, h.opt.ReconnectMax)
	}
	h.shutdown()
	return nil
}

// listen runs one listening connection until it fails or ctx ends.
func (h *Hub) listen(ctx context.Context) error {
	cfg := h.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = ApplicationName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("live: connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	for _, ch := range []string{Channel, TokenChannel} {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return fmt.Errorf("live: listen: %w", err)
		}
	}
	if _, ok := h.Seq(); !ok {
		// Start a ring's length back, so that the ring is full for resumes
		// and seqs still being committed below the top are not passed over.
		var top int64
		if err := conn.QueryRow(ctx, maxSeq).Scan(&top); err != nil {
			return fmt.Errorf("live: %w", err)
		}
		base := max(0, top-int64(h.opt.RingSize))
		h.mu.Lock()
		h.last, h.ring.floor = base, base
		h.mu.Unlock()
		if err := h.catchUp(ctx, conn); err != nil {
			return err
		}
		h.mu.Lock()
		h.seq.Store(h.last)
		h.mu.Unlock()
		close(h.ready)
		h.log.Info("live: hub ready", slog.Int64("seq", h.last))
	} else {
		h.recheckTokens()                            // revocations notified while disconnected were missed
		if err := h.catchUp(ctx, conn); err != nil { // what was missed while disconnected
			return err
		}
	}
	for {
		if h.opt.Retention > 0 && time.Since(h.lastPrune) >= h.opt.PruneEvery {
			h.lastPrune = time.Now()
			if tag, err := conn.Exec(ctx, prune, h.opt.Retention); err != nil {
				return fmt.Errorf("live: prune: %w", err)
			} else if tag.RowsAffected() > 0 {
				h.log.Info("live: old events deleted", slog.Int64("rows", tag.RowsAffected()), slog.Duration("retention", h.opt.Retention))
			}
		}
		wait := h.opt.Poll
		if h.gap != nil {
			wait = min(wait, 20*time.Millisecond)
		}
		wctx, cancel := context.WithTimeout(ctx, wait)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && wctx.Err() == nil:
			return fmt.Errorf("live: wait: %w", err)
		case err == nil && n.Channel == TokenChannel:
			h.revoke(n.Payload)
			continue
		case err == nil:
			if s, perr := strconv.ParseInt(n.Payload, 10, 64); perr == nil && s <= h.lastSeq() {
				continue // already read with an earlier notification
			}
			if wait := time.Until(h.lastRead.Add(h.opt.Linger)); wait > 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(wait):
				}
			}
		}
		h.lastRead = time.Now()
		if err := h.catchUp(ctx, conn); err != nil {
			return err
		}
	}
}

func (h *Hub) lastSeq() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}

// catchUp reads and delivers every row after last, in seq order, stopping
// at a missing seq that may still appear (see gap).
func (h *Hub) catchUp(ctx context.Context, q querier) error {
	for {
		last := h.lastSeq()
		rows, now, err := read(ctx, q, last, math.MaxInt64, h.opt.BatchSize)
		if err != nil {
			return err
		}
		next, out, held := last, rows[:0:0], false
		for _, e := range rows {
			if e.Seq != next+1 {
				skip, err := h.passGap(ctx, q, next+1, now)
				if err != nil {
					return err
				}
				if !skip {
					held = true
					break
				}
			}
			out = append(out, e)
			next = e.Seq
		}
		if len(out) > 0 {
			h.publish(out)
		}
		if held {
			if h.gap.clear {
				continue // read once more to decide
			}
			return nil
		}
		h.gap = nil
		if len(rows) < h.opt.BatchSize {
			return nil
		}
	}
}

// passGap decides whether delivery may pass the missing seq from, seen
// missing in a read at server time now.
func (h *Hub) passGap(ctx context.Context, q querier, from int64, now time.Time) (bool, error) {
	g := h.gap
	if g == nil || g.from != from {
		g = &gap{from: from, seenAt: now, wall: time.Now()}
		h.gap = g
	}
	if g.clear {
		// no transaction open when the gap was seen is left, and this read
		// came after that check: the seq will never appear
		h.gap = nil
		h.m.gaps.WithLabelValues("absent").Inc()
		return true, nil
	}
	if time.Since(g.wall) >= h.opt.GapTimeout {
		h.gap = nil
		h.m.gaps.WithLabelValues("timeout").Inc()
		h.log.Warn("live: skipping a missing event seq after the gap timeout; a transaction is still open",
			slog.Int64("seq", from), slog.Duration("timeout", h.opt.GapTimeout))
		return true, nil
	}
	var open bool
	if err := q.QueryRow(ctx, oldTransactions, g.seenAt).Scan(&open); err != nil {
		return false, fmt.Errorf("live: gap check: %w", err)
	}
	// With none open, one more read decides: the transaction may have
	// committed between our read and the check.
	g.clear = !open
	return false, nil
}

// publish appends events to the ring and puts each on the queue of every
// client that may see it. A client whose queue is full is dropped with 4008.
func (h *Hub) publish(evs []*Event) {
	var sent int
	h.mu.Lock()
	for _, e := range evs {
		h.ring.push(e)
	}
	h.last = evs[len(evs)-1].Seq
	// client by client, so a writer woken by the first event of the batch
	// finds the rest queued and sends them together
	for s := range h.sessions {
		for _, e := range evs {
			if !s.sub.Match(e) {
				continue
			}
			select {
			case s.queue <- e:
				sent++
				continue
			default:
			}
			delete(h.sessions, s)
			// counted before the kick, so the drop is in the metrics by
			// the time the client reads the close frame
			h.m.drops.WithLabelValues("slow").Inc()
			h.m.clients.Dec()
			s.kick(CloseTooSlow, "too slow: send queue full; reconnect with since=<last seq received>")
			break
		}
	}
	if _, ok := h.Seq(); ok {
		h.seq.Store(h.last)
	}
	h.mu.Unlock()
	h.m.events.Add(float64(len(evs)))
	h.m.sent.Add(float64(sent))
}

// revoke closes with CloseRevoked every session opened with the token
// whose SHA-256 is hexHash (a TokenChannel notification).
func (h *Hub) revoke(hexHash string) {
	var sum [32]byte
	b, err := hex.DecodeString(hexHash)
	if err != nil || len(b) != len(sum) {
		h.log.Warn("live: a token notification that is no SHA-256", slog.String("payload", hexHash))
		return
	}
	copy(sum[:], b)
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.sessions {
		if s.sub.Token == sum {
			delete(h.sessions, s) // no more events on its queue
			h.m.clients.Dec()
			h.m.drops.WithLabelValues("revoked").Inc()
			s.kick(CloseRevoked, "token revoked; log in again")
		}
	}
}

// recheckTokens asks every session to check its token now.
func (h *Hub) recheckTokens() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.sessions {
		select {
		case s.recheck <- struct{}{}:
		default:
		}
	}
}

// register adds a session and returns the seq from which the hub delivers
// to it (every event after it goes on its queue) and, when the ring covers
// the resume, the events after since up to that seq.
func (h *Hub) register(s *session) (last int64, backlog []*Event, covered, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return 0, nil, false, false
	}
	h.sessions[s] = struct{}{}
	h.m.clients.Inc()
	last = h.last
	if s.sub.Since == FromNow || s.sub.Since >= last {
		return last, nil, true, true
	}
	backlog, covered = h.ring.after(s.sub.Since)
	return last, backlog, covered, true
}

// unregister removes a session that ended on its own.
func (h *Hub) unregister(s *session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.sessions[s]; ok {
		delete(h.sessions, s)
		h.m.clients.Dec()
	}
}

// shutdown closes every client with 1001 and waits for them.
func (h *Hub) shutdown() {
	h.mu.Lock()
	h.closing = true
	all := make([]*session, 0, len(h.sessions))
	for s := range h.sessions {
		all = append(all, s)
		delete(h.sessions, s)
	}
	h.m.clients.Sub(float64(len(all)))
	h.mu.Unlock()
	for _, s := range all {
		s.kick(websocket.CloseGoingAway, "server shutting down; reconnect with since=<last seq received>")
	}
	done := make(chan struct{})
	go func() { h.conns.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(h.opt.ShutdownTimeout):
		for _, s := range all {
			s.abort()
		}
		h.log.Warn("live: clients did not finish their close handshake in time", slog.Duration("timeout", h.opt.ShutdownTimeout))
	}
}

// ring keeps the most recent events in seq order. Every seq in
// (floor, last] that exists is in buf.
type ring struct {
	buf     []*Event
	head, n int
	floor   int64
}

func (r *ring) push(e *Event) {
	if r.n == len(r.buf) {
		r.floor = r.buf[r.head].Seq
		r.buf[r.head] = e
		r.head = (r.head + 1) % len(r.buf)
		return
	}
	r.buf[(r.head+r.n)%len(r.buf)] = e
	r.n++
}

func (r *ring) at(i int) *Event { return r.buf[(r.head+i)%len(r.buf)] }

// after returns the events with seq > since, or ok false when the ring no
// longer holds all of them.
func (r *ring) after(since int64) (evs []*Event, ok bool) {
	if since < r.floor {
		return nil, false
	}
	i := sort.Search(r.n, func(i int) bool { return r.at(i).Seq > since })
	evs = make([]*Event, 0, r.n-i)
	for ; i < r.n; i++ {
		evs = append(evs, r.at(i))
	}
	return evs, true
}

// metrics are the hub's Prometheus collectors.
type metrics struct {
	clients    prometheus.Gauge
	events     prometheus.Counter
	sent       prometheus.Counter
	drops      *prometheus.CounterVec
	gaps       *prometheus.CounterVec
	reconnects prometheus.Counter
	resumes    *prometheus.CounterVec
}

func newMetrics() metrics {
	return metrics{
		clients: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "whistlegrid_live_clients", Help: "Websocket clients connected to the live stream."}),
		events: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "whistlegrid_live_events_total", Help: "Outbox events read and fanned out."}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "whistlegrid_live_deliveries_total", Help: "Events put on a client's send queue."}),
		drops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "whistlegrid_live_dropped_clients_total", Help: "Clients disconnected by the server, by reason (slow: queue full, 4008; revoked: token revoked or expired, 4001; write_timeout; ping_timeout)."}, []string{"reason"}),
		gaps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "whistlegrid_live_skipped_seqs_total", Help: "Missing outbox seqs passed over, by reason (absent: rolled back; timeout: GapTimeout)."}, []string{"reason"}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "whistlegrid_live_reconnects_total", Help: "Reconnections of the hub's listening connection."}),
		resumes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "whistlegrid_live_resumes_total", Help: "Clients connecting with since, by source of the backlog (ring, table, reload: closed with 4009)."}, []string{"from"}),
	}
}

// Register adds the hub's metrics to reg (for example the API server's
// Registry()). Registering on the same registry twice is not an error.
func (h *Hub) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{h.m.clients, h.m.events, h.m.sent, h.m.drops, h.m.gaps, h.m.reconnects, h.m.resumes} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) && are.ExistingCollector == c {
				continue
			}
			return fmt.Errorf("live: metrics: %w", err)
		}
	}
	return nil
}

package live

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// session is one websocket client. The hub puts events on queue; the
// session's own goroutine (the HTTP handler's) is the connection's only
// writer: backlog, then queued events, pings, and the close frame.
type session struct {
	sub     Subscription
	variant int
	queue   chan *Event

	kickOnce sync.Once
	kicked   chan struct{} // closed when the hub wants the client gone
	code     websocket.StatusCode
	reason   string

	cancel     context.CancelFunc // aborts the connection without a close frame
	writeStart atomic.Int64       // unix nanos of the write in progress, 0 when idle
	cork       *corkConn          // the connection under the websocket, to send a burst in one write
	// wctx is the writes' context: without a Done channel, so a write is
	// not tied to it (which would cost a callback registration per frame);
	// cancelling the session still ends a write, as the reader CloseRead
	// started then closes the connection.
	wctx context.Context
}

// kick asks the session to close with code and reason after its current
// write.
func (s *session) kick(code websocket.StatusCode, reason string) {
	s.kickOnce.Do(func() {
		s.code, s.reason = code, reason
		close(s.kicked)
	})
}

// abort drops the connection at once.
func (s *session) abort() {
	s.kick(websocket.StatusGoingAway, "")
	s.cancel()
}

// Serve upgrades the request to a websocket and streams the events the
// subscription matches until the client goes, is dropped, or the hub shuts
// down. The caller has authenticated the client and checked the
// subscription. Before the handshake Serve returns ErrUnavailable when the
// hub is not running (the caller answers 503); any other failure has been
// answered already.
//
// Each event is one JSON text frame {"seq","kind","at","township","data"},
// in seq order, each once. With Since set, the events after it come first
// (from memory or the table), then the live ones, without gap or repeat.
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, sub Subscription) error {
	select {
	case <-h.ready:
	default:
		t := time.NewTimer(h.opt.ReadyTimeout)
		defer t.Stop()
		select {
		case <-h.ready:
		case <-t.C:
			return ErrUnavailable
		case <-r.Context().Done():
			return r.Context().Err()
		}
	}
	h.mu.Lock()
	closing := h.closing
	if !closing {
		h.conns.Add(1)
	}
	h.mu.Unlock()
	if closing {
		return ErrUnavailable
	}
	defer h.conns.Done()

	cw := &corkWriter{ResponseWriter: w, bufs: &h.bufs}
	c, err := websocket.Accept(cw, r, &websocket.AcceptOptions{
		OriginPatterns:  h.opt.OriginPatterns,
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		return fmt.Errorf("live: handshake: %w", err)
	}
	defer c.CloseNow()
	// cancel closes the connection: the reader started by CloseRead reads
	// with base, and every write uses ctx, derived from it.
	base, cancel := context.WithCancel(r.Context())
	defer cancel()
	ctx := c.CloseRead(base)
	s := &session{
		sub:     sub,
		variant: variantOf(sub.Scope),
		queue:   make(chan *Event, h.opt.QueueSize),
		kicked:  make(chan struct{}),
		cancel:  cancel,
		cork:    cw.conn,
		wctx:    context.WithoutCancel(ctx),
	}
	err = h.stream(ctx, c, s)
	switch {
	case err == nil, errors.Is(err, errKicked), errors.Is(err, context.Canceled), websocket.CloseStatus(err) != -1:
	default:
		h.log.Debug("live: client gone", slog.String("user", sub.Scope.Username), slog.Any("err", err))
	}
	return nil
}

// stream runs one session: register, backlog, live events; when the hub
// kicks it, it ends with the close frame the hub chose.
func (h *Hub) stream(ctx context.Context, c *websocket.Conn, s *session) error {
	err := h.streamEvents(ctx, c, s)
	if errors.Is(err, errKicked) {
		_ = c.Close(s.code, s.reason)
	}
	return err
}

func (h *Hub) streamEvents(ctx context.Context, c *websocket.Conn, s *session) error {
	last, backlog, covered, ok := h.register(s)
	if !ok {
		return c.Close(websocket.StatusGoingAway, "server shutting down")
	}
	defer h.unregister(s)

	sent := s.sub.Since // the highest seq this client has, or will never need
	if s.sub.Since != FromNow {
		lo, hi, err := h.checkSince(ctx, s.sub.Since, last, covered)
		if err != nil {
			return err
		}
		if lo != 0 || hi != 0 {
			h.m.resumes.WithLabelValues("reload").Inc()
			reason := fmt.Sprintf("since %d is outside the kept history (%d..%d); reload the snapshot", s.sub.Since, lo, hi)
			return c.Close(CloseReload, reason)
		}
		if covered {
			if len(backlog) > 0 {
				h.m.resumes.WithLabelValues("ring").Inc()
			}
			if err := h.sendAll(c, s, backlog, &sent); err != nil {
				return err
			}
		} else {
			h.m.resumes.WithLabelValues("table").Inc()
			for sent < last {
				evs, _, err := read(ctx, h.pool, sent, last, h.opt.BatchSize)
				if err != nil {
					return err
				}
				if err := h.sendAll(c, s, evs, &sent); err != nil {
					return err
				}
				if len(evs) < h.opt.BatchSize {
					break
				}
			}
		}
	}

	ping := time.NewTicker(h.opt.PingInterval)
	defer ping.Stop()
	var burst []*Event
	for {
		select {
		case <-s.kicked:
			return errKicked
		default:
		}
		select {
		case <-s.kicked:
			return errKicked
		case <-ctx.Done():
			return ctx.Err()
		case e := <-s.queue:
			// send what else is queued with it in one write
			burst = append(burst[:0], e)
			for len(burst) < maxBurst && len(s.queue) > 0 {
				burst = append(burst, <-s.queue)
			}
			err := h.sendAll(c, s, burst, &sent)
			clear(burst)
			if err != nil {
				return err
			}
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, h.opt.PongTimeout)
			err := c.Ping(pctx)
			cancel()
			if err != nil {
				if ctx.Err() == nil {
					h.m.drops.WithLabelValues("ping_timeout").Inc()
				}
				return err
			}
		}
	}
}

// checkSince answers, for a resume the ring cannot serve, whether since is
// inside the kept history; when it is not, it returns the history's bounds
// (oldest kept seq, last seq handed out) for the close reason.
func (h *Hub) checkSince(ctx context.Context, since, last int64, covered bool) (lo, hi int64, err error) {
	if covered && since <= last {
		return 0, 0, nil
	}
	var oldest, top int64
	if err := h.pool.QueryRow(ctx, bounds).Scan(&oldest, &top); err != nil {
		return 0, 0, fmt.Errorf("live: %w", err)
	}
	switch {
	case since > top: // a seq never handed out: another database, or a reset
		return max(oldest, 1), top, nil
	case since >= last: // ahead of this hub, behind the database: live only
		return 0, 0, nil
	case oldest == 0 || since < oldest-1: // the rows after since are gone
		return max(oldest, 1), top, nil
	}
	return 0, 0, nil
}

// maxBurst is how many queued events a writer sends in one network write
// at most.
const maxBurst = 64

// sendAll sends events with the connection corked, so that they leave in
// as few writes as the buffer allows.
func (h *Hub) sendAll(c *websocket.Conn, s *session, evs []*Event, sent *int64) error {
	s.cork.hold()
	for _, e := range evs {
		if err := h.send(c, s, e, sent); err != nil {
			s.cork.release()
			return err
		}
	}
	s.writeStart.Store(time.Now().UnixNano())
	err := s.cork.release()
	s.writeStart.Store(0)
	return err
}

// errKicked ends a session the hub closed.
var errKicked = errors.New("live: closed by the hub")

// send writes one event if the client may see it and has not had it.
func (h *Hub) send(c *websocket.Conn, s *session, e *Event, sent *int64) error {
	select {
	case <-s.kicked:
		return errKicked
	default:
	}
	if e.Seq <= *sent {
		return nil
	}
	*sent = e.Seq
	if !s.sub.Match(e) {
		return nil
	}
	s.writeStart.Store(time.Now().UnixNano())
	err := c.Write(s.wctx, websocket.MessageText, e.frame(s.variant))
	s.writeStart.Store(0)
	return err
}

// corkWriter hands the websocket library a connection that can hold
// writes back (corkConn), so a writer that finds several events queued
// sends them in one system call instead of one per frame. It is otherwise
// the handler's ResponseWriter.
type corkWriter struct {
	http.ResponseWriter
	bufs *sync.Pool
	conn *corkConn
}

// Hijack takes the connection over, wrapped.
func (w *corkWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Writer.Flush(); err != nil {
		conn.Close()
		return nil, nil, err
	}
	w.conn = &corkConn{Conn: conn, bufs: w.bufs}
	return w.conn, bufio.NewReadWriter(brw.Reader, bufio.NewWriterSize(w.conn, 4096)), nil
}

// WriteHeaderNow sends the 101 before the hijack on writers that delay
// headers (gin's).
func (w *corkWriter) WriteHeaderNow() {
	if g, ok := w.ResponseWriter.(interface{ WriteHeaderNow() }); ok {
		g.WriteHeaderNow()
	}
}

// corkConn is a connection whose writes, while held, collect in a buffer
// (up to corkLimit) until released. Safe for the library's reader, which
// may write pongs and close frames, alongside the session's writer. The
// buffer is borrowed from the hub's pool for the burst only, so an idle
// client holds none.
type corkConn struct {
	net.Conn
	bufs *sync.Pool // of *[]byte
	mu   sync.Mutex
	held bool
	buf  *[]byte
}

const corkLimit = 64 << 10

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held && (c.buf == nil || len(*c.buf)+len(p) <= corkLimit) {
		if c.buf == nil {
			c.buf = c.bufs.Get().(*[]byte)
		}
		*c.buf = append(*c.buf, p...)
		return len(p), nil
	}
	if err := c.flushLocked(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

func (c *corkConn) hold() {
	c.mu.Lock()
	c.held = true
	c.mu.Unlock()
}

// release sends what was held and stops holding.
func (c *corkConn) release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held = false
	return c.flushLocked()
}

func (c *corkConn) flushLocked() error {
	if c.buf == nil {
		return nil
	}
	b := c.buf
	c.buf = nil
	_, err := c.Conn.Write(*b)
	*b = (*b)[:0]
	c.bufs.Put(b)
	return err
}

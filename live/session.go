package live

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"whistlegrid/fault"
)

// session is one websocket client. Two goroutines serve it, as gorilla's
// rules ask (one reader, one writer per connection): the HTTP handler's is
// the only writer (backlog, queued events, pings, the close frame the hub
// chose), and readLoop the only reader (pongs, the client's close; gorilla
// answers a client's ping or close with WriteControl, which may run beside
// the writer).
type session struct {
	sub     Subscription
	variant int
	queue   chan *Event

	recheck chan struct{} // the hub asks for a token check now (buffered 1)

	kickOnce sync.Once
	kicked   chan struct{} // closed when the hub wants the client gone
	code     int
	reason   string

	conn *websocket.Conn // nil for sessions the fan-out tests make without a network
	cork *corkConn       // the connection under conn, to send a burst in one write
}

// kick asks the session to close with code and reason after its current
// write.
func (s *session) kick(code int, reason string) {
	s.kickOnce.Do(func() {
		s.code, s.reason = code, reason
		close(s.kicked)
	})
}

// abort drops the connection at once, without a close frame: a write in
// progress fails and the reader ends.
func (s *session) abort() {
	s.kick(websocket.CloseGoingAway, "")
	if s.conn != nil {
		_ = s.conn.Close()
	}
}

// Errors that end a session.
var (
	// errKicked: the hub closed the session (session.code).
	errKicked = errors.New("live: closed by the hub")
	// errNoPong: no pong within PingInterval+PongTimeout of the last one.
	errNoPong = errors.New("live: no pong in time")
	// errClientMessage: the client sent a data message; the stream takes none.
	errClientMessage = errors.New("live: the client sent a message")
)

// closeFrame ends a session with a close frame.
type closeFrame struct {
	code   int
	reason string
}

func (c *closeFrame) Error() string { return fmt.Sprintf("live: closed with %d: %s", c.code, c.reason) }

// Limits of the connection.
const (
	// readLimit is the largest message read from a client, in bytes: it
	// sends only control frames (pong, close), whose payloads are at most
	// 125 bytes.
	readLimit = 512
	// closeWait is how long a session that sent its close frame waits for
	// the client's before it closes the connection.
	closeWait = 5 * time.Second
	// maxCloseReason is the longest close reason a close frame carries, in
	// bytes (a control frame's payload is at most 125, two are the code).
	maxCloseReason = 123
)

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
	c, err := h.upgrader.Upgrade(cw, r, nil)
	if err != nil {
		return fmt.Errorf("live: handshake: %w", err)
	}
	s := &session{
		sub:     sub,
		variant: variantOf(sub.Scope),
		queue:   make(chan *Event, h.opt.QueueSize),
		recheck: make(chan struct{}, 1),
		kicked:  make(chan struct{}),
		conn:    c,
		cork:    cw.conn,
	}
	// ctx ends with the reader, its cause the reason reading stopped.
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		cancel(h.readLoop(c))
	}()
	err = h.stream(ctx, s, readDone)
	_ = c.Close()
	<-readDone
	var ne net.Error
	switch {
	case errors.Is(err, errNoPong):
		h.m.drops.WithLabelValues("ping_timeout").Inc()
	case errors.As(err, &ne) && ne.Timeout():
		h.m.drops.WithLabelValues("write_timeout").Inc()
	case err == nil, errors.Is(err, errKicked), errors.As(err, new(*closeFrame)), errors.Is(err, context.Canceled),
		websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived):
	default:
		h.log.Debug("live: client gone", slog.String("user", sub.Scope.Username), slog.Any("err", err))
	}
	return nil
}

// readLoop is the connection's only reader. It keeps a read deadline of
// PingInterval+PongTimeout, moved on by each pong, so a client that stops
// answering pings is dropped; gorilla's handlers answer the client's pings
// and close frame. It returns why reading ended: errNoPong, the client's
// close (a *websocket.CloseError), or the network error.
func (h *Hub) readLoop(c *websocket.Conn) error {
	wait := h.opt.PingInterval + h.opt.PongTimeout
	c.SetReadLimit(readLimit)
	_ = c.SetReadDeadline(time.Now().Add(wait))
	c.SetPongHandler(func(string) error { return c.SetReadDeadline(time.Now().Add(wait)) })
	_, _, err := c.NextReader()
	var ne net.Error
	switch {
	case err == nil: // a data message: the stream takes none
		_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "the live stream takes no messages"),
			time.Now().Add(h.opt.WriteTimeout))
		return errClientMessage
	case errors.As(err, &ne) && ne.Timeout():
		return errNoPong
	}
	return err
}

// stream runs one session: register, backlog, live events; when it ends
// with a close frame (the hub kicked it, or since is out of reach) the
// frame goes out and the client has closeWait to answer.
func (h *Hub) stream(ctx context.Context, s *session, readDone <-chan struct{}) error {
	err := h.streamEvents(ctx, s)
	var cl *closeFrame
	switch {
	case errors.Is(err, errKicked):
		cl = &closeFrame{s.code, s.reason}
	case !errors.As(err, &cl):
		return err
	}
	reason := cl.reason
	if len(reason) > maxCloseReason {
		reason = reason[:maxCloseReason]
	}
	if werr := s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(cl.code, reason), time.Now().Add(h.opt.WriteTimeout)); werr != nil {
		return werr
	}
	t := time.NewTimer(closeWait)
	defer t.Stop()
	select {
	case <-readDone:
	case <-t.C:
	}
	return err
}

func (h *Hub) streamEvents(ctx context.Context, s *session) error {
	last, backlog, covered, ok := h.register(s)
	if !ok {
		return &closeFrame{websocket.CloseGoingAway, "server shutting down"}
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
			return &closeFrame{CloseReload, fmt.Sprintf("since %d is outside the kept history (%d..%d); reload the snapshot", s.sub.Since, lo, hi)}
		}
		if covered {
			if len(backlog) > 0 {
				h.m.resumes.WithLabelValues("ring").Inc()
			}
			if err := h.sendAll(s, backlog, &sent); err != nil {
				return err
			}
		} else {
			h.m.resumes.WithLabelValues("table").Inc()
			for sent < last {
				evs, _, err := read(ctx, h.pool, sent, last, h.opt.BatchSize)
				if err != nil {
					return err
				}
				if err := h.sendAll(s, evs, &sent); err != nil {
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
	check := time.NewTicker(h.opt.TokenCheck)
	defer check.Stop()
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
			return context.Cause(ctx)
		case e := <-s.queue:
			// send what else is queued with it in one write
			burst = append(burst[:0], e)
			for len(burst) < maxBurst && len(s.queue) > 0 {
				burst = append(burst, <-s.queue)
			}
			err := h.sendAll(s, burst, &sent)
			clear(burst)
			if err != nil {
				return err
			}
		case <-ping.C:
			// the pong moves the reader's deadline on (readLoop)
			if err := s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(h.opt.WriteTimeout)); err != nil {
				return err
			}
		case <-check.C:
			if err := h.checkToken(ctx, s); err != nil {
				return err
			}
		case <-s.recheck:
			if err := h.checkToken(ctx, s); err != nil {
				return err
			}
		}
	}
}

// checkToken asks whether the session's token is still valid: a token
// revoked, expired or whose user was disabled ends the session with
// CloseRevoked; a failed check (the database away) keeps it.
func (h *Hub) checkToken(ctx context.Context, s *session) error {
	if s.sub.Check == nil {
		return nil
	}
	err := s.sub.Check(ctx)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fault.Unauthorized):
		h.m.drops.WithLabelValues("revoked").Inc()
		return &closeFrame{CloseRevoked, "token revoked or expired; log in again"}
	}
	h.log.Debug("live: token check failed; the session stays", slog.String("user", s.sub.Scope.Username), slog.Any("err", err))
	return nil
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
// as few writes as the buffer allows, all within one WriteTimeout.
func (h *Hub) sendAll(s *session, evs []*Event, sent *int64) error {
	if err := s.cork.hold(time.Now().Add(h.opt.WriteTimeout)); err != nil {
		return err
	}
	for _, e := range evs {
		if err := h.send(s, e, sent); err != nil {
			_ = s.cork.release()
			return err
		}
	}
	return s.cork.release()
}

// send writes one event if the client may see it and has not had it.
func (h *Hub) send(s *session, e *Event, sent *int64) error {
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
	return s.conn.WriteMessage(websocket.TextMessage, e.frame(variant(s.sub.Scope, s.variant, e)))
}

// checkOrigin allows a handshake without an Origin header, from the same
// host, or from a host matching one of Options.OriginPatterns (path.Match
// syntax, case-insensitive; a pattern with "://" is matched against
// scheme://host).
func (h *Hub) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, p := range h.opt.OriginPatterns {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(target)); ok {
			return true
		}
	}
	return false
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
	return w.conn, bufio.NewReadWriter(brw.Reader, bufio.NewWriterSize(w.conn, 512)), nil
}

// corkConn is a connection whose writes, while held, collect in a buffer
// (up to corkLimit) until released. Safe for gorilla's WriteControl from
// the reader (pongs, close frames) alongside the session's writer. The
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

// SetWriteDeadline sets the deadline of the writes to the network. While
// held, the burst's deadline (hold) stands: gorilla sets one per frame,
// and a frame written into the buffer cannot time out.
func (c *corkConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held {
		return nil
	}
	return c.Conn.SetWriteDeadline(t)
}

// hold starts collecting writes; the network writes of the burst, until
// release, must end by deadline.
func (c *corkConn) hold(deadline time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.Conn.SetWriteDeadline(deadline); err != nil {
		return err
	}
	c.held = true
	return nil
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

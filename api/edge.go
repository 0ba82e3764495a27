package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"whistlegrid/fault"
)

// Limits bounds what one connection and one request may take; the
// server refuses the rest early instead of letting it queue. A zero field
// takes its default (see DefaultLimits; the slots of the gates follow the
// database pool's size). README, "Configuration", lists them all.
type Limits struct {
	// HeaderTimeout is the time to read a request's headers (10 s).
	HeaderTimeout time.Duration
	// BodyTimeout is the time to read a request's body, from when the
	// server starts reading it (15 s). A body trickled slower is cut off with 400
	// and the connection closed.
	BodyTimeout time.Duration
	// RequestTimeout is the deadline of a request's context, body
	// included (30 s): past it the database work is cancelled and the
	// answer is 503. The hotspot scan has ScanTimeout; the live stream
	// has none.
	RequestTimeout time.Duration
	// ScanTimeout is the deadline of POST /api/v1/hotspots/scan (5 min),
	// which runs the scheduled scan on demand.
	ScanTimeout time.Duration
	// WriteTimeout is the time from a request's headers to the last byte
	// of its answer (60 s; keep it above RequestTimeout, so that a request
	// at its deadline can still be answered; the hotspot scan gets
	// ScanTimeout plus the same margin). The live stream, a websocket
	// that lives for hours, has none.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that sends no request
	// for this long (60 s).
	IdleTimeout time.Duration
	// MaxConns is the number of connections served at once (10,000);
	// more wait in the kernel's accept queue until one closes. Keep it
	// below the process's open file limit.
	MaxConns int
	// BodyLimit is the largest request body (1 MiB); POST /place and
	// PUT /grids/{code} take more, and the login less (bodyLimits).
	BodyLimit int64
	// Heavy, Tiles, Place, Intake and Login are the concurrency gates
	// of those classes of routes (classes).
	Heavy, Tiles, Place, Intake, Login Gate
}

// Gate bounds the requests of one class of routes running at once: Slots
// run, at most Queue more wait up to Wait for a slot, and the rest are
// answered 503 with Retry-After at once. A zero Gate takes its defaults;
// a negative Queue is none: a request finding every slot taken is
// answered at once.
type Gate struct {
	Slots int
	Queue int
	Wait  time.Duration
}

// DefaultLimits returns the limits of a server whose database pool has
// poolConns connections and whose process runs procs threads of Go
// (GOMAXPROCS): heavy reads and tiles get a quarter of the pool each (at
// least 2), so intake always finds a connection; intake twice the pool;
// /place, in memory, four slots per thread; logins (bcrypt) two.
func DefaultLimits(poolConns, procs int) Limits {
	poolConns, procs = max(poolConns, 4), max(procs, 1)
	quarter := max(poolConns/4, 2)
	return Limits{
		HeaderTimeout:  10 * time.Second,
		BodyTimeout:    15 * time.Second,
		RequestTimeout: 30 * time.Second,
		ScanTimeout:    5 * time.Minute,
		WriteTimeout:   60 * time.Second,
		IdleTimeout:    60 * time.Second,
		MaxConns:       10_000,
		BodyLimit:      1 << 20,
		Heavy:          Gate{Slots: quarter, Queue: 2 * quarter, Wait: time.Second},
		Tiles:          Gate{Slots: quarter, Queue: 128, Wait: 2 * time.Second},
		Place:          Gate{Slots: max(8, 4*procs), Queue: 256, Wait: time.Second},
		Intake:         Gate{Slots: 2 * poolConns, Queue: 8 * poolConns, Wait: 2 * time.Second},
		Login:          Gate{Slots: max(2, 2*procs), Queue: 64, Wait: 2 * time.Second},
	}
}

// withDefaults fills l's zero fields from d.
func (l Limits) withDefaults(d Limits) Limits {
	dur := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	dur(&l.HeaderTimeout, d.HeaderTimeout)
	dur(&l.BodyTimeout, d.BodyTimeout)
	dur(&l.RequestTimeout, d.RequestTimeout)
	dur(&l.ScanTimeout, d.ScanTimeout)
	dur(&l.WriteTimeout, d.WriteTimeout)
	dur(&l.IdleTimeout, d.IdleTimeout)
	if l.MaxConns <= 0 {
		l.MaxConns = d.MaxConns
	}
	if l.BodyLimit <= 0 {
		l.BodyLimit = d.BodyLimit
	}
	gate := func(g *Gate, def Gate) {
		if g.Slots <= 0 {
			g.Slots = def.Slots
		}
		if g.Queue < 0 {
			g.Queue = 0
		} else if g.Queue == 0 && g.Wait == 0 {
			g.Queue = def.Queue
		}
		dur(&g.Wait, def.Wait)
	}
	gate(&l.Heavy, d.Heavy)
	gate(&l.Tiles, d.Tiles)
	gate(&l.Place, d.Place)
	gate(&l.Intake, d.Intake)
	gate(&l.Login, d.Login)
	return l
}

// Body limits other than Limits.BodyLimit, by route. maxPlaceBody is the
// largest POST /place batch (MaxPlaceBatch points).
const (
	maxPlaceBody = 8 << 20
	maxLoginBody = 16 << 10
)

// bodyLimits are the routes whose body may be larger (or must be smaller)
// than Limits.BodyLimit, each with its limit; README lists them.
var bodyLimits = map[string]int64{
	"POST /api/v1/place":          maxPlaceBody,
	"PUT /api/v1/grids/:code":     maxEditBody,
	"POST /api/v1/auth/login":     maxLoginBody,
	attachRoute:                   maxAttachBody,
	"POST /api/v1/board/messages": maxLoginBody, // public: a message is at most 1,000 characters
	"POST /api/v1/imports":        maxImportBody,
}

// Route keys of the routes the edge treats apart.
const (
	liveRoute = "GET /api/v1/live"
	scanRoute = "POST /api/v1/hotspots/scan"
)

// Limits is the limits in force, defaults filled in.
func (s *Server) Limits() Limits { return s.limits }

// HTTPServer returns the http.Server that serves s with its limits'
// header, write and idle timeouts; the body deadline, the request
// deadline and the live stream's exemptions are s's own (edge). Serve it
// on LimitListener(ln, s.Limits().MaxConns).
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.limits.HeaderTimeout,
		WriteTimeout:      s.limits.WriteTimeout,
		IdleTimeout:       s.limits.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// edge is the first middleware of every route: it sets the headers every
// answer carries, gives the request its deadlines, reads its body under
// the body limit and deadline, and lets it through its class's gate.
func (s *Server) edge(c *gin.Context) {
	securityHeaders(c)
	route := c.Request.Method + " " + c.FullPath()
	rc := http.NewResponseController(c.Writer)
	if route == liveRoute {
		// A websocket lives for hours: no request deadline, and none of
		// the connection's (net/http clears them again when the
		// websocket hijacks the connection; clearing them here keeps the
		// upgrade and the replay before it clear of them too). Errors
		// mean a writer without deadlines (tests).
		_ = rc.SetWriteDeadline(time.Time{})
		_ = rc.SetReadDeadline(time.Time{})
		c.Next()
		return
	}
	timeout := s.limits.RequestTimeout
	if route == scanRoute {
		timeout = s.limits.ScanTimeout
		_ = rc.SetWriteDeadline(time.Now().Add(timeout + max(s.limits.WriteTimeout-s.limits.RequestTimeout, 0)))
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), timeout)
	defer cancel()
	c.Request = c.Request.WithContext(ctx)

	body, err := s.readBody(c, rc, route)
	if err != nil {
		c.Header("Connection", "close")
		s.refuse(c, err)
		return
	}
	if err := checkRequest(c, body); err != nil {
		s.refuse(c, err)
		return
	}
	if g := s.gates[classes[route]]; g != nil {
		release, err := g.enter(ctx)
		if err != nil {
			if errors.Is(err, fault.Unavailable) {
				c.Header("Retry-After", strconv.Itoa(int(shedRetryAfter.Seconds())))
			}
			s.refuse(c, err)
			return
		}
		defer release()
	}
	c.Next()
}

// readBody reads the whole request body into memory, at most the route's
// limit, within Limits.BodyTimeout, puts it back for the handler and
// returns it for the edge's own checks (checkRequest). A
// body over the limit is a fault.TooLarge (413); one that does not arrive
// in time, or breaks off, a fault.BadRequest.
func (s *Server) readBody(c *gin.Context, rc *http.ResponseController, route string) ([]byte, error) {
	r := c.Request
	if r.Body == nil || r.Body == http.NoBody || (r.ContentLength == 0 && len(r.TransferEncoding) == 0) {
		return nil, nil
	}
	limit := s.limits.BodyLimit
	if l, ok := bodyLimits[route]; ok {
		limit = l
	}
	tooLarge := fault.Newf(fault.TooLarge, "the request body is over its limit of %s", bytesText(limit))
	if route == attachRoute {
		tooLarge = fault.New(fault.TooLarge, "the upload is over 10 MiB; an attachment is at most 10 MiB")
	}
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	deadline := rc.SetReadDeadline(time.Now().Add(s.limits.BodyTimeout)) == nil
	buf := bytes.NewBuffer(make([]byte, 0, min(max(r.ContentLength, 512), limit+1)))
	_, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1))
	// On an error the deadline stays: net/http reads what is left of a
	// refused body before it closes the connection, and must not wait
	// for a trickle past it.
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return nil, fault.Newf(fault.BadRequest, "the request body did not arrive within %s", s.limits.BodyTimeout)
	case err != nil:
		return nil, fault.New(fault.BadRequest, "the request body could not be read: it broke off")
	case int64(buf.Len()) > limit:
		return nil, tooLarge
	}
	if deadline {
		// Cleared before the handler runs: net/http's background read
		// of a kept-alive connection would otherwise hit the deadline
		// and cancel the request's context.
		_ = rc.SetReadDeadline(time.Time{})
	}
	_ = r.Body.Close()
	body := buf.Bytes()
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return body, nil
}

// bytesText writes a size in KiB or MiB.
func bytesText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

// The Content-Security-Policy of the pages and of everything else. The
// pages load only their own scripts and styles (no inline ones, no eval:
// MapLibre 6 needs neither) and MapLibre's worker from /assets; MapLibre's
// stylesheet draws its controls from data: images. The blob: sources are
// MapLibre's documented fallbacks (a worker or an image made from a Blob),
// not used by Chromium today: the e2e tests pass without them and fail on
// any violation. Nothing may frame the pages.
const (
	pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
		"font-src 'self'; connect-src 'self'; worker-src 'self' blob:; child-src 'self' blob:; " +
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	apiCSP = "default-src 'none'; frame-ancestors 'none'"
)

// securityHeaders sets the headers of every answer: no MIME sniffing, no
// framing, no referrer (tiles and the live stream carry tokens in their
// URLs), and the pages' CSP (a stricter one for the API).
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	p := c.Request.URL.Path
	if p == "/healthz" || strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, open311Prefix+"/") || strings.HasPrefix(p, "/tiles/") {
		h.Set("Content-Security-Policy", apiCSP)
	} else {
		h.Set("Content-Security-Policy", pageCSP)
	}
}

// refuse answers an error of the edge in the route's own error shape:
// Open311's for its routes, the API's for every other.
func (s *Server) refuse(c *gin.Context, err error) {
	if p := c.Request.URL.Path; strings.HasPrefix(p, open311Prefix+"/") {
		_, f, _ := splitFormat(path.Base(p))
		(&open311API{log: s.log}).fail(c, f, err)
		return
	}
	s.fail(c, err)
}

// LimitListener returns a listener that accepts at most n connections at
// once from ln: past n it stops accepting until one is closed, so the
// connections already open (and the process's file limit) stay served
// while the rest wait in the kernel's queue. golang.org/x/net/netutil
// does the same; it is not a direct dependency.
func LimitListener(ln net.Listener, n int) net.Listener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{})}
}

type limitListener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limitListener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.done) })
	return err
}

// limitConn gives its slot back once, when it is closed.
type limitConn struct {
	net.Conn
	release func()
	once    sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

package drill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// event is what identifies an event: its seq, and its kind and time to
// tell it from another event that got the same seq on another server.
type event struct {
	Seq  int64     `json:"seq"`
	Kind string    `json:"kind"`
	At   time.Time `json:"at"`
}

// same reports whether e and f are the same event: PostgreSQL keeps
// microseconds.
func (e event) same(f event) bool {
	return e.Seq == f.Seq && e.Kind == f.Kind && e.At.Truncate(time.Microsecond).Equal(f.At.Truncate(time.Microsecond))
}

// stream is one websocket client on the live stream. It connects with
// since = since0, and after any close or error reconnects with since = the
// last seq it received, as the wall map does.
type stream struct {
	name   string // app1, app2 or haproxy: where it connects
	base   string // ws://127.0.0.1:PORT
	token  string
	since0 int64

	mu        sync.Mutex
	seqs      []event // every event received, in arrival order
	last      int64
	connects  int
	closes    map[string]int // why each connection ended
	connected chan struct{}  // closed on the first connect
	dialErr   string         // why the last dial failed
}

func newStream(name, base, token string, since0 int64) *stream {
	return &stream{name: name, base: base, token: token, since0: since0, last: since0, closes: map[string]int{}, connected: make(chan struct{})}
}

func (s *stream) run(ctx context.Context) {
	backoff := 200 * time.Millisecond
	for ctx.Err() == nil {
		s.mu.Lock()
		since := s.last
		s.mu.Unlock()
		u := fmt.Sprintf("%s/api/v1/live?token=%s&since=%d", s.base, url.QueryEscape(s.token), since)
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, resp, err := websocket.DefaultDialer.DialContext(dctx, wsURL(u), nil)
		cancel()
		if err != nil {
			s.closed(ctx, "dial failed")
			s.mu.Lock()
			s.dialErr = dialError(resp, err)
			s.mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 200 * time.Millisecond
		s.mu.Lock()
		s.connects++
		if s.connects == 1 {
			close(s.connected)
		}
		s.mu.Unlock()
		c.SetReadLimit(1 << 22)
		stop := context.AfterFunc(ctx, func() { c.Close() })
		for {
			_, b, err := c.ReadMessage()
			if err != nil {
				s.closed(ctx, closeReason(err))
				break
			}
			var e event
			if json.Unmarshal(b, &e) != nil || e.Seq <= 0 {
				s.closed(ctx, "bad frame")
				continue
			}
			s.mu.Lock()
			s.seqs = append(s.seqs, e)
			s.last = max(s.last, e.Seq)
			s.mu.Unlock()
		}
		stop()
		c.Close()
	}
}

// dialError says why a dial failed: the HTTP answer when there was one.
func dialError(resp *http.Response, err error) string {
	if resp == nil {
		return err.Error()
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	return fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
}

// lastDialError is why the last dial failed, if one did.
func (s *stream) lastDialError() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dialErr
}

func (s *stream) closed(ctx context.Context, why string) {
	if ctx.Err() != nil {
		return // the drill ended it
	}
	s.mu.Lock()
	s.closes[why]++
	s.mu.Unlock()
}

func closeReason(err error) string {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return fmt.Sprintf("close %d", ce.Code)
	}
	if errors.Is(err, context.Canceled) {
		return "canceled"
	}
	if strings.Contains(err.Error(), "EOF") || strings.Contains(err.Error(), "reset") {
		return "connection lost"
	}
	return "read error"
}

// state is a copy of what the stream received so far.
func (s *stream) state() (seqs []event, last int64, connects int, closes map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	closes = map[string]int{}
	for k, v := range s.closes {
		closes[k] = v
	}
	return append([]event(nil), s.seqs...), s.last, s.connects, closes
}

// wsURL is u with a ws or wss scheme: an http(s) base is turned into its
// websocket form, a ws(s) one is kept.
func wsURL(u string) string {
	if strings.HasPrefix(u, "http") {
		return "ws" + strings.TrimPrefix(u, "http")
	}
	return u
}

package drill

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestStreamConnects runs a stream client against a websocket server given
// as run.go gives the instances (ws://host:port) and over an http base, and
// checks that it connects with the token and since it was given and keeps
// the events it receives. A drill whose clients never connect measures
// nothing.
func TestStreamConnects(t *testing.T) {
	var up websocket.Upgrader
	got := make(chan string, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.URL.Query().Get("token") + "/" + r.URL.Query().Get("since")
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.WriteMessage(websocket.TextMessage, []byte(`{"seq":8,"kind":"clue.received","at":"2026-12-02T04:00:00Z"}`))
		_, _, _ = c.ReadMessage() // until the client goes
	}))
	defer srv.Close()
	for _, base := range []string{"ws://" + strings.TrimPrefix(srv.URL, "http://"), srv.URL} {
		s := newStream("app1#1", base, "tok", 7)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { s.run(ctx); close(done) }()
		select {
		case <-s.connected:
		case <-time.After(10 * time.Second):
			cancel()
			t.Fatalf("%s: did not connect: %s", base, s.lastDialError())
		}
		if q := <-got; q != "tok/7" {
			t.Errorf("%s: the server saw token/since %q, want tok/7", base, q)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			if _, last, _, _ := s.state(); last == 8 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the event was not received", base)
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		<-done
	}
}

package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"whistlegrid/api"
	"whistlegrid/auth"
	"whistlegrid/internal/testenv"
)

// syncBuffer is a log both servers write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLoginThrottle runs two servers on one database: a person who
// mistypes twice logs in; past the free failures a username waits, with
// 429 and Retry-After even for the right password, on both servers; an
// address trying many usernames waits too, and a forged X-Forwarded-For
// does not change its address unless it comes from a trusted proxy.
// Failures and refusals are logged.
func TestLoginThrottle(t *testing.T) {
	pool := testenv.DemoDB(t)
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	policy := auth.ThrottlePolicy{UserFree: 5, AddrFree: 12, Delay: time.Minute}
	a := startEdge(t, api.Config{Pool: pool, Logger: log, LoginThrottle: policy}, false, false)
	b := startEdge(t, api.Config{Pool: pool, Logger: log, LoginThrottle: policy}, false, false)
	behindProxy := startEdge(t, api.Config{Pool: pool, Logger: log, LoginThrottle: policy, TrustedProxies: []string{"127.0.0.1"}}, false, false)

	login := func(s *edgeServer, user, password string, header ...string) (int, string, string) {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"username": user, "password": password})
		res, out := do(t, "POST", s.url+"/api/v1/auth/login", "", bytes.NewReader(body), append([]string{"Content-Type", "application/json"}, header...)...)
		return res.StatusCode, res.Header.Get("Retry-After"), string(out)
	}

	// two mistakes, then the right password, across both servers
	for i, s := range []*edgeServer{a, b} {
		if st, _, out := login(s, "t110119101", "wrong"); st != http.StatusUnauthorized {
			t.Fatalf("mistake %d: %d %s", i+1, st, out)
		}
	}
	if st, _, out := login(a, "t110119101", testenv.DemoPassword); st != http.StatusOK {
		t.Fatalf("the right password after two mistakes: %d %s", st, out)
	}

	// five free failures and one more are let through (401) ...
	for i := range policy.UserFree + 1 {
		if st, _, out := login([]*edgeServer{a, b}[i%2], "command", "guess"+strconv.Itoa(i)); st != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s", i+1, st, out)
		}
	}
	// ... then the username waits a minute, right password or not, on both
	for _, s := range []*edgeServer{a, b} {
		st, retry, out := login(s, "command", testenv.DemoPassword)
		secs, _ := strconv.Atoi(retry)
		if st != http.StatusTooManyRequests || secs < 50 || secs > 60 || !strings.Contains(out, "this username") {
			t.Errorf("the right password while throttled: %d, Retry-After %q, %s; want 429 for about 60 s", st, retry, out)
		}
	}

	// one address trying fresh usernames: refused by address before
	// AddrFree more failures (it has counted some already)
	refused := -1
	for i := range policy.AddrFree + 2 {
		st, retry, out := login(a, fmt.Sprintf("nobody%d", i), "guess")
		if st == http.StatusTooManyRequests {
			if retry == "" || !strings.Contains(out, "this address") {
				t.Errorf("address refusal: Retry-After %q, %s", retry, out)
			}
			refused = i
			break
		}
		if st != http.StatusUnauthorized {
			t.Fatalf("username nobody%d: %d %s", i, st, out)
		}
	}
	if refused < 0 {
		t.Fatalf("%d fresh usernames from one address were never refused", policy.AddrFree+2)
	}
	// a forged X-Forwarded-For from an untrusted peer changes nothing ...
	if st, _, out := login(b, "nobody-xff", "guess", "X-Forwarded-For", "10.9.9.9"); st != http.StatusTooManyRequests {
		t.Errorf("forged X-Forwarded-For: %d %s, want still refused by address", st, out)
	}
	// ... but from a trusted proxy names the client
	if st, _, out := login(behindProxy, "nobody-xff", "guess", "X-Forwarded-For", "10.9.9.9"); st != http.StatusUnauthorized {
		t.Errorf("X-Forwarded-For from a trusted proxy: %d %s, want 401 for the client 10.9.9.9", st, out)
	}

	l := logs.String()
	for _, want := range []string{`msg="login failed" username=command addr=127.0.0.1`, `msg="login throttled" username=command addr=127.0.0.1 by=user`, `by=addr`} {
		if !strings.Contains(l, want) {
			t.Errorf("log lacks %q:\n%s", want, l)
		}
	}
}

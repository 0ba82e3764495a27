package auth

import (
	"context"
	"errors"
	"testing"
	"time"

	"whistlegrid/fault"
	"whistlegrid/internal/dbtest"
)

// TestThrottlePolicyAttempt walks one key through failures: the free
// ones pass at once, then each waits twice as long up to MaxDelay, a
// refused attempt changes nothing, and a key idle for Forget starts over.
func TestThrottlePolicyAttempt(t *testing.T) {
	p := ThrottlePolicy{UserFree: 3, Delay: time.Second, MaxDelay: 8 * time.Second, Forget: time.Minute}.withDefaults()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var st throttleState
	var wait time.Duration
	for i := 1; i <= 3; i++ {
		if st, wait = p.attempt(st, p.UserFree, now); wait != 0 || !st.LockedUntil.IsZero() || st.Failures != i {
			t.Fatalf("free attempt %d: wait %s, state %+v", i, wait, st)
		}
	}
	// past the free ones: let through, and the next waits 1, 2, 4, 8, 8 s
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second} {
		if st, wait = p.attempt(st, p.UserFree, now); wait != 0 || st.LockedUntil.Sub(now) != want {
			t.Fatalf("attempt %d: wait %s, locked for %s, want let through and locked for %s", 4+i, wait, st.LockedUntil.Sub(now), want)
		}
		before := st
		if st, wait = p.attempt(st, p.UserFree, now.Add(want/2)); wait != want/2 || st != before {
			t.Fatalf("attempt during the lock: wait %s, state %+v; want refused for %s, unchanged", wait, st, want/2)
		}
		now = now.Add(want)
	}
	if st, wait = p.attempt(st, p.UserFree, now.Add(time.Minute)); wait != 0 || st.Failures != 1 || !st.LockedUntil.IsZero() {
		t.Errorf("after Forget: wait %s, state %+v; want a fresh start", wait, st)
	}
}

func TestThrottlePolicyDefaults(t *testing.T) {
	p := ThrottlePolicy{}.withDefaults()
	if p != DefaultThrottlePolicy {
		t.Errorf("zero policy = %+v, want %+v", p, DefaultThrottlePolicy)
	}
	if w := p.wait(1000); w != p.MaxDelay {
		t.Errorf("wait(1000) = %s, want MaxDelay", w)
	}
}

// TestThrottle runs two Throttles on one database, as two server
// instances: failures counted on one lock the username on the other; a
// success clears the username; the address is counted apart.
func TestThrottle(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	c := &clock{t: time.Now().UTC().Truncate(time.Microsecond)}
	policy := ThrottlePolicy{UserFree: 2, AddrFree: 4, Delay: time.Minute, MaxDelay: time.Hour, Forget: 2 * time.Hour}
	a, b := NewThrottle(pool, policy), NewThrottle(pool, policy)
	a.now, b.now = c.now, c.now

	begin := func(th *Throttle, user, addr string) (Attempt, *Refusal, error) {
		t.Helper()
		at, r, err := th.Begin(ctx, user, addr)
		if err != nil && r == nil {
			t.Fatal(err)
		}
		return at, r, err
	}
	// two mistakes, then the right password: never held up
	for range 2 {
		if _, r, _ := begin(a, "alice", "10.0.0.1"); r != nil {
			t.Fatalf("alice refused after a mistake: %+v", r)
		}
	}
	at, r, _ := begin(b, "alice", "10.0.0.1")
	if r != nil {
		t.Fatalf("alice refused on her third try: %+v", r)
	}
	if err := b.Succeeded(ctx, at); err != nil {
		t.Fatal(err)
	}
	// alice starts over: two more free tries
	for range 2 {
		if _, r, _ := begin(a, "alice", "10.0.0.2"); r != nil {
			t.Fatalf("alice refused after her success: %+v", r)
		}
	}
	// bob fails three times on a: the third locks him for a minute, on b too
	for i := range 3 {
		if _, r, _ := begin(a, "bob", "10.0.0.3"); r != nil {
			t.Fatalf("bob refused on try %d: %+v", i+1, r)
		}
	}
	_, r, err := begin(b, "bob", "10.0.0.4")
	if r == nil || r.By != "user" || r.Wait != time.Minute || !errors.Is(err, ErrThrottled) || !errors.Is(err, fault.TooMany) {
		t.Fatalf("bob on the other instance: %+v %v, want refused for a minute by user", r, err)
	}
	c.add(time.Minute)
	if _, r, _ := begin(b, "bob", "10.0.0.4"); r != nil {
		t.Fatalf("bob refused after his wait: %+v", r)
	}
	if _, r, _ := begin(b, "bob", "10.0.0.4"); r == nil || r.Wait != 2*time.Minute {
		t.Fatalf("bob's next wait: %+v, want 2 min", r)
	}
	// one address trying many usernames: the fifth failure locks it
	for i, u := range []string{"c1", "c2", "c3", "c4", "c5"} {
		if _, r, _ := begin(a, u, "10.0.0.9"); r != nil {
			t.Fatalf("address refused on username %d: %+v", i+1, r)
		}
	}
	if _, r, _ := begin(b, "c6", "10.0.0.9"); r == nil || r.By != "addr" {
		t.Fatalf("a sixth username from the same address: %+v, want refused by addr", r)
	}
	if _, r, _ := begin(b, "c6", "10.0.0.10"); r != nil {
		t.Fatalf("the same username from another address: %+v", r)
	}
	// a long username, or one text cannot hold, is keyed by its hash
	for _, u := range []string{string(make([]byte, 5000)), "comm\x00and", "\xc0\xafx"} {
		if _, r, _ := begin(a, u, "10.0.0.11"); r != nil {
			t.Fatalf("username %q: %+v", u, r)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM login_throttle WHERE key LIKE 'user:sha256:%'`).Scan(&n); err != nil || n != 3 {
		t.Errorf("hashed keys: %d %v, want 3", n, err)
	}
}

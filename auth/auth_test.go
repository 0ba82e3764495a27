package auth

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"whistlegrid/access"
	"whistlegrid/internal/dbtest"
)

// clock is a settable Store.now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newStore returns a Store on a fresh database with one department and one
// unit user, "u1", the clock it reads, and a token u1 logged in with.
func newStore(t *testing.T) (*Store, *clock, string) {
	t.Helper()
	pool := dbtest.New(t)
	if _, err := pool.Exec(context.Background(), `INSERT INTO units (code, name, kind) VALUES ('D001', '区城管委', 'department')`); err != nil {
		t.Fatal(err)
	}
	s := NewStore(pool)
	c := &clock{t: time.Now().UTC().Truncate(time.Microsecond)}
	s.now = c.now
	if _, err := s.AddUser(context.Background(), NewUser{Username: "u1", Password: "secret", Role: access.RoleUnit, DisplayName: "一号", UnitCode: "D001"}); err != nil {
		t.Fatal(err)
	}
	tok, _, _, err := s.Login(context.Background(), "u1", "secret")
	if err != nil {
		t.Fatal(err)
	}
	return s, c, tok
}

func TestAuthenticateCachesForTokenCacheTTL(t *testing.T) {
	ctx := context.Background()
	s, c, tok := newStore(t)
	u, sc, err := s.Authenticate(ctx, tok)
	if err != nil || u.Username != "u1" || sc.UnitCode != "D001" || sc.Role != access.RoleUnit {
		t.Fatalf("authenticate: %+v %+v %v", u, sc, err)
	}

	// Revoked behind the Store's back (another server, or SQL): still
	// trusted from the cache until TokenCacheTTL has passed, then refused.
	if _, err := s.pool.Exec(ctx, `UPDATE tokens SET revoked_at = $1`, c.now()); err != nil {
		t.Fatal(err)
	}
	c.add(TokenCacheTTL / 2)
	if u, _, err := s.Authenticate(ctx, tok); err != nil || u.Username != "u1" {
		t.Fatalf("within the TTL: %+v %v, want the cached user", u, err)
	}
	c.add(TokenCacheTTL / 2)
	if _, _, err := s.Authenticate(ctx, tok); !errors.Is(err, ErrBadToken) {
		t.Fatalf("after the TTL: %v, want ErrBadToken", err)
	}
}

func TestLogoutIsImmediate(t *testing.T) {
	ctx := context.Background()
	s, _, tok := newStore(t)
	if _, _, err := s.Authenticate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.Logout(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Authenticate(ctx, tok); !errors.Is(err, ErrBadToken) {
		t.Fatalf("after logout: %v, want ErrBadToken at once", err)
	}
}

func TestCachedTokenStillExpires(t *testing.T) {
	ctx := context.Background()
	s, c, tok := newStore(t)
	// The token expires a moment after it is cached.
	if _, err := s.pool.Exec(ctx, `UPDATE tokens SET expires_at = $1`, c.now().Add(TokenCacheTTL/4)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Authenticate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	c.add(TokenCacheTTL / 4)
	if _, _, err := s.Authenticate(ctx, tok); !errors.Is(err, ErrBadToken) {
		t.Fatalf("past its expiry, inside the cache TTL: %v, want ErrBadToken", err)
	}
}

func TestCachedScopeIsACopy(t *testing.T) {
	ctx := context.Background()
	s, _, tok := newStore(t)
	if _, _, err := s.Authenticate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	// Give the cached scope townships, as a field station's has, and check
	// a caller changing its copy does not change the next caller's.
	s.mu.Lock()
	for k, e := range s.tokens {
		e.scope.Townships = []string{"110119001"}
		s.tokens[k] = e
	}
	s.mu.Unlock()
	_, a, err := s.Authenticate(ctx, tok)
	if err != nil || len(a.Townships) != 1 {
		t.Fatalf("%+v %v", a, err)
	}
	a.Townships[0] = "changed"
	_, b, _ := s.Authenticate(ctx, tok)
	if b.Townships[0] != "110119001" {
		t.Fatalf("the cached scope was changed through a caller's copy: %v", b.Townships)
	}
}

func TestCacheIsBounded(t *testing.T) {
	s := &Store{tokens: map[[32]byte]cachedToken{}}
	t0 := time.Now()
	key := func(i int) (k [32]byte) {
		k[0], k[1], k[2] = byte(i), byte(i>>8), byte(i>>16)
		return k
	}
	for i := range tokenCacheMax {
		s.remember(key(i), cachedToken{checked: t0, expires: t0.Add(time.Hour)})
	}
	if n := len(s.tokens); n != tokenCacheMax {
		t.Fatalf("%d entries, want %d", n, tokenCacheMax)
	}
	// Full of fresh entries: one more clears them.
	s.remember(key(tokenCacheMax), cachedToken{checked: t0, expires: t0.Add(time.Hour)})
	if n := len(s.tokens); n != 1 {
		t.Fatalf("%d entries after a full cache of fresh ones, want 1", n)
	}
	// Full with all but one stale: the stale ones go, the fresh one stays.
	for i := range tokenCacheMax - 1 {
		s.remember(key(i), cachedToken{checked: t0.Add(-2 * TokenCacheTTL), expires: t0.Add(time.Hour)})
	}
	s.remember(key(tokenCacheMax+1), cachedToken{checked: t0, expires: t0.Add(time.Hour)})
	if _, ok := s.tokens[key(tokenCacheMax)]; !ok || len(s.tokens) != 2 {
		t.Fatalf("%d entries, want the two fresh ones", len(s.tokens))
	}
}

package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/fault"
)

// ErrThrottled is the sentinel of a login refused because of earlier
// failed ones (429).
var ErrThrottled = fault.New(fault.TooMany, "auth: too many failed logins")

// ThrottlePolicy says how many failed logins go unpunished and how the
// wait grows after them. A login counts as failed from the moment it is
// let through until it succeeds, so parallel guesses are counted too.
type ThrottlePolicy struct {
	// UserFree is the failures for one username before waits begin
	// (default 5): a person who mistypes a few times is never held up.
	UserFree int
	// AddrFree is the failures from one client address (an IPv6 /64)
	// before waits begin (default 20): an office behind one address has
	// many users.
	AddrFree int
	// Delay is the first wait, after the first failure past the free
	// ones (default 1 s); each further failure doubles it.
	Delay time.Duration
	// MaxDelay caps the wait (default 15 min).
	MaxDelay time.Duration
	// Forget is how long after its last attempt a username or address
	// starts over (default 1 h; at least MaxDelay).
	Forget time.Duration
}

// DefaultThrottlePolicy is the policy of a zero ThrottlePolicy.
var DefaultThrottlePolicy = ThrottlePolicy{UserFree: 5, AddrFree: 20, Delay: time.Second, MaxDelay: 15 * time.Minute, Forget: time.Hour}

func (p ThrottlePolicy) withDefaults() ThrottlePolicy {
	d := DefaultThrottlePolicy
	if p.UserFree <= 0 {
		p.UserFree = d.UserFree
	}
	if p.AddrFree <= 0 {
		p.AddrFree = d.AddrFree
	}
	if p.Delay <= 0 {
		p.Delay = d.Delay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = d.MaxDelay
	}
	if p.Forget <= 0 {
		p.Forget = d.Forget
	}
	p.MaxDelay = max(p.MaxDelay, p.Delay)
	p.Forget = max(p.Forget, p.MaxDelay)
	return p
}

// wait is the wait after the nth failure past the free ones (n ≥ 1):
// Delay, 2·Delay, 4·Delay, ... up to MaxDelay.
func (p ThrottlePolicy) wait(n int) time.Duration {
	if n > 40 || float64(p.Delay)*math.Pow(2, float64(n-1)) >= float64(p.MaxDelay) {
		return p.MaxDelay
	}
	return p.Delay << (n - 1)
}

// throttleState is one key's row of login_throttle.
type throttleState struct {
	Failures    int
	LockedUntil time.Time // zero: not locked
	LastAt      time.Time // zero: never tried
}

// attempt is what one login attempt at now does to a key with free
// failures: refused with the wait left while the key is locked (the state
// unchanged), else let through, counted as a failure until it succeeds,
// and locking the key when the failures are past free.
func (p ThrottlePolicy) attempt(st throttleState, free int, now time.Time) (throttleState, time.Duration) {
	if !st.LastAt.IsZero() && now.Sub(st.LastAt) >= p.Forget {
		st = throttleState{}
	}
	if now.Before(st.LockedUntil) {
		return st, st.LockedUntil.Sub(now)
	}
	st.Failures++
	st.LastAt = now
	st.LockedUntil = time.Time{}
	if st.Failures > free {
		st.LockedUntil = now.Add(p.wait(st.Failures - free))
	}
	return st, 0
}

// Throttle slows down password guessing: it counts failed logins per
// username and per client address in the table login_throttle, so every
// server instance sees the same counts, and refuses a login while either
// has to wait. A successful login clears its username and takes its
// attempt off its address.
type Throttle struct {
	pool   *pgxpool.Pool
	policy ThrottlePolicy
	now    func() time.Time
	calls  atomic.Uint64 // every sweepEvery-th Begin deletes forgotten rows
}

// sweepEvery is how often (in Begin calls) forgotten rows are deleted.
const sweepEvery = 256

// NewThrottle returns a Throttle on pool; zero fields of policy take
// DefaultThrottlePolicy's.
func NewThrottle(pool *pgxpool.Pool, policy ThrottlePolicy) *Throttle {
	return &Throttle{pool: pool, policy: policy.withDefaults(), now: time.Now}
}

// Policy is the policy in force, defaults filled in.
func (t *Throttle) Policy() ThrottlePolicy { return t.policy }

// Attempt is a login attempt Begin let through, to report to Succeeded.
type Attempt struct {
	userKey, addrKey string
	// UserFailures and AddrFailures are the failures counted for the
	// username and the address with this attempt, for the log.
	UserFailures, AddrFailures int
}

// Refusal says why Begin refused a login, for the log and the
// Retry-After header.
type Refusal struct {
	Wait time.Duration // until the next attempt may go ahead
	By   string        // "user" or "addr": which count refused it
}

// userKey and addrKey are the keys of login_throttle; a username too
// long for the key, or that text cannot hold (NUL, invalid UTF-8), is
// hashed.
func userKey(username string) string {
	if len(username) > 100 || !utf8.ValidString(username) || strings.ContainsRune(username, 0) {
		sum := sha256.Sum256([]byte(username))
		return "user:sha256:" + hex.EncodeToString(sum[:])
	}
	return "user:" + username
}

func addrKey(addr string) string {
	if len(addr) > 100 {
		addr = addr[:100]
	}
	return "addr:" + addr
}

const throttleInsert = `INSERT INTO login_throttle (key, failures, last_at)
SELECT k, 0, $2 FROM unnest($1::text[]) k ORDER BY k
ON CONFLICT (key) DO NOTHING`

const throttleSelect = `SELECT key, failures, locked_until, last_at
FROM login_throttle WHERE key = ANY($1) ORDER BY key FOR UPDATE`

const throttleUpdate = `UPDATE login_throttle SET failures = $2, locked_until = $3, last_at = $4 WHERE key = $1`

const throttleSweep = `DELETE FROM login_throttle WHERE last_at < $1`

// Begin asks to try username's password from the client address addr.
// It either lets the attempt through, counting it as a failure until
// Succeeded says otherwise, or refuses it with a Refusal and an error of
// ErrThrottled saying how long to wait. Rows of usernames and addresses
// not tried for Forget are deleted now and then.
func (t *Throttle) Begin(ctx context.Context, username, addr string) (Attempt, *Refusal, error) {
	now := t.now()
	a := Attempt{userKey: userKey(username), addrKey: addrKey(addr)}
	keys := []string{a.addrKey, a.userKey} // in key order: "addr:" < "user:"
	var refusal *Refusal
	err := pgx.BeginFunc(ctx, t.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, throttleInsert, keys, now); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, throttleSelect, keys)
		if err != nil {
			return err
		}
		states := map[string]throttleState{}
		for rows.Next() {
			var k string
			var st throttleState
			var locked *time.Time
			if err := rows.Scan(&k, &st.Failures, &locked, &st.LastAt); err != nil {
				rows.Close()
				return err
			}
			if locked != nil {
				st.LockedUntil = *locked
			}
			states[k] = st
		}
		if err := rows.Err(); err != nil {
			return err
		}
		addrSt, addrWait := t.policy.attempt(states[a.addrKey], t.policy.AddrFree, now)
		userSt, userWait := t.policy.attempt(states[a.userKey], t.policy.UserFree, now)
		switch {
		case userWait > 0 && userWait >= addrWait:
			refusal = &Refusal{Wait: userWait, By: "user"}
			return nil
		case addrWait > 0:
			refusal = &Refusal{Wait: addrWait, By: "addr"}
			return nil
		}
		for k, st := range map[string]throttleState{a.addrKey: addrSt, a.userKey: userSt} {
			var locked *time.Time
			if !st.LockedUntil.IsZero() {
				locked = &st.LockedUntil
			}
			if _, err := tx.Exec(ctx, throttleUpdate, k, st.Failures, locked, st.LastAt); err != nil {
				return err
			}
		}
		a.UserFailures, a.AddrFailures = userSt.Failures, addrSt.Failures
		return nil
	})
	if err != nil {
		return Attempt{}, nil, fmt.Errorf("auth: login throttle: %w", err)
	}
	if t.calls.Add(1)%sweepEvery == 0 {
		if _, err := t.pool.Exec(ctx, throttleSweep, now.Add(-t.policy.Forget)); err != nil {
			return Attempt{}, nil, fmt.Errorf("auth: login throttle sweep: %w", err)
		}
	}
	if refusal != nil {
		what := "this username"
		if refusal.By == "addr" {
			what = "this address"
		}
		secs := int(math.Ceil(refusal.Wait.Seconds()))
		return Attempt{}, refusal, fault.Errorf(ErrThrottled, "too many failed logins for %s: try again in %d s", what, secs)
	}
	return a, nil, nil
}

const throttleSucceeded = `WITH forget AS (DELETE FROM login_throttle WHERE key = $1)
UPDATE login_throttle SET failures = greatest(failures - 1, 0),
	locked_until = CASE WHEN failures - 1 <= $3 THEN NULL ELSE locked_until END
WHERE key = $2`

// Succeeded records that the attempt logged in: its username starts over
// and its address's count loses this attempt.
func (t *Throttle) Succeeded(ctx context.Context, a Attempt) error {
	if _, err := t.pool.Exec(ctx, throttleSucceeded, a.userKey, a.addrKey, t.policy.AddrFree); err != nil {
		return fmt.Errorf("auth: login throttle: %w", err)
	}
	return nil
}

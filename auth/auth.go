// Package auth knows who a caller is: users, their passwords (bcrypt), the
// bearer tokens they log in with (stored as SHA-256 hashes, revocable), and
// the jurisdiction each user acts in, as a access.Scope.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"whistlegrid/access"
	"whistlegrid/fault"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"
)

// Errors the store returns, themselves or as the sentinels of the
// fault.Errors it makes.
var (
	ErrBadCredentials = fault.New(fault.Unauthorized, "auth: wrong username or password")
	ErrBadToken       = fault.New(fault.Unauthorized, "auth: token missing, unknown, expired or revoked")
	ErrConflict       = fault.New(fault.Conflict, "auth: already exists")
	ErrInvalid        = fault.New(fault.Invalid, "auth: invalid")
)

// The PostgreSQL error codes AddUser maps (SQLSTATE class 23, integrity
// constraint violation).
const (
	pgNotNullViolation = "23502"
	pgUniqueViolation  = "23505"
	pgCheckViolation   = "23514"
)

// TokenTTL is how long a login token lasts.
const TokenTTL = 7 * 24 * time.Hour

// User is a platform account as clients see it.
type User struct {
	ID          int64  `json:"-"`
	Username    string `json:"username"`
	Role        string `json:"role"`
	DisplayName string `json:"display_name"`
	// Duties are the account's duties beyond its role (access.Duty):
	// ["callback"] for the command center's callback desk.
	Duties   []string `json:"duties"`
	GridCode string   `json:"-"`
	UnitCode string   `json:"-"`
	GridName string   `json:"-"`
	UnitName string   `json:"-"`
}

// Jurisdiction is where a user acts, for the client.
type Jurisdiction struct {
	GridCode string `json:"grid_code,omitempty"`
	GridName string `json:"grid_name,omitempty"`
	UnitCode string `json:"unit_code,omitempty"`
	UnitName string `json:"unit_name,omitempty"`
}

// TokenCacheTTL is how long Authenticate trusts a token it has checked
// without asking the database again. A token revoked by Logout on the same
// Store is refused at once; one revoked elsewhere (another server, or SQL),
// or whose user was disabled or changed, is refused within TokenCacheTTL.
// Every API request authenticates; without the cache the token query cost
// clue intake about a fifth of its throughput (README, "Whistles").
const TokenCacheTTL = time.Second

// tokenCacheMax bounds the cache; past it, stale entries are dropped and,
// if that is not enough, all of them.
const tokenCacheMax = 10_000

// Store reads and writes users and tokens.
type Store struct {
	pool  *pgxpool.Pool
	now   func() time.Time
	dummy []byte // a bcrypt hash to compare against for unknown users

	mu     sync.Mutex
	tokens map[[sha256.Size]byte]cachedToken
}

// cachedToken is a token Authenticate found valid at checked.
type cachedToken struct {
	user    User
	scope   access.Scope
	checked time.Time
	expires time.Time // the token's own expiry
}

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool) *Store {
	dummy, _ := bcrypt.GenerateFromPassword([]byte("no such user"), bcrypt.DefaultCost)
	return &Store{pool: pool, now: time.Now, dummy: dummy, tokens: map[[sha256.Size]byte]cachedToken{}}
}

// HashPassword hashes a password with bcrypt at the default cost.
func HashPassword(password string) (string, error) {
	if len(password) < 4 || len(password) > MaxPassword {
		return "", fault.FieldErrorf(ErrInvalid, "password", "a password has 4 to %d bytes", MaxPassword)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	return string(h), nil
}

const userColumns = `u.id, u.username, u.role, u.display_name, coalesce(g.code, ''), coalesce(un.code, ''),
	coalesce(g.name, ''), coalesce(un.name, ''), u.unit_id,
	CASE WHEN u.role = 'unit' AND un.kind <> 'department' THEN
		ARRAY(SELECT t.code FROM unit_townships ut JOIN grids t ON t.id = ut.township_id WHERE ut.unit_id = u.unit_id ORDER BY t.code)
	END, u.duties`

const loginQuery = `SELECT u.password_hash, ` + userColumns + `
FROM users u
LEFT JOIN grids g ON g.id = u.grid_id
LEFT JOIN units un ON un.id = u.unit_id
WHERE u.username = $1 AND u.disabled_at IS NULL`

const insertToken = `INSERT INTO tokens (user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)`

// MaxUsername is the longest username, in bytes (the users table allows
// [a-zA-Z0-9_.-]{1,64}); MaxPassword the longest password, in bytes
// (bcrypt reads at most 72). Login refuses longer ones with ErrInvalid
// naming the field.
const (
	MaxUsername = 64
	MaxPassword = 72
)

// Login checks a username and password and issues a new token.
func (s *Store) Login(ctx context.Context, username, password string) (string, User, access.Scope, error) {
	if len(username) > MaxUsername {
		return "", User{}, access.Scope{}, fault.FieldErrorf(ErrInvalid, "username", "a username has at most %d characters", MaxUsername)
	}
	if len(password) > MaxPassword {
		return "", User{}, access.Scope{}, fault.FieldErrorf(ErrInvalid, "password", "a password has at most %d bytes", MaxPassword)
	}
	var hash string
	var u User
	var sc access.Scope
	row := s.pool.QueryRow(ctx, loginQuery, username)
	if err := scanUser(row, &hash, &u, &sc); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			// spend the same time as a real check, so usernames can't be probed
			_ = bcrypt.CompareHashAndPassword(s.dummy, []byte(password))
			return "", User{}, access.Scope{}, ErrBadCredentials
		}
		return "", User{}, access.Scope{}, fmt.Errorf("auth: login: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return "", User{}, access.Scope{}, ErrBadCredentials
	}
	token, sum, err := newToken()
	if err != nil {
		return "", User{}, access.Scope{}, err
	}
	now := s.now()
	if _, err := s.pool.Exec(ctx, insertToken, u.ID, sum, now, now.Add(TokenTTL)); err != nil {
		return "", User{}, access.Scope{}, fmt.Errorf("auth: login: %w", err)
	}
	return token, u, sc, nil
}

const tokenQuery = `SELECT '', ` + userColumns + `, tk.expires_at
FROM tokens tk
JOIN users u ON u.id = tk.user_id
LEFT JOIN grids g ON g.id = u.grid_id
LEFT JOIN units un ON un.id = u.unit_id
WHERE tk.token_hash = $1 AND tk.revoked_at IS NULL AND tk.expires_at > $2 AND u.disabled_at IS NULL`

// Authenticate resolves a bearer token to its user and scope. A token it
// found valid less than TokenCacheTTL ago is not looked up again.
func (s *Store) Authenticate(ctx context.Context, token string) (User, access.Scope, error) {
	if token == "" {
		return User{}, access.Scope{}, ErrBadToken
	}
	sum := sha256.Sum256([]byte(token))
	now := s.now()
	if u, sc, ok := s.cached(sum, now); ok {
		return u, sc, nil
	}
	var hash string
	var u User
	var sc access.Scope
	var expires time.Time
	if err := scanUser(s.pool.QueryRow(ctx, tokenQuery, sum[:], now), &hash, &u, &sc, &expires); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return User{}, access.Scope{}, ErrBadToken
		}
		return User{}, access.Scope{}, fmt.Errorf("auth: authenticate: %w", err)
	}
	s.remember(sum, cachedToken{user: u, scope: sc, checked: now, expires: expires})
	return u, sc, nil
}

// cached returns the cached answer for a token hash, if it is fresh and
// the token has not expired since.
func (s *Store) cached(sum [sha256.Size]byte, now time.Time) (User, access.Scope, bool) {
	s.mu.Lock()
	e, ok := s.tokens[sum]
	s.mu.Unlock()
	if !ok || now.Before(e.checked) || now.Sub(e.checked) >= TokenCacheTTL || !now.Before(e.expires) {
		return User{}, access.Scope{}, false
	}
	sc := e.scope
	sc.Townships = slices.Clone(sc.Townships) // the caller may keep or change it
	return e.user, sc, true
}

func (s *Store) remember(sum [sha256.Size]byte, e cachedToken) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.tokens) >= tokenCacheMax {
		for k, old := range s.tokens {
			if e.checked.Sub(old.checked) >= TokenCacheTTL {
				delete(s.tokens, k)
			}
		}
		if len(s.tokens) >= tokenCacheMax {
			clear(s.tokens)
		}
	}
	s.tokens[sum] = e
}

// forget drops a token from the cache.
func (s *Store) forget(sum [sha256.Size]byte) {
	s.mu.Lock()
	delete(s.tokens, sum)
	s.mu.Unlock()
}

// Logout revokes a token. Revoking an unknown or revoked token is ErrBadToken.
func (s *Store) Logout(ctx context.Context, token string) error {
	sum := sha256.Sum256([]byte(token))
	s.forget(sum)
	tag, err := s.pool.Exec(ctx, `UPDATE tokens SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL`, sum[:], s.now())
	if err != nil {
		return fmt.Errorf("auth: logout: %w", err)
	}
	s.forget(sum) // again: an Authenticate may have cached it meanwhile
	if tag.RowsAffected() == 0 {
		return ErrBadToken
	}
	return nil
}

// NewUser is what AddUser needs.
type NewUser struct {
	Username    string
	Password    string
	Role        access.Role
	DisplayName string
	GridCode    string // for command, screen (the district), township, grid_worker, party_member
	UnitCode    string // for unit
	// Duties beyond the role: access.DutyCallback for the command
	// center's callback desk.
	Duties []access.Duty
}

const addUser = `INSERT INTO users (username, password_hash, role, display_name, grid_id, grid_level, unit_id, duties)
SELECT $1, $2, $3, $4, g.id, g.level, un.id, $7
FROM (SELECT 1) one
LEFT JOIN grids g ON g.code = $5 AND g.valid_to IS NULL
LEFT JOIN units un ON un.code = $6
RETURNING id`

// AddUser creates a user. A production database starts with none; this is
// how they are made (whistlegrid user add).
func (s *Store) AddUser(ctx context.Context, nu NewUser) (int64, error) {
	if !nu.Role.Valid() {
		return 0, fault.FieldErrorf(ErrInvalid, "role", "unknown role %q", nu.Role)
	}
	if nu.Role == access.RoleUnit && nu.UnitCode == "" {
		return 0, fault.FieldErrorf(ErrInvalid, "unit", "a unit user needs a unit code")
	}
	if nu.Role != access.RoleUnit && nu.GridCode == "" {
		return 0, fault.FieldErrorf(ErrInvalid, "grid", "a %s user needs a grid code", nu.Role)
	}
	duties := []string{}
	for _, d := range nu.Duties {
		if !d.Valid(nu.Role) {
			return 0, fault.FieldErrorf(ErrInvalid, "duty", "duty %q is not one a %s account may have", d, nu.Role)
		}
		duties = append(duties, string(d))
	}
	hash, err := HashPassword(nu.Password)
	if err != nil {
		return 0, err
	}
	var gridCode, unitCode any
	if nu.GridCode != "" {
		gridCode = nu.GridCode
	}
	if nu.UnitCode != "" {
		unitCode = nu.UnitCode
	}
	var id int64
	err = s.pool.QueryRow(ctx, addUser, nu.Username, hash, string(nu.Role), nu.DisplayName, gridCode, unitCode, duties).Scan(&id)
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && pe.Code == pgUniqueViolation:
		return 0, fault.FieldErrorf(ErrConflict, "username", "user %q already exists", nu.Username)
	case errors.As(err, &pe) && (pe.Code == pgCheckViolation || pe.Code == pgNotNullViolation):
		return 0, fault.Errorf(ErrInvalid, "role %s does not fit grid %q / unit %q (unknown code, or the wrong level)", nu.Role, nu.GridCode, nu.UnitCode)
	case err != nil:
		return 0, fmt.Errorf("auth: add user: %w", err)
	}
	return id, nil
}

func scanUser(row pgx.Row, hash *string, u *User, sc *access.Scope, extra ...any) error {
	var unitID *int64
	var townships []string
	dest := append([]any{hash, &u.ID, &u.Username, &u.Role, &u.DisplayName, &u.GridCode, &u.UnitCode, &u.GridName, &u.UnitName, &unitID, &townships, &u.Duties}, extra...)
	if err := row.Scan(dest...); err != nil {
		return err
	}
	*sc = access.Scope{UserID: u.ID, Username: u.Username, Role: access.Role(u.Role), GridCode: u.GridCode, UnitCode: u.UnitCode, Townships: townships}
	for _, d := range u.Duties {
		sc.Duties = append(sc.Duties, access.Duty(d))
	}
	if unitID != nil {
		sc.UnitID = *unitID
	}
	return nil
}

// Jurisdiction returns where u acts.
func (u User) Jurisdiction() Jurisdiction {
	return Jurisdiction{GridCode: u.GridCode, GridName: u.GridName, UnitCode: u.UnitCode, UnitName: u.UnitName}
}

// TokenHash is the SHA-256 of a bearer token, as the tokens table keeps it
// and as a revocation is notified (live.TokenChannel, in hex).
func TokenHash(token string) [sha256.Size]byte { return sha256.Sum256([]byte(token)) }

func newToken() (string, []byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("auth: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(tok))
	return tok, sum[:], nil
}

package ingest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"

	"whistlegrid/fault"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Execer runs one statement: a *pgxpool.Pool, a *pgx.Conn or a pgx.Tx.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// APIKey is an Open311 client, known by its key. Requests it posts are
// taken in by "open311:" + Name.
type APIKey struct {
	ID   int64
	Name string
}

func keyHash(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// AddAPIKey stores an Open311 API key under name; only the key's SHA-256
// is kept. Adding a key that is already stored changes nothing, so demo
// loading may run it twice; a revoked key stays revoked.
func AddAPIKey(ctx context.Context, db Execer, name, key string) error {
	if strings.TrimSpace(name) == "" {
		return invalid("name", "an API key needs a name")
	}
	if key == "" || len(key) > 256 {
		return invalid("key", "an API key has 1 to 256 bytes")
	}
	if _, err := db.Exec(ctx, `INSERT INTO api_keys (key_hash, name) VALUES ($1, $2) ON CONFLICT (key_hash) DO NOTHING`, keyHash(key), name); err != nil {
		return fmt.Errorf("ingest: add api key: %w", err)
	}
	return nil
}

// CheckKey finds the client of an API key. A missing, unknown or revoked
// key is ErrForbidden.
func (o *Open311) CheckKey(ctx context.Context, key string) (APIKey, error) {
	if key == "" {
		return APIKey{}, fault.Errorf(ErrForbidden, "api_key is required to post a service request")
	}
	var k APIKey
	err := o.pool.QueryRow(ctx, `SELECT id, name FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`, keyHash(key)).Scan(&k.ID, &k.Name)
	if errors.Is(err, pgx.ErrNoRows) {
		return APIKey{}, fault.Errorf(ErrForbidden, "invalid api_key received, can't create the service request")
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("ingest: api key: %w", err)
	}
	return k, nil
}

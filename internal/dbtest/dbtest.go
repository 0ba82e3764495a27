// Package dbtest gives tests fresh databases in a private PostgreSQL 15 +
// PostGIS 3 cluster of the checkout (.pgdata/test), started on demand. A database
// is cloned from a template (CREATE DATABASE ... TEMPLATE), so each test gets
// its own copy in about a second and may change it freely; it is dropped when
// the test ends. Templates are built once and kept, keyed by a hash of the
// migrations and of the sources that fill them, so a change rebuilds them.
//
// Nothing here skips: when the cluster cannot start, the test fails with the
// reason (for example how to install PostGIS).
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/internal/pgcluster"
	"whistlegrid/migrations"
)

// Fill puts data into a freshly migrated template database.
type Fill func(ctx context.Context, pool *pgxpool.Pool) error

// New returns a pool on a fresh, empty, migrated database.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return Template(t, "empty", nil, nil)
}

// Template returns a pool on a fresh copy of the template called name: a
// migrated database filled by fill. sources are folders (relative to the
// repository root) whose files, with the migrations, decide when the
// template is stale and must be rebuilt.
func Template(t testing.TB, name string, sources []string, fill Fill) *pgxpool.Pool {
	t.Helper()
	url := TemplateURL(t, name, sources, fill)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// TemplateURL is Template, returning the database URL instead of a pool
// (for servers under test that open their own pool). The database is
// dropped when the test ends.
func TemplateURL(t testing.TB, name string, sources []string, fill Fill) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c, err := Cluster(ctx)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	key, err := fingerprint(root, sources)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	tpl := "tpl_" + name + "_" + key
	admin, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	defer admin.Close(context.Background())
	if err := ensureTemplate(ctx, admin, c, "tpl_"+name+"_", tpl, fill); err != nil {
		t.Fatalf("dbtest: template %s: %v", name, err)
	}
	db := "test_" + randomHex(6)
	if err := withLock(ctx, admin, func() error {
		_, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", pgx.Identifier{db}.Sanitize(), pgx.Identifier{tpl}.Sanitize()))
		return err
	}); err != nil {
		t.Fatalf("dbtest: clone %s: %v", tpl, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err != nil {
			t.Errorf("dbtest: drop %s: %v", db, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", pgx.Identifier{db}.Sanitize())); err != nil {
			t.Errorf("dbtest: drop %s: %v", db, err)
		}
	})
	return c.URL(db)
}

// Cluster starts (or finds running) the test cluster of the checkout.
//
// It trades durability for speed (pgcluster.Options.Fast: fsync,
// full_page_writes and synchronous_commit off): every database in it is a
// throw-away copy of a template that the migrations rebuild, so a crash
// loses nothing that matters, and fsync on every commit would slow the
// suite several times over. That is why it is a cluster of its own
// (.pgdata/test) and not the durable one `serve` and the benchmarks use
// (.pgdata): one cluster has one setting, and a test run beside a server
// or a benchmark must not turn the server's durability off.
func Cluster(ctx context.Context) (*pgcluster.Cluster, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	return pgcluster.Start(ctx, filepath.Join(root, ".pgdata", "test"), pgcluster.Options{Fast: true})
}

// RepoRoot is the folder holding go.mod, found from the working directory up.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("dbtest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// ensureTemplate builds the template database tpl unless it exists, under
// an advisory lock so concurrent test binaries build it once. Stale
// templates with the same prefix are dropped.
func ensureTemplate(ctx context.Context, admin *pgx.Conn, c *pgcluster.Cluster, prefix, tpl string, fill Fill) error {
	return withLock(ctx, admin, func() error {
		var exists bool
		if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, tpl).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return nil
		}
		rows, err := admin.Query(ctx, `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, prefix)
		if err != nil {
			return err
		}
		stale, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, s := range stale {
			if _, err := admin.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s IS_TEMPLATE false", pgx.Identifier{s}.Sanitize())); err != nil {
				return err
			}
			if _, err := admin.Exec(ctx, fmt.Sprintf("DROP DATABASE %s WITH (FORCE)", pgx.Identifier{s}.Sanitize())); err != nil {
				return err
			}
		}
		building := "building_" + randomHex(6)
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{building}.Sanitize()); err != nil {
			return err
		}
		err = func() error {
			pool, err := pgxpool.New(ctx, c.URL(building))
			if err != nil {
				return err
			}
			defer pool.Close()
			if _, err := migrations.Up(ctx, pool); err != nil {
				return err
			}
			if fill != nil {
				if err := fill(ctx, pool); err != nil {
					return err
				}
			}
			_, err = pool.Exec(ctx, "VACUUM ANALYZE")
			return err
		}()
		if err != nil {
			_, _ = admin.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", pgx.Identifier{building}.Sanitize()))
			return err
		}
		if _, err := admin.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", pgx.Identifier{building}.Sanitize(), pgx.Identifier{tpl}.Sanitize())); err != nil {
			return err
		}
		_, err = admin.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s IS_TEMPLATE true", pgx.Identifier{tpl}.Sanitize()))
		return err
	})
}

// lockKey is the advisory lock that serialises template builds and clones.
const lockKey = 7_419_001

func withLock(ctx context.Context, conn *pgx.Conn, f func() error) error {
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockKey); err != nil {
		return err
	}
	defer func() { _, _ = conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, lockKey) }()
	return f()
}

// fingerprint hashes the migrations and every file under sources.
func fingerprint(root string, sources []string) (string, error) {
	h := sha256.New()
	dirs := append([]string{"migrations"}, sources...)
	for _, d := range dirs {
		var files []string
		err := filepath.WalkDir(filepath.Join(root, d), func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !e.IsDir() && !strings.HasSuffix(path, "_test.go") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return "", err
		}
		sort.Strings(files)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return "", err
			}
			rel, _ := filepath.Rel(root, f)
			fmt.Fprintf(h, "%s\x00%d\x00", rel, len(b))
			h.Write(b)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

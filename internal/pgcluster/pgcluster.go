// Package pgcluster runs the private PostgreSQL 15 + PostGIS 3 cluster that
// whistlegrid uses when no database URL is configured. The cluster lives in a
// folder of the checkout (by default .pgdata), listens on 127.0.0.1 on a port
// of its own and on a unix socket in that folder, and trusts local
// connections: it is for development, demos and tests, never production.
package pgcluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultBinDir is where Debian's postgresql-15 package puts the server binaries.
const DefaultBinDir = "/usr/lib/postgresql/15/bin"

// DefaultDatabase is the database name the platform uses inside the cluster.
const DefaultDatabase = "whistlegrid"

// ErrMissing is returned when the PostgreSQL or PostGIS binaries are absent.
var ErrMissing = errors.New("pgcluster: PostgreSQL 15 + PostGIS 3 not installed; install them with: apt-get update && apt-get install -y postgresql-15-postgis-3")

// Cluster is a started private cluster.
type Cluster struct {
	Dir    string // the cluster folder: data/, sock/, port, log
	Port   int    // TCP port on 127.0.0.1
	BinDir string
}

// URL is the connection string for database db in the cluster.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
}

// Check reports ErrMissing when the server binaries or the PostGIS extension
// are not installed.
func Check(binDir string) error {
	for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(binDir, b)); err != nil {
			return fmt.Errorf("%w (missing %s)", ErrMissing, filepath.Join(binDir, b))
		}
	}
	share := sharedir(binDir)
	if _, err := os.Stat(filepath.Join(share, "extension", "postgis.control")); err != nil {
		return fmt.Errorf("%w (missing the postgis extension in %s)", ErrMissing, share)
	}
	return nil
}

func sharedir(binDir string) string {
	// /usr/lib/postgresql/15/bin -> /usr/share/postgresql/15
	ver := filepath.Base(filepath.Dir(binDir))
	return filepath.Join("/usr/share/postgresql", ver)
}

// Start initialises the cluster in dir if needed and starts it if it is not
// running. It is safe to call again and from several processes at once: a
// file lock serialises them, and a running cluster is left as it is. It also
// creates the database DefaultDatabase with PostGIS.
func Start(ctx context.Context, dir, binDir string) (*Cluster, error) {
	if binDir == "" {
		binDir = DefaultBinDir
	}
	if err := Check(binDir); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	unlock, err := lock(filepath.Join(dir, "lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()

	cred, uid, gid, err := runAs()
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, BinDir: binDir}
	if err := c.linkHome(uid, gid); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	sock := filepath.Join(dir, "sock")
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err != nil {
		if err := c.initdb(ctx, cred, uid, gid); err != nil {
			return nil, err
		}
	}
	port, err := readPort(filepath.Join(dir, "port"))
	if err != nil {
		return nil, err
	}
	c.Port = port
	if !c.running(ctx, cred) {
		_ = os.Remove(filepath.Join(data, "postmaster.pid")) // stale after a crash; pg_ctl status said not running
		opts := fmt.Sprintf("-p %d -k %s", port, sock)
		logPath := filepath.Join(sock, "postgres.log")
		if err := c.run(ctx, cred, "pg_ctl", "-D", data, "-o", opts, "-l", logPath, "-w", "-t", "60", "start"); err != nil {
			return nil, fmt.Errorf("pgcluster: start (see %s): %w", logPath, err)
		}
	}
	if err := c.ensureDatabase(ctx, DefaultDatabase); err != nil {
		return nil, err
	}
	return c, nil
}

// Stop stops the cluster in dir if it is running.
func Stop(ctx context.Context, dir, binDir string) error {
	if binDir == "" {
		binDir = DefaultBinDir
	}
	cred, _, _, err := runAs()
	if err != nil {
		return err
	}
	c := &Cluster{Dir: dir, BinDir: binDir}
	if !c.running(ctx, cred) {
		return nil
	}
	return c.run(ctx, cred, "pg_ctl", "-D", filepath.Join(dir, "data"), "-m", "fast", "-w", "stop")
}

// linkHome makes dir/data and dir/sock usable by the server's user. When that
// user cannot reach dir (a checkout under /root, say), the two folders live
// in /var/tmp/whistlegrid-pg/<hash of dir> and dir holds symlinks to them.
func (c *Cluster) linkHome(uid, gid int) error {
	if reachable(c.Dir, uid, gid) {
		return nil
	}
	sum := sha256.Sum256([]byte(c.Dir))
	home := filepath.Join("/var/tmp/whistlegrid-pg", hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(home, 0o755); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	for _, name := range []string{"data", "sock"} {
		link := filepath.Join(c.Dir, name)
		target := filepath.Join(home, name)
		if got, err := os.Readlink(link); err == nil && got == target {
			continue
		}
		_ = os.RemoveAll(link)
		if err := os.MkdirAll(target, 0o700); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		if err := os.Chown(target, uid, gid); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		if err := os.Symlink(target, link); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
	}
	return nil
}

// reachable reports whether uid/gid may traverse every folder down to dir.
func reachable(dir string, uid, gid int) bool {
	if uid == os.Geteuid() {
		return true
	}
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return false
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return false
		}
		mode := fi.Mode().Perm()
		switch {
		case int(st.Uid) == uid:
			if mode&0o100 == 0 {
				return false
			}
		case int(st.Gid) == gid:
			if mode&0o010 == 0 {
				return false
			}
		default:
			if mode&0o001 == 0 {
				return false
			}
		}
		if d == "/" || d == filepath.Dir(d) {
			return true
		}
	}
}

func (c *Cluster) initdb(ctx context.Context, cred *syscall.Credential, uid, gid int) error {
	data := filepath.Join(c.Dir, "data")
	if fi, err := os.Lstat(data); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		// keep the link, empty its target
		target, _ := filepath.EvalSymlinks(data)
		_ = os.RemoveAll(target)
		data = target
	} else {
		_ = os.RemoveAll(data)
	}
	for _, d := range []string{data, filepath.Join(c.Dir, "sock")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		if cred != nil {
			if err := os.Chown(d, uid, gid); err != nil {
				return fmt.Errorf("pgcluster: %w", err)
			}
		}
	}
	if err := c.run(ctx, cred, "initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"); err != nil {
		return fmt.Errorf("pgcluster: initdb: %w", err)
	}
	// A private development cluster: speed over durability, enough
	// connections for tests and benchmarks, loopback only.
	conf := `
listen_addresses = '127.0.0.1'
max_connections = 300
shared_buffers = 512MB
work_mem = 32MB
maintenance_work_mem = 256MB
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
max_wal_size = 4GB
log_min_messages = warning
`
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	if _, err := f.WriteString(conf); err != nil {
		f.Close()
		return fmt.Errorf("pgcluster: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.Dir, "port"), []byte(strconv.Itoa(port)+"\n"), 0o644)
}

func (c *Cluster) running(ctx context.Context, cred *syscall.Credential) bool {
	data := filepath.Join(c.Dir, "data")
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err != nil {
		return false
	}
	return c.run(ctx, cred, "pg_ctl", "-D", data, "status") == nil
}

func (c *Cluster) run(ctx context.Context, cred *syscall.Credential, bin string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(c.BinDir, bin), args...)
	cmd.Dir = "/"
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", bin, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

func (c *Cluster) ensureDatabase(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("pgcluster: connect: %w", err)
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
			return fmt.Errorf("pgcluster: create database: %w", err)
		}
	}
	return nil
}

// runAs returns the credential of the postgres user when running as root,
// since PostgreSQL refuses to run as root; otherwise nil (run as ourselves).
func runAs() (*syscall.Credential, int, int, error) {
	if os.Geteuid() != 0 {
		return nil, os.Geteuid(), os.Getegid(), nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%w (no postgres user: %v)", ErrMissing, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, uid, gid, nil
}

func readPort(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("pgcluster: read port: %w", err)
	}
	p, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || p <= 0 || p > 65535 {
		return 0, fmt.Errorf("pgcluster: bad port file %s", path)
	}
	return p, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgcluster: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lock takes an exclusive flock on path, waiting for other processes.
func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("pgcluster: lock: %w", err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

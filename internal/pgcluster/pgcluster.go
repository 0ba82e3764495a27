// Package pgcluster runs the private PostgreSQL 15 + PostGIS 3 cluster that
// whistlegrid uses when no database URL is configured. The cluster lives in a
// folder of the checkout (by default .pgdata), listens on 127.0.0.1 on a port
// of its own and on a unix socket in that folder, and trusts local
// connections: it is for development, demos, benchmarks and tests on one
// machine. Production runs the deployment README's "Running it for real"
// describes.
//
// A cluster is durable unless Options.Fast says otherwise: fsync,
// full_page_writes and synchronous_commit are on, so a commit PostgreSQL
// acknowledged survives a crash of PostgreSQL or of the machine. Start
// enforces the setting on every start (ALTER SYSTEM and a reload), so a
// cluster made by an older version with fsync off is corrected.
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
	"slices"
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

// Options says how Start runs a cluster. The zero value is a durable
// cluster from DefaultBinDir.
type Options struct {
	// BinDir holds the server binaries; "" is DefaultBinDir.
	BinDir string
	// Fast trades durability for speed: fsync, full_page_writes and
	// synchronous_commit off. A crash of PostgreSQL can then lose commits
	// it acknowledged, and a crash of the machine can corrupt the whole
	// cluster. Only for clusters whose data is rebuilt at will, such as the
	// test cluster (internal/dbtest), never for one that serves.
	Fast bool
}

// durability is the setting of each parameter that decides whether an
// acknowledged commit survives a crash: all on for a durable cluster, all
// off for a fast one. All three take effect on a reload.
func (o Options) durability() map[string]string {
	v := "on"
	if o.Fast {
		v = "off"
	}
	return map[string]string{"fsync": v, "full_page_writes": v, "synchronous_commit": v}
}

// Start initialises the cluster in dir if needed, starts it if it is not
// running, and makes its durability what o says (see Options.Fast). It is
// safe to call again and from several processes at once: a file lock
// serialises them, and a running cluster whose settings already agree is
// left as it is. It also creates the database DefaultDatabase.
func Start(ctx context.Context, dir string, o Options) (*Cluster, error) {
	binDir := o.BinDir
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
	if _, err := os.Stat(filepath.Join(dir, "data", "PG_VERSION")); err != nil {
		if err := c.initdb(ctx, cred, uid, gid, o.Fast); err != nil {
			return nil, err
		}
	}
	data, sock := resolved(dir, "data"), resolved(dir, "sock")
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
	if err := c.setDurability(ctx, o.durability()); err != nil {
		return nil, err
	}
	if err := c.ensureDatabase(ctx, DefaultDatabase); err != nil {
		return nil, err
	}
	return c, nil
}

// setDurability makes the running cluster's durability parameters want:
// ALTER SYSTEM (postgresql.auto.conf overrides postgresql.conf, where
// clusters made before durability was the default say fsync = off) and a
// reload, then it waits until the server reports them. When fsync goes from
// off to on, whatever the server wrote without it may still sit in the
// kernel's cache only: a checkpoint and a sync(2) put it on disk, as the
// PostgreSQL manual asks for that switch.
func (c *Cluster) setDurability(ctx context.Context, want map[string]string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("pgcluster: connect: %w", err)
	}
	defer conn.Close(context.Background())
	have, err := settings(ctx, conn)
	if err != nil {
		return err
	}
	var changed []string
	for name, v := range want {
		if have[name] != v {
			changed = append(changed, name)
			// names and values are the constants of Options.durability
			if _, err := conn.Exec(ctx, fmt.Sprintf("ALTER SYSTEM SET %s = %s", name, v)); err != nil {
				return fmt.Errorf("pgcluster: set %s: %w", name, err)
			}
		}
	}
	if len(changed) == 0 {
		return nil
	}
	if _, err := conn.Exec(ctx, `SELECT pg_reload_conf()`); err != nil {
		return fmt.Errorf("pgcluster: reload: %w", err)
	}
	for {
		have, err = settings(ctx, conn)
		if err != nil {
			return err
		}
		done := true
		for name, v := range want {
			done = done && have[name] == v
		}
		if done {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgcluster: the server did not take %v after a reload: %v", want, have)
		case <-time.After(50 * time.Millisecond):
		}
	}
	if slices.Contains(changed, "fsync") && want["fsync"] == "on" {
		if _, err := conn.Exec(ctx, `CHECKPOINT`); err != nil {
			return fmt.Errorf("pgcluster: checkpoint: %w", err)
		}
		syscall.Sync()
	}
	return nil
}

// settings reports the durability parameters (fsync, full_page_writes,
// synchronous_commit) as the server on conn reports them: "on" or "off".
func settings(ctx context.Context, conn *pgx.Conn) (map[string]string, error) {
	rows, err := conn.Query(ctx, `SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'full_page_writes', 'synchronous_commit')`)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: settings: %w", err)
	}
	have := map[string]string{}
	for rows.Next() {
		var name, v string
		if err := rows.Scan(&name, &v); err != nil {
			return nil, fmt.Errorf("pgcluster: settings: %w", err)
		}
		have[name] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgcluster: settings: %w", err)
	}
	return have, nil
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
	return c.run(ctx, cred, "pg_ctl", "-D", resolved(dir, "data"), "-m", "fast", "-w", "stop")
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

// resolved is dir/name with its symlink resolved: the server's user may be
// unable to pass through dir itself, and reaches the folder only by the
// link's target (see linkHome).
func resolved(dir, name string) string {
	p := filepath.Join(dir, name)
	if t, err := filepath.EvalSymlinks(p); err == nil {
		return t
	}
	return p
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

func (c *Cluster) initdb(ctx context.Context, cred *syscall.Credential, uid, gid int, fast bool) error {
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
	args := []string{"-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"}
	if fast {
		args = append(args, "--no-sync")
	}
	if err := c.run(ctx, cred, "initdb", args...); err != nil {
		return fmt.Errorf("pgcluster: initdb: %w", err)
	}
	// A private cluster: enough connections for tests and benchmarks,
	// loopback only, no replication. fsync, full_page_writes and
	// synchronous_commit are not set here: Start sets them on every start
	// (setDurability).
	conf := `
listen_addresses = '127.0.0.1'
max_connections = 300
shared_buffers = 512MB
work_mem = 32MB
maintenance_work_mem = 256MB
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
	data := resolved(c.Dir, "data")
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

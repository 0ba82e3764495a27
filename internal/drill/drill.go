// Package drill runs the failover drill: the high-availability deployment
// of README's "Running it for real", built from real parts on one machine,
// loses its primary database server to kill -9 while clients write and
// watch, and the drill counts what was lost, doubled or missed.
//
// The deployment, everything on 127.0.0.1 on ports of its own and in one
// run folder:
//   - etcd (one member here; three on real machines) holds Patroni's
//     leader key;
//   - two Patroni members, pg1 and pg2, each running PostgreSQL 15 +
//     PostGIS, in synchronous mode: a commit returns once the synchronous
//     standby has flushed it, and only that standby may be promoted;
//   - HAProxy: its postgres front sends connections to the member whose
//     Patroni REST API answers 200 to OPTIONS /primary; its web front
//     balances the two whistlegrid instances;
//   - two `whistlegrid serve` instances whose database URL is HAProxy's
//     postgres front, so a failover reaches them as broken connections
//     and new ones that land on the new primary.
//
// The drill then runs:
//  1. Clients intake clues through HAProxy's web front (so through both
//     instances), each clue with its own external_id; a clue whose answer
//     is not 201 or 200 is sent again, the same body, until it is: the
//     server answers a repeat 200 without storing it again. Websocket
//     clients hold the live stream, on each instance and through HAProxy,
//     and resume with since = the last seq received.
//  2. kill -9 of the primary's postmaster.
//  3. Patroni fails over to the synchronous standby; the instances'
//     pools reconnect through HAProxy.
//  4. The old primary rejoins as a standby (pg_rewind if it must),
//     streaming from the new primary.
//
// Then it stops the load, lets the streams catch up, reads what the
// database holds, prints a table and, as its last line, one JSON object.
// Everything it started is stopped at the end, also when it fails; each
// program's pid is in DIR/pids so scripts/drill/failover.sh can stop what
// is left even if the drill itself was killed.
package drill

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"text/template"
	"time"

	"github.com/jackc/pgx/v5"
)

//go:embed conf/patroni.yml conf/haproxy.cfg
var confFS embed.FS

// BinDir is where Debian's postgresql-15 puts the server binaries.
const BinDir = "/usr/lib/postgresql/15/bin"

// Config is one drill.
type Config struct {
	// Dir is the run folder, which the drill fills (data, logs, pids); the
	// postgres user must be able to pass through it.
	Dir string
	// Bin is the whistlegrid binary both instances run.
	Bin string
	// Clients is the number of intake clients; default 8.
	Clients int
	// Streams is the number of websocket clients; default 6: two on each
	// instance and two through HAProxy.
	Streams int
	// Rate is clues per second over all intake clients; default 80.
	Rate float64
	// Warmup is how long the load runs before the kill; default 20s.
	Warmup time.Duration
	// After is how long the load runs once the old primary has rejoined;
	// default 10s.
	After time.Duration
	// Timeout bounds each wait: the cluster coming up, the failover, the
	// rejoin, the streams catching up; default 180s.
	Timeout time.Duration
	// Async runs the cluster without synchronous replication: a control
	// run that shows what the drill sees when a promoted standby lacks
	// commits the primary acknowledged. Never a way to deploy.
	Async bool
	// Progress receives one line per step; nil discards them.
	Progress io.Writer
}

func (c *Config) defaults() {
	if c.Clients <= 0 {
		c.Clients = 8
	}
	if c.Streams <= 0 {
		c.Streams = 6
	}
	if c.Rate <= 0 {
		c.Rate = 80
	}
	if c.Warmup <= 0 {
		c.Warmup = 20 * time.Second
	}
	if c.After <= 0 {
		c.After = 10 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 180 * time.Second
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
}

// member is one Patroni member.
type member struct {
	Name          string
	Dir           string // its folder; data/ inside
	PgPort        int
	RestPort      int
	EtcdPort      int
	Archive       string
	SuperPassword string
	ReplPassword  string
	Async         bool
	proc          *proc
}

// instance is one whistlegrid server.
type instance struct {
	Name string
	Port int
	proc *proc
}

// Drill is one run: what it started and where.
type Drill struct {
	cfg       Config
	began     time.Time
	pg        account
	procs     []*proc
	members   []*member
	instances []*instance
	etcdPort  int
	etcdPeer  int
	pgPort    int // HAProxy's postgres front
	webPort   int // HAProxy's web front
	super     string
	appPass   string
	runID     string
	mu        sync.Mutex // guards progress output
}

// Run sets the deployment up, runs the drill on it, stops everything and
// returns what it measured. The error is about the drill itself (a part
// that did not start, a wait that timed out); whether the targets held is
// in the Result.
func Run(ctx context.Context, cfg Config) (res Result, err error) {
	cfg.defaults()
	d := &Drill{cfg: cfg, began: time.Now()}
	d.runID = secret(4)
	defer func() {
		if terr := d.teardown(); terr != nil {
			err = errors.Join(err, terr)
		}
	}()
	if err := d.setUp(ctx); err != nil {
		return res, err
	}
	return d.exercise(ctx)
}

// progress prints one step, with the seconds since the drill started.
func (d *Drill) progress(format string, a ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.cfg.Progress, "[%6.1fs] %s\n", time.Since(d.began).Seconds(), fmt.Sprintf(format, a...))
}

func secret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// setUp starts etcd, the two Patroni members, HAProxy, loads the demo and
// starts the two instances.
func (d *Drill) setUp(ctx context.Context) error {
	var err error
	if d.pg, err = postgresAccount(); err != nil {
		return err
	}
	for _, bin := range []string{"etcd", "patroni", "haproxy"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("drill: %s is not installed: run scripts/setup.sh --drill", bin)
		}
	}
	if err := os.MkdirAll(d.cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("drill: %w", err)
	}
	if err := os.Chmod(d.cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("drill: %w", err)
	}
	for _, sub := range []string{"logs", "pids", "etcd"} {
		if err := os.MkdirAll(filepath.Join(d.cfg.Dir, sub), 0o755); err != nil {
			return fmt.Errorf("drill: %w", err)
		}
	}
	archive := filepath.Join(d.cfg.Dir, "wal-archive")
	if err := d.pgFolder(archive); err != nil {
		return err
	}
	ports, err := freePorts(10)
	if err != nil {
		return err
	}
	d.etcdPort, d.etcdPeer, d.pgPort, d.webPort = ports[0], ports[1], ports[2], ports[3]
	d.super, d.appPass = secret(12), secret(12)
	repl := secret(12)
	for i, name := range []string{"pg1", "pg2"} {
		m := &member{Name: name, Dir: filepath.Join(d.cfg.Dir, name), PgPort: ports[4+2*i], RestPort: ports[5+2*i],
			EtcdPort: d.etcdPort, Archive: archive, SuperPassword: d.super, ReplPassword: repl, Async: d.cfg.Async}
		if err := d.pgFolder(m.Dir); err != nil {
			return err
		}
		if err := writeTemplate("conf/patroni.yml", filepath.Join(m.Dir, "patroni.yml"), m, d.pg); err != nil {
			return err
		}
		d.members = append(d.members, m)
	}
	for i, name := range []string{"app1", "app2"} {
		d.instances = append(d.instances, &instance{Name: name, Port: ports[8+i]})
	}

	// etcd
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", d.etcdPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", d.etcdPeer)
	if _, err := d.start("etcd", nil, nil, "etcd", "--name", "drill", "--data-dir", filepath.Join(d.cfg.Dir, "etcd", "data"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "drill="+peerURL, "--initial-cluster-state", "new",
		"--initial-cluster-token", "whistlegrid-drill-"+d.runID); err != nil {
		return err
	}
	if err := waitFor(ctx, 30*time.Second, 200*time.Millisecond, "etcd healthy", func() (bool, error) {
		var h struct{ Health string }
		err := getJSON(etcdURL+"/health", &h)
		return err == nil && h.Health == "true", err
	}); err != nil {
		return err
	}
	d.progress("etcd up on 127.0.0.1:%d", d.etcdPort)

	// Patroni: pg1 bootstraps the cluster, pg2 clones it and follows
	for i, m := range d.members {
		if m.proc, err = d.start(m.Name, &d.pg, nil, "patroni", filepath.Join(m.Dir, "patroni.yml")); err != nil {
			return err
		}
		if i == 0 {
			if err := waitFor(ctx, d.cfg.Timeout, 500*time.Millisecond, "pg1 primary", func() (bool, error) {
				if err := m.proc.exited(); err != nil {
					return false, err
				}
				return restStatus(m.RestPort, "/primary") == http.StatusOK, nil
			}); err != nil {
				return err
			}
			d.progress("pg1 (Patroni REST 127.0.0.1:%d) is the primary on 127.0.0.1:%d", m.RestPort, m.PgPort)
		}
	}
	role := "sync_standby"
	if d.cfg.Async {
		role = "replica"
	}
	if err := waitFor(ctx, d.cfg.Timeout, 500*time.Millisecond, "pg2 "+role, func() (bool, error) {
		if err := d.members[1].proc.exited(); err != nil {
			return false, err
		}
		c, err := d.cluster()
		if err != nil {
			return false, err
		}
		return c.role("pg2") == role && c.state("pg2") == "running", nil
	}); err != nil {
		return err
	}
	d.progress("pg2 (Patroni REST 127.0.0.1:%d) is the %s on 127.0.0.1:%d", d.members[1].RestPort, map[string]string{"sync_standby": "synchronous standby", "replica": "asynchronous standby"}[role], d.members[1].PgPort)

	// HAProxy
	hcfg := filepath.Join(d.cfg.Dir, "haproxy.cfg")
	if err := writeTemplate("conf/haproxy.cfg", hcfg, map[string]any{"Dir": d.cfg.Dir, "PgPort": d.pgPort, "WebPort": d.webPort,
		"Members": d.members, "Instances": d.instances}, account{uid: os.Geteuid(), gid: os.Getegid()}); err != nil {
		return err
	}
	if _, err := d.start("haproxy", nil, nil, "haproxy", "-db", "-f", hcfg); err != nil {
		return err
	}
	// HAProxy counts a server up until its checks fail (fall 2, inter
	// 500ms): the front is settled when a row of connections all reach
	// the primary
	row := 0
	if err := waitFor(ctx, 30*time.Second, 250*time.Millisecond, "HAProxy to the primary", func() (bool, error) {
		conn, err := d.primary(ctx)
		if err != nil {
			row = 0
			return false, err
		}
		conn.Close(context.Background())
		row++
		return row >= 8, nil
	}); err != nil {
		return err
	}
	d.progress("HAProxy: postgres front 127.0.0.1:%d, web front 127.0.0.1:%d", d.pgPort, d.webPort)

	// the database, its owner and the demo (grids, people, users; no history)
	if err := d.createDatabase(ctx); err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	demo := exec.CommandContext(dctx, d.cfg.Bin, "demo", "--history=false", "--database-url", d.appURL())
	out, err := demo.CombinedOutput()
	_ = os.WriteFile(filepath.Join(d.cfg.Dir, "logs", "demo.log"), out, 0o644)
	if err != nil {
		return fmt.Errorf("drill: whistlegrid demo: %w (see logs/demo.log)", err)
	}
	d.progress("demo loaded (migrations, grids, people, users; no history)")

	// two whistlegrid instances
	for _, in := range d.instances {
		if in.proc, err = d.start(in.Name, nil, []string{"WHISTLEGRID_LOG_LEVEL=info"}, d.cfg.Bin, "serve",
			"--addr", fmt.Sprintf("127.0.0.1:%d", in.Port), "--database-url", d.appURL(), "--hotspot-every", "0"); err != nil {
			return err
		}
	}
	for _, in := range d.instances {
		if err := waitFor(ctx, d.cfg.Timeout, 250*time.Millisecond, in.Name+" healthy", func() (bool, error) {
			if err := in.proc.exited(); err != nil {
				return false, err
			}
			return httpStatus(fmt.Sprintf("http://127.0.0.1:%d/healthz", in.Port)) == http.StatusOK, nil
		}); err != nil {
			return err
		}
		d.progress("%s serving on 127.0.0.1:%d", in.Name, in.Port)
	}
	return waitFor(ctx, 30*time.Second, 250*time.Millisecond, "HAProxy web front", func() (bool, error) {
		return httpStatus(d.webURL()+"/healthz") == http.StatusOK, nil
	})
}

// pgFolder makes a folder the postgres user owns.
func (d *Drill) pgFolder(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("drill: %w", err)
	}
	if err := os.Chown(dir, d.pg.uid, d.pg.gid); err != nil {
		return fmt.Errorf("drill: %w", err)
	}
	return nil
}

// writeTemplate fills the embedded template name with data into path,
// owned by acct.
func writeTemplate(name, path string, data any, acct account) error {
	t, err := template.ParseFS(confFS, name)
	if err != nil {
		return fmt.Errorf("drill: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return fmt.Errorf("drill: %s: %w", name, err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		return fmt.Errorf("drill: %w", err)
	}
	if err := os.Chown(path, acct.uid, acct.gid); err != nil {
		return fmt.Errorf("drill: %w", err)
	}
	return nil
}

// superURL is the superuser's URL through HAProxy, to database db.
func (d *Drill) superURL(db string) string {
	return fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/%s?sslmode=disable&connect_timeout=3", d.super, d.pgPort, db)
}

// appURL is the instances' database URL: the database's owner, through
// HAProxy; target_session_attrs=read-write refuses a connection that
// lands on a standby all the same (a check HAProxy has not yet failed).
func (d *Drill) appURL() string {
	return fmt.Sprintf("postgres://whistlegrid:%s@127.0.0.1:%d/whistlegrid?sslmode=disable&connect_timeout=3&target_session_attrs=read-write", d.appPass, d.pgPort)
}

func (d *Drill) webURL() string { return fmt.Sprintf("http://127.0.0.1:%d", d.webPort) }

// primary connects through HAProxy and checks that it reached a primary.
func (d *Drill) primary(ctx context.Context) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, d.superURL("postgres"))
	if err != nil {
		return nil, err
	}
	var standby bool
	if err := conn.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&standby); err != nil || standby {
		conn.Close(context.Background())
		if err == nil {
			err = errors.New("drill: HAProxy reached a standby")
		}
		return nil, err
	}
	return conn, nil
}

// createDatabase makes the role whistlegrid and its database, with the
// extensions only a superuser may create (PostGIS is not a trusted
// extension); the migrations' CREATE EXTENSION IF NOT EXISTS then pass.
func (d *Drill) createDatabase(ctx context.Context) error {
	conn, err := d.primary(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	// the password is hex: safe to write into the statement
	for _, q := range []string{
		`CREATE ROLE whistlegrid LOGIN PASSWORD '` + d.appPass + `'`,
		`CREATE DATABASE whistlegrid OWNER whistlegrid`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("drill: %s: %w", q[:20], err)
		}
	}
	db, err := pgx.Connect(ctx, d.superURL("whistlegrid"))
	if err != nil {
		return fmt.Errorf("drill: %w", err)
	}
	defer db.Close(context.Background())
	for _, q := range []string{`CREATE EXTENSION postgis`, `CREATE EXTENSION btree_gist`} {
		if _, err := db.Exec(ctx, q); err != nil {
			return fmt.Errorf("drill: %s: %w", q, err)
		}
	}
	return nil
}

// teardown stops every program the drill started, the instances first and
// etcd last, then makes sure no postmaster is left on the members' data
// folders (stopping one with pg_ctl stop -m immediate if so).
func (d *Drill) teardown() error {
	var errs []error
	order := map[string]int{"app1": 0, "app2": 0, "haproxy": 1, "pg1": 2, "pg2": 2, "etcd": 3}
	for stage := 0; stage <= 3; stage++ {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, p := range d.procs {
			if order[p.name] != stage {
				continue
			}
			wg.Go(func() {
				if err := p.stop(60 * time.Second); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	left := 0
	for _, m := range d.members {
		data := filepath.Join(m.Dir, "data")
		pid, err := postmasterPID(data)
		if err != nil || !alive(pid) {
			continue
		}
		left++
		cmd := exec.Command(filepath.Join(BinDir, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop")
		cmd.Dir = "/"
		if d.pg.cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: d.pg.cred}
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			errs = append(errs, fmt.Errorf("drill: pg_ctl stop %s: %v: %s", m.Name, err, out))
		}
	}
	if left > 0 {
		errs = append(errs, fmt.Errorf("drill: %d postmaster(s) outlived their Patroni and were stopped", left))
	}
	if len(d.procs) > 0 {
		d.progress("stopped %d programs; no postmaster left", len(d.procs))
	}
	return errors.Join(errs...)
}

// getJSON GETs url and decodes its JSON answer into v.
func getJSON(url string, v any) error {
	hc := http.Client{Timeout: 2 * time.Second}
	resp, err := hc.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// httpStatus is the status of GET url, 0 when it did not answer.
func httpStatus(url string) int {
	hc := http.Client{Timeout: 2 * time.Second}
	resp, err := hc.Get(url)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// restStatus is the status a Patroni REST API answers to OPTIONS path, as
// HAProxy's health check asks it.
func restStatus(port int, path string) int {
	hc := http.Client{Timeout: 2 * time.Second}
	req, _ := http.NewRequest(http.MethodOptions, "http://127.0.0.1:"+strconv.Itoa(port)+path, nil)
	resp, err := hc.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

package drill

import (
	"context"
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
)

// proc is one program the drill started: its own process group, its
// output in DIR/logs/NAME.log and its pid in DIR/pids/NAME.pid, so that
// scripts/drill/failover.sh can end it even when the drill itself died.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when it exited
	err  error         // how it exited, once done is closed
}

// account is the user a program runs as: PostgreSQL (and so Patroni)
// refuses to run as root.
type account struct {
	cred     *syscall.Credential // nil: as ourselves
	uid, gid int
	home     string
}

// postgresAccount is the postgres user when we are root, else ourselves.
func postgresAccount() (account, error) {
	if os.Geteuid() != 0 {
		return account{uid: os.Geteuid(), gid: os.Getegid(), home: os.Getenv("HOME")}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return account{}, fmt.Errorf("drill: no postgres user (install postgresql-15): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return account{cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, uid: uid, gid: gid, home: u.HomeDir}, nil
}

// start runs bin with args in the run folder as acct (nil: ourselves).
func (d *Drill) start(name string, acct *account, env []string, bin string, args ...string) (*proc, error) {
	logf, err := os.OpenFile(filepath.Join(d.cfg.Dir, "logs", name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("drill: %w", err)
	}
	defer logf.Close() // the child holds its own copy
	cmd := exec.Command(bin, args...)
	cmd.Dir = d.cfg.Dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Env = append([]string{"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LANG=C.UTF-8"}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if acct != nil && acct.cred != nil {
		cmd.SysProcAttr.Credential = acct.cred
		cmd.Env = append(cmd.Env, "HOME="+acct.home, "USER=postgres")
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("drill: start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	if err := os.WriteFile(filepath.Join(d.cfg.Dir, "pids", name+".pid"), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		return nil, fmt.Errorf("drill: %w", err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	d.procs = append(d.procs, p)
	d.progress("started %s (pid %d)", name, cmd.Process.Pid)
	return p, nil
}

// stop sends SIGTERM to the program's process group and waits for it to
// exit; after grace it sends SIGKILL.
func (p *proc) stop(grace time.Duration) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
		return fmt.Errorf("drill: %s did not stop in %s and was killed", p.name, grace)
	case <-time.After(5 * time.Second):
		return fmt.Errorf("drill: %s did not die", p.name)
	}
}

// exited reports how the program ended, or nil while it runs.
func (p *proc) exited() error {
	select {
	case <-p.done:
		if p.err == nil {
			return fmt.Errorf("drill: %s exited", p.name)
		}
		return fmt.Errorf("drill: %s exited: %w", p.name, p.err)
	default:
		return nil
	}
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("drill: free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// postmasterPID reads the pid of the postmaster running on data, from the
// first line of postmaster.pid.
func postmasterPID(data string) (int, error) {
	b, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("drill: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("drill: bad postmaster.pid in %s", data)
	}
	return pid, nil
}

// alive reports whether a process with pid exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// waitFor calls ok every interval until it reports true, an error that is
// final, or timeout passes; what describes the wait in the error.
func waitFor(ctx context.Context, timeout, interval time.Duration, what string, ok func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		done, err := ok()
		if done {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("drill: %s: not within %s: %w", what, timeout, last)
			}
			return fmt.Errorf("drill: %s: not within %s", what, timeout)
		case <-time.After(interval):
		}
	}
}

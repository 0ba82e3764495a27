package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// clockTick is the unit of the CPU times in /proc/PID/stat (USER_HZ, 100
// on every Linux this runs on).
const clockTick = 10 * time.Millisecond

// ClusterCPU is the CPU time (user and system) the PostgreSQL cluster in
// folder dir (pgcluster's: dir/data/postmaster.pid) has used so far: the
// postmaster, every process it runs now (backends, WAL writer,
// checkpointer, autovacuum), and those that ended. The difference of two
// readings is what the database spent in between, whatever else the
// machine was doing: on a shared box a better measure of cost than a rate.
func ClusterCPU(dir string) (time.Duration, error) {
	pidFile, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("bench: cpu: %w", err)
	}
	line, _, _ := bytes.Cut(pidFile, []byte("\n"))
	pm, err := strconv.Atoi(string(bytes.TrimSpace(line)))
	if err != nil {
		return 0, fmt.Errorf("bench: cpu: postmaster.pid: %w", err)
	}
	// the postmaster's own time and that of its children that ended
	f, err := procStat(pm)
	if err != nil {
		return 0, err
	}
	total := f.utime + f.stime + f.cutime + f.cstime
	procs, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return 0, fmt.Errorf("bench: cpu: %w", err)
	}
	for _, p := range procs {
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if err != nil || pid == pm {
			continue
		}
		c, err := procStat(pid)
		if err != nil || c.ppid != pm {
			continue // gone meanwhile, or not the cluster's
		}
		total += c.utime + c.stime
	}
	return time.Duration(total) * clockTick, nil
}

// ProcessCPU is the CPU time (user and system) this process has used.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type stat struct {
	ppid                         int
	utime, stime, cutime, cstime int64
}

// procStat reads the fields of /proc/PID/stat that ClusterCPU needs.
func procStat(pid int) (stat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return stat{}, fmt.Errorf("bench: cpu: %w", err)
	}
	// the command name, in parentheses, may hold spaces: fields follow the last ')'
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, fmt.Errorf("bench: cpu: /proc/%d/stat: no command name", pid)
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state): ppid is field 4, utime..cstime fields 14-17
	if len(f) < 15 {
		return stat{}, fmt.Errorf("bench: cpu: /proc/%d/stat: %d fields", pid, len(f))
	}
	n := func(k int) int64 { v, _ := strconv.ParseInt(string(f[k-3]), 10, 64); return v }
	return stat{ppid: int(n(4)), utime: n(14), stime: n(15), cutime: n(16), cstime: n(17)}, nil
}

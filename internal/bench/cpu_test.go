package bench

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestProcStatParsesItself(t *testing.T) {
	s, err := procStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.ppid != os.Getppid() {
		t.Fatalf("ppid %d, want %d", s.ppid, os.Getppid())
	}
	for i := 0; ProcessCPU() < clockTick && i < 1e9; i++ { // burn at least a tick
	}
	if s, _ = procStat(os.Getpid()); s.utime+s.stime == 0 {
		t.Fatal("no CPU time read for a process that used some")
	}
}

func TestClusterCPUWithoutCluster(t *testing.T) {
	dir := t.TempDir()
	if _, err := ClusterCPU(dir); err == nil {
		t.Fatal("a folder with no postmaster.pid gave a CPU time")
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	// this process standing in for a postmaster: its own time counts
	if err := os.WriteFile(filepath.Join(dir, "data", "postmaster.pid"), []byte(strconv.Itoa(os.Getpid())+"\n/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 0; ProcessCPU() < clockTick && i < 1e9; i++ {
	}
	if d, err := ClusterCPU(dir); err != nil || d <= 0 {
		t.Fatalf("ClusterCPU = %v, %v", d, err)
	}
}

//go:build unix

package main

import "syscall"

// raiseFileLimit raises the soft limit of open files (RLIMIT_NOFILE) to
// the hard limit and returns the limit now in force: every client
// connection is a file. (Go itself raises it at start since 1.19; this
// also reports it, so serve keeps its connections under it.)
func raiseFileLimit() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return 0, err
		}
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return 0, err
		}
	}
	return l.Cur, nil
}

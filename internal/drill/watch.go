package drill

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// watched is when each step of the failover was first seen, in seconds
// after the kill; -1 if not within Config.Timeout.
type watched struct {
	newPrimary string
	failover   float64 // a member other than the old primary runs as the leader
	routed     float64 // HAProxy counts it up, and the old primary down
	rejoin     float64 // the old primary streams from it
	sync       float64 // ... as its synchronous standby
	syncState  string
	notes      []string
}

// watch polls Patroni, HAProxy, the new primary's pg_stat_replication and
// the intake until every step has happened and each instance has answered
// 201 to a request sent after the kill, or Config.Timeout has passed.
func (d *Drill) watch(ctx context.Context, in *intake, old string, killAt time.Time) watched {
	ctx, cancel := context.WithDeadline(ctx, killAt.Add(d.cfg.Timeout))
	defer cancel()
	w := watched{failover: -1, routed: -1, rejoin: -1, sync: -1}
	var mu sync.Mutex
	since := func() float64 { return time.Since(killAt).Seconds() }
	leader := make(chan string, 1)
	var wg sync.WaitGroup
	poll := func(step func() bool) {
		wg.Go(func() {
			for ctx.Err() == nil && !step() {
				_ = sleep(ctx, 100*time.Millisecond)
			}
		})
	}
	poll(func() bool {
		c, err := d.cluster()
		if err != nil {
			return false
		}
		l := c.leader()
		if l == "" || l == old {
			return false
		}
		mu.Lock()
		w.newPrimary, w.failover = l, since()
		mu.Unlock()
		d.progress("%s is the leader", l)
		leader <- l
		return true
	})
	var newPrimary string
	select {
	case newPrimary = <-leader:
	case <-ctx.Done():
	}
	if newPrimary != "" {
		poll(func() bool {
			up, err := d.haproxyUp("postgres")
			if err != nil || !up[newPrimary] || up[old] {
				return false
			}
			mu.Lock()
			w.routed = since()
			mu.Unlock()
			d.progress("HAProxy routes to %s only", newPrimary)
			return true
		})
		poll(func() bool {
			ok, state, err := d.streamingStandby(ctx, old)
			if err != nil || !ok {
				return false
			}
			mu.Lock()
			defer mu.Unlock()
			if w.rejoin < 0 {
				w.rejoin = since()
				d.progress("%s streams from %s (sync_state %s)", old, newPrimary, state)
			}
			if state != "sync" && !d.cfg.Async {
				return false
			}
			w.sync, w.syncState = since(), state
			d.progress("%s is the synchronous standby", old)
			return true
		})
	}
	wg.Go(func() {
		seen := map[string]bool{}
		for ctx.Err() == nil && len(seen) < len(d.instances) {
			t := tallyIntake(in.snapshot(), killAt)
			for name, s := range t.perServer {
				if s.firstAfter >= 0 && !seen[name] {
					seen[name] = true
					d.progress("%s answered 201 again, %.1fs after the kill", name, s.firstAfter)
				}
			}
			_ = sleep(ctx, 100*time.Millisecond)
		}
		if len(seen) < len(d.instances) {
			mu.Lock()
			w.notes = append(w.notes, fmt.Sprintf("only %d of %d instances answered 201 after the kill within %s", len(seen), len(d.instances), d.cfg.Timeout))
			mu.Unlock()
		}
	})
	wg.Wait()
	if w.failover < 0 {
		w.notes = append(w.notes, fmt.Sprintf("no new leader within %s", d.cfg.Timeout))
	}
	if w.rejoin < 0 {
		w.notes = append(w.notes, fmt.Sprintf("%s did not stream from the new primary within %s", old, d.cfg.Timeout))
	} else if w.sync < 0 && !d.cfg.Async {
		w.notes = append(w.notes, fmt.Sprintf("%s did not become the synchronous standby within %s", old, d.cfg.Timeout))
	}
	return w
}

package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// exercise runs the drill on the deployment setUp started.
func (d *Drill) exercise(ctx context.Context) (Result, error) {
	r := Result{Clients: d.cfg.Clients, Streams: d.cfg.Streams, runID: d.runID, rate: d.cfg.Rate,
		WriteGapS: -1, FailoverS: -1, RoutedS: -1, RejoinS: -1, SyncS: -1, Replication: "sync"}
	if d.cfg.Async {
		r.Replication = "async"
	}
	token, err := d.login(ctx)
	if err != nil {
		return r, err
	}
	in := &intake{url: d.webURL(), token: token, runID: d.runID}
	var since0 int64
	if err := d.withDB(ctx, func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, `SELECT ST_X(location), ST_Y(location) FROM households ORDER BY id`)
		if err != nil {
			return err
		}
		if in.pts, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]float64, error) {
			var p [2]float64
			err := r.Scan(&p[0], &p[1])
			return p, err
		}); err != nil {
			return err
		}
		rows, err = conn.Query(ctx, `SELECT code FROM categories c WHERE NOT EXISTS (SELECT 1 FROM categories k WHERE k.parent_id = c.id) ORDER BY code`)
		if err != nil {
			return err
		}
		if in.cats, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		return conn.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM events`).Scan(&since0)
	}); err != nil {
		return r, err
	}
	if len(in.pts) == 0 || len(in.cats) == 0 {
		return r, errors.New("drill: the demo has no households or no categories")
	}

	// the live stream: two clients on each instance, the rest through HAProxy
	sctx, stopStreams := context.WithCancel(ctx)
	defer stopStreams()
	var swg sync.WaitGroup
	var streams []*stream
	for i := range d.cfg.Streams {
		name, base := "haproxy", fmt.Sprintf("ws://127.0.0.1:%d", d.webPort)
		if i%3 < len(d.instances) {
			in := d.instances[i%3]
			name, base = in.Name, fmt.Sprintf("ws://127.0.0.1:%d", in.Port)
		}
		s := newStream(fmt.Sprintf("%s#%d", name, i/3+1), base, token, since0)
		streams = append(streams, s)
		swg.Go(func() { s.run(sctx) })
	}
	for _, s := range streams {
		select {
		case <-s.connected:
		case <-time.After(30 * time.Second):
			return r, fmt.Errorf("drill: websocket client %s did not connect: %s", s.name, s.lastDialError())
		}
	}
	d.progress("%d websocket clients on the live stream since seq %d", len(streams), since0)

	// the intake
	load, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	hard, stopHard := context.WithCancel(ctx)
	defer stopHard()
	every := time.Duration(float64(d.cfg.Clients) / d.cfg.Rate * float64(time.Second))
	var lwg sync.WaitGroup
	for k := range d.cfg.Clients {
		lwg.Go(func() { in.client(load, hard, k+1, every) })
	}
	d.progress("%d intake clients posting %.0f clues/s through HAProxy", d.cfg.Clients, d.cfg.Rate)
	if err := sleep(ctx, d.cfg.Warmup); err != nil {
		return r, err
	}
	before := tallyIntake(in.snapshot(), time.Time{})
	d.progress("warm-up: %d clues acked, answers %v", len(before.ackedBy), before.status)

	// kill -9 the primary's postmaster
	view, err := d.cluster()
	if err != nil {
		return r, err
	}
	r.oldPrimary = view.leader()
	old := d.member(r.oldPrimary)
	if old == nil {
		return r, fmt.Errorf("drill: no leader to kill: %+v", view)
	}
	pid, err := postmasterPID(old.Dir + "/data")
	if err != nil {
		return r, err
	}
	r.killedPID = pid
	killAt := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return r, fmt.Errorf("drill: kill -9 %d: %w", pid, err)
	}
	d.progress("kill -9 %d: the postmaster of %s, the primary", pid, r.oldPrimary)

	// watch the failover, the first writes and the rejoin, each in a
	// goroutine of its own so that one slow probe does not delay another
	w := d.watch(ctx, in, r.oldPrimary, killAt)
	r.newPrimary, r.FailoverS, r.RoutedS, r.RejoinS, r.SyncS, r.syncState = w.newPrimary, w.failover, w.routed, w.rejoin, w.sync, w.syncState
	r.Notes = append(r.Notes, w.notes...)
	if alive(pid) {
		r.Notes = append(r.Notes, fmt.Sprintf("the killed postmaster %d is still alive", pid))
	}
	if err := sleep(ctx, d.cfg.After); err != nil {
		return r, err
	}

	// stop the load: each client finishes the clue it is on (30 s at most)
	stopLoad()
	done := make(chan struct{})
	go func() { lwg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		stopHard()
		<-done
	}
	d.progress("load stopped")

	// let the streams catch up with the last committed seq
	var end int64
	if err := d.withDB(ctx, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM events`).Scan(&end)
	}); err != nil {
		return r, err
	}
	_ = waitFor(ctx, 60*time.Second, 200*time.Millisecond, "streams caught up", func() (bool, error) {
		for _, s := range streams {
			if _, last, _, _ := s.state(); last < end {
				return false, nil
			}
		}
		return true, nil
	})
	stopStreams()
	swg.Wait()
	d.progress("streams stopped at seq %d", end)

	// what the database holds
	t := tallyIntake(in.snapshot(), killAt)
	stored := map[string]int{}
	var clueIDs []int64
	dupEvents := 0
	var committed []event
	if err := d.withDB(ctx, func(conn *pgx.Conn) error {
		stored, clueIDs, dupEvents, committed = map[string]int{}, nil, 0, nil
		rows, err := conn.Query(ctx, `SELECT external_id, id FROM clues WHERE source = 'hotline' AND starts_with(external_id, $1)`, "drill-"+d.runID+"-")
		if err != nil {
			return err
		}
		for rows.Next() {
			var ext string
			var id int64
			if err := rows.Scan(&ext, &id); err != nil {
				return err
			}
			stored[ext]++
			clueIDs = append(clueIDs, id)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if err := conn.QueryRow(ctx, `SELECT coalesce(sum(n - 1), 0) FROM (
			SELECT count(*) AS n FROM events WHERE kind = 'clue.received' AND (payload->'clue'->>'id')::bigint = ANY($1) GROUP BY payload->'clue'->>'id') x`,
			clueIDs).Scan(&dupEvents); err != nil {
			return err
		}
		rows, err = conn.Query(ctx, `SELECT seq, kind, at FROM events WHERE seq > $1 AND seq <= $2 ORDER BY seq`, since0, end)
		if err != nil {
			return err
		}
		committed, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (event, error) {
			var e event
			err := r.Scan(&e.Seq, &e.Kind, &e.At)
			return e, err
		})
		return err
	}); err != nil {
		return r, err
	}
	r.storedPrimary = len(clueIDs)
	r.storedStandby = d.standbyCount(ctx, old, len(clueIDs))

	r.Requests, r.Status, r.perServer = t.requests, t.status, t.perServer
	for _, st := range t.ackedBy {
		r.Acked++
		if st == http.StatusCreated {
			r.Acked201++
		} else {
			r.Acked200++
		}
	}
	r.Unacked = len(t.begun) - len(t.ackedBy)
	missing := lost(t.ackedBy, stored)
	r.Lost = len(missing)
	if len(missing) > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("lost, e.g. %v", missing[:min(5, len(missing))]))
	}
	r.rows = len(clueIDs)
	r.dupRows = len(clueIDs) - len(stored)
	r.extra201 = t.extra201()
	r.dupEvents = dupEvents
	r.Duplicates = r.dupRows + r.extra201 + r.dupEvents
	if t.writeGap >= 0 {
		r.WriteGapS = t.writeGap
	}
	for _, s := range streams {
		seqs, _, connects, closes := s.state()
		st := tallyStream(s.name, since0, end, committed, seqs)
		st.connects, st.closes = connects, closes
		r.streams = append(r.streams, st)
		r.WSMissing += st.missing
		r.WSDuplicate += st.duplicate
		r.WSPhantom += st.phantom
		r.WSDisorder += st.disorder
	}
	for _, v := range []*float64{&r.WriteGapS, &r.FailoverS, &r.RoutedS, &r.RejoinS, &r.SyncS} {
		if *v >= 0 {
			*v = math.Round(*v*100) / 100
		}
	}
	r.Targets = true
	for _, tg := range r.targets() {
		r.Targets = r.Targets && tg.ok
	}
	return r, nil
}

// login logs in as the command center through HAProxy.
func (d *Drill) login(ctx context.Context) (string, error) {
	var token string
	err := waitFor(ctx, 30*time.Second, 500*time.Millisecond, "login", func() (bool, error) {
		body, _ := json.Marshal(map[string]string{"username": "command", "password": "demo"})
		hc := http.Client{Timeout: 5 * time.Second}
		resp, err := hc.Post(d.webURL()+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		var out struct{ Token string }
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
			return false, fmt.Errorf("login answered %s", resp.Status)
		}
		token = out.Token
		return true, nil
	})
	return token, err
}

// withDB runs f on a superuser connection to the primary's whistlegrid
// database, through HAProxy, trying again for 60 s while it fails.
func (d *Drill) withDB(ctx context.Context, f func(*pgx.Conn) error) error {
	return waitFor(ctx, 60*time.Second, 500*time.Millisecond, "database query", func() (bool, error) {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(cctx, d.superURL("whistlegrid"))
		if err != nil {
			return false, err
		}
		defer conn.Close(context.Background())
		var standby bool
		if err := conn.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&standby); err != nil || standby {
			return false, fmt.Errorf("not the primary (%v)", err)
		}
		if err := f(conn); err != nil {
			return false, err
		}
		return true, nil
	})
}

// standbyCount is the number of the drill's clues on member m (now a
// standby), read on m itself once it has replayed want rows or 10 s passed.
func (d *Drill) standbyCount(ctx context.Context, m *member, want int) int {
	n := -1
	_ = waitFor(ctx, 10*time.Second, 250*time.Millisecond, "standby replay", func() (bool, error) {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		conn, err := pgx.Connect(cctx, fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/whistlegrid?sslmode=disable", d.super, m.PgPort))
		if err != nil {
			return false, err
		}
		defer conn.Close(context.Background())
		if err := conn.QueryRow(cctx, `SELECT count(*) FROM clues WHERE source = 'hotline' AND starts_with(external_id, $1)`, "drill-"+d.runID+"-").Scan(&n); err != nil {
			return false, err
		}
		return n >= want, nil
	})
	return n
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"whistlegrid/hotspot"
	"whistlegrid/internal/testenv"
)

// TestHotspotsBoundsPerRole: each role asks the resolutions and radii its
// maps may cost (hotspot.BoundsFor); beyond them 422 naming the parameter
// and the allowed range, and no analysis runs.
func TestHotspotsBoundsPerRole(t *testing.T) {
	env := testenv.Start(t)
	var unit string
	if err := env.Pool.QueryRow(context.Background(), `SELECT code FROM units ORDER BY code LIMIT 1`).Scan(&unit); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user, query string
		status      int
		field, rng  string // the parameter refused and the range the message gives
	}{
		{"command", "res=6", 422, "res", "7..10"},
		{"command", "res=11", 422, "res", "7..10"},
		{"command", "k=4", 422, "k", "1..3"},
		{"t110119101", "res=10&k=3", 422, "k", "1..2"},
		{"t110119101", "res=10&k=2", 200, "", ""}, // its own township at the finest
		{"screen", "res=10", 422, "res", "7..9"},
		{"screen", "k=3", 422, "k", "1..2"},
		{"screen", "res=9&k=2", 200, "", ""},
		{"u" + unit, "res=10", 422, "res", "7..9"},
		{"u" + unit, "k=2", 422, "k", "1..1"},
		{"u" + unit, "res=8", 200, "", ""},
	}
	tokens := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.user+" "+tt.query, func(t *testing.T) {
			if tokens[tt.user] == "" {
				tokens[tt.user] = env.Login(t, tt.user)
			}
			before := env.Hotspots.Analyses()
			status, body := env.Do(t, "GET", "/api/v1/hotspots?"+tt.query, tokens[tt.user], nil)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			ran := env.Hotspots.Analyses() - before
			if tt.status != 200 {
				e := decode[struct {
					Error struct{ Code, Message, Field string }
				}](t, body)
				if e.Error.Field != tt.field || !strings.Contains(e.Error.Message, tt.rng) {
					t.Errorf("error %+v, want one naming %s and the range %s", e.Error, tt.field, tt.rng)
				}
				if ran != 0 {
					t.Errorf("a refused query ran %d analyses", ran)
				}
			} else if ran != 1 {
				t.Errorf("%d analyses, want 1", ran)
			}
		})
	}
}

// TestHotspotsShareIdenticalAnalyses: the six identical requests
// of the wall screen at once run one analysis; the others answer with its
// map, marked shared.
func TestHotspotsShareIdenticalAnalyses(t *testing.T) {
	env := testenv.Start(t)
	p := testenv.PlantHotspot(t, env.Pool)
	screen := env.Login(t, "screen")
	q := hotspotQuery(p, "res=9&k=2")
	before := env.Hotspots.Analyses()
	const n = 6
	bodies := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			status, body := env.Do(t, "GET", q, screen, nil)
			if status != 200 {
				t.Errorf("request %d: status %d: %s", i, status, body)
			}
			bodies[i] = body
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if ran := env.Hotspots.Analyses() - before; ran != 1 {
		t.Errorf("%d identical requests ran %d analyses, want 1", n, ran)
	}
	shared := 0
	var first hotspotFC
	for i, b := range bodies {
		m := decode[struct {
			hotspotFC
			Shared bool `json:"shared"`
		}](t, b)
		if m.Shared {
			shared++
		}
		if i == 0 {
			first = m.hotspotFC
		} else if len(m.Features) != len(first.Features) || m.Cells != first.Cells || m.Clues != first.Clues || !m.Window.To.Equal(first.Window.To) {
			t.Errorf("answer %d differs from the first: %d features, %d cells, %d clues", i, len(m.Features), m.Cells, m.Clues)
		}
	}
	if shared != n-1 {
		t.Errorf("%d answers marked shared, want %d", shared, n-1)
	}
	// another jurisdiction does not share the screen's map
	before = env.Hotspots.Analyses()
	if status, body := env.Do(t, "GET", q+"&township="+p.Township, env.Login(t, "t"+p.Township), nil); status != 200 {
		t.Fatalf("township: %d %s", status, body)
	}
	if ran := env.Hotspots.Analyses() - before; ran != 1 {
		t.Errorf("the township's query ran %d analyses, want its own", ran)
	}
}

// TestHotspotsLimitConcurrentAnalyses holds the analyses in flight with a
// lock on the clues table (their last read): beyond
// hotspot.DefaultMaxAnalyses at once the next is 429 with Retry-After;
// callers that go away stop their analyses, which frees the places.
func TestHotspotsLimitConcurrentAnalyses(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	screen := env.Login(t, "screen")

	lock, err := pgx.Connect(ctx, env.Pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close(ctx)
	tx, err := lock.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// one lock on one table, taken before anything else: the live hub
	// waits for it like the analyses, and nothing waits in a cycle
	if _, err := tx.Exec(ctx, `LOCK TABLE clues IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	waiting := func() int {
		var n int
		if err := env.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%ST_X(c.location)%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	until := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}

	// DefaultMaxAnalyses different analyses, held at their read of the clues
	type call struct {
		cancel context.CancelFunc
		err    chan error
	}
	var calls []call
	for i := range hotspot.DefaultMaxAnalyses {
		rctx, cancel := context.WithCancel(ctx)
		c := call{cancel, make(chan error, 1)}
		calls = append(calls, c)
		req, _ := http.NewRequestWithContext(rctx, "GET", env.URL+"/api/v1/hotspots?res="+strconv.Itoa(7+i), nil)
		req.Header.Set("Authorization", "Bearer "+screen)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				err = fmt.Errorf("answered %d", resp.StatusCode)
			}
			c.err <- err
		}()
	}
	until(fmt.Sprintf("%d analyses to wait for the clues", hotspot.DefaultMaxAnalyses), func() bool { return waiting() == hotspot.DefaultMaxAnalyses })

	// one more is refused at once
	req, _ := http.NewRequest("GET", env.URL+"/api/v1/hotspots?res=9", nil)
	req.Header.Set("Authorization", "Bearer "+screen)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req) // queued instead of refused: a timeout
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	e := decode[struct {
		Error struct{ Code, Message string }
	}](t, body)
	retry, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	if resp.StatusCode != http.StatusTooManyRequests || retry < 1 || e.Error.Code != "too_many_requests" || e.Error.Message == "" {
		t.Fatalf("beyond the limit: %d, Retry-After %q, %s; want 429 with Retry-After and a reason", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}

	// the callers go away: their analyses stop, in the database too, while
	// the lock still holds
	for _, c := range calls {
		c.cancel()
		if err := <-c.err; err == nil || !strings.Contains(err.Error(), "context canceled") {
			t.Errorf("a cancelled request: %v", err)
		}
	}
	until("the cancelled analyses to leave the database", func() bool { return waiting() == 0 })
	// and their places are free: a new analysis starts, and waits for the clues
	done := make(chan int, 1)
	go func() {
		status, _ := env.Do(t, "GET", "/api/v1/hotspots?res=9", screen, nil)
		done <- status
	}()
	until("a new analysis to start", func() bool { return waiting() == 1 })
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if status := <-done; status != 200 {
		t.Errorf("after the lock: status %d, want 200", status)
	}
}

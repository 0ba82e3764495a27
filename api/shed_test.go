package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"whistlegrid/api"
	"whistlegrid/internal/dbtest"
	"whistlegrid/internal/testenv"
)

// clueAt is a POST /api/v1/clues body of 占道经营 at lon, lat.
func clueAt(id string, lon, lat float64) io.Reader {
	b, _ := json.Marshal(map[string]any{
		"source": "patrol", "external_id": id, "category": "CM.01.03", "text": "门口摆摊占道",
		"lon": lon, "lat": lat, "datum": "wgs84", "reported_at": time.Now().Add(-time.Minute).Format(time.RFC3339),
	})
	return bytes.NewReader(b)
}

// householdPoint is a point inside a household grid of township.
func householdPoint(t *testing.T, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, township string) (float64, float64) {
	t.Helper()
	var lon, lat float64
	if err := q.QueryRow(context.Background(), `
		SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM grids
		WHERE level = 'household' AND code LIKE $1 || '%' ORDER BY code LIMIT 1) s`, township).Scan(&lon, &lat); err != nil {
		t.Fatal(err)
	}
	return lon, lat
}

// gateInUse reads whistlegrid_http_gate_in_use of class from the metrics.
func gateInUse(s *api.Server, class string) string {
	rec := httptest.NewRecorder()
	s.Metrics().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	prefix := `whistlegrid_http_gate_in_use{class="` + class + `"} `
	for _, l := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(l, prefix) {
			return strings.TrimPrefix(l, prefix)
		}
	}
	return ""
}

// TestHeavyReadsAreShed fills the one heavy slot with a grid history
// that waits on a locked table: another heavy read is answered 503 with
// Retry-After at once, while /place and intake still answer; the held
// read ends at its deadline with 503, and frees its slot.
func TestHeavyReadsAreShed(t *testing.T) {
	const deadline = 4 * time.Second
	s := startEdge(t, api.Config{Limits: api.Limits{Heavy: api.Gate{Slots: 1, Queue: -1}, RequestTimeout: deadline}}, true, false)
	ctx := context.Background()
	tok := loginAt(t, s.url, "t110119101")
	lon, lat := householdPoint(t, s.pool, "110119101")

	tx, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `LOCK TABLE grid_versions IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	type result struct {
		status     int
		retryAfter string
		body       string
		took       time.Duration
		err        error
	}
	held := make(chan result, 1)
	go func() {
		start := time.Now()
		req, _ := http.NewRequest("GET", s.url+"/api/v1/grids/110119101/history", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			held <- result{err: err}
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		held <- result{status: res.StatusCode, retryAfter: res.Header.Get("Retry-After"), body: string(b), took: time.Since(start)}
	}()
	for end := time.Now().Add(5 * time.Second); gateInUse(s.api, "heavy") != "1"; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("the grid history never took the heavy slot (in use: %q)", gateInUse(s.api, "heavy"))
		}
	}

	start := time.Now()
	res, b := do(t, "GET", s.url+"/api/v1/clues?limit=1", tok, nil)
	if took := time.Since(start); res.StatusCode != http.StatusServiceUnavailable || took > 2500*time.Millisecond {
		t.Fatalf("a heavy read with the slot full: %d after %s, want 503 at once: %s", res.StatusCode, took, b)
	}
	if res.Header.Get("Retry-After") != "1" || errorCode(b) != "unavailable" || !strings.Contains(string(b), "busy") {
		t.Errorf("shed answer: Retry-After %q, %s", res.Header.Get("Retry-After"), b)
	}
	if res, b := do(t, "GET", fmt.Sprintf("%s/api/v1/place?lon=%f&lat=%f", s.url, lon, lat), tok, nil); res.StatusCode != http.StatusOK {
		t.Errorf("/place while heavy reads are full: %d %s", res.StatusCode, b)
	}
	if res, b := do(t, "POST", s.url+"/api/v1/clues", tok, clueAt("shed-1", lon, lat), "Content-Type", "application/json"); res.StatusCode != http.StatusCreated {
		t.Errorf("intake while heavy reads are full: %d %s", res.StatusCode, b)
	}

	r := <-held
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.status != http.StatusServiceUnavailable || r.retryAfter == "" || !strings.Contains(r.body, "deadline") {
		t.Errorf("the held read: %d, Retry-After %q, %s; want 503 past its deadline", r.status, r.retryAfter, r.body)
	}
	if r.took < deadline-500*time.Millisecond || r.took > deadline+5*time.Second {
		t.Errorf("the held read ended after %s, want about its %s deadline", r.took, deadline)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if res, b := do(t, "GET", s.url+"/api/v1/grids/110119101/history", tok, nil); res.StatusCode != http.StatusOK {
		t.Errorf("history once the slot is free: %d %s", res.StatusCode, b)
	}
}

// TestDatabaseDownIs503 closes the test's database to connections and
// ends its sessions: intake and reads answer 503 with Retry-After and say
// the database is unavailable, never 500; once it is back, intake
// works again.
func TestDatabaseDownIs503(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	tok := env.Login(t, "t110119101")
	lon, lat := householdPoint(t, env.Pool, "110119101")
	db := env.Pool.Config().ConnConfig.Database
	cl, err := dbtest.Cluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, cl.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close(ctx) })
	setAllow := func(allow bool) {
		t.Helper()
		if _, err := admin.Exec(ctx, fmt.Sprintf(`ALTER DATABASE %s ALLOW_CONNECTIONS %t`, pgx.Identifier{db}.Sanitize(), allow)); err != nil {
			t.Error(err)
		}
	}
	setAllow(false)
	t.Cleanup(func() { setAllow(true) }) // before admin closes
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, db); err != nil {
		t.Fatal(err)
	}

	for i, req := range []struct {
		method, path string
		body         io.Reader
	}{
		{"POST", "/api/v1/clues", clueAt("down-1", lon, lat)},
		{"POST", "/api/v1/clues", clueAt("down-2", lon, lat)},
		{"GET", "/api/v1/whistles", nil},
		{"GET", "/api/v1/grids/110119101", nil},
	} {
		if i == 2 {
			time.Sleep(1100 * time.Millisecond) // past the token cache: the token check asks the database too
		}
		res, b := do(t, req.method, env.URL+req.path, tok, req.body, "Content-Type", "application/json")
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" ||
			errorCode(b) != "unavailable" || !strings.Contains(string(b), "database is unavailable") {
			t.Errorf("%s %s with the database down: %d, Retry-After %q: %s", req.method, req.path, res.StatusCode, res.Header.Get("Retry-After"), b)
		}
	}
	if res, _ := do(t, "GET", env.URL+"/healthz", "", nil); res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("healthz with the database down: %d", res.StatusCode)
	}

	setAllow(true)
	res, b := do(t, "POST", env.URL+"/api/v1/clues", tok, clueAt("down-3", lon, lat), "Content-Type", "application/json")
	if res.StatusCode != http.StatusCreated {
		t.Errorf("intake once the database is back: %d %s", res.StatusCode, b)
	}
}

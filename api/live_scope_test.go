package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/api"
	"whistlegrid/auth"
	"whistlegrid/grid"
	"whistlegrid/internal/testenv"
	"whistlegrid/live"
)

// withPlacer gives an instance a placement index, so that it takes clues.
func withPlacer(t *testing.T, pool *pgxpool.Pool) func(*api.Config) {
	t.Helper()
	p, err := grid.NewPlacer(context.Background(), pool, grid.IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return func(c *api.Config) { c.Placer = p }
}

// send sends method path with a bearer token and a JSON body (nil for none).
func (in *instance) send(t *testing.T, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var r *strings.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = strings.NewReader(string(b))
	} else {
		r = strings.NewReader("")
	}
	req, _ := http.NewRequest(method, in.URL+path, r)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestLiveShowsReportersAsREST is issue 12, point 5: a clue's reporter
// reaches every role on the stream (clue.received) exactly as GET /clues
// shows it to that role, both from access.Scope.SeesReporter; a party
// member sees 136****1111 in both.
func TestLiveShowsReportersAsREST(t *testing.T) {
	pool := testenv.DemoDB(t)
	p := places(t, pool)
	in := startInstance(t, pool, live.Options{}, withPlacer(t, pool))
	var lon, lat float64
	if err := pool.QueryRow(context.Background(), `SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM grids WHERE code = $1`,
		p.House).Scan(&lon, &lat); err != nil {
		t.Fatal(err)
	}
	users := []string{"callback", "command", "screen", "t" + p.TownA, "w" + p.Village, "p" + p.House}
	toks := make([]string, len(users))
	conns := make([]*wsClient, len(users))
	for i, u := range users {
		toks[i] = in.login(t, u)
		conns[i] = in.dial(t, toks[i], "kinds=clue.received")
	}
	status, body := in.send(t, "POST", "/api/v1/clues", toks[0], map[string]any{
		"source": "app", "external_id": "live-mask-1", "category": "CM.01.03", "text": "占道",
		"lon": lon, "lat": lat, "datum": "wgs84", "reported_at": time.Now().Format(time.RFC3339),
		"reporter": map[string]string{"name": "李大伟", "phone": "13611111111"},
	})
	if status != 201 {
		t.Fatalf("clue: %d %s", status, body)
	}
	for i, u := range users {
		t.Run(u, func(t *testing.T) {
			f := conns[i].next(t)
			clue, _ := f.Data["clue"].(map[string]any)
			stream := clue["reporter_name"].(string) + " " + clue["reporter_phone"].(string)
			status, _, b := in.get(t, "/api/v1/clues?source=app", toks[i])
			if status != 200 {
				t.Fatalf("GET /clues: %d %s", status, b)
			}
			var l struct {
				Clues []struct{ Reporter struct{ Name, Phone string } }
			}
			if err := json.Unmarshal(b, &l); err != nil || len(l.Clues) != 1 {
				t.Fatalf("GET /clues: %s", b)
			}
			rest := l.Clues[0].Reporter.Name + " " + l.Clues[0].Reporter.Phone
			if stream != rest {
				t.Errorf("stream shows %q, REST %q", stream, rest)
			}
			// the command center's accounts other than its callback desk see reporters masked (issue 16 §4)
			if masked := strings.Contains(rest, "*"); masked != (u == "screen" || u == "command" || u[0] == 'p') {
				t.Errorf("reporter %q for %s", rest, u)
			}
			if u[0] == 'p' && rest != "李** 136****1111" {
				t.Errorf("party member sees %q, want 李** 136****1111", rest)
			}
		})
	}
}

// TestLiveMasksReportersOfOtherVillages is issue 12, point 6 on the
// stream: a whistle of the grid worker's village carrying a clue of
// another village shows that clue's reporter masked, and its own
// village's clue unmasked.
func TestLiveMasksReportersOfOtherVillages(t *testing.T) {
	pool := testenv.DemoDB(t)
	p := places(t, pool)
	var elsewhere string
	if err := pool.QueryRow(context.Background(), `SELECT h.code FROM grids h JOIN grids v ON v.id = h.parent_id
		WHERE h.level = 'household' AND v.code LIKE $1 || '%' AND v.code <> $2 ORDER BY h.code LIMIT 1`, p.TownA, p.Village).Scan(&elsewhere); err != nil {
		t.Fatal(err)
	}
	w := insertWhistle(t, pool, whistleRow{Township: p.TownA, Grid: p.House})
	in := startInstance(t, pool, live.Options{})
	ws := in.dial(t, in.login(t, "w"+p.Village), "")
	for _, tt := range []struct{ grid, want string }{
		{elsewhere, "李** 136****1111"},
		{p.House2, "李大伟 13611111111"},
	} {
		payload := map[string]any{
			"whistle_id": w,
			"whistle":    map[string]any{"id": w, "grid": p.House, "township": p.TownA},
			"clue":       map[string]any{"id": 0, "grid": tt.grid, "reporter_name": "李大伟", "reporter_phone": "13611111111"},
		}
		seq := insertEvent(t, pool, "clue.received", p.TownA, payload)
		f := ws.next(t)
		if f.Seq != seq {
			t.Fatalf("frame %d, want %d", f.Seq, seq)
		}
		clue := f.Data["clue"].(map[string]any)
		if got := clue["reporter_name"].(string) + " " + clue["reporter_phone"].(string); got != tt.want {
			t.Errorf("clue of %s: reporter %q, want %q", tt.grid, got, tt.want)
		}
	}
}

// TestLiveClosesOnLogoutOnEveryInstance is issue 12, point 7: a stream
// opened on instance B is closed with 4001 when its token is logged out
// through instance A (they share only the database), well before the
// periodic check (30 s by default) could have done it; another client on
// B stays.
func TestLiveClosesOnLogoutOnEveryInstance(t *testing.T) {
	dbURL := testenv.DemoURL(t)
	open := func() *pgxpool.Pool {
		pool, err := pgxpool.New(context.Background(), dbURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		return pool
	}
	a := startInstance(t, open(), live.Options{})
	b := startInstance(t, open(), live.Options{TokenCheck: time.Hour})
	tok := a.login(t, "command")
	onB := b.dial(t, tok, "")
	other := b.dial(t, b.login(t, "command"), "")
	start := time.Now()
	if status, body := a.send(t, "POST", "/api/v1/auth/logout", tok, nil); status != 204 {
		t.Fatalf("logout: %d %s", status, body)
	}
	code, reason, _ := onB.closed(t)
	if code != live.CloseRevoked {
		t.Fatalf("closed with %d %q, want 4001", code, reason)
	}
	t.Logf("closed %v after the logout", time.Since(start))
	seq := insertEvent(t, b.pool, "whistle.raised", "110119101", map[string]any{"n": 1})
	if f := other.next(t); f.Seq != seq {
		t.Errorf("the other client got seq %d, want %d", f.Seq, seq)
	}
	if m := string(b.metrics()); !strings.Contains(m, `whistlegrid_live_dropped_clients_total{reason="revoked"} 1`) {
		t.Errorf("metrics do not count the revocation:\n%s", grepLines(m, "dropped"))
	}
}

// TestLiveClosesExpiredToken: the periodic check (Options.TokenCheck) cuts
// a stream whose token expired, which no notification announces, and
// leaves a valid one.
func TestLiveClosesExpiredToken(t *testing.T) {
	pool := testenv.DemoDB(t)
	in := startInstance(t, pool, live.Options{TokenCheck: 50 * time.Millisecond})
	tok := in.login(t, "screen")
	ws := in.dial(t, tok, "")
	other := in.dial(t, in.login(t, "screen"), "")
	sum := sha256Of(tok)
	if tag, err := pool.Exec(context.Background(), `UPDATE tokens SET created_at = now() - interval '2 seconds', expires_at = now() - interval '1 second' WHERE token_hash = $1`, sum); err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("expire the token: %v", err)
	}
	if code, reason, _ := ws.closed(t); code != live.CloseRevoked {
		t.Fatalf("closed with %d %q, want 4001", code, reason)
	}
	seq := insertEvent(t, pool, "whistle.raised", "110119101", map[string]any{"n": 1})
	if f := other.next(t); f.Seq != seq {
		t.Errorf("the valid client got seq %d, want %d", f.Seq, seq)
	}
}

func sha256Of(s string) []byte {
	h := auth.TokenHash(s)
	return h[:]
}

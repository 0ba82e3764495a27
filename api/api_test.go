package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/api"
	"whistlegrid/internal/testenv"
)

type featureCollection struct {
	Type     string `json:"type"`
	Features []struct {
		Type       string          `json:"type"`
		ID         string          `json:"id"`
		Geometry   json.RawMessage `json:"geometry"`
		Properties struct {
			Code       string  `json:"code"`
			Name       string  `json:"name"`
			Level      string  `json:"level"`
			Kind       string  `json:"kind"`
			ParentCode *string `json:"parent_code"`
		} `json:"properties"`
	} `json:"features"`
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, b)
	}
	return v
}

// TestEveryAPIRouteNeedsAToken walks every /api route the router has (so a
// new route is checked the day it is added) and requires 401 without a
// token and with a bad one. The routes listed here must all be among them:
// a route registered outside New, or lost, fails the test.
func TestEveryAPIRouteNeedsAToken(t *testing.T) {
	t.Parallel() // its own database
	env := testenv.Start(t)
	srv := api.New(api.Config{Pool: env.Pool, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	// the API reference (page and document) and the public board are public
	public := map[string]bool{"POST /api/v1/auth/login": true, "GET /api/v1/openapi.json": true, "GET /api/docs": true,
		"POST /api/v1/board/messages": true, "GET /api/v1/board/messages": true, "GET /api/v1/board/receipts/:receipt": true, "GET /api/v1/board/categories": true}
	want := []string{
		"POST /api/v1/auth/logout", "GET /api/v1/auth/me",
		"GET /api/v1/grids", "GET /api/v1/grids/:code", "PUT /api/v1/grids/:code", "GET /api/v1/grids/:code/history",
		"GET /api/v1/units", "GET /api/v1/categories", "GET /api/v1/place", "POST /api/v1/place",
		"POST /api/v1/clues", "GET /api/v1/clues",
		"POST /api/v1/whistles", "GET /api/v1/whistles", "GET /api/v1/whistles/:id", "POST /api/v1/whistles/:id/:step",
		"GET /api/v1/whistles/:id/actions", "GET /api/v1/work/counts", "GET /api/v1/work/:tab",
		"GET /api/v1/villages/:code/contact-map", "GET /api/v1/coverage",
		"GET /api/v1/stats", "GET /api/v1/stats/clues", "GET /api/v1/assessment",
		"GET /api/v1/hotspots", "POST /api/v1/hotspots/scan",
		"GET /api/v1/live", "GET /api/v1/snapshot",
		"GET /api/v1/clues/mine", "POST /api/v1/attachments", "GET /api/v1/attachments/:id", "GET /api/v1/attachments/:id/thumb",
		"GET /api/v1/ledger", "POST /api/v1/ledger", "GET /api/v1/ledger/review", "GET /api/v1/ledger/:id", "PATCH /api/v1/ledger/:id",
		"POST /api/v1/ledger/:id/progress", "POST /api/v1/ledger/:id/writeoff", "POST /api/v1/ledger/:id/review",
		"GET /api/v1/board/screening", "POST /api/v1/board/messages/:id/accept", "POST /api/v1/board/messages/:id/reject",
		"POST /api/v1/board/messages/:id/reply",
	}
	walked := map[string]bool{}
	for _, r := range srv.Routes() {
		key := r.Method + " " + r.Path
		if !strings.HasPrefix(r.Path, "/api/") || public[key] {
			continue
		}
		walked[key] = true
		path := strings.NewReplacer(":code", "110119101", ":id", "1", ":step", "report-in", ":tab", "open").Replace(r.Path)
		for _, tok := range []string{"", "not-a-token"} {
			status, body := env.Do(t, r.Method, path, tok, nil)
			if status != http.StatusUnauthorized {
				t.Errorf("%s %s with token %q: status %d, want 401", r.Method, path, tok, status)
			}
			e := decode[map[string]map[string]string](t, body)
			if e["error"]["code"] != "unauthorized" || e["error"]["message"] == "" {
				t.Errorf("%s %s: error body %s", r.Method, path, body)
			}
		}
	}
	for _, k := range want {
		if !walked[k] {
			t.Errorf("route %s is not among the router's protected /api routes", k)
		}
	}
}

func TestLoginLogout(t *testing.T) {
	t.Parallel() // its own database
	env := testenv.Start(t)
	tests := []struct {
		name   string
		body   any
		status int
	}{
		{"wrong password", map[string]string{"username": "command", "password": "nope"}, 401},
		{"unknown user", map[string]string{"username": "nobody", "password": "demo"}, 401},
		{"missing password", map[string]string{"username": "command"}, 422},
		{"not json", "x", 400},
		{"right", map[string]string{"username": "t110119101", "password": "demo"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := env.Do(t, "POST", "/api/v1/auth/login", "", tt.body)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
		})
	}
	_, body := env.Do(t, "POST", "/api/v1/auth/login", "", map[string]string{"username": "t110119101", "password": "demo"})
	login := decode[struct {
		Token string `json:"token"`
		User  struct {
			Username     string            `json:"username"`
			Role         string            `json:"role"`
			Jurisdiction map[string]string `json:"jurisdiction"`
		} `json:"user"`
	}](t, body)
	if login.User.Role != "township" || login.User.Jurisdiction["grid_code"] != "110119101" || login.User.Jurisdiction["grid_name"] != "康庄镇" {
		t.Errorf("user = %+v", login.User)
	}
	var stored []byte
	if err := env.Pool.QueryRow(context.Background(), `SELECT token_hash FROM tokens ORDER BY id DESC LIMIT 1`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(stored), login.Token) || len(stored) != 32 {
		t.Errorf("token stored in the clear or not as a SHA-256")
	}
	if status, _ := env.Do(t, "GET", "/api/v1/auth/me", login.Token, nil); status != 200 {
		t.Fatalf("me: %d", status)
	}
	if status, _ := env.Do(t, "POST", "/api/v1/auth/logout", login.Token, nil); status != 204 {
		t.Fatalf("logout: %d", status)
	}
	if status, _ := env.Do(t, "GET", "/api/v1/auth/me", login.Token, nil); status != 401 {
		t.Fatalf("me after logout: %d, want 401", status)
	}
}

func TestGridsByLevelAndScope(t *testing.T) {
	t.Parallel() // its own database
	env := testenv.Start(t)
	command := env.Login(t, "command")
	tests := []struct {
		name, user, query string
		want              int
		allPrefix         string
	}{
		{"townships", "command", "level=township", 18, "110119"},
		{"villages", "command", "level=village", 431, "110119"},
		{"district", "screen", "level=district", 1, "110119"},
		{"康庄镇 zones", "command", "level=zone&parent=110119101", -1, "110119101P"},
		{"township sees its own villages only", "t110119101", "level=village", 34, "110119101"},
		{"township sees no other township", "t110119101", "level=township", 1, "110119101"},
		{"bbox", "command", "level=township&bbox=115.95,40.44,115.96,40.45", -1, "110119"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := command
			if tt.user != "command" {
				tok = env.Login(t, tt.user)
			}
			status, body := env.Do(t, "GET", "/api/v1/grids?"+tt.query, tok, nil)
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			fc := decode[featureCollection](t, body)
			if fc.Type != "FeatureCollection" {
				t.Errorf("type %q", fc.Type)
			}
			if tt.want >= 0 && len(fc.Features) != tt.want {
				t.Errorf("%d features, want %d", len(fc.Features), tt.want)
			}
			if tt.want < 0 && len(fc.Features) == 0 {
				t.Errorf("no features")
			}
			for _, f := range fc.Features {
				if !strings.HasPrefix(f.Properties.Code, tt.allPrefix) || f.ID != f.Properties.Code {
					t.Errorf("feature %s outside %s", f.Properties.Code, tt.allPrefix)
				}
				var g struct {
					Type        string `json:"type"`
					Coordinates [][][][2]float64
				}
				if err := json.Unmarshal(f.Geometry, &g); err != nil || g.Type != "MultiPolygon" || len(g.Coordinates) == 0 {
					t.Errorf("feature %s geometry: %v %s", f.Properties.Code, err, f.Geometry[:min(80, len(f.Geometry))])
				}
			}
		})
	}
}

func TestGridsRejectsBadInput(t *testing.T) {
	t.Parallel() // its own database
	env := testenv.Start(t)
	tok := env.Login(t, "command")
	for _, q := range []string{"level=city", "bbox=1,2,3", "bbox=a,b,c,d", "bbox=116,41,115,40", "bbox=0,0,200,10"} {
		status, body := env.Do(t, "GET", "/api/v1/grids?"+q, tok, nil)
		e := decode[map[string]map[string]string](t, body)
		if status != 422 || e["error"]["code"] != "invalid" || e["error"]["field"] == "" {
			t.Errorf("%s: status %d body %s, want 422 naming the field", q, status, body)
		}
	}
	if status, _ := env.Do(t, "GET", "/api/v1/grids/999999", tok, nil); status != 404 {
		t.Errorf("unknown grid: %d, want 404", status)
	}
}

func TestGridFeatureMasksPhonesByRole(t *testing.T) {
	t.Parallel() // its own database
	env := testenv.Start(t)
	var village string
	if err := env.Pool.QueryRow(context.Background(), `SELECT code FROM grids WHERE level = 'village' ORDER BY code LIMIT 1`).Scan(&village); err != nil {
		t.Fatal(err)
	}
	type feature struct {
		Properties struct {
			Code   string `json:"code"`
			Level  string `json:"level"`
			OnDuty []struct {
				Duty, Name, Phone string
			} `json:"on_duty"`
		} `json:"properties"`
	}
	for _, tt := range []struct {
		user   string
		masked bool
	}{{"command", false}, {"screen", true}, {"w" + village, false}} {
		t.Run(tt.user, func(t *testing.T) {
			status, body := env.Do(t, "GET", "/api/v1/grids/"+village, env.Login(t, tt.user), nil)
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			f := decode[feature](t, body)
			duties := map[string]bool{}
			for _, d := range f.Properties.OnDuty {
				duties[d.Duty] = true
				if got := strings.Contains(d.Phone, "*"); got != tt.masked {
					t.Errorf("%s phone %q masked=%v, want %v", d.Duty, d.Phone, got, tt.masked)
				}
			}
			if !duties["village"] || !duties["patrol"] {
				t.Errorf("on duty %+v, want a village cadre and a grid worker", f.Properties.OnDuty)
			}
		})
	}
	// a grid worker may not read another village
	status, _ := env.Do(t, "GET", "/api/v1/grids/110119203001", env.Login(t, "w"+village), nil)
	if status != 404 {
		t.Errorf("grid worker reading another village: %d, want 404", status)
	}
}

func TestUnitsAndCategories(t *testing.T) {
	t.Parallel() // its own database
	env := testenv.Start(t)
	tok := env.Login(t, "screen")
	_, body := env.Do(t, "GET", "/api/v1/units", tok, nil)
	units := decode[struct {
		Units []struct{ Code, Name, Kind string } `json:"units"`
	}](t, body)
	kinds := map[string]int{}
	for _, u := range units.Units {
		kinds[u.Kind]++
	}
	if kinds["department"] != 74 || kinds["station"] != 57 || kinds["utility"] < 20 {
		t.Errorf("units by kind %v, want 74 departments, 57 stations, 20+ utilities", kinds)
	}
	if status, _ := env.Do(t, "GET", "/api/v1/units?kind=shop", tok, nil); status != 422 {
		t.Errorf("bad kind: %d, want 422", status)
	}
	_, body = env.Do(t, "GET", "/api/v1/categories", tok, nil)
	type node struct {
		Code, Name string
		Children   []node `json:"children"`
	}
	tree := decode[struct{ Categories []node }](t, body)
	var walk func(n node, d int) int
	walk = func(n node, d int) int {
		m := d
		for _, c := range n.Children {
			if !strings.HasPrefix(c.Code, n.Code) {
				t.Errorf("category %s under %s", c.Code, n.Code)
			}
			m = max(m, walk(c, d+1))
		}
		return m
	}
	maxDepth := 0
	for _, r := range tree.Categories {
		maxDepth = max(maxDepth, walk(r, 1))
	}
	if len(tree.Categories) < 2 || maxDepth < 2 || maxDepth > 3 {
		t.Errorf("%d roots, depth %d: want a tree of two or three levels", len(tree.Categories), maxDepth)
	}
}

func TestHealthzAndMetrics(t *testing.T) {
	t.Parallel() // its own database
	env := testenv.Start(t)
	if status, _ := env.Do(t, "GET", "/healthz", "", nil); status != 200 {
		t.Errorf("healthz: %d", status)
	}
	// the metrics are not on the public address (the page answers
	// there), but on Metrics()
	if _, body := env.Do(t, "GET", "/metrics", "", nil); strings.Contains(string(body), "whistlegrid_") {
		t.Errorf("the public address serves the metrics")
	}
	mrec := httptest.NewRecorder()
	env.API.Metrics().ServeHTTP(mrec, httptest.NewRequest("GET", "/metrics", nil))
	if mrec.Code != 200 || !strings.Contains(mrec.Body.String(), "whistlegrid_http_request_duration_seconds") {
		t.Errorf("metrics: %d, no request histogram", mrec.Code)
	}
	// a server whose database is gone answers 503
	dead, err := pgxpool.New(context.Background(), "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	srv := api.New(api.Config{Pool: dead, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 503 {
		t.Errorf("healthz on a dead database: %d, want 503", rec.Code)
	}
}

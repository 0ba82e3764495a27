package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"

	"whistlegrid/geo"
	"whistlegrid/internal/testenv"
)

type placeAnswer struct {
	Point         [2]float64 `json:"point"`
	Chain         []struct{ Level, Code, Name string }
	EdgeDistanceM float64 `json:"edge_distance_m"`
	NearEdge      bool    `json:"near_edge"`
	Responsible   []struct {
		Duty, Name, Phone string
		GridCode          string `json:"grid_code"`
	}
	Units []struct{ Role, Code, Name, Kind string }
}

func TestPlaceInEveryDatum(t *testing.T) {
	t.Parallel() // its own database
	env := testenv.Start(t)
	tok := env.Login(t, "command")
	var code string
	var p orb.Point
	if err := env.Pool.QueryRow(context.Background(), `
		SELECT g.code, ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom))
		FROM grids g WHERE g.level = 'household' AND g.code LIKE '110119101%' ORDER BY g.code LIMIT 1`).Scan(&code, &p[0], &p[1]); err != nil {
		t.Fatal(err)
	}
	var leaf string
	if err := env.Pool.QueryRow(context.Background(), `
		SELECT c.code FROM categories c WHERE NOT EXISTS (SELECT 1 FROM categories k WHERE k.parent_id = c.id) ORDER BY c.code LIMIT 1`).Scan(&leaf); err != nil {
		t.Fatal(err)
	}
	for _, d := range []geo.Datum{geo.WGS84, geo.GCJ02, geo.BD09} {
		t.Run(string(d), func(t *testing.T) {
			q := geo.FromWGS84(p, d)
			status, body := env.Do(t, "GET", fmt.Sprintf("/api/v1/place?lon=%.10f&lat=%.10f&datum=%s&category=%s", q[0], q[1], d, leaf), tok, nil)
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			a := decode[placeAnswer](t, body)
			if len(a.Chain) != 5 || a.Chain[0].Code != code || a.Chain[0].Level != "household" || a.Chain[4].Code != "110119" {
				t.Errorf("chain %+v, want %s up to the district", a.Chain, code)
			}
			if dist := orbgeo.Distance(orb.Point(a.Point), p); dist > 0.01 {
				t.Errorf("point back in WGS-84 is %.4f m off", dist)
			}
			if len(a.Responsible) != 4 || len(a.Units) == 0 || a.Units[0].Role != "lead" {
				t.Errorf("responsible %+v units %+v", a.Responsible, a.Units)
			}
			if a.NearEdge != (a.EdgeDistanceM < 30) {
				t.Errorf("near_edge %v at %.2f m", a.NearEdge, a.EdgeDistanceM)
			}
		})
	}
}

func TestPlaceRejectsBadPoints(t *testing.T) {
	t.Parallel() // its own database
	env := testenv.Start(t)
	tok := env.Login(t, "screen")
	for _, tt := range []struct{ query, field string }{
		{"lat=40.4", "lon"},
		{"lon=116", "lat"},
		{"lon=abc&lat=40", "lon"},
		{"lon=200&lat=40", "lon"},
		{"lon=116.4&lat=39.9", "lon"}, // 天安门: Beijing, but not 延庆区
		{"lon=115.9&lat=40.4&datum=utm", "datum"},
		{"lon=115.9&lat=40.4&category=NOPE", "category"},
		{"lon=115.9&lat=40.4&at=yesterday", "at"},
	} {
		status, body := env.Do(t, "GET", "/api/v1/place?"+tt.query, tok, nil)
		e := decode[map[string]map[string]string](t, body)
		if status != http.StatusUnprocessableEntity || e["error"]["field"] != tt.field || e["error"]["message"] == "" {
			t.Errorf("%s: %d %s, want 422 on %s", tt.query, status, body, tt.field)
		}
	}
}

func TestPlaceBatch(t *testing.T) {
	t.Parallel() // its own database
	env := testenv.Start(t)
	tok := env.Login(t, "screen")
	rows, err := env.Pool.Query(context.Background(), `SELECT ST_X(location), ST_Y(location) FROM households ORDER BY id LIMIT 2000`)
	if err != nil {
		t.Fatal(err)
	}
	var pts []map[string]any
	for rows.Next() {
		var x, y float64
		if err := rows.Scan(&x, &y); err != nil {
			t.Fatal(err)
		}
		pts = append(pts, map[string]any{"lon": x, "lat": y})
	}
	rows.Close()
	pts = append(pts, map[string]any{"lon": 116.4, "lat": 39.9}, map[string]any{"lat": 40.4}, map[string]any{"lon": 115.97, "lat": 40.45, "datum": "x"})
	status, body := env.Do(t, "POST", "/api/v1/place", tok, pts)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body[:min(len(body), 300)])
	}
	out := decode[struct {
		Placed   int `json:"placed"`
		Rejected int `json:"rejected"`
		Results  []struct {
			Index int `json:"index"`
			Chain []struct{ Level, Code string }
			Error *struct{ Code, Message, Field string }
		}
	}](t, body)
	if out.Placed != 2000 || out.Rejected != 3 || len(out.Results) != len(pts) {
		t.Fatalf("placed %d rejected %d results %d", out.Placed, out.Rejected, len(out.Results))
	}
	for i, r := range out.Results {
		if r.Index != i {
			t.Fatalf("result %d has index %d", i, r.Index)
		}
		if i < 2000 && (r.Error != nil || len(r.Chain) != 5) {
			t.Errorf("household %d: %+v", i, r)
		}
		if i >= 2000 && (r.Error == nil || r.Error.Message == "") {
			t.Errorf("bad point %d not reported: %+v", i, r)
		}
	}
	// too many, empty, not an array
	big := make([]map[string]float64, 10001)
	for i := range big {
		big[i] = map[string]float64{"lon": 115.97, "lat": 40.45}
	}
	for _, tt := range []struct {
		body   any
		status int
	}{{big, 422}, {[]int{}, 422}, {map[string]int{"lon": 1}, 400}} {
		if status, body := env.Do(t, "POST", "/api/v1/place", tok, tt.body); status != tt.status {
			t.Errorf("status %d, want %d: %s", status, tt.status, strings.TrimSpace(string(body)))
		}
	}
}

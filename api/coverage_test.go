package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"whistlegrid/internal/testenv"
)

// coverageAnswer is the part of GET /api/v1/coverage the tests read.
type coverageAnswer struct {
	Parent      struct{ Code, Name, Level string } `json:"parent"`
	ToleranceM2 float64                            `json:"tolerance_m2"`
	Children    int                                `json:"children"`
	Gaps        []struct {
		AreaM2 float64    `json:"area_m2"`
		Point  [2]float64 `json:"point"`
	} `json:"gaps"`
	Overlaps      []struct{ A, B string } `json:"overlaps"`
	OutsideParent []struct {
		Code   string  `json:"code"`
		AreaM2 float64 `json:"area_m2"`
	} `json:"outside_parent"`
	Unstaffed       []struct{ Code string } `json:"unstaffed"`
	PartyMemberLoad struct {
		Members int     `json:"members"`
		Mean    float64 `json:"mean"`
		Loads   []struct {
			PersonID int64  `json:"person_id"`
			Name     string `json:"name"`
			Phone    string `json:"phone"`
		} `json:"loads"`
	} `json:"party_member_load"`
	Layers map[string]featureCollection `json:"layers"`
}

type apiError struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		Field      string `json:"field"`
		Rule       string `json:"rule"`
		Siblings   []struct{ Code string }
		Households []struct{ ID int64 }
	} `json:"error"`
}

// doRaw sends body as it is, for bodies that are not JSON.
func doRaw(t *testing.T, env *testenv.Env, method, path, token, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, env.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func scan(t *testing.T, env *testenv.Env, q string, args []any, dest ...any) {
	t.Helper()
	if err := env.Pool.QueryRow(context.Background(), q, args...).Scan(dest...); err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
}

// gridsState fingerprints everything an edit may change.
const gridsState = `
SELECT md5(string_agg(id::text || code || ST_AsEWKB(geom)::text || valid_from::text || coalesce(valid_to::text, ''), ',' ORDER BY id))
	|| '/' || (SELECT count(*) FROM grid_versions) || '/' || (SELECT count(*) FROM events)
FROM grids`

// villagePair: two villages of one zone of 康庄镇 that share an edge.
const villagePair = `
SELECT z.code, a.code, b.code
FROM grids a JOIN grids b ON b.parent_id = a.parent_id AND a.code < b.code AND a.geom && b.geom
JOIN grids z ON z.id = a.parent_id
WHERE a.level = 'village' AND a.code LIKE '110119101%' AND ST_Dimension(ST_Intersection(a.geom, b.geom)) = 1
ORDER BY a.code, b.code LIMIT 1`

func TestCoverageScopeAndMasking(t *testing.T) {
	t.Parallel() // its own database
	env := testenv.Start(t)
	var village, hg string
	scan(t, env, `SELECT v.code, h.code FROM grids h JOIN grids v ON v.id = h.parent_id
		WHERE h.level = 'household' AND h.code LIKE '110119101%' ORDER BY h.code LIMIT 1`, nil, &village, &hg)
	tests := []struct {
		user, parent string
		status       int
		want         string // parent reviewed
		masked       bool
	}{
		{"command", "", 200, "110119", false},
		{"command", "110119102", 200, "110119102", false},
		{"screen", "110119101", 200, "110119101", true},
		{"t110119101", "", 200, "110119101", false},
		{"t110119101", village, 200, village, false},
		{"t110119101", "110119102", 404, "", false},
		{"t110119101", "110119", 404, "", false},
		{"w" + village, "", 200, village, false},
		{"w" + village, "110119101", 404, "", false},
		{"p" + hg, "", 200, hg, true},
		{"p" + hg, village, 404, "", false},
		{"command", "110119999", 404, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.user+" "+tt.parent, func(t *testing.T) {
			tok := env.Login(t, tt.user)
			path := "/api/v1/coverage"
			if tt.parent != "" {
				path += "?parent=" + tt.parent
			}
			status, body := env.Do(t, "GET", path, tok, nil)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %.300s", status, tt.status, body)
			}
			if status != 200 {
				if e := decode[apiError](t, body); e.Error.Code != "not_found" {
					t.Errorf("error %+v", e)
				}
				return
			}
			cv := decode[coverageAnswer](t, body)
			if cv.Parent.Code != tt.want || cv.ToleranceM2 != 1 {
				t.Errorf("parent %+v tolerance %v, want %s", cv.Parent, cv.ToleranceM2, tt.want)
			}
			for _, l := range []string{"gaps", "overlaps", "outside_parent", "unstaffed", "households_outside", "households_without_party_member", "party_member_load"} {
				if fc, ok := cv.Layers[l]; !ok || fc.Type != "FeatureCollection" || fc.Features == nil {
					t.Errorf("layer %s: %+v", l, fc)
				}
			}
			loads := cv.PartyMemberLoad.Loads
			if len(loads) == 0 {
				t.Fatalf("no party member loads")
			}
			var phone string
			scan(t, env, `SELECT phone FROM people WHERE id = $1`, []any{loads[0].PersonID}, &phone)
			if tt.masked != (loads[0].Phone != phone) || (tt.masked && !strings.Contains(loads[0].Phone, "****")) {
				t.Errorf("phone %q for %s (stored %q), masked want %v", loads[0].Phone, tt.user, phone, tt.masked)
			}
		})
	}
}

func TestEditGridRefusalsChangeNothing(t *testing.T) {
	t.Parallel() // its own database
	env := testenv.Start(t)
	command := env.Login(t, "command")
	var zone, a, b string
	scan(t, env, villagePair, nil, &zone, &a, &b)
	var aGeom, shifted, withB, bowtie string
	scan(t, env, `
		SELECT ST_AsGeoJSON(a.geom, 15), ST_AsGeoJSON(ST_Translate(a.geom, 0.05, 0), 15),
			ST_AsGeoJSON(ST_Union(a.geom, ST_CollectionExtract(ST_Intersection(b.geom,
				ST_Buffer(ST_PointOnSurface(ST_Intersection(a.geom, b.geom))::geography, 100)::geometry), 3)), 15),
			format('{"type":"Polygon","coordinates":[[[%1$s,%2$s],[%3$s,%4$s],[%3$s,%2$s],[%1$s,%4$s],[%1$s,%2$s]]]}',
				ST_X(p) - 0.001, ST_Y(p) - 0.001, ST_X(p) + 0.001, ST_Y(p) + 0.001)
		FROM grids a, grids b, ST_PointOnSurface(a.geom) p WHERE a.code = $1 AND b.code = $2`, []any{a, b}, &aGeom, &shifted, &withB, &bowtie)
	var hg, hgHoled string
	var household int64
	scan(t, env, `
		SELECT g.code, h.id, ST_AsGeoJSON(ST_Difference(g.geom, ST_Buffer(h.location::geography, 3)::geometry), 15)
		FROM grids g JOIN households h ON h.grid_id = g.id WHERE g.code LIKE $1 || '%' AND g.level = 'household'
		ORDER BY g.code, h.id LIMIT 1`, []any{a}, &hg, &household, &hgHoled)
	body := func(geometry string) string { return `{"geometry":` + geometry + `,"note":"test"}` }

	tests := []struct {
		name, user, code, body string
		status                 int
		rule, contains         string
	}{
		{"not JSON", "command", a, `{"geometry":`, 400, "", ""},
		{"no geometry", "command", a, `{"note":"x"}`, 422, "geojson", "required"},
		{"a point", "command", a, body(`{"type":"Point","coordinates":[115.9,40.4]}`), 422, "geojson", "Polygon or MultiPolygon"},
		{"unclosed ring", "command", a, body(`{"type":"Polygon","coordinates":[[[115.9,40.4],[115.91,40.4],[115.91,40.41],[115.9,40.41]]]}`), 422, "geojson", "not closed"},
		{"ring of three positions", "command", a, body(`{"type":"Polygon","coordinates":[[[115.9,40.4],[115.91,40.4],[115.9,40.4]]]}`), 422, "geojson", "at least 4"},
		{"longitude out of range", "command", a, body(`{"type":"Polygon","coordinates":[[[215.9,40.4],[215.91,40.4],[215.91,40.41],[215.9,40.4]]]}`), 422, "geojson", "outside lon"},
		{"self-intersection", "command", a, body(bowtie), 422, "invalid_geometry", "Self-intersection"},
		{"outside its parent", "command", a, body(shifted), 422, "outside_parent", "outside its parent"},
		{"overlapping a sibling", "command", a, body(withB), 422, "overlaps_sibling", b},
		{"dropping a household", "command", hg, body(hgHoled), 422, "households_outside", fmt.Sprint(household)},
		{"township", "t110119101", a, body(aGeom), 403, "", ""},
		{"screen", "screen", a, body(aGeom), 403, "", ""},
		{"grid worker", "w" + a, a, body(aGeom), 403, "", ""},
		{"unknown grid", "command", "110119101999", body(aGeom), 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := command
			if tt.user != "command" {
				tok = env.Login(t, tt.user)
			}
			var before, after string
			scan(t, env, gridsState, nil, &before)
			status, resp := doRaw(t, env, "PUT", "/api/v1/grids/"+tt.code, tok, tt.body)
			scan(t, env, gridsState, nil, &after)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %.400s", status, tt.status, resp)
			}
			if before != after {
				t.Errorf("a refused edit changed the grids: %s -> %s", before, after)
			}
			e := decode[apiError](t, resp)
			if e.Error.Code == "" || e.Error.Message == "" || e.Error.Rule != tt.rule || !strings.Contains(string(resp), tt.contains) {
				t.Errorf("error %s, want rule %q mentioning %q", resp, tt.rule, tt.contains)
			}
			switch tt.rule {
			case "overlaps_sibling":
				if len(e.Error.Siblings) == 0 || e.Error.Siblings[0].Code != b {
					t.Errorf("siblings %+v, want %s", e.Error.Siblings, b)
				}
			case "households_outside":
				if len(e.Error.Households) == 0 || e.Error.Households[0].ID != household {
					t.Errorf("households %+v, want %d", e.Error.Households, household)
				}
			}
		})
	}
}

type historyAnswer struct {
	Code     string `json:"code"`
	Versions []struct {
		ValidFrom time.Time       `json:"valid_from"`
		ValidTo   *time.Time      `json:"valid_to"`
		AreaM2    float64         `json:"area_m2"`
		ChangedBy *string         `json:"changed_by"`
		Geometry  json.RawMessage `json:"geometry"`
	} `json:"versions"`
}

// TestEditGridShrinkVillage shrinks a village inside its zone: the edit
// is kept as a new version, reported as an event, and the zone's coverage
// shows the gap it left.
func TestEditGridShrinkVillage(t *testing.T) {
	t.Parallel() // its own database
	env := testenv.Start(t)
	command := env.Login(t, "command")
	var zone, a, b string
	scan(t, env, villagePair, nil, &zone, &a, &b)
	var shrunk string
	var hole float64
	// 9 decimals (0.1 mm): the shared edges move by rounding, far under the 1 m² tolerance
	scan(t, env, `
		SELECT ST_AsGeoJSON(ST_Difference(a.geom, h), 9), ST_Area(h::geography)
		FROM grids a, ST_CollectionExtract(ST_Intersection(a.geom, ST_Buffer(ST_PointOnSurface(a.geom)::geography, 60)::geometry), 3) h
		WHERE a.code = $1`, []any{a}, &shrunk, &hole)

	status, body := env.Do(t, "PUT", "/api/v1/grids/"+a, command, map[string]any{"geometry": json.RawMessage(shrunk), "note": "road widening"})
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	ed := decode[struct {
		Code               string    `json:"code"`
		Level              string    `json:"level"`
		ValidFrom          time.Time `json:"valid_from"`
		AreaM2             float64   `json:"area_m2"`
		PlacementRefreshed bool      `json:"placement_refreshed"`
		Warnings           []struct {
			Rule  string   `json:"rule"`
			Codes []string `json:"codes"`
		} `json:"warnings"`
	}](t, body)
	if ed.Code != a || ed.Level != "village" || !ed.PlacementRefreshed || len(ed.Warnings) != 1 || ed.Warnings[0].Rule != "children_outside" {
		t.Errorf("answer %s", body)
	}

	t.Run("history", func(t *testing.T) {
		status, body := env.Do(t, "GET", "/api/v1/grids/"+a+"/history", command, nil)
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		h := decode[historyAnswer](t, body)
		if len(h.Versions) != 2 {
			t.Fatalf("%d versions, want 2: %.300s", len(h.Versions), body)
		}
		cur, old := h.Versions[0], h.Versions[1]
		if cur.ValidTo != nil || old.ValidTo == nil || !old.ValidTo.Equal(cur.ValidFrom) || !cur.ValidFrom.Equal(ed.ValidFrom) {
			t.Errorf("versions not contiguous, newest first: %+v / %+v", cur, old)
		}
		if cur.ChangedBy == nil || *cur.ChangedBy != "command" || old.ChangedBy != nil {
			t.Errorf("changed_by %v / %v", cur.ChangedBy, old.ChangedBy)
		}
		if d := old.AreaM2 - cur.AreaM2; math.Abs(d-hole) > 0.01*hole+1 {
			t.Errorf("area went from %.1f to %.1f m², want %.1f m² less", old.AreaM2, cur.AreaM2, hole)
		}
		if !strings.Contains(string(cur.Geometry), "Polygon") {
			t.Errorf("geometry %s", cur.Geometry)
		}
		for user, want := range map[string]int{"t110119101": 200, "t110119102": 404, "screen": 200} {
			if status, _ := env.Do(t, "GET", "/api/v1/grids/"+a+"/history", env.Login(t, user), nil); status != want {
				t.Errorf("%s: history status %d, want %d", user, status, want)
			}
		}
	})

	t.Run("event", func(t *testing.T) {
		var township, payload string
		scan(t, env, `SELECT township, payload::text FROM events WHERE kind = 'grid.edited' ORDER BY seq DESC LIMIT 1`, nil, &township, &payload)
		p := decode[map[string]string](t, []byte(payload))
		if township != a[:9] || p["code"] != a || p["level"] != "village" || p["actor"] != "command" {
			t.Errorf("event %s %s", township, payload)
		}
	})

	t.Run("gap in the zone", func(t *testing.T) {
		status, body := env.Do(t, "GET", "/api/v1/coverage?parent="+zone, command, nil)
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		cv := decode[coverageAnswer](t, body)
		if len(cv.Gaps) != 1 || math.Abs(cv.Gaps[0].AreaM2-hole) > 0.01*hole || len(cv.Overlaps) != 0 {
			t.Errorf("gaps %+v overlaps %+v, want one gap of %.1f m²", cv.Gaps, cv.Overlaps, hole)
		}
		if len(cv.Layers["gaps"].Features) != 1 {
			t.Errorf("gap layer %+v", cv.Layers["gaps"])
		}
	})

	t.Run("household grids left outside the village", func(t *testing.T) {
		status, body := env.Do(t, "GET", "/api/v1/coverage?parent="+a, command, nil)
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		cv := decode[coverageAnswer](t, body)
		var sum float64
		for _, o := range cv.OutsideParent {
			sum += o.AreaM2
		}
		if len(cv.OutsideParent) != len(ed.Warnings[0].Codes) || math.Abs(sum-hole) > 0.01*hole {
			t.Errorf("outside parent %+v (%.1f m²), want %v (%.1f m²)", cv.OutsideParent, sum, ed.Warnings[0].Codes, hole)
		}
	})
}

// TestEditGridMovesPlacement hands a piece of one household grid to its
// neighbour in two edits and checks /place follows each.
func TestEditGridMovesPlacement(t *testing.T) {
	t.Parallel() // its own database
	env := testenv.Start(t)
	command := env.Login(t, "command")
	var from, to, shrunk, grown string
	var lon, lat float64
	scan(t, env, `
		WITH pairs AS (
			SELECT a.code AS to_code, b.code AS from_code, a.geom AS ag, b.geom AS bg, b.id AS bid,
				ST_CollectionExtract(ST_Intersection(b.geom,
					ST_Buffer(ST_PointOnSurface(ST_Intersection(a.geom, b.geom))::geography, 25)::geometry), 3) AS piece
			FROM grids a JOIN grids b ON b.parent_id = a.parent_id AND a.id <> b.id AND a.geom && b.geom
			WHERE a.level = 'household' AND a.code LIKE '110119101%' AND ST_Dimension(ST_Intersection(a.geom, b.geom)) = 1)
		SELECT from_code, to_code, ST_AsGeoJSON(ST_Difference(bg, piece), 15), ST_AsGeoJSON(ST_Union(ag, piece), 15),
			ST_X(ST_PointOnSurface(piece)), ST_Y(ST_PointOnSurface(piece))
		FROM pairs
		WHERE ST_Area(piece::geography) > 300
		  AND NOT EXISTS (SELECT 1 FROM households h WHERE h.grid_id = pairs.bid AND ST_DWithin(h.location::geography, piece::geography, 2))
		ORDER BY to_code, from_code LIMIT 1`, nil, &from, &to, &shrunk, &grown, &lon, &lat)
	place := func(t *testing.T) string {
		t.Helper()
		status, body := env.Do(t, "GET", fmt.Sprintf("/api/v1/place?lon=%.12f&lat=%.12f", lon, lat), command, nil)
		if status != 200 {
			return ""
		}
		a := decode[placeAnswer](t, body)
		return a.Chain[0].Code
	}
	steps := []struct {
		name, code, geometry, want string
	}{
		{"before", "", "", from},
		{"shrink " + from, from, shrunk, ""},
		{"grow " + to, to, grown, to},
	}
	for _, s := range steps {
		if s.code != "" {
			status, body := env.Do(t, "PUT", "/api/v1/grids/"+s.code, command, map[string]any{"geometry": json.RawMessage(s.geometry)})
			if status != 200 {
				t.Fatalf("%s: status %d: %s", s.name, status, body)
			}
		}
		if got := place(t); got != s.want {
			t.Errorf("%s: %.9f,%.9f placed in %q, want %q", s.name, lon, lat, got, s.want)
		}
	}
}

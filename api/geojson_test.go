package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"whistlegrid/internal/testenv"
)

// geoJSONCheck is what scripts/check-geojson.mjs reports of one file.
type geoJSONCheck struct {
	Features  int      `json:"features"`
	Polygons  int      `json:"polygons"`
	Issues    []string `json:"issues"`
	Winding   int      `json:"winding"`
	Precision int      `json:"precision"`
}

// TestGeoJSONAsRFC7946Says: every GeoJSON answer is application/geo+json,
// valid for @placemarkio/check-geojson, with counter-clockwise exterior
// rings (the right-hand rule, @turf/boolean-clockwise) and at most 6
// decimals; the coverage review's layers too.
func TestGeoJSONAsRFC7946Says(t *testing.T) {
	t.Parallel() // its own database
	pool := testenv.DemoDB(t)
	ctx := context.Background()
	// A gap in a village: its largest household grid shrunk by about
	// 10 m, so the coverage review has polygons to draw.
	var village string
	if err := pool.QueryRow(ctx, `
		WITH h AS (SELECT g.id, p.code FROM grids g JOIN grids p ON p.id = g.parent_id
			WHERE g.level = 'household' AND g.valid_to IS NULL AND p.code LIKE '110119101%'
			ORDER BY ST_Area(g.geom) DESC LIMIT 1)
		UPDATE grids SET geom = ST_Multi(ST_Buffer(geom, -0.0001)) FROM h WHERE grids.id = h.id RETURNING h.code`).Scan(&village); err != nil {
		t.Fatal(err)
	}
	env := testenv.Serve(t, pool)
	p := testenv.PlantHotspot(t, env.Pool)
	command := env.Login(t, "command")
	get := func(t *testing.T, path string) (string, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", env.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+command)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, res.StatusCode, b)
		}
		return res.Header.Get("Content-Type"), b
	}

	files := map[string]string{}
	for _, path := range []string{
		"/api/v1/grids?level=township",
		"/api/v1/grids?level=household&parent=" + village,
		"/api/v1/grids/" + village,
		hotspotQuery(p, "all=true"),
	} {
		ct, b := get(t, path)
		if ct != "application/geo+json" {
			t.Errorf("%s: Content-Type %q, want application/geo+json", path, ct)
		}
		files[writeTemp(t, "answer.geojson", b)] = path
	}
	// The coverage review is a JSON document (lists and counts) holding
	// GeoJSON layers: each layer is checked on its own.
	_, b := get(t, "/api/v1/coverage?parent="+village)
	var cv struct {
		Layers map[string]json.RawMessage `json:"layers"`
	}
	if err := json.Unmarshal(b, &cv); err != nil || len(cv.Layers) == 0 {
		t.Fatalf("coverage layers: %v %s", err, b)
	}
	for name, l := range cv.Layers {
		files[writeTemp(t, name+".geojson", l)] = "coverage layer " + name
	}

	var args []string
	for f := range files {
		args = append(args, f)
	}
	var got map[string]geoJSONCheck
	code := nodeCheck(t, "check-geojson.mjs", &got, args...)
	polygons := 0
	for f, what := range files {
		r, ok := got[f]
		if !ok {
			t.Errorf("%s: not checked", what)
			continue
		}
		polygons += r.Polygons
		if len(r.Issues) > 0 || r.Winding > 0 || r.Precision > 0 {
			t.Errorf("%s: %d issues %v, %d rings against the right-hand rule, %d positions over 6 decimals",
				what, len(r.Issues), r.Issues, r.Winding, r.Precision)
		}
		if strings.HasPrefix(what, "/api/v1/grids") && r.Polygons == 0 {
			t.Errorf("%s: no polygons checked", what)
		}
	}
	if got[firstKey(files, "coverage layer gaps")].Polygons == 0 {
		t.Errorf("the coverage review shows no gap: nothing of it was checked")
	}
	if code != 0 && !t.Failed() {
		t.Errorf("check-geojson.mjs exited %d", code)
	}
	if polygons < 100 {
		t.Errorf("only %d polygons checked", polygons)
	}
}

// firstKey is the key of m whose value is v.
func firstKey(m map[string]string, v string) string {
	for k, x := range m {
		if x == v {
			return k
		}
	}
	return ""
}

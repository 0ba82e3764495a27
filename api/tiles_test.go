package api_test

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"strings"
	"testing"

	"github.com/paulmach/orb/encoding/mvt"

	"whistlegrid/internal/testenv"
	"whistlegrid/live"
)

// tileOf is the web-mercator tile holding lon/lat (WGS-84) at zoom z.
func tileOf(lon, lat float64, z int) (x, y int) {
	n := math.Exp2(float64(z))
	r := lat * math.Pi / 180
	return int((lon + 180) / 360 * n), int((1 - math.Log(math.Tan(r)+1/math.Cos(r))/math.Pi) / 2 * n)
}

// pointIn is a point inside the grid with code.
func pointIn(t *testing.T, in *instance, code string) (lon, lat float64) {
	t.Helper()
	if err := in.pool.QueryRow(context.Background(), `SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM grids WHERE code = $1) s`, code).Scan(&lon, &lat); err != nil {
		t.Fatal(err)
	}
	return lon, lat
}

// layerOf decodes a tile and returns its one layer, checking the name.
func layerOf(t *testing.T, b []byte, name string) *mvt.Layer {
	t.Helper()
	layers, err := mvt.Unmarshal(b)
	if err != nil {
		t.Fatalf("not an MVT: %v", err)
	}
	if len(layers) != 1 || layers[0].Name != name {
		t.Fatalf("layers %v, want one named %s", layers, name)
	}
	return layers[0]
}

func TestTiles(t *testing.T) {
	t.Parallel() // its own database
	pool := testenv.DemoDB(t)
	p := places(t, pool)
	w := insertWhistle(t, pool, whistleRow{Township: p.TownA, Grid: p.House, Grade: "priority"})
	if _, err := pool.Exec(context.Background(), `
		INSERT INTO clues (source, external_id, category_id, received_lon, received_lat, datum, location, grid_id, township_id, reported_at)
		SELECT 'hotline', 'tile-1', w.category_id, ST_X(w.location), ST_Y(w.location), 'wgs84', w.location, w.grid_id, w.township_id, now()
		FROM whistles w WHERE w.id = $1`, w); err != nil {
		t.Fatal(err)
	}
	in := startInstance(t, pool, live.Options{})
	command := in.login(t, "command")
	townA := in.login(t, "t"+p.TownA)

	lon, lat := pointIn(t, in, p.TownA)
	x10, y10 := tileOf(lon, lat, 10)
	hlon, hlat := pointIn(t, in, p.House)
	x15, y15 := tileOf(hlon, hlat, 15)
	townTile := fmt.Sprintf("/tiles/township/10/%d/%d.mvt", x10, y10)

	t.Run("township tile over 延庆区", func(t *testing.T) {
		status, h, b := in.get(t, townTile, command)
		if status != 200 {
			t.Fatalf("status %d: %s", status, b)
		}
		if h.Get("Content-Type") != "application/vnd.mapbox-vector-tile" || !strings.Contains(h.Get("Cache-Control"), "max-age=3600") || h.Get("ETag") == "" {
			t.Errorf("headers %v", h)
		}
		l := layerOf(t, b, "township")
		found := false
		for _, f := range l.Features {
			if f.Properties["level"] != "township" || f.Properties["name"] == "" || !strings.HasPrefix(f.Properties["code"].(string), "110119") {
				t.Errorf("feature properties %v", f.Properties)
			}
			found = found || f.Properties["code"] == p.TownA
		}
		if !found {
			t.Errorf("%s is not in its own tile", p.TownA)
		}
		t.Run("etag", func(t *testing.T) {
			if status, _, _ := in.get(t, townTile, command, "If-None-Match", h.Get("ETag")); status != 304 {
				t.Errorf("status %d, want 304", status)
			}
		})
	})
	t.Run("a township user sees its own township only", func(t *testing.T) {
		status, _, b := in.get(t, townTile, townA)
		if status != 200 {
			t.Fatalf("status %d", status)
		}
		for _, f := range layerOf(t, b, "township").Features {
			if f.Properties["code"] != p.TownA {
				t.Errorf("sees %v", f.Properties["code"])
			}
		}
	})
	t.Run("token in the query", func(t *testing.T) {
		if status, _, _ := in.get(t, townTile+"?token="+url.QueryEscape(command), ""); status != 200 {
			t.Errorf("status %d", status)
		}
	})
	t.Run("household grids", func(t *testing.T) {
		status, _, b := in.get(t, fmt.Sprintf("/tiles/household/15/%d/%d.mvt", x15, y15), command)
		if status != 200 {
			t.Fatalf("status %d", status)
		}
		found := false
		for _, f := range layerOf(t, b, "household").Features {
			found = found || f.Properties["code"] == p.House
		}
		if !found {
			t.Errorf("%s not in its tile", p.House)
		}
	})
	t.Run("whistles", func(t *testing.T) {
		path := fmt.Sprintf("/tiles/whistles/15/%d/%d.mvt", x15, y15)
		status, h, b := in.get(t, path, townA)
		if status != 200 {
			t.Fatalf("status %d", status)
		}
		if !strings.Contains(h.Get("Cache-Control"), "max-age=5") {
			t.Errorf("Cache-Control %q", h.Get("Cache-Control"))
		}
		l := layerOf(t, b, "whistles")
		if len(l.Features) != 1 {
			t.Fatalf("%d features, want 1", len(l.Features))
		}
		pr := l.Features[0].Properties
		if pr["id"] != float64(w) || pr["grade"] != "priority" || pr["status"] != "raised" || pr["overdue"] != false {
			t.Errorf("properties %v", pr)
		}
		if status, _, _ := in.get(t, path, in.login(t, "t"+p.TownB)); status != 204 {
			t.Errorf("another township: status %d, want 204", status)
		}
	})
	t.Run("clues", func(t *testing.T) {
		status, _, b := in.get(t, fmt.Sprintf("/tiles/clues/15/%d/%d.mvt", x15, y15), command)
		if status != 200 {
			t.Fatalf("status %d", status)
		}
		l := layerOf(t, b, "clues")
		if len(l.Features) != 1 || l.Features[0].Properties["source"] != "hotline" || l.Features[0].Properties["category"] == "" || l.Features[0].Properties["id"] == nil {
			t.Errorf("features %v", l.Features)
		}
	})
	t.Run("ocean is empty", func(t *testing.T) {
		if status, _, b := in.get(t, "/tiles/township/10/0/512.mvt", command); status != 204 || len(b) != 0 {
			t.Errorf("status %d, %d bytes; want 204", status, len(b))
		}
	})
	bad := []struct {
		name, path string
		token      string
		status     int
	}{
		{"no token", townTile, "", 401},
		{"bad token", townTile + "?token=nope", "", 401},
		{"unknown layer", "/tiles/roads/10/1/1.mvt", command, 404},
		{"z too deep", "/tiles/township/23/1/1.mvt", command, 400},
		{"x beyond the zoom", "/tiles/township/10/1024/1.mvt", command, 400},
		{"y negative", "/tiles/township/10/1/-1.mvt", command, 400},
		{"not a number", "/tiles/township/ten/1/1.mvt", command, 400},
		{"no .mvt", "/tiles/township/10/1/1.pbf", command, 400},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			status, _, b := in.get(t, tt.path, tt.token)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, b)
			}
			if e := decode[map[string]map[string]string](t, b); e["error"]["message"] == "" {
				t.Errorf("no reason: %s", b)
			}
		})
	}
}

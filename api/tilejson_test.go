package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"whistlegrid/internal/testenv"
	"whistlegrid/live"
)

// tileLayerCheck is what scripts/check-tile.mjs reports of one layer.
type tileLayerCheck struct {
	Features   int            `json:"features"`
	WithID     int            `json:"with_id"`
	IDsUnique  bool           `json:"ids_unique"`
	Geometries int            `json:"geometries"`
	Properties map[string]int `json:"properties"`
}

// TestTileJSONAndFeatureIDs: the catalog and each layer's TileJSON 3.0.0;
// every feature of every layer has an id, checked by decoding with
// @mapbox/vector-tile; the clues cluster below zoom 13 with point_count
// adding up to the clues in the tile.
func TestTileJSONAndFeatureIDs(t *testing.T) {
	t.Parallel() // its own database
	pool := testenv.DemoDB(t)
	p := places(t, pool)
	w := insertWhistle(t, pool, whistleRow{Township: p.TownA, Grid: p.House})
	ctx := context.Background()
	// a clue in every household grid of the township, reported yesterday
	if _, err := pool.Exec(ctx, `
		INSERT INTO clues (source, external_id, category_id, received_lon, received_lat, datum, location, grid_id, township_id, reported_at)
		SELECT 'patrol', 'tilejson-' || g.code, (SELECT category_id FROM whistles WHERE id = $2), ST_X(pt), ST_Y(pt), 'wgs84', pt, g.id, t.id, now() - interval '1 day'
		FROM grids g JOIN grids t ON t.code = $1 AND t.level = 'township',
			LATERAL ST_PointOnSurface(g.geom) pt
		WHERE g.level = 'household' AND g.valid_to IS NULL AND g.code LIKE $1 || '%'`, p.TownA, w); err != nil {
		t.Fatal(err)
	}
	in := startInstance(t, pool, live.Options{})
	command := in.login(t, "command")

	t.Run("catalog", func(t *testing.T) {
		status, h, b := in.get(t, "/tiles", "")
		if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
			t.Fatalf("%d %s: %s", status, h.Get("Content-Type"), b)
		}
		cat := decode[struct {
			TileJSON string `json:"tilejson"`
			Layers   []struct {
				ID, TileJSON string
				Tiles        []string
			} `json:"layers"`
		}](t, b)
		if cat.TileJSON != "3.0.0" || len(cat.Layers) != len(live.LayerNames()) {
			t.Fatalf("catalog %s", b)
		}
		for i, l := range cat.Layers {
			if l.ID != live.LayerNames()[i] || !strings.HasSuffix(l.TileJSON, "/tiles/"+l.ID+".json") || len(l.Tiles) != 1 {
				t.Errorf("entry %+v", l)
			}
		}
	})
	for _, name := range live.LayerNames() {
		t.Run("tilejson "+name, func(t *testing.T) {
			status, _, b := in.get(t, "/tiles/"+name+".json?token="+command, "")
			if status != 200 {
				t.Fatalf("%d %s", status, b)
			}
			doc := decode[struct {
				TileJSON     string    `json:"tilejson"`
				Tiles        []string  `json:"tiles"`
				MinZoom      *int      `json:"minzoom"`
				MaxZoom      *int      `json:"maxzoom"`
				Bounds       []float64 `json:"bounds"`
				VectorLayers []struct {
					ID     string            `json:"id"`
					Fields map[string]string `json:"fields"`
				} `json:"vector_layers"`
				Cluster *struct {
					BelowZoom     int    `json:"below_zoom"`
					CountProperty string `json:"count_property"`
				} `json:"x-whistlegrid-cluster"`
				Description string `json:"description"`
			}](t, b)
			if doc.TileJSON != "3.0.0" || len(doc.Tiles) != 1 || !strings.HasPrefix(doc.Tiles[0], in.URL+"/tiles/"+name+"/{z}/{x}/{y}.mvt?token=") ||
				doc.MinZoom == nil || *doc.MaxZoom != live.MaxZoom || len(doc.Bounds) != 4 || doc.Bounds[0] < 115 || doc.Bounds[2] > 117 {
				t.Errorf("document %s", b)
			}
			if len(doc.VectorLayers) != 1 || doc.VectorLayers[0].ID != name || len(doc.VectorLayers[0].Fields) == 0 {
				t.Errorf("vector_layers %s", b)
			}
			if (name == "clues") != (doc.Cluster != nil) {
				t.Errorf("cluster %+v", doc.Cluster)
			}
			if name == "clues" && (doc.Cluster.BelowZoom != 13 || doc.Cluster.CountProperty != "point_count" || !strings.Contains(doc.Description, "point_count")) {
				t.Errorf("clues' clustering not said: %s", b)
			}
		})
	}

	lon, lat := pointIn(t, in, p.House)
	var files []string
	type want struct {
		layer   string
		z       int
		cluster bool
	}
	var wants []want
	for _, tt := range []want{
		{"township", 8, false}, {"zone", 10, false}, {"village", 12, false}, {"household", 14, false},
		{"whistles", 14, false}, {"clues", 8, true}, {"clues", 12, true}, {"clues", 13, false},
	} {
		x, y := tileOf(lon, lat, tt.z)
		status, _, b := in.get(t, fmt.Sprintf("/tiles/%s/%d/%d/%d.mvt", tt.layer, tt.z, x, y), command)
		if status != 200 {
			t.Fatalf("%s z%d: status %d", tt.layer, tt.z, status)
		}
		files = append(files, fmt.Sprintf("%s:%d:%d:%d", writeTemp(t, fmt.Sprintf("%s-%d.mvt", tt.layer, tt.z), b), tt.z, x, y))
		wants = append(wants, tt)
	}
	var got map[string]map[string]tileLayerCheck
	if code := nodeCheck(t, "check-tile.mjs", &got, files...); code != 0 {
		t.Fatalf("check-tile.mjs exited %d", code)
	}
	for i, tt := range wants {
		file := strings.Split(files[i], ":")[0]
		l, ok := got[file][tt.layer]
		if !ok || len(got[file]) != 1 {
			t.Errorf("%s z%d: layers %v", tt.layer, tt.z, got[file])
			continue
		}
		if l.Features == 0 || l.WithID != l.Features || !l.IDsUnique || l.Geometries != l.Features {
			t.Errorf("%s z%d: %+v: every feature needs a unique id and a geometry", tt.layer, tt.z, l)
		}
		if tt.cluster != (l.Properties["point_count"] == l.Features) {
			t.Errorf("%s z%d: clustered %v, properties %v", tt.layer, tt.z, tt.cluster, l.Properties)
		}
	}

	t.Run("clusters count every clue", func(t *testing.T) {
		x, y := tileOf(lon, lat, 8)
		_, _, b := in.get(t, fmt.Sprintf("/tiles/clues/8/%d/%d.mvt", x, y), command)
		var inTile int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM clues WHERE reported_at >= now() - interval '30 days'
			AND location && ST_Transform(ST_TileEnvelope(8, $1, $2), 4326)`, x, y).Scan(&inTile); err != nil {
			t.Fatal(err)
		}
		l := layerOf(t, b, "clues")
		sum := 0
		for _, f := range l.Features {
			n, _ := f.Properties["point_count"].(float64)
			sum += int(n)
		}
		if inTile < 100 || sum != inTile || len(l.Features) > live.ClusterCells*live.ClusterCells || len(l.Features) >= inTile {
			t.Errorf("%d clusters holding %d clues, %d clues in the tile", len(l.Features), sum, inTile)
		}
	})
}

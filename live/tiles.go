package live

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"whistlegrid/access"
	"whistlegrid/fault"
)

// Layer is one vector-tile layer of the wall map. Every feature of every
// layer has an MVT feature id: the grid's, whistle's or clue's id, and
// for a cluster of clues its cell's number in the tile (Clustered).
type Layer struct {
	Name        string
	MaxAge      time.Duration // how long a client may cache a tile
	Description string        // what the layer holds, for its TileJSON
	// Fields are the features' properties and their types (String,
	// Number, Boolean), for TileJSON's vector_layers.
	Fields map[string]string
	// ClusterBelow is, for the clues, the zoom from which each clue is
	// its own point: below it a tile holds one point per occupied cell
	// of a ClusterCells × ClusterCells grid over the tile, at the mean
	// of its clues, with point_count. 0: never clustered.
	ClusterBelow int
	query        string
	level        string // the grid level of a grid layer, "" for whistles and clues
}

// ClusterCells is the side of the grid clues are counted on below
// Layer.ClusterBelow: 16 cells a side, 256 units of the 4096 extent (32
// px on a 512 px tile). A cluster's feature id is its cell's number,
// row × 16 + column + 1.
const ClusterCells = 16

// gridFields are the properties of a grid layer's features.
var gridFields = map[string]string{"code": "String", "name": "String", "level": "String"}

// LayerNames lists the tile layers, in the order the map draws them.
func LayerNames() []string {
	return []string{"township", "zone", "village", "household", "whistles", "clues"}
}

// TileLayer returns the layer called name.
func TileLayer(name string) (Layer, bool) {
	switch name {
	case "township", "zone", "village", "household":
		return Layer{Name: name, MaxAge: time.Hour, query: tileGrids, level: name, Fields: gridFields,
			Description: "the current " + name + " grids in the caller's jurisdiction; feature id = the grid's id"}, true
	case "whistles":
		return Layer{Name: name, MaxAge: 5 * time.Second, query: tileWhistles,
			Fields:      map[string]string{"id": "Number", "grade": "String", "status": "String", "overdue_now": "Boolean", "overdue": "Boolean"},
			Description: "open whistles in the caller's jurisdiction, as points; feature id = the whistle's id"}, true
	case "clues":
		return Layer{Name: name, MaxAge: 5 * time.Second, query: tileClues, ClusterBelow: 13,
			Fields: map[string]string{"id": "Number", "source": "String", "category": "String",
				"point_count": "Number", "cluster": "Boolean"},
			Description: "clues of the last 30 days in the caller's jurisdiction. From zoom 13 one point per clue (id, source, category; feature id = the clue's id). " +
				"Below zoom 13 clustered: one point per occupied cell of a 16 x 16 grid over the tile, at the mean of its clues, " +
				"with point_count and cluster=true (feature id = the cell's number, row x 16 + column + 1)"}, true
	}
	return Layer{}, false
}

// MaxZoom is the deepest tile zoom served.
const MaxZoom = 22

// The tile queries: the features in the tile envelope, in the caller's
// jurisdiction, clipped and quantised by ST_AsMVTGeom (extent 4096, buffer
// 64 px) in EPSG:3857, encoded by ST_AsMVT as one layer named after the
// tile layer.

// tileGrids: $1 $2 $3 are z, x, y; grids of one level ($4) whose code
// matches the prefixes ($5, access.PrefixClause, the %s); properties code,
// name, level.
const tileGrids = `
WITH bounds AS (
	SELECT ST_TileEnvelope($1, $2, $3) AS env, ST_Transform(ST_TileEnvelope($1, $2, $3), 4326) AS env4326
), features AS (
	SELECT ST_AsMVTGeom(ST_Transform(g.geom, 3857), b.env, 4096, 64, true) AS geom, g.id AS fid, g.code, g.name, g.level
	FROM grids g, bounds b
	WHERE g.level = $4 AND g.valid_to IS NULL AND g.geom && b.env4326 AND %s
)
SELECT ST_AsMVT(features.*, $6, 4096, 'geom', 'fid') FROM features WHERE geom IS NOT NULL`

// tileWhistles: $1 $2 $3 are the jurisdiction (role, grid, unit:
// whistlesIn), $4 $5 $6 z, x, y; open whistles as points; properties id,
// grade, status, overdue_now and overdue (its older name, which the wall
// map reads; on an open whistle the same as ever_overdue).
const tileWhistles = `
WITH bounds AS (
	SELECT ST_TileEnvelope($4, $5, $6) AS env, ST_Transform(ST_TileEnvelope($4, $5, $6), 4326) AS env4326
), features AS (
	SELECT ST_AsMVTGeom(ST_Transform(w.location, 3857), b.env, 4096, 64, true) AS geom,
		w.id AS fid, w.id, w.grade, w.status, w.ever_overdue AS overdue, w.overdue_now
	FROM ` + whistlesIn + `
	CROSS JOIN bounds b
	WHERE w.status <> 'closed' AND w.location && b.env4326
)
SELECT ST_AsMVT(features.*, $7, 4096, 'geom', 'fid') FROM features WHERE geom IS NOT NULL`

// tileClues: $1 $2 $3 z, x, y, $4 the layer name, $5 $6 $7 the clues'
// jurisdiction (township, unit, prefixes: clueScope), $8 the window; clues
// reported in the last RateWindow (30 days) as points; properties id,
// source, category (code).
const tileClues = `
WITH bounds AS (
	SELECT ST_TileEnvelope($1, $2, $3) AS env, ST_Transform(ST_TileEnvelope($1, $2, $3), 4326) AS env4326
), features AS (
	SELECT ST_AsMVTGeom(ST_Transform(c.location, 3857), b.env, 4096, 64, true) AS geom,
		c.id AS fid, c.id, c.source, cat.code AS category
	FROM clues c
	JOIN categories cat ON cat.id = c.category_id
	JOIN grids t ON t.id = c.township_id
	JOIN grids hg ON hg.id = c.grid_id
	CROSS JOIN bounds b
	WHERE c.reported_at >= now() - $8::interval AND c.location && b.env4326 AND ` + clueScope + `
)
SELECT ST_AsMVT(features.*, $4, 4096, 'geom', 'fid') FROM features WHERE geom IS NOT NULL`

// tileClueClusters is tileClues below Layer.ClusterBelow: the same clues
// counted per cell of a ClusterCells-square grid over the tile (in EPSG:3857),
// one point per occupied cell at the mean of its clues, with point_count.
const tileClueClusters = `
WITH bounds AS (
	SELECT ST_TileEnvelope($1, $2, $3) AS env, ST_Transform(ST_TileEnvelope($1, $2, $3), 4326) AS env4326
), pts AS (
	SELECT ST_Transform(c.location, 3857) AS p, b.env
	FROM clues c
	JOIN grids t ON t.id = c.township_id
	JOIN grids hg ON hg.id = c.grid_id
	CROSS JOIN bounds b
	WHERE c.reported_at >= now() - $8::interval AND c.location && b.env4326 AND ` + clueScope + `
), cells AS (
	SELECT least(greatest(floor((ST_X(p) - ST_XMin(env)) / (ST_XMax(env) - ST_XMin(env)) * $9::int), 0), $9::int - 1)::int AS gx,
		least(greatest(floor((ST_YMax(env) - ST_Y(p)) / (ST_YMax(env) - ST_YMin(env)) * $9::int), 0), $9::int - 1)::int AS gy,
		ST_MakePoint(avg(ST_X(p)), avg(ST_Y(p))) AS p, count(*) AS point_count
	FROM pts GROUP BY 1, 2
), features AS (
	SELECT ST_AsMVTGeom(ST_SetSRID(cells.p, 3857), b.env, 4096, 64, true) AS geom,
		(gy * $9::int + gx + 1)::bigint AS fid, point_count, true AS cluster
	FROM cells CROSS JOIN bounds b
)
SELECT ST_AsMVT(features.*, $4, 4096, 'geom', 'fid') FROM features WHERE geom IS NOT NULL`

// Tile returns the Mapbox Vector Tile of layer at z/x/y for the caller
// (clues clustered below Layer.ClusterBelow):
// grids limited to the jurisdiction's code prefixes, whistles and clues by
// the live stream's rule (Visible). An empty tile is nil. z, x and y must
// be valid (0 <= z <= MaxZoom, 0 <= x, y < 2^z).
func (h *Hub) Tile(ctx context.Context, sc access.Scope, l Layer, z, x, y int) ([]byte, error) {
	if z < 0 || z > MaxZoom || x < 0 || y < 0 || x >= 1<<z || y >= 1<<z {
		return nil, fault.Errorf(ErrInvalid, "tile %d/%d/%d does not exist", z, x, y)
	}
	var q string
	var args []any
	switch l.Name {
	case "whistles", "clues":
		sq, err := scopeOf(sc, "")
		if err != nil {
			return nil, err
		}
		q, args = l.query, []any{sq.role, sq.grid, sq.unitID, z, x, y, l.Name}
		if l.Name == "clues" {
			args = []any{z, x, y, l.Name, sq.township, sq.unit, sq.prefixes, RateWindow}
			if z < l.ClusterBelow {
				q = tileClueClusters
				args = append(args, ClusterCells)
			}
		}
	default:
		q = fmt.Sprintf(l.query, access.PrefixClause("g.code", "$5"))
		args = []any{z, x, y, l.level, sc.Prefixes(), l.Name}
	}
	var tile []byte
	if err := h.pool.QueryRow(ctx, q, args...).Scan(&tile); err != nil {
		return nil, fmt.Errorf("live: tile %s %d/%d/%d: %w", l.Name, z, x, y, err)
	}
	if len(tile) == 0 {
		return nil, nil
	}
	return tile, nil
}

// tileBounds is the extent of the current district grids (WGS-84).
const tileBounds = `SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
FROM (SELECT ST_Extent(geom)::geometry AS e FROM grids WHERE level = 'district' AND valid_to IS NULL) s
WHERE e IS NOT NULL`

// TileBounds is the extent of the tiles' data, the district's outline, as
// minLon, minLat, maxLon, maxLat (WGS-84); false when there is no
// district yet.
func (h *Hub) TileBounds(ctx context.Context) ([4]float64, bool, error) {
	var b [4]float64
	err := h.pool.QueryRow(ctx, tileBounds).Scan(&b[0], &b[1], &b[2], &b[3])
	if errors.Is(err, pgx.ErrNoRows) {
		return b, false, nil
	}
	if err != nil {
		return b, false, fmt.Errorf("live: tile bounds: %w", err)
	}
	return b, true, nil
}

package live

import (
	"context"
	"fmt"
	"time"

	"whistlegrid/access"
	"whistlegrid/fault"
)

// Layer is one vector-tile layer of the wall map.
type Layer struct {
	Name   string
	MaxAge time.Duration // how long a client may cache a tile
	query  string
	level  string // the grid level of a grid layer, "" for whistles and clues
}

// LayerNames lists the tile layers, in the order the map draws them.
func LayerNames() []string {
	return []string{"township", "zone", "village", "household", "whistles", "clues"}
}

// TileLayer returns the layer called name.
func TileLayer(name string) (Layer, bool) {
	switch name {
	case "township", "zone", "village", "household":
		return Layer{Name: name, MaxAge: time.Hour, query: tileGrids, level: name}, true
	case "whistles":
		return Layer{Name: name, MaxAge: 5 * time.Second, query: tileWhistles}, true
	case "clues":
		return Layer{Name: name, MaxAge: 5 * time.Second, query: tileClues}, true
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
	SELECT ST_AsMVTGeom(ST_Transform(g.geom, 3857), b.env, 4096, 64, true) AS geom, g.code, g.name, g.level
	FROM grids g, bounds b
	WHERE g.level = $4 AND g.valid_to IS NULL AND g.geom && b.env4326 AND %s
)
SELECT ST_AsMVT(features.*, $6, 4096, 'geom') FROM features WHERE geom IS NOT NULL`

// tileWhistles: $1 $2 $3 are the jurisdiction (role, grid, unit:
// whistlesIn), $4 $5 $6 z, x, y; open whistles as points; properties id,
// grade, status, overdue_now and overdue (its older name, which the wall
// map reads; on an open whistle the same as ever_overdue).
const tileWhistles = `
WITH bounds AS (
	SELECT ST_TileEnvelope($4, $5, $6) AS env, ST_Transform(ST_TileEnvelope($4, $5, $6), 4326) AS env4326
), features AS (
	SELECT ST_AsMVTGeom(ST_Transform(w.location, 3857), b.env, 4096, 64, true) AS geom,
		w.id, w.grade, w.status, w.ever_overdue AS overdue, w.overdue_now
	FROM ` + whistlesIn + `
	CROSS JOIN bounds b
	WHERE w.status <> 'closed' AND w.location && b.env4326
)
SELECT ST_AsMVT(features.*, $7, 4096, 'geom') FROM features WHERE geom IS NOT NULL`

// tileClues: $1 $2 $3 z, x, y, $4 the layer name, $5 $6 $7 the clues'
// jurisdiction (township, unit, prefixes: clueScope), $8 the window; clues
// reported in the last RateWindow (30 days) as points; properties id,
// source, category (code).
const tileClues = `
WITH bounds AS (
	SELECT ST_TileEnvelope($1, $2, $3) AS env, ST_Transform(ST_TileEnvelope($1, $2, $3), 4326) AS env4326
), features AS (
	SELECT ST_AsMVTGeom(ST_Transform(c.location, 3857), b.env, 4096, 64, true) AS geom,
		c.id, c.source, cat.code AS category
	FROM clues c
	JOIN categories cat ON cat.id = c.category_id
	JOIN grids t ON t.id = c.township_id
	JOIN grids hg ON hg.id = c.grid_id
	CROSS JOIN bounds b
	WHERE c.reported_at >= now() - $8::interval AND c.location && b.env4326 AND ` + clueScope + `
)
SELECT ST_AsMVT(features.*, $4, 4096, 'geom') FROM features WHERE geom IS NOT NULL`

// Tile returns the Mapbox Vector Tile of layer at z/x/y for the caller:
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

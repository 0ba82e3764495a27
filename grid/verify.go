package grid

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"

	"whistlegrid/grid/index"
)

// Mismatch is a point where the placement index and PostGIS disagree.
type Mismatch struct {
	Point   orb.Point
	Index   string   // the household grid code the index chose, "" for none
	PostGIS []string // the household grids PostGIS ST_Covers, by code
}

// VerifyPoints are the points a verification runs on.
type VerifyPoints struct {
	Random   int // uniformly random points in the district's bounding box
	Vertices int // vertices of household grids (0: none; -1: all)
	Edges    int // midpoints of household grid edges (0: none; -1: all)
	Seed     uint64
}

// SamplePoints collects the points of vp from the current household grids:
// random ones over the bounding box of all grids, and (a random sample of,
// or all) vertices and edge midpoints, read from PostGIS as stored.
func SamplePoints(ctx context.Context, pool *pgxpool.Pool, vp VerifyPoints) ([]orb.Point, error) {
	var pts []orb.Point
	rnd := rand.New(rand.NewPCG(vp.Seed, 0x5eed))
	if vp.Random > 0 {
		var x0, y0, x1, y1 float64
		err := pool.QueryRow(ctx, `SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
			FROM (SELECT ST_Extent(geom)::geometry AS e FROM grids WHERE level = 'household' AND valid_to IS NULL) x`).Scan(&x0, &y0, &x1, &y1)
		if err != nil {
			return nil, fmt.Errorf("grid: verify: extent: %w", err)
		}
		// a margin outside the grids, so "outside" is tested too
		dx, dy := (x1-x0)*0.02, (y1-y0)*0.02
		for range vp.Random {
			pts = append(pts, orb.Point{x0 - dx + rnd.Float64()*(x1-x0+2*dx), y0 - dy + rnd.Float64()*(y1-y0+2*dy)})
		}
	}
	for _, q := range []struct {
		n   int
		sql string
	}{
		{vp.Vertices, `SELECT ST_X(d.geom), ST_Y(d.geom) FROM grids g, ST_DumpPoints(g.geom) d
			WHERE g.level = 'household' AND g.valid_to IS NULL`},
		{vp.Edges, `SELECT (ST_X(a) + ST_X(b)) / 2, (ST_Y(a) + ST_Y(b)) / 2 FROM (
			SELECT ST_PointN(x.l, i) AS a, ST_PointN(x.l, i + 1) AS b
			FROM grids g, ST_Dump(g.geom) p, ST_DumpRings(p.geom) r,
				LATERAL (SELECT ST_ExteriorRing(r.geom) AS l) x,
				generate_series(1, ST_NPoints(x.l) - 1) i
			WHERE g.level = 'household' AND g.valid_to IS NULL) s`},
	} {
		if q.n == 0 {
			continue
		}
		rows, err := pool.Query(ctx, q.sql)
		if err != nil {
			return nil, fmt.Errorf("grid: verify: %w", err)
		}
		all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (orb.Point, error) {
			var p orb.Point
			err := r.Scan(&p[0], &p[1])
			return p, err
		})
		if err != nil {
			return nil, fmt.Errorf("grid: verify: %w", err)
		}
		if q.n > 0 && q.n < len(all) {
			rnd.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
			all = all[:q.n]
		}
		pts = append(pts, all...)
	}
	return pts, nil
}

// Verify places every point with ix and asks PostGIS which current
// household grids ST_Covers it (one set-based join). The Index must answer
// the lowest code among them, and nothing where PostGIS finds none, by
// Locate and by LocateAll alike. It returns the points where they
// disagree.
func Verify(ctx context.Context, pool *pgxpool.Pool, ix *index.Index, pts []orb.Point) ([]Mismatch, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("grid: verify: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS verify_points (id int PRIMARY KEY, x float8, y float8); TRUNCATE verify_points`); err != nil {
		return nil, fmt.Errorf("grid: verify: %w", err)
	}
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"verify_points"}, []string{"id", "x", "y"},
		pgx.CopyFromSlice(len(pts), func(i int) ([]any, error) { return []any{i, pts[i][0], pts[i][1]}, nil }))
	if err != nil {
		return nil, fmt.Errorf("grid: verify: %w", err)
	}
	rows, err := conn.Query(ctx, `
		SELECT p.id, coalesce(array_agg(g.code ORDER BY g.code) FILTER (WHERE g.code IS NOT NULL), '{}')
		FROM verify_points p
		LEFT JOIN grids g ON g.level = 'household' AND g.valid_to IS NULL
			AND ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326))
		GROUP BY p.id`)
	if err != nil {
		return nil, fmt.Errorf("grid: verify: %w", err)
	}
	defer rows.Close()
	batch := make([]int64, len(pts))
	ix.LocateAll(pts, batch)
	var out []Mismatch
	seen := 0
	for rows.Next() {
		var id int
		var codes []string
		if err := rows.Scan(&id, &codes); err != nil {
			return nil, fmt.Errorf("grid: verify: %w", err)
		}
		seen++
		got := ""
		hid, ok := ix.Locate(pts[id])
		if ok {
			if chain, ok := ix.Chain(hid); ok && len(chain) > 0 {
				got = chain[0].Code
			}
		}
		want := ""
		if len(codes) > 0 {
			want = codes[0]
		}
		if batch[id] != hid {
			got = fmt.Sprintf("%s (LocateAll: household grid ID %d)", got, batch[id])
		}
		if got != want {
			out = append(out, Mismatch{Point: pts[id], Index: got, PostGIS: codes})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("grid: verify: %w", err)
	}
	if seen != len(pts) {
		return nil, fmt.Errorf("grid: verify: PostGIS answered %d of %d points", seen, len(pts))
	}
	return out, nil
}

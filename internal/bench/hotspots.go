package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/uber/h3-go/v4"

	"whistlegrid/geo"
	"whistlegrid/hotspot"
)

// HotspotsOptions sizes Hotspots and HotspotsSQL.
type HotspotsOptions struct {
	Clues  int    // synthetic clues (default 1,000,000)
	Runs   int    // timed runs, the best is reported (default 5)
	Verify int    // clues whose cell is checked against h3-go's LatLngToCell (default 100,000)
	Seed   uint64 // random seed of the synthetic clues
}

func (o HotspotsOptions) withDefaults() HotspotsOptions {
	if o.Clues == 0 {
		o.Clues = 1_000_000
	}
	if o.Runs == 0 {
		o.Runs = 5
	}
	if o.Verify == 0 {
		o.Verify = 100_000
	}
	return o
}

// HotspotsReport is what `whistlegrid bench hotspots` measures: one Gi*
// run end to end over synthetic clues in the 延庆区 box (lon 115.8–116.6,
// lat 40.3–40.8, about 3,800 km²) at resolution 9, k = 1, alpha 0.05,
// with the box's cells as the study area, through hotspot's API as
// hotspot.Analyze runs it. Times are milliseconds, the best of Runs; Total
// is one uninterrupted run of all four stages.
type HotspotsReport struct {
	Clues      int     `json:"clues"`
	Cells      int     `json:"cells"` // cells in the study area, n
	Cores      int     `json:"cores"`
	BinMS      float64 `json:"bin_ms"`     // hotspot.Bin: clues to cell counts, all cores
	WeightsMS  float64 `json:"weights_ms"` // hotspot.NewArea: k-ring weights of the study area
	GiStarMS   float64 `json:"gistar_ms"`  // counts in the area's order, Area.GiStar
	FDRMS      float64 `json:"fdr_ms"`     // Area.PValues (negative binomial) and the two Benjamini–Hochberg cuts
	TotalMS    float64 `json:"total_ms"`
	NsPerClue  float64 `json:"ns_per_clue"` // TotalMS per clue
	Hot        int     `json:"hot"`         // cells classed hot
	Cold       int     `json:"cold"`        // cells classed cold
	Verified   int     `json:"verified"`    // clues checked against LatLngToCell
	Mismatches int     `json:"mismatches"`  // of those, cells that differ (must be 0)
}

// The benchmark box and its planted clusters (lon, lat, share of clues).
var (
	hotspotsBox      = [4]float64{115.8, 116.6, 40.3, 40.8} // lon0, lon1, lat0, lat1
	hotspotsClusters = [][3]float64{
		{115.975, 40.457, 0.02}, // 延庆城区
		{116.013, 40.358, 0.01}, // 八达岭
		{116.360, 40.580, 0.01}, // 四海
	}
)

// Hotspots generates synthetic clues (uniform over the box plus three
// dense clusters) and times binning, weights, Gi* and the FDR cut on them;
// then checks that binning put each of the first o.Verify clues in the
// cell h3-go's LatLngToCell gives.
func Hotspots(o HotspotsOptions) (HotspotsReport, error) {
	o = o.withDefaults()
	pts := HotspotsClues(o)
	cells := hotspotsBoxCells(hotspot.DefaultResolution)
	rep := HotspotsReport{Clues: len(pts), Cells: len(cells), Cores: runtime.GOMAXPROCS(0)}
	for run := range o.Runs {
		st, err := hotspotsRun(pts, cells)
		if err != nil {
			return rep, err
		}
		if run == 0 || st.total < time.Duration(rep.TotalMS*1e6) {
			rep.TotalMS = hotspotsMS(st.total)
		}
		if run == 0 {
			rep.BinMS, rep.WeightsMS, rep.GiStarMS, rep.FDRMS = hotspotsMS(st.bin), hotspotsMS(st.weights), hotspotsMS(st.gistar), hotspotsMS(st.fdr)
			rep.Hot, rep.Cold = st.hot, st.cold
		}
		rep.BinMS = min(rep.BinMS, hotspotsMS(st.bin))
		rep.WeightsMS = min(rep.WeightsMS, hotspotsMS(st.weights))
		rep.GiStarMS = min(rep.GiStarMS, hotspotsMS(st.gistar))
		rep.FDRMS = min(rep.FDRMS, hotspotsMS(st.fdr))
	}
	rep.NsPerClue = rep.TotalMS * 1e6 / float64(len(pts))

	// Every verified clue's cell, from binning, must be LatLngToCell's.
	sample := pts[:min(o.Verify, len(pts))]
	got, err := hotspot.Bin(sample, hotspot.DefaultResolution)
	if err != nil {
		return rep, err
	}
	want := map[h3.Cell]int{}
	for _, p := range sample {
		want[h3.LatLngToCell(h3.NewLatLng(p.Lat, p.Lon), hotspot.DefaultResolution)]++
	}
	rep.Verified = len(sample)
	for c, n := range got {
		if d := n - want[c]; d != 0 {
			rep.Mismatches += max(d, -d)
		}
		delete(want, c)
	}
	for _, n := range want {
		rep.Mismatches += n
	}
	return rep, nil
}

func hotspotsMS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// hotspotsStages are the durations of one hotspotsRun.
type hotspotsStages struct {
	bin, weights, gistar, fdr, total time.Duration
	hot, cold                        int
}

// hotspotsRun is one Gi* run as hotspot.Analyze does it with a district
// area (Options.Area), with the area's weights built inside the run.
func hotspotsRun(pts []hotspot.Point, cells []h3.Cell) (hotspotsStages, error) {
	var st hotspotsStages
	t0 := time.Now()
	counts, err := hotspot.Bin(pts, hotspot.DefaultResolution)
	if err != nil {
		return st, err
	}
	t1 := time.Now()
	area, err := hotspot.NewArea(cells, hotspot.DefaultK)
	if err != nil {
		return st, err
	}
	t2 := time.Now()
	// the counts in the area's order; clues outside the area drop out
	cells = area.Cells()
	x := make([]float64, len(cells))
	for i, c := range cells {
		x[i] = float64(counts[c])
	}
	if _, err := area.GiStar(x); err != nil {
		return st, err
	}
	t3 := time.Now()
	up, down, err := area.PValues(x)
	if err != nil {
		return st, err
	}
	hot := hotspot.BenjaminiHochberg(up, hotspot.DefaultAlpha)
	cold := hotspot.BenjaminiHochberg(down, hotspot.DefaultAlpha)
	for i := range hot {
		switch {
		case hot[i]:
			st.hot++
		case cold[i]:
			st.cold++
		}
	}
	t4 := time.Now()
	st.bin, st.weights, st.gistar, st.fdr, st.total = t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), t4.Sub(t3), t4.Sub(t0)
	return st, nil
}

// hotspotsBoxCells returns the cells at res whose centres lie in the box.
func hotspotsBoxCells(res int) []h3.Cell {
	b := hotspotsBox
	loop := h3.GeoLoop{
		{Lat: b[2], Lng: b[0]}, {Lat: b[2], Lng: b[1]},
		{Lat: b[3], Lng: b[1]}, {Lat: b[3], Lng: b[0]},
	}
	return h3.PolygonToCells(h3.GeoPolygon{GeoLoop: loop}, res)
}

// HotspotsClues are the synthetic clues Hotspots analyses for o, for a
// baseline to run on the same points: each cluster (lon, lat, share) gets
// share·o.Clues clues in a normal spread of 150 m around its centre, the
// rest are uniform over the box. Times are uniform over the 12 weeks from
// Monday 6 January 2025, Beijing time. The same seed gives the same clues.
func HotspotsClues(o HotspotsOptions) []hotspot.Point {
	o = o.withDefaults()
	const sigmaM = 150
	n := o.Clues
	r := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, geo.Beijing)
	span := int64(12 * 7 * 24 * time.Hour)
	pts := make([]hotspot.Point, 0, n)
	at := func() time.Time { return start.Add(time.Duration(r.Int64N(span))) }
	for _, c := range hotspotsClusters {
		mLon := 111320 * math.Cos(c[1]*math.Pi/180)
		for range int(c[2] * float64(n)) {
			pts = append(pts, hotspot.Point{Lon: c[0] + r.NormFloat64()*sigmaM/mLon, Lat: c[1] + r.NormFloat64()*sigmaM/110574, At: at()})
		}
	}
	b := hotspotsBox
	for len(pts) < n {
		pts = append(pts, hotspot.Point{
			Lon: b[0] + (b[1]-b[0])*r.Float64(),
			Lat: b[2] + (b[3]-b[2])*r.Float64(),
			At:  at(),
		})
	}
	r.Shuffle(len(pts), func(i, j int) { pts[i], pts[j] = pts[j], pts[i] })
	return pts
}

// HotspotsSQLReport is the baseline's run: the square-grid Gi* in PostGIS
// over the clues of HotspotsClues.
type HotspotsSQLReport struct {
	Clues int     `json:"clues"`
	MS    float64 `json:"ms"`   // the query, from sending it to its last row
	Rows  int     `json:"rows"` // squares with clues or a hot result
	Hot   int     `json:"hot"`  // squares classed hot
}

// HotspotsSideM is the side in metres of the squares HotspotsSQL bins on:
// the area of an H3 resolution-9 cell (about 0.105 km²).
const HotspotsSideM = 324.0

// HotspotsSQL loads the clues of HotspotsClues(o) into a table
// hotspot_points of pool's database, which must be a scratch database
// without it, and times hotspotsSQL over them with squares of
// HotspotsSideM, the box as the study area and a false discovery rate of
// 0.05.
func HotspotsSQL(ctx context.Context, pool *pgxpool.Pool, o HotspotsOptions) (HotspotsSQLReport, error) {
	pts := HotspotsClues(o)
	rep := HotspotsSQLReport{Clues: len(pts)}
	if _, err := pool.Exec(ctx, `CREATE TABLE hotspot_points (geom geometry(Point, 4326))`); err != nil {
		return rep, err
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE hotspot_xy (x float8, y float8)`); err != nil {
		return rep, err
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"hotspot_xy"}, []string{"x", "y"},
		pgx.CopyFromSlice(len(pts), func(i int) ([]any, error) { return []any{pts[i].Lon, pts[i].Lat}, nil })); err != nil {
		return rep, err
	}
	if _, err := pool.Exec(ctx, `INSERT INTO hotspot_points SELECT ST_SetSRID(ST_MakePoint(x, y), 4326) FROM hotspot_xy`); err != nil {
		return rep, err
	}
	t0 := time.Now()
	rows, err := pool.Query(ctx, hotspotsSQL, HotspotsSideM, hotspotsArea(), hotspot.DefaultAlpha)
	if err != nil {
		return rep, err
	}
	for rows.Next() {
		var hot bool
		if err := rows.Scan(nil, nil, nil, nil, nil, &hot, nil); err != nil {
			return rep, err
		}
		rep.Rows++
		if hot {
			rep.Hot++
		}
	}
	if err := rows.Err(); err != nil {
		return rep, err
	}
	rep.MS = hotspotsMS(time.Since(t0))
	return rep, nil
}

// hotspotsArea is the box as EWKT, the study area hotspotsSQL takes.
func hotspotsArea() string {
	b := hotspotsBox
	return fmt.Sprintf("SRID=4326;POLYGON((%f %f,%f %f,%f %f,%f %f,%f %f))",
		b[0], b[2], b[1], b[2], b[1], b[3], b[0], b[3], b[0], b[2])
}

// hotspotsSQL is the same analysis written for PostGIS, over every row of
// a table hotspot_points(geom geometry(Point, 4326)), as the baseline
// HotspotsSQL times beside Hotspots. h3-pg is not packaged for this
// system's PostgreSQL 15, so it bins on a square grid instead of H3
// hexagons: squares of $1 metres in UTM zone 50N (EPSG:32650, which covers
// 114°E–120°E and so all of Beijing), neighbours the 3×3 block (the square
// grid's k = 1, 9 cells where a hexagon has 7). Everything else is
// hotspot's method with normal p-values (hotspot.PNormal): the study area
// is every square meeting the area polygon $2 (geometry, SRID 4326), empty
// squares count as zeros, Gi* with x̄ and S over all of them, the
// upper-tail p-value 1 − Φ(z) by Abramowitz and Stegun 26.2.17 (absolute
// error below 7.5e-8; PostgreSQL 15 has no erf), and the Benjamini–
// Hochberg cut at $3 over all squares. The answer is one row per square
// with clues or with a hot result: i, j (the square's column and row),
// count, z, p, hot, and the square as GeoJSON text in SRID 4326, hottest
// first. The planner cannot estimate ST_SquareGrid's rows: over the
// bench's million clues it joins area and counts by hash, but over a few
// tens of thousands it nests that loop and recounts the points for every
// square, for many minutes.
const hotspotsSQL = `WITH pts AS (SELECT geom FROM hotspot_points),
area AS (
    SELECT g.i, g.j
    FROM ST_SquareGrid($1::float8, ST_Transform($2::geometry, 32650)) AS g
    WHERE ST_Intersects(g.geom, ST_Transform($2::geometry, 32650))
),
counts AS (
    SELECT floor(ST_X(p) / $1::float8)::int AS i, floor(ST_Y(p) / $1::float8)::int AS j, count(*)::float8 AS x
    FROM (SELECT ST_Transform(geom, 32650) AS p FROM pts) AS t
    GROUP BY 1, 2
),
cells AS (
    SELECT a.i, a.j, coalesce(c.x, 0) AS x
    FROM area AS a LEFT JOIN counts AS c USING (i, j)
),
stats AS MATERIALIZED (
    SELECT count(*)::float8 AS n, avg(x) AS mean, sqrt(greatest(avg(x * x) - avg(x) * avg(x), 0)) AS s
    FROM cells
),
local AS (
    -- each cell adds its count to itself and its 8 neighbours; the sums
    -- that land on a cell of the area are its neighbourhood's (a GROUP BY
    -- on the shifted keys, not a self-join: the planner cannot estimate
    -- ST_SquareGrid's rows and would nest the join loop, 9·n² steps)
    SELECT i, j, max(x) FILTER (WHERE self) AS x, sum(x) AS wx, count(*)::float8 AS w
    FROM (SELECT c.i + d.di AS i, c.j + d.dj AS j, c.x, d.di = 0 AND d.dj = 0 AS self
          FROM cells AS c
          CROSS JOIN (VALUES (-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 0), (0, 1), (1, -1), (1, 0), (1, 1)) AS d (di, dj)) AS spread
    GROUP BY i, j
    HAVING bool_or(self)
),
scored AS (
    SELECT l.i, l.j, l.x,
           CASE WHEN st.s = 0 OR l.w >= st.n THEN 0
                ELSE (l.wx - st.mean * l.w) / (st.s * sqrt((st.n * l.w - l.w * l.w) / (st.n - 1)))
           END AS z
    FROM local AS l CROSS JOIN stats AS st
),
tails AS (
    SELECT i, j, x, z,
           exp(-least(z * z / 2, 700)) / sqrt(2 * pi()) * t * (0.319381530 + t * (-0.356563782
               + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429)))) AS q
    FROM (SELECT *, 1 / (1 + 0.2316419 * abs(z)) AS t FROM scored) AS u
),
ranked AS (
    SELECT i, j, x, z, CASE WHEN z >= 0 THEN q ELSE 1 - q END AS p,
           row_number() OVER (ORDER BY CASE WHEN z >= 0 THEN q ELSE 1 - q END) AS r,
           count(*) OVER () AS m
    FROM tails
),
cut AS MATERIALIZED (
    SELECT coalesce(max(p) FILTER (WHERE p <= r * $3::float8 / m), -1) AS pcut FROM ranked
)
SELECT r.i, r.j, r.x::bigint AS count, r.z, r.p, r.p <= cut.pcut AS hot,
       ST_AsGeoJSON(ST_Transform(ST_MakeEnvelope(r.i * $1::float8, r.j * $1::float8,
           (r.i + 1) * $1::float8, (r.j + 1) * $1::float8, 32650), 4326))::text AS geojson
FROM ranked AS r CROSS JOIN cut
WHERE r.x > 0 OR r.p <= cut.pcut
ORDER BY r.z DESC`

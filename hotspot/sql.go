package hotspot

// The same analysis written for PostGIS, as the baseline that `whistlegrid
// bench hotspots` times beside BenchEndToEnd. h3-pg is not packaged for
// this system's PostgreSQL 15, so the SQL bins on a square grid instead of
// H3 hexagons: squares of $1 metres in UTM zone 50N (EPSG:32650, which
// covers 114°E–120°E and so all of Beijing), neighbours the 3×3 block
// (the square grid's k = 1, 9 cells where a hexagon has 7). Everything
// else is the package's method with normal p-values (PNormal): the study
// area is every square meeting the area polygon $2 (geometry, SRID 4326),
// empty squares count as zeros, Gi* with x̄ and S over all of them, the
// upper-tail p-value 1 − Φ(z) by Abramowitz and Stegun 26.2.17 (absolute
// error below 7.5e-8; PostgreSQL 15 has no erf), and the Benjamini–
// Hochberg cut at $3 over all squares. The answer is one row per square
// with clues or with a hot result: i, j (the square's column and row),
// count, z, p, hot, and the square as GeoJSON text in SRID 4326, hottest
// first.

// giStarSquareBody is the analysis over a CTE pts(geom) of points in SRID
// 4326 defined before it.
const giStarSquareBody = `
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

// GiStarCluesSQL runs the square-grid Gi* over the clues reported in
// [$4, $5) (timestamptz). Binds: $1 square size in metres (330 m squares
// have the area of a resolution 9 hexagon in 延庆区: 0.11 km²; 280 m the
// 0.076 km² it really is there), $2 the study area (geometry, SRID 4326),
// $3 the false discovery rate (0.05), $4 and $5 the time window. Further
// filters (category, source, township) go into its first line.
const GiStarCluesSQL = `WITH pts AS (
    SELECT location AS geom FROM clues WHERE reported_at >= $4 AND reported_at < $5
),` + giStarSquareBody

// GiStarPointsSQL is GiStarCluesSQL over every row of a table
// hotspot_points(geom geometry(Point, 4326)), for the benchmark: load the
// same synthetic clues BenchEndToEnd uses (with CopyFrom) into a temporary
// table of that name. Binds $1 to $3 as in GiStarCluesSQL.
const GiStarPointsSQL = `WITH pts AS (SELECT geom FROM hotspot_points),` + giStarSquareBody

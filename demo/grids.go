package demo

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// townshipSites places each township's seat (lon/lat, WGS-84) where the
// real one roughly is, says whether the township is mountain country (fewer,
// larger household grids), and may add more seats that pull the township's
// outline their way: 延庆镇 rings the town, whose three subdistricts share
// the centre.
const townshipSites = `
110119001|115.962|40.463|plain|
110119002|115.985|40.470|plain|
110119003|115.975|40.448|plain|
110119100|116.000|40.450|plain|116.000 40.492;115.950 40.492;115.925 40.457;115.950 40.422;116.000 40.422
110119101|115.900|40.410|plain|
110119102|116.000|40.340|mountain|
110119103|116.150|40.520|plain|
110119104|116.050|40.530|plain|
110119105|115.850|40.490|plain|
110119106|116.400|40.530|mountain|
110119107|116.330|40.700|mountain|
110119108|116.050|40.470|plain|
110119109|115.980|40.400|plain|
110119110|116.100|40.430|mountain|
110119200|116.250|40.420|mountain|
110119201|116.250|40.550|mountain|
110119202|116.120|40.580|mountain|
110119203|116.490|40.600|mountain|
`

// Sizes of the generated partition, in degrees (about 111 km north-south,
// 85 km east-west at 40.5°N).
const (
	jitterSubdistrict = 0.002 // how far a subdistrict seat may move from its site
	jitterTownship    = 0.010 // the same for towns and townships
	insetDistrict     = 0.003 // seats stay this far inside the district
	communityRadius   = 0.004 // communities of a town cluster within this of its seat
	communityReach    = 0.005 // a town's community reaches no farther than this from its point
	villageClearance  = 0.010 // villages of a town keep this far from its seat (> radius + reach)
)

// Totals the demo aims at; the split over villages and grids follows weights.
const (
	totalHouseholdGrids = 5000
	totalHouseholds     = 100_000
)

// township and village are the demo's plan of the divisions, before geometry.
type township struct {
	code, name, kind string
	lon, lat         float64      // the seat
	more             [][2]float64 // more seats (lon, lat)
	mountain         bool
}

type village struct {
	code, name, kind, township string // name is the short form, e.g. 小丰营村
	mountain                   bool
	ord                        int // 1-based among villages of its kind in its township
	grids                      int // household grids
}

// planDivisions turns the divisions of 延庆区 into the townships (with
// jittered seats) and villages of the demo.
func planDivisions(divs []Division, seed int64) (Division, []township, []village, error) {
	var district Division
	var towns []township
	var vills []village
	sites := map[string][]string{}
	for _, l := range lines(townshipSites) {
		f := strings.Split(l, "|")
		sites[f[0]] = f[1:]
	}
	r := stream(seed, "township seats")
	mountain := map[string]bool{}
	count := map[[2]string]int{}
	for _, d := range divs {
		switch d.Level {
		case "district":
			district = d
		case "township":
			site, ok := sites[d.Code]
			if !ok {
				return district, nil, nil, fmt.Errorf("demo: no site for township %s %s", d.Code, d.Name)
			}
			t := township{code: d.Code, name: d.Name, kind: townshipKind(d.Name), mountain: site[2] == "mountain"}
			t.lon, _ = strconv.ParseFloat(site[0], 64)
			t.lat, _ = strconv.ParseFloat(site[1], 64)
			j := jitterTownship
			if t.kind == "subdistrict" {
				j = jitterSubdistrict
			}
			t.lon += uniform(r, -j, j)
			t.lat += uniform(r, -j, j)
			for _, pt := range strings.Split(site[3], ";") {
				var lon, lat float64
				if _, err := fmt.Sscan(pt, &lon, &lat); err == nil {
					t.more = append(t.more, [2]float64{lon + uniform(r, -j, j), lat + uniform(r, -j, j)})
				}
			}
			mountain[t.code] = t.mountain
			towns = append(towns, t)
		case "village":
			v := village{code: d.Code, name: shortName(d.Name), kind: villageKind(d.Name), township: d.ParentCode, mountain: mountain[d.ParentCode]}
			key := [2]string{v.township, v.kind}
			count[key]++
			v.ord = count[key]
			vills = append(vills, v)
		}
	}
	if district.Code == "" || len(towns) == 0 || len(vills) == 0 {
		return district, nil, nil, fmt.Errorf("demo: divisions lack a district, townships or villages")
	}
	return district, towns, vills, nil
}

// townshipKind: 街道 → subdistrict, 镇 → town, 乡 → township.
func townshipKind(name string) string {
	switch {
	case strings.HasSuffix(name, "街道"):
		return "subdistrict"
	case strings.HasSuffix(name, "镇"):
		return "town"
	default:
		return "township"
	}
}

// villageKind: a 社区 or 居委会 is an urban community, the rest are villages.
func villageKind(name string) string {
	if strings.Contains(name, "社区") || strings.Contains(name, "居委会") {
		return "community"
	}
	return "village"
}

// shortName drops the committee suffix the official list carries:
// 湖南社区居委会 → 湖南社区, 小丰营村委会 → 小丰营村.
func shortName(name string) string {
	for _, s := range []string{"居委会", "委会"} {
		if n, ok := strings.CutSuffix(name, s); ok && n != "" {
			return n
		}
	}
	return name
}

// The geometry pipeline works in temporary tables that vanish at commit.
// It first draws the plan top-down, each level a seeded Voronoi partition
// clipped to its parent: township seats partition the district, village
// points the townships, household-grid points the villages. The plan only
// decides which point belongs to which village and township. The final
// household grids are then the cells of one Voronoi diagram of all
// household-grid points, clipped to the district, and every parent is the
// union of its children (village ← household grids, zone ← villages,
// township ← zones, district ← townships). Siblings thus share edges vertex
// for vertex, so each grid is exactly ST_Covers-inside its parent, the
// parents partition their own parents, and the district keeps its outline.
// (Clipping each level to its parent instead leaves a child's new vertices
// a rounding error outside the parent's edges.)
const createWorkTables = `
CREATE TEMP TABLE demo_district (geom geometry) ON COMMIT DROP;
CREATE TEMP TABLE demo_seat (code text, main bool, pt geometry) ON COMMIT DROP;
CREATE TEMP TABLE demo_township (code text PRIMARY KEY, name text, kind text, pt geometry, geom geometry, urban geometry) ON COMMIT DROP;
CREATE TEMP TABLE demo_village (code text PRIMARY KEY, name text, kind text, township_code text, ord int, pt geometry, geom geometry, zone_code text) ON COMMIT DROP;
CREATE TEMP TABLE demo_zone (code text PRIMARY KEY, name text, township_code text, geom geometry) ON COMMIT DROP;
CREATE TEMP TABLE demo_hgrid (code text, name text, village_code text, pt geometry, geom geometry) ON COMMIT DROP;
CREATE INDEX ON demo_hgrid (code);
CREATE INDEX ON demo_hgrid (village_code);
`

// repairDistrict stores the outline made valid and polygonal, and reports
// what was wrong with it.
const repairDistrict = `
WITH raw AS (SELECT ST_SetSRID(ST_GeomFromGeoJSON($1), 4326) AS geom),
ins AS (
    INSERT INTO demo_district (geom)
    SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(geom), 3)) FROM raw
    RETURNING geom)
SELECT ST_IsValidReason(raw.geom), ST_Area(raw.geom::geography) / 1e6, ST_Area(ins.geom::geography) / 1e6
FROM raw, ins`

// seatTownships stores the seats, each moved inside the district when the
// jitter took it out; insertTownshipPlan the townships with their main seat.
const seatTownships = `
INSERT INTO demo_seat (code, main, pt)
SELECT s.code, s.main, CASE WHEN ST_Covers(i.geom, p.pt) THEN p.pt ELSE ST_ClosestPoint(i.geom, p.pt) END
FROM unnest($1::text[], $2::bool[], $3::float8[], $4::float8[]) AS s(code, main, lon, lat)
CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326) AS pt) p
CROSS JOIN (SELECT ST_Buffer(geom, -$5::float8) AS geom FROM demo_district) i`

const insertTownshipPlan = `
INSERT INTO demo_township (code, name, kind, pt)
SELECT t.code, t.name, t.kind, s.pt
FROM unnest($1::text[], $2::text[], $3::text[]) AS t(code, name, kind)
JOIN demo_seat s ON s.code = t.code AND s.main`

// partitionDistrict cuts the district into the Voronoi cells of the
// seats; a township is the cells of its seats.
const partitionDistrict = `
UPDATE demo_township t SET geom = u.geom
FROM (SELECT s.code, ST_Multi(ST_Union(ST_CollectionExtract(ST_Intersection(v.cell, d.geom), 3))) AS geom
      FROM demo_district d
      CROSS JOIN LATERAL (SELECT (ST_Dump(ST_VoronoiPolygons(ST_Collect(pt), 0, d.geom))).geom AS cell FROM demo_seat) v
      JOIN demo_seat s ON ST_Contains(v.cell, s.pt)
      GROUP BY s.code) u
WHERE u.code = t.code`

// seedVillages places the villages' generating points in the part of
// their township that holds its seat: the communities of a town close
// around the seat, its villages over the rest (all of it when the clearance
// would leave too little), and the communities of a subdistrict all over
// it. ST_GeneratePoints is seeded, so the same seeds give the same points.
// On a MultiPolygon it rounds each part's share of the points, so it may
// return a few more or fewer than asked: every call here asks for one extra
// point per part and keeps the first n.
const seedVillages = `
WITH t AS (
    SELECT t.code, t.kind, t.pt, m.geom
    FROM demo_township t
    CROSS JOIN LATERAL (SELECT d.geom FROM ST_Dump(t.geom) AS d
                        ORDER BY ST_Intersects(d.geom, t.pt) DESC, ST_Area(d.geom) DESC LIMIT 1) m
), g AS (
    SELECT s.township_code, s.kind, s.n, s.seed,
           CASE WHEN t.kind = 'subdistrict' THEN t.geom
                WHEN s.kind = 'community' THEN ST_CollectionExtract(ST_Intersection(t.geom, ST_Buffer(t.pt, $5::float8)), 3)
                ELSE coalesce(o.geom, t.geom) END AS area
    FROM unnest($1::text[], $2::text[], $3::int[], $4::int[]) AS s(township_code, kind, n, seed)
    JOIN t ON t.code = s.township_code
    LEFT JOIN LATERAL (
        SELECT x.geom FROM (SELECT ST_CollectionExtract(ST_Difference(t.geom, ST_Buffer(t.pt, $6::float8)), 3) AS geom) x
        WHERE ST_Area(x.geom) > 0.3 * ST_Area(t.geom)) o ON true
), p AS (
    SELECT g.township_code, g.kind, coalesce(d.path[1], 1) AS ord, d.geom AS pt
    FROM g CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(g.area, g.n + ST_NumGeometries(g.area), g.seed)) AS d
)
UPDATE demo_village v SET pt = p.pt
FROM p WHERE v.township_code = p.township_code AND v.kind = p.kind AND v.ord = p.ord`

// urbanTownships marks each township's urban part: all of a
// subdistrict; in a town, the land within communityReach of its
// communities' points; nothing (NULL) where there are no communities.
const urbanTownships = `
UPDATE demo_township t
SET urban = CASE WHEN t.kind = 'subdistrict' THEN t.geom ELSE
    (SELECT ST_CollectionExtract(ST_Intersection(t.geom, ST_Union(ST_Buffer(v.pt, $1::float8))), 3)
     FROM demo_village v WHERE v.township_code = t.code AND v.kind = 'community') END`

// partitionTownships cuts every township into villages: its urban part
// into the Voronoi cells of its communities' points, the rest into those of
// its villages' points. (A single point's cell is the whole extent:
// ST_VoronoiPolygons returns nothing for one point.)
const partitionTownships = `
UPDATE demo_village v SET geom = c.geom
FROM (SELECT x.township_code, x.kind, x.cell, ST_Multi(ST_CollectionExtract(ST_Intersection(x.cell, x.area), 3)) AS geom
      FROM (SELECT s.township_code, s.kind, a.area,
                   (ST_Dump(CASE WHEN ST_NumGeometries(s.pts) > 1 THEN ST_VoronoiPolygons(s.pts, 0, t.geom)
                                 ELSE ST_Expand(ST_Envelope(t.geom), 0.01) END)).geom AS cell
            FROM (SELECT township_code, kind, ST_Collect(pt) AS pts FROM demo_village GROUP BY township_code, kind) s
            JOIN demo_township t ON t.code = s.township_code
            CROSS JOIN LATERAL (
                SELECT CASE WHEN s.kind = 'community' THEN coalesce(t.urban, t.geom)
                            WHEN t.urban IS NULL OR ST_IsEmpty(t.urban) THEN t.geom
                            ELSE ST_Difference(t.geom, t.urban) END AS area) a) x) c
WHERE v.township_code = c.township_code AND v.kind = c.kind AND ST_Contains(c.cell, v.pt)`

// seedHouseholdGrids places n points in the part of each village that
// holds the village's point (see seedVillages for the extra points), and
// names the grid each will generate: village code + three digits,
// 湖南社区第3户网格.
const seedHouseholdGrids = `
INSERT INTO demo_hgrid (code, name, village_code, pt)
SELECT v.code || lpad(coalesce(d.path[1], 1)::text, 3, '0'),
       v.name || '第' || coalesce(d.path[1], 1) || '户网格',
       v.code, d.geom
FROM unnest($1::text[], $2::int[], $3::int[]) AS s(code, n, seed)
JOIN demo_village v ON v.code = s.code
CROSS JOIN LATERAL (SELECT x.geom FROM ST_Dump(v.geom) AS x
                    ORDER BY ST_Intersects(x.geom, v.pt) DESC, ST_Area(x.geom) DESC LIMIT 1) m
CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(m.geom, s.n + 1, s.seed)) AS d
WHERE coalesce(d.path[1], 1) <= s.n`

// cellHouseholdGrids cuts the whole district, in one Voronoi diagram,
// into the cells of all household grids' points; cellIndex lets each point
// find its cell.
const cellHouseholdGrids = `
CREATE TEMP TABLE demo_cell ON COMMIT DROP AS
SELECT (ST_Dump(ST_VoronoiPolygons((SELECT ST_Collect(pt) FROM demo_hgrid), 0, (SELECT geom FROM demo_district)))).geom AS geom;
CREATE INDEX ON demo_cell USING gist (geom);
ANALYZE demo_cell;
`

// clipHouseholdGrids gives each household grid its cell, clipped to the
// district where it reaches beyond it.
const clipHouseholdGrids = `
UPDATE demo_hgrid h
SET geom = CASE WHEN ST_Covers(d.geom, c.geom) THEN ST_Multi(c.geom)
                ELSE ST_Multi(ST_CollectionExtract(ST_Intersection(c.geom, d.geom), 3)) END
FROM demo_cell c, demo_district d
WHERE ST_Contains(c.geom, h.pt)`

// mergePieces tidies the cells the district's jagged outline cut apart:
// every part of a household grid that does not hold the grid's point joins
// the neighbouring grid whose main part shares the longest edge with it.
// The edge is the same on both sides (one Voronoi diagram), so the union
// adds no vertices of its own.
const mergePieces = `
CREATE TEMP TABLE demo_move ON COMMIT DROP AS
WITH piece AS (
    SELECT h.code, d.path[1] AS part, d.geom
    FROM demo_hgrid h CROSS JOIN LATERAL ST_Dump(h.geom) AS d
    WHERE ST_NumGeometries(h.geom) > 1 AND NOT ST_Intersects(d.geom, h.pt)
), main AS (
    SELECT h.code, d.geom
    FROM demo_hgrid h CROSS JOIN LATERAL ST_Dump(h.geom) AS d
    WHERE EXISTS (SELECT 1 FROM piece p WHERE p.geom && h.geom) AND ST_Intersects(d.geom, h.pt)
)
SELECT p.code AS from_code, p.part, p.geom, t.code AS to_code
FROM piece p
CROSS JOIN LATERAL (
    SELECT m.code FROM main m
    WHERE m.code <> p.code AND m.geom && p.geom AND ST_Relate(m.geom, p.geom, '****1****')
    ORDER BY ST_Length(ST_Intersection(ST_Boundary(m.geom), ST_Boundary(p.geom))) DESC, m.code
    LIMIT 1) t;
UPDATE demo_hgrid h
SET geom = (SELECT ST_Multi(ST_Collect(d.geom ORDER BY d.path)) FROM ST_Dump(h.geom) AS d
            WHERE d.path[1] NOT IN (SELECT part FROM demo_move WHERE from_code = h.code))
WHERE h.code IN (SELECT from_code FROM demo_move);
UPDATE demo_hgrid h
SET geom = ST_Multi(ST_Union(h.geom, (SELECT ST_Collect(geom ORDER BY from_code, part) FROM demo_move WHERE to_code = h.code)))
WHERE h.code IN (SELECT to_code FROM demo_move);
`

// mergeVillagePieces does for villages what mergePieces does for
// household grids: where a village's household grids fall apart into
// pieces, the grids of every piece but the largest move to the neighbouring
// village that shares the longest edge with the piece. Then every village's
// grids are numbered again, in their old order.
const mergeVillagePieces = `
CREATE TEMP TABLE demo_vmove ON COMMIT DROP AS
WITH comp AS (
    SELECT v.code, d.geom, row_number() OVER (PARTITION BY v.code ORDER BY ST_Area(d.geom) DESC, d.path[1]) AS rank
    FROM demo_village v CROSS JOIN LATERAL ST_Dump(v.geom) AS d
)
SELECT p.code AS from_code, p.geom, t.code AS to_code
FROM comp p
CROSS JOIN LATERAL (
    SELECT m.code FROM comp m
    WHERE m.rank = 1 AND m.code <> p.code AND m.geom && p.geom AND ST_Relate(m.geom, p.geom, '****1****')
    ORDER BY ST_Length(ST_Intersection(ST_Boundary(m.geom), ST_Boundary(p.geom))) DESC, m.code
    LIMIT 1) t
WHERE p.rank > 1;
UPDATE demo_hgrid h SET village_code = m.to_code
FROM demo_vmove m
WHERE h.village_code = m.from_code AND ST_Covers(m.geom, h.pt);
UPDATE demo_hgrid h SET code = n.code, name = n.name
FROM (SELECT h.code AS old,
             h.village_code || lpad((row_number() OVER w)::text, 3, '0') AS code,
             v.name || '第' || row_number() OVER w || '户网格' AS name
      FROM demo_hgrid h JOIN demo_village v ON v.code = h.village_code
      WINDOW w AS (PARTITION BY h.village_code ORDER BY h.code)) n
WHERE h.code = n.old;
`

// rebuildVillages makes each village the union of its household grids.
const rebuildVillages = `
UPDATE demo_village v SET geom = u.geom
FROM (SELECT village_code, ST_Multi(ST_Union(geom)) AS geom FROM demo_hgrid GROUP BY village_code) u
WHERE u.village_code = v.code`

// villagePoints are what the zones are cut from: each village's point
// and its township's centre.
const villagePoints = `
SELECT v.township_code, v.code, ST_X(v.pt), ST_Y(v.pt), ST_X(c.pt), ST_Y(c.pt)
FROM demo_village v
JOIN demo_township t ON t.code = v.township_code
CROSS JOIN LATERAL (SELECT ST_Centroid(t.geom) AS pt) c
ORDER BY v.code`

// villageNeighbours are the pairs of villages of one township that share
// an edge (their boundaries meet in a line).
const villageNeighbours = `
SELECT a.code, b.code
FROM demo_village a
JOIN demo_village b ON b.township_code = a.township_code AND b.code > a.code AND a.geom && b.geom
WHERE ST_Relate(a.geom, b.geom, '****1****')
ORDER BY 1, 2`

// insertZones stores the zones and puts each village in its zone.
const insertZones = `
WITH ins AS (
    INSERT INTO demo_zone (code, name, township_code)
    SELECT DISTINCT z.zone, z.name, left(z.zone, 9)
    FROM unnest($1::text[], $2::text[], $3::text[]) AS z(village, zone, name)
    RETURNING code)
UPDATE demo_village v SET zone_code = z.zone
FROM unnest($1::text[], $2::text[]) AS z(village, zone)
WHERE v.code = z.village`

// rebuildUpward makes each zone the union of its villages, each township
// the union of its zones, and the district the union of its townships.
const rebuildUpward = `
UPDATE demo_zone z SET geom = u.geom
FROM (SELECT zone_code, ST_Multi(ST_Union(geom)) AS geom FROM demo_village GROUP BY zone_code) u
WHERE u.zone_code = z.code;
UPDATE demo_township t SET geom = u.geom
FROM (SELECT township_code, ST_Multi(ST_Union(geom)) AS geom FROM demo_zone GROUP BY township_code) u
WHERE u.township_code = t.code;
UPDATE demo_district SET geom = (SELECT ST_Multi(ST_Union(geom)) FROM demo_township);
`

// insertDistrict and insertChildren write the whole hierarchy into grids,
// parents first, each level in code order so ids come out the same on every
// load.
const insertDistrict = `
INSERT INTO grids (code, level, kind, name, geom, valid_from)
SELECT $1, 'district', 'district', $2, geom, $3 FROM demo_district`

const insertTownships = `
INSERT INTO grids (code, level, kind, name, parent_id, parent_level, geom, valid_from)
SELECT t.code, 'township', t.kind, t.name, p.id, 'district', t.geom, $2
FROM demo_township t JOIN grids p ON p.code = $1 ORDER BY t.code`

// insertZoneGrids, insertVillageGrids and insertHouseholdGrids: $1 is valid_from.
const insertZoneGrids = `
INSERT INTO grids (code, level, kind, name, parent_id, parent_level, geom, valid_from)
SELECT z.code, 'zone', 'zone', z.name, p.id, 'township', z.geom, $1
FROM demo_zone z JOIN grids p ON p.code = z.township_code ORDER BY z.code`

const insertVillageGrids = `
INSERT INTO grids (code, level, kind, name, parent_id, parent_level, geom, valid_from)
SELECT v.code, 'village', v.kind, v.name, p.id, 'zone', v.geom, $1
FROM demo_village v JOIN grids p ON p.code = v.zone_code ORDER BY v.code`

const insertHouseholdGrids = `
INSERT INTO grids (code, level, kind, name, parent_id, parent_level, geom, valid_from)
SELECT h.code, 'household', 'household', h.name, p.id, 'village', h.geom, $1
FROM demo_hgrid h JOIN grids p ON p.code = h.village_code ORDER BY h.code`

// buildGrids runs the geometry pipeline and fills grids.
func (l *loader) buildGrids(ctx context.Context, outline string) error {
	if err := l.exec(ctx, "work tables", createWorkTables); err != nil {
		return err
	}
	var reason string
	var before, after float64
	if err := l.tx.QueryRow(ctx, repairDistrict, outline).Scan(&reason, &before, &after); err != nil {
		return fmt.Errorf("district outline: %w", err)
	}
	l.log.Info("demo: district outline repaired", "code", l.district.Code, "was", reason, "km2_before", round1(before), "km2_after", round1(after))

	var codes, names, kinds, seatCodes []string
	var mains []bool
	var lons, lats []float64
	for _, t := range l.townships {
		codes, names, kinds = append(codes, t.code), append(names, t.name), append(kinds, t.kind)
		seatCodes, mains, lons, lats = append(seatCodes, t.code), append(mains, true), append(lons, t.lon), append(lats, t.lat)
		for _, m := range t.more {
			seatCodes, mains, lons, lats = append(seatCodes, t.code), append(mains, false), append(lons, m[0]), append(lats, m[1])
		}
	}
	if err := l.exec(ctx, "township seats", seatTownships, seatCodes, mains, lons, lats, insetDistrict); err != nil {
		return err
	}
	if err := l.execN(ctx, "township plan", len(codes), insertTownshipPlan, codes, names, kinds); err != nil {
		return err
	}
	if err := l.execN(ctx, "townships", len(l.townships), partitionDistrict); err != nil {
		return err
	}

	// villages: one point set per township and kind
	var vcodes, vnames, vkinds, vtowns []string
	var vords []int32
	groups := map[[2]string]int32{}
	var gtowns, gkinds []string
	for _, v := range l.villages {
		vcodes, vnames, vkinds, vtowns = append(vcodes, v.code), append(vnames, v.name), append(vkinds, v.kind), append(vtowns, v.township)
		vords = append(vords, int32(v.ord))
		key := [2]string{v.township, v.kind}
		if groups[key] == 0 {
			gtowns, gkinds = append(gtowns, v.township), append(gkinds, v.kind)
		}
		groups[key]++
	}
	var gns, gseeds []int32
	for i := range gtowns {
		gns = append(gns, groups[[2]string{gtowns[i], gkinds[i]}])
		gseeds = append(gseeds, pgSeed(l.seed, "villages "+gtowns[i]+" "+gkinds[i]))
	}
	if err := l.exec(ctx, "villages", `INSERT INTO demo_village (code, name, kind, township_code, ord)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[])`, vcodes, vnames, vkinds, vtowns, vords); err != nil {
		return err
	}
	if err := l.execN(ctx, "village points", len(l.villages), seedVillages, gtowns, gkinds, gns, gseeds, communityRadius, villageClearance); err != nil {
		return err
	}
	if err := l.exec(ctx, "urban parts", urbanTownships, communityReach); err != nil {
		return err
	}
	if err := l.execN(ctx, "villages", len(l.villages), partitionTownships); err != nil {
		return err
	}

	// household grids
	var hcodes []string
	var hns, hseeds []int32
	total := 0
	for _, v := range l.villages {
		hcodes = append(hcodes, v.code)
		hns = append(hns, int32(v.grids))
		hseeds = append(hseeds, pgSeed(l.seed, "household grids "+v.code))
		total += v.grids
	}
	if err := l.execN(ctx, "household grid points", total, seedHouseholdGrids, hcodes, hns, hseeds); err != nil {
		return err
	}
	if err := l.exec(ctx, "household grid cells", cellHouseholdGrids); err != nil {
		return err
	}
	if err := l.execN(ctx, "household grids", total, clipHouseholdGrids); err != nil {
		return err
	}
	if err := l.exec(ctx, "household grid pieces", mergePieces); err != nil {
		return err
	}
	if err := l.execN(ctx, "villages rebuilt", len(l.villages), rebuildVillages); err != nil {
		return err
	}
	if err := l.exec(ctx, "village pieces", mergeVillagePieces); err != nil {
		return err
	}
	if err := l.execN(ctx, "villages rebuilt", len(l.villages), rebuildVillages); err != nil {
		return err
	}
	if err := l.countGrids(ctx); err != nil {
		return err
	}

	// zones
	if err := l.buildZones(ctx); err != nil {
		return err
	}
	if err := l.exec(ctx, "rebuild upward", rebuildUpward); err != nil {
		return err
	}
	if err := l.exec(ctx, "insert grids", insertDistrict, l.district.Code, l.district.Name, validFrom()); err != nil {
		return err
	}
	if err := l.exec(ctx, "insert grids", insertTownships, l.district.Code, validFrom()); err != nil {
		return err
	}
	for _, q := range []string{insertZoneGrids, insertVillageGrids, insertHouseholdGrids} {
		if err := l.exec(ctx, "insert grids", q, validFrom()); err != nil {
			return err
		}
	}
	rows, err := l.tx.Query(ctx, `SELECT code, id FROM grids`)
	if err != nil {
		return err
	}
	l.gridID = map[string]int64{}
	var code string
	var id int64
	if _, err := pgx.ForEachRow(rows, []any{&code, &id}, func() error {
		l.gridID[code] = id
		return nil
	}); err != nil {
		return err
	}
	return nil
}

// buildZones cuts every township's villages into zones of neighbours (see
// groupZones).
func (l *loader) buildZones(ctx context.Context) error {
	rows, err := l.tx.Query(ctx, villageNeighbours)
	if err != nil {
		return err
	}
	adjacent := map[string][]string{}
	var a, b string
	if _, err := pgx.ForEachRow(rows, []any{&a, &b}, func() error {
		adjacent[a] = append(adjacent[a], b)
		adjacent[b] = append(adjacent[b], a)
		return nil
	}); err != nil {
		return fmt.Errorf("zones: %w", err)
	}
	rows, err = l.tx.Query(ctx, villagePoints)
	if err != nil {
		return err
	}
	byTownship := map[string][]place{}
	centre := map[string][2]float64{}
	var town string
	var p place
	var cx, cy float64
	if _, err := pgx.ForEachRow(rows, []any{&town, &p.code, &p.lon, &p.lat, &cx, &cy}, func() error {
		byTownship[town] = append(byTownship[town], p)
		centre[town] = [2]float64{cx, cy}
		return nil
	}); err != nil {
		return fmt.Errorf("zones: %w", err)
	}
	var villages, zones, names []string
	for _, t := range l.townships {
		r := stream(l.seed, "zones "+t.code)
		c := centre[t.code]
		for i, members := range groupZones(byTownship[t.code], adjacent, c[0], c[1], r) {
			code := fmt.Sprintf("%sP%02d", t.code, i+1)
			name := t.name + "第" + chineseNumber(i+1) + "片"
			for _, v := range members {
				villages, zones, names = append(villages, v), append(zones, code), append(names, name)
			}
			l.zones = append(l.zones, zonePlan{code: code, name: name, township: t.code, villages: members})
		}
	}
	if err := l.exec(ctx, "zones", insertZones, villages, zones, names); err != nil {
		return err
	}
	return nil
}

// countGrids reads back how many household grids each village ended up
// with.
func (l *loader) countGrids(ctx context.Context) error {
	rows, err := l.tx.Query(ctx, `SELECT village_code, count(*) FROM demo_hgrid GROUP BY village_code`)
	if err != nil {
		return err
	}
	count := map[string]int{}
	var code string
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&code, &n}, func() error {
		count[code] = n
		return nil
	}); err != nil {
		return fmt.Errorf("household grid counts: %w", err)
	}
	moved := 0
	for i, v := range l.villages {
		if count[v.code] == 0 {
			return fmt.Errorf("village %s has no household grids", v.code)
		}
		moved += max(0, count[v.code]-v.grids)
		l.villages[i].grids = count[v.code]
	}
	l.log.Info("demo: household grids placed", "moved_to_neighbour_village", moved)
	return nil
}

// zonePlan is a zone of the plan: its code, name, township and villages.
type zonePlan struct {
	code, name, township string
	villages             []string
}

// planGridCounts decides how many household grids each village gets:
// about totalHouseholdGrids in all, more in communities, fewer in mountain
// villages.
func planGridCounts(vills []village, seed int64) error {
	r := stream(seed, "household grid counts")
	w := make([]float64, len(vills))
	for i, v := range vills {
		switch {
		case v.kind == "community":
			w[i] = 21
		case v.mountain:
			w[i] = 8.4
		default:
			w[i] = 11.5
		}
		w[i] *= uniform(r, 0.8, 1.25)
	}
	grids, err := apportion(totalHouseholdGrids, w, 6, 24)
	if err != nil {
		return err
	}
	for i := range vills {
		vills[i].grids = grids[i]
	}
	return nil
}

// planHouseholdCounts decides how many households each household grid
// holds: about totalHouseholds in all, more in communities, fewer in the
// mountains. It returns the counts per village, per grid.
func planHouseholdCounts(vills []village, seed int64) ([][]int, error) {
	r := stream(seed, "household counts")
	var w []float64
	for _, v := range vills {
		x := 18.0
		switch {
		case v.kind == "community":
			x = 30
		case v.mountain:
			x = 14
		}
		for range v.grids {
			w = append(w, x*uniform(r, 0.7, 1.4))
		}
	}
	households, err := apportion(totalHouseholds, w, 4, 80)
	if err != nil {
		return nil, err
	}
	out := make([][]int, len(vills))
	at := 0
	for i, v := range vills {
		out[i] = households[at : at+v.grids]
		at += v.grids
	}
	return out, nil
}

// exec runs one step of SQL and logs how long it took (debug level).
func (l *loader) exec(ctx context.Context, step string, sql string, args ...any) error {
	_, err := l.execTag(ctx, step, sql, args...)
	return err
}

// execN runs a step that must touch exactly want rows.
func (l *loader) execN(ctx context.Context, step string, want int, sql string, args ...any) error {
	tag, err := l.execTag(ctx, step, sql, args...)
	if err != nil {
		return err
	}
	if int(tag.RowsAffected()) != want {
		return fmt.Errorf("%s: %d rows, want %d", step, tag.RowsAffected(), want)
	}
	return nil
}

func (l *loader) execTag(ctx context.Context, step string, sql string, args ...any) (pgconn.CommandTag, error) {
	start := time.Now()
	tag, err := l.tx.Exec(ctx, sql, args...)
	if err != nil {
		return tag, fmt.Errorf("%s: %w", step, err)
	}
	l.log.Debug("demo: sql", "step", step, "rows", tag.RowsAffected(), "took", time.Since(start).Round(time.Millisecond))
	return tag, nil
}

func round1(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }

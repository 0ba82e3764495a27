package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultBeijingHouseholdGrids is how many household grids LoadBeijing
// draws when BeijingOptions.HouseholdGrids is 0: about ten a village.
const DefaultBeijingHouseholdGrids = 75_000

// BeijingOptions tune LoadBeijing; the zero value is the standard set.
type BeijingOptions struct {
	// Seed picks the random draw; 0 means DefaultSeed.
	Seed int64
	// HouseholdGrids is the total number of household grids;
	// 0 means DefaultBeijingHouseholdGrids. It must lie between 3 and 40
	// per village (22,605..301,400).
	HouseholdGrids int
	// Logger gets one line per district; nil discards.
	Logger *slog.Logger
}

// BeijingSummary counts the grids LoadBeijing wrote, read back from the
// database.
type BeijingSummary struct {
	Districts, Townships, Zones, Villages, HouseholdGrids int
}

// Per-village household grid weights for Beijing: a community gets about
// half as many again as a village.
const (
	beijingCommunityWeight = 12.0
	beijingVillageWeight   = 8.0
	beijingMinGrids        = 3
	beijingMaxGrids        = 40
)

// lloydSteps is how often the township seats are moved to the centre of
// their cells before the districts are cut: random seats give townships of
// very uneven size, three steps of Lloyd's relaxation even them out.
const lloydSteps = 3

// beijingDistrict is the plan of one district: the townships and villages
// the 延庆区 pipeline (buildGrids) cuts it into. Seats are filled in once
// PostGIS has drawn them.
type beijingDistrict struct {
	div       Division
	townships []township
	villages  []village
}

// LoadBeijing fills an empty migrated database with a Beijing-scale grid
// set, grids only (no people, units or users): the 16 real district
// outlines (repaired with ST_MakeValid, the slivers two outlines both claim
// given to the lower code), the real 349 townships and 7,535 villages and
// communities of demo/data/beijing with generated outlines, zones of 2–8
// neighbouring villages, and about 75,000 household grids (village code +
// 3 digits). Each district is cut exactly as the 延庆区 demo is (see
// buildGrids): township seats are seeded random points evened out by
// Lloyd's relaxation, and every parent is rebuilt as the union of its
// children, so each grid is exactly ST_Covers-inside its parent. The same
// seed gives the same grids with the same PostGIS. It runs in one
// transaction and refuses with ErrNotEmpty when grids already has rows.
// All geometry is SRID 4326, lon/lat.
func LoadBeijing(ctx context.Context, pool *pgxpool.Pool, opts BeijingOptions) (BeijingSummary, error) {
	start := time.Now()
	if opts.Seed == 0 {
		opts.Seed = DefaultSeed
	}
	if opts.HouseholdGrids == 0 {
		opts.HouseholdGrids = DefaultBeijingHouseholdGrids
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	divs, err := readFile(Files(), "beijing/divisions.csv", ReadDivisions)
	if err != nil {
		return BeijingSummary{}, err
	}
	outlines, err := readFile(Files(), "beijing/districts.geojson", ReadOutlines)
	if err != nil {
		return BeijingSummary{}, err
	}
	plan, err := planBeijing(divs, opts.Seed, opts.HouseholdGrids)
	if err != nil {
		return BeijingSummary{}, err
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return BeijingSummary{}, fmt.Errorf("demo: beijing: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // no-op after Commit
	l := &loader{tx: tx, seed: opts.Seed, log: log}
	if err := l.claimEmpty(ctx); err != nil {
		return BeijingSummary{}, err
	}
	geojson, err := l.placeSeats(ctx, plan, outlines)
	if err != nil {
		return BeijingSummary{}, fmt.Errorf("demo: beijing: %w", err)
	}
	var subdistricts []string
	for _, d := range plan {
		t := time.Now()
		l.district, l.townships, l.villages, l.zones = d.div, d.townships, d.villages, nil
		if err := l.buildGrids(ctx, geojson[d.div.Code]); err != nil {
			return BeijingSummary{}, fmt.Errorf("demo: beijing: %s %s: %w", d.div.Code, d.div.Name, err)
		}
		if err := l.exec(ctx, "drop work tables", dropWorkTables); err != nil {
			return BeijingSummary{}, fmt.Errorf("demo: beijing: %w", err)
		}
		grids := 0
		for _, v := range l.villages {
			grids += v.grids
		}
		for _, tw := range d.townships {
			if tw.kind != townshipKind(tw.name) {
				subdistricts = append(subdistricts, tw.code)
			}
		}
		log.Info("demo: beijing district done", "code", d.div.Code, "name", d.div.Name, "townships", len(d.townships),
			"zones", len(l.zones), "villages", len(d.villages), "household_grids", grids, "took", time.Since(t).Round(time.Millisecond))
	}
	if err := l.execN(ctx, "subdistrict kinds", len(subdistricts), restoreSubdistricts, subdistricts); err != nil {
		return BeijingSummary{}, fmt.Errorf("demo: beijing: %w", err)
	}
	var s BeijingSummary
	if err := tx.QueryRow(ctx, countGridLevels).Scan(&s.Districts, &s.Townships, &s.Zones, &s.Villages, &s.HouseholdGrids); err != nil {
		return BeijingSummary{}, fmt.Errorf("demo: beijing: summary: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return BeijingSummary{}, fmt.Errorf("demo: beijing: commit: %w", err)
	}
	log.Info("demo: beijing loaded", "seed", opts.Seed, "took", time.Since(start).Round(time.Millisecond),
		"districts", s.Districts, "townships", s.Townships, "zones", s.Zones, "villages", s.Villages, "household_grids", s.HouseholdGrids)
	return s, nil
}

// claimEmpty locks grids against a concurrent load (which waits here and
// then finds the rows) and returns ErrNotEmpty when it has rows.
func (l *loader) claimEmpty(ctx context.Context) error {
	var taken bool
	if _, err := l.tx.Exec(ctx, `LOCK TABLE grids IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("demo: beijing: %w", err)
	} else if err := l.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM grids)`).Scan(&taken); err != nil {
		return fmt.Errorf("demo: beijing: %w", err)
	} else if taken {
		return ErrNotEmpty
	}
	return nil
}

// planBeijing groups the divisions by district, in code order, and
// decides everything about them that needs no database: the township and
// village kinds and short names, and how many household grids each village
// gets (about total in all, more in communities). A 街道 that also has
// 村 is laid out as a town is, its communities around its seat and its
// villages over the rest (buildGrids would give such villages no land), and
// stored as the 街道 it is afterwards.
func planBeijing(divs []Division, seed int64, total int) ([]beijingDistrict, error) {
	sorted := append([]Division(nil), divs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Code < sorted[j].Code })
	at := map[string]int{}       // district code -> index in out
	towns := map[string]string{} // township code -> district code
	var out []beijingDistrict
	hasVillages := map[string]bool{}
	for _, d := range sorted {
		if d.Level == "village" && beijingVillageKind(d.Name) == "village" {
			hasVillages[d.ParentCode] = true
		}
	}
	count := map[[2]string]int{}
	var all []*village
	for _, d := range sorted {
		switch d.Level {
		case "district":
			at[d.Code] = len(out)
			out = append(out, beijingDistrict{div: d})
		case "township":
			i, ok := at[d.ParentCode]
			if !ok {
				return nil, fmt.Errorf("demo: beijing: township %s %s has no district", d.Code, d.Name)
			}
			t := township{code: d.Code, name: d.Name, kind: townshipKind(d.Name)}
			if t.kind == "subdistrict" && hasVillages[d.Code] {
				t.kind = "town"
			}
			out[i].townships = append(out[i].townships, t)
			towns[d.Code] = d.ParentCode
		case "village":
			i, ok := at[towns[d.ParentCode]]
			if !ok {
				return nil, fmt.Errorf("demo: beijing: village %s %s has no township", d.Code, d.Name)
			}
			v := village{code: d.Code, name: beijingVillageName(d.Name), kind: beijingVillageKind(d.Name), township: d.ParentCode}
			count[[2]string{v.township, v.kind}]++
			v.ord = count[[2]string{v.township, v.kind}]
			out[i].villages = append(out[i].villages, v)
		}
	}
	for i := range out {
		if len(out[i].townships) < 2 || len(out[i].villages) == 0 {
			return nil, fmt.Errorf("demo: beijing: district %s has %d townships and %d villages", out[i].div.Code, len(out[i].townships), len(out[i].villages))
		}
		for j := range out[i].villages {
			all = append(all, &out[i].villages[j])
		}
	}
	r := stream(seed, "beijing household grid counts")
	weights := make([]float64, len(all))
	for i, v := range all {
		weights[i] = beijingVillageWeight
		if v.kind == "community" {
			weights[i] = beijingCommunityWeight
		}
		weights[i] *= uniform(r, 0.8, 1.25)
	}
	grids, err := apportion(total, weights, beijingMinGrids, beijingMaxGrids)
	if err != nil {
		return nil, err
	}
	for i, v := range all {
		v.grids = grids[i]
	}
	return out, nil
}

// beijingVillageKind is villageKind, also knowing a 居民委员会 for a
// community.
func beijingVillageKind(name string) string {
	if strings.HasSuffix(name, "居民委员会") {
		return "community"
	}
	return villageKind(name)
}

// beijingVillageName is shortName, also for the long committee names the
// Beijing list carries: 月河社区居民委员会 → 月河社区, 三台山居民委员会 →
// 三台山社区, 牌坊村村民委员会 → 牌坊村, 苇沟村民委员会 → 苇沟村.
func beijingVillageName(name string) string {
	for _, c := range []struct{ suffix, kind string }{{"居民委员会", "社区"}, {"村民委员会", "村"}} {
		if n, ok := strings.CutSuffix(name, c.suffix); ok && n != "" {
			if !strings.HasSuffix(n, c.kind) {
				n += c.kind
			}
			return n
		}
	}
	return shortName(name)
}

// The Beijing-wide work tables: every district's repaired outline, with
// its inset (where seats may stand), and the township seats.
const createBeijingTables = `
CREATE TEMP TABLE bj_district (code text PRIMARY KEY, raw geometry, geom geometry, inset geometry) ON COMMIT DROP;
CREATE TEMP TABLE bj_seat (code text PRIMARY KEY, district text, pt geometry) ON COMMIT DROP;
`

// repairOutlines stores every outline made valid and polygonal, and
// reports what was wrong with it.
const repairOutlines = `
INSERT INTO bj_district (code, raw, geom)
SELECT o.code, r.geom, ST_Multi(ST_CollectionExtract(ST_MakeValid(r.geom), 3))
FROM unnest($1::text[], $2::text[]) AS o(code, geojson)
CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_GeomFromGeoJSON(o.geojson), 4326) AS geom) r
RETURNING code, ST_IsValidReason(raw), ST_Area(raw::geography) / 1e6, ST_Area(geom::geography) / 1e6`

// separateOutlines gives the slivers two neighbouring outlines both claim
// to the district with the lower code, so the districts do not overlap.
const separateOutlines = `
UPDATE bj_district a
SET geom = coalesce((SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Difference(a.geom, ST_Union(b.geom))), 3))
                     FROM bj_district b WHERE b.code < a.code AND b.geom && a.geom), a.geom)
RETURNING code, ST_Area(geom::geography) / 1e6`

const insetOutlines = `UPDATE bj_district SET inset = ST_Buffer(geom, -$1::float8)`

// seatBeijing draws every district's township seats as seeded random
// points in its inset: the i-th point for the i-th township in code order
// (see seedVillages for the extra points).
const seatBeijing = `
INSERT INTO bj_seat (code, district, pt)
SELECT s.code, s.district, p.geom
FROM unnest($1::text[], $2::text[], $3::int[]) AS s(code, district, ord)
JOIN (SELECT d.code, x.path[1] AS ord, x.geom
      FROM unnest($4::text[], $5::int[], $6::int[]) AS n(district, n, seed)
      JOIN bj_district d ON d.code = n.district
      CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(d.inset, n.n + ST_NumGeometries(d.inset), n.seed)) AS x) p
  ON p.code = s.district AND p.ord = s.ord`

// relaxSeats is one step of Lloyd's relaxation: each seat moves to the
// centroid of its Voronoi cell within the district, or the nearest point
// of the inset when the centroid falls outside it.
const relaxSeats = `
WITH pts AS (SELECT district, ST_Collect(pt) AS pts FROM bj_seat GROUP BY district),
cell AS (SELECT d.code, (ST_Dump(ST_VoronoiPolygons(p.pts, 0, d.geom))).geom AS cell
         FROM pts p JOIN bj_district d ON d.code = p.district)
UPDATE bj_seat s
SET pt = CASE WHEN ST_Covers(d.inset, m.pt) THEN m.pt ELSE ST_ClosestPoint(d.inset, m.pt) END
FROM cell c
JOIN bj_district d ON d.code = c.code
CROSS JOIN LATERAL (SELECT ST_Centroid(ST_CollectionExtract(ST_Intersection(c.cell, d.geom), 3)) AS pt) m
WHERE s.district = c.code AND ST_Contains(c.cell, s.pt)`

// readSeats and readOutlines hand the seats and the separated outlines to
// buildGrids; 15 decimals carry a float8 degree exactly.
const (
	readSeats    = `SELECT code, ST_X(pt), ST_Y(pt) FROM bj_seat`
	readOutlines = `SELECT code, ST_AsGeoJSON(geom, 15) FROM bj_district`
)

// dropWorkTables clears the tables of one buildGrids run for the next
// district.
const dropWorkTables = `
DROP TABLE demo_district, demo_seat, demo_township, demo_village, demo_zone, demo_hgrid, demo_cell, demo_move, demo_vmove`

// restoreSubdistricts stores the 街道 laid out as towns as what they are.
const restoreSubdistricts = `
UPDATE grids SET kind = 'subdistrict' WHERE level = 'township' AND code = ANY($1::text[])`

const countGridLevels = `
SELECT count(*) FILTER (WHERE level = 'district'), count(*) FILTER (WHERE level = 'township'),
       count(*) FILTER (WHERE level = 'zone'), count(*) FILTER (WHERE level = 'village'),
       count(*) FILTER (WHERE level = 'household')
FROM grids`

// placeSeats repairs and separates the district outlines, draws and
// relaxes the township seats and writes them into plan. It returns each
// district's outline as GeoJSON, by code.
func (l *loader) placeSeats(ctx context.Context, plan []beijingDistrict, outlines map[string]json.RawMessage) (map[string]string, error) {
	if err := l.exec(ctx, "beijing work tables", createBeijingTables); err != nil {
		return nil, err
	}
	var codes, texts, seatCodes, seatDistricts []string
	var ords, ns, seeds []int32
	for _, d := range plan {
		o, ok := outlines[d.div.Code]
		if !ok {
			return nil, fmt.Errorf("no outline for %s %s", d.div.Code, d.div.Name)
		}
		codes, texts = append(codes, d.div.Code), append(texts, string(o))
		ns, seeds = append(ns, int32(len(d.townships))), append(seeds, pgSeed(l.seed, "beijing seats "+d.div.Code))
		for i, t := range d.townships {
			seatCodes, seatDistricts, ords = append(seatCodes, t.code), append(seatDistricts, d.div.Code), append(ords, int32(i+1))
		}
	}
	rows, err := l.tx.Query(ctx, repairOutlines, codes, texts)
	if err != nil {
		return nil, err
	}
	repaired := map[string]float64{}
	var code, reason string
	var before, after float64
	if _, err := pgx.ForEachRow(rows, []any{&code, &reason, &before, &after}, func() error {
		repaired[code] = after
		l.log.Info("demo: beijing outline repaired", "code", code, "was", reason, "km2_before", round1(before), "km2_after", round1(after))
		return nil
	}); err != nil {
		return nil, fmt.Errorf("outlines: %w", err)
	}
	if len(repaired) != len(plan) {
		return nil, fmt.Errorf("outlines: %d repaired, want %d", len(repaired), len(plan))
	}
	if rows, err = l.tx.Query(ctx, separateOutlines); err != nil {
		return nil, err
	}
	given := 0.0
	if _, err := pgx.ForEachRow(rows, []any{&code, &after}, func() error {
		given += repaired[code] - after
		return nil
	}); err != nil {
		return nil, fmt.Errorf("separate outlines: %w", err)
	}
	l.log.Info("demo: beijing outlines separated", "km2_claimed_twice", round1(given))
	if err := l.execN(ctx, "inset", len(plan), insetOutlines, insetDistrict); err != nil {
		return nil, err
	}
	if err := l.execN(ctx, "seats", len(seatCodes), seatBeijing, seatCodes, seatDistricts, ords, codes, ns, seeds); err != nil {
		return nil, err
	}
	for range lloydSteps {
		if err := l.execN(ctx, "relax seats", len(seatCodes), relaxSeats); err != nil {
			return nil, err
		}
	}
	if rows, err = l.tx.Query(ctx, readSeats); err != nil {
		return nil, err
	}
	seats := map[string][2]float64{}
	var lon, lat float64
	if _, err := pgx.ForEachRow(rows, []any{&code, &lon, &lat}, func() error {
		seats[code] = [2]float64{lon, lat}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("seats: %w", err)
	}
	for _, d := range plan {
		for i := range d.townships {
			p := seats[d.townships[i].code]
			d.townships[i].lon, d.townships[i].lat = p[0], p[1]
		}
	}
	if rows, err = l.tx.Query(ctx, readOutlines); err != nil {
		return nil, err
	}
	out := map[string]string{}
	var text string
	if _, err := pgx.ForEachRow(rows, []any{&code, &text}, func() error {
		out[code] = text
		return nil
	}); err != nil {
		return nil, fmt.Errorf("outlines: %w", err)
	}
	return out, nil
}

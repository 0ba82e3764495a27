package testenv

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/uber/h3-go/v4"

	"whistlegrid/geo"
	"whistlegrid/hotspot"
)

// HotspotCategory is the category of the clues PlantHotspot plants: 工地扬尘.
const HotspotCategory = "CM.03.02"

// Hotspot is a cluster PlantHotspot planted.
type Hotspot struct {
	Township   string  // the township code of its centre
	Lon, Lat   float64 // its centre, WGS-84
	Cell       string  // the res-9 H3 cell of its centre
	WeekStart  time.Time
	From, To   time.Time // the twelve whole weeks before WeekStart
	Background int       // clues spread over the district
	Cluster    int       // clues within 60 m of the centre in the last week
}

// PlantHotspot writes, on the demo in pool, background clues of
// HotspotCategory spread over the household grids of the whole district
// for the twelve whole weeks before the current one, and a cluster of 40
// within 60 m of one point in the last of those weeks: a new hot spot.
func PlantHotspot(t testing.TB, pool *pgxpool.Pool) Hotspot {
	t.Helper()
	ctx := context.Background()
	p := Hotspot{WeekStart: hotspot.WeekStart(time.Now().In(geo.Beijing)), Background: 700, Cluster: 40}
	p.From, p.To = p.WeekStart.AddDate(0, 0, -84), p.WeekStart
	// the centre: a household grid of 延庆镇, the busiest township
	if err := pool.QueryRow(ctx, `
		SELECT ST_X(pt), ST_Y(pt), t.code FROM (
			SELECT ST_PointOnSurface(hg.geom) pt, z.parent_id tid FROM grids hg
			JOIN grids v ON v.id = hg.parent_id JOIN grids z ON z.id = v.parent_id
			WHERE hg.level = 'household' AND hg.code LIKE '110119100%' AND ST_Area(hg.geom::geography) > 40000
			ORDER BY hg.code LIMIT 1 OFFSET 17) s
		JOIN grids t ON t.id = s.tid`).Scan(&p.Lon, &p.Lat, &p.Township); err != nil {
		t.Fatal(err)
	}
	p.Cell = h3.LatLngToCell(h3.NewLatLng(p.Lat, p.Lon), 9).String()

	rows, err := pool.Query(ctx, `SELECT ST_X(pt), ST_Y(pt) FROM (SELECT ST_PointOnSurface(geom) pt FROM grids WHERE level = 'household' ORDER BY code) s`)
	if err != nil {
		t.Fatal(err)
	}
	var homes [][2]float64
	for rows.Next() {
		var h [2]float64
		if err := rows.Scan(&h[0], &h[1]); err != nil {
			t.Fatal(err)
		}
		homes = append(homes, h)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	r := rand.New(rand.NewPCG(6, 2026))
	var ext []string
	var lons, lats []float64
	var ats []time.Time
	span := p.To.Sub(p.From)
	for i := range p.Background {
		h := homes[r.IntN(len(homes))]
		ext = append(ext, fmt.Sprintf("bg-%d", i))
		lons, lats = append(lons, h[0]), append(lats, h[1])
		ats = append(ats, p.From.Add(time.Duration(r.Int64N(int64(span)))))
	}
	for i := range p.Cluster {
		// within 60 m: 1° of latitude is 111 km
		a, d := r.Float64()*2*math.Pi, 60*math.Sqrt(r.Float64())
		ext = append(ext, fmt.Sprintf("cl-%d", i))
		lons = append(lons, p.Lon+d*math.Cos(a)/(111_320*math.Cos(p.Lat*math.Pi/180)))
		lats = append(lats, p.Lat+d*math.Sin(a)/111_320)
		ats = append(ats, p.To.Add(-time.Duration(r.Int64N(int64(7*24*time.Hour)))))
	}
	tag, err := pool.Exec(ctx, `
		INSERT INTO clues (source, external_id, category_id, received_lon, received_lat, datum, location, grid_id, township_id, reported_at)
		SELECT 'patrol', u.ext, (SELECT id FROM categories WHERE code = $1), u.lon, u.lat, 'wgs84',
		       ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326), g.hid, g.tid, u.at
		FROM unnest($2::text[], $3::float8[], $4::float8[], $5::timestamptz[]) AS u(ext, lon, lat, at)
		CROSS JOIN LATERAL (
			SELECT hg.id hid, z.parent_id tid FROM grids hg
			JOIN grids v ON v.id = hg.parent_id JOIN grids z ON z.id = v.parent_id
			WHERE hg.level = 'household' AND ST_Covers(hg.geom, ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326))
			ORDER BY hg.code LIMIT 1) g`, HotspotCategory, ext, lons, lats, ats)
	if err != nil {
		t.Fatal(err)
	}
	if int(tag.RowsAffected()) != len(ext) {
		t.Fatalf("planted %d clues of %d: some fell outside every household grid", tag.RowsAffected(), len(ext))
	}
	return p
}

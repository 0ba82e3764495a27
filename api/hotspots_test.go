package api_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/uber/h3-go/v4"

	"whistlegrid/hotspot"
	"whistlegrid/internal/testenv"
)

// hotspotCategory is the category of the planted clues: 工地扬尘.
const hotspotCategory = "CM.03.02"

type hotspotFC struct {
	Type     string `json:"type"`
	Features []struct {
		Type     string `json:"type"`
		ID       string `json:"id"`
		Geometry struct {
			Type        string         `json:"type"`
			Coordinates [][][2]float64 `json:"coordinates"`
		} `json:"geometry"`
		Properties struct {
			Cell         string   `json:"cell"`
			Z            float64  `json:"z"`
			P            float64  `json:"p"`
			Class        string   `json:"class"`
			Count        int      `json:"count"`
			Significance string   `json:"significance"`
			TrendZ       *float64 `json:"trend_z"`
			WeeksHot     int      `json:"weeks_hot"`
		} `json:"properties"`
	} `json:"features"`
	Window struct {
		From, To time.Time
		Days     int
		Slices   []struct {
			Clues int `json:"clues"`
			Hot   int `json:"hot"`
		}
	} `json:"window"`
	Townships  []string       `json:"townships"`
	Sources    []string       `json:"sources"`
	Resolution int            `json:"resolution"`
	Cells      int            `json:"cells"`
	Clues      int            `json:"clues"`
	Patterns   map[string]int `json:"patterns"`
}

// plantedHotspot is a cluster planted on the demo for these tests.
type plantedHotspot struct {
	township   string
	lon, lat   float64
	cell       string // its res-9 H3 cell
	weekStart  time.Time
	from, to   time.Time // the twelve whole weeks before weekStart
	background int
	cluster    int
}

// plantHotspot writes, on the demo in pool, background clues of
// hotspotCategory spread over the household grids of the whole district
// for the twelve whole weeks before the current one, and a cluster of 40
// within 60 m of one point in the last of those weeks: a new hot spot.
func plantHotspot(t *testing.T, pool *pgxpool.Pool) plantedHotspot {
	t.Helper()
	ctx := context.Background()
	cst := time.FixedZone("CST", 8*3600)
	p := plantedHotspot{weekStart: hotspot.WeekStart(time.Now().In(cst)), background: 700, cluster: 40}
	p.from, p.to = p.weekStart.AddDate(0, 0, -84), p.weekStart
	// the centre: a household grid of 延庆镇, the busiest township
	if err := pool.QueryRow(ctx, `
		SELECT ST_X(pt), ST_Y(pt), t.code FROM (
			SELECT ST_PointOnSurface(hg.geom) pt, z.parent_id tid FROM grids hg
			JOIN grids v ON v.id = hg.parent_id JOIN grids z ON z.id = v.parent_id
			WHERE hg.level = 'household' AND hg.code LIKE '110119100%' AND ST_Area(hg.geom::geography) > 40000
			ORDER BY hg.code LIMIT 1 OFFSET 17) s
		JOIN grids t ON t.id = s.tid`).Scan(&p.lon, &p.lat, &p.township); err != nil {
		t.Fatal(err)
	}
	p.cell = h3.LatLngToCell(h3.NewLatLng(p.lat, p.lon), 9).String()

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
	span := p.to.Sub(p.from)
	for i := range p.background {
		h := homes[r.IntN(len(homes))]
		ext = append(ext, fmt.Sprintf("bg-%d", i))
		lons, lats = append(lons, h[0]), append(lats, h[1])
		ats = append(ats, p.from.Add(time.Duration(r.Int64N(int64(span)))))
	}
	for i := range p.cluster {
		// within 60 m: 1° of latitude is 111 km
		a, d := r.Float64()*2*math.Pi, 60*math.Sqrt(r.Float64())
		ext = append(ext, fmt.Sprintf("cl-%d", i))
		lons = append(lons, p.lon+d*math.Cos(a)/(111_320*math.Cos(p.lat*math.Pi/180)))
		lats = append(lats, p.lat+d*math.Sin(a)/111_320)
		ats = append(ats, p.to.Add(-time.Duration(r.Int64N(int64(7*24*time.Hour)))))
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
			ORDER BY hg.code LIMIT 1) g`, hotspotCategory, ext, lons, lats, ats)
	if err != nil {
		t.Fatal(err)
	}
	if int(tag.RowsAffected()) != len(ext) {
		t.Fatalf("planted %d clues of %d: some fell outside every household grid", tag.RowsAffected(), len(ext))
	}
	return p
}

func hotspotQuery(p plantedHotspot, extra string) string {
	q := "/api/v1/hotspots?category=" + hotspotCategory + "&from=" + url.QueryEscape(p.from.Format(time.RFC3339)) + "&to=" + url.QueryEscape(p.to.Format(time.RFC3339))
	if extra != "" {
		q += "&" + extra
	}
	return q
}

func TestHotspotsFindThePlantedCluster(t *testing.T) {
	env := testenv.Start(t)
	p := plantHotspot(t, env.Pool)
	command := env.Login(t, "command")

	status, body := env.Do(t, "GET", hotspotQuery(p, ""), command, nil)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	fc := decode[hotspotFC](t, body)
	if fc.Type != "FeatureCollection" || fc.Resolution != 9 || len(fc.Window.Slices) != 12 || fc.Window.Days != 7 {
		t.Fatalf("type %q, resolution %d, %d slices of %d days", fc.Type, fc.Resolution, len(fc.Window.Slices), fc.Window.Days)
	}
	if fc.Clues != p.background+p.cluster {
		t.Errorf("clues %d, planted %d", fc.Clues, p.background+p.cluster)
	}
	if fc.Cells < 20_000 || fc.Cells > 35_000 {
		t.Errorf("%d cells in the district's study area at res 9, want about 27,000 (1,994 km² / 0.076 km²)", fc.Cells)
	}
	if len(fc.Townships) != 0 || len(fc.Sources) != 5 {
		t.Errorf("townships %v, sources %v: want the district and every source but hotspot", fc.Townships, fc.Sources)
	}
	centre := h3.LatLngToCell(h3.NewLatLng(p.lat, p.lon), 9)
	found, newFar := false, 0
	for _, f := range fc.Features {
		pr := f.Properties
		if f.Type != "Feature" || f.Geometry.Type != "Polygon" || len(f.Geometry.Coordinates) != 1 || len(f.Geometry.Coordinates[0]) != 7 || f.ID != pr.Cell {
			t.Fatalf("feature %s: not a closed hexagon with its cell as id: %+v", pr.Cell, f)
		}
		if pr.Class == "none" && pr.Significance == "none" {
			t.Errorf("cell %s has no class and is not significant: only those are listed by default", pr.Cell)
		}
		c := h3.Cell(h3.IndexFromString(pr.Cell))
		near := h3.GridDistance(c, centre) <= 2
		if pr.Cell == p.cell {
			found = true
			if pr.Class != "new_hot_spot" || pr.Significance != "hot" || pr.Z < 3 || pr.P > 0.001 || pr.WeeksHot != 1 {
				t.Errorf("the planted cell: %+v, want a new hot spot, hot, z ≥ 3, p ≤ 0.001, hot one week", pr)
			}
			if pr.Count < p.cluster/3 {
				t.Errorf("the planted cell counts %d clues, want most of the %d planted within 60 m", pr.Count, p.cluster)
			}
		}
		if !near && pr.Class == "new_hot_spot" {
			newFar++
		}
	}
	if !found {
		t.Fatalf("the planted cell %s is not among the %d features", p.cell, len(fc.Features))
	}
	// 700 background clues over 5,000 grids and twelve weeks: a cell now
	// and then gets two or three in one week; the FDR keeps such false
	// new hot spots rare.
	if newFar > 3 {
		t.Errorf("%d new hot spots away from the planted cluster", newFar)
	}

	t.Run("class filter", func(t *testing.T) {
		status, body := env.Do(t, "GET", hotspotQuery(p, "class=new_hot_spot,intensifying_hot_spot"), command, nil)
		fc := decode[hotspotFC](t, body)
		if status != 200 || len(fc.Features) == 0 {
			t.Fatalf("status %d, %d features", status, len(fc.Features))
		}
		for _, f := range fc.Features {
			if c := f.Properties.Class; c != "new_hot_spot" && c != "intensifying_hot_spot" {
				t.Errorf("class %s in a new|intensifying answer", c)
			}
		}
	})
	t.Run("all cells with clues", func(t *testing.T) {
		_, body := env.Do(t, "GET", hotspotQuery(p, "all=true"), command, nil)
		fc := decode[hotspotFC](t, body)
		sum := 0
		for _, f := range fc.Features {
			sum += f.Properties.Count
		}
		if sum != p.background+p.cluster {
			t.Errorf("with all=true the cells count %d clues, want every one of %d", sum, p.background+p.cluster)
		}
	})
	t.Run("township", func(t *testing.T) {
		_, body := env.Do(t, "GET", hotspotQuery(p, "township="+p.township), command, nil)
		in := decode[hotspotFC](t, body)
		if len(in.Townships) != 1 || in.Cells >= fc.Cells || in.Clues >= fc.Clues || in.Clues < p.cluster {
			t.Errorf("township %s: %d cells, %d clues; the district has %d, %d", p.township, in.Cells, in.Clues, fc.Cells, fc.Clues)
		}
		other := "110119101"
		_, body = env.Do(t, "GET", hotspotQuery(p, "township="+other), command, nil)
		out := decode[hotspotFC](t, body)
		for _, f := range out.Features {
			if f.Properties.Cell == p.cell {
				t.Errorf("township %s shows the cluster planted in %s", other, p.township)
			}
		}
	})
	t.Run("source", func(t *testing.T) {
		_, body := env.Do(t, "GET", hotspotQuery(p, "source=hotline,app"), command, nil)
		if fc := decode[hotspotFC](t, body); fc.Clues != 0 || len(fc.Features) != 0 {
			t.Errorf("hotline and app: %d clues, %d features; every planted clue is a patrol's", fc.Clues, len(fc.Features))
		}
	})
	t.Run("default window ends now", func(t *testing.T) {
		status, body := env.Do(t, "GET", "/api/v1/hotspots?category="+hotspotCategory, command, nil)
		fc := decode[hotspotFC](t, body)
		if status != 200 || len(fc.Window.Slices) != 12 || time.Since(fc.Window.To) > time.Minute || fc.Window.To.Sub(fc.Window.From) != 84*24*time.Hour {
			t.Errorf("status %d, window %v to %v in %d slices", status, fc.Window.From, fc.Window.To, len(fc.Window.Slices))
		}
	})
}

func TestHotspotsScope(t *testing.T) {
	env := testenv.Start(t)
	p := plantHotspot(t, env.Pool)
	for _, c := range []struct {
		user    string
		query   string
		status  int
		cluster bool // the planted cell is among the features
	}{
		{"command", "", 200, true},
		{"screen", "", 200, true},
		{"t" + p.township, "", 200, true},
		{"t110119101", "", 200, false},                       // another township sees its own clues only
		{"t110119101", "township=" + p.township, 404, false}, // and not the planted one's
		{"w110119100001", "", 403, false},                    // a grid worker's village is too small a map
		{"p110119100001001", "", 403, false},                 // so is a party member's household grid
		{"command", "township=999999999", 404, false},        // no such township
	} {
		status, body := env.Do(t, "GET", hotspotQuery(p, c.query), env.Login(t, c.user), nil)
		if status != c.status {
			t.Errorf("%s %s: status %d, want %d: %s", c.user, c.query, status, c.status, body)
			continue
		}
		if status != 200 {
			continue
		}
		fc := decode[hotspotFC](t, body)
		got := false
		for _, f := range fc.Features {
			got = got || f.Properties.Cell == p.cell
		}
		if got != c.cluster {
			t.Errorf("%s: planted cell shown %v, want %v", c.user, got, c.cluster)
		}
	}
}

func TestHotspotsRejectBadInput(t *testing.T) {
	env := testenv.Start(t)
	command := env.Login(t, "command")
	for _, c := range []struct {
		query, field string
		status       int
	}{
		{"res=11", "", 422},
		{"res=x", "res", 422},
		{"k=4", "", 422},
		{"alpha=1.5", "alpha", 422},
		{"weeks=1", "weeks", 422},
		{"weeks=3&from=2026-01-01", "weeks", 422},
		{"from=2026-10-01&to=2026-09-01", "", 422},
		{"from=2026-09-01&to=2026-09-05", "", 422}, // one slice: no trend
		{"from=yesterday", "from", 422},
		{"class=hot", "class", 422},
		{"source=twitter", "", 422},
		{"all=maybe", "all", 422},
		{"category=XX.99", "", 404},
	} {
		status, body := env.Do(t, "GET", "/api/v1/hotspots?"+c.query, command, nil)
		if status != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.query, status, c.status, body)
			continue
		}
		e := decode[struct {
			Error struct{ Code, Message, Field string }
		}](t, body)
		if e.Error.Message == "" || e.Error.Field != c.field {
			t.Errorf("%s: error %+v, want a reason naming field %q", c.query, e.Error, c.field)
		}
	}
}

type scanAnswer struct {
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	Categories  int       `json:"categories"`
	Filed       int       `json:"filed"`
	Findings    []struct {
		Cell       string  `json:"cell"`
		Category   string  `json:"category"`
		Pattern    string  `json:"pattern"`
		LastCount  int     `json:"last_count"`
		Lon        float64 `json:"lon"`
		Lat        float64 `json:"lat"`
		ExternalID string  `json:"external_id"`
		Filed      bool    `json:"filed"`
	} `json:"findings"`
}

func TestHotspotScanFilesOnce(t *testing.T) {
	env := testenv.Start(t)
	p := plantHotspot(t, env.Pool)
	command := env.Login(t, "command")

	if status, _ := env.Do(t, "POST", "/api/v1/hotspots/scan", env.Login(t, "t"+p.township), nil); status != 403 {
		t.Errorf("a township runs the scan: status %d, want 403", status)
	}

	// two scans at once, as two server instances would run them
	answers := make([]scanAnswer, 2)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			status, body := env.Do(t, "POST", "/api/v1/hotspots/scan", command, nil)
			if status != 200 {
				t.Errorf("scan %d: status %d: %s", i, status, body)
				return
			}
			answers[i] = decode[scanAnswer](t, body)
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	a := answers[0]
	if !a.WindowEnd.Equal(p.to) || !a.WindowStart.Equal(p.from) {
		t.Errorf("window %v to %v, want %v to %v", a.WindowStart, a.WindowEnd, p.from, p.to)
	}
	var mine []int
	for i, f := range a.Findings {
		if f.Category == hotspotCategory {
			mine = append(mine, i)
		}
	}
	if len(mine) != 1 {
		t.Fatalf("%d findings of %s, want the planted cluster only: %+v", len(mine), hotspotCategory, a.Findings)
	}
	f := a.Findings[mine[0]]
	if f.Pattern != "new_hot_spot" || f.LastCount < p.cluster/2 {
		t.Errorf("finding %+v: want a new hot spot with most of the %d clues this week", f, p.cluster)
	}
	if d := math.Hypot((f.Lon-p.lon)*math.Cos(p.lat*math.Pi/180), f.Lat-p.lat) * 111_320; d > 400 {
		t.Errorf("filed %.0f m from the planted centre", d)
	}
	filed := 0
	for _, x := range answers {
		filed += x.Filed
		if len(x.Findings) != len(a.Findings) {
			t.Errorf("the two scans found %d and %d", len(x.Findings), len(a.Findings))
		}
	}
	if filed != len(a.Findings) {
		t.Errorf("two scans at once filed %d clues for %d findings", filed, len(a.Findings))
	}
	var n int
	var src, cat, text string
	var whistle *int64
	if err := env.Pool.QueryRow(context.Background(), `SELECT count(*) OVER (), c.source, k.code, c.text, c.whistle_id FROM clues c JOIN categories k ON k.id = c.category_id
		WHERE c.external_id = $1`, f.ExternalID).Scan(&n, &src, &cat, &text, &whistle); err != nil {
		t.Fatalf("the filed clue %s: %v", f.ExternalID, err)
	}
	if n != 1 || src != "hotspot" || cat != hotspotCategory || text == "" {
		t.Errorf("filed clue: %d rows, source %s, category %s, text %q", n, src, cat, text)
	}
	var hotspotClues int
	if err := env.Pool.QueryRow(context.Background(), `SELECT count(*) FROM clues WHERE source = 'hotspot'`).Scan(&hotspotClues); err != nil {
		t.Fatal(err)
	}
	if hotspotClues != len(a.Findings) {
		t.Errorf("%d hotspot clues stored for %d findings", hotspotClues, len(a.Findings))
	}

	// the same week again: nothing new
	status, body := env.Do(t, "POST", "/api/v1/hotspots/scan", command, nil)
	again := decode[scanAnswer](t, body)
	if status != 200 || again.Filed != 0 || len(again.Findings) != len(a.Findings) {
		t.Errorf("second scan: status %d, filed %d of %d findings", status, again.Filed, len(again.Findings))
	}
	// and the hotspot clue does not feed the analysis
	_, body = env.Do(t, "GET", hotspotQuery(p, ""), command, nil)
	if fc := decode[hotspotFC](t, body); fc.Clues != p.background+p.cluster {
		t.Errorf("after the scan the analysis counts %d clues, want the %d planted (hotspot clues left out)", fc.Clues, p.background+p.cluster)
	}
}

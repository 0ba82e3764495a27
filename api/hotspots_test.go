package api_test

import (
	"context"
	"math"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/uber/h3-go/v4"

	"whistlegrid/internal/testenv"
)

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
	Classes    map[string]int `json:"classes"`
}

func hotspotQuery(p testenv.Hotspot, extra string) string {
	q := "/api/v1/hotspots?category=" + testenv.HotspotCategory + "&from=" + url.QueryEscape(p.From.Format(time.RFC3339)) + "&to=" + url.QueryEscape(p.To.Format(time.RFC3339))
	if extra != "" {
		q += "&" + extra
	}
	return q
}

func TestHotspotsFindThePlantedCluster(t *testing.T) {
	t.Parallel() // its own database
	env := testenv.Start(t)
	p := testenv.PlantHotspot(t, env.Pool)
	command := env.Login(t, "command")

	status, body := env.Do(t, "GET", hotspotQuery(p, ""), command, nil)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	fc := decode[hotspotFC](t, body)
	if fc.Type != "FeatureCollection" || fc.Resolution != 9 || len(fc.Window.Slices) != 12 || fc.Window.Days != 7 {
		t.Fatalf("type %q, resolution %d, %d slices of %d days", fc.Type, fc.Resolution, len(fc.Window.Slices), fc.Window.Days)
	}
	if fc.Clues != p.Background+p.Cluster {
		t.Errorf("clues %d, planted %d", fc.Clues, p.Background+p.Cluster)
	}
	if fc.Classes["new_hot_spot"] < 1 || fc.Classes["none"] != 0 {
		t.Errorf("cells per class %v: want the planted new hot spot counted, and no count of none", fc.Classes)
	}
	if fc.Cells < 20_000 || fc.Cells > 35_000 {
		t.Errorf("%d cells in the district's study area at res 9, want about 27,000 (1,994 km² / 0.076 km²)", fc.Cells)
	}
	if len(fc.Townships) != 0 || len(fc.Sources) != 5 {
		t.Errorf("townships %v, sources %v: want the district and every source but hotspot", fc.Townships, fc.Sources)
	}
	centre := h3.LatLngToCell(h3.NewLatLng(p.Lat, p.Lon), 9)
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
		if pr.Cell == p.Cell {
			found = true
			if pr.Class != "new_hot_spot" || pr.Significance != "hot" || pr.Z < 3 || pr.P > 0.001 || pr.WeeksHot != 1 {
				t.Errorf("the planted cell: %+v, want a new hot spot, hot, z ≥ 3, p ≤ 0.001, hot one week", pr)
			}
			if pr.Count < p.Cluster/3 {
				t.Errorf("the planted cell counts %d clues, want most of the %d planted within 60 m", pr.Count, p.Cluster)
			}
		}
		if !near && pr.Class == "new_hot_spot" {
			newFar++
		}
	}
	if !found {
		t.Fatalf("the planted cell %s is not among the %d features", p.Cell, len(fc.Features))
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
		if sum != p.Background+p.Cluster {
			t.Errorf("with all=true the cells count %d clues, want every one of %d", sum, p.Background+p.Cluster)
		}
	})
	t.Run("township", func(t *testing.T) {
		_, body := env.Do(t, "GET", hotspotQuery(p, "township="+p.Township), command, nil)
		in := decode[hotspotFC](t, body)
		if len(in.Townships) != 1 || in.Cells >= fc.Cells || in.Clues >= fc.Clues || in.Clues < p.Cluster {
			t.Errorf("township %s: %d cells, %d clues; the district has %d, %d", p.Township, in.Cells, in.Clues, fc.Cells, fc.Clues)
		}
		other := "110119101"
		_, body = env.Do(t, "GET", hotspotQuery(p, "township="+other), command, nil)
		out := decode[hotspotFC](t, body)
		for _, f := range out.Features {
			if f.Properties.Cell == p.Cell {
				t.Errorf("township %s shows the cluster planted in %s", other, p.Township)
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
		status, body := env.Do(t, "GET", "/api/v1/hotspots?category="+testenv.HotspotCategory, command, nil)
		fc := decode[hotspotFC](t, body)
		if status != 200 || len(fc.Window.Slices) != 12 || time.Since(fc.Window.To) > time.Minute || fc.Window.To.Sub(fc.Window.From) != 84*24*time.Hour {
			t.Errorf("status %d, window %v to %v in %d slices", status, fc.Window.From, fc.Window.To, len(fc.Window.Slices))
		}
	})
}

func TestHotspotsScope(t *testing.T) {
	t.Parallel() // its own database
	env := testenv.Start(t)
	p := testenv.PlantHotspot(t, env.Pool)
	for _, c := range []struct {
		user    string
		query   string
		status  int
		cluster bool // the planted cell is among the features
	}{
		{"command", "", 200, true},
		{"screen", "", 200, true},
		{"t" + p.Township, "", 200, true},
		{"t110119101", "", 200, false},                       // another township sees its own clues only
		{"t110119101", "township=" + p.Township, 404, false}, // and not the planted one's
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
			got = got || f.Properties.Cell == p.Cell
		}
		if got != c.cluster {
			t.Errorf("%s: planted cell shown %v, want %v", c.user, got, c.cluster)
		}
	}
}

func TestHotspotsRejectBadInput(t *testing.T) {
	t.Parallel() // its own database
	env := testenv.Start(t)
	command := env.Login(t, "command")
	for _, c := range []struct {
		query, field string
		status       int
	}{
		{"res=11", "res", 422},
		{"res=x", "res", 422},
		{"k=4", "k", 422},
		{"alpha=1.5", "alpha", 422},
		{"weeks=1", "weeks", 422},
		{"weeks=3&from=2026-01-01", "weeks", 422},
		{"from=2026-10-01&to=2026-09-01", "to", 422},
		{"from=2026-09-01&to=2026-09-05", "", 422}, // one slice: no trend
		{"from=yesterday", "from", 422},
		{"class=hot", "class", 422},
		{"source=twitter", "source", 422},
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
		Class      string  `json:"class"`
		LastCount  int     `json:"last_count"`
		Lon        float64 `json:"lon"`
		Lat        float64 `json:"lat"`
		ExternalID string  `json:"external_id"`
		Filed      bool    `json:"filed"`
	} `json:"findings"`
}

func TestHotspotScanFilesOnce(t *testing.T) {
	t.Parallel() // its own database
	env := testenv.Start(t)
	p := testenv.PlantHotspot(t, env.Pool)
	command := env.Login(t, "command")

	if status, _ := env.Do(t, "POST", "/api/v1/hotspots/scan", env.Login(t, "t"+p.Township), nil); status != 403 {
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
	if !a.WindowEnd.Equal(p.To) || !a.WindowStart.Equal(p.From) {
		t.Errorf("window %v to %v, want %v to %v", a.WindowStart, a.WindowEnd, p.From, p.To)
	}
	var mine []int
	for i, f := range a.Findings {
		if f.Category == testenv.HotspotCategory {
			mine = append(mine, i)
		}
	}
	if len(mine) != 1 {
		t.Fatalf("%d findings of %s, want the planted cluster only: %+v", len(mine), testenv.HotspotCategory, a.Findings)
	}
	f := a.Findings[mine[0]]
	if f.Class != "new_hot_spot" || f.LastCount < p.Cluster/2 {
		t.Errorf("finding %+v: want a new hot spot with most of the %d clues this week", f, p.Cluster)
	}
	if d := math.Hypot((f.Lon-p.Lon)*math.Cos(p.Lat*math.Pi/180), f.Lat-p.Lat) * 111_320; d > 400 {
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
	if n != 1 || src != "hotspot" || cat != testenv.HotspotCategory || text == "" {
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
	if fc := decode[hotspotFC](t, body); fc.Clues != p.Background+p.Cluster {
		t.Errorf("after the scan the analysis counts %d clues, want the %d planted (hotspot clues left out)", fc.Clues, p.Background+p.Cluster)
	}
}

package grid_test

import (
	"context"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"whistlegrid/access"
	"whistlegrid/grid"
	"whistlegrid/grid/index"
	"whistlegrid/internal/testenv"
)

// TestIndexEqualsPostGIS holds the placement index to PostGIS ST_Covers on
// the demo: random points over the district and beyond, and samples of the
// household grids' vertices and edge midpoints, where two grids meet and
// the tie rule (lowest code) decides. `whistlegrid bench place` checks
// every vertex and midpoint.
func TestIndexEqualsPostGIS(t *testing.T) {
	t.Parallel() // its own database
	pool := testenv.DemoDB(t)
	ctx := context.Background()
	p, err := grid.NewPlacer(ctx, pool, grid.IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pts, err := grid.SamplePoints(ctx, pool, grid.VerifyPoints{Random: 30000, Vertices: 15000, Edges: 15000, Seed: uint64(time.Now().UnixNano())})
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) < 50000 {
		t.Fatalf("only %d sample points", len(pts))
	}
	mm, err := grid.Verify(ctx, pool, p.Index(), pts)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range mm {
		if i == 10 {
			break
		}
		t.Errorf("point %.12f,%.12f: index %q, PostGIS %v", m.Point[0], m.Point[1], m.Index, m.PostGIS)
	}
	if len(mm) > 0 {
		t.Errorf("%d of %d points disagree with PostGIS", len(mm), len(pts))
	}
}

func TestPlacerChainAndResponsible(t *testing.T) {
	t.Parallel() // its own database
	pool := testenv.DemoDB(t)
	ctx := context.Background()
	p, err := grid.NewPlacer(ctx, pool, grid.IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// a household's own location lies in its household grid
	var code string
	var pt orb.Point
	err = pool.QueryRow(ctx, `SELECT g.code, ST_X(h.location), ST_Y(h.location) FROM households h JOIN grids g ON g.id = h.grid_id
		WHERE g.code LIKE '110119101%' ORDER BY h.id LIMIT 1`).Scan(&code, &pt[0], &pt[1])
	if err != nil {
		t.Fatal(err)
	}
	pl, err := p.Place(pt)
	if err != nil {
		t.Fatal(err)
	}
	levels := []grid.Level{grid.LevelHousehold, grid.LevelVillage, grid.LevelZone, grid.LevelTownship, grid.LevelDistrict}
	if len(pl.Chain) != len(levels) {
		t.Fatalf("chain %+v, want 5 links", pl.Chain)
	}
	for i, l := range pl.Chain {
		if l.Level != levels[i] {
			t.Errorf("chain[%d] level %s, want %s", i, l.Level, levels[i])
		}
	}
	if pl.Chain[0].Code != code || pl.Chain[3].Code != "110119101" || pl.Chain[4].Code != "110119" {
		t.Errorf("chain %+v, want household %s in 康庄镇", pl.Chain, code)
	}
	if pl.EdgeDistanceM < 0 || pl.NearEdge != (pl.EdgeDistanceM < index.DefaultNearEdgeM) {
		t.Errorf("edge distance %.2f near_edge %v", pl.EdgeDistanceM, pl.NearEdge)
	}

	command := access.Scope{Role: access.RoleCommand}
	screen := access.Scope{Role: access.RoleScreen}
	people, _, err := p.Responsible(command, pl, "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	duties := map[string]int{}
	for _, d := range people {
		duties[d.Duty]++
	}
	for _, d := range []string{"household", "village", "patrol", "zone"} {
		if duties[d] != 1 {
			t.Errorf("duty %s: %d people, want 1 (%+v)", d, duties[d], people)
		}
	}
	if people[0].Duty != "household" {
		t.Errorf("first responsible %+v, want the household's party member", people[0])
	}
	masked, _, _ := p.Responsible(screen, pl, "", time.Now())
	for i := range masked {
		if masked[i].Phone == people[i].Phone || masked[i].Phone != access.MaskPhone(people[i].Phone) {
			t.Errorf("screen sees phone %q", masked[i].Phone)
		}
	}
	// before anyone was on duty, nobody was responsible
	before, _, _ := p.Responsible(command, pl, "", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
	if len(before) != 0 {
		t.Errorf("in 2000: %d people on duty, want 0", len(before))
	}

	if _, _, err := p.Responsible(command, pl, "NO.SUCH", time.Now()); err == nil {
		t.Errorf("unknown category accepted")
	}

	// units: township row, else district row, else the township itself
	rows, err := pool.Query(ctx, `
		SELECT c.code,
			(SELECT u.code FROM duties d JOIN units u ON u.id = d.lead_unit_id JOIN grids t ON t.id = d.township_id WHERE d.category_id = c.id AND t.code = '110119101'),
			(SELECT u.code FROM duties d JOIN units u ON u.id = d.lead_unit_id WHERE d.category_id = c.id AND d.township_id IS NULL)
		FROM categories c`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var cat string
		var town, district *string
		if err := rows.Scan(&cat, &town, &district); err != nil {
			t.Fatal(err)
		}
		_, units, err := p.Responsible(command, pl, cat, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if len(units) == 0 || units[0].Role != "lead" {
			t.Fatalf("%s: units %+v, want a lead first", cat, units)
		}
		var want, kind string
		switch {
		case town != nil:
			want, kind = *town, "township row"
		case district != nil:
			want, kind = *district, "district row"
		default:
			want, kind = "110119101", "属地兜底"
		}
		if units[0].Code != want {
			t.Errorf("%s: lead %s, want %s (%s)", cat, units[0].Code, want, kind)
		}
		seen[kind] = true
	}
	for _, k := range []string{"township row", "district row", "属地兜底"} {
		if !seen[k] {
			t.Errorf("the demo exercises no %s case", k)
		}
	}
}

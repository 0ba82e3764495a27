package demo

import (
	"context"
	"errors"
	"testing"
	"time"

	"whistlegrid/internal/dbtest"
)

func TestPlanBeijing(t *testing.T) {
	divs, err := readFile(Files(), "beijing/divisions.csv", ReadDivisions)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := planBeijing(divs, DefaultSeed, DefaultBeijingHouseholdGrids)
	if err != nil {
		t.Fatal(err)
	}
	towns, vills, grids, laidOut := 0, 0, 0, 0
	kinds := map[string]int{}
	for _, d := range plan {
		towns += len(d.townships)
		for _, tw := range d.townships {
			if tw.kind != townshipKind(tw.name) {
				laidOut++
			}
		}
		for _, v := range d.villages {
			vills++
			grids += v.grids
			kinds[v.kind]++
			if v.grids < beijingMinGrids || v.grids > beijingMaxGrids || v.code[:6] != d.div.Code {
				t.Errorf("village %s %s: %d household grids, district %s", v.code, v.name, v.grids, d.div.Code)
			}
		}
	}
	if len(plan) != 16 || towns != 349 || vills != 7535 || grids != DefaultBeijingHouseholdGrids {
		t.Errorf("%d districts, %d townships, %d villages, %d household grids", len(plan), towns, vills, grids)
	}
	if kinds["community"] < 3700 || kinds["village"] < 3700 || laidOut == 0 {
		t.Errorf("village kinds %v; %d 街道 laid out as towns", kinds, laidOut)
	}
	again, err := planBeijing(divs, DefaultSeed, DefaultBeijingHouseholdGrids)
	if err != nil {
		t.Fatal(err)
	}
	for i := range plan {
		for j, v := range plan[i].villages {
			if again[i].villages[j] != v {
				t.Fatalf("the same seed planned %+v, then %+v", v, again[i].villages[j])
			}
		}
	}
}

func TestBeijingVillageName(t *testing.T) {
	for in, want := range map[string]string{
		"月河社区居民委员会": "月河社区",
		"三台山居民委员会":  "三台山社区",
		"牌坊村村民委员会":  "牌坊村",
		"苇沟村民委员会":   "苇沟村",
		"湖南社区居委会":   "湖南社区",
		"小丰营村委会":    "小丰营村",
	} {
		if got := beijingVillageName(in); got != want {
			t.Errorf("beijingVillageName(%q) = %q, want %q", in, got, want)
		}
	}
	if beijingVillageKind("三台山居民委员会") != "community" || beijingVillageKind("苇沟村民委员会") != "village" {
		t.Error("beijingVillageKind")
	}
}

// testBeijingHouseholdGrids keeps the load in make test near a minute: every
// district, township and village is built all the same, with three household
// grids a village at least; the full 75,000 (TestPlanBeijing checks its plan) is
// loaded and checked exactly by `whistlegrid bench place`.
const testBeijingHouseholdGrids = 24_000

// TestLoadBeijing loads the Beijing set into a fresh database and checks
// the counts and that every grid lies exactly inside its parent.
func TestLoadBeijing(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: the Beijing-scale set (make test runs it; make check skips it)")
	}
	ctx := context.Background()
	pool := dbtest.New(t)
	start := time.Now()
	sum, err := LoadBeijing(ctx, pool, BeijingOptions{HouseholdGrids: testBeijingHouseholdGrids})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Beijing loaded in %v: %+v", time.Since(start).Round(time.Millisecond), sum)

	t.Run("counts", func(t *testing.T) {
		if sum.Districts != 16 || sum.Townships != 349 || sum.Villages != 7535 {
			t.Errorf("%d districts, %d townships, %d villages; want 16, 349, 7535", sum.Districts, sum.Townships, sum.Villages)
		}
		if sum.HouseholdGrids < testBeijingHouseholdGrids*95/100 || sum.HouseholdGrids > testBeijingHouseholdGrids*105/100 {
			t.Errorf("%d household grids, want %d ± 5%%", sum.HouseholdGrids, testBeijingHouseholdGrids)
		}
		if sum.Zones < 7535/8 || sum.Zones > 7535/2 {
			t.Errorf("%d zones, want %d..%d", sum.Zones, 7535/8, 7535/2)
		}
		var sub, town, tw int
		if err := pool.QueryRow(ctx, `
SELECT count(*) FILTER (WHERE kind = 'subdistrict'), count(*) FILTER (WHERE kind = 'town'), count(*) FILTER (WHERE kind = 'township')
FROM grids WHERE level = 'township'`).Scan(&sub, &town, &tw); err != nil {
			t.Fatal(err)
		}
		if sub != 165 || town != 107 || tw != 77 {
			t.Errorf("%d 街道, %d 镇, %d 乡 and 地区; want 165, 107, 77", sub, town, tw)
		}
	})

	t.Run("refuses a loaded database", func(t *testing.T) {
		if _, err := LoadBeijing(ctx, pool, BeijingOptions{}); !errors.Is(err, ErrNotEmpty) {
			t.Fatalf("second LoadBeijing: %v, want ErrNotEmpty", err)
		}
	})

	// Every child lies inside its parent, level by level, and has a
	// parent one level up whose code it extends (a village extends its zone's
	// code up to the P, which is the township's).
	const outside = `
SELECT count(*) FILTER (WHERE NOT ST_Covers(p.geom, c.geom)),
       count(*) FILTER (WHERE p.level <> $2 OR NOT starts_with(c.code, split_part(p.code, 'P', 1))),
       count(*)
FROM grids c JOIN grids p ON p.id = c.parent_id
WHERE c.level = $1`
	for _, lv := range []struct {
		child, parent string
		want          int
	}{
		{"township", "district", 349},
		{"zone", "township", sum.Zones},
		{"village", "zone", 7535},
		{"household", "village", sum.HouseholdGrids},
	} {
		t.Run(lv.child+" in "+lv.parent, func(t *testing.T) {
			var out, wrong, n int
			if err := pool.QueryRow(ctx, outside, lv.child, lv.parent).Scan(&out, &wrong, &n); err != nil {
				t.Fatal(err)
			}
			if out != 0 || wrong != 0 || n != lv.want {
				t.Errorf("%d of %d not ST_Covers-inside their %s, %d under the wrong parent; want 0 of %d", out, n, lv.parent, wrong, lv.want)
			}
		})
	}

	t.Run("districts keep their real outlines", func(t *testing.T) {
		outlines, err := readFile(Files(), "beijing/districts.geojson", ReadOutlines)
		if err != nil {
			t.Fatal(err)
		}
		var codes, texts []string
		for c, o := range outlines {
			codes, texts = append(codes, c), append(texts, string(o))
		}
		rows, err := pool.Query(ctx, `
SELECT d.code, ST_Area(ST_SymDifference(d.geom, r.geom)) / ST_Area(r.geom)
FROM unnest($1::text[], $2::text[]) AS o(code, geojson)
JOIN grids d ON d.code = o.code AND d.level = 'district'
CROSS JOIN LATERAL (SELECT ST_CollectionExtract(ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON(o.geojson), 4326)), 3) AS geom) r`, codes, texts)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var code string
			var share float64
			if err := rows.Scan(&code, &share); err != nil {
				t.Fatal(err)
			}
			n++
			// only the slivers a neighbour also claims may go
			if share > 0.002 {
				t.Errorf("district %s differs from its repaired outline by %.5f of its area", code, share)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if n != 16 {
			t.Errorf("%d districts compared, want 16", n)
		}
	})
}

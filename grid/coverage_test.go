package grid_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/access"
	"whistlegrid/grid"
	"whistlegrid/internal/testenv"
)

func TestLoadStats(t *testing.T) {
	loads := func(ns ...int) []grid.MemberLoad {
		out := make([]grid.MemberLoad, len(ns))
		for i, n := range ns {
			out[i] = grid.MemberLoad{PersonID: int64(i + 1), Households: n}
		}
		return out
	}
	tests := []struct {
		name     string
		in       []grid.MemberLoad
		mean, sd float64
		outliers []int64
	}{
		{"none", nil, 0, 0, nil},
		{"all equal", loads(5, 5, 5), 5, 0, nil},
		{"no outlier", loads(18, 20, 22, 20), 20, math.Sqrt(2), nil},
		// 19 members with 20 households, one with 200: mean 29, sd 39.23
		{"one heavy", append(loads(20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20), grid.MemberLoad{PersonID: 99, Households: 200}), 29, math.Sqrt((19*81.0 + 171*171) / 20), []int64{99}},
		{"one idle", append(loads(20, 21, 19, 20, 20, 21, 19, 20, 20, 20), grid.MemberLoad{PersonID: 77}), 200.0 / 11, 0, []int64{77}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := grid.LoadStats(tt.in)
			if pl.Members != len(tt.in) || math.Abs(pl.Mean-tt.mean) > 1e-9 {
				t.Errorf("members %d mean %v, want %d %v", pl.Members, pl.Mean, len(tt.in), tt.mean)
			}
			if tt.sd != 0 && math.Abs(pl.SD-tt.sd) > 1e-9 {
				t.Errorf("sd %v, want %v", pl.SD, tt.sd)
			}
			if math.Abs(pl.High-(pl.Mean+2*pl.SD)) > 1e-9 || math.Abs(pl.Low-(pl.Mean-2*pl.SD)) > 1e-9 || pl.Rule == "" {
				t.Errorf("thresholds %v..%v rule %q", pl.Low, pl.High, pl.Rule)
			}
			var got []int64
			for _, m := range pl.Outliers {
				got = append(got, m.PersonID)
			}
			if len(got) != len(tt.outliers) || (len(got) > 0 && got[0] != tt.outliers[0]) {
				t.Errorf("outliers %v, want %v", got, tt.outliers)
			}
			for i := 1; i < len(pl.Loads); i++ {
				if pl.Loads[i].Households > pl.Loads[i-1].Households {
					t.Fatalf("loads not ordered most first: %+v", pl.Loads)
				}
			}
		})
	}
}

// pick runs a query that must return one row.
func pick(t *testing.T, pool *pgxpool.Pool, q string, args []any, dest ...any) {
	t.Helper()
	if err := pool.QueryRow(context.Background(), q, args...).Scan(dest...); err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
}

func exec(t *testing.T, pool *pgxpool.Pool, q string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), q, args...); err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
}

// neighbourVillages finds two villages of one zone of 康庄镇 sharing an edge.
const neighbourVillages = `
SELECT z.code, a.code, b.code
FROM grids a JOIN grids b ON b.parent_id = a.parent_id AND a.code < b.code AND a.geom && b.geom
JOIN grids z ON z.id = a.parent_id
WHERE a.level = 'village' AND a.code LIKE '110119101%' AND ST_Dimension(ST_Intersection(a.geom, b.geom)) = 1
ORDER BY a.code, b.code LIMIT 1`

var command = access.Scope{Role: access.RoleCommand, Username: "command", GridCode: "110119"}

func near(got, want, rel float64) bool { return math.Abs(got-want) <= rel*want+0.01 }

// TestCoverageFindsCraftedDefects makes one defect per case in its own copy
// of the demo (a clean demo has none) and finds it in the right list.
func TestCoverageFindsCraftedDefects(t *testing.T) {
	t.Parallel() // its own database
	ctx := context.Background()
	tests := []struct {
		name   string
		defect func(t *testing.T, pool *pgxpool.Pool) (parent string, check func(t *testing.T, cv *grid.Coverage))
	}{
		{"clean township", func(t *testing.T, pool *pgxpool.Pool) (string, func(*testing.T, *grid.Coverage)) {
			var zones int
			pick(t, pool, `SELECT count(*) FROM grids WHERE level = 'zone' AND code LIKE '110119101%'`, nil, &zones)
			return "110119101", func(t *testing.T, cv *grid.Coverage) {
				if cv.Children != zones || cv.Parent.Level != "township" || cv.ToleranceM2 != grid.ToleranceM2 {
					t.Errorf("parent %+v children %d, want %d zones", cv.Parent, cv.Children, zones)
				}
				if len(cv.Gaps)+len(cv.Overlaps)+len(cv.OutsideParent)+len(cv.Unstaffed)+len(cv.Outside)+len(cv.NoMember) != 0 {
					t.Errorf("defects on a clean demo: gaps %v overlaps %v outside %v unstaffed %v astray %v no member %v",
						cv.Gaps, cv.Overlaps, cv.OutsideParent, cv.Unstaffed, cv.Outside, cv.NoMember)
				}
				if cv.Load.Members == 0 || cv.Load.Mean < 5 || cv.Load.Members != len(cv.Load.Loads) {
					t.Errorf("load %+v", cv.Load)
				}
			}
		}},
		{"overlap of two villages", func(t *testing.T, pool *pgxpool.Pool) (string, func(*testing.T, *grid.Coverage)) {
			var zone, a, b string
			pick(t, pool, neighbourVillages, nil, &zone, &a, &b)
			var want float64
			// a 100 m half-disc of b, taken at a point of the shared edge, added to a
			pick(t, pool, `
				WITH x AS (SELECT ST_CollectionExtract(ST_Intersection(b.geom,
					ST_Buffer(ST_PointOnSurface(ST_Intersection(a.geom, b.geom))::geography, 100)::geometry), 3) AS piece, a.id
					FROM grids a, grids b WHERE a.code = $1 AND b.code = $2),
				u AS (UPDATE grids g SET geom = ST_Multi(ST_Union(g.geom, x.piece)) FROM x WHERE g.id = x.id RETURNING g.id)
				SELECT ST_Area(piece::geography) FROM x, u`, []any{a, b}, &want)
			return zone, func(t *testing.T, cv *grid.Coverage) {
				if len(cv.Overlaps) != 1 || cv.Overlaps[0].A != a || cv.Overlaps[0].B != b || !near(cv.Overlaps[0].AreaM2, want, 0.01) {
					t.Fatalf("overlaps %+v, want %s/%s %.1f m²", cv.Overlaps, a, b, want)
				}
				if len(cv.Gaps) != 0 || len(cv.Layers.Overlaps.Features) != 1 || !isGeoJSON(cv.Layers.Overlaps.Features[0].Geometry, "Polygon", "MultiPolygon") {
					t.Errorf("gaps %+v layer %+v", cv.Gaps, cv.Layers.Overlaps)
				}
			}
		}},
		{"gap in a zone", func(t *testing.T, pool *pgxpool.Pool) (string, func(*testing.T, *grid.Coverage)) {
			var zone, a, b string
			pick(t, pool, neighbourVillages, nil, &zone, &a, &b)
			var want float64
			pick(t, pool, `
				WITH x AS (SELECT ST_CollectionExtract(ST_Intersection(a.geom, ST_Buffer(ST_PointOnSurface(a.geom)::geography, 60)::geometry), 3) AS hole, a.id
					FROM grids a WHERE a.code = $1),
				u AS (UPDATE grids g SET geom = ST_Multi(ST_Difference(g.geom, x.hole)) FROM x WHERE g.id = x.id RETURNING g.id)
				SELECT ST_Area(hole::geography) FROM x, u`, []any{a}, &want)
			return zone, func(t *testing.T, cv *grid.Coverage) {
				if len(cv.Gaps) != 1 || !near(cv.Gaps[0].AreaM2, want, 0.01) || len(cv.Overlaps) != 0 {
					t.Fatalf("gaps %+v overlaps %+v, want one gap of %.1f m²", cv.Gaps, cv.Overlaps, want)
				}
				if f := cv.Layers.Gaps.Features; len(f) != 1 || !isGeoJSON(f[0].Geometry, "Polygon") {
					t.Errorf("gap layer %+v", cv.Layers.Gaps)
				}
			}
		}},
		{"unstaffed grids", func(t *testing.T, pool *pgxpool.Pool) (string, func(*testing.T, *grid.Coverage)) {
			var hg, village, zone string
			pick(t, pool, `SELECT h.code, v.code, z.code FROM grids h JOIN grids v ON v.id = h.parent_id JOIN grids z ON z.id = v.parent_id
				WHERE h.level = 'household' AND h.code LIKE '110119101%' ORDER BY h.code LIMIT 1`, nil, &hg, &village, &zone)
			exec(t, pool, `UPDATE assignments a SET valid_to = now() - interval '1 second' FROM grids g
				WHERE g.id = a.grid_id AND ((g.code = $1 AND a.duty = 'household') OR (g.code = $2 AND a.duty = 'patrol') OR g.code = $3)`, hg, village, zone)
			return "110119101", func(t *testing.T, cv *grid.Coverage) {
				want := map[string]string{zone: "[zone]", village: "[patrol]", hg: "[household]"}
				if len(cv.Unstaffed) != len(want) {
					t.Fatalf("unstaffed %+v, want %v", cv.Unstaffed, want)
				}
				for _, u := range cv.Unstaffed {
					if got := fmt.Sprint(u.Missing); got != want[u.Code] {
						t.Errorf("%s missing %s, want %s", u.Code, got, want[u.Code])
					}
				}
				if len(cv.Layers.Unstaffed.Features) != 3 || !isGeoJSON(cv.Layers.Unstaffed.Features[0].Geometry, "MultiPolygon") {
					t.Errorf("unstaffed layer %+v", cv.Layers.Unstaffed)
				}
			}
		}},
		{"households outside their grid", func(t *testing.T, pool *pgxpool.Pool) (string, func(*testing.T, *grid.Coverage)) {
			var village, hg, other string
			var h1, h2 int64
			pick(t, pool, `SELECT v.code, h.code, o.code,
					(SELECT min(id) FROM households WHERE grid_id = h.id), (SELECT max(id) FROM households WHERE grid_id = h.id)
				FROM grids v JOIN grids h ON h.parent_id = v.id JOIN grids o ON o.parent_id = v.id AND o.code > h.code
				WHERE v.code LIKE '110119101%' AND v.level = 'village' ORDER BY h.code, o.code LIMIT 1`, nil, &village, &hg, &other, &h1, &h2)
			exec(t, pool, `UPDATE households SET location = (SELECT ST_PointOnSurface(geom) FROM grids WHERE code = $2) WHERE id = $1`, h1, other)
			exec(t, pool, `UPDATE households SET location = ST_SetSRID(ST_MakePoint(100, 30), 4326) WHERE id = $1`, h2)
			return village, func(t *testing.T, cv *grid.Coverage) {
				if len(cv.Outside) != 2 {
					t.Fatalf("households outside %+v, want %d and %d", cv.Outside, h1, h2)
				}
				a, b := cv.Outside[0], cv.Outside[1]
				if a.ID != h1 || a.GridCode != hg || a.CoveredBy == nil || *a.CoveredBy != other || a.DistanceM <= 0 {
					t.Errorf("moved next door: %+v, want covered by %s", a, other)
				}
				if b.ID != h2 || b.CoveredBy != nil || b.DistanceM < 1e6 {
					t.Errorf("moved away: %+v", b)
				}
				if f := cv.Layers.Outside.Features; len(f) != 2 || !isGeoJSON(f[0].Geometry, "Point") {
					t.Errorf("layer %+v", cv.Layers.Outside)
				}
			}
		}},
		{"household without party member", func(t *testing.T, pool *pgxpool.Pool) (string, func(*testing.T, *grid.Coverage)) {
			var id int64
			pick(t, pool, `UPDATE households SET party_member_id = NULL
				WHERE id = (SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id WHERE g.code LIKE '110119101%' ORDER BY h.id LIMIT 1)
				RETURNING id`, nil, &id)
			return "110119101", func(t *testing.T, cv *grid.Coverage) {
				if len(cv.NoMember) != 1 || cv.NoMember[0].ID != id || cv.NoMember[0].Address == "" {
					t.Fatalf("households without party member %+v, want %d", cv.NoMember, id)
				}
				if f := cv.Layers.NoMember.Features; len(f) != 1 || !isGeoJSON(f[0].Geometry, "Point") {
					t.Errorf("layer %+v", cv.Layers.NoMember)
				}
			}
		}},
		{"overloaded party member", func(t *testing.T, pool *pgxpool.Pool) (string, func(*testing.T, *grid.Coverage)) {
			var pid int64
			var n int
			// the party member of the first household grid of the largest village takes all its households
			pick(t, pool, `
				WITH v AS (SELECT v.id FROM grids v JOIN grids h ON h.parent_id = v.id JOIN households x ON x.grid_id = h.id
					WHERE v.code LIKE '110119101%' AND v.level = 'village' GROUP BY v.id ORDER BY count(*) DESC LIMIT 1),
				p AS (SELECT a.person_id FROM assignments a JOIN grids h ON h.id = a.grid_id, v
					WHERE h.parent_id = v.id AND a.duty = 'household' ORDER BY h.code LIMIT 1),
				u AS (UPDATE households x SET party_member_id = p.person_id FROM p, v, grids h
					WHERE h.id = x.grid_id AND h.parent_id = v.id RETURNING x.id)
				SELECT (SELECT person_id FROM p), (SELECT count(*) FROM u)`, nil, &pid, &n)
			return "110119101", func(t *testing.T, cv *grid.Coverage) {
				l := cv.Load
				if len(l.Loads) == 0 || l.Loads[0].PersonID != pid || l.Loads[0].Households != n {
					t.Fatalf("heaviest load %+v, want person %d with %d", l.Loads[:1], pid, n)
				}
				found := false
				for _, m := range l.Outliers {
					if m.PersonID == pid {
						found = m.Z > 2 && float64(m.Households) > l.High && len(m.GridCodes) == 1
					}
				}
				if !found {
					t.Errorf("person %d (%d households) not a high outlier: mean %.1f sd %.1f outliers %+v", pid, n, l.Mean, l.SD, l.Outliers)
				}
				if f := cv.Layers.Load.Features; len(f) != len(l.Outliers) || !isGeoJSON(f[0].Geometry, "MultiPoint") {
					t.Errorf("load layer %d features for %d outliers", len(f), len(l.Outliers))
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool := testenv.DemoDB(t)
			parent, check := tt.defect(t, pool)
			cv, err := grid.NewStore(pool).Coverage(ctx, command, parent)
			if err != nil {
				t.Fatal(err)
			}
			if cv.Parent.Code != parent {
				t.Fatalf("parent %+v, want %s", cv.Parent, parent)
			}
			check(t, cv)
		})
	}
}

func TestCoverageScope(t *testing.T) {
	t.Parallel() // its own database
	pool := testenv.DemoDB(t)
	s := grid.NewStore(pool)
	ctx := context.Background()
	tests := []struct {
		name   string
		sc     access.Scope
		parent string
		want   string // the parent reviewed; "" for not found
	}{
		{"command, own grid", command, "", "110119"},
		{"township, own grid", access.Scope{Role: access.RoleTownship, GridCode: "110119101"}, "", "110119101"},
		{"township, its zone", access.Scope{Role: access.RoleTownship, GridCode: "110119101"}, "110119101P01", "110119101P01"},
		{"township, another township", access.Scope{Role: access.RoleTownship, GridCode: "110119101"}, "110119102", ""},
		{"township, the district", access.Scope{Role: access.RoleTownship, GridCode: "110119101"}, "110119", ""},
		{"screen, any township", access.Scope{Role: access.RoleScreen, GridCode: "110119"}, "110119102", "110119102"},
		{"unknown grid", command, "110119999", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cv, err := s.Coverage(ctx, tt.sc, tt.parent)
			if tt.want == "" {
				if !errors.Is(err, grid.ErrNotFound) {
					t.Fatalf("err %v, want not found", err)
				}
				return
			}
			if err != nil || cv.Parent.Code != tt.want {
				t.Fatalf("parent %v err %v, want %s", cv, err, tt.want)
			}
		})
	}
}

// BenchmarkCoverage reviews a township (康庄镇: 7 zones, 34 villages, 413
// household grids, 8,169 households) and the whole district (100,000
// households).
func BenchmarkCoverage(b *testing.B) {
	pool := testenv.DemoDB(b)
	s := grid.NewStore(pool)
	ctx := context.Background()
	for _, parent := range []string{"110119101", "110119"} {
		b.Run(parent, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Coverage(ctx, command, parent); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func isGeoJSON(raw json.RawMessage, types ...string) bool {
	var g struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	}
	if json.Unmarshal(raw, &g) != nil || len(g.Coordinates) == 0 {
		return false
	}
	for _, t := range types {
		if g.Type == t {
			return true
		}
	}
	return false
}

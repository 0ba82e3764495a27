package demo_test

import (
	"context"
	"errors"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"whistlegrid/demo"
	"whistlegrid/internal/dbtest"
)

// TestLoad loads the demo twice, into two fresh databases at once, checks
// the first one thoroughly and that both hold exactly the same data.
func TestLoad(t *testing.T) {
	ctx := context.Background()
	pools := []*pgxpool.Pool{dbtest.New(t), dbtest.New(t)}
	sums := make([]demo.Summary, len(pools))
	errs := make([]error, len(pools))
	took := make([]time.Duration, len(pools))
	var wg sync.WaitGroup
	for i, pool := range pools {
		wg.Go(func() {
			start := time.Now()
			sums[i], errs[i] = demo.Load(ctx, pool, demo.Options{})
			took[i] = time.Since(start)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("load %d: %v", i, err)
		}
	}
	t.Logf("two loads side by side took %v and %v; summary %+v", took[0], took[1], sums[0])
	pool := pools[0]

	t.Run("summary", func(t *testing.T) {
		s := sums[0]
		exact := []struct {
			name      string
			got, want int
		}{
			{"townships", s.Townships, 18},
			{"villages", s.Villages, 431},
			{"household grids", s.HouseholdGrids, 5000},
			{"households", s.Households, 100_000},
			{"departments", s.Departments, 74},
			{"stations", s.Stations, 57},
			{"utilities", s.Utilities, 22},
			{"users", s.Users, 3 + 18 + 74 + 57 + 22 + 431 + 5000}, // command, callback, screen, …
			{"people", s.People, s.Zones + 2*431 + 5000},
		}
		for _, c := range exact {
			if c.got != c.want {
				t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
			}
		}
		if s.Zones < 431/8 || s.Zones > 431/2 {
			t.Errorf("zones = %d, want 54..215", s.Zones)
		}
		if s.Categories < 50 || s.Duties < s.Categories {
			t.Errorf("categories = %d, duties = %d", s.Categories, s.Duties)
		}
		if sums[1] != s {
			t.Errorf("second load: %+v, want %+v", sums[1], s)
		}
	})

	t.Run("same seed, same data", func(t *testing.T) {
		a, b := fingerprint(t, pools[0]), fingerprint(t, pools[1])
		if len(a) == 0 {
			t.Fatal("no fingerprint")
		}
		for k, v := range a {
			if b[k] != v {
				t.Errorf("%s differs between two loads with the same seed: %s vs %s", k, v, b[k])
			}
		}
	})

	t.Run("refuses a loaded database", func(t *testing.T) {
		if _, err := demo.Load(ctx, pool, demo.Options{}); !errors.Is(err, demo.ErrNotEmpty) {
			t.Fatalf("second Load: %v, want ErrNotEmpty", err)
		}
	})

	// zero runs a query that counts what must not exist.
	zero := []struct{ name, sql string }{
		{"invalid, empty or not multipolygon grids", `
SELECT count(*) FROM grids
WHERE NOT ST_IsValid(geom) OR ST_IsEmpty(geom) OR GeometryType(geom) <> 'MULTIPOLYGON' OR ST_SRID(geom) <> 4326`},
		{"grids without a parent", `SELECT count(*) FROM grids WHERE level <> 'district' AND parent_id IS NULL`},
		{"household grids not covered by their village", `
SELECT count(*) FROM grids h JOIN grids v ON v.id = h.parent_id
WHERE h.level = 'household' AND (v.level <> 'village' OR NOT ST_Covers(v.geom, h.geom))`},
		{"villages not covered by their zone", `
SELECT count(*) FROM grids v JOIN grids z ON z.id = v.parent_id
WHERE v.level = 'village' AND (z.level <> 'zone' OR NOT ST_Covers(z.geom, v.geom))`},
		{"villages not covered by their township", `
SELECT count(*) FROM grids v JOIN grids z ON z.id = v.parent_id JOIN grids t ON t.id = z.parent_id
WHERE v.level = 'village' AND (t.level <> 'township' OR NOT ST_Covers(t.geom, v.geom))`},
		{"zones not covered by their township", `
SELECT count(*) FROM grids z JOIN grids t ON t.id = z.parent_id
WHERE z.level = 'zone' AND NOT ST_Covers(t.geom, z.geom)`},
		{"townships not covered by the district", `
SELECT count(*) FROM grids t JOIN grids d ON d.id = t.parent_id
WHERE t.level = 'township' AND NOT ST_Covers(d.geom, t.geom)`},
		{"households outside their household grid", `
SELECT count(*) FROM households h JOIN grids g ON g.id = h.grid_id WHERE NOT ST_Covers(g.geom, h.location)`},
		{"zones of fewer than 2 or more than 8 villages", `
SELECT count(*) FROM (SELECT z.id FROM grids z LEFT JOIN grids v ON v.parent_id = z.id
                      WHERE z.level = 'zone' GROUP BY z.id HAVING count(v.id) NOT BETWEEN 2 AND 8) x`},
		{"zones whose code is not their township's", `
SELECT count(*) FROM grids z JOIN grids t ON t.id = z.parent_id
WHERE z.level = 'zone' AND z.code !~ ('^' || t.code || 'P[0-9]{2}$')`},
		{"household grids whose code is not their village's", `
SELECT count(*) FROM grids h JOIN grids v ON v.id = h.parent_id
WHERE h.level = 'household' AND h.code !~ ('^' || v.code || '[0-9]{3}$')`},
		{"grids without their duty", `
SELECT count(*) FROM grids g
WHERE g.level IN ('zone', 'village', 'household')
  AND (SELECT count(*) FROM assignments a WHERE a.grid_id = g.id)
      <> CASE g.level WHEN 'village' THEN 2 ELSE 1 END`},
		{"households whose party member does not look after their grid", `
SELECT count(*) FROM households h
WHERE NOT EXISTS (SELECT 1 FROM assignments a
                  WHERE a.grid_id = h.grid_id AND a.person_id = h.party_member_id AND a.duty = 'household')`},
		{"leaf categories without a district-wide duty", `
SELECT count(*) FROM categories c
WHERE NOT EXISTS (SELECT 1 FROM categories k WHERE k.parent_id = c.id)
  AND NOT EXISTS (SELECT 1 FROM duties d WHERE d.category_id = c.id AND d.township_id IS NULL)`},
		{"stations serving no township", `
SELECT count(*) FROM units u
WHERE u.kind = 'station' AND NOT EXISTS (SELECT 1 FROM unit_townships s WHERE s.unit_id = u.id)`},
		{"grid workers and party members without their person", `
SELECT count(*) FROM users u
WHERE u.role IN ('grid_worker', 'party_member')
  AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.grid_id = u.grid_id AND a.person_id = u.person_id)`},
	}
	for _, q := range zero {
		t.Run(q.name, func(t *testing.T) {
			var n int
			if err := pool.QueryRow(ctx, q.sql).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("%d found", n)
			}
		})
	}

	t.Run("children partition their parent", func(t *testing.T) {
		// gap: parent area not covered by a child; overlap: child area
		// counted twice. Both as a share of the parent's area.
		const q = `
SELECT p.code, ST_Area(ST_Difference(p.geom, u.geom)) / ST_Area(p.geom),
       (u.sum - ST_Area(u.geom)) / ST_Area(p.geom)
FROM grids p
JOIN LATERAL (SELECT ST_Union(c.geom) AS geom, sum(ST_Area(c.geom)) AS sum FROM grids c WHERE c.parent_id = p.id) u ON true
WHERE p.level = $1`
		for _, level := range []string{"district", "township", "zone", "village"} {
			rows, err := pool.Query(ctx, q, level)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var code string
				var gap, overlap float64
				if err := rows.Scan(&code, &gap, &overlap); err != nil {
					t.Fatal(err)
				}
				if gap > 0.001 || overlap > 0.001 {
					t.Errorf("%s %s: gap %.5f, overlap %.5f of its area", level, code, gap, overlap)
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("district keeps its real outline", func(t *testing.T) {
		var outline []byte
		f, err := demo.Files().Open("yanqing/district.geojson")
		if err != nil {
			t.Fatal(err)
		}
		outlines, err := demo.ReadOutlines(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		outline = outlines["110119"]
		var share, km2 float64
		err = pool.QueryRow(ctx, `
SELECT ST_Area(ST_SymDifference(d.geom, r.geom)) / ST_Area(r.geom), ST_Area(d.geom::geography) / 1e6
FROM grids d,
     (SELECT ST_CollectionExtract(ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326)), 3) AS geom) r
WHERE d.code = '110119'`, string(outline)).Scan(&share, &km2)
		if err != nil {
			t.Fatal(err)
		}
		if share > 1e-9 || km2 < 1990 || km2 > 2000 {
			t.Errorf("district differs from its repaired outline by %g of its area; %.1f km²", share, km2)
		}
	})

	t.Run("names, kinds and phones", func(t *testing.T) {
		checks := []struct {
			name, sql string
			want      int
		}{
			{"townships by kind", `SELECT count(*) FROM grids WHERE level = 'township' AND kind = 'subdistrict'`, 3},
			{"towns", `SELECT count(*) FROM grids WHERE level = 'township' AND kind = 'town'`, 11},
			{"townships proper", `SELECT count(*) FROM grids WHERE level = 'township' AND kind = 'township'`, 4},
			{"康庄镇 villages", `SELECT count(*) FROM grids WHERE level = 'village' AND code LIKE '110119101%'`, 34},
			{"communities", `SELECT count(*) FROM grids WHERE level = 'village' AND kind = 'community'`, 57},
			{"zone names", `SELECT count(*) FROM grids WHERE level = 'zone' AND name !~ '^.+(街道|镇|乡)第[一二三四五六七八九十]+片$'`, 0},
			{"household grid names", `SELECT count(*) FROM grids WHERE level = 'household' AND name !~ '^.+(村|社区)第[0-9]+户网格$'`, 0},
			{"bad mobile phones", `SELECT count(*) FROM (SELECT phone FROM people UNION ALL SELECT contact_phone FROM households) p WHERE phone !~ '^1[3-9][0-9]{9}$'`, 0},
			{"bad unit phones", `SELECT count(*) FROM units WHERE phone !~ '^010-6910[0-9]{4}$'`, 0},
			{"household sizes", `SELECT count(*) FROM households WHERE size NOT BETWEEN 1 AND 6`, 0},
			{"password hashes", `SELECT count(DISTINCT password_hash) FROM users`, 1},
		}
		for _, c := range checks {
			var n int
			if err := pool.QueryRow(ctx, c.sql).Scan(&n); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if n != c.want {
				t.Errorf("%s: %d, want %d", c.name, n, c.want)
			}
		}
		var addr, display, hash string
		if err := pool.QueryRow(ctx, `SELECT address FROM households ORDER BY id LIMIT 1`).Scan(&addr); err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^(百泉街道|香水园街道|儒林街道).+社区 [0-9]+号楼[0-9]单元[0-9]{3}室$`).MatchString(addr) {
			t.Errorf("first household's address %q", addr)
		}
		if err := pool.QueryRow(ctx, `SELECT display_name, password_hash FROM users WHERE username = 'w110119101201'`).Scan(&display, &hash); err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^.+村 网格员 .{3}$`).MatchString(display) {
			t.Errorf("grid worker's display name %q", display)
		}
		if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(demo.DefaultPassword)); err != nil {
			t.Errorf("demo password: %v", err)
		}
	})
}

// fingerprint hashes everything a load writes that must not depend on the
// run: codes, names, parents and geometry of the grids by level, and the
// people, households, units, categories, duties and users.
func fingerprint(t *testing.T, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	const q = `
SELECT 'grids ' || g.level, md5(string_agg(concat_ws('|', g.code, g.kind, g.name, p.code, encode(ST_AsBinary(g.geom), 'hex')), ',' ORDER BY g.code))
FROM grids g LEFT JOIN grids p ON p.id = g.parent_id GROUP BY g.level
UNION ALL
SELECT 'households', md5(string_agg(concat_ws('|', g.code, h.address, h.size, h.contact_name, h.contact_phone, pm.name,
                                              encode(ST_AsBinary(h.location), 'hex')), ',' ORDER BY g.code, h.address))
FROM households h JOIN grids g ON g.id = h.grid_id JOIN people pm ON pm.id = h.party_member_id
UNION ALL
SELECT 'people', md5(string_agg(concat_ws('|', p.name, p.role, p.phone, g.code, a.duty), ',' ORDER BY g.code, a.duty))
FROM people p JOIN assignments a ON a.person_id = p.id JOIN grids g ON g.id = a.grid_id
UNION ALL
SELECT 'units', md5(string_agg(concat_ws('|', u.code, u.name, u.kind, u.phone,
       (SELECT string_agg(g.code, ' ' ORDER BY g.code) FROM unit_townships s JOIN grids g ON g.id = s.township_id WHERE s.unit_id = u.id)), ',' ORDER BY u.code))
FROM units u
UNION ALL
SELECT 'duties', md5(string_agg(concat_ws('|', c.code, c.default_grade, g.code, u.code,
       (SELECT string_agg(x.code, ' ' ORDER BY x.code) FROM duty_assists a JOIN units x ON x.id = a.unit_id WHERE a.duty_id = d.id)), ',' ORDER BY c.code, g.code))
FROM duties d JOIN categories c ON c.id = d.category_id JOIN units u ON u.id = d.lead_unit_id LEFT JOIN grids g ON g.id = d.township_id
UNION ALL
SELECT 'users', md5(string_agg(concat_ws('|', u.username, u.role, u.display_name, g.code), ',' ORDER BY u.username))
FROM users u LEFT JOIN grids g ON g.id = u.grid_id`
	rows, err := pool.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// BenchmarkLoad times one demo load into a fresh, empty database.
func BenchmarkLoad(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		pool := dbtest.New(b)
		b.StartTimer()
		if _, err := demo.Load(ctx, pool, demo.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

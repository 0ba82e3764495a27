package grid_test

import (
	"context"
	"testing"
	"time"

	"whistlegrid/access"
	"whistlegrid/grid"
	"whistlegrid/internal/testenv"
)

// BenchmarkResponsible is the people-on-duty lookup of GET/POST /place for
// one point of 康庄镇, by role: the jurisdiction filter
// (access.Scope.Covers per person) must stay small beside the lookup
// (issue 12, point 4). The township sees every point's people, the grid
// worker those of one village.
func BenchmarkResponsible(b *testing.B) {
	pool := testenv.DemoDB(b)
	ctx := context.Background()
	p, err := grid.NewPlacer(ctx, pool, grid.IndexOptions{})
	if err != nil {
		b.Fatal(err)
	}
	rows, err := pool.Query(ctx, `SELECT ST_X(h.location), ST_Y(h.location) FROM households h JOIN grids g ON g.id = h.grid_id
		WHERE g.code LIKE '110119101%' ORDER BY h.id LIMIT 1000`)
	if err != nil {
		b.Fatal(err)
	}
	var pls []grid.Placement
	for rows.Next() {
		var x, y float64
		if err := rows.Scan(&x, &y); err != nil {
			b.Fatal(err)
		}
		pl, err := p.Place([2]float64{x, y})
		if err != nil {
			b.Fatal(err)
		}
		pls = append(pls, pl)
	}
	rows.Close()
	now := time.Now()
	for _, sc := range []access.Scope{
		{Role: access.RoleCommand},
		{Role: access.RoleTownship, GridCode: "110119101"},
		{Role: access.RoleGridWorker, GridCode: "110119101001"},
	} {
		b.Run(string(sc.Role), func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, _, err := p.Responsible(sc, pls[i%len(pls)], "", now); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

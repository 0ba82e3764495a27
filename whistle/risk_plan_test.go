package whistle_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"whistlegrid/whistle"
)

// The risk counts run in every intake, prepared, and PostgreSQL soon runs a
// prepared statement with its generic plan. The place count must find the
// place's clues by the location index in that plan, with the statistics a
// new district starts from, and never read the clues of the whole window
// (in bench clues the unfenced query at times read ~1,900 pages a call).
func TestRiskPlaceCountUsesLocationIndex(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	tx, err := f.env.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// The statistics bench clues starts from: a clues table analysed empty
	// (a new district), then filled with recent clues all over the map. A
	// temporary table of the same shape stands in for it (pg_temp comes
	// first in the search path), so the shared test database is left alone.
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE clues (LIKE public.clues INCLUDING ALL) ON COMMIT DROP`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO pg_temp.clues (source, external_id, category_id, text, received_lon, received_lat, datum, location, grid_id, township_id, reported_at)
		SELECT 'patrol', 'plan-' || g, 1, '计划测试', x, y, 'wgs84', ST_SetSRID(ST_MakePoint(x, y), 4326), 1, 1, now() - g * interval '10 seconds'
		FROM generate_series(1, 5000) g
		CROSS JOIN LATERAL (SELECT 115.7 + (g % 100) * 0.005 AS x, 40.3 + (g / 100) * 0.005 AS y) p`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SET LOCAL plan_cache_mode = force_generic_plan`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `PREPARE risk_counts (text, timestamptz, float8, float8, text) AS `+whistle.RiskCountsQuery); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = tx.Exec(ctx, `DEALLOCATE risk_counts`) }()
	rows, err := tx.Query(ctx, fmt.Sprintf(`EXPLAIN EXECUTE risk_counts('', now(), %f, %f, '')`, f.lon, f.lat))
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	p := strings.Join(plan, "\n")
	if !strings.Contains(p, "clues_location_idx") || strings.Contains(p, "clues_reported_id_idx") || strings.Contains(p, "Seq Scan on clues") {
		t.Fatalf("the generic plan of the risk counts does not find the place's clues by the location index:\n%s", p)
	}
}

package whistle_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The risk counts run in every intake batch, inside whistle_intake_batch,
// whose statements run with their generic plans. The place count must find
// the place's clues by the location index in that plan, with the
// statistics a new district starts from, and never read the clues of the
// whole window (in bench clues the unfenced query at times read ~1,900
// pages a call). The plan is the one the function runs, as auto_explain
// logs it.
func TestRiskPlaceCountUsesLocationIndex(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	cfg := f.env.Pool.Config().ConnConfig.Copy()
	var mu sync.Mutex
	var plans []string
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		mu.Lock()
		plans = append(plans, n.Message)
		mu.Unlock()
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// The statistics bench clues starts from: a clues table analysed empty
	// (a new district), then filled with recent clues all over the map. A
	// temporary table of the same shape stands in for it (pg_temp comes
	// first in the search path), so the shared test database is left alone.
	for _, q := range []string{
		`CREATE TEMP TABLE clues (LIKE public.clues INCLUDING ALL) ON COMMIT DROP`,
		`INSERT INTO pg_temp.clues (source, external_id, category_id, text, received_lon, received_lat, datum, location, grid_id, township_id, reported_at)
		SELECT 'patrol', 'plan-' || g, 1, '计划测试', x, y, 'wgs84', ST_SetSRID(ST_MakePoint(x, y), 4326), 1, 1, now() - g * interval '10 seconds'
		FROM generate_series(1, 5000) g
		CROSS JOIN LATERAL (SELECT 115.7 + (g % 100) * 0.005 AS x, 40.3 + (g / 100) * 0.005 AS y) p`,
		`UPDATE risk_rules SET rules = jsonb_set(rules, '{place_clues}', '5')`,
		`LOAD 'auto_explain'`,
		`SET LOCAL auto_explain.log_min_duration = 0`,
		`SET LOCAL auto_explain.log_nested_statements = on`,
		`SET LOCAL auto_explain.log_level = notice`,
		`SET LOCAL client_min_messages = notice`,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	rows, err := tx.Query(ctx, `SELECT o_kind FROM whistle_intake_batch(ARRAY['patrol'], ARRAY['plan-new'], ARRAY[$1], ARRAY['计划测试'],
		ARRAY[$2::float8], ARRAY[$3::float8], ARRAY['wgs84'], ARRAY[$2::float8], ARRAY[$3::float8], ARRAY[0::bigint],
		ARRAY[(SELECT id FROM grids WHERE code = $4)], ARRAY[(SELECT id FROM grids WHERE code = $5)], ARRAY[$5],
		ARRAY[0::float8], ARRAY[false], ARRAY[$6::timestamptz], ARRAY[$6::timestamptz], ARRAY[NULL::text], ARRAY['13800138000'],
		ARRAY[false], '{}'::int[], '{}'::text[], '{}'::text[], '')`,
		category, f.lon, f.lat, f.village, kangzhuang, now)
	if err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	var place string
	for _, p := range plans {
		if strings.Contains(p, "OFFSET 0") && strings.Contains(p, "ST_DWithin") {
			place = p
		}
	}
	if place == "" {
		t.Fatalf("auto_explain logged no plan of the risk counts; it logged %d plans", len(plans))
	}
	if !strings.Contains(place, "clues_location_idx") || strings.Contains(place, "clues_reported_at_id_idx") || strings.Contains(place, "Seq Scan on clues") {
		t.Fatalf("the generic plan of the risk counts does not find the place's clues by the location index:\n%s", place)
	}
	if !strings.Contains(place, "clues_reporter_phone_hash") {
		t.Fatalf("the generic plan of the caller count does not use the phone's index:\n%s", place)
	}
}

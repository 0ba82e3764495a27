package ingest_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/access"
	"whistlegrid/grid"
	"whistlegrid/ingest"
	"whistlegrid/internal/testenv"
	"whistlegrid/whistle"
)

func newImporter(t *testing.T) (*ingest.Importer, *pgxpool.Pool) {
	t.Helper()
	pool := testenv.DemoDB(t)
	placer, err := grid.NewPlacer(context.Background(), pool, grid.IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ingest.NewImporter(pool, placer, whistle.NewStore(pool, placer, whistle.Options{})), pool
}

// TestAddressMatchingAgainstTruth measures the gazetteer on generated
// addresses whose truth the generator knows: at least 98% of those that
// name a village (telling it apart) land in it, none is placed in the
// wrong township at village precision or finer, and no row is placed in a
// wrong village.
func TestAddressMatchingAgainstTruth(t *testing.T) {
	im, pool := newImporter(t)
	ctx := context.Background()
	gen, err := ingest.NewHotlineGenerator(ctx, pool, 1)
	if err != nil {
		t.Fatal(err)
	}
	gaz, err := im.Gazetteer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20000
	var naming, landed, wrongTown, wrongVillage int
	byKind := map[ingest.AddressKind]map[ingest.Precision]int{}
	for i := range n {
		rec, tr := gen.Row(i)
		if tr.Kind == ingest.AddrCoords {
			continue
		}
		m := gaz.Match(rec[4], rec[7], rec[8])
		if byKind[tr.Kind] == nil {
			byKind[tr.Kind] = map[ingest.Precision]int{}
		}
		byKind[tr.Kind][m.Precision]++
		fine := m.Precision == ingest.PrecisionHousehold || m.Precision == ingest.PrecisionPlace || m.Precision == ingest.PrecisionVillage
		if fine && m.Township.Code != tr.Township {
			wrongTown++
			if wrongTown < 10 {
				t.Errorf("%s %q (街乡 %q): placed in %s (%s), truth township %s", tr.Kind, rec[4], rec[7], m.Township.Name, m.Matched, tr.Township)
			}
		}
		if fine && tr.Village != "" && m.Village.Code != tr.Village {
			wrongVillage++
			if wrongVillage < 10 {
				t.Errorf("%s %q: placed in village %s (%s), truth %s", tr.Kind, rec[4], m.Village.Name, m.Matched, tr.Village)
			}
		}
		if tr.NamesVillage {
			naming++
			if fine && m.Village.Code == tr.Village {
				landed++
			} else if naming-landed < 10 {
				t.Logf("missed: %s %q (街乡 %q): %s %q %s", tr.Kind, rec[4], rec[7], m.Precision, m.Matched, m.Reason)
			}
		}
	}
	share := float64(landed) / float64(naming)
	t.Logf("addresses naming a village: %d, landed in it: %d (%.2f%%); wrong township: %d; wrong village: %d; by kind: %v",
		naming, landed, 100*share, wrongTown, wrongVillage, byKind)
	if share < 0.98 {
		t.Errorf("%.2f%% of addresses naming a village landed in it, want >= 98%%", 100*share)
	}
	if wrongTown != 0 || wrongVillage != 0 {
		t.Errorf("%d placed in the wrong township, %d in the wrong village, want 0", wrongTown, wrongVillage)
	}
}

// TestImportHotlineHistoryTwice imports a generated GBK export in history
// mode, then again: the second run changes nothing and says so.
func TestImportHotlineHistoryTwice(t *testing.T) {
	im, pool := newImporter(t)
	ctx := context.Background()
	gen, err := ingest.NewHotlineGenerator(ctx, pool, 2)
	if err != nil {
		t.Fatal(err)
	}
	var file bytes.Buffer
	if err := gen.WriteCSV(&file, 0, 3000, true, nil); err != nil {
		t.Fatal(err)
	}
	opts := ingest.HotlineOptions{Mode: ingest.ModeHistory, FileName: "gen.csv", By: "test", BatchSize: 700}
	rep, err := im.ImportHotline(ctx, bytes.NewReader(file.Bytes()), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first: %+v", rep)
	if rep.Encoding != "gbk" || rep.Read != 3000 || rep.Imported != 3000 || rep.Rejected != 0 || rep.Duplicates != 0 {
		t.Errorf("first run: %+v", rep)
	}
	var orders, clues, unplaced, villageClues int
	err = pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM hotline_orders), (SELECT count(*) FROM clues WHERE source = 'hotline'),
        (SELECT count(*) FROM hotline_orders WHERE clue_id IS NULL),
        (SELECT count(*) FROM clues k JOIN hotline_orders h ON h.clue_id = k.id WHERE h.precision = 'village' AND k.grid_level = 'village')`).
		Scan(&orders, &clues, &unplaced, &villageClues)
	if err != nil {
		t.Fatal(err)
	}
	if orders != 3000 || int64(unplaced) != rep.Unplaced || int64(clues) != 3000-rep.Unplaced || int64(villageClues) != rep.Precisions[ingest.PrecisionVillage] {
		t.Errorf("stored %d orders, %d clues, %d unplaced, %d village clues; report %+v", orders, clues, unplaced, villageClues, rep)
	}
	again, err := im.ImportHotline(ctx, bytes.NewReader(file.Bytes()), opts)
	if err != nil {
		t.Fatal(err)
	}
	if again.Imported != 0 || again.Duplicates != 3000 || again.Message == "" || again.Message[:15] != "nothing changed" {
		t.Errorf("second run: %+v", again)
	}
	_ = access.RoleCommand
}

// TestImportHotlineAnyRole imports generated orders twice: as the
// superuser the tests connect as and as a role that is no superuser. Both
// take the one set-wise path (no trigger runs per row, migration 00021)
// and leave the same invariants: each clue's grid level is its grid's,
// its phone hash the hash of its phone, and every reference holds.
func TestImportHotlineAnyRole(t *testing.T) {
	im, pool := newImporter(t)
	ctx := context.Background()
	gen, err := ingest.NewHotlineGenerator(ctx, pool, 5)
	if err != nil {
		t.Fatal(err)
	}
	var superFile, plainFile bytes.Buffer
	if err := gen.WriteCSV(&superFile, 0, 1500, true, nil); err != nil {
		t.Fatal(err)
	}
	if err := gen.WriteCSV(&plainFile, 1500, 1500, true, nil); err != nil {
		t.Fatal(err)
	}
	rpool := plainRolePool(t, pool)
	placer, err := grid.NewPlacer(ctx, rpool, grid.IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rim := ingest.NewImporter(rpool, placer, whistle.NewStore(rpool, placer, whistle.Options{}))
	for _, run := range []struct {
		im   *ingest.Importer
		file []byte
	}{{im, superFile.Bytes()}, {rim, plainFile.Bytes()}} {
		rep, err := run.im.ImportHotline(ctx, bytes.NewReader(run.file), ingest.HotlineOptions{Mode: ingest.ModeHistory, FileName: "gen.csv", By: "test", BatchSize: 400})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Read != 1500 || rep.Imported != 1500 || rep.Precisions[ingest.PrecisionVillage] == 0 {
			t.Errorf("report %+v", rep)
		}
	}
	rpool.Close()
	var orders, clues, villageClues, badLevel, badHash, phones, badRefs int
	err = pool.QueryRow(ctx, `
SELECT (SELECT count(*) FROM hotline_orders),
    (SELECT count(*) FROM clues WHERE source = 'hotline'),
    (SELECT count(*) FROM clues WHERE source = 'hotline' AND grid_level = 'village'),
    (SELECT count(*) FROM clues k JOIN grids g ON g.id = k.grid_id WHERE k.source = 'hotline' AND k.grid_level <> g.level),
    (SELECT count(*) FROM clues k WHERE k.source = 'hotline' AND k.reporter_phone_hash IS DISTINCT FROM sha256(convert_to(k.reporter_phone, 'UTF8'))),
    (SELECT count(*) FROM clues k WHERE k.source = 'hotline' AND k.reporter_phone_hash IS NOT NULL),
    (SELECT count(*) FROM hotline_orders h WHERE NOT EXISTS (SELECT 1 FROM categories c WHERE c.id = h.category_id)
        OR (h.township_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM grids g WHERE g.id = h.township_id))
        OR (h.clue_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM clues k WHERE k.id = h.clue_id AND k.external_id = h.order_no))
        OR (h.clue_id IS NULL) <> (h.precision IN ('township', 'none'))
        OR NOT EXISTS (SELECT 1 FROM imports i WHERE i.id = h.import_id))`).
		Scan(&orders, &clues, &villageClues, &badLevel, &badHash, &phones, &badRefs)
	if err != nil {
		t.Fatal(err)
	}
	if orders != 3000 || villageClues == 0 || badLevel != 0 || badHash != 0 || phones == 0 || badRefs != 0 {
		t.Errorf("%d orders (%d clues, %d in a village): %d clues at a level not their grid's, %d phone hashes wrong (%d hashed), %d orders with a broken reference",
			orders, clues, villageClues, badLevel, badHash, phones, badRefs)
	}
}

// plainRolePool connects to pool's database as a role of its own that is
// no superuser, with the rights the owner would have on the tables.
func plainRolePool(t *testing.T, pool *pgxpool.Pool) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	var db string
	if err := pool.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	role := "import_" + db
	for _, q := range []string{
		`DROP ROLE IF EXISTS ` + role,
		`CREATE ROLE ` + role + ` LOGIN NOSUPERUSER`,
		`GRANT ALL ON ALL TABLES IN SCHEMA public TO ` + role,
		`GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ` + role,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_, _ = pool.Exec(context.Background(), `REASSIGN OWNED BY `+role+` TO current_user; DROP OWNED BY `+role+`; DROP ROLE IF EXISTS `+role)
	})
	cfg := pool.Config().Copy()
	cfg.ConnConfig.User = role
	rpool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rpool.Close)
	var super bool
	if err := rpool.QueryRow(ctx, `SELECT current_setting('is_superuser') = 'on'`).Scan(&super); err != nil {
		t.Fatal(err)
	}
	if super {
		t.Fatalf("role %s is a superuser", role)
	}
	return rpool
}

// TestClueSetwiseColumns checks the two columns of clues migration 00021
// made set-wise, for writers that do not name them: the intake's clue put
// in a village gets grid_level village, a clue in a zone grid is refused,
// and the phone hash is sha256 of the phone's UTF-8 bytes (Chinese text
// and backslashes included), following an UPDATE of the phone.
func TestClueSetwiseColumns(t *testing.T) {
	_, pool := newImporter(t)
	ctx := context.Background()
	placer, err := grid.NewPlacer(ctx, pool, grid.IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var lon, lat float64
	var cat, zone, township int64
	err = pool.QueryRow(ctx, `
SELECT ST_X(p), ST_Y(p), (SELECT id FROM grids WHERE level = 'zone' LIMIT 1), (SELECT id FROM grids WHERE level = 'township' LIMIT 1)
FROM (SELECT ST_PointOnSurface(geom) p FROM grids WHERE level = 'household' AND valid_to IS NULL ORDER BY id LIMIT 1) g`).
		Scan(&lon, &lat, &zone, &township)
	if err != nil {
		t.Fatal(err)
	}
	var catCode string
	if err := pool.QueryRow(ctx, `SELECT id, code FROM categories ORDER BY id LIMIT 1`).Scan(&cat, &catCode); err != nil {
		t.Fatal(err)
	}
	// the intake takes a well-formed phone; an older row may hold any text
	const phone, oddPhone = "+86-138-0000-1111", `138\0000\\1111 转 张三`
	st := whistle.NewStore(pool, placer, whistle.Options{})
	res, err := st.Intake(ctx, access.Scope{Role: access.RoleCommand, Username: "test"}, whistle.ClueInput{Source: "hotline", ExternalID: "setwise-1",
		Category: catCode, Text: "村口路灯不亮", Lon: &lon, Lat: &lat, Datum: "wgs84", ReportedAt: "2026-03-01T09:30:00+08:00", AtVillage: true,
		Reporter: &whistle.Reporter{Name: "张三", Phone: phone}})
	if err != nil {
		t.Fatal(err)
	}
	var level, gridLevel string
	var hashOK bool
	check := func() {
		t.Helper()
		err := pool.QueryRow(ctx, `SELECT k.grid_level, g.level, k.reporter_phone_hash = sha256(convert_to(k.reporter_phone, 'UTF8'))
            FROM clues k JOIN grids g ON g.id = k.grid_id WHERE k.id = $1`, res.Clue.ID).Scan(&level, &gridLevel, &hashOK)
		if err != nil {
			t.Fatal(err)
		}
	}
	check()
	if level != "village" || gridLevel != "village" || !hashOK {
		t.Errorf("intake's clue at a village: grid_level %s, grid's level %s, phone hash right %v", level, gridLevel, hashOK)
	}
	if _, err := pool.Exec(ctx, `UPDATE clues SET reporter_phone = $2 WHERE id = $1`, res.Clue.ID, oddPhone); err != nil {
		t.Fatal(err)
	}
	check()
	if !hashOK {
		t.Error("the phone hash did not follow an UPDATE of the phone")
	}
	_, err = pool.Exec(ctx, `INSERT INTO clues (source, external_id, category_id, received_lon, received_lat, datum, location, grid_id, township_id, reported_at)
        VALUES ('patrol', 'setwise-zone', $1, $2, $3, 'wgs84', ST_SetSRID(ST_MakePoint($2, $3), 4326), $4, $5, now())`, cat, lon, lat, zone, township)
	if err == nil {
		t.Error("a clue in a zone grid was stored")
	}
}

package ingest_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"whistlegrid/fault"
	"whistlegrid/ingest"
	"whistlegrid/internal/dbtest"
)

func byCode(rep *ingest.GridReport) map[string]ingest.GridResult {
	m := map[string]ingest.GridResult{}
	for _, f := range rep.Features {
		m[f.Code] = f
	}
	return m
}

// TestImportGrids runs the golden files through one empty database: the
// hierarchy, an invalid ring repaired, a bowtie refused, a bad code, an
// overlap, a dry run that writes nothing, a re-run that changes nothing,
// and a GBK Shapefile in CGCS2000 that changes one village and adds one.
func TestImportGrids(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	count := func() (n int) {
		t.Helper()
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM grid_versions`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	rep, err := ingest.ImportGrids(ctx, pool, "testdata/grids_base.geojson", ingest.GridOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Totals[ingest.OutcomeNew] != 3 || rep.Applied || count() != 0 {
		t.Fatalf("dry run: totals %v applied %v versions %d; want 3 new, nothing written", rep.Totals, rep.Applied, count())
	}
	rep, err = ingest.ImportGrids(ctx, pool, "testdata/grids_base.geojson", ingest.GridOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Totals[ingest.OutcomeNew] != 3 || !rep.Applied || count() != 3 {
		t.Fatalf("base: totals %v applied %v versions %d", rep.Totals, rep.Applied, count())
	}

	rep, err = ingest.ImportGrids(ctx, pool, "testdata/grids_invalid.geojson", ingest.GridOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := byCode(rep)
	if f := got["110229001001"]; f.Outcome != ingest.OutcomeNew {
		t.Errorf("valid village: %+v", f)
	}
	if f := got["110229001002"]; f.Outcome != ingest.OutcomeNew || !f.Repaired || f.RepairChange > 0.01 {
		t.Errorf("spiked ring: want new, repaired within 1%%: %+v", f)
	}
	if f := got["110229001003"]; f.Outcome != ingest.OutcomeRefused || f.Rule != "invalid_geometry" || !strings.Contains(f.Reason, "more than 1%") {
		t.Errorf("bowtie: want refused for its area change: %+v", f)
	}
	if f := got["11022900100"]; f.Outcome != ingest.OutcomeRefused || f.Rule != "code" {
		t.Errorf("short code: %+v", f)
	}
	if f := got["110229001004"]; f.Outcome != ingest.OutcomeRefused || f.Rule != "overlaps_sibling" || f.OverlapSiblingsM2 < 1e6 {
		t.Errorf("overlap: %+v", f)
	}
	if f := got["110229001005"]; f.Outcome != ingest.OutcomeRefused || f.Rule != "parent" {
		t.Errorf("no parent: %+v", f)
	}
	if rep.Totals[ingest.OutcomeNew] != 2 || rep.Totals[ingest.OutcomeRefused] != 4 {
		t.Errorf("totals %v", rep.Totals)
	}
	if len(rep.Parents) != 1 || rep.Parents[0].Code != "110229001P01" || rep.Parents[0].GapShare < 0.45 || rep.Parents[0].GapShare > 0.55 {
		t.Errorf("parent coverage: %+v; the two villages cover half the zone", rep.Parents)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM grids WHERE code IN ('110229001003', '110229001004')`).Scan(&n); err != nil || n != 0 {
		t.Errorf("refused features written: %d %v", n, err)
	}

	// the same file again: nothing changes
	rep, err = ingest.ImportGrids(ctx, pool, "testdata/grids_base.geojson", ingest.GridOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Totals[ingest.OutcomeUnchanged] != 3 || rep.Applied {
		t.Errorf("re-run: %v applied %v", rep.Totals, rep.Applied)
	}

	before := count()
	rep, err = ingest.ImportGrids(ctx, pool, "testdata/villages_gbk_cgcs2000.zip", ingest.GridOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got = byCode(rep)
	if rep.Datum != ingest.DatumCGCS2000 || got["110229001001"].Outcome != ingest.OutcomeChanged || got["110229001006"].Outcome != ingest.OutcomeNew {
		t.Fatalf("shapefile: datum %s %+v", rep.Datum, rep.Features)
	}
	if got["110229001006"].Name != "旧县镇北村" {
		t.Errorf("GBK name read as %q", got["110229001006"].Name)
	}
	if count() != before+2 {
		t.Errorf("versions %d, want %d (one new version of 001, one first of 006)", count(), before+2)
	}
	var closed int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM grid_versions v JOIN grids g ON g.id = v.grid_id WHERE g.code = '110229001001' AND v.valid_to IS NOT NULL AND v.changed_by = 'import'`).Scan(&closed); err != nil || closed != 1 {
		t.Errorf("the old outline of 110229001001 is not kept closed in the history: %d %v", closed, err)
	}
}

func TestImportGridsRefusesOtherCRS(t *testing.T) {
	_, _, err := ingest.ReadGridFile(context.Background(), "testdata/projected_4547.zip", "")
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Kind != fault.Invalid || !strings.Contains(err.Error(), "CGCS2000_3_Degree_GK_CM_114E") {
		t.Fatalf("projected CRS: %v", err)
	}
	_, _, err = ingest.ParseGridGeoJSON([]byte(`{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3857"}},"features":[]}`))
	if err == nil || !strings.Contains(err.Error(), "EPSG::3857") {
		t.Fatalf("EPSG:3857: %v", err)
	}
}

// FuzzParseGridGeoJSON: no input panics the GeoJSON reader.
func FuzzParseGridGeoJSON(f *testing.F) {
	for _, name := range []string{"testdata/grids_base.geojson", "testdata/grids_invalid.geojson"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"type":"FeatureCollection","crs":{"properties":{"name":"EPSG:4490"}},"features":[{"properties":{"code":1}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		grids, _, err := ingest.ParseGridGeoJSON(b)
		if err == nil && len(grids) == 0 {
			t.Fatal("no error and no features")
		}
	})
}

// FuzzDatumOfPRJ: no .prj text panics the CRS reader.
func FuzzDatumOfPRJ(f *testing.F) {
	f.Add(`GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000"]]`)
	f.Add(`GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984"]]`)
	f.Add(`PROJCS["CGCS2000_3_Degree_GK_CM_114E",GEOGCS[]]`)
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := ingest.DatumOfPRJ(s); err == nil && d != ingest.DatumWGS84 && d != ingest.DatumCGCS2000 {
			t.Fatalf("datum %q", d)
		}
	})
}

func TestDBFEncoding(t *testing.T) {
	gbk := []byte{0xb3, 0xa3, 0xbc, 0xd2, 0xd3, 0xaa, 0xb4, 0xe5} // 常家营村 in GBK
	for _, c := range []struct {
		in   []byte
		want string
	}{{gbk, "CP936"}, {[]byte("常家营村"), "UTF-8"}, {[]byte("abc"), "CP936"}} {
		if got := ingest.DBFEncoding(c.in); got != c.want {
			t.Errorf("%q: %s, want %s", c.in, got, c.want)
		}
	}
}

// TestImportGridsGCJ02: on --datum gcj02 the outline is moved to WGS-84
// (about 500 m south-west of the GCJ-02 coordinates near Beijing).
func TestImportGridsGCJ02(t *testing.T) {
	ctx := context.Background()
	pool := gridsPool(t)
	file := t.TempDir() + "/gcj.geojson"
	if err := os.WriteFile(file, []byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"110229001001002","name":"2号院"},
		"geometry":{"type":"Polygon","coordinates":[[[115.93,40.42],[115.94,40.42],[115.94,40.43],[115.93,40.43],[115.93,40.42]]]}}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := ingest.ImportGrids(ctx, pool, file, ingest.GridOptions{Datum: ingest.DatumGCJ02, Level: "household"})
	if err != nil || rep.Totals[ingest.OutcomeNew] != 1 || rep.Datum != ingest.DatumGCJ02 {
		t.Fatalf("%+v %v", rep, err)
	}
	var minX, minY float64
	if err := pool.QueryRow(ctx, `SELECT ST_XMin(geom), ST_YMin(geom) FROM grids WHERE code = '110229001001002'`).Scan(&minX, &minY); err != nil {
		t.Fatal(err)
	}
	if dx, dy := 115.93-minX, 40.42-minY; dx < 0.003 || dx > 0.009 || dy < -0.003 || dy > 0.003 {
		t.Errorf("stored corner %v %v: not moved from GCJ-02 to WGS-84", minX, minY)
	}
	rep, err = ingest.ImportGrids(ctx, pool, file, ingest.GridOptions{Level: "village"})
	if err != nil || rep.Totals[ingest.OutcomeRefused] != 1 || rep.Features[0].Rule != "level" {
		t.Errorf("--level village on a household grid: %+v %v", rep, err)
	}
}

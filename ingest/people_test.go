package ingest_test

import (
	"bytes"
	"context"
	"os"
	"testing"

	"whistlegrid/ingest"
	"whistlegrid/internal/dbtest"

	"github.com/jackc/pgx/v5/pgxpool"
)

// gridsPool is an empty database with the golden grids imported.
func gridsPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool := dbtest.New(t)
	for _, f := range []string{"testdata/grids_base.geojson", "testdata/grids_invalid.geojson"} {
		if _, err := ingest.ImportGrids(context.Background(), pool, f, ingest.GridOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return pool
}

func importRoster(t *testing.T, pool *pgxpool.Pool, name string, opts ingest.PeopleOptions) *ingest.PeopleReport {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := ingest.ImportPeople(context.Background(), pool, f, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestImportPeople(t *testing.T) {
	ctx := context.Background()
	pool := gridsPool(t)
	counts := func() (people, assignments int) {
		t.Helper()
		if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM people), (SELECT count(*) FROM assignments)`).Scan(&people, &assignments); err != nil {
			t.Fatal(err)
		}
		return
	}

	rep := importRoster(t, pool, "testdata/roster_good.xlsx", ingest.PeopleOptions{DryRun: true})
	if p, a := counts(); rep.New != 3 || rep.Applied || p+a != 0 {
		t.Fatalf("dry run: %+v, %d people %d assignments", rep, p, a)
	}
	rep = importRoster(t, pool, "testdata/roster_good.xlsx", ingest.PeopleOptions{})
	if p, a := counts(); rep.New != 3 || !rep.Applied || p != 3 || a != 3 || len(rep.Bad) != 0 {
		t.Fatalf("good roster: %+v, %d people %d assignments", rep, p, a)
	}
	var phone, to string
	if err := pool.QueryRow(ctx, `SELECT pe.phone, to_char(a.valid_to AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') FROM people pe JOIN assignments a ON a.person_id = pe.id WHERE pe.name = '李四'`).Scan(&phone, &to); err != nil {
		t.Fatal(err)
	}
	if phone != "13900139000" || to != "2026-12-31" {
		t.Errorf("李四: phone %s until %s; want the +86 number normalised and the Excel serial date read", phone, to)
	}
	// upsert by (phone, duty, grid): the same file again changes nothing
	rep = importRoster(t, pool, "testdata/roster_good.xlsx", ingest.PeopleOptions{})
	if p, a := counts(); rep.Unchanged != 3 || rep.Applied || p != 3 || a != 3 {
		t.Fatalf("re-run: %+v, %d people %d assignments", rep, p, a)
	}

	rep = importRoster(t, pool, "testdata/roster_bad.xlsx", ingest.PeopleOptions{})
	if p, a := counts(); rep.Applied || p != 3 || a != 3 {
		t.Fatalf("bad roster written: %+v, %d people %d assignments", rep, p, a)
	}
	want := map[[2]any]bool{
		{3, "手机"}: true, {4, "网格编码"}: true, {5, "职责"}: true, {6, "职责"}: true,
		{7, "结束日期"}: true, {9, "职责"}: true, {10, "角色"}: true, {10, "起始日期"}: true,
	}
	got := map[[2]any]bool{}
	for _, e := range rep.Bad {
		got[[2]any{e.Row, e.Column}] = true
		if e.Reason == "" {
			t.Errorf("row %d %s: no reason", e.Row, e.Column)
		}
	}
	for k := range want {
		if !got[k] {
			t.Errorf("row %v, column %v not reported; got %+v", k[0], k[1], rep.Bad)
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("row %v, column %v reported but good", k[0], k[1])
		}
	}
	if rep.Rows != 9 {
		t.Errorf("rows %d, want 9", rep.Rows)
	}
	// a new outline of 110229001001 keeps its people on duty (assignments by code)
	grep, err := ingest.ImportGrids(ctx, pool, "testdata/villages_gbk_cgcs2000.zip", ingest.GridOptions{})
	if err != nil || grep.Totals[ingest.OutcomeChanged] != 1 {
		t.Fatalf("new outline: %+v %v", grep, err)
	}
	var onDuty int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM assignments a JOIN grids g ON g.id = a.grid_id WHERE g.code = '110229001001' AND g.valid_to IS NULL`).Scan(&onDuty); err != nil || onDuty != 2 {
		t.Errorf("people on duty in 110229001001 after its new outline: %d %v, want 2", onDuty, err)
	}
	var out bytes.Buffer
	ingest.WritePeopleReport(&out, rep)
	if !bytes.Contains(out.Bytes(), []byte("nothing written")) {
		t.Errorf("report: %s", out.String())
	}
}

func TestNormalizeMobile(t *testing.T) {
	for in, want := range map[string]bool{"13800138000": true, "+86 138-0013-8000": true, "0086 13800138000": true,
		"12800138000": false, "1380013800": false, "010-12345678": false, "": false} {
		if _, ok := ingest.NormalizeMobile(in); ok != want {
			t.Errorf("%q: %v, want %v", in, ok, want)
		}
	}
}

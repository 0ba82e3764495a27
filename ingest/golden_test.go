package ingest_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"whistlegrid/ingest"
)

// updating: -update (the flag open311_map_test.go defines) rewrites the
// golden files in testdata/.
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// writeDerived makes testdata/hotline_gbk.csv and testdata/hotline.xlsx
// from testdata/hotline_utf8.csv (with -update).
func writeDerived(t *testing.T) {
	src, err := os.ReadFile("testdata/hotline_utf8.csv")
	if err != nil {
		t.Fatal(err)
	}
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("testdata/hotline_gbk.csv", gbk, 0o644); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(src)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	f := excelize.NewFile()
	for i, rec := range recs {
		for j, v := range rec {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
			_ = f.SetCellStr("Sheet1", cell, v)
		}
	}
	if err := f.SaveAs("testdata/hotline.xlsx"); err != nil {
		t.Fatal(err)
	}
}

// reportJSON is a report as the golden files keep it: without the id,
// the file name and the time taken.
func reportJSON(t *testing.T, r *ingest.Report) []byte {
	t.Helper()
	c := *r
	c.ID, c.File, c.Seconds = 0, "", 0
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if updating() {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n%s\nwant:\n%s", name, got, want)
	}
}

// TestGoldenHotline imports the same export as GBK CSV and as xlsx, with
// synonym headers, bad rows and a duplicate: each gives the golden report
// (its rejects naming row, column and reason), and a second run changes
// nothing.
func TestGoldenHotline(t *testing.T) {
	if updating() {
		writeDerived(t)
	}
	for _, tt := range []struct{ file, encoding string }{{"hotline_gbk.csv", "gbk"}, {"hotline.xlsx", "utf8"}} {
		t.Run(tt.file, func(t *testing.T) {
			im, _ := newImporter(t)
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := im.ImportHotline(context.Background(), bytes.NewReader(data), ingest.HotlineOptions{FileName: tt.file})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Encoding != tt.encoding {
				t.Errorf("read as %s, want %s", rep.Encoding, tt.encoding)
			}
			rep.Encoding = ""
			checkGolden(t, "hotline.report.golden.json", reportJSON(t, rep))
			again, err := im.ImportHotline(context.Background(), bytes.NewReader(data), ingest.HotlineOptions{FileName: tt.file})
			if err != nil {
				t.Fatal(err)
			}
			if again.Imported != 0 || again.Duplicates != rep.Imported+rep.Duplicates || !strings.HasPrefix(again.Message, "nothing changed") {
				t.Errorf("second run: %+v", again)
			}
		})
	}
}

// TestGoldenPlaces imports places from CSV and GeoJSON.
func TestGoldenPlaces(t *testing.T) {
	im, _ := newImporter(t)
	for _, name := range []string{"places.csv", "places.geojson"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := im.ImportPlaces(context.Background(), bytes.NewReader(data), ingest.PlacesOptions{FileName: name})
		if err != nil {
			t.Fatal(err)
		}
		checkGolden(t, name+".report.golden.json", reportJSON(t, rep))
	}
	// the places are in the gazetteer at once
	g, err := im.Gazetteer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if m := g.Match("康庄镇小丰营广场门口", "", ""); m.Precision != ingest.PrecisionPlace || m.Place.Name != "小丰营村文化广场" {
		t.Errorf("an alias of an imported place: %+v", m)
	}
}

// TestMappingFile renames columns and maps categories through a mapping
// file; a file missing required columns is refused before any row,
// naming them.
func TestMappingFile(t *testing.T) {
	im, pool := newImporter(t)
	f, err := os.Open("testdata/mapping.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ingest.ReadMapping(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	file := "单号,反映时间,问题位置,问题描述,类别\nM1,2026-03-01 09:00:00,康庄镇小丰营村 1号,摆摊,城管/摊贩\nM2,2026-03-01 10:00:00,康庄镇小丰营村 2号,垃圾,环卫/垃圾\n"
	rep, err := im.ImportHotline(context.Background(), strings.NewReader(file), ingest.HotlineOptions{Mapping: m})
	if err != nil {
		t.Fatal(err)
	}
	var cats string
	_ = pool.QueryRow(context.Background(), `SELECT string_agg(c.code, ',' ORDER BY h.order_no) FROM hotline_orders h JOIN categories c ON c.id = h.category_id`).Scan(&cats)
	if rep.Imported != 2 || rep.Precisions[ingest.PrecisionHousehold] != 2 || cats != "CM.01.03,CM.01.02" {
		t.Errorf("mapped import: %+v, categories %s", rep, cats)
	}
	_, err = im.ImportHotline(context.Background(), strings.NewReader(file), ingest.HotlineOptions{})
	if err == nil || !strings.Contains(err.Error(), "工单编号, 受理时间, 问题分类, 诉求地址") {
		t.Errorf("without the mapping: %v, want the missing columns named", err)
	}
}

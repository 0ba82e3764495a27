package ingest

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/xuri/excelize/v2"
)

// drain reads every row of a table; it must never panic.
func drain(data []byte, enc Encoding) {
	t, err := OpenTable(bytes.NewReader(data), enc)
	if err != nil {
		return
	}
	defer t.Close()
	cols, _ := resolveColumns(t.Header(), nil)
	cats := &categoryResolver{byName: map[string][]string{"占道经营": {"CM.01.03"}}, mapping: map[string]string{}, known: func(string) bool { return false }}
	g := NewGazetteer()
	town := &Area{ID: 1, Code: "110119101", Name: "康庄镇"}
	g.AddTownship(town)
	g.AddVillage(&Area{ID: 2, Code: "110119101201", Name: "小丰营村", Township: town})
	for range 10000 {
		row, _, err := t.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil || cols == nil {
			continue
		}
		if o, rj := parseOrder(cols, row, 2, cats, "wgs84"); rj == nil {
			g.Match(o.Address, o.Township, o.Village)
		}
	}
}

// quickMinimize bounds the fuzzer's minimising of each new input to 200
// runs, unless -test.fuzzminimizetime is given. Go minimises an input
// that finds new coverage by trying to remove every subset of its bytes,
// up to 60 s by default, and nothing else runs on that worker meanwhile:
// early on, when most inputs find new coverage, the readers' fuzzers spent
// all their time minimising ("stalled after a few runs"). Call it before
// f.Fuzz; it only matters when fuzzing (-fuzz), the seeds run as tests.
func quickMinimize() {
	given := false
	flag.Visit(func(fl *flag.Flag) { given = given || fl.Name == "test.fuzzminimizetime" })
	if !given {
		_ = flag.Set("test.fuzzminimizetime", "200x")
	}
}

func seeds(f *testing.F, names ...string) {
	for _, n := range names {
		b, err := os.ReadFile("testdata/" + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzCSV: no CSV, in any bytes, makes the reader, the row parser or the
// matcher panic.
func FuzzCSV(f *testing.F) {
	quickMinimize()
	seeds(f, "hotline_gbk.csv", "hotline_utf8.csv", "places.csv")
	f.Add([]byte("工单编号,受理时间\n\"a,\"b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		drain(data, EncodingAuto)
		drain(data, EncodingGBK)
	})
}

// FuzzNormalizeAddress: any text normalises and matches without panic.
func FuzzNormalizeAddress(f *testing.F) {
	quickMinimize()
	for _, s := range []string{"北京市延庆区旧县镇常家营村 125号", "集贤社区 26号楼1单元201室", "二十六栋一单元二〇一", "26-1-201", "ＡＢ１２３号"} {
		f.Add(s)
	}
	g := NewGazetteer()
	town := &Area{ID: 1, Code: "110119101", Name: "康庄镇"}
	g.AddTownship(town)
	g.AddVillage(&Area{ID: 2, Code: "110119101201", Name: "小丰营村", Township: town})
	f.Fuzz(func(t *testing.T, s string) {
		NormalizeAddress(s)
		g.Match(s, s, s)
	})
}

// The xlsx fuzzers mutate a sheet (its XML, cells as inline strings) and
// the shared strings, put in a minimal workbook stored uncompressed: the
// mutations reach the XML the readers parse instead of breaking the zip's
// checksums, and a run costs a fraction of a full workbook (no theme, no
// styles). Their seeds are the first rows of the workbooks in testdata/.
// A run costs about a millisecond against several for a whole workbook.

// maxFuzzXLSX bounds an input of the xlsx fuzzers.
const maxFuzzXLSX = 64 << 10

// minimalXLSX is a workbook of one sheet (sheet1.xml) and the shared
// strings, each entry stored.
func minimalXLSX(sheet, shared []byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	put := func(name string, body []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err == nil {
			_, _ = w.Write(body)
		}
	}
	put("[Content_Types].xml", []byte(`<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>`))
	put("_rels/.rels", []byte(`<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`))
	put("xl/workbook.xml", []byte(`<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`))
	put("xl/_rels/workbook.xml.rels", []byte(`<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>`))
	put("xl/worksheets/sheet1.xml", sheet)
	put("xl/sharedStrings.xml", shared)
	_ = zw.Close()
	return buf.Bytes()
}

// sheetSeed is the first rows of testdata/name's first sheet as a sheet
// of inline strings, with one shared string referenced by a cell.
func sheetSeed(f *testing.F, name string, rows int) (sheet, shared []byte) {
	x, err := excelize.OpenFile("testdata/" + name)
	if err != nil {
		f.Fatal(err)
	}
	defer x.Close()
	all, err := x.GetRows(x.GetSheetList()[0])
	if err != nil {
		f.Fatal(err)
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
	for i, row := range all[:min(rows, len(all))] {
		fmt.Fprintf(&b, `<row r="%d">`, i+1)
		for j, v := range row {
			ref, _ := excelize.CoordinatesToCellName(j+1, i+1)
			fmt.Fprintf(&b, `<c r="%s" t="inlineStr"><is><t>`, ref)
			_ = xml.EscapeText(&b, []byte(v))
			b.WriteString(`</t></is></c>`)
		}
		if i == 1 {
			fmt.Fprintf(&b, `<c r="%s" t="s"><v>0</v></c>`, "Z2")
		}
		b.WriteString(`</row>`)
	}
	b.WriteString(`</sheetData></worksheet>`)
	shared = []byte(`<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>备注</t></si></sst>`)
	return b.Bytes(), shared
}

// FuzzXLSX: no xlsx makes the hotline reader, the row parser or the
// matcher panic.
func FuzzXLSX(f *testing.F) {
	quickMinimize()
	sheet, shared := sheetSeed(f, "hotline.xlsx", 4)
	f.Add(sheet, shared)
	f.Fuzz(func(t *testing.T, sheet, shared []byte) {
		if len(sheet)+len(shared) > maxFuzzXLSX {
			return
		}
		drain(minimalXLSX(sheet, shared), EncodingAuto)
	})
}

// FuzzParseRoster: no xlsx makes the roster reader panic, and one it
// reads without an error has rows or bad rows.
func FuzzParseRoster(f *testing.F) {
	quickMinimize()
	for _, name := range []string{"roster_good.xlsx", "roster_bad.xlsx"} {
		sheet, shared := sheetSeed(f, name, 4)
		f.Add(sheet, shared)
	}
	f.Fuzz(func(t *testing.T, sheet, shared []byte) {
		if len(sheet)+len(shared) > maxFuzzXLSX {
			return
		}
		rows, bad, err := ParseRoster(bytes.NewReader(minimalXLSX(sheet, shared)))
		if err == nil && len(rows)+len(bad) == 0 {
			t.Fatal("no error and no rows")
		}
	})
}

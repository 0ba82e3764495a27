package xlsx_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"whistlegrid/internal/xlsx"
)

func TestWriterReadBack(t *testing.T) {
	cols := []xlsx.Column{{"代码", xlsx.Text}, {"月份", xlsx.Text}, {"吹哨数", xlsx.Int}, {"响应率", xlsx.Percent}, {"时长(小时)", xlsx.Float}, {"吹哨时间", xlsx.DateTime}, {"日期", xlsx.Date}}
	w, err := xlsx.New("统计", cols, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	at := time.Date(2026, 1, 31, 17, 30, 0, 0, time.UTC) // 2026-02-01 01:30 in Beijing
	rate := 0.8125
	const n = 1200 // past the rows the widths are fitted to
	for i := 0; i < n; i++ {
		var r *float64
		if i > 0 {
			r = &rate
		}
		if err := w.Row("110119001", "2026-01", i, r, 12.5, at, at); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Row("too few"); err == nil {
		t.Fatal("a short row was accepted")
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("统计")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n+1 {
		t.Fatalf("%d rows, want %d", len(rows), n+1)
	}
	if got := strings.Join(rows[0], ","); got != "代码,月份,吹哨数,响应率,时长(小时),吹哨时间,日期" {
		t.Errorf("header %q", got)
	}
	for _, tc := range []struct {
		cell, want string
		typ        excelize.CellType
	}{
		{"A2", "110119001", excelize.CellTypeInlineString},
		{"B2", "2026-01", excelize.CellTypeInlineString},
		{"C3", "1", excelize.CellTypeUnset},
		{"D2", "", excelize.CellTypeUnset},
		{"D3", "81.25%", excelize.CellTypeUnset},
		{"E3", "12.50", excelize.CellTypeUnset},
		{"F3", "2026-02-01 01:30", excelize.CellTypeUnset},
		{"G3", "2026-02-01", excelize.CellTypeUnset},
	} {
		got, err := f.GetCellValue("统计", tc.cell)
		if err != nil || got != tc.want {
			t.Errorf("%s = %q, %v; want %q", tc.cell, got, err, tc.want)
		}
		typ, _ := f.GetCellType("统计", tc.cell)
		if typ != tc.typ && !(tc.typ == excelize.CellTypeInlineString && typ == excelize.CellTypeSharedString) {
			t.Errorf("%s type %v, want %v", tc.cell, typ, tc.typ)
		}
	}
	if raw, _ := f.GetCellValue("统计", "F3", excelize.Options{RawCellValue: true}); !strings.HasPrefix(raw, "46054.0625") {
		t.Errorf("F3 raw %q, want the serial date 46054.0625", raw)
	}
	panes, err := f.GetPanes("统计")
	if err != nil || !panes.Freeze || panes.YSplit != 1 {
		t.Errorf("panes %+v, %v: want the header row frozen", panes, err)
	}
	style, _ := f.GetCellStyle("统计", "A1")
	st, err := f.GetStyle(style)
	if err != nil || st.Font == nil || !st.Font.Bold {
		t.Errorf("header style %+v, %v: want bold", st, err)
	}
	if wd, _ := f.GetColWidth("统计", "A"); wd < 11 {
		t.Errorf("column A width %v, want it to fit 110119001", wd)
	}
}

func TestContentDisposition(t *testing.T) {
	got := xlsx.ContentDisposition("吹哨统计 2026-01.xlsx")
	want := `attachment; filename="2026-01.xlsx"; filename*=UTF-8''%E5%90%B9%E5%93%A8%E7%BB%9F%E8%AE%A1%202026-01.xlsx`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

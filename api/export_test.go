package api_test

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"whistlegrid/whistle"
)

// getFile GETs path with the token and returns the answer's status,
// headers and body.
func getFile(t *testing.T, base, path, token string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// readXLSX checks an xlsx answer's headers and returns its sheets' rows
// and the file (closed by the test's cleanup).
func readXLSX(t *testing.T, status int, h http.Header, body []byte, wantName string) *excelize.File {
	t.Helper()
	if status != http.StatusOK || h.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Fatalf("status %d, %v: %.200s", status, h, body)
	}
	_, ps, err := mime.ParseMediaType(h.Get("Content-Disposition"))
	if err != nil || !strings.HasPrefix(ps["filename"], wantName) { // Go decodes filename* into filename
		t.Errorf("Content-Disposition %q: %v, want a name starting %s", h.Get("Content-Disposition"), err, wantName)
	}
	f, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestExportsXLSX(t *testing.T) {
	set := buildStatsSet(t)
	cmd := set.env.Login(t, "command")
	town := set.env.Login(t, "t"+statsTownB)

	t.Run("stats match JSON, every grouping", func(t *testing.T) {
		for _, by := range whistle.StatsGroupings() {
			q := "/api/v1/stats?by=" + by + "&" + set.period()
			_, body := set.env.Do(t, "GET", q, cmd, nil)
			st := decode[whistle.Stats](t, body)
			f := xlsxGet(t, set.env.URL, q+"&format=xlsx", cmd)
			rows, err := f.GetRows("吹哨统计")
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != len(st.Groups)+2 || rows[0][0] != "代码" || rows[0][8] != "响应率" || rows[0][13] != "督办数" {
				t.Fatalf("%s: %d rows, header %v", by, len(rows), rows[0])
			}
			for i, g := range append(st.Groups, st.Total) {
				r := i + 2
				if rows[r-1][0] != g.Key || rows[r-1][2] != fmt.Sprint(g.Raised) {
					t.Errorf("%s row %d: %v, want %s raised %d", by, r, rows[r-1], g.Key, g.Raised)
				}
				typ, _ := f.GetCellType("吹哨统计", fmt.Sprintf("A%d", r))
				if typ != excelize.CellTypeInlineString && typ != excelize.CellTypeSharedString && typ != excelize.CellTypeFormula {
					t.Errorf("%s A%d: type %v, want text", by, r, typ)
				}
				if g.ReportInRate != nil {
					raw, _ := f.GetCellValue("吹哨统计", fmt.Sprintf("I%d", r), excelize.Options{RawCellValue: true})
					if raw != fmt.Sprint(*g.ReportInRate) {
						t.Errorf("%s I%d = %s, want the number %v", by, r, raw, *g.ReportInRate)
					}
				}
			}
		}
	})

	t.Run("month keys stay text", func(t *testing.T) {
		f := xlsxGet(t, set.env.URL, "/api/v1/stats?by=month&format=xlsx&"+set.period(), cmd)
		v, _ := f.GetCellValue("吹哨统计", "A2")
		if v != fmt.Sprintf("%d-03", set.year) {
			t.Errorf("A2 = %q, want the month as written", v)
		}
	})

	t.Run("whistles with their filters, scoped", func(t *testing.T) {
		for _, tt := range []struct {
			name, token, query string
			want               int
		}{
			{"all", cmd, "", 4},
			{"a township filter", cmd, "&township=" + statsTownA, 3},
			{"the other township sees its own", town, "", 1},
			{"a grade", cmd, "&grade=priority", 1},
		} {
			t.Run(tt.name, func(t *testing.T) {
				f := xlsxGet(t, set.env.URL, "/api/v1/whistles?format=xlsx"+tt.query, tt.token)
				rows, _ := f.GetRows("吹哨清单")
				if len(rows) != tt.want+1 || rows[0][0] != "吹哨编号" || rows[0][8] != "吹哨时间" {
					t.Fatalf("%d rows, header %v", len(rows), rows[0])
				}
				if typ, _ := f.GetCellType("吹哨清单", "B2"); typ != excelize.CellTypeInlineString && typ != excelize.CellTypeSharedString {
					t.Errorf("the township code is %v, want text", typ)
				}
				if raw, _ := f.GetCellValue("吹哨清单", "I2", excelize.Options{RawCellValue: true}); !strings.Contains(raw, ".") {
					t.Errorf("吹哨时间 %q, want a date serial number", raw)
				}
			})
		}
	})

	t.Run("clues", func(t *testing.T) {
		_, body := set.env.Do(t, "GET", "/api/v1/clues?township="+statsTownA, cmd, nil)
		want := decode[struct{ Total int }](t, body).Total
		f := xlsxGet(t, set.env.URL, "/api/v1/clues?format=xlsx&township="+statsTownA, cmd)
		rows, _ := f.GetRows("线索清单")
		if len(rows) != want+1 || want == 0 || rows[0][6] != "街乡镇代码" {
			t.Fatalf("%d rows for %d clues, header %v", len(rows), want, rows[0])
		}
		if rows[1][6] != statsTownA {
			t.Errorf("township %q", rows[1][6])
		}
	})

	t.Run("clue counts", func(t *testing.T) {
		_, body := set.env.Do(t, "GET", "/api/v1/stats/clues?by=source&"+set.period(), cmd, nil)
		cc := decode[whistle.ClueCounts](t, body)
		if cc.Total.Clues != 5 || len(cc.Groups) != 3 {
			t.Errorf("clue counts %+v, want 5 clues of 3 sources", cc)
		}
		for _, by := range whistle.ClueGroupings() {
			status, body := set.env.Do(t, "GET", "/api/v1/stats/clues?by="+by+"&"+set.period(), cmd, nil)
			g := decode[whistle.ClueCounts](t, body)
			sum := 0
			for _, x := range g.Groups {
				sum += x.Clues
			}
			if status != http.StatusOK || g.Total.Clues != 5 || sum != 5 {
				t.Errorf("by=%s: %d, total %d, groups sum %d: %s", by, status, g.Total.Clues, sum, body)
			}
		}
		f := xlsxGet(t, set.env.URL, "/api/v1/stats/clues?by=source&format=xlsx&"+set.period(), cmd)
		rows, _ := f.GetRows("线索统计")
		if len(rows) != len(cc.Groups)+2 {
			t.Errorf("%d rows", len(rows))
		}
	})

	t.Run("assessment csv and xlsx", func(t *testing.T) {
		_, body := set.env.Do(t, "GET", fmt.Sprintf("/api/v1/assessment?year=%d", set.year), cmd, nil)
		a := decode[whistle.Assessment](t, body)
		status, h, b := getFile(t, set.env.URL, fmt.Sprintf("/api/v1/assessment?year=%d&format=csv", set.year), cmd)
		if status != http.StatusOK || h.Get("Content-Type") != "text/csv; charset=utf-8" || !bytes.HasPrefix(b, []byte("\xEF\xBB\xBF单位代码")) {
			t.Fatalf("csv: %d %v %.100s", status, h, b)
		}
		if n := strings.Count(string(b), "\r\n"); n != len(a.Units)+len(a.Townships)+3 {
			t.Errorf("csv has %d lines, want %d", n, len(a.Units)+len(a.Townships)+3)
		}
		f := xlsxGet(t, set.env.URL, fmt.Sprintf("/api/v1/assessment?year=%d&format=xlsx", set.year), cmd)
		units, _ := f.GetRows("单位得分")
		towns, _ := f.GetRows("街乡镇得分")
		if len(units) != len(a.Units)+1 || len(towns) != len(a.Townships)+1 || towns[0][3] != "得分" {
			t.Errorf("%d unit rows, %d township rows", len(units), len(towns))
		}
		raw, _ := f.GetCellValue("街乡镇得分", "D2", excelize.Options{RawCellValue: true})
		if a.Townships[0].Score == nil || raw != fmt.Sprint(*a.Townships[0].Score) {
			t.Errorf("score %q", raw)
		}
	})

	t.Run("filters and new groupings", func(t *testing.T) {
		for _, tt := range []struct{ query, want string }{
			{"by=grade&township=" + statsTownB, "routine=1"},
			{"by=grade&source=hotline", "routine=1"},
			{"by=grade&category=CM.06", "priority=1"},
			{"by=grade&unit=" + set.transport, "priority=1"},
			{"by=turnaround", "b1=1 b2=1 open=2"},
		} {
			_, body := set.env.Do(t, "GET", "/api/v1/stats?"+tt.query+"&"+set.period(), cmd, nil)
			st := decode[whistle.Stats](t, body)
			var got []string
			for _, g := range st.Groups {
				got = append(got, fmt.Sprintf("%s=%d", g.Key, g.Raised))
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("%s: %s, want %s", tt.query, strings.Join(got, " "), tt.want)
			}
		}
	})

	t.Run("a filename in Chinese", func(t *testing.T) {
		_, h, _ := getFile(t, set.env.URL, "/api/v1/whistles?format=xlsx", cmd)
		cd := h.Get("Content-Disposition")
		if !strings.Contains(cd, "filename*=UTF-8''"+url.PathEscape("吹哨清单")) {
			t.Errorf("Content-Disposition %q", cd)
		}
	})
}

// xlsxGet GETs an xlsx export and opens it.
func xlsxGet(t *testing.T, base, path, token string) *excelize.File {
	t.Helper()
	status, h, b := getFile(t, base, path, token)
	return readXLSX(t, status, h, b, "")
}

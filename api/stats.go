package api

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"whistlegrid/geo"
	"whistlegrid/internal/xlsx"
	"whistlegrid/whistle"
)

// stats: GET /api/v1/stats?from=&to=&by=township|village|unit|category|source|day|week|month|grade|turnaround
// [&township=&unit=&category=&source=&grade=][&format=json|csv|xlsx]
// -> {"from","to","by","groups":[figures...],"total":figures} for the whistles raised in [from, to)
// in the caller's jurisdiction (whistle.Figures defines each figure; "ever_overdue" and
// "overdue_now" count the two meanings of overdue, per whistle or, by=unit, per unit). from and to are RFC 3339
// times or dates YYYY-MM-DD in Beijing time; to defaults to now, from to the start of to's year,
// by to township. format=csv answers the same table as a UTF-8 CSV with a BOM (for Excel), a
// header row, one row per group and the total last; format=xlsx the same as an Excel sheet. The filters
// narrow the whistles (whistle.StatsQuery).
func (s *Server) stats(c *gin.Context) {
	p := params{c: c}
	q := statsQuery(c, &p)
	format := formatParam(&p, "json", "csv", "xlsx")
	if p.err != nil {
		s.fail(c, p.err)
		return
	}
	st, err := s.whistles.Stats(c.Request.Context(), scope(c), q)
	if err != nil {
		s.fail(c, err)
		return
	}
	switch format {
	case "json":
		c.JSON(http.StatusOK, st)
		return
	case "xlsx":
		s.sendStatsXLSX(c, st)
		return
	}
	b, err := statsCSV(st)
	if err != nil {
		s.fail(c, err)
		return
	}
	name := "whistle-stats-" + st.By + "-" + st.From.Format("20060102") + "-" + st.To.Format("20060102") + ".csv"
	c.Header("Content-Disposition", `attachment; filename="`+name+`"`)
	c.Data(http.StatusOK, "text/csv; charset=utf-8", b)
}

// statsQuery reads the statistics' period, grouping and filters.
func statsQuery(c *gin.Context, p *params) whistle.StatsQuery {
	return whistle.StatsQuery{By: c.Query("by"), From: p.time("from"), To: p.time("to"), Township: c.Query("township"),
		Unit: c.Query("unit"), Category: c.Query("category"), Source: c.Query("source"), Grade: c.Query("grade")}
}

// statsClues: GET /api/v1/stats/clues?from=&to=&by=township|village|category|source|day|week|month
// [&township=&unit=&category=&source=&grade=][&format=json|xlsx] -> {"from","to","by","groups":[{"key","name",
// "clues","whistled"}],"total"}: the clues reported in [from, to) in the caller's jurisdiction, of every
// source, counted by group (by defaults to day); whistled counts those attached to a whistle.
func (s *Server) statsClues(c *gin.Context) {
	p := params{c: c}
	q := statsQuery(c, &p)
	format := formatParam(&p, "json", "xlsx")
	if p.err != nil {
		s.fail(c, p.err)
		return
	}
	st, err := s.whistles.CountClues(c.Request.Context(), scope(c), q)
	if err != nil {
		s.fail(c, err)
		return
	}
	if format == "xlsx" {
		s.sendClueCountsXLSX(c, st)
		return
	}
	c.JSON(http.StatusOK, st)
}

// statsCSV writes the statistics as CSV: a UTF-8 BOM, the header (the
// JSON fields in order, in Chinese), the groups, the total; a null figure
// is an empty cell.
func statsCSV(st whistle.Stats) ([]byte, error) {
	header := []string{"代码", "名称", "吹哨数", "已结案", "未结案", "曾超期", "超期中", "线索数",
		"响应率", "解决率", "满意率", "回访数", "居民满意率", "平均办理时长(小时)", "办理时长P90(小时)", "督办数"}
	var buf bytes.Buffer
	buf.WriteString("\uFEFF")
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	num := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', -1, 64)
	}
	rows := append([]whistle.Figures{}, st.Groups...)
	rows = append(rows, st.Total)
	if err := w.Write(header); err != nil {
		return nil, err
	}
	for _, f := range rows {
		rec := []string{f.Key, f.Name, strconv.Itoa(f.Raised), strconv.Itoa(f.Closed), strconv.Itoa(f.Open), strconv.Itoa(f.EverOverdue), strconv.Itoa(f.OverdueNow),
			strconv.Itoa(f.Clues), num(f.ReportInRate), num(f.ResolutionRate), num(f.SatisfactionRate),
			strconv.Itoa(f.Callbacks), num(f.ResidentSatisfactionRate), num(f.TurnaroundMeanH), num(f.TurnaroundP90H),
			strconv.Itoa(f.Supervised)}
		if err := w.Write(rec); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// assessment: GET /api/v1/assessment?year=YYYY[&format=json|csv|xlsx] -> {"year","units":[{"code","name","kind","whistles","score","parts"}],
// "townships":[{"code","name","whistles","score","parts"}]}: the two-way assessment (双向考核) of the whistles
// raised in the year (Beijing time; default this year), highest score first. whistle.ScoreUnit and
// whistle.ScoreTownship define the scores, whistle.Store.Assessment who sees which rows. format=csv answers
// both tables in one UTF-8 CSV with a BOM (the units' table, an empty line, the townships'), format=xlsx an
// Excel file with a sheet for each.
func (s *Server) assessment(c *gin.Context) {
	p := params{c: c}
	format := formatParam(&p, "json", "csv", "xlsx")
	if p.err != nil {
		s.fail(c, p.err)
		return
	}
	year := time.Now().In(geo.Beijing).Year()
	if v := c.Query("year"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || len(v) != 4 {
			s.fail(c, invalidParam("year", "year must be a year YYYY"))
			return
		}
		year = n
	}
	a, err := s.whistles.Assessment(c.Request.Context(), scope(c), year)
	if err != nil {
		s.fail(c, err)
		return
	}
	switch format {
	case "csv":
		b, err := assessmentCSV(a)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.Header("Content-Disposition", xlsx.ContentDisposition("双向考核-"+strconv.Itoa(a.Year)+".csv"))
		c.Data(http.StatusOK, "text/csv; charset=utf-8", b)
	case "xlsx":
		s.sendAssessmentXLSX(c, a)
	default:
		c.JSON(http.StatusOK, a)
	}
}

// assessmentCSV writes both tables of the assessment as one CSV: a UTF-8
// BOM, the units' header and rows, an empty line, the townships' header
// and rows; a null is an empty cell.
func assessmentCSV(a whistle.Assessment) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("\uFEFF")
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	units, towns := assessmentRows(a)
	for i, table := range []struct {
		cols []xlsx.Column
		rows [][]any
	}{{assessmentUnitColumns, units}, {assessmentTownshipColumns, towns}} {
		if i > 0 {
			w.Flush()
			buf.WriteString("\r\n")
		}
		header := make([]string, len(table.cols))
		for j, col := range table.cols {
			header[j] = col.Header
		}
		if err := w.Write(header); err != nil {
			return nil, err
		}
		for _, r := range table.rows {
			rec := make([]string, len(r))
			for j, v := range r {
				rec[j] = csvCell(v)
			}
			if err := w.Write(rec); err != nil {
				return nil, err
			}
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// csvCell is a value as a CSV cell: a nil pointer empty.
func csvCell(v any) string {
	switch x := v.(type) {
	case *float64:
		if x == nil {
			return ""
		}
		return strconv.FormatFloat(*x, 'f', -1, 64)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

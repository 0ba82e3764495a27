package api

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"whistlegrid/geo"
	"whistlegrid/whistle"
)

// stats: GET /api/v1/stats?from=&to=&by=township|unit|category|source|month|grade[&format=json|csv]
// -> {"from","to","by","groups":[figures...],"total":figures} for the whistles raised in [from, to)
// in the caller's jurisdiction (whistle.Figures defines each figure; "ever_overdue" and
// "overdue_now" count the two meanings of overdue, per whistle or, by=unit, per unit). from and to are RFC 3339
// times or dates YYYY-MM-DD in Beijing time; to defaults to now, from to the start of to's year,
// by to township. format=csv answers the same table as a UTF-8 CSV with a BOM (for Excel), a
// header row, one row per group and the total last.
func (s *Server) stats(c *gin.Context) {
	p := params{c: c}
	q := whistle.StatsQuery{By: c.Query("by"), From: p.time("from"), To: p.time("to")}
	format := c.DefaultQuery("format", "json")
	if format != "json" && format != "csv" {
		p.fail("format", "format must be json or csv")
	}
	if p.err != nil {
		s.fail(c, p.err)
		return
	}
	st, err := s.whistles.Stats(c.Request.Context(), scope(c), q)
	if err != nil {
		s.fail(c, err)
		return
	}
	if format == "json" {
		c.JSON(http.StatusOK, st)
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

// statsCSV writes the statistics as CSV: a UTF-8 BOM, the header (the
// JSON fields in order, in Chinese), the groups, the total; a null figure
// is an empty cell.
func statsCSV(st whistle.Stats) ([]byte, error) {
	header := []string{"代码", "名称", "吹哨数", "已结案", "未结案", "曾超期", "超期中", "线索数",
		"响应率", "解决率", "满意率", "回访数", "居民满意率", "平均办理时长(小时)", "办理时长P90(小时)"}
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
			strconv.Itoa(f.Callbacks), num(f.ResidentSatisfactionRate), num(f.TurnaroundMeanH), num(f.TurnaroundP90H)}
		if err := w.Write(rec); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// assessment: GET /api/v1/assessment?year=YYYY -> {"year","units":[{"code","name","kind","whistles","score","parts"}],
// "townships":[{"code","name","whistles","score","parts"}]}: the two-way assessment (双向考核) of the whistles
// raised in the year (Beijing time; default this year), highest score first. whistle.ScoreUnit and
// whistle.ScoreTownship define the scores, whistle.Store.Assessment who sees which rows.
func (s *Server) assessment(c *gin.Context) {
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
	c.JSON(http.StatusOK, a)
}

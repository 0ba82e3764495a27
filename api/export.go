package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"whistlegrid/fault"
	"whistlegrid/geo"
	"whistlegrid/internal/xlsx"
	"whistlegrid/whistle"
)

// The Excel exports (format=xlsx) of the statistics, the assessment and the
// whistle and clue lists: each builds its sheet with internal/xlsx and
// sends it with sendXLSX. A list of more than xlsx.MaxRows (100,000) rows
// is refused with 413 before a byte is sent, never cut short.

// sendXLSX finishes w and sends it as an attachment named name (Chinese,
// RFC 6266 filename*).
func (s *Server) sendXLSX(c *gin.Context, name string, w *xlsx.Writer) {
	c.Header("Content-Type", xlsx.ContentType)
	c.Header("Content-Disposition", xlsx.ContentDisposition(name))
	c.Status(http.StatusOK)
	if _, err := w.WriteTo(c.Writer); err != nil {
		// the answer has started: log it, the client sees a broken file
		s.log.Warn("xlsx export cut off", "err", err, "path", c.Request.URL.Path)
	}
}

// exportFail maps an export's error: too many rows is a 413.
func (s *Server) exportFail(c *gin.Context, err error) {
	if errors.Is(err, xlsx.ErrTooManyRows) {
		err = fault.Newf(fault.TooLarge, "more than %d rows: narrow the filters (township, from, to, ...) to export them", xlsx.MaxRows)
	}
	s.fail(c, err)
}

// formatParam reads format= (default json) against the allowed values.
func formatParam(p *params, allowed ...string) string {
	f := p.c.DefaultQuery("format", "json")
	for _, a := range allowed {
		if f == a {
			return f
		}
	}
	p.fail("format", "format must be "+strings.Join(allowed, " or "))
	return f
}

// day is a time's Beijing date, for file names.
func day(t time.Time) string { return t.In(geo.Beijing).Format("20060102") }

func yesNo(b bool) string {
	if b {
		return "是"
	}
	return "否"
}

// exportWhistles: GET /api/v1/whistles?format=xlsx&<the list's filters> -> 吹哨清单.xlsx, every whistle
// the list selects (newest first, no paging), at most 100,000 (more: 413).
func (s *Server) exportWhistles(c *gin.Context, f whistle.Filter) {
	cols := []xlsx.Column{{Header: "吹哨编号", Kind: xlsx.Int}, {Header: "街乡镇代码", Kind: xlsx.Text}, {Header: "街乡镇", Kind: xlsx.Text},
		{Header: "网格代码", Kind: xlsx.Text}, {Header: "等级", Kind: xlsx.Text}, {Header: "状态", Kind: xlsx.Text},
		{Header: "类别代码", Kind: xlsx.Text}, {Header: "类别", Kind: xlsx.Text}, {Header: "吹哨时间", Kind: xlsx.DateTime},
		{Header: "报到时限", Kind: xlsx.DateTime}, {Header: "办结时限", Kind: xlsx.DateTime}, {Header: "结案时间", Kind: xlsx.DateTime},
		{Header: "办理结果", Kind: xlsx.Text}, {Header: "线索数", Kind: xlsx.Int}, {Header: "超期中", Kind: xlsx.Text},
		{Header: "曾超期", Kind: xlsx.Text}, {Header: "主责单位", Kind: xlsx.Text}}
	w, err := xlsx.New("吹哨清单", cols, geo.Beijing)
	if err != nil {
		s.fail(c, err)
		return
	}
	defer w.Close()
	err = s.whistles.EachWhistle(c.Request.Context(), scope(c), f, xlsx.MaxRows+1, func(ws whistle.Summary) error {
		var outcome any
		if ws.Outcome != nil {
			outcome = whistle.OutcomeName(*ws.Outcome)
		}
		return w.Row(ws.ID, ws.Township, ws.TownshipName, ws.Grid, ws.Grade.Name(), whistle.StatusName(ws.Status),
			ws.Category, ws.CategoryName, ws.RaisedAt, ws.ReportInDue, ws.ResolveDue, ws.ClosedAt, outcome, ws.ClueCount,
			yesNo(ws.OverdueNow), yesNo(ws.EverOverdue), strings.Join(ws.Units, "、"))
	})
	if err != nil {
		s.exportFail(c, err)
		return
	}
	s.sendXLSX(c, "吹哨清单-"+day(time.Now())+".xlsx", w)
}

// exportClues: GET /api/v1/clues?format=xlsx&<the list's filters> -> 线索清单.xlsx, every clue the list
// selects (newest first, no paging), at most 100,000 (more: 413); the reporter masked as in the list.
func (s *Server) exportClues(c *gin.Context, f whistle.ClueFilter) {
	cols := []xlsx.Column{{Header: "线索编号", Kind: xlsx.Int}, {Header: "来源", Kind: xlsx.Text}, {Header: "外部编号", Kind: xlsx.Text},
		{Header: "类别代码", Kind: xlsx.Text}, {Header: "类别", Kind: xlsx.Text}, {Header: "内容", Kind: xlsx.Text},
		{Header: "街乡镇代码", Kind: xlsx.Text}, {Header: "街乡镇", Kind: xlsx.Text}, {Header: "村/社区代码", Kind: xlsx.Text},
		{Header: "村/社区", Kind: xlsx.Text}, {Header: "网格代码", Kind: xlsx.Text}, {Header: "经度", Kind: xlsx.Float},
		{Header: "纬度", Kind: xlsx.Float}, {Header: "上报时间", Kind: xlsx.DateTime}, {Header: "接收时间", Kind: xlsx.DateTime},
		{Header: "上报人", Kind: xlsx.Text}, {Header: "电话", Kind: xlsx.Text}, {Header: "吹哨编号", Kind: xlsx.Int}}
	w, err := xlsx.New("线索清单", cols, geo.Beijing)
	if err != nil {
		s.fail(c, err)
		return
	}
	defer w.Close()
	err = s.whistles.EachClue(c.Request.Context(), scope(c), f, xlsx.MaxRows+1, func(cl whistle.Clue) error {
		var name, phone any
		if cl.Reporter != nil {
			name, phone = cl.Reporter.Name, cl.Reporter.Phone
		}
		link := func(level string) whistle.Link {
			for _, l := range cl.Chain {
				if l.Level == level {
					return l
				}
			}
			return whistle.Link{}
		}
		t, v, hg := link("township"), link("village"), link("household")
		return w.Row(cl.ID, whistle.SourceName(cl.Source), cl.ExternalID, cl.Category, cl.CategoryName, cl.Text,
			t.Code, t.Name, v.Code, v.Name, hg.Code, cl.Lon, cl.Lat, cl.ReportedAt, cl.ReceivedAt, name, phone, cl.WhistleID)
	})
	if err != nil {
		s.exportFail(c, err)
		return
	}
	s.sendXLSX(c, "线索清单-"+day(time.Now())+".xlsx", w)
}

// statsColumns are the columns of the statistics' table, CSV and xlsx.
var statsColumns = []xlsx.Column{{Header: "代码", Kind: xlsx.Text}, {Header: "名称", Kind: xlsx.Text}, {Header: "吹哨数", Kind: xlsx.Int},
	{Header: "已结案", Kind: xlsx.Int}, {Header: "未结案", Kind: xlsx.Int}, {Header: "曾超期", Kind: xlsx.Int}, {Header: "超期中", Kind: xlsx.Int},
	{Header: "线索数", Kind: xlsx.Int}, {Header: "响应率", Kind: xlsx.Percent}, {Header: "解决率", Kind: xlsx.Percent},
	{Header: "满意率", Kind: xlsx.Percent}, {Header: "平均办理时长(小时)", Kind: xlsx.Float}, {Header: "办理时长P90(小时)", Kind: xlsx.Float},
	{Header: "督办数", Kind: xlsx.Int}}

// statsGroupNames are the groupings' Chinese names, for file names.
var statsGroupNames = map[string]string{"township": "按街乡镇", "village": "按村社区", "unit": "按单位", "category": "按类别",
	"source": "按来源", "day": "按日", "week": "按周", "month": "按月", "grade": "按等级", "turnaround": "按办理时长"}

// sendStatsXLSX sends the statistics as 吹哨统计-<by>-<from>-<to>.xlsx: the groups, then the total.
func (s *Server) sendStatsXLSX(c *gin.Context, st whistle.Stats) {
	w, err := xlsx.New("吹哨统计", statsColumns, geo.Beijing)
	if err != nil {
		s.fail(c, err)
		return
	}
	defer w.Close()
	for _, f := range append(append([]whistle.Figures{}, st.Groups...), st.Total) {
		if err := w.Row(f.Key, f.Name, f.Raised, f.Closed, f.Open, f.EverOverdue, f.OverdueNow, f.Clues,
			f.ReportInRate, f.ResolutionRate, f.SatisfactionRate, f.TurnaroundMeanH, f.TurnaroundP90H, f.Supervised); err != nil {
			s.exportFail(c, err)
			return
		}
	}
	s.sendXLSX(c, "吹哨统计-"+statsGroupNames[st.By]+"-"+day(st.From)+"-"+day(st.To.Add(-time.Nanosecond))+".xlsx", w)
}

// clueCountColumns are the columns of the clue counts.
var clueCountColumns = []xlsx.Column{{Header: "代码", Kind: xlsx.Text}, {Header: "名称", Kind: xlsx.Text}, {Header: "线索数", Kind: xlsx.Int},
	{Header: "已吹哨线索", Kind: xlsx.Int}}

// sendClueCountsXLSX sends the clue counts as 线索统计-<by>-<from>-<to>.xlsx.
func (s *Server) sendClueCountsXLSX(c *gin.Context, st whistle.ClueCounts) {
	w, err := xlsx.New("线索统计", clueCountColumns, geo.Beijing)
	if err != nil {
		s.fail(c, err)
		return
	}
	defer w.Close()
	for _, g := range append(append([]whistle.ClueCount{}, st.Groups...), st.Total) {
		if err := w.Row(g.Key, g.Name, g.Clues, g.Whistled); err != nil {
			s.exportFail(c, err)
			return
		}
	}
	s.sendXLSX(c, "线索统计-"+statsGroupNames[st.By]+"-"+day(st.From)+"-"+day(st.To.Add(-time.Nanosecond))+".xlsx", w)
}

// assessmentUnitColumns and assessmentTownshipColumns are the two tables
// of the assessment, CSV and xlsx.
var assessmentUnitColumns = []xlsx.Column{{Header: "单位代码", Kind: xlsx.Text}, {Header: "单位", Kind: xlsx.Text}, {Header: "类型", Kind: xlsx.Text},
	{Header: "吹哨数", Kind: xlsx.Int}, {Header: "得分", Kind: xlsx.Float}, {Header: "已评价", Kind: xlsx.Int},
	{Header: "报到评分均值", Kind: xlsx.Float}, {Header: "解决评分均值", Kind: xlsx.Float}, {Header: "满意评分均值", Kind: xlsx.Float},
	{Header: "评价得分(60)", Kind: xlsx.Float}, {Header: "按时报到率", Kind: xlsx.Percent}, {Header: "报到得分(20)", Kind: xlsx.Float},
	{Header: "解决率", Kind: xlsx.Percent}, {Header: "解决得分(20)", Kind: xlsx.Float}, {Header: "督办次数", Kind: xlsx.Int},
	{Header: "扣分", Kind: xlsx.Float}}

var assessmentTownshipColumns = []xlsx.Column{{Header: "街乡镇代码", Kind: xlsx.Text}, {Header: "街乡镇", Kind: xlsx.Text},
	{Header: "吹哨数", Kind: xlsx.Int}, {Header: "得分", Kind: xlsx.Float}, {Header: "已结案", Kind: xlsx.Int},
	{Header: "未退回结案", Kind: xlsx.Int}, {Header: "未退回率", Kind: xlsx.Percent}, {Header: "未退回得分(40)", Kind: xlsx.Float},
	{Header: "应审核", Kind: xlsx.Int}, {Header: "按时审核", Kind: xlsx.Int}, {Header: "按时审核率", Kind: xlsx.Percent},
	{Header: "审核得分(30)", Kind: xlsx.Float}, {Header: "应评价", Kind: xlsx.Int}, {Header: "按时评价", Kind: xlsx.Int},
	{Header: "按时评价率", Kind: xlsx.Percent}, {Header: "评价得分(30)", Kind: xlsx.Float}}

// unitKindName is a unit kind's Chinese name.
func unitKindName(k string) string {
	switch k {
	case "department":
		return "职能部门"
	case "station":
		return "派驻机构"
	case "utility":
		return "公共服务企业"
	}
	return k
}

// assessmentRows are the two tables' rows, values in the columns' order.
func assessmentRows(a whistle.Assessment) (units, townships [][]any) {
	for _, u := range a.Units {
		p := u.Parts
		units = append(units, []any{u.Code, u.Name, unitKindName(u.Kind), u.Whistles, u.Score, p.Rated, p.ReportedInMean, p.ResolvedMean,
			p.SatisfiedMean, p.Ratings, p.ReportInRate, p.ReportIn, p.ResolutionRate, p.Resolution, p.Notices, p.Deduction})
	}
	for _, t := range a.Townships {
		p := t.Parts
		townships = append(townships, []any{t.Code, t.Name, t.Whistles, t.Score, p.Closed, p.ClosedWithoutReturn, p.NoReturnRate, p.NoReturn,
			p.Approvals, p.ApprovedInTime, p.ApprovalRate, p.Approval, p.RatingsDue, p.RatedInTime, p.RatingRate, p.Rating})
	}
	return units, townships
}

// sendAssessmentXLSX sends the assessment as 双向考核-<year>.xlsx, two
// sheets: 单位得分 (units scored by the townships) and 街乡镇得分.
func (s *Server) sendAssessmentXLSX(c *gin.Context, a whistle.Assessment) {
	units, towns := assessmentRows(a)
	w, err := xlsx.New("单位得分", assessmentUnitColumns, geo.Beijing)
	if err != nil {
		s.fail(c, err)
		return
	}
	defer w.Close()
	for _, r := range units {
		if err := w.Row(r...); err != nil {
			s.exportFail(c, err)
			return
		}
	}
	if err := w.Sheet("街乡镇得分", assessmentTownshipColumns); err != nil {
		s.fail(c, err)
		return
	}
	for _, r := range towns {
		if err := w.Row(r...); err != nil {
			s.exportFail(c, err)
			return
		}
	}
	s.sendXLSX(c, "双向考核-"+strconv.Itoa(a.Year)+".xlsx", w)
}

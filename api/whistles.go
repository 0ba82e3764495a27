package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"whistlegrid/fault"
	"whistlegrid/whistle"
)

// needWhistles answers 503 while the server has no placement index (and so
// no whistle store).
func (s *Server) needWhistles(c *gin.Context) {
	if s.whistles == nil {
		s.fail(c, fault.New(fault.Unavailable, "the placement index is not loaded"))
		return
	}
	c.Next()
}

// postClue: POST /api/v1/clues {"source","external_id","category","text","lon","lat","datum","reported_at","reporter"?}
// -> 201 {"clue","whistle"|null}; the same (source, external_id) again -> 200 with the stored clue, nothing changed.
func (s *Server) postClue(c *gin.Context) {
	var in whistle.ClueInput
	if err := bindJSON(c, &in, objectShape); err != nil {
		s.fail(c, err)
		return
	}
	res, err := s.whistles.Intake(c.Request.Context(), scope(c), in)
	if err != nil {
		s.fail(c, err)
		return
	}
	status := http.StatusCreated
	if res.Existing {
		status = http.StatusOK
	}
	c.JSON(status, res)
}

// clues: GET /api/v1/clues?township=&source=&category=&from=&to=&whistle=&limit=&after=[&format=json|xlsx]
// -> {"clues":[...],"next","total"|"total_estimate"} in the caller's
// jurisdiction, newest first, paged as page.go says; format=xlsx is every
// clue of the filters as an Excel sheet (api/export.go).
func (s *Server) clues(c *gin.Context) {
	p := params{c: c}
	f := whistle.ClueFilter{Township: c.Query("township"), Source: c.Query("source"), Category: c.Query("category"),
		From: p.time("from"), To: p.time("to"), WhistleID: int64(p.int("whistle")), Page: p.page(DefaultLimit, MaxLimit)}
	xlsxWanted := formatParam(&p, "json", "xlsx") == "xlsx"
	if p.err != nil {
		s.fail(c, p.err)
		return
	}
	if xlsxWanted { // format=xlsx: every clue of the filters, api/export.go
		s.exportClues(c, f)
		return
	}
	l, err := s.whistles.Clues(c.Request.Context(), scope(c), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, pageAnswer(c, gin.H{"clues": l.Clues}, l.Next, &l.Total))
}

// raiseWhistle: POST /api/v1/whistles {"clue_ids":[...],"grade","note","units"?:[{"code","role"}]} -> 201 the whistle.
// units, when given, replace the responsibility list's (at least one lead).
func (s *Server) raiseWhistle(c *gin.Context) {
	var in whistle.RaiseInput
	if err := bindJSON(c, &in, objectShape); err != nil {
		s.fail(c, err)
		return
	}
	if scope(c).ReadOnly() {
		s.fail(c, fault.New(fault.Forbidden, "the wall screen is read-only"))
		return
	}
	d, err := s.whistles.Raise(c.Request.Context(), scope(c), in)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, d)
}

// listWhistles: GET /api/v1/whistles?township=&unit=&status=&grade=&category=&overdue_now=&ever_overdue=&from=&to=&sort=newest|deadline&limit=&after=
// -> {"whistles":[...],"next","total"|"total_estimate"} in the caller's
// jurisdiction, newest first or by resolve deadline (soonest first),
// paged as page.go says; format=xlsx is every whistle of the filters as an
// Excel sheet (api/export.go).
// overdue_now=true|false selects the whistles open and overdue now (超期中),
// ever_overdue=true|false those ever overdue (曾超期), whatever their status:
// whistle.Summary and migrations/00005_whistle_summaries.sql define both.
// overdue= is the older name of ever_overdue; giving both is 422.
func (s *Server) listWhistles(c *gin.Context) {
	p := params{c: c}
	f := whistle.Filter{Township: c.Query("township"), Unit: c.Query("unit"), Status: c.Query("status"), Grade: c.Query("grade"), Category: c.Query("category")}
	for _, o := range []struct {
		name string
		dst  **bool
	}{{"overdue_now", &f.OverdueNow}, {"ever_overdue", &f.EverOverdue}, {"overdue", &f.EverOverdue}} {
		if c.Query(o.name) == "" {
			continue
		}
		if *o.dst != nil {
			p.fail(o.name, "overdue is the older name of ever_overdue: give one of them")
			continue
		}
		b := p.bool(o.name)
		*o.dst = &b
	}
	f.From, f.To, f.Sort, f.Page = p.time("from"), p.time("to"), c.Query("sort"), p.page(DefaultLimit, MaxLimit)
	xlsxWanted := formatParam(&p, "json", "xlsx") == "xlsx"
	if p.err != nil {
		s.fail(c, p.err)
		return
	}
	if xlsxWanted { // format=xlsx: every whistle of the filters, api/export.go
		s.exportWhistles(c, f)
		return
	}
	l, err := s.whistles.List(c.Request.Context(), scope(c), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, pageAnswer(c, gin.H{"whistles": l.Whistles}, l.Next, &l.Total))
}

// getWhistle: GET /api/v1/whistles/{id} -> the whistle with deadlines, summons, clues and trail.
func (s *Server) getWhistle(c *gin.Context) {
	id, err := idParam(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	d, err := s.whistles.Get(c.Request.Context(), scope(c), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

// whistleStep: POST /api/v1/whistles/{id}/{step} with step one of report-in, resolve,
// close, return, rate, escalate, consult, rule, contest, supervise, callback ({"result","note"}: the command
// center's 回访) or reopen ({"reason"}: after an unsatisfied callback) and its JSON body -> 200 the whistle.
func (s *Server) whistleStep(c *gin.Context) {
	id, err := idParam(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	step := whistle.Step(strings.ReplaceAll(c.Param("step"), "-", "_"))
	known := false
	for _, s := range whistle.Steps() {
		known = known || s == step
	}
	if !known {
		s.fail(c, fault.New(fault.NotFound, "no step "+c.Param("step")+": use report-in, resolve, close, return, rate, escalate, consult, rule, contest, supervise, callback or reopen"))
		return
	}
	var in whistle.StepInput
	if err := bindJSON(c, &in, objectShape); err != nil {
		s.fail(c, err)
		return
	}
	d, err := s.whistles.Act(c.Request.Context(), scope(c), id, step, in)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

// whistleActions: GET /api/v1/whistles/{id}/actions -> {"actions":[{"step","units"?,"grades"?}]}:
// the steps the caller may take now (whistle.Actions), 404 outside the jurisdiction.
func (s *Server) whistleActions(c *gin.Context) {
	id, err := idParam(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	acts, err := s.whistles.Actions(c.Request.Context(), scope(c), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"actions": acts})
}

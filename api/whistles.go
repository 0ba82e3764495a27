package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"whistlegrid/geo"
	"whistlegrid/whistle"
)

// bindJSON decodes a JSON body strictly (unknown fields refused) into v,
// answering 400 with the reason when it is not.
func bindJSON(c *gin.Context, v any) bool {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 1<<20)
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		abort(c, http.StatusBadRequest, "bad_request", "the body must be a JSON object of the documented fields: "+err.Error())
		return false
	}
	return true
}

// failWhistle maps whistle errors to statuses, naming the field on a 422.
func (s *Server) failWhistle(c *gin.Context, err error) {
	var fe *whistle.FieldError
	switch {
	case errors.As(err, &fe):
		c.AbortWithStatusJSON(http.StatusUnprocessableEntity, errorBody{Error: errorDetail{Code: "invalid", Message: fe.Reason, Field: fe.Field}})
	case errors.Is(err, whistle.ErrNotFound):
		abort(c, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, whistle.ErrForbidden):
		abort(c, http.StatusForbidden, "forbidden", err.Error())
	case errors.Is(err, whistle.ErrConflict):
		abort(c, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, whistle.ErrInvalid):
		abort(c, http.StatusUnprocessableEntity, "invalid", err.Error())
	default:
		s.fail(c, err)
	}
}

// needWhistles answers 503 while the server has no placement index (and so
// no whistle store).
func (s *Server) needWhistles(c *gin.Context) {
	if s.whistles == nil {
		abort(c, http.StatusServiceUnavailable, "unavailable", "the placement index is not loaded")
		return
	}
	c.Next()
}

// postClue: POST /api/v1/clues {"source","external_id","category","text","lon","lat","datum","reported_at","reporter"?}
// -> 201 {"clue","whistle"|null}; the same (source, external_id) again -> 200 with the stored clue, nothing changed.
func (s *Server) postClue(c *gin.Context) {
	var in whistle.ClueInput
	if !bindJSON(c, &in) {
		return
	}
	res, err := s.whistles.Intake(c.Request.Context(), scope(c), in)
	if err != nil {
		s.failWhistle(c, err)
		return
	}
	status := http.StatusCreated
	if res.Existing {
		status = http.StatusOK
	}
	c.JSON(status, res)
}

// timeParam reads an optional RFC 3339 (or YYYY-MM-DD, Beijing time) query parameter.
func timeParam(c *gin.Context, name string) (time.Time, bool) {
	v := c.Query(name)
	if v == "" {
		return time.Time{}, true
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true
	}
	if t, err := time.ParseInLocation("2006-01-02", v, geo.Beijing); err == nil {
		return t, true
	}
	abortField(c, name, name+" must be an RFC 3339 time or a date YYYY-MM-DD")
	return time.Time{}, false
}

func intParam(c *gin.Context, name string) (int, bool) {
	v := c.Query(name)
	if v == "" {
		return 0, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		abortField(c, name, name+" must be a whole number ≥ 0")
		return 0, false
	}
	return n, true
}

// clues: GET /api/v1/clues?township=&source=&category=&from=&to=&whistle=&limit=&offset=
// -> {"clues":[...],"total"} in the caller's jurisdiction, newest first.
func (s *Server) clues(c *gin.Context) {
	f := whistle.ClueFilter{Township: c.Query("township"), Source: c.Query("source"), Category: c.Query("category")}
	var ok bool
	if f.From, ok = timeParam(c, "from"); !ok {
		return
	}
	if f.To, ok = timeParam(c, "to"); !ok {
		return
	}
	w, ok := intParam(c, "whistle")
	if !ok {
		return
	}
	f.WhistleID = int64(w)
	if f.Limit, ok = intParam(c, "limit"); !ok {
		return
	}
	if f.Offset, ok = intParam(c, "offset"); !ok {
		return
	}
	out, total, err := s.whistles.Clues(c.Request.Context(), scope(c), f)
	if err != nil {
		s.failWhistle(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"clues": out, "total": total})
}

// raiseWhistle: POST /api/v1/whistles {"clue_ids":[...],"grade","note"} -> 201 the whistle.
func (s *Server) raiseWhistle(c *gin.Context) {
	var in whistle.RaiseInput
	if !bindJSON(c, &in) {
		return
	}
	if scope(c).ReadOnly() {
		abort(c, http.StatusForbidden, "forbidden", "the wall screen is read-only")
		return
	}
	d, err := s.whistles.Raise(c.Request.Context(), scope(c), in)
	if err != nil {
		s.failWhistle(c, err)
		return
	}
	c.JSON(http.StatusCreated, d)
}

// listWhistles: GET /api/v1/whistles?township=&unit=&status=&grade=&category=&overdue_now=&ever_overdue=&from=&to=&limit=&offset=
// -> {"whistles":[...],"total"} in the caller's jurisdiction, newest first.
// overdue_now=true|false selects the whistles open and overdue now (超期中),
// ever_overdue=true|false those ever overdue (曾超期), whatever their status:
// whistle.Summary and migrations/00005_whistle_summaries.sql define both.
// overdue= is the older name of ever_overdue; giving both is 422.
func (s *Server) listWhistles(c *gin.Context) {
	f := whistle.Filter{Township: c.Query("township"), Unit: c.Query("unit"), Status: c.Query("status"), Grade: c.Query("grade"), Category: c.Query("category")}
	for _, p := range []struct {
		name string
		dst  **bool
	}{{"overdue_now", &f.OverdueNow}, {"ever_overdue", &f.EverOverdue}, {"overdue", &f.EverOverdue}} {
		v := c.Query(p.name)
		if v == "" {
			continue
		}
		if *p.dst != nil {
			abortField(c, p.name, "overdue is the older name of ever_overdue: give one of them")
			return
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			abortField(c, p.name, p.name+" must be true or false")
			return
		}
		*p.dst = &b
	}
	var ok bool
	if f.From, ok = timeParam(c, "from"); !ok {
		return
	}
	if f.To, ok = timeParam(c, "to"); !ok {
		return
	}
	if f.Limit, ok = intParam(c, "limit"); !ok {
		return
	}
	if f.Offset, ok = intParam(c, "offset"); !ok {
		return
	}
	out, total, err := s.whistles.List(c.Request.Context(), scope(c), f)
	if err != nil {
		s.failWhistle(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"whistles": out, "total": total})
}

func idParam(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		abort(c, http.StatusNotFound, "not_found", "no whistle "+c.Param("id"))
		return 0, false
	}
	return id, true
}

// getWhistle: GET /api/v1/whistles/{id} -> the whistle with deadlines, summons, clues and trail.
func (s *Server) getWhistle(c *gin.Context) {
	id, ok := idParam(c)
	if !ok {
		return
	}
	d, err := s.whistles.Get(c.Request.Context(), scope(c), id)
	if err != nil {
		s.failWhistle(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

// whistleStep: POST /api/v1/whistles/{id}/{step} with step one of report-in, resolve,
// close, return, rate, escalate, consult, rule, contest and its JSON body -> 200 the whistle.
func (s *Server) whistleStep(c *gin.Context) {
	id, ok := idParam(c)
	if !ok {
		return
	}
	step := whistle.Step(strings.ReplaceAll(c.Param("step"), "-", "_"))
	known := false
	for _, s := range whistle.Steps() {
		known = known || s == step
	}
	if !known {
		abort(c, http.StatusNotFound, "not_found", "no step "+c.Param("step")+": use report-in, resolve, close, return, rate, escalate, consult, rule or contest")
		return
	}
	var in whistle.StepInput
	if !bindJSON(c, &in) {
		return
	}
	d, err := s.whistles.Act(c.Request.Context(), scope(c), id, step, in)
	if err != nil {
		s.failWhistle(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

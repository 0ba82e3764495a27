package api

import (
	"mime"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"whistlegrid/fault"
	"whistlegrid/ledger"
)

// ledgerID reads the path's ledger item id; one that is not a positive
// number names no item.
func ledgerID(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fault.New(fault.NotFound, "no ledger item "+c.Param("id"))
	}
	return id, nil
}

// ledgerList: GET /api/v1/ledger?status=&level=&source=&township=&overdue=&q=&limit=&offset=
// -> {"items":[...],"total"} in the caller's jurisdiction, newest first.
func (s *Server) ledgerList(c *gin.Context) {
	p := params{c: c}
	f := ledger.Filter{Status: c.Query("status"), Level: c.Query("level"), Source: c.Query("source"), Township: c.Query("township"),
		Overdue: p.bool("overdue"), Query: c.Query("q"), Limit: p.int("limit"), Offset: p.int("offset")}
	if p.err != nil {
		s.fail(c, p.err)
		return
	}
	items, total, err := s.ledger.List(c.Request.Context(), scope(c), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "total": total})
}

// ledgerCreate: POST /api/v1/ledger {"title","problem"?,"grid","source","responsible_township"|"responsible_unit",
// "supervising_unit"?,"measures":[{"text","due"}],"whistle_id"?,"hotspot_cell"?} -> 201 the item (level township, status open).
func (s *Server) ledgerCreate(c *gin.Context) {
	var in ledger.CreateInput
	if err := bindJSON(c, &in, objectShape); err != nil {
		s.fail(c, err)
		return
	}
	d, err := s.ledger.Create(c.Request.Context(), scope(c), in)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, d)
}

// ledgerGet: GET /api/v1/ledger/{id} -> the item with its measures, trail and notices.
func (s *Server) ledgerGet(c *gin.Context) {
	id, err := ledgerID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	d, err := s.ledger.Get(c.Request.Context(), scope(c), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

// ledgerPatch: PATCH /api/v1/ledger/{id} {"title"?,"problem"?,"supervising_unit"?,"add_measures"?,"done"?:[n]} -> the item.
func (s *Server) ledgerPatch(c *gin.Context) {
	var in ledger.PatchInput
	s.ledgerChange(c, &in, func(id int64) (ledger.Detail, error) {
		return s.ledger.Patch(c.Request.Context(), scope(c), id, in)
	}, http.StatusOK)
}

// ledgerProgress: POST /api/v1/ledger/{id}/progress {"note","attachments"?} -> 201 the item.
func (s *Server) ledgerProgress(c *gin.Context) {
	var in ledger.NoteInput
	s.ledgerChange(c, &in, func(id int64) (ledger.Detail, error) {
		return s.ledger.Progress(c.Request.Context(), scope(c), id, in)
	}, http.StatusCreated)
}

// ledgerWriteoff: POST /api/v1/ledger/{id}/writeoff {"note","attachments"?} -> the item, status writeoff_requested.
func (s *Server) ledgerWriteoff(c *gin.Context) {
	var in ledger.NoteInput
	s.ledgerChange(c, &in, func(id int64) (ledger.Detail, error) {
		return s.ledger.Writeoff(c.Request.Context(), scope(c), id, in)
	}, http.StatusOK)
}

// ledgerDecide: POST /api/v1/ledger/{id}/review {"decision":"approve|reject","reason"} -> the item, closed or open.
func (s *Server) ledgerDecide(c *gin.Context) {
	var in ledger.ReviewInput
	s.ledgerChange(c, &in, func(id int64) (ledger.Detail, error) {
		return s.ledger.Decide(c.Request.Context(), scope(c), id, in)
	}, http.StatusOK)
}

func (s *Server) ledgerChange(c *gin.Context, in any, do func(id int64) (ledger.Detail, error), status int) {
	id, err := ledgerID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := bindJSON(c, in, objectShape); err != nil {
		s.fail(c, err)
		return
	}
	d, err := do(id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(status, d)
}

// xlsxType is the media type of a spreadsheet.
const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// ledgerReview: GET /api/v1/ledger/review?period=2026-11|2026-Q4[&format=xlsx]
// -> {"period","title","from","to","counts":{"due","closed","overdue","rejected"},"items":[...]},
// or the same as a spreadsheet (format=xlsx) named 整改台账审核_<period>.xlsx.
func (s *Server) ledgerReview(c *gin.Context) {
	p, err := ledger.ParsePeriod(c.Query("period"))
	if err != nil {
		s.fail(c, err)
		return
	}
	format := c.Query("format")
	if format != "" && format != "json" && format != "xlsx" {
		s.fail(c, invalidParam("format", "format must be json or xlsx"))
		return
	}
	r, err := s.ledger.Review(c.Request.Context(), scope(c), p)
	if err != nil {
		s.fail(c, err)
		return
	}
	if format != "xlsx" {
		c.JSON(http.StatusOK, r)
		return
	}
	b, err := r.XLSX()
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": r.Filename()}))
	c.Data(http.StatusOK, xlsxType, b)
}

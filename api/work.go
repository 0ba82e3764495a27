package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"whistlegrid/whistle"
)

// workQueue: GET /api/v1/work/{tab}?township=&unit=&grade=&status=&category=&from=&to=&sort=deadline|newest&after=&limit=
// -> {"tab","sort","whistles"|"clues","next"}: one keyset page of the
// caller's queue (whistle.Tabs names each role's tabs; another tab is 404),
// paged as every list is (page.go: after=, next, Link rel=next, limit at
// most MaxLimit, offset refused).
func (s *Server) workQueue(c *gin.Context) {
	p := params{c: c}
	f := whistle.QueueFilter{Township: c.Query("township"), Unit: c.Query("unit"), Grade: c.Query("grade"), Status: c.Query("status"),
		Category: c.Query("category"), Sort: whistle.Sort(c.Query("sort"))}
	f.From, f.To, f.Page = p.time("from"), p.time("to"), p.page(whistle.DefaultQueuePage, MaxLimit)
	if p.err != nil {
		s.fail(c, p.err)
		return
	}
	page, err := s.whistles.Queue(c.Request.Context(), scope(c), whistle.Tab(c.Param("tab")), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	h := gin.H{"tab": page.Tab, "sort": page.Sort}
	if page.Clues != nil {
		h["clues"] = page.Clues
	} else {
		h["whistles"] = page.Whistles
	}
	c.JSON(http.StatusOK, pageAnswer(c, h, page.Next, nil))
}

// workCounts: GET /api/v1/work/counts -> {"tabs":[...],"counts":{"<tab>":n,...}}: the caller's
// tabs in order and the size of each (no filters); 404 for a role without a workbench.
func (s *Server) workCounts(c *gin.Context) {
	sc := scope(c)
	counts, err := s.whistles.QueueCounts(c.Request.Context(), sc)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"tabs": whistle.Tabs(sc.Role), "counts": counts})
}

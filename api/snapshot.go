package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"whistlegrid/access"
	"whistlegrid/live"
)

// townshipInScope reports whether a caller may ask for a township: its
// jurisdiction covers it, or the caller's own grid lies in it (a grid
// worker's or party member's township).
func townshipInScope(sc access.Scope, code string) bool {
	return sc.Covers(code) || strings.HasPrefix(sc.GridCode, code)
}

// snapshot: GET /api/v1/snapshot[?township=CODE]
// -> {"seq","at","township","whistles":[{"id","lon","lat","grade","status","overdue_now","ever_overdue","overdue","category",...}],
// "counts":{"open","overdue_now","overdue","by_status","by_grade"},"today":{"clues_received","whistles_raised","whistles_closed"},
// "rates":{"window_days":30,"report_in","resolution","satisfaction"}} — the wall map's
// starting state, true at seq; then open GET /api/v1/live?since=seq. Scoped
// like the stream; a township outside the caller's jurisdiction, or no
// such township, is 404 (see live.Snapshot and live.Rates for the rules).
func (s *Server) snapshot(c *gin.Context) {
	township := c.Query("township")
	if township != "" {
		if _, err := live.ParseTownships(township); err != nil || strings.Contains(township, ",") {
			s.fail(c, invalidParam("township", "township must be one 9-digit township code"))
			return
		}
	}
	snap, err := s.live.Snapshot(c.Request.Context(), scope(c), township)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, snap)
}

package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"whistlegrid/access"
	"whistlegrid/fault"
	"whistlegrid/grid"
)

// maxEditBody is the largest PUT /api/v1/grids/{code} body, in bytes.
const maxEditBody = 16 << 20

// coverage: GET /api/v1/coverage[?parent=CODE] -> grid.Coverage: gaps,
// overlaps, children outside the parent, unstaffed grids, households
// outside their grid or without a party member, and the party-member load,
// each as a list and as a GeoJSON layer under "layers". The parent
// defaults to the caller's own grid; outside the caller's jurisdiction
// it is 404.
func (s *Server) coverage(c *gin.Context) {
	parent := c.Query("parent")
	if parent == "" && scope(c).GridCode == "" {
		s.fail(c, invalidParam("parent", "parent is required: the grid code whose children to review"))
		return
	}
	cv, err := s.grid.Coverage(c.Request.Context(), scope(c), parent)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, cv)
}

// editRequest is the body of PUT /api/v1/grids/{code}.
type editRequest struct {
	Geometry json.RawMessage `json:"geometry"`
	Note     string          `json:"note"`
}

// editAnswer is grid.Edited with whether the placement index was rebuilt.
type editAnswer struct {
	*grid.Edited
	PlacementRefreshed bool `json:"placement_refreshed"`
}

// editGrid: PUT /api/v1/grids/{code} {"geometry":{GeoJSON Polygon|MultiPolygon, WGS-84},"note":"..."}
// -> 200 {"code","level","valid_from","area_m2","geometry","warnings":[...],"placement_refreshed"};
// command center only (403 otherwise); 400 for a body that is not JSON,
// 404 for an unknown grid, 422 with the rule and reason for an outline
// that is refused. A refused edit changes nothing.
func (s *Server) editGrid(c *gin.Context) {
	sc := scope(c)
	if sc.Role != access.RoleCommand {
		s.fail(c, fault.New(fault.Forbidden, "only the command center edits grid outlines"))
		return
	}
	var req editRequest
	if err := bindJSON(c, &req, `JSON {"geometry":{GeoJSON Polygon or MultiPolygon},"note":"..."}`); err != nil {
		s.fail(c, err)
		return
	}
	outline, err := grid.ParseOutline(req.Geometry)
	if err == nil {
		var ed *grid.Edited
		ed, err = s.grid.Edit(c.Request.Context(), sc, c.Param("code"), outline, req.Note)
		if err == nil {
			c.JSON(http.StatusOK, editAnswer{Edited: ed, PlacementRefreshed: s.refreshPlacer(c.Request.Context())})
			return
		}
	}
	s.fail(c, err)
}

// refreshPlacer rebuilds the placement index after an edit, even when the
// client has gone: the edit is committed either way.
func (s *Server) refreshPlacer(ctx context.Context) bool {
	if s.placer == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := s.placer.Refresh(ctx); err != nil {
		s.log.ErrorContext(ctx, "placement refresh after grid edit", slog.Any("err", err))
		return false
	}
	return true
}

// gridHistory: GET /api/v1/grids/{code}/history -> {"code","name","level",
// "versions":[{"valid_from","valid_to","area_m2","changed_by","geometry"}]},
// newest first; outside the caller's jurisdiction 404.
func (s *Server) gridHistory(c *gin.Context) {
	h, err := s.grid.History(c.Request.Context(), scope(c), c.Param("code"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, h)
}

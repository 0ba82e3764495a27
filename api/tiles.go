package api

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"whistlegrid/fault"
	"whistlegrid/live"
)

// tileToken authenticates a tile request. Map libraries fetch tiles
// without headers unless told: MapLibre's transformRequest can add
// `Authorization: Bearer <token>`; otherwise append `?token=<token>` to
// the tile URL template. Either is accepted; without one it answers 401.
func (s *Server) tileToken(c *gin.Context) { s.queryToken(c, "tiles") }

// queryToken authenticates a request whose token may come as
// Authorization: Bearer or as ?token= (a map's tile requests, an <img>'s
// attachment request cannot set a header); what names the routes in the
// refusal.
func (s *Server) queryToken(c *gin.Context, what string) {
	tok := bearer(c.Request)
	if tok == "" {
		tok = c.Query("token")
	}
	if tok == "" {
		s.fail(c, fault.New(fault.Unauthorized, what+" need Authorization: Bearer <token> or ?token=<token>"))
		return
	}
	_, sc, err := s.auth.Authenticate(c.Request.Context(), tok)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Set(scopeKey, sc)
}

// tile: GET /tiles/{layer}/{z}/{x}/{y}.mvt (Bearer or ?token=)
// layer: township, zone, village, household (grids: code, name, level),
// whistles (open whistles: id, grade, status, overdue_now, overdue), clues (last 30
// days: id, source, category)
// -> a Mapbox Vector Tile (one layer named after the layer), in the caller's
// jurisdiction; 204 when empty. Cache-Control private, max-age 3600 for
// grids and 5 for whistles and clues; an ETag, answered 304 on If-None-Match.
// An unknown layer is 404, a bad z/x/y 400.
func (s *Server) tile(c *gin.Context) {
	l, ok := live.TileLayer(c.Param("layer"))
	if !ok {
		s.fail(c, fault.New(fault.NotFound, "no tile layer "+strconv.Quote(c.Param("layer"))+"; layers: "+strings.Join(live.LayerNames(), ", ")))
		return
	}
	ys, found := strings.CutSuffix(c.Param("y"), ".mvt")
	if !found {
		s.fail(c, fault.New(fault.BadRequest, "a tile path ends in {z}/{x}/{y}.mvt"))
		return
	}
	var zxy [3]int
	for i, v := range []string{c.Param("z"), c.Param("x"), ys} {
		n, err := strconv.Atoi(v)
		if err != nil {
			s.fail(c, fault.New(fault.BadRequest, "z, x and y must be whole numbers, got "+strconv.Quote(v)))
			return
		}
		zxy[i] = n
	}
	z, x, y := zxy[0], zxy[1], zxy[2]
	if z < 0 || z > live.MaxZoom {
		s.fail(c, fault.New(fault.BadRequest, "z must be from 0 to "+strconv.Itoa(live.MaxZoom)))
		return
	}
	if x < 0 || y < 0 || x >= 1<<z || y >= 1<<z {
		s.fail(c, fault.New(fault.BadRequest, "x and y must be from 0 to 2^z-1 ("+strconv.Itoa(1<<z-1)+" at z="+strconv.Itoa(z)+")"))
		return
	}
	b, err := s.live.Tile(c.Request.Context(), scope(c), l, z, x, y)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Cache-Control", "private, max-age="+strconv.Itoa(int(l.MaxAge.Seconds())))
	c.Header("Vary", "Authorization")
	if len(b) == 0 {
		c.Status(http.StatusNoContent)
		return
	}
	sum := sha256.Sum256(b)
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	c.Header("ETag", etag)
	if match := c.GetHeader("If-None-Match"); match != "" && strings.Contains(match, etag) {
		c.Status(http.StatusNotModified)
		return
	}
	c.Data(http.StatusOK, "application/vnd.mapbox-vector-tile", b)
}

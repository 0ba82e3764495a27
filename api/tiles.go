package api

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"net/http"
	"net/url"
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

// tileJSONVersion is the TileJSON spec the layer documents follow.
const tileJSONVersion = "3.0.0"

// tileJSON is a TileJSON 3.0.0 document of one layer.
type tileJSON struct {
	TileJSON     string         `json:"tilejson"`
	Name         string         `json:"name"`
	Description  string         `json:"description"`
	Scheme       string         `json:"scheme"`
	Tiles        []string       `json:"tiles"`
	MinZoom      int            `json:"minzoom"`
	MaxZoom      int            `json:"maxzoom"`
	Bounds       *[4]float64    `json:"bounds,omitempty"`
	Center       *[3]float64    `json:"center,omitempty"`
	VectorLayers []vectorLayer  `json:"vector_layers"`
	Cluster      *tileJSONClust `json:"x-whistlegrid-cluster,omitempty"`
}

// vectorLayer is one entry of TileJSON's vector_layers.
type vectorLayer struct {
	ID          string            `json:"id"`
	Description string            `json:"description"`
	Fields      map[string]string `json:"fields"`
	MinZoom     int               `json:"minzoom"`
	MaxZoom     int               `json:"maxzoom"`
}

// tileJSONClust says, machine-readably, how a layer is clustered below
// a zoom (live.Layer.ClusterBelow).
type tileJSONClust struct {
	BelowZoom     int    `json:"below_zoom"`
	Method        string `json:"method"`
	CellsPerSide  int    `json:"cells_per_side"`
	CountProperty string `json:"count_property"`
}

// tileBase is the tiles' base URL as the client reached the server (the
// scheme from X-Forwarded-Proto behind a TLS proxy, as Open311's).
func tileBase(r *http.Request) string {
	return strings.TrimSuffix(endpointURL(r), open311Prefix) + "/tiles"
}

// tileCatalog: GET /tiles -> {"tilejson":"3.0.0","layers":[{"id",
// "description","tilejson":URL,"tiles":[template]}]}: the layers, in the
// order the map draws them, as martin's and pg_tileserv's catalogs list
// theirs. Public: it names layers, no data.
func (s *Server) tileCatalog(c *gin.Context) {
	type entry struct {
		ID          string   `json:"id"`
		Description string   `json:"description"`
		TileJSON    string   `json:"tilejson"`
		Tiles       []string `json:"tiles"`
	}
	base := tileBase(c.Request)
	out := []entry{}
	for _, name := range live.LayerNames() {
		l, _ := live.TileLayer(name)
		out = append(out, entry{ID: name, Description: l.Description, TileJSON: base + "/" + name + ".json",
			Tiles: []string{base + "/" + name + "/{z}/{x}/{y}.mvt"}})
	}
	c.Header("Cache-Control", "public, max-age=300")
	c.JSON(http.StatusOK, gin.H{"tilejson": tileJSONVersion, "layers": out})
}

// tileLayerJSON: GET /tiles/{layer}.json[?token=] -> the layer's TileJSON
// 3.0.0: the tile URL template, zooms 0–live.MaxZoom, the district's
// bounds, the features' fields, and for the clues how they are clustered
// below zoom 13 (also as x-whistlegrid-cluster). Public (the tiles
// themselves need a token); with ?token= the template carries it, so a map
// can use the document as its source's url. An unknown layer, or a name
// without .json, is 404.
func (s *Server) tileLayerJSON(c *gin.Context) {
	name, ok := strings.CutSuffix(c.Param("layer"), ".json")
	l, known := live.TileLayer(name)
	if !ok || !known {
		s.fail(c, fault.New(fault.NotFound, "no such tile document "+strconv.Quote(c.Param("layer"))+"; documents: "+
			strings.Join(live.LayerNames(), ".json, ")+".json, and the catalog at /tiles"))
		return
	}
	tmpl := tileBase(c.Request) + "/" + name + "/{z}/{x}/{y}.mvt"
	if tok := c.Query("token"); tok != "" {
		tmpl += "?token=" + url.QueryEscape(tok)
		c.Header("Cache-Control", "private, no-store")
	} else {
		c.Header("Cache-Control", "public, max-age=300")
	}
	doc := tileJSON{
		TileJSON: tileJSONVersion, Name: "whistlegrid " + name, Description: l.Description, Scheme: "xyz",
		Tiles: []string{tmpl}, MinZoom: 0, MaxZoom: live.MaxZoom,
		VectorLayers: []vectorLayer{{ID: name, Description: l.Description, Fields: l.Fields, MinZoom: 0, MaxZoom: live.MaxZoom}},
	}
	if l.ClusterBelow > 0 {
		doc.Cluster = &tileJSONClust{BelowZoom: l.ClusterBelow, Method: "grid", CellsPerSide: live.ClusterCells, CountProperty: "point_count"}
	}
	if s.live != nil {
		b, ok, err := s.live.TileBounds(c.Request.Context())
		if err != nil {
			s.fail(c, err)
			return
		}
		if ok {
			doc.Bounds = &[4]float64{round6(b[0]), round6(b[1]), round6(b[2]), round6(b[3])}
			doc.Center = &[3]float64{round6((b[0] + b[2]) / 2), round6((b[1] + b[3]) / 2), 10}
		}
	}
	c.JSON(http.StatusOK, doc)
}

// round6 rounds a coordinate to 6 decimals (about 0.1 m), RFC 7946's
// advice and what every answer sends.
func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

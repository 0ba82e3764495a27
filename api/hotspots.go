package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"whistlegrid/access"
	"whistlegrid/fault"
	"whistlegrid/hotspot"
)

// hotspotScope returns the townships the caller's analysis covers (nil:
// the district); the roles that see too little of the map for an
// analysis to mean anything are refused.
func hotspotScope(sc access.Scope) ([]string, error) {
	switch sc.Role {
	case access.RoleCommand, access.RoleScreen, access.RoleTownship, access.RoleUnit:
	default:
		return nil, fault.New(fault.Forbidden, "the hotspot analysis is for the command center, the townships and the units")
	}
	p := sc.Prefixes()
	if p == nil {
		return nil, nil
	}
	towns := make([]string, len(p))
	for i, q := range p {
		towns[i] = strings.TrimSuffix(q, "%")
	}
	return towns, nil
}

// hotspotQuery reads GET /api/v1/hotspots's parameters; hotspot.Store.Map
// fills the defaults and checks the values.
func hotspotQuery(c *gin.Context) (hotspot.MapQuery, error) {
	sc := scope(c)
	towns, err := hotspotScope(sc)
	if err != nil {
		return hotspot.MapQuery{}, err
	}
	if t := c.Query("township"); t != "" {
		if !sc.Covers(t) {
			return hotspot.MapQuery{}, fault.New(fault.NotFound, "no township "+t+" in your jurisdiction")
		}
		towns = []string{t}
	}
	p := params{c: c}
	q := hotspot.MapQuery{
		Query: hotspot.Query{
			Townships: towns, Category: c.Query("category"), Sources: p.list("source"),
			Days: p.int("days"), Resolution: p.int("res"), K: p.int("k"), Alpha: p.float("alpha"),
			From: p.time("from"), To: p.time("to"),
		},
		Weeks: p.int("weeks"), All: p.bool("all"),
		Bounds: hotspot.BoundsFor(sc.Role), Jurisdiction: sc.Prefixes(),
	}
	for _, name := range p.list("class") {
		q.Classes = append(q.Classes, hotspot.Class(name))
	}
	return q, p.err
}

// hotspots: GET /api/v1/hotspots?category=&source=&township=&from=&to=&weeks=&days=&res=&k=&alpha=&class=&all=
// -> hotspot.Map: a GeoJSON FeatureCollection of H3 hexagons with
// properties cell (hex H3 index), z (Gi* over the whole window), p (its
// one-sided p-value), class (the emerging hot spot class: new_hot_spot,
// consecutive_hot_spot, intensifying_hot_spot, persistent_hot_spot,
// diminishing_hot_spot, sporadic_hot_spot, oscillating_hot_spot,
// historical_hot_spot, their cold counterparts, or none), count (clues in
// the cell), significance (hot|cold|none over the whole window), trend_z,
// trend_p and weeks_hot; beside the features: the window with its slices,
// the settings and the cells per class.
//
// The window is [from, to): to defaults to now, from to `weeks` (default
// 12) slices of `days` (default 7) before to. Clues are those of the
// caller's jurisdiction, of the category's subtree, of the sources given
// (comma-separated; default every source but hotspot, so hot spots do not
// feed on their own reports). The study area is every H3 cell of the
// township (or of the caller's townships, or of the district). By default
// the features are the cells with a class or significant over the window;
// class=a,b keeps those classes; all=true adds every cell with clues.
// Command center, wall screen, townships and units only (403 otherwise);
// 404 for a township outside the caller's jurisdiction or an unknown
// category; 422 naming the parameter for anything malformed, and for a
// res or k outside the caller's role's range (hotspot.BoundsFor). The work
// is bounded (hotspot.Store.Map): an identical query in the same
// jurisdiction shares one analysis, running or finished within 30 s
// (shared true); beyond hotspot.DefaultMaxAnalyses at once, 429 with
// Retry-After; a request that goes away stops its analysis.
func (s *Server) hotspots(c *gin.Context) {
	q, err := hotspotQuery(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	m, err := s.hotspot.Map(c.Request.Context(), q)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Content-Type", geoJSONType)
	c.JSON(http.StatusOK, m)
}

// hotspotScan: POST /api/v1/hotspots/scan -> 200 hotspot.ScanResult: runs
// the scheduled scan now (the same one `serve` runs every
// --hotspot-every): every new or intensifying hot spot of the last twelve
// whole weeks becomes a clue of source hotspot, once per place, category
// and week; findings already filed come back with filed false. Command
// center only.
func (s *Server) hotspotScan(c *gin.Context) {
	if scope(c).Role != access.RoleCommand {
		s.fail(c, fault.New(fault.Forbidden, "only the command center runs the hotspot scan"))
		return
	}
	r, err := s.hotspot.Scan(c.Request.Context(), s.whistles, time.Now(), hotspot.ScanOptions{})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

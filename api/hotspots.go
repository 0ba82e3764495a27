package api

import (
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"whistlegrid/access"
	"whistlegrid/hotspot"
)

// defaultHotspotWeeks is the window of GET /api/v1/hotspots when from is
// not given: twelve weeks up to to.
const defaultHotspotWeeks = 12

// hotspotRoutes registers the 未诉先办 analysis.
func (s *Server) hotspotRoutes(authed *gin.RouterGroup) {
	authed.GET("/hotspots", s.hotspots)
	authed.POST("/hotspots/scan", s.needWhistles, s.hotspotScan)
}

// hotspotScope returns the townships the caller's analysis covers (nil:
// the district), or answers 403 for the roles that see too little of the
// map for an analysis to mean anything.
func hotspotScope(c *gin.Context) ([]string, bool) {
	sc := scope(c)
	switch sc.Role {
	case access.RoleCommand, access.RoleScreen, access.RoleTownship, access.RoleUnit:
	default:
		abort(c, http.StatusForbidden, "forbidden", "the hotspot analysis is for the command center, the townships and the units")
		return nil, false
	}
	p := sc.Prefixes()
	if p == nil {
		return nil, true
	}
	towns := make([]string, len(p))
	for i, q := range p {
		towns[i] = strings.TrimSuffix(q, "%")
	}
	return towns, true
}

// hotspotAnswer is GeoJSON with the analysis beside the features (foreign
// members, RFC 7946 §6.1).
type hotspotAnswer struct {
	Type       string                  `json:"type"`
	Features   []*geojson.Feature      `json:"features"`
	Window     hotspotWindow           `json:"window"`
	Townships  []string                `json:"townships"` // empty: the whole district
	Category   string                  `json:"category,omitempty"`
	Sources    []string                `json:"sources"`
	Resolution int                     `json:"resolution"`
	K          int                     `json:"k"`
	Alpha      float64                 `json:"alpha"`
	TrendAlpha float64                 `json:"trend_alpha"`
	PMethod    hotspot.PMethod         `json:"p_method"`
	Cells      int                     `json:"cells"` // cells in the study area
	Clues      int                     `json:"clues"`
	Patterns   map[hotspot.Pattern]int `json:"patterns"`
	Hot        int                     `json:"hot"`  // cells hot over the whole window
	Cold       int                     `json:"cold"` // cells cold over the whole window
	Took       float64                 `json:"took_ms"`
	Classes    []hotspot.Pattern       `json:"classes,omitempty"` // the class filter, when given
}

type hotspotWindow struct {
	From   time.Time       `json:"from"`
	To     time.Time       `json:"to"`
	Days   int             `json:"days"`
	Slices []hotspot.Slice `json:"slices"`
}

// hotspots: GET /api/v1/hotspots?category=&source=&township=&from=&to=&weeks=&days=&res=&k=&alpha=&class=&all=
// -> a GeoJSON FeatureCollection of H3 hexagons with properties cell (hex
// H3 index), z (Gi* over the whole window), p (its one-sided p-value),
// class (the emerging hot spot class: new_hot_spot, consecutive_hot_spot,
// intensifying_hot_spot, persistent_hot_spot, diminishing_hot_spot,
// sporadic_hot_spot, oscillating_hot_spot, historical_hot_spot, their
// cold counterparts, or none), count (clues in the cell), significance
// (hot|cold|none over the whole window), trend_z, trend_p and weeks_hot;
// beside the features: the window with its slices, the settings and the
// counts per class.
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
// category; 422 naming the parameter for anything malformed.
func (s *Server) hotspots(c *gin.Context) {
	began := time.Now()
	towns, ok := hotspotScope(c)
	if !ok {
		return
	}
	q := hotspot.Query{Category: c.Query("category")}
	if t := c.Query("township"); t != "" {
		if !scope(c).Covers(t) {
			abort(c, http.StatusNotFound, "not_found", "no township "+t+" in your jurisdiction")
			return
		}
		towns = []string{t}
	}
	q.Townships = towns
	if v := c.Query("source"); v != "" {
		q.Sources = strings.Split(v, ",")
	}
	if q.Days, ok = intParam(c, "days"); !ok {
		return
	}
	if q.Resolution, ok = intParam(c, "res"); !ok {
		return
	}
	if q.K, ok = intParam(c, "k"); !ok {
		return
	}
	weeks, ok := intParam(c, "weeks")
	if !ok {
		return
	}
	if v := c.Query("alpha"); v != "" {
		a, err := strconv.ParseFloat(v, 64)
		if err != nil || !(a > 0 && a < 1) {
			abortField(c, "alpha", "alpha must be a number between 0 and 1")
			return
		}
		q.Alpha = a
	}
	if q.From, ok = timeParam(c, "from"); !ok {
		return
	}
	if q.To, ok = timeParam(c, "to"); !ok {
		return
	}
	if q.To.IsZero() {
		q.To = time.Now()
	}
	days := q.Days
	if days == 0 {
		days = hotspot.DefaultSliceDays
	}
	switch {
	case !q.From.IsZero() && weeks != 0:
		abortField(c, "weeks", "give from or weeks, not both")
		return
	case q.From.IsZero():
		if weeks == 0 {
			weeks = defaultHotspotWeeks
		}
		if weeks < 2 || weeks > hotspot.MaxSlices {
			abortField(c, "weeks", "weeks must be between 2 and "+strconv.Itoa(hotspot.MaxSlices))
			return
		}
		q.From = q.To.AddDate(0, 0, -weeks*days)
	}
	var classes []hotspot.Pattern
	if v := c.Query("class"); v != "" {
		for _, name := range strings.Split(v, ",") {
			p := hotspot.Pattern(name)
			if !slices.Contains(hotspot.Patterns(), p) {
				abortField(c, "class", "class "+strconv.Quote(name)+" is not an emerging hot spot class")
				return
			}
			classes = append(classes, p)
		}
	}
	all := false
	if v := c.Query("all"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			abortField(c, "all", "all must be true or false")
			return
		}
		all = b
	}

	r, err := s.hotspot.Emerging(c.Request.Context(), q)
	if err != nil {
		s.failHotspot(c, err)
		return
	}
	keep := func(ct hotspot.CellTrend) bool {
		if classes != nil {
			return slices.Contains(classes, ct.Pattern)
		}
		return ct.Pattern != hotspot.PatternNone || ct.Class != hotspot.ClassNone || (all && ct.Count > 0)
	}
	ans := hotspotAnswer{
		Type: "FeatureCollection", Features: []*geojson.Feature{},
		Window:    hotspotWindow{From: q.From, To: q.To, Days: days, Slices: r.Slices},
		Townships: towns, Category: q.Category, Sources: q.Sources,
		Resolution: r.Resolution, K: r.K, Alpha: r.Alpha, TrendAlpha: r.TrendAlpha, PMethod: r.PMethod,
		Cells: len(r.Cells), Clues: r.Clues, Patterns: r.Patterns, Classes: classes,
	}
	if ans.Townships == nil {
		ans.Townships = []string{}
	}
	if ans.Sources == nil {
		ans.Sources = hotspot.DefaultSources()
	}
	for _, ct := range r.Cells {
		switch ct.Class {
		case hotspot.ClassHot:
			ans.Hot++
		case hotspot.ClassCold:
			ans.Cold++
		}
		if !keep(ct) {
			continue
		}
		weeksHot := 0
		for _, s := range ct.SliceSig {
			if s > 0 {
				weeksHot++
			}
		}
		f := geojson.NewFeature(orb.Polygon{hotspot.Boundary(ct.Cell)})
		f.ID = ct.Cell.String()
		f.Properties = geojson.Properties{
			"cell": ct.Cell.String(), "z": round3(ct.Z), "p": ct.P, "class": string(ct.Pattern), "count": ct.Count,
			"significance": string(ct.Class), "trend_z": round3(ct.Trend.Z), "trend_p": ct.Trend.P, "weeks_hot": weeksHot,
		}
		ans.Features = append(ans.Features, f)
	}
	ans.Took = float64(time.Since(began).Microseconds()) / 1000
	c.JSON(http.StatusOK, ans)
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// hotspotScan: POST /api/v1/hotspots/scan -> 200 hotspot.ScanResult: runs
// the scheduled scan now (the same one `serve` runs every
// --hotspot-every): every new or intensifying hot spot of the last twelve
// whole weeks becomes a clue of source hotspot, once per place, category
// and week; findings already filed come back with filed false. Command
// center only.
func (s *Server) hotspotScan(c *gin.Context) {
	if scope(c).Role != access.RoleCommand {
		abort(c, http.StatusForbidden, "forbidden", "only the command center runs the hotspot scan")
		return
	}
	r, err := s.hotspot.Scan(c.Request.Context(), s.whistles, time.Now(), hotspot.ScanOptions{})
	if err != nil {
		s.failHotspot(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

func (s *Server) failHotspot(c *gin.Context, err error) {
	switch {
	case errors.Is(err, hotspot.ErrInvalid):
		abort(c, http.StatusUnprocessableEntity, "invalid", strings.TrimPrefix(err.Error(), "invalid: "))
	case errors.Is(err, hotspot.ErrNotFound):
		abort(c, http.StatusNotFound, "not_found", strings.TrimPrefix(err.Error(), "not found: "))
	default:
		s.fail(c, err)
	}
}

package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"whistlegrid/access"
	"whistlegrid/fault"
	"whistlegrid/geo"
	"whistlegrid/grid"
)

// MaxPlaceBatch is the most points POST /api/v1/place takes at once.
const MaxPlaceBatch = 10000

// placeLink is one element of a chain in the API.
type placeLink struct {
	Level string `json:"level"`
	Code  string `json:"code"`
	Name  string `json:"name"`
}

// placeAnswer is the placement of one point.
type placeAnswer struct {
	Point         [2]float64     `json:"point"` // WGS-84 lon, lat
	Chain         []placeLink    `json:"chain"`
	EdgeDistanceM float64        `json:"edge_distance_m"`
	NearEdge      bool           `json:"near_edge"`
	Responsible   []grid.OnDuty  `json:"responsible"`
	Units         []grid.UnitRef `json:"units"`
}

// placeInput is one point to place.
type placeInput struct {
	Lon      *float64 `json:"lon"`
	Lat      *float64 `json:"lat"`
	Datum    string   `json:"datum"`
	Category string   `json:"category"`
	At       string   `json:"at"`
}

// placeOne converts, places and looks up who is responsible for one point.
// A point that cannot be placed is a fault.Invalid naming the field at
// fault; any other error is the server's.
func (s *Server) placeOne(sc access.Scope, in placeInput, defaultAt time.Time) (placeAnswer, error) {
	if in.Lon == nil {
		return placeAnswer{}, invalidParam("lon", "lon is required")
	}
	if in.Lat == nil {
		return placeAnswer{}, invalidParam("lat", "lat is required")
	}
	if err := geo.ValidLonLat(*in.Lon, *in.Lat); err != nil {
		return placeAnswer{}, invalidLonLat(err)
	}
	d, err := geo.ParseDatum(in.Datum)
	if err != nil {
		return placeAnswer{}, invalidParam("datum", err.Error())
	}
	p, err := geo.WGS84Point(*in.Lon, *in.Lat, d)
	if err != nil {
		return placeAnswer{}, invalidLonLat(err)
	}
	at := defaultAt
	if in.At != "" {
		if at, err = geo.ParseTime(in.At); err != nil {
			return placeAnswer{}, invalidParam("at", "at must be an RFC 3339 time")
		}
	}
	if in.Category != "" && !s.placer.KnownCategory(in.Category) {
		return placeAnswer{}, invalidParam("category", fmt.Sprintf("unknown category %q (see GET /api/v1/categories)", in.Category))
	}
	pl, err := s.placer.Place(p)
	if errors.Is(err, grid.ErrOutside) {
		return placeAnswer{}, invalidParam("lon", fmt.Sprintf("the point %.6f,%.6f (WGS-84) is outside the district's grids", p[0], p[1]))
	}
	if err != nil {
		return placeAnswer{}, err
	}
	people, units, err := s.placer.Responsible(sc, pl, in.Category, at)
	if err != nil {
		return placeAnswer{}, err
	}
	a := placeAnswer{Point: [2]float64{p[0], p[1]}, EdgeDistanceM: round2(pl.EdgeDistanceM), NearEdge: pl.NearEdge, Responsible: people, Units: units}
	if a.Units == nil {
		a.Units = []grid.UnitRef{}
	}
	a.Chain = make([]placeLink, len(pl.Chain))
	for i, l := range pl.Chain {
		a.Chain[i] = placeLink{Level: string(l.Level), Code: l.Code, Name: l.Name}
	}
	return a, nil
}

// invalidLonLat is a geo.ValidLonLat or geo.WGS84Point error as a 422
// naming the coordinate at fault.
func invalidLonLat(err error) error {
	field := "lon"
	var le *geo.LonLatError
	if errors.As(err, &le) {
		field = le.Coord
	}
	return invalidParam(field, err.Error())
}

// needPlacer answers 503 while the server has no placement index.
func (s *Server) needPlacer(c *gin.Context) {
	if s.placer == nil {
		s.fail(c, fault.New(fault.Unavailable, "the placement index is not loaded"))
		return
	}
	c.Next()
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

// place: GET /api/v1/place?lon=&lat=&datum=wgs84|gcj02|bd09[&category=CODE][&at=RFC3339]
// -> {"point","chain","edge_distance_m","near_edge","responsible","units"};
// 422 with a reason for a malformed point or one outside the district.
func (s *Server) place(c *gin.Context) {
	in := placeInput{Datum: c.Query("datum"), Category: c.Query("category"), At: c.Query("at")}
	for _, f := range []struct {
		name string
		dst  **float64
	}{{"lon", &in.Lon}, {"lat", &in.Lat}} {
		v := c.Query(f.name)
		if v == "" {
			continue
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			s.fail(c, invalidParam(f.name, f.name+" must be a number"))
			return
		}
		*f.dst = &x
	}
	a, err := s.placeOne(scope(c), in, time.Now())
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, a)
}

// placeResult is one entry of a batch answer: the placement, or why not.
type placeResult struct {
	Index int `json:"index"`
	*placeAnswer
	Error *errorDetail `json:"error,omitempty"`
}

// placeBatch: POST /api/v1/place [{"lon","lat","datum"?,"category"?,"at"?}, ...] (at most 10,000)
// -> {"placed":N,"rejected":M,"results":[{"index",...placement} | {"index","error":{"code","message","field"}}]}.
// Every point gets a result in input order; a bad point is reported, never dropped.
func (s *Server) placeBatch(c *gin.Context) {
	var in []placeInput
	if err := bindJSON(c, &in, `a JSON array of {"lon","lat","datum"?,"category"?,"at"?} objects`); err != nil {
		s.fail(c, err)
		return
	}
	if len(in) == 0 {
		s.fail(c, invalidParam("points", "the array is empty"))
		return
	}
	if len(in) > MaxPlaceBatch {
		s.fail(c, invalidParam("points", fmt.Sprintf("%d points; a batch takes at most %d", len(in), MaxPlaceBatch)))
		return
	}
	sc := scope(c)
	now := time.Now()
	out := make([]placeResult, len(in))
	placed := 0
	for i, p := range in {
		a, err := s.placeOne(sc, p, now)
		out[i].Index = i
		switch {
		case errors.Is(err, fault.Invalid):
			_, d := answer(err)
			out[i].Error = &d
		case err != nil:
			s.fail(c, err)
			return
		default:
			out[i].placeAnswer = &a
			placed++
		}
	}
	c.JSON(http.StatusOK, gin.H{"placed": placed, "rejected": len(in) - placed, "results": out})
}

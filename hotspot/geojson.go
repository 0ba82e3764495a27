package hotspot

import (
	"math"
	"slices"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/uber/h3-go/v4"
)

// Boundary returns the outline of cell c (a hexagon, or a pentagon) as a
// closed ring of lon/lat points in degrees (WGS-84, SRID 4326), counter-
// clockwise as RFC 7946 asks of an exterior ring. A cell crossing the
// antimeridian is not split; none does in China.
func Boundary(c h3.Cell) orb.Ring {
	b := h3.CellToBoundary(c)
	ring := make(orb.Ring, 0, len(b)+1)
	for _, v := range b {
		ring = append(ring, orb.Point{v.Lng, v.Lat})
	}
	if len(ring) == 0 {
		return ring
	}
	if signedArea(ring) < 0 {
		slices.Reverse(ring)
	}
	return append(ring, ring[0])
}

// signedArea is the shoelace area of an open ring in the lon/lat plane:
// positive when counter-clockwise.
func signedArea(r orb.Ring) float64 {
	a := 0.0
	for i, p := range r {
		q := r[(i+1)%len(r)]
		a += p[0]*q[1] - q[0]*p[1]
	}
	return a / 2
}

// Feature returns the cell as a GeoJSON polygon feature (coordinates to 6
// decimals, counter-clockwise) whose id is the hex H3 index, with the properties cell (the same index), count, z (to
// 0.001: a map needs no more), p and significance (hot, cold or none).
func (c CellStat) Feature() *geojson.Feature {
	f := geojson.NewFeature(orb.Polygon{round6(Boundary(c.Cell))})
	f.ID = c.Cell.String()
	f.Properties = geojson.Properties{
		"cell": c.Cell.String(), "count": c.Count, "z": round3(c.Z), "p": c.P, "significance": string(c.Significance),
	}
	return f
}

// Feature returns the cell as a GeoJSON polygon feature with CellStat's
// properties plus class (the emerging hot spot class), trend_z (to
// 0.001), trend_p and weeks_hot (the slices in which the cell is a
// significant hot spot). These are the features of GET /api/v1/hotspots.
func (c CellTrend) Feature() *geojson.Feature {
	f := c.CellStat.Feature()
	hot := 0
	for _, s := range c.SliceSig {
		if s > 0 {
			hot++
		}
	}
	f.Properties["class"] = string(c.Class)
	f.Properties["trend_z"] = round3(c.Trend.Z)
	f.Properties["trend_p"] = c.Trend.P
	f.Properties["weeks_hot"] = hot
	return f
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// round6 rounds a ring's coordinates to 6 decimals (about 0.1 m), as
// every GeoJSON answer sends them (RFC 7946 §11.2). An H3 hexagon's
// vertices are tens of metres apart at the resolutions served, so the
// ring keeps its shape and winding.
func round6(r orb.Ring) orb.Ring {
	out := make(orb.Ring, len(r))
	for i, p := range r {
		out[i] = orb.Point{math.Round(p[0]*1e6) / 1e6, math.Round(p[1]*1e6) / 1e6}
	}
	return out
}

// FeatureCollection returns the cells for which keep is true (every cell
// when keep is nil) as GeoJSON hexagons, in the order of r.Cells.
func (r *Result) FeatureCollection(keep func(CellStat) bool) *geojson.FeatureCollection {
	fc := geojson.NewFeatureCollection()
	for _, c := range r.Cells {
		if keep == nil || keep(c) {
			fc.Append(c.Feature())
		}
	}
	return fc
}

// FeatureCollection returns the cells for which keep is true (every cell
// when keep is nil) as GeoJSON hexagons, in the order of r.Cells.
func (r *EmergingResult) FeatureCollection(keep func(CellTrend) bool) *geojson.FeatureCollection {
	fc := geojson.NewFeatureCollection()
	for _, c := range r.Cells {
		if keep == nil || keep(c) {
			fc.Append(c.Feature())
		}
	}
	return fc
}

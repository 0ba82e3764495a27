package geo

import (
	"github.com/paulmach/orb"
	"github.com/uber/h3-go/v4"
)

// DefaultH3Res is the H3 resolution clues are binned at: res 9 cells are
// about 0.1 km² (edge about 174 m), a few village lanes.
const DefaultH3Res = 9

// H3Cell is the H3 cell at res of the WGS-84 point p (lon, lat), as the
// int64 the database stores. This is the one place lon/lat turns into H3's
// lat/lng. It costs about 1 µs (cgo): keep it off per-point hot paths.
func H3Cell(p orb.Point, res int) int64 {
	return int64(h3.LatLngToCell(h3.NewLatLng(p[1], p[0]), res))
}

package hotspot

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/uber/h3-go/v4"

	"whistlegrid/geo"
)

// The tests' synthetic district: the 延庆区 box and its planted clusters
// (lon, lat, share of clues). `whistlegrid bench hotspots`
// (internal/bench/hotspots.go) makes its clues the same way.
var (
	benchBox      = [4]float64{115.8, 116.6, 40.3, 40.8} // lon0, lon1, lat0, lat1
	benchClusters = [][3]float64{
		{115.975, 40.457, 0.02}, // 延庆城区
		{116.013, 40.358, 0.01}, // 八达岭
		{116.360, 40.580, 0.01}, // 四海
	}
)

// boxCells returns the cells at res whose centres lie in the lon/lat box.
func boxCells(box [4]float64, res int) []h3.Cell {
	loop := h3.GeoLoop{
		{Lat: box[2], Lng: box[0]}, {Lat: box[2], Lng: box[1]},
		{Lat: box[3], Lng: box[1]}, {Lat: box[3], Lng: box[0]},
	}
	return h3.PolygonToCells(h3.GeoPolygon{GeoLoop: loop}, res)
}

// syntheticClues returns n clues: each cluster (lon, lat, share) gets share·n
// clues in a normal spread of sigmaM metres around its centre, the rest are
// uniform over benchBox. Times are uniform over the 12 weeks from Monday
// 6 January 2025, Beijing time.
func syntheticClues(n int, seed uint64, clusters [][3]float64, sigmaM float64) []Point {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, geo.Beijing)
	span := int64(12 * 7 * 24 * time.Hour)
	pts := make([]Point, 0, n)
	at := func() time.Time { return start.Add(time.Duration(r.Int64N(span))) }
	for _, c := range clusters {
		mLon := 111320 * math.Cos(c[1]*math.Pi/180)
		for range int(c[2] * float64(n)) {
			pts = append(pts, Point{Lon: c[0] + r.NormFloat64()*sigmaM/mLon, Lat: c[1] + r.NormFloat64()*sigmaM/110574, At: at()})
		}
	}
	for len(pts) < n {
		pts = append(pts, Point{
			Lon: benchBox[0] + (benchBox[1]-benchBox[0])*r.Float64(),
			Lat: benchBox[2] + (benchBox[3]-benchBox[2])*r.Float64(),
			At:  at(),
		})
	}
	r.Shuffle(len(pts), func(i, j int) { pts[i], pts[j] = pts[j], pts[i] })
	return pts
}

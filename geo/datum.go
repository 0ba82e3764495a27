package geo

import (
	"fmt"
	"math"
	"strings"

	"github.com/paulmach/orb"
)

// Datum names the geodetic datum a coordinate is expressed in. Chinese map
// providers publish coordinates on obfuscated datums: GCJ-02 (AMap/Gaode,
// Tencent, Google China) and BD-09 (Baidu); GPS receivers and the database
// use WGS-84.
type Datum string

// The datums the platform accepts. The zero value "" is not a Datum;
// ParseDatum maps it to WGS84.
const (
	WGS84 Datum = "wgs84" // World Geodetic System 1984, SRID 4326
	GCJ02 Datum = "gcj02" // GCJ-02 "Mars coordinates" of the national surveying bureau
	BD09  Datum = "bd09"  // BD-09, Baidu's offset of GCJ-02
)

// ParseDatum turns a user-supplied datum name into a Datum. Matching is
// case-insensitive and ignores surrounding space and the dash in "wgs-84",
// "gcj-02", "bd-09". The empty string means WGS84. Any other value is an
// error naming the allowed values.
func ParseDatum(s string) (Datum, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	n = strings.ReplaceAll(n, "-", "")
	switch Datum(n) {
	case "", WGS84:
		return WGS84, nil
	case GCJ02:
		return GCJ02, nil
	case BD09:
		return BD09, nil
	}
	return "", fmt.Errorf("geo: unknown datum %q: want one of %q, %q, %q (empty means %q)", s, WGS84, GCJ02, BD09, WGS84)
}

// ToWGS84 converts p from datum d to WGS-84. A point already on WGS84 is
// returned unchanged, and so is a point on any Datum not declared above
// (validate user input with ParseDatum first).
func ToWGS84(p orb.Point, d Datum) orb.Point {
	switch d {
	case GCJ02:
		return GCJ02ToWGS84(p)
	case BD09:
		return BD09ToWGS84(p)
	}
	return p
}

// WGS84Point is the one checked way from a point as a client sends it
// (lon, lat in degrees on datum d) to WGS-84: it validates lon and lat,
// converts them with ToWGS84 and validates the result too, because near
// the poles and the antimeridian a datum's offset carries a valid point out
// of range (BD-09 -180, -90 is WGS-84 -180.0068, -90.0055). Either error
// is a *LonLatError naming the coordinate at fault.
func WGS84Point(lon, lat float64, d Datum) (orb.Point, error) {
	if err := ValidLonLat(lon, lat); err != nil {
		return orb.Point{}, err
	}
	p := ToWGS84(orb.Point{lon, lat}, d)
	if err := ValidLonLat(p[0], p[1]); err != nil {
		e := err.(*LonLatError)
		return orb.Point{}, &LonLatError{Coord: e.Coord, Reason: fmt.Sprintf("%v, %v on %s is %.7f, %.7f on WGS-84: %s", lon, lat, d, p[0], p[1], e.Reason)}
	}
	return p, nil
}

// FromWGS84 converts a WGS-84 point p to datum d. A WGS84 target, or any
// Datum not declared above, returns p unchanged.
func FromWGS84(p orb.Point, d Datum) orb.Point {
	switch d {
	case GCJ02:
		return WGS84ToGCJ02(p)
	case BD09:
		return WGS84ToBD09(p)
	}
	return p
}

// Constants of the published GCJ-02 and BD-09 transforms (the
// eviltransform / coordtransform formulas): the Krasovsky 1940 semi-major
// axis in metres, its first eccentricity squared, and BD-09's angle factor.
const (
	gcjA  = 6378245.0
	gcjEE = 0.00669342162296594323
	bdXPi = 3.14159265358979324 * 3000.0 / 180.0
)

// gcjInverseTol is how close, in degrees, the forward transform of the
// GCJ02ToWGS84 and BD09ToGCJ02 estimates must come to the input: 1e-9 degrees is about
// 0.1 mm, far inside the promised 1 cm.
const gcjInverseTol = 1e-9

// gcjInverseMaxIter bounds the fixed-point iterations of GCJ02ToWGS84 and
// BD09ToGCJ02; they converge in 2 to 5 steps.
const gcjInverseMaxIter = 30

// OutOfChina reports whether p lies outside the rough box in which GCJ-02
// applies an offset: longitude outside [72.004, 137.8347] or latitude
// outside [0.8293, 55.8271], the box of the eviltransform project. Outside
// it GCJ-02 equals WGS-84.
func OutOfChina(p orb.Point) bool {
	lon, lat := p[0], p[1]
	return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271
}

// WGS84ToGCJ02 applies the published GCJ-02 offset to a WGS-84 point. Out
// of China (see OutOfChina) the point is returned unchanged.
func WGS84ToGCJ02(p orb.Point) orb.Point {
	if OutOfChina(p) {
		return p
	}
	dLon, dLat := gcjDelta(p[0], p[1])
	return orb.Point{p[0] + dLon, p[1] + dLat}
}

// GCJ02ToWGS84 inverts WGS84ToGCJ02. The GCJ-02 offset has no closed-form
// inverse, so the estimate is refined by fixed-point iteration until its
// forward transform lies within 1e-9 degrees (about 0.1 mm) of p, at most
// 30 steps; the result is within 1 cm of the true WGS-84 point. Out of
// China the point is returned unchanged.
func GCJ02ToWGS84(p orb.Point) orb.Point {
	if OutOfChina(p) {
		return p
	}
	return invert(WGS84ToGCJ02, p, p)
}

// invert solves forward(x) = p by fixed-point iteration from start: each
// step moves x by the forward transform's miss, until the miss is under
// gcjInverseTol degrees or gcjInverseMaxIter steps have run; it returns the
// best estimate seen. Both datum offsets are small and smooth, so it
// converges in a few steps.
func invert(forward func(orb.Point) orb.Point, p, start orb.Point) orb.Point {
	x := start
	best, bestErr := x, math.Inf(1)
	for i := 0; i < gcjInverseMaxIter; i++ {
		f := forward(x)
		ex, ey := f[0]-p[0], f[1]-p[1]
		e := math.Max(math.Abs(ex), math.Abs(ey))
		if e < bestErr {
			best, bestErr = x, e
		}
		if e < gcjInverseTol {
			break
		}
		x = orb.Point{x[0] - ex, x[1] - ey}
	}
	return best
}

// GCJ02ToBD09 applies Baidu's published BD-09 offset to a GCJ-02 point.
// It applies everywhere, as Baidu's does: there is no out-of-China test.
func GCJ02ToBD09(p orb.Point) orb.Point {
	x, y := p[0], p[1]
	z := math.Sqrt(x*x+y*y) + 0.00002*math.Sin(y*bdXPi)
	theta := math.Atan2(y, x) + 0.000003*math.Cos(x*bdXPi)
	return orb.Point{z*math.Cos(theta) + 0.0065, z*math.Sin(theta) + 0.006}
}

// BD09ToGCJ02 inverts GCJ02ToBD09. Baidu's published inverse is a single
// pass that misses by up to about 15 cm, so its answer only seeds a
// fixed-point iteration, stopped when the forward transform of the estimate
// is within 1e-9 degrees (about 0.1 mm) of p, at most 30 steps.
func BD09ToGCJ02(p orb.Point) orb.Point {
	return invert(GCJ02ToBD09, p, bd09ToGCJ02Published(p))
}

// bd09ToGCJ02Published is Baidu's published single-pass inverse of
// GCJ02ToBD09 (the coordtransform "bd09togcj02").
func bd09ToGCJ02Published(p orb.Point) orb.Point {
	x, y := p[0]-0.0065, p[1]-0.006
	z := math.Sqrt(x*x+y*y) - 0.00002*math.Sin(y*bdXPi)
	theta := math.Atan2(y, x) - 0.000003*math.Cos(x*bdXPi)
	return orb.Point{z * math.Cos(theta), z * math.Sin(theta)}
}

// WGS84ToBD09 converts a WGS-84 point to BD-09 through GCJ-02.
func WGS84ToBD09(p orb.Point) orb.Point {
	return GCJ02ToBD09(WGS84ToGCJ02(p))
}

// BD09ToWGS84 converts a BD-09 point to WGS-84 through GCJ-02.
func BD09ToWGS84(p orb.Point) orb.Point {
	return GCJ02ToWGS84(BD09ToGCJ02(p))
}

// gcjDelta is the GCJ-02 offset in degrees at WGS-84 (lon, lat).
func gcjDelta(lon, lat float64) (dLon, dLat float64) {
	x, y := lon-105.0, lat-35.0
	dLat = gcjTransformLat(x, y)
	dLon = gcjTransformLon(x, y)
	radLat := lat / 180.0 * math.Pi
	magic := math.Sin(radLat)
	magic = 1 - gcjEE*magic*magic
	sqrtMagic := math.Sqrt(magic)
	dLat = (dLat * 180.0) / ((gcjA * (1 - gcjEE)) / (magic * sqrtMagic) * math.Pi)
	dLon = (dLon * 180.0) / (gcjA / sqrtMagic * math.Cos(radLat) * math.Pi)
	return dLon, dLat
}

func gcjTransformLat(x, y float64) float64 {
	ret := -100.0 + 2.0*x + 3.0*y + 0.2*y*y + 0.1*x*y + 0.2*math.Sqrt(math.Abs(x))
	ret += (20.0*math.Sin(6.0*x*math.Pi) + 20.0*math.Sin(2.0*x*math.Pi)) * 2.0 / 3.0
	ret += (20.0*math.Sin(y*math.Pi) + 40.0*math.Sin(y/3.0*math.Pi)) * 2.0 / 3.0
	ret += (160.0*math.Sin(y/12.0*math.Pi) + 320*math.Sin(y*math.Pi/30.0)) * 2.0 / 3.0
	return ret
}

func gcjTransformLon(x, y float64) float64 {
	ret := 300.0 + x + 2.0*y + 0.1*x*x + 0.1*x*y + 0.1*math.Sqrt(math.Abs(x))
	ret += (20.0*math.Sin(6.0*x*math.Pi) + 20.0*math.Sin(2.0*x*math.Pi)) * 2.0 / 3.0
	ret += (20.0*math.Sin(x*math.Pi) + 40.0*math.Sin(x/3.0*math.Pi)) * 2.0 / 3.0
	ret += (150.0*math.Sin(x/12.0*math.Pi) + 300.0*math.Sin(x/30.0*math.Pi)) * 2.0 / 3.0
	return ret
}

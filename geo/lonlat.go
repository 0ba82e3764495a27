package geo

import (
	"errors"
	"fmt"
	"math"
)

// ErrInvalidLonLat is wrapped by ValidLonLat's errors, so callers can tell
// bad input from other failures with errors.Is.
var ErrInvalidLonLat = errors.New("geo: invalid longitude/latitude")

// LonLatError is the error of ValidLonLat and WGS84Point: which coordinate
// is at fault and why. It wraps ErrInvalidLonLat.
type LonLatError struct {
	Coord  string // "lon" or "lat": the coordinate at fault
	Reason string // e.g. "latitude 115.97 is outside [-90, 90]"
}

func (e *LonLatError) Error() string { return ErrInvalidLonLat.Error() + ": " + e.Reason }

// Unwrap makes errors.Is(err, ErrInvalidLonLat) hold.
func (e *LonLatError) Unwrap() error { return ErrInvalidLonLat }

// ValidLonLat checks that lon and lat are finite degrees with lon in
// [-180, 180] and lat in [-90, 90]. The error is a *LonLatError: it wraps
// ErrInvalidLonLat and says which value is wrong and why.
func ValidLonLat(lon, lat float64) error {
	switch {
	case math.IsNaN(lon) || math.IsInf(lon, 0):
		return &LonLatError{"lon", fmt.Sprintf("longitude %v is not a finite number", lon)}
	case math.IsNaN(lat) || math.IsInf(lat, 0):
		return &LonLatError{"lat", fmt.Sprintf("latitude %v is not a finite number", lat)}
	case lon < -180 || lon > 180:
		return &LonLatError{"lon", fmt.Sprintf("longitude %v is outside [-180, 180]", lon)}
	case lat < -90 || lat > 90:
		return &LonLatError{"lat", fmt.Sprintf("latitude %v is outside [-90, 90]", lat)}
	}
	return nil
}

// WGS-84 ellipsoid: semi-major axis in metres and first eccentricity
// squared.
const (
	wgs84A  = 6378137.0
	wgs84E2 = 0.00669437999014
)

// LocalScale returns how many metres one degree of longitude and one degree
// of latitude span at latitude lat (degrees, WGS-84): the parallel's and
// the meridian's radius of curvature of the WGS-84 ellipsoid. Multiplying
// degree differences by them is a local equirectangular projection,
// accurate to about 0.1% for distances up to a few tens of kilometres away
// from the poles.
func LocalScale(lat float64) (mPerDegLon, mPerDegLat float64) {
	phi := lat * math.Pi / 180
	s := math.Sin(phi)
	w := 1 - wgs84E2*s*s
	n := wgs84A / math.Sqrt(w)                       // prime vertical radius
	m := wgs84A * (1 - wgs84E2) / (w * math.Sqrt(w)) // meridian radius
	return n * math.Cos(phi) * math.Pi / 180, m * math.Pi / 180
}

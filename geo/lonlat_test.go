package geo

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestValidLonLat(t *testing.T) {
	tests := []struct {
		name     string
		lon, lat float64
		reason   string // substring of the error, "" for valid
	}{
		{"yanqing", 115.97, 40.46, ""},
		{"corners are valid", 180, -90, ""},
		{"other corner", -180, 90, ""},
		{"nan longitude", math.NaN(), 40, "longitude NaN is not a finite number"},
		{"inf latitude", 116, math.Inf(1), "latitude +Inf is not a finite number"},
		{"longitude too big", 180.0001, 40, "longitude 180.0001 is outside [-180, 180]"},
		{"latitude too small", 116, -90.5, "latitude -90.5 is outside [-90, 90]"},
		{"swapped lat lon", 40.46, 115.97, "latitude 115.97 is outside [-90, 90]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidLonLat(tt.lon, tt.lat)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("ValidLonLat(%v, %v) = %v, want nil", tt.lon, tt.lat, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidLonLat(%v, %v) = nil, want error with %q", tt.lon, tt.lat, tt.reason)
			}
			if !errors.Is(err, ErrInvalidLonLat) {
				t.Errorf("error %v does not wrap ErrInvalidLonLat", err)
			}
			if !strings.Contains(err.Error(), tt.reason) || !strings.HasPrefix(err.Error(), "geo: ") {
				t.Errorf("error %q, want prefix %q and %q", err, "geo: ", tt.reason)
			}
		})
	}
}

func TestLocalScale(t *testing.T) {
	// Reference values: the WGS-84 length of one degree from the
	// ellipsoid's radii of curvature: a·π/180 = 111,319.49 m of longitude at
	// the equator, a(1-e²)·π/180 = 110,574.28 m of latitude there and
	// a/√(1-e²)·π/180 = 111,693.97 m at the poles.
	tests := []struct {
		name        string
		lat         float64
		wantLon     float64
		wantLat     float64
		tolFraction float64
	}{
		{"equator", 0, 111319.49, 110574.28, 1e-6},
		{"yanqing 40.5N", 40.5, 84735.0, 111052.0, 1e-3},
		{"near pole", 89.999, 1.949, 111693.97, 1e-3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotLon, gotLat := LocalScale(tt.lat)
			if math.Abs(gotLon-tt.wantLon) > tt.tolFraction*tt.wantLon {
				t.Errorf("LocalScale(%v) lon = %.3f m/deg, want %.3f", tt.lat, gotLon, tt.wantLon)
			}
			if math.Abs(gotLat-tt.wantLat) > tt.tolFraction*tt.wantLat {
				t.Errorf("LocalScale(%v) lat = %.3f m/deg, want %.3f", tt.lat, gotLat, tt.wantLat)
			}
		})
	}
}

// TestWGS84Point holds the checked conversion to its promise: a point
// valid on its datum whose WGS-84 image leaves the valid range is refused,
// naming the coordinate, and every point it accepts is valid on WGS-84.
func TestWGS84Point(t *testing.T) {
	tests := []struct {
		name     string
		lon, lat float64
		d        Datum
		coord    string // the coordinate at fault, "" for valid
	}{
		{"yanqing bd09", 116.0, 40.45, BD09, ""},
		{"yanqing gcj02", 116.0, 40.45, GCJ02, ""},
		{"wgs84 corner stays", -180, -90, WGS84, ""},
		{"gcj02 corner is out of China, unchanged", -180, -90, GCJ02, ""},
		{"bd09 south-west corner leaves the range", -180, -90, BD09, "lon"},
		{"bd09 west edge leaves the range", -180, 0, BD09, "lon"},
		{"bd09 south pole leaves the range", 0, -90, BD09, "lat"},
		{"input out of range", 181, 0, WGS84, "lon"},
		{"input NaN", 116, math.NaN(), BD09, "lat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := WGS84Point(tt.lon, tt.lat, tt.d)
			if tt.coord == "" {
				if err != nil {
					t.Fatalf("WGS84Point(%v, %v, %s) = %v", tt.lon, tt.lat, tt.d, err)
				}
				if want := ToWGS84([2]float64{tt.lon, tt.lat}, tt.d); p != want {
					t.Errorf("WGS84Point = %v, want ToWGS84's %v", p, want)
				}
				return
			}
			var le *LonLatError
			if !errors.As(err, &le) || le.Coord != tt.coord || !errors.Is(err, ErrInvalidLonLat) {
				t.Fatalf("WGS84Point(%v, %v, %s) = %v, %v; want a *LonLatError on %s", tt.lon, tt.lat, tt.d, p, err, tt.coord)
			}
		})
	}
	// Every corner and edge midpoint of the valid range on every datum:
	// accepted means valid on WGS-84.
	for _, d := range []Datum{WGS84, GCJ02, BD09} {
		for _, lon := range []float64{-180, -179.999, 0, 179.999, 180} {
			for _, lat := range []float64{-90, -89.999, 0, 89.999, 90} {
				p, err := WGS84Point(lon, lat, d)
				if err == nil && ValidLonLat(p[0], p[1]) != nil {
					t.Errorf("WGS84Point(%v, %v, %s) = %v, outside the valid range", lon, lat, d, p)
				}
			}
		}
	}
}

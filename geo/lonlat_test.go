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

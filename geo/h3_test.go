package geo

import (
	"testing"

	"github.com/paulmach/orb"
	"github.com/uber/h3-go/v4"
)

func TestH3Cell(t *testing.T) {
	p := orb.Point{115.9749, 40.4565} // 延庆城区
	c := h3.Cell(H3Cell(p, DefaultH3Res))
	if !c.IsValid() || c.Resolution() != DefaultH3Res {
		t.Fatalf("cell %v invalid or wrong resolution", c)
	}
	ll := c.LatLng()
	if d := (ll.Lat-p[1])*(ll.Lat-p[1]) + (ll.Lng-p[0])*(ll.Lng-p[0]); d > 0.003*0.003 {
		t.Errorf("cell centre %v is far from %v: lat/lng swapped?", ll, p)
	}
	if H3Cell(orb.Point{p[1], p[0]}, DefaultH3Res) == int64(c) {
		t.Errorf("swapping lon and lat gave the same cell")
	}
}

package geo

import (
	"testing"

	"github.com/paulmach/orb"
)

var benchSink orb.Point

func BenchmarkWGS84ToGCJ02(b *testing.B) {
	pts := beijingPoints(1024)
	for i := 0; b.Loop(); i++ {
		benchSink = WGS84ToGCJ02(pts[i&1023])
	}
}

func BenchmarkGCJ02ToWGS84(b *testing.B) {
	pts := beijingPoints(1024)
	for i := range pts {
		pts[i] = WGS84ToGCJ02(pts[i])
	}
	for i := 0; b.Loop(); i++ {
		benchSink = GCJ02ToWGS84(pts[i&1023])
	}
}

func BenchmarkBD09ToWGS84(b *testing.B) {
	pts := beijingPoints(1024)
	for i := range pts {
		pts[i] = WGS84ToBD09(pts[i])
	}
	for i := 0; b.Loop(); i++ {
		benchSink = BD09ToWGS84(pts[i&1023])
	}
}

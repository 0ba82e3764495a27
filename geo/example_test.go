package geo_test

import (
	"fmt"

	"github.com/paulmach/orb"

	"whistlegrid/geo"
)

// A clue reported from an AMap (Gaode) phone app arrives on GCJ-02 and is
// stored on WGS-84.
func ExampleToWGS84() {
	d, err := geo.ParseDatum("gcj02")
	if err != nil {
		panic(err)
	}
	p := geo.ToWGS84(orb.Point{116.41024449916938, 39.91640428150164}, d)
	fmt.Printf("%.6f %.6f\n", p[0], p[1])
	// Output: 116.404000 39.915000
}

func ExampleWGS84ToBD09() {
	p := geo.WGS84ToBD09(orb.Point{116.404, 39.915})
	fmt.Printf("%.6f %.6f\n", p[0], p[1])
	// Output: 116.416627 39.922700
}

func ExampleParseDatum() {
	_, err := geo.ParseDatum("cgcs2000")
	fmt.Println(err)
	// Output: geo: unknown datum "cgcs2000": want one of "wgs84", "gcj02", "bd09" (empty means "wgs84")
}

func ExampleValidLonLat() {
	fmt.Println(geo.ValidLonLat(40.46, 115.97)) // lat and lon swapped
	// Output: geo: invalid longitude/latitude: latitude 115.97 is outside [-90, 90]
}

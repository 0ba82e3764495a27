package hotspot_test

import (
	"fmt"
	"time"

	"github.com/uber/h3-go/v4"

	"whistlegrid/geo"
	"whistlegrid/hotspot"
)

// A district area, clues spread over it, and a lane where clues pile up.
func ExampleAnalyze() {
	// The study area: every resolution 9 cell of a 0.04° × 0.03° patch of
	// 延庆城区 (in production, every cell of the district).
	loop := h3.GeoLoop{{Lat: 40.44, Lng: 115.95}, {Lat: 40.44, Lng: 115.99}, {Lat: 40.47, Lng: 115.99}, {Lat: 40.47, Lng: 115.95}}
	area, err := hotspot.NewArea(h3.PolygonToCells(h3.GeoPolygon{GeoLoop: loop}, 9), 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	// One clue every 0.002° (about 200 m) in each direction, and 30 more
	// on one lane.
	var clues []hotspot.Point
	for lon := 115.951; lon < 115.99; lon += 0.002 {
		for lat := 40.441; lat < 40.47; lat += 0.002 {
			clues = append(clues, hotspot.Point{Lon: lon, Lat: lat})
		}
	}
	for range 30 {
		clues = append(clues, hotspot.Point{Lon: 115.9712, Lat: 40.4553})
	}
	res, err := hotspot.Analyze(clues, hotspot.Options{Area: area})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range res.Cells {
		if c.Significance == hotspot.Hot && c.Count >= 30 {
			fmt.Printf("hot spot %v: %d clues, Gi* z = %.1f\n", c.Cell, c.Count, c.Z)
		}
	}
	fmt.Printf("%d clues in %d cells (%d outside them): %d hot, %d cold\n", res.Clues, len(res.Cells), res.Outside, res.Hot, res.Cold)
	// Output:
	// hot spot 893185b092fffff: 32 clues, Gi* z = 4.4
	// 319 clues in 145 cells (11 outside them): 7 hot, 0 cold
}

// The week-by-week view: is a hot spot new, intensifying, persistent?
func ExampleEmerging() {
	start := hotspot.WeekStart(time.Date(2025, 3, 5, 9, 0, 0, 0, geo.Beijing)) // Monday 3 March
	area, err := hotspot.NewArea(h3.GridDisk(h3.LatLngToCell(h3.NewLatLng(40.457, 115.975), 9), 6), 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	var clues []hotspot.Point
	for week := range 10 {
		at := start.AddDate(0, 0, 7*week+2)
		for _, c := range area.Cells() { // one clue per cell and week
			g := h3.CellToLatLng(c)
			clues = append(clues, hotspot.Point{Lon: g.Lng, Lat: g.Lat, At: at})
		}
		if week == 9 { // and a lane that fills up in the final week
			for range 25 {
				clues = append(clues, hotspot.Point{Lon: 115.975, Lat: 40.457, At: at})
			}
		}
	}
	res, err := hotspot.Emerging(clues, hotspot.EmergingOptions{
		Options: hotspot.Options{Area: area},
		Start:   start,
		End:     start.AddDate(0, 0, 70),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d weeks from %s\n", len(res.Slices), res.Slices[0].Start.Format("2006-01-02"))
	for _, c := range res.Cells {
		if c.Class == hotspot.NewHotSpot && c.Count > 30 {
			fmt.Printf("%v: %s, %d clues\n", c.Cell, c.Class, c.Count)
		}
	}
	// Output:
	// 10 weeks from 2025-03-03
	// 893185b0927ffff: new_hot_spot, 35 clues
}

func ExampleBenjaminiHochberg() {
	p := []float64{0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.324, 0.4262, 0.5719, 0.6528, 0.759, 1}
	fmt.Println(hotspot.BenjaminiHochberg(p, 0.05)[:6])
	// Output: [true true true true false false]
}

func ExampleMannKendall() {
	weeklyZ := []float64{0.4, 1.1, 0.9, 1.8, 2.6, 2.2, 3.4, 3.9, 4.1, 5.0}
	r := hotspot.MannKendall(weeklyZ)
	fmt.Printf("S = %d, Z = %.2f, p = %.4f\n", r.S, r.Z, r.P)
	// Output: S = 41, Z = 3.58, p = 0.0003
}

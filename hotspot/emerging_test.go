package hotspot

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"whistlegrid/geo"

	"github.com/uber/h3-go/v4"
)

// series turns "..C..H" into per-slice significance: H hot, C cold.
func series(s string) []int8 {
	out := make([]int8, 0, len(s))
	for _, r := range s {
		switch r {
		case 'H':
			out = append(out, 1)
		case 'C':
			out = append(out, -1)
		case ' ':
		default:
			out = append(out, 0)
		}
	}
	return out
}

func TestClassifyPattern(t *testing.T) {
	rising := MannKendallResult{S: 40, Z: 3.2, P: 0.001}
	falling := MannKendallResult{S: -40, Z: -3.2, P: 0.001}
	flat := MannKendallResult{S: 3, Z: 0.2, P: 0.84}
	atLevel := MannKendallResult{S: 20, Z: 1.96, P: 0.05}
	tests := []struct {
		name  string
		sig   string
		trend MannKendallResult
		want  Class
	}{
		{"nothing", "..........", flat, ClassNone},
		{"hot long ago only", "H.........", flat, ClassNone},
		{"new", ".........H", flat, NewHotSpot},
		{"new after a quiet 80%", "........ .H", rising, NewHotSpot},
		{"consecutive run of 2", "........HH", flat, ConsecutiveHotSpot},
		{"consecutive run of 5", ".....HHHHH", rising, ConsecutiveHotSpot},
		{"consecutive run of 8 (80%)", "..HHHHHHHH", rising, ConsecutiveHotSpot},
		{"run after an earlier hot slice is sporadic", ".H.....HHH", flat, SporadicHotSpot},
		{"intensifying, every slice", "HHHHHHHHHH", rising, IntensifyingHotSpot},
		{"intensifying, 90% with the final", ".HHHHHHHHH", rising, IntensifyingHotSpot},
		{"trend p at the level counts", "HHHHHHHHHH", atLevel, IntensifyingHotSpot},
		{"persistent", "HHHHHHHHHH", flat, PersistentHotSpot},
		{"persistent, 90% with a gap", "HHHH.HHHHH", flat, PersistentHotSpot},
		{"diminishing", "HHHHHHHHHH", falling, DiminishingHotSpot},
		{"sporadic", "H..H.H...H", flat, SporadicHotSpot},
		{"sporadic at 80%", "HH.HHHH.HH", rising, SporadicHotSpot},
		{"oscillating", "C..H.C...H", flat, OscillatingHotSpot},
		{"cold then new-looking hot is oscillating", "..C......H", flat, OscillatingHotSpot},
		{"cold then a hot run is oscillating", "C......HHH", flat, OscillatingHotSpot},
		{"historical", "HHHHHHHHH.", falling, HistoricalHotSpot},
		{"historical, final cold", "HHHHHHHHHC", flat, HistoricalHotSpot},
		{"80% but not the final is nothing", "HHHHHHHH..", flat, ClassNone},
		{"five slices all hot", "HHHHH", flat, PersistentHotSpot},
		{"five slices, 80% is under 90%", "HHHH.", flat, ClassNone},

		{"new cold", ".........C", flat, NewColdSpot},
		{"consecutive cold", ".......CCC", flat, ConsecutiveColdSpot},
		{"intensifying cold (z falling)", "CCCCCCCCCC", falling, IntensifyingColdSpot},
		{"persistent cold", "CCCCCCCCCC", flat, PersistentColdSpot},
		{"diminishing cold (z rising)", "CCCCCCCCCC", rising, DiminishingColdSpot},
		{"sporadic cold", "C..C...C.C", flat, SporadicColdSpot},
		{"oscillating cold", "H..C...H.C", flat, OscillatingColdSpot},
		{"historical cold", "CCCCCCCCC.", flat, HistoricalColdSpot},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(series(tc.sig), tc.trend, DefaultTrendAlpha); got != tc.want {
				t.Errorf("Classify(%q, %+v) = %s, want %s", tc.sig, tc.trend, got, tc.want)
			}
		})
	}
}

func TestWeekStart(t *testing.T) {
	tests := []struct {
		name string
		t    time.Time
		want time.Time
	}{
		{"Monday noon", time.Date(2025, 3, 3, 12, 0, 0, 0, geo.Beijing), time.Date(2025, 3, 3, 0, 0, 0, 0, geo.Beijing)},
		{"Sunday night", time.Date(2025, 3, 9, 23, 59, 0, 0, geo.Beijing), time.Date(2025, 3, 3, 0, 0, 0, 0, geo.Beijing)},
		{"Wednesday, across a month", time.Date(2025, 1, 1, 8, 0, 0, 0, geo.Beijing), time.Date(2024, 12, 30, 0, 0, 0, 0, geo.Beijing)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := WeekStart(tc.t)
			if !got.Equal(tc.want) || got.Weekday() != time.Monday {
				t.Errorf("WeekStart(%v) = %v, want %v", tc.t, got, tc.want)
			}
			if y, w := tc.t.ISOWeek(); func() bool { gy, gw := got.ISOWeek(); return gy != y || gw != w }() {
				t.Errorf("WeekStart(%v) = %v is in another ISO week", tc.t, got)
			}
		})
	}
}

// emergingScene plants clusters with different weekly histories over a
// uniform background, 12 weeks, in a 0.2° × 0.15° box at 延庆城区.
type plant struct {
	lon, lat float64
	perWeek  func(week int) int
	want     Class
}

func TestEmergingFindsPlantedPatterns(t *testing.T) {
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, geo.Beijing) // a Monday
	const weeks = 12
	end := start.AddDate(0, 0, 7*weeks)
	box := [4]float64{115.90, 116.10, 40.40, 40.55}
	plants := []plant{
		{115.93, 40.42, func(w int) int { return map[bool]int{true: 80}[w == weeks-1] }, NewHotSpot},
		{115.97, 40.46, func(w int) int { return 50 + 12*w }, IntensifyingHotSpot},
		{116.02, 40.50, func(w int) int { return 60 }, PersistentHotSpot},
		{116.06, 40.43, func(w int) int { return 180 - 12*w }, DiminishingHotSpot},
		{116.07, 40.52, func(w int) int { return map[bool]int{true: 60}[w < weeks-1] }, HistoricalHotSpot},
		{115.95, 40.53, func(w int) int { return map[bool]int{true: 60}[w >= weeks-3] }, ConsecutiveHotSpot},
		{116.00, 40.41, func(w int) int { return map[bool]int{true: 60}[w%3 == 2] }, SporadicHotSpot},
	}
	r := rand.New(rand.NewPCG(42, 1))
	var pts []Point
	at := func(w int) time.Time {
		return start.Add(time.Duration(w)*7*24*time.Hour + time.Duration(r.Int64N(int64(7*24*time.Hour))))
	}
	for w := range weeks {
		for range 5000 {
			pts = append(pts, Point{Lon: box[0] + (box[1]-box[0])*r.Float64(), Lat: box[2] + (box[3]-box[2])*r.Float64(), At: at(w)})
		}
		for _, p := range plants {
			for range p.perWeek(w) {
				pts = append(pts, Point{Lon: p.lon + r.NormFloat64()*60/84700, Lat: p.lat + r.NormFloat64()*60/111000, At: at(w)})
			}
		}
	}
	early := Point{Lon: 116, Lat: 40.5, At: start.Add(-time.Second)}
	late := Point{Lon: 116, Lat: 40.5, At: end}
	pts = append(pts, early, late)

	area, err := NewArea(boxCells(box, 9), 1)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Emerging(pts, EmergingOptions{Options: Options{Area: area}, Start: start, End: end})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Slices) != weeks {
		t.Fatalf("%d slices, want %d", len(res.Slices), weeks)
	}
	if res.OutOfWindow != 2 {
		t.Errorf("OutOfWindow = %d, want 2 (one clue a second early, one at End)", res.OutOfWindow)
	}
	if res.Clues+res.Outside != len(pts)-2 {
		t.Errorf("Clues %d + Outside %d != %d clues in the window", res.Clues, res.Outside, len(pts)-2)
	}
	for i, s := range res.Slices {
		if !s.Start.Equal(start.AddDate(0, 0, 7*i)) || !s.End.Equal(start.AddDate(0, 0, 7*i+7)) {
			t.Errorf("slice %d is %v..%v", i, s.Start, s.End)
		}
	}
	for _, p := range plants {
		t.Run(string(p.want), func(t *testing.T) {
			c := cellOf(p.lon, p.lat, 9)
			i, ok := area.Index(c)
			if !ok {
				t.Fatalf("cell %v is not in the area", c)
			}
			ct := res.Cells[i]
			if ct.Class != p.want {
				t.Errorf("cell %v: class %s, want %s (slices %v, trend %+v)", c, ct.Class, p.want, ct.SliceSig, ct.Trend)
			}
		})
	}
	// Away from the plants the background is uniform. A class needs a
	// significant final slice or 90% of slices; with the per-slice FDR cut
	// a pure-noise slice has a discovery only about 5% of the time, so a
	// handful of stray cells at most (observed: none).
	t.Run("background", func(t *testing.T) {
		near := map[h3.Cell]bool{}
		for _, p := range plants {
			for _, c := range h3.GridDisk(cellOf(p.lon, p.lat, 9), 3) {
				near[c] = true
			}
		}
		stray := 0
		for _, c := range res.Cells {
			if !near[c.Cell] && c.Class != ClassNone {
				stray++
			}
		}
		if stray > 10 {
			t.Errorf("%d background cells have a class, want at most 10 of %d", stray, len(res.Cells))
		}
	})
}

func TestEmergingOptions(t *testing.T) {
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, geo.Beijing)
	pts := []Point{{Lon: 116, Lat: 40.5, At: start.Add(time.Hour)}, {Lon: 116.01, Lat: 40.5, At: start.AddDate(0, 0, 9)}}
	tests := []struct {
		name       string
		o          EmergingOptions
		wantErr    bool
		wantSlices int
		lastEnd    time.Time
	}{
		{"no start", EmergingOptions{End: start}, true, 0, time.Time{}},
		{"end before start", EmergingOptions{Start: start, End: start.Add(-time.Hour)}, true, 0, time.Time{}},
		{"one slice", EmergingOptions{Start: start, End: start.AddDate(0, 0, 7)}, true, 0, time.Time{}},
		{"too many slices", EmergingOptions{Start: start, End: start.AddDate(20, 0, 0)}, true, 0, time.Time{}},
		{"bad trend alpha", EmergingOptions{Start: start, End: start.AddDate(0, 0, 28), TrendAlpha: 2}, true, 0, time.Time{}},
		{"four weeks", EmergingOptions{Start: start, End: start.AddDate(0, 0, 28)}, false, 4, start.AddDate(0, 0, 28)},
		{"partial last slice", EmergingOptions{Start: start, End: start.AddDate(0, 0, 17)}, false, 3, start.AddDate(0, 0, 17)},
		{"daily slices", EmergingOptions{Start: start, End: start.AddDate(0, 0, 10), Days: 1}, false, 10, start.AddDate(0, 0, 10)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Emerging(pts, tc.o)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if len(r.Slices) != tc.wantSlices || !r.Slices[len(r.Slices)-1].End.Equal(tc.lastEnd) {
				t.Errorf("%d slices ending %v, want %d ending %v", len(r.Slices), r.Slices[len(r.Slices)-1].End, tc.wantSlices, tc.lastEnd)
			}
			total := 0
			for _, s := range r.Slices {
				total += s.Clues
			}
			if total != r.Clues || r.Clues != 2 {
				t.Errorf("slices hold %d clues, result %d, want 2", total, r.Clues)
			}
			for _, c := range r.Cells {
				if len(c.SliceZ) != tc.wantSlices || len(c.SliceSig) != tc.wantSlices || math.IsNaN(c.Z) {
					t.Fatalf("cell %v has %d slice scores, want %d", c.Cell, len(c.SliceZ), tc.wantSlices)
				}
			}
		})
	}
}

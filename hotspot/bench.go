package hotspot

import (
	"math"
	"math/rand/v2"
	"runtime"
	"time"

	"whistlegrid/geo"

	"github.com/uber/h3-go/v4"
)

// BenchOptions sizes BenchEndToEnd.
type BenchOptions struct {
	Clues  int    // synthetic clues (default 1,000,000)
	Runs   int    // timed runs, the best is reported (default 5)
	Verify int    // clues whose cell is checked against h3-go's LatLngToCell (default 100,000)
	Seed   uint64 // random seed of the synthetic clues
}

// BenchReport is what `whistlegrid bench hotspots` measures: one Gi* run
// end to end over synthetic clues in the 延庆区 box (lon 115.8–116.6,
// lat 40.3–40.8, about 3,800 km²) at resolution 9, k = 1, alpha 0.05,
// with the box's cells as the study area. Times are milliseconds, the best
// of Runs; Total is one uninterrupted run of all four stages.
type BenchReport struct {
	Clues      int     `json:"clues"`
	Cells      int     `json:"cells"` // cells in the study area, n
	Cores      int     `json:"cores"`
	BinMS      float64 `json:"bin_ms"`     // clues to cell counts, all cores
	WeightsMS  float64 `json:"weights_ms"` // NewArea: k-ring weights of the study area
	GiStarMS   float64 `json:"gistar_ms"`  // counts to z-scores
	FDRMS      float64 `json:"fdr_ms"`     // negative binomial p-values and the two Benjamini–Hochberg cuts
	TotalMS    float64 `json:"total_ms"`
	NsPerClue  float64 `json:"ns_per_clue"` // TotalMS per clue
	H3Calls    int     `json:"h3_calls"`    // LatLngToCell calls while binning (a few per run, plus points on cell edges)
	Hot        int     `json:"hot"`         // cells classed hot
	Cold       int     `json:"cold"`        // cells classed cold
	Verified   int     `json:"verified"`    // clues checked against LatLngToCell
	Mismatches int     `json:"mismatches"`  // of those, cells that differ (must be 0)
}

// The benchmark box and its planted clusters (lon, lat, share of clues).
var (
	benchBox      = [4]float64{115.8, 116.6, 40.3, 40.8} // lon0, lon1, lat0, lat1
	benchClusters = [][3]float64{
		{115.975, 40.457, 0.02}, // 延庆城区
		{116.013, 40.358, 0.01}, // 八达岭
		{116.360, 40.580, 0.01}, // 四海
	}
)

// BenchEndToEnd generates synthetic clues (uniform over the box plus three
// dense clusters) and times binning, weights, Gi* and the FDR cut on them.
func BenchEndToEnd(o BenchOptions) (BenchReport, error) {
	if o.Clues == 0 {
		o.Clues = 1_000_000
	}
	if o.Runs == 0 {
		o.Runs = 5
	}
	if o.Verify == 0 {
		o.Verify = 100_000
	}
	pts := syntheticClues(o.Clues, o.Seed, benchClusters, 150)
	cells := boxCells(benchBox, DefaultResolution)
	rep := BenchReport{Clues: len(pts), Cells: len(cells), Cores: runtime.GOMAXPROCS(0)}
	for run := range o.Runs {
		st, err := endToEnd(pts, cells)
		if err != nil {
			return rep, err
		}
		if run == 0 || st.total < time.Duration(rep.TotalMS*1e6) {
			rep.TotalMS = ms(st.total)
		}
		if run == 0 {
			rep.BinMS, rep.WeightsMS, rep.GiStarMS, rep.FDRMS = ms(st.bin), ms(st.weights), ms(st.gistar), ms(st.fdr)
			rep.H3Calls, rep.Hot, rep.Cold = st.h3Calls, st.hot, st.cold
		}
		rep.BinMS = min(rep.BinMS, ms(st.bin))
		rep.WeightsMS = min(rep.WeightsMS, ms(st.weights))
		rep.GiStarMS = min(rep.GiStarMS, ms(st.gistar))
		rep.FDRMS = min(rep.FDRMS, ms(st.fdr))
	}
	rep.NsPerClue = rep.TotalMS * 1e6 / float64(len(pts))

	// Every verified clue's cell, from binning, must be LatLngToCell's.
	sample := pts[:min(o.Verify, len(pts))]
	b, err := binPoints(sample, DefaultResolution, 1, nil, 0)
	if err != nil {
		return rep, err
	}
	want := map[h3.Cell]int32{}
	for _, p := range sample {
		want[cellOf(p.Lon, p.Lat, DefaultResolution)]++
	}
	rep.Verified = len(sample)
	for i, c := range b.cells {
		if d := int(b.counts[i] - want[c]); d != 0 {
			rep.Mismatches += max(d, -d)
		}
		delete(want, c)
	}
	for _, n := range want {
		rep.Mismatches += int(n)
	}
	return rep, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// stageTimes are the durations of one endToEnd run.
type stageTimes struct {
	bin, weights, gistar, fdr, total time.Duration
	h3Calls, hot, cold               int
}

// endToEnd is one Gi* run as Analyze does it with a district area, with
// the area's weights built inside the run.
func endToEnd(pts []Point, cells []h3.Cell) (stageTimes, error) {
	var st stageTimes
	t0 := time.Now()
	b, err := binPoints(pts, DefaultResolution, 1, nil, 0)
	if err != nil {
		return st, err
	}
	t1 := time.Now()
	area, err := NewArea(cells, DefaultK)
	if err != nil {
		return st, err
	}
	t2 := time.Now()
	x, _ := areaValues(area.Len(), areaIndex(area, b), b, 0)
	z, err := area.GiStar(x)
	if err != nil {
		return st, err
	}
	t3 := time.Now()
	up, down, err := pValues(area, x, z, PNegBin)
	if err != nil {
		return st, err
	}
	for _, c := range significanceOf(up, down, DefaultAlpha) {
		switch c {
		case Hot:
			st.hot++
		case Cold:
			st.cold++
		}
	}
	t4 := time.Now()
	st.bin, st.weights, st.gistar, st.fdr, st.total = t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), t4.Sub(t3), t4.Sub(t0)
	st.h3Calls = b.h3Calls
	return st, nil
}

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

// BenchPoints are the synthetic clues BenchEndToEnd analyses for o, for a
// baseline to run on the same points.
func BenchPoints(o BenchOptions) []Point {
	if o.Clues == 0 {
		o.Clues = 1_000_000
	}
	return syntheticClues(o.Clues, o.Seed, benchClusters, 150)
}

// BenchBox is the study area of BenchEndToEnd: lon0, lat0, lon1, lat1
// (WGS-84).
func BenchBox() [4]float64 { return [4]float64{benchBox[0], benchBox[2], benchBox[1], benchBox[3]} }

package hotspot

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"
)

// Defaults and limits of EmergingOptions.
const (
	// DefaultSliceDays is the length of a time slice: one week.
	DefaultSliceDays = 7
	// DefaultTrendAlpha is the two-sided significance level of the
	// Mann–Kendall trend that tells intensifying and diminishing hot spots
	// from persistent ones.
	DefaultTrendAlpha = 0.05
	// MaxSlices bounds the number of time slices: ten years of weeks.
	MaxSlices = 520
)

// EmergingOptions configures Emerging.
type EmergingOptions struct {
	Options
	// Start is the start of the first slice, inclusive, and End the end of
	// the last, exclusive; both are required. Slice i covers
	// [Start + i·Days, Start + (i+1)·Days) in calendar days of Start's
	// location (time.Time.AddDate), the last one cut at End, so it is
	// shorter when End − Start is not a whole number of slices. For ISO
	// weeks pass a Monday 00:00 (WeekStart) in Asia/Shanghai as Start and
	// a Monday as End. Clues outside [Start, End) are left out and counted
	// in EmergingResult.OutOfWindow.
	Start, End time.Time
	// Days is the slice length in calendar days; 0 means DefaultSliceDays.
	Days int
	// TrendAlpha is the two-sided significance level of the Mann–Kendall
	// trend (0 < TrendAlpha < 1); 0 means DefaultTrendAlpha.
	TrendAlpha float64
}

// WeekStart returns Monday 00:00 of the ISO week of t, in t's location.
func WeekStart(t time.Time) time.Time {
	y, m, d := t.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, t.Location())
	back := (int(day.Weekday()) + 6) % 7 // days since Monday
	return day.AddDate(0, 0, -back)
}

// Class is the emerging hot spot class of a location (Esri's "pattern
// category"; `class` in the API and its GeoJSON), after Esri's "How
// Emerging Hot Spot Analysis works" (ArcGIS Pro). Let n be the number of
// slices, a slice hot (cold) when the cell is a significant hot (cold)
// spot in it after the per-slice FDR cut, and the trend the Mann–Kendall
// test on the cell's slice z-scores at TrendAlpha:
//
//   - new: hot in the final slice only, never significant before.
//   - consecutive: one uninterrupted run of at least two hot slices that
//     ends with the final slice, never significant before the run, hot in
//     less than 90% of the slices.
//   - intensifying: hot in at least 90% of the slices including the final
//     one, z rising significantly.
//   - persistent: hot in at least 90% of the slices including the final
//     one, no significant trend.
//   - diminishing: hot in at least 90% of the slices including the final
//     one, z falling significantly.
//   - sporadic: hot in the final slice, on and off before, in less than
//     90% of the slices, never cold.
//   - oscillating: hot in the final slice, cold in some earlier slice, hot
//     in less than 90% of the slices.
//   - historical: not hot in the final slice, hot in at least 90%.
//
// Where Esri's words overlap, a cell hot in the final slice after a cold
// spot history is oscillating, not new or consecutive: "never significant
// before" is read as neither hot nor cold, as in sfdep's reading of Esri.
// The cold classes mirror the hot ones (cold for hot, a falling z for a
// rising one: an intensifying cold spot gets colder). "At least 90%" is
// 10·hot ≥ 9·n, so with fewer than ten slices it means every slice.
type Class string

// The classes. ClassNone is Esri's "no pattern detected".
const (
	ClassNone           Class = "none"
	NewHotSpot          Class = "new_hot_spot"
	ConsecutiveHotSpot  Class = "consecutive_hot_spot"
	IntensifyingHotSpot Class = "intensifying_hot_spot"
	PersistentHotSpot   Class = "persistent_hot_spot"
	DiminishingHotSpot  Class = "diminishing_hot_spot"
	SporadicHotSpot     Class = "sporadic_hot_spot"
	OscillatingHotSpot  Class = "oscillating_hot_spot"
	HistoricalHotSpot   Class = "historical_hot_spot"

	NewColdSpot          Class = "new_cold_spot"
	ConsecutiveColdSpot  Class = "consecutive_cold_spot"
	IntensifyingColdSpot Class = "intensifying_cold_spot"
	PersistentColdSpot   Class = "persistent_cold_spot"
	DiminishingColdSpot  Class = "diminishing_cold_spot"
	SporadicColdSpot     Class = "sporadic_cold_spot"
	OscillatingColdSpot  Class = "oscillating_cold_spot"
	HistoricalColdSpot   Class = "historical_cold_spot"
)

// The classes by kind, hot then cold.
var classNames = [...][2]Class{
	{NewHotSpot, NewColdSpot},
	{ConsecutiveHotSpot, ConsecutiveColdSpot},
	{IntensifyingHotSpot, IntensifyingColdSpot},
	{PersistentHotSpot, PersistentColdSpot},
	{DiminishingHotSpot, DiminishingColdSpot},
	{SporadicHotSpot, SporadicColdSpot},
	{OscillatingHotSpot, OscillatingColdSpot},
	{HistoricalHotSpot, HistoricalColdSpot},
}

// Classes returns every class but ClassNone: the hot ones, then the
// cold ones.
func Classes() []Class {
	out := make([]Class, 0, 2*len(classNames))
	for d := range 2 {
		for _, p := range classNames {
			out = append(out, p[d])
		}
	}
	return out
}

const (
	kindNone = iota - 1
	kindNew
	kindConsecutive
	kindIntensifying
	kindPersistent
	kindDiminishing
	kindSporadic
	kindOscillating
	kindHistorical
)

// Classify returns the emerging hot spot class of one cell from its
// per-slice significance sig, oldest first (+1 a significant hot spot, −1
// a significant cold spot, 0 neither), and the Mann–Kendall test of its
// slice z-scores, significant when trend.P ≤ trendAlpha. See Class.
func Classify(sig []int8, trend MannKendallResult, trendAlpha float64) Class {
	if k := classKind(sig, 1, trend, trendAlpha); k != kindNone {
		return classNames[k][0]
	}
	if k := classKind(sig, -1, trend, trendAlpha); k != kindNone {
		return classNames[k][1]
	}
	return ClassNone
}

// classKind classifies in direction d (+1 hot, −1 cold).
func classKind(sig []int8, d int8, trend MannKendallResult, trendAlpha float64) int {
	n := len(sig)
	if n == 0 {
		return kindNone
	}
	same, opposite := 0, 0
	for _, s := range sig {
		switch s {
		case d:
			same++
		case -d:
			opposite++
		}
	}
	final := sig[n-1] == d
	if 10*same >= 9*n {
		switch {
		case !final:
			return kindHistorical
		case trend.P <= trendAlpha && float64(d)*trend.Z > 0:
			return kindIntensifying
		case trend.P <= trendAlpha && float64(d)*trend.Z < 0:
			return kindDiminishing
		default:
			return kindPersistent
		}
	}
	if !final {
		return kindNone
	}
	if opposite > 0 {
		return kindOscillating
	}
	if same == 1 {
		return kindNew
	}
	run := 0
	for i := n - 1; i >= 0 && sig[i] == d; i-- {
		run++
	}
	if run == same {
		return kindConsecutive
	}
	return kindSporadic
}

// Slice is one time slice of an emerging analysis.
type Slice struct {
	Start time.Time `json:"start"` // inclusive
	End   time.Time `json:"end"`   // exclusive
	Clues int       `json:"clues"` // clues in the study area in this slice
	Hot   int       `json:"hot"`   // cells significant hot in this slice
	Cold  int       `json:"cold"`  // cells significant cold in this slice
}

// CellTrend is the emerging hot spot result of one cell. The embedded
// CellStat is Gi* over the whole window [Start, End), classified as
// Analyze does; Class comes from the slices.
type CellTrend struct {
	CellStat
	Class Class `json:"class"`
	// Trend is the Mann–Kendall test of SliceZ.
	Trend MannKendallResult `json:"trend"`
	// SliceZ is the cell's Gi* z-score in each slice, oldest first.
	SliceZ []float64 `json:"slice_z"`
	// SliceSig is +1 where the cell is a significant hot spot in the slice,
	// −1 a significant cold spot, 0 neither.
	SliceSig []int8 `json:"slice_sig"`
}

// EmergingResult is the outcome of Emerging.
type EmergingResult struct {
	Resolution int     `json:"resolution"`
	K          int     `json:"k"`
	Alpha      float64 `json:"alpha"`
	TrendAlpha float64 `json:"trend_alpha"`
	PMethod    PMethod `json:"p_method"` // how the p-values were computed
	Slices     []Slice `json:"slices"`
	// Cells holds every cell of the study area in ascending order of index.
	Cells       []CellTrend   `json:"cells"`
	Classes     map[Class]int `json:"classes"`       // cells per class other than none
	Clues       int           `json:"clues"`         // clues counted, in the area and the window
	Outside     int           `json:"outside"`       // clues in the window but outside the area
	OutOfWindow int           `json:"out_of_window"` // clues before Start or not before End
}

// Emerging runs an emerging hot spot analysis: the clues are binned into
// H3 cells and time slices, Gi* is computed per slice over the same study
// area and weights, and cut at false discovery rate Alpha per slice and
// per direction with the same p-values as Analyze, the Mann–Kendall test runs on each cell's
// series of slice z-scores, and each cell gets a Class. Unlike Esri's
// space-time Gi*, a slice's neighbourhood is spatial only.
func Emerging(points []Point, o EmergingOptions) (*EmergingResult, error) {
	return EmergingContext(context.Background(), points, o)
}

// EmergingContext is Emerging stopping with ctx's error when ctx ends: it
// looks at ctx between slices and every checkEvery cells, so a canceled
// request stops a large analysis within milliseconds.
func EmergingContext(ctx context.Context, points []Point, o EmergingOptions) (*EmergingResult, error) {
	s, err := o.settings()
	if err != nil {
		return nil, err
	}
	days := o.Days
	if days == 0 {
		days = DefaultSliceDays
	}
	trendAlpha := o.TrendAlpha
	if trendAlpha == 0 {
		trendAlpha = DefaultTrendAlpha
	}
	switch {
	case days < 1:
		return nil, fmt.Errorf("hotspot: slice length %d days is not positive", days)
	case !(trendAlpha > 0 && trendAlpha < 1):
		return nil, fmt.Errorf("hotspot: trend significance %v is outside (0, 1)", trendAlpha)
	case o.Start.IsZero() || o.End.IsZero():
		return nil, fmt.Errorf("hotspot: an emerging analysis needs a start and an end")
	case !o.End.After(o.Start):
		return nil, fmt.Errorf("hotspot: end %v is not after start %v", o.End, o.Start)
	}
	bounds := []time.Time{o.Start}
	for i := 1; bounds[len(bounds)-1].Before(o.End); i++ {
		if i > MaxSlices {
			return nil, fmt.Errorf("hotspot: %v to %v is more than %d slices of %d days", o.Start, o.End, MaxSlices, days)
		}
		bounds = append(bounds, o.Start.AddDate(0, 0, i*days))
	}
	bounds[len(bounds)-1] = o.End
	ns := len(bounds) - 1
	if ns < 2 {
		return nil, fmt.Errorf("hotspot: %v to %v is one slice of %d days; a trend needs at least 2 (Esri asks for 10)", o.Start, o.End, days)
	}
	nanos := make([]int64, len(bounds))
	for i, t := range bounds {
		nanos[i] = t.UnixNano()
	}
	sliceOf := func(i int) int {
		t := points[i].At
		if t.Before(o.Start) || !t.Before(o.End) {
			return -1
		}
		// the last bound ≤ t
		j, found := slices.BinarySearch(nanos, t.UnixNano())
		if !found {
			j--
		}
		return j
	}
	b, err := binPoints(points, s.res, ns, sliceOf, s.workers)
	if err != nil {
		return nil, err
	}
	r := &EmergingResult{
		Resolution: s.res, K: s.k, Alpha: s.alpha, TrendAlpha: trendAlpha, PMethod: s.pm,
		Classes: map[Class]int{}, OutOfWindow: b.skipped,
	}
	for i := range ns {
		r.Slices = append(r.Slices, Slice{Start: bounds[i], End: bounds[i+1]})
	}
	area := s.area
	if area == nil {
		if len(b.cells) == 0 {
			return r, nil
		}
		if area, err = AreaAround(b.cells, s.k); err != nil {
			return nil, err
		}
	}
	n := area.Len()
	idx := areaIndex(area, b)

	// Per slice: Gi*, then the FDR cut. The scores and signs are kept cell
	// by cell (cell i's series at [i*ns, (i+1)*ns)), which is how the
	// cells hold them: one allocation each, nothing copied.
	zs := make([]float64, n*ns)
	sig := make([]int8, n*ns)
	total := make([]float64, n)
	x, z := make([]float64, n), make([]float64, n)
	for t := range ns {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		counted := areaValuesInto(x, idx, b, t)
		r.Slices[t].Clues = counted
		r.Clues += counted
		for i, v := range x {
			total[i] += v
		}
		if err := area.giStarInto(z, x); err != nil {
			return nil, err
		}
		up, down, err := pValues(area, x, z, s.pm)
		if err != nil {
			return nil, err
		}
		for i, c := range signsOf(up, down, s.alpha) {
			zs[i*ns+t], sig[i*ns+t] = z[i], c
			switch c {
			case 1:
				r.Slices[t].Hot++
			case -1:
				r.Slices[t].Cold++
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.Outside = b.points - r.Clues
	zAll, err := area.GiStar(total)
	if err != nil {
		return nil, err
	}
	upAll, downAll, err := pValues(area, total, zAll, s.pm)
	if err != nil {
		return nil, err
	}
	clsAll := significanceOf(upAll, downAll, s.alpha)

	// Per cell: the trend and the class, on all cores.
	r.Cells = make([]CellTrend, n)
	workers := max(1, min(runtime.GOMAXPROCS(0), n/256))
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*n/workers, (w+1)*n/workers
		wg.Go(func() {
			scratch := make([]float64, ns)
			for i := lo; i < hi; i++ {
				if (i-lo)%checkEvery == 0 && ctx.Err() != nil {
					return
				}
				c := &r.Cells[i]
				c.CellStat = CellStat{Cell: area.cells[i], Count: int(total[i]), Z: zAll[i], P: directedP(zAll[i], upAll[i], downAll[i]), Significance: clsAll[i]}
				c.SliceZ = zs[i*ns : (i+1)*ns : (i+1)*ns]
				c.SliceSig = sig[i*ns : (i+1)*ns : (i+1)*ns]
				c.Trend = mannKendall(c.SliceZ, scratch)
				c.Class = Classify(c.SliceSig, c.Trend, trendAlpha)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, c := range r.Cells {
		if c.Class != ClassNone {
			r.Classes[c.Class]++
		}
	}
	return r, nil
}

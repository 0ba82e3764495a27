package hotspot

import (
	"fmt"

	"github.com/uber/h3-go/v4"
)

// Defaults of Options.
const (
	// DefaultResolution is the H3 resolution clues are binned at: cells of
	// 0.105 km² on average (174 m edge; 0.076 km² in 延庆区), a few village
	// lanes across.
	DefaultResolution = 9
	// DefaultK is the k-ring radius of the Gi* neighbourhood: the cell and
	// its 6 neighbours.
	DefaultK = 1
	// DefaultAlpha is the false discovery rate of the Benjamini–Hochberg cut.
	DefaultAlpha = 0.05
)

// Options configures Analyze and Emerging. The zero value means the
// defaults and the "cells with data plus their neighbours" study area.
type Options struct {
	// Resolution is the H3 resolution (1..15); 0 means the Area's, or
	// DefaultResolution when there is no Area.
	Resolution int
	// K is the k-ring radius of the Gi* weights (1..MaxK); 0 means the
	// Area's, or DefaultK when there is no Area.
	K int
	// Alpha is the false discovery rate (0 < Alpha < 1); 0 means
	// DefaultAlpha.
	Alpha float64
	// Area is the study area. The lead case is every cell of the district
	// (NewArea), so empty cells count as zeros. nil means AreaAround the
	// cells that have clues. Clues in cells outside the area are left out
	// and counted in Result.Outside.
	Area *Area
	// PMethod is how p-values are computed: PNegBin (the default, also for
	// "") or PNormal. See countp.go for why PNegBin is the default.
	PMethod PMethod
	// Workers is how many goroutines bin the clues; 0 means GOMAXPROCS.
	Workers int
}

// settings are Options with the defaults filled in and checked.
type settings struct {
	res, k  int
	alpha   float64
	area    *Area
	pm      PMethod
	workers int
}

func (o Options) settings() (settings, error) {
	s := settings{res: o.Resolution, k: o.K, alpha: o.Alpha, area: o.Area, pm: o.PMethod, workers: o.Workers}
	if a := o.Area; a != nil {
		if s.res == 0 {
			s.res = a.res
		}
		if s.k == 0 {
			s.k = a.k
		}
		if s.res != a.res || s.k != a.k {
			return s, fmt.Errorf("hotspot: options ask for resolution %d, k %d but the area has resolution %d, k %d", s.res, s.k, a.res, a.k)
		}
	}
	if s.res == 0 {
		s.res = DefaultResolution
	}
	if s.k == 0 {
		s.k = DefaultK
	}
	if s.alpha == 0 {
		s.alpha = DefaultAlpha
	}
	if s.pm == "" {
		s.pm = PNegBin
	}
	if s.pm != PNegBin && s.pm != PNormal {
		return s, fmt.Errorf("hotspot: unknown p-value method %q", s.pm)
	}
	if err := checkResolution(s.res); err != nil {
		return s, err
	}
	if s.k < 1 || s.k > MaxK {
		return s, fmt.Errorf("hotspot: k-ring radius %d is outside 1..%d", s.k, MaxK)
	}
	if !(s.alpha > 0 && s.alpha < 1) {
		return s, fmt.Errorf("hotspot: false discovery rate %v is outside (0, 1)", s.alpha)
	}
	return s, nil
}

// Significance says whether a cell is a significant hot spot, a
// significant cold spot, or neither, after the false discovery rate cut.
// (The emerging hot spot class over slices is Class.)
type Significance string

// The significances of Analyze.
const (
	NotSignificant Significance = "none"
	Hot            Significance = "hot"
	Cold           Significance = "cold"
)

// CellStat is the Gi* result of one cell. Cell is the H3 index: int64(Cell)
// is the bigint stored in clues.h3, Cell.String() the hex form, and JSON
// carries the hex form (a 64-bit integer does not survive JavaScript).
// Significance follows P and the false discovery rate cut, not Z alone:
// Z is standardised by S over the whole map, which a few strong clusters
// inflate, so on such a map a significant background cell can show a
// modest Z.
type CellStat struct {
	Cell  h3.Cell `json:"h3"`
	Count int     `json:"count"` // clues in the cell
	Z     float64 `json:"z"`     // Gi* z-score
	// P is the one-sided p-value in the direction of Z: the upper tail (hot
	// spot p-value) when Z ≥ 0, the lower tail (cold) when Z < 0: from
	// Area.PValues, or 1 − Φ(Z) and Φ(Z), as Result.PMethod says.
	P            float64      `json:"p"`
	Significance Significance `json:"significance"`
}

// Result is the outcome of Analyze.
type Result struct {
	Resolution int     `json:"resolution"`
	K          int     `json:"k"`
	Alpha      float64 `json:"alpha"`
	PMethod    PMethod `json:"p_method"` // how P was computed
	// Cells holds every cell of the study area in ascending order of index,
	// empty ones included.
	Cells   []CellStat `json:"cells"`
	Clues   int        `json:"clues"`   // clues counted in the study area
	Outside int        `json:"outside"` // clues in cells outside the study area, left out
	Hot     int        `json:"hot"`     // cells classed hot
	Cold    int        `json:"cold"`    // cells classed cold
}

// Analyze bins the clues into H3 cells, computes Gi* over the study area
// and cuts it at false discovery rate Alpha, separately for each
// direction: the hot spots are the Benjamini–Hochberg discoveries among the
// upper-tail p-values of all n cells, the cold spots those among the
// lower-tail p-values of all n cells. Each direction is one family at
// Alpha, so over both the expected share of false discoveries is at most
// 2·Alpha; a cell cannot be both. The p-values are those of Area.PValues
// unless Options.PMethod asks for the normal approximation. The clues must
// already be filtered (category, source, township, time window).
func Analyze(points []Point, o Options) (*Result, error) {
	s, err := o.settings()
	if err != nil {
		return nil, err
	}
	b, err := binPoints(points, s.res, 1, nil, s.workers)
	if err != nil {
		return nil, err
	}
	r := &Result{Resolution: s.res, K: s.k, Alpha: s.alpha, PMethod: s.pm}
	area := s.area
	if area == nil {
		if len(b.cells) == 0 {
			return r, nil
		}
		if area, err = AreaAround(b.cells, s.k); err != nil {
			return nil, err
		}
	}
	x, counted := areaValues(area.Len(), areaIndex(area, b), b, 0)
	r.Clues = counted
	r.Outside = b.points - counted
	z, err := area.GiStar(x)
	if err != nil {
		return nil, err
	}
	up, down, err := pValues(area, x, z, s.pm)
	if err != nil {
		return nil, err
	}
	cls := significanceOf(up, down, s.alpha)
	r.Cells = make([]CellStat, len(z))
	for i, c := range area.cells {
		r.Cells[i] = CellStat{Cell: c, Count: int(x[i]), Z: z[i], P: directedP(z[i], up[i], down[i]), Significance: cls[i]}
		switch cls[i] {
		case Hot:
			r.Hot++
		case Cold:
			r.Cold++
		}
	}
	return r, nil
}

// areaIndex maps each cell of b to its position in the area, -1 outside.
func areaIndex(a *Area, b *binned) []int32 {
	idx := make([]int32, len(b.cells))
	for i, c := range b.cells {
		if j, ok := a.index[c]; ok {
			idx[i] = j
		} else {
			idx[i] = -1
		}
	}
	return idx
}

// areaValues returns the counts of slice s of b in the order of the area's
// cells (idx from areaIndex), and how many clues that is: the rest fell
// outside the area.
func areaValues(n int, idx []int32, b *binned, s int) ([]float64, int) {
	x := make([]float64, n)
	return x, areaValuesInto(x, idx, b, s)
}

// areaValuesInto is areaValues writing into x, one value per cell of the
// area.
func areaValuesInto(x []float64, idx []int32, b *binned, s int) int {
	clear(x)
	counted := 0
	for i, j := range idx {
		if j >= 0 {
			c := b.counts[i*b.slices+s]
			x[j] += float64(c)
			counted += int(c)
		}
	}
	return counted
}

// pValues returns the upper and lower one-sided p-values of every cell:
// count p-values from the values x, or normal ones from the scores z.
func pValues(a *Area, x, z []float64, m PMethod) (up, down []float64, err error) {
	if m == PNegBin {
		return a.PValues(x)
	}
	up, down = make([]float64, len(z)), make([]float64, len(z))
	for i, v := range z {
		up[i], down[i] = UpperTail(v), LowerTail(v)
	}
	return up, down, nil
}

// significanceOf cuts cells into hot, cold and none at false discovery
// rate alpha, one Benjamini–Hochberg family per direction.
func significanceOf(up, down []float64, alpha float64) []Significance {
	signs := signsOf(up, down, alpha)
	out := make([]Significance, len(signs))
	for i, s := range signs {
		switch s {
		case 1:
			out[i] = Hot
		case -1:
			out[i] = Cold
		default:
			out[i] = NotSignificant
		}
	}
	return out
}

// signsOf is significanceOf as +1 (hot), −1 (cold) and 0, a byte a cell:
// the emerging analysis keeps one per cell and slice.
func signsOf(up, down []float64, alpha float64) []int8 {
	hot := BenjaminiHochberg(up, alpha)
	cold := BenjaminiHochberg(down, alpha)
	out := make([]int8, len(up))
	for i := range up {
		switch {
		case hot[i]:
			out[i] = 1
		case cold[i]:
			out[i] = -1
		}
	}
	return out
}

// directedP is the one-sided p-value in the direction of z.
func directedP(z, up, down float64) float64 {
	if z >= 0 {
		return up
	}
	return down
}

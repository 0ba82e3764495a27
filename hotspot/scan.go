package hotspot

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"whistlegrid/metrics"

	"whistlegrid/geo"

	"github.com/uber/h3-go/v4"
)

// Defaults of ScanOptions.
const (
	// DefaultScanWeeks is how many whole weeks a scan looks back: twelve
	// slices, enough for Esri's ten and for the 90% rule to allow one
	// quiet week.
	DefaultScanWeeks = 12
	// DefaultScanMinClues is how many clues a category needs in the window
	// for the scan to analyse it.
	DefaultScanMinClues = 20
	// DefaultScanMinLastWeek is how many clues a place needs in the final
	// week to be filed. Where a category is rare, two clues in one week
	// are already a significant cluster, but not yet a case to act on: a
	// handful of reports of one incident, which its own clues cover.
	DefaultScanMinLastWeek = 5
)

// Filer files a hot spot as a clue of source SourceHotspot, so that the
// rules may raise a whistle before anyone complains. whistle.Store is one.
// FileHotspot is idempotent on externalID: filed is false when a clue
// with that id was already there.
type Filer interface {
	FileHotspot(ctx context.Context, externalID, category, text string, lon, lat float64, at time.Time) (filed bool, err error)
}

// ScanOptions configures Scan. The zero value means the defaults.
type ScanOptions struct {
	Weeks       int      // whole ISO weeks to look back; 0 means DefaultScanWeeks
	Categories  []string // the category codes to scan (exactly); empty means every one
	MinClues    int      // clues a category needs in the window; 0 means DefaultScanMinClues
	MinLastWeek int      // clues a place needs in the final week; 0 means DefaultScanMinLastWeek
	Resolution  int      // H3 resolution; 0 means DefaultResolution
	K           int      // k-ring radius; 0 means DefaultK
	Alpha       float64  // false discovery rate; 0 means DefaultAlpha
}

// Finding is one place where a scan found new or intensifying hot spots:
// hot cells of one category within grid distance 2k of each other.
type Finding struct {
	Cell         h3.Cell   `json:"cell"`          // the peak: the cell with the highest z
	Cells        []h3.Cell `json:"cells"`         // the hot cells of the place, peak first
	Category     string    `json:"category"`      // category code
	CategoryName string    `json:"category_name"` // category name
	Class        Class     `json:"class"`         // NewHotSpot, IntensifyingHotSpot, or ConsecutiveHotSpot in its second week (see Scan)
	Z            float64   `json:"z"`             // Gi* z over the whole window
	P            float64   `json:"p"`             // its p-value
	Count        int       `json:"count"`         // clues in the cells over the window
	LastCount    int       `json:"last_count"`    // clues in the cells in the final week
	PrevCount    int       `json:"prev_count"`    // clues in the cells in the week before
	Lon          float64   `json:"lon"`           // where the clue is filed: the final week's clue nearest the cell's centre
	Lat          float64   `json:"lat"`
	WindowStart  time.Time `json:"window_start"` // a Monday 00:00 Beijing time
	WindowEnd    time.Time `json:"window_end"`   // a Monday 00:00 Beijing time, exclusive
	ExternalID   string    `json:"external_id"`  // the clue's id: once per cell, category and window
	Filed        bool      `json:"filed"`        // false when an earlier scan already filed it
}

// Text is the clue's text, in Chinese.
func (f Finding) Text() string {
	what := "新出现的热点"
	if f.Class == IntensifyingHotSpot {
		what = "持续增强的热点"
	}
	weeks := int(math.Round(f.WindowEnd.Sub(f.WindowStart).Hours() / 24 / 7))
	return fmt.Sprintf("系统研判（未诉先办）：近%d周「%s」线索在此显著聚集，为%s；本周%d条，%d周共%d条（Gi* z=%.1f，p=%.2g）。建议主动处置。",
		weeks, f.CategoryName, what, f.LastCount, weeks, f.Count, f.Z, f.P)
}

// ScanResult is what one scan did.
type ScanResult struct {
	WindowStart time.Time     `json:"window_start"`
	WindowEnd   time.Time     `json:"window_end"`
	Clues       int           `json:"clues"`      // clues read
	Categories  int           `json:"categories"` // categories analysed
	Findings    []Finding     `json:"findings"`
	Filed       int           `json:"filed"` // findings filed as new clues
	Took        time.Duration `json:"took_ns"`
}

// ScanWindow returns the window a scan at now looks at: the weeks whole
// ISO weeks (Monday 00:00 Beijing time) before the week of now.
func ScanWindow(now time.Time, weeks int) (start, end time.Time) {
	if weeks <= 0 {
		weeks = DefaultScanWeeks
	}
	end = WeekStart(now.In(geo.Beijing))
	return end.AddDate(0, 0, -7*weeks), end
}

// Scan runs the emerging hot spot analysis over the whole district for
// each category with enough clues in the window ScanWindow gives for now.
// Each place (hot cells within 2k of each other) that is a new or
// intensifying hot spot and has at least MinLastWeek clues in the final
// week is filed with f, once per place, category and window: a second
// scan in the same week files nothing new, and two servers scanning at
// once file each place once (the clue's external id is unique). A place
// that turned hot late in a week, with fewer than MinLastWeek clues in it,
// is a consecutive hot spot by the next scan; it is filed then, in its
// second week, unless it was already filed as new. Clues of source
// hotspot are left out.
//
// Each scan is counted in metrics.HotspotScan.
func (s *Store) Scan(ctx context.Context, f Filer, now time.Time, o ScanOptions) (*ScanResult, error) {
	began := time.Now()
	r, err := s.scan(ctx, f, now, o, began)
	filed := 0
	if r != nil {
		filed = r.Filed
	}
	metrics.HotspotScan(err, time.Since(began), filed)
	return r, err
}

// scan is Scan, uncounted.
func (s *Store) scan(ctx context.Context, f Filer, now time.Time, o ScanOptions, began time.Time) (*ScanResult, error) {
	if o.MinClues <= 0 {
		o.MinClues = DefaultScanMinClues
	}
	if o.MinLastWeek <= 0 {
		o.MinLastWeek = DefaultScanMinLastWeek
	}
	start, end := ScanWindow(now, o.Weeks)
	q := Query{From: start, To: end, Resolution: o.Resolution, K: o.K, Alpha: o.Alpha, codes: o.Categories}
	if err := q.check(); err != nil {
		return nil, err
	}
	area, err := s.Area(ctx, nil, q.Resolution, q.K)
	if err != nil {
		return nil, err
	}
	all, err := s.readPoints(ctx, q)
	if err != nil {
		return nil, err
	}
	res := &ScanResult{WindowStart: start, WindowEnd: end, Clues: len(all), Findings: []Finding{}}
	byCat := map[string][]categorised{}
	for _, c := range all {
		byCat[c.code] = append(byCat[c.code], c)
	}
	codes := make([]string, 0, len(byCat))
	for code, cs := range byCat {
		if len(cs) >= o.MinClues { // the query read only o.Categories, when given
			codes = append(codes, code)
		}
	}
	slices.Sort(codes)
	lastWeek := end.AddDate(0, 0, -7)
	for _, code := range codes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		cs := byCat[code]
		pts := make([]Point, len(cs))
		for i, c := range cs {
			pts[i] = c.Point
		}
		r, err := EmergingContext(ctx, pts, EmergingOptions{
			Options: Options{Resolution: q.Resolution, K: q.K, Alpha: q.Alpha, Area: area},
			Start:   start, End: end, Days: 7,
		})
		if err != nil {
			return nil, fmt.Errorf("hotspot: scan %s: %w", code, err)
		}
		res.Categories++
		var cand []CellTrend
		for _, ct := range r.Cells {
			if ct.Class == NewHotSpot || ct.Class == IntensifyingHotSpot || secondWeek(ct) {
				cand = append(cand, ct)
			}
		}
		for _, g := range groupCells(cand, 2*area.K()) {
			peak := g[0]
			fd := Finding{
				Cell: peak.Cell, Category: code, CategoryName: cs[0].name, Class: peak.Class,
				Z: peak.Z, P: peak.P, WindowStart: start, WindowEnd: end,
				ExternalID: fmt.Sprintf("HS%s-%s-%s", end.Format("20060102"), code, peak.Cell),
			}
			for _, ct := range g {
				fd.Cells = append(fd.Cells, ct.Cell)
				fd.Count += ct.Count
			}
			if !fd.locate(pts, area.Resolution(), lastWeek) || fd.LastCount < o.MinLastWeek {
				continue // too few clues this week to act on
			}
			if fd.Class == ConsecutiveHotSpot && fd.PrevCount >= o.MinLastWeek {
				continue // filed as new last week
			}
			res.Findings = append(res.Findings, fd)
		}
	}
	for i := range res.Findings {
		fd := &res.Findings[i]
		filed, err := f.FileHotspot(ctx, fd.ExternalID, fd.Category, fd.Text(), fd.Lon, fd.Lat, now)
		if err != nil {
			return nil, fmt.Errorf("hotspot: scan: file %s: %w", fd.ExternalID, err)
		}
		fd.Filed = filed
		if filed {
			res.Filed++
		}
	}
	res.Took = time.Since(began)
	return res, nil
}

// secondWeek reports whether a cell is a consecutive hot spot in its
// second week: hot in the last two slices only.
func secondWeek(ct CellTrend) bool {
	n := len(ct.SliceSig)
	if ct.Class != ConsecutiveHotSpot || n < 3 {
		return false
	}
	return ct.SliceSig[n-1] > 0 && ct.SliceSig[n-2] > 0 && ct.SliceSig[n-3] <= 0
}

// groupCells joins cells within grid distance d of each other (single
// linkage) into groups, each ordered by descending z; the groups are
// ordered by their peak's z. A cluster's clues make its neighbours within
// k hot as well, so one place is one group, filed once at its peak.
func groupCells(cts []CellTrend, d int) [][]CellTrend {
	slices.SortFunc(cts, func(a, b CellTrend) int {
		if a.Z != b.Z {
			return cmp.Compare(b.Z, a.Z)
		}
		return cmp.Compare(a.Cell, b.Cell)
	})
	group := make([]int, len(cts))
	for i := range group {
		group[i] = i
	}
	find := func(i int) int {
		for group[i] != i {
			group[i] = group[group[i]]
			i = group[i]
		}
		return i
	}
	for i := range cts {
		for j := i + 1; j < len(cts); j++ {
			if g := h3.GridDistance(cts[i].Cell, cts[j].Cell); g >= 0 && g <= d {
				a, b := find(i), find(j)
				group[max(a, b)] = min(a, b) // the root is the member with the highest z
			}
		}
	}
	var out [][]CellTrend
	at := map[int]int{}
	for i, ct := range cts {
		r := find(i)
		k, ok := at[r]
		if !ok {
			k = len(out)
			at[r] = k
			out = append(out, nil)
		}
		out[k] = append(out[k], ct)
	}
	return out
}

// locate counts the clues of the finding's cells in the final week and
// picks the one nearest the peak cell's centre as where to file it; false
// when the cells have none that week.
func (f *Finding) locate(pts []Point, res int, lastWeek time.Time) bool {
	centre := h3.CellToLatLng(f.Cell)
	best := math.Inf(1)
	weekBefore := lastWeek.AddDate(0, 0, -7)
	for _, p := range pts {
		if p.At.Before(weekBefore) || !slices.Contains(f.Cells, cellOf(p.Lon, p.Lat, res)) {
			continue
		}
		if p.At.Before(lastWeek) {
			f.PrevCount++
			continue
		}
		f.LastCount++
		// an equirectangular distance is plenty within a few cells
		dx := (p.Lon - centre.Lng) * math.Cos(centre.Lat*math.Pi/180)
		dy := p.Lat - centre.Lat
		if d := dx*dx + dy*dy; d < best {
			best, f.Lon, f.Lat = d, p.Lon, p.Lat
		}
	}
	return f.LastCount > 0
}

// RunScans scans at once and then every interval until ctx ends, logging
// each outcome; an error is logged and the next scan runs on time.
func (s *Store) RunScans(ctx context.Context, f Filer, every time.Duration, o ScanOptions, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		r, err := s.Scan(ctx, f, s.now(), o)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Error("hotspot: scan failed", slog.Any("err", err))
		default:
			log.Info("hotspot: scan", slog.Time("window_start", r.WindowStart), slog.Time("window_end", r.WindowEnd),
				slog.Int("clues", r.Clues), slog.Int("categories", r.Categories), slog.Int("findings", len(r.Findings)),
				slog.Int("filed", r.Filed), slog.Duration("took", r.Took))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

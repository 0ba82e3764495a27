package demo

import (
	"fmt"
	"math"
	"sort"
	"time"

	"whistlegrid/geo"

	"github.com/paulmach/orb"
)

// clusterPlans are the planted hot spots: a fixed place in a township
// (a community's or a village's household, drawn from the seed) producing
// clues of one category. Persistent ones run all year, new ones only in the
// last weeks, the intensifying one simmers for months and then grows fast.
var clusterPlans = []struct {
	name, kind, township, category string
	community                      bool
	radiusM                        float64
	days                           int     // how long before End it starts (persistent: the whole year)
	perDay                         float64 // clues a day (the intensifying one ends at 6 a day)
	hours                          string
}{
	{"酒吧街夜间噪音", "persistent", "110119003", "HL.06.02", true, 150, HistoryDays, 1.1, "night"},
	{"医院周边机动车乱停放", "persistent", "110119002", "CM.05.03", true, 120, HistoryDays, 0.9, "day"},
	{"新开工地扬尘", "new", "110119101", "CM.03.02", false, 200, 24, 5, "day"},
	{"小区高层水压不足", "intensifying", "110119100", "HL.02.03", true, 250, 120, 0.25, "eve"},
	{"村边空地倾倒垃圾", "new", "110119105", "CM.01.02", false, 150, 18, 4, ""},
}

// plannedCluster is a Cluster with what drawing its clues needs.
type plannedCluster struct {
	Cluster
	cat      *hCat
	hours    string
	perDay   []float64 // intensity per day of the history
	count    int       // clues drawn from perDay
	hotspots []time.Time
}

// planClusters fixes each cluster's centre, span, intensity and the times
// the hotspot analysis reports it.
func (p *planner) planClusters() {
	p.clusters = nil
	for _, cp := range clusterPlans {
		c := p.w.catBy[cp.category]
		ti, ok := p.w.townBy[cp.township]
		if c == nil || c.spec == nil || !ok {
			continue
		}
		r := stream(p.seed, "history cluster "+cp.name)
		var homes []int
		for i, h := range p.w.homes {
			if h.town == ti && h.community == cp.community {
				homes = append(homes, i)
			}
		}
		if len(homes) == 0 {
			continue
		}
		h := p.w.homes[homes[r.IntN(len(homes))]]
		pc := plannedCluster{cat: c, hours: cp.hours}
		pc.Cluster = Cluster{Name: cp.name, Kind: cp.kind, Township: cp.township, Lon: h.lon, Lat: h.lat, RadiusM: cp.radiusM, Category: cp.category,
			From: p.end.Add(-time.Duration(cp.days) * 24 * time.Hour), To: p.end}
		if pc.From.Before(p.start) {
			pc.From = p.start
		}
		pc.perDay = make([]float64, len(p.days))
		total := 0.0
		for i := range p.days {
			d := &p.days[i]
			lo, hi := maxTime(d.start, pc.From), minTime(d.start.Add(24*time.Hour), pc.To)
			if !hi.After(lo) {
				continue
			}
			rate := cp.perDay
			if cp.kind == "intensifying" {
				left := pc.To.Sub(d.start).Hours() / 24 // days to End
				if left < 30 {
					rate = 0.5 + 5.5*(30-left)/30
				}
			}
			pc.perDay[i] = rate * float64(hi.Sub(lo)) / float64(24*time.Hour)
			total += pc.perDay[i]
		}
		pc.count = int(math.Round(total))
		// the hotspot analysis reports it: every four weeks while it
		// persists, a week and a half into a new one, weekly as one grows
		switch cp.kind {
		case "persistent":
			for t := pc.From.Add(28 * 24 * time.Hour); t.Before(pc.To.Add(-24 * time.Hour)); t = t.Add(28 * 24 * time.Hour) {
				pc.hotspots = append(pc.hotspots, t)
			}
		case "new":
			for _, k := range []int{10, 17} {
				if t := pc.From.Add(time.Duration(k) * 24 * time.Hour); t.Before(pc.To) {
					pc.hotspots = append(pc.hotspots, t)
				}
			}
		case "intensifying":
			for _, k := range []int{21, 14, 7} {
				pc.hotspots = append(pc.hotspots, pc.To.Add(-time.Duration(k)*24*time.Hour))
			}
		}
		// reported at 06:00 Beijing time, when the nightly analysis is done
		for i, t := range pc.hotspots {
			lt := t.In(geo.Beijing)
			pc.hotspots[i] = time.Date(lt.Year(), lt.Month(), lt.Day(), 6, 0, 0, 0, geo.Beijing).Add(time.Duration(r.IntN(600)) * time.Second)
		}
		pc.Clues = pc.count + len(pc.hotspots)
		p.clusters = append(p.clusters, pc)
	}
}

// plantedClusters returns the clusters as the caller sees them.
func (p *planner) plantedClusters() []Cluster {
	out := make([]Cluster, len(p.clusters))
	for i, c := range p.clusters {
		out[i] = c.Cluster
	}
	return out
}

// clusterClues draws the clues of cluster ci, numbering their draw order
// from order.
func (p *planner) clusterClues(ci, order int) ([]*draft, error) {
	pc := &p.clusters[ci]
	r := stream(p.seed, fmt.Sprintf("history cluster clues %d %s", ci, p.end.UTC().Format(time.RFC3339)))
	cum := make([]float64, len(pc.perDay))
	total := 0.0
	for i, v := range pc.perDay {
		total += v
		cum[i] = total
	}
	srcCum := [nSources - 1]float64{}
	srcTotal := 0.0
	for s := 0; s < nSources-1; s++ {
		srcTotal += pc.cat.spec.sources[s]
		srcCum[s] = srcTotal
	}
	centre := orb.Point{pc.Lon, pc.Lat}
	var out []*draft
	for tries := 0; len(out) < pc.count && tries < 50*pc.count+100; tries++ {
		d := &p.days[min(sort.SearchFloat64s(cum, r.Float64()*total), len(cum)-1)]
		x := r.Float64() * srcTotal
		s := 0
		for s < nSources-2 && x >= srcCum[s] {
			s++
		}
		at := p.timeIn(r, d, s, pc.hours)
		if at.Before(pc.From) || !at.Before(pc.To) {
			continue
		}
		// within 90% of the radius, so that a datum round trip stays inside
		dr, err := p.draft(r, pc.cat, s, at, centre, 0, 0.9*pc.RadiusM)
		if err != nil {
			return nil, err
		}
		if dr == nil {
			continue
		}
		dr.cluster, dr.order = ci, order+len(out)
		out = append(out, dr)
	}
	for _, at := range pc.hotspots {
		dr, err := p.draft(r, pc.cat, srcHotspot, at, centre, 0, 0)
		if err != nil {
			return nil, err
		}
		if dr == nil {
			continue
		}
		village := ""
		if len(dr.pl.Chain) > 1 {
			village = dr.pl.Chain[1].Name
		}
		dr.text = fmt.Sprintf("%s%s一带近四周「%s」线索显著聚集（%s），建议主动处置。", sourcePrefix[srcHotspot], village, pc.cat.name, pc.Name)
		dr.cluster, dr.order = ci, order+len(out)
		out = append(out, dr)
	}
	pc.Clues = len(out)
	return out, nil
}

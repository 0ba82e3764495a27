package demo

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"whistlegrid/access"
	"whistlegrid/geo"
	"whistlegrid/grid"
)

// day is one calendar day of the history (Beijing time) with its weather
// and calendar.
type day struct {
	start      time.Time // midnight, Beijing time
	frac       float64   // share of the day inside the history
	doy        int       // day of the year, 1…366
	month      int
	mday       int
	weekday    int // 0 Sunday
	temp       float64
	heating    bool    // 15 Nov – 15 Mar (供暖季)
	sinceHeat  int     // days since the heating season began
	snow       float64 // 0 none, 1 a snowfall that day, less on the days after
	storm      float64 // the same for summer rainstorms
	stormTowns []int   // townships a storm hits hardest
	toFest     int     // days to the next Spring Festival
	holiday    bool    // May Day and National Day weeks, the Spring Festival week
	festival   bool    // the Spring Festival week
}

// bump is a bell over the year centred on day of the year c with width sd
// days, 1 at the centre.
func (d *day) bump(c, sd float64) float64 {
	x := math.Abs(float64(d.doy) - c)
	x = math.Min(x, 365-x)
	return math.Exp(-x * x / (2 * sd * sd))
}

// heatingLoad grows as the day gets colder, in the heating season only.
func (d *day) heatingLoad() float64 {
	if !d.heating {
		return 0.004
	}
	x := max(0, 4-d.temp) / 8
	return 0.2 + 3*x*x
}

// heatingStart is the burst of "no heating" calls in the season's first
// weeks.
func (d *day) heatingStart() float64 {
	if !d.heating || d.sinceHeat > 30 {
		return 0
	}
	return 3.5 * math.Exp(-float64(d.sinceHeat)/5)
}

// preFestival is the wage-arrears rush before the Spring Festival.
func (d *day) preFestival() float64 {
	if d.toFest < 0 || d.toFest > 45 {
		return 0
	}
	return 5 * math.Exp(-float64(d.toFest)/12)
}

// springFestivals are the first days of the Spring Festival.
var springFestivals = map[int]string{
	2020: "01-25", 2021: "02-12", 2022: "02-01", 2023: "01-22", 2024: "02-10", 2025: "01-29", 2026: "02-17",
	2027: "02-06", 2028: "01-26", 2029: "02-13", 2030: "02-03", 2031: "01-23", 2032: "02-11", 2033: "01-31",
	2034: "02-19", 2035: "02-08",
}

func springFestival(year int) time.Time {
	md, ok := springFestivals[year]
	if !ok {
		md = "02-05"
	}
	t, _ := time.ParseInLocation("2006-01-02", fmt.Sprintf("%d-%s", year, md), geo.Beijing)
	return t
}

// planner draws the year's clues.
type planner struct {
	w          *world
	seed       int64
	start, end time.Time
	n          int
	days       []day
	clusters   []plannedCluster
	homeCum    map[string][]float64 // cumulative household weights per place
	sites      map[*hCat][]int      // the households a category's recurring places are at
}

func newPlanner(w *world, o HistoryOptions) *planner {
	p := &planner{w: w, seed: o.Seed, end: o.End, start: o.End.Add(-HistoryDays * 24 * time.Hour), n: o.Clues}
	p.planDays()
	p.planHomes()
	p.planSites()
	p.planClusters()
	return p
}

// planDays lays out the calendar and draws the weather: a temperature
// curve with day-to-day noise, a cold snap in January, snowfalls in
// winter and rainstorms in July and August.
func (p *planner) planDays() {
	r := stream(p.seed, "history weather "+p.end.UTC().Format(time.RFC3339))
	first := time.Date(p.start.In(geo.Beijing).Year(), p.start.In(geo.Beijing).Month(), p.start.In(geo.Beijing).Day(), 0, 0, 0, 0, geo.Beijing)
	noise := 0.0
	for t := first; t.Before(p.end); t = t.AddDate(0, 0, 1) {
		next := t.AddDate(0, 0, 1)
		lo, hi := maxTime(t, p.start), minTime(next, p.end)
		d := day{start: t, frac: float64(hi.Sub(lo)) / float64(next.Sub(t)), doy: t.YearDay(), month: int(t.Month()), mday: t.Day(), weekday: int(t.Weekday())}
		noise = 0.7*noise + r.NormFloat64()*2.2
		d.temp = 8 - 16*math.Cos(2*math.Pi*float64(d.doy-20)/365.25) + noise
		d.heating = d.month == 12 || d.month <= 2 || (d.month == 11 && d.mday >= 15) || (d.month == 3 && d.mday < 15)
		if d.heating {
			y := t.Year()
			if d.month <= 3 {
				y--
			}
			d.sinceHeat = int(t.Sub(time.Date(y, 11, 15, 0, 0, 0, 0, geo.Beijing)).Hours() / 24)
		}
		fest := springFestival(t.Year())
		if fest.Before(t) && t.Sub(fest) > 7*24*time.Hour {
			fest = springFestival(t.Year() + 1)
		}
		d.toFest = int(math.Round(fest.Sub(t).Hours() / 24))
		d.festival = d.toFest <= 0 && d.toFest > -7
		d.holiday = d.festival || (d.month == 5 && d.mday <= 5) || (d.month == 10 && d.mday <= 7)
		p.days = append(p.days, d)
	}
	// the cold snap: six days in January, up to 11 °C below normal
	var snapStarts []int
	for i := range p.days {
		if d := p.days[i]; d.month == 1 && d.mday >= 5 && d.mday <= 24 && i+6 <= len(p.days) && d.frac == 1 {
			snapStarts = append(snapStarts, i)
		}
	}
	if len(snapStarts) > 0 {
		s := snapStarts[r.IntN(len(snapStarts))]
		for k, a := range []float64{5, 9, 11, 10, 7, 3} {
			p.days[s+k].temp -= a
		}
	}
	// snowfalls: seven, most in January and February, one heavy
	pick := func(ok func(d *day) float64, n int) []int {
		var idx []int
		var cum []float64
		total := 0.0
		for i := range p.days {
			if w := ok(&p.days[i]); w > 0 {
				total += w
				idx, cum = append(idx, i), append(cum, total)
			}
		}
		var out []int
		seen := map[int]bool{}
		for tries := 0; len(out) < n && tries < 100*n && total > 0; tries++ {
			k := sort.SearchFloat64s(cum, r.Float64()*total)
			if k < len(idx) && !seen[idx[k]] {
				seen[idx[k]] = true
				out = append(out, idx[k])
			}
		}
		sort.Ints(out)
		return out
	}
	snows := pick(func(d *day) float64 {
		switch d.month {
		case 12, 3:
			return 0.5
		case 1, 2:
			return 1
		case 11:
			return 0.15
		}
		return 0
	}, 7)
	for k, i := range snows {
		amount := 1.0
		if k == len(snows)/2 {
			amount = 1.8
		}
		for j, f := range []float64{1, 0.5, 0.2} {
			if i+j < len(p.days) {
				p.days[i+j].snow += amount * f
			}
		}
	}
	// rainstorms: five in July and August, one of them severe
	storms := pick(func(d *day) float64 {
		if d.month == 7 || d.month == 8 {
			return 0.5 + d.bump(205, 15)
		}
		return 0
	}, 5)
	for k, i := range storms {
		amount, towns := 1.0, 3
		if k == 2 {
			amount, towns = 2.2, 7
		}
		hit := r.Perm(len(p.w.towns))[:towns]
		for j, f := range []float64{1, 0.35, 0.1} {
			if i+j < len(p.days) {
				p.days[i+j].storm += amount * f
				if j < 2 {
					p.days[i+j].stormTowns = append(p.days[i+j].stormTowns, hit...)
				}
			}
		}
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// planHomes builds, per place, the cumulative weights by which a clue
// picks the household it comes from: people complain where they live,
// townspeople more often than villagers up in the mountains.
func (p *planner) planHomes() {
	p.homeCum = map[string][]float64{}
	for _, place := range []string{"all", "urban", "rural", "mountain"} {
		cum := make([]float64, len(p.w.homes))
		total := 0.0
		for i, h := range p.w.homes {
			var wt float64
			switch place {
			case "all":
				wt = 1
				if h.community {
					wt = 1.4
				} else if h.mountain {
					wt = 0.7
				}
			case "urban":
				wt = 0.25
				if h.community {
					wt = 4
				} else if h.mountain {
					wt = 0.1
				}
			case "rural":
				wt = 1.3
				if h.community {
					wt = 0.15
				} else if h.mountain {
					wt = 1.6
				}
			case "mountain":
				wt = 0.4
				if h.community {
					wt = 0.05
				} else if h.mountain {
					wt = 3
				}
			}
			total += wt
			cum[i] = total
		}
		p.homeCum[place] = cum
	}
}

// planSites draws the recurring places of the categories that have them.
func (p *planner) planSites() {
	p.sites = map[*hCat][]int{}
	for _, c := range p.w.leaves() {
		if c.spec.sites == 0 {
			continue
		}
		r := stream(p.seed, "history sites "+c.code)
		cum := p.homeCum[c.spec.place]
		for range c.spec.sites {
			i := sort.SearchFloat64s(cum, r.Float64()*cum[len(cum)-1])
			p.sites[c] = append(p.sites[c], min(i, len(cum)-1))
		}
	}
}

func (p *planner) home(r *rand.Rand, place string) *hHome {
	cum := p.homeCum[place]
	i := sort.SearchFloat64s(cum, r.Float64()*cum[len(cum)-1])
	return &p.w.homes[min(i, len(cum)-1)]
}

// draft is a clue before the simulation gives it an id and a whistle.
type draft struct {
	cat                *hCat
	source             int
	reported, received time.Time
	recv               orb.Point // as received, in datum
	datum              geo.Datum
	wgs                orb.Point // geo.ToWGS84(recv, datum), as Intake computes it
	pl                 grid.Placement
	h3                 int64
	text, ext          string
	name, phone        string
	cluster            int    // index in planner.clusters, -1 for none
	order              int    // draw order, breaks ties in time
	home               *hHome // the household it was drawn near (nil for the planted clusters): a caller's address
}

// sourceDay is how busy a source is on a day: grid workers patrol on
// working days, forums meet on working days, residents call any day.
func sourceDay(src int, d *day) float64 {
	weekend := d.weekday == 0 || d.weekday == 6
	switch src {
	case srcPatrol:
		switch {
		case d.festival:
			return 0.25
		case d.holiday:
			return 0.35
		case d.weekday == 6:
			return 0.45
		case d.weekday == 0:
			return 0.35
		}
		return 1
	case srcHotline:
		if d.festival {
			return 0.8
		}
		if weekend {
			return 1.05
		}
	case srcApp:
		if weekend || d.holiday {
			return 1.2
		}
	case srcForum:
		if weekend || d.holiday {
			return 0.05
		}
	}
	return 1
}

// clues draws every clue of the year, sorted by the time it was received.
func (p *planner) clues() ([]*draft, error) {
	leaves := p.w.leaves()
	nd := len(p.days)
	// cumulative weight over (category, source, day)
	cum := make([]float64, 0, len(leaves)*(nSources-1)*nd)
	season := make([]float64, nd)
	totalShare := 0.0
	for _, c := range leaves {
		totalShare += c.spec.weight
	}
	total := 0.0
	for _, c := range leaves {
		f := historySeasons[c.spec.season]
		sum := 0.0
		for i := range p.days {
			season[i] = f(&p.days[i]) * p.days[i].frac
			sum += season[i]
		}
		srcSum := 0.0
		for _, v := range c.spec.sources {
			srcSum += v
		}
		for s := 0; s < nSources-1; s++ {
			share := c.spec.weight / (1 + c.spec.burst) / totalShare * c.spec.sources[s] / srcSum
			for i := range p.days {
				if share > 0 {
					total += share * season[i] / sum * sourceDay(s, &p.days[i])
				}
				cum = append(cum, total)
			}
		}
	}

	planted := 0
	for _, cl := range p.clusters {
		planted += cl.count + len(cl.hotspots)
	}
	background := p.n - planted
	if background < 0 {
		return nil, errors.New("demo: history: Clues is smaller than the planted clusters")
	}
	r := stream(p.seed, "history clues "+p.end.UTC().Format(time.RFC3339))
	out := make([]*draft, 0, p.n)
	for len(out) < background {
		k := sort.SearchFloat64s(cum, r.Float64()*total)
		k = min(k, len(cum)-1)
		di := k % nd
		s := (k / nd) % (nSources - 1)
		c := leaves[k/nd/(nSources-1)]
		d := &p.days[di]
		at := p.timeIn(r, d, s, c.spec.hours)
		if at.Before(p.start) || !at.Before(p.end) {
			continue
		}
		var h *hHome
		jitter := 30.0
		if sites := p.sites[c]; len(sites) > 0 && r.Float64() < 0.7 {
			h, jitter = &p.w.homes[sites[r.IntN(len(sites))]], 40
		} else if d.storm > 0 && len(d.stormTowns) > 0 && (c.spec.season == "storm" || c.spec.season == "rain") && r.Float64() < 0.7 {
			for range 50 {
				h = p.home(r, c.spec.place)
				if containsInt(d.stormTowns, h.town) {
					break
				}
			}
		} else {
			h = p.home(r, c.spec.place)
		}
		if s == srcSensor {
			jitter = 8
		}
		dr, err := p.draft(r, c, s, at, orb.Point{h.lon, h.lat}, jitter, 0)
		if err != nil {
			return nil, err
		}
		if dr == nil {
			continue
		}
		dr.cluster, dr.home = -1, h
		dr.order = len(out)
		out = append(out, dr)
		// an incident many notice: more calls from around it within the hour
		for k := int(r.ExpFloat64() * c.spec.burst); k > 0 && len(out) < background; k-- {
			s := p.source(r, c)
			at := dr.reported.Add(time.Duration(r.ExpFloat64() * float64(45*time.Minute)))
			if !at.Before(p.end) {
				break
			}
			more, err := p.draft(r, c, s, at, dr.wgs, 0, 150)
			if err != nil {
				return nil, err
			}
			if more == nil {
				continue
			}
			more.cluster, more.order, more.home = -1, len(out), h
			out = append(out, more)
		}
	}
	for ci := range p.clusters {
		cs, err := p.clusterClues(ci, len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].received.Equal(out[j].received) {
			return out[i].received.Before(out[j].received)
		}
		return out[i].order < out[j].order
	})
	p.name(out)
	return out, nil
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// source draws the source of a clue of category c from its mix.
func (p *planner) source(r *rand.Rand, c *hCat) int {
	total := 0.0
	for _, v := range c.spec.sources[:nSources-1] {
		total += v
	}
	x := r.Float64() * total
	for s, v := range c.spec.sources[:nSources-1] {
		if x < v {
			return s
		}
		x -= v
	}
	return srcHotline
}

// patrolShift is when grid workers are out: a category's own rhythm
// (evening markets, night noise) is cut to it for patrol clues.
var patrolShift = [24]float64{0, 0, 0, 0, 0, 0, 0.1, 0.6, 1, 1, 1, 1, 0.8, 0.9, 1, 1, 1, 1, 0.8, 0.7, 0.6, 0.4, 0.1, 0}

// timeIn draws a time of day d for a clue from source s of a category
// with daily rhythm hours ("" for the source's own): forums meet and
// sensors report on their own clocks, grid workers patrol in their shift.
func (p *planner) timeIn(r *rand.Rand, d *day, s int, hours string) time.Time {
	prof := historyHours[sourceNames[s]]
	if hours != "" && s != srcForum && s != srcSensor {
		prof = historyHours[hours]
		if s == srcPatrol {
			for h := range prof {
				prof[h] *= patrolShift[h]
			}
		}
	}
	total := 0.0
	for _, v := range prof {
		total += v
	}
	x := r.Float64() * total
	h := 0
	for ; h < 23; h++ {
		if x < prof[h] {
			break
		}
		x -= prof[h]
	}
	us := r.Int64N(int64(time.Hour / time.Microsecond))
	return d.start.Add(time.Duration(h)*time.Hour + time.Duration(us)*time.Microsecond)
}

// draft makes a clue of category c from source s reported at at, near pt:
// jittered by about jitter metres (or within radius metres of it when
// radius > 0), placed, received in a datum, with its delay, text and
// reporter. It returns nil when the point or the receipt falls outside
// the district or the history.
func (p *planner) draft(r *rand.Rand, c *hCat, s int, at time.Time, pt orb.Point, jitter, radius float64) (*draft, error) {
	mx, my := geo.LocalScale(pt[1])
	var wgs orb.Point
	placed := false
	for range 5 {
		var dx, dy float64
		if radius > 0 {
			a, rr := 2*math.Pi*r.Float64(), radius*math.Sqrt(r.Float64())
			dx, dy = rr*math.Cos(a), rr*math.Sin(a)
		} else {
			dx, dy = r.NormFloat64()*jitter, r.NormFloat64()*jitter
		}
		cand := orb.Point{pt[0] + dx/mx, pt[1] + dy/my}
		if _, ok := p.w.placer.Index().Locate(cand); !ok {
			continue
		}
		wgs, placed = cand, true
		break
	}
	if !placed {
		return nil, nil
	}
	d := &draft{cat: c, source: s, reported: at.Truncate(time.Microsecond)}
	// the datum it arrives in: phones and map apps send GCJ-02 or BD-09
	d.datum = geo.WGS84
	switch x := r.Float64(); s {
	case srcHotline:
		if x < 0.3 {
			d.datum = geo.GCJ02
		} else if x < 0.35 {
			d.datum = geo.BD09
		}
	case srcApp:
		if x < 0.5 {
			d.datum = geo.GCJ02
		} else if x < 0.7 {
			d.datum = geo.BD09
		}
	}
	recv := geo.FromWGS84(wgs, d.datum)
	d.recv = orb.Point{round6(recv[0]), round6(recv[1])}
	d.wgs = geo.ToWGS84(d.recv, d.datum)
	var err error
	d.pl, err = p.w.placer.Place(d.wgs)
	if errors.Is(err, grid.ErrOutside) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("demo: history: place: %w", err)
	}
	// how long it takes to arrive
	var delay time.Duration
	switch s {
	case srcPatrol:
		delay = time.Duration(5+r.IntN(180)) * time.Second
	case srcHotline:
		delay = time.Duration(3*60+r.IntN(37*60)) * time.Second
	case srcApp:
		delay = time.Duration(60+r.IntN(14*60)) * time.Second
	case srcForum:
		delay = time.Duration(3600+r.IntN(25*3600)) * time.Second
	case srcSensor:
		delay = time.Duration(500+r.IntN(4500)) * time.Millisecond
	}
	delay += time.Duration(r.IntN(1_000_000)) * time.Microsecond
	d.received = d.reported.Add(delay)
	if !d.received.Before(p.end) {
		return nil, nil
	}
	d.h3 = geo.H3Cell(d.wgs, geo.DefaultH3Res)
	d.text = clueText(r, c, s, d.pl)
	switch s {
	case srcHotline, srcApp:
		d.name, d.phone = personName(r), mobilePhone(r)
		if r.IntN(10) == 0 {
			d.name = ""
		}
	case srcForum:
		d.name = personName(r)
	case srcPatrol:
		people, _, err := p.w.placer.Responsible(access.Scope{Role: access.RoleCommand}, d.pl, "", d.reported)
		if err != nil {
			return nil, fmt.Errorf("demo: history: %w", err)
		}
		for _, o := range people {
			if o.Duty == "patrol" {
				d.name, d.phone = o.Name, o.Phone
				break
			}
		}
	}
	return d, nil
}

// round6 keeps 6 decimals (about 0.1 m), as map apps send them.
func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// sourcePrefix opens a clue's text the way each channel words it.
var sourcePrefix = [nSources]string{"网格员巡查发现：", "市民来电反映：", "“你说我办”网友留言：", "村民说事：", "物联网设备告警：", "未诉先办：热点分析发现"}

var (
	communitySpots = []string{"%d号楼附近", "%d号楼下", "小区南门", "小区北门外", "底商门前", "东侧路口", "西侧便道"}
	villageSpots   = []string{"村口", "主街", "村委会附近", "东头", "西侧路边", "%d号院门前", "南街"}
)

func clueText(r *rand.Rand, c *hCat, s int, pl grid.Placement) string {
	place := ""
	if len(pl.Chain) > 1 {
		place = pl.Chain[1].Name
	}
	spots := villageSpots
	if strings.HasSuffix(place, "社区") {
		spots = communitySpots
	}
	spot := spots[r.IntN(len(spots))]
	if spot[0] == '%' {
		spot = fmt.Sprintf(spot, 1+r.IntN(24))
	}
	what := c.spec.what[r.IntN(len(c.spec.what))]
	text := sourcePrefix[s] + place + spot + "，" + what
	switch s {
	case srcHotline:
		text += "，希望尽快处理。"
	case srcApp:
		text += "，请相关部门管一管。"
	default:
		text += "。"
	}
	return text
}

// name gives the clues, now in the order they arrive, their external ids:
// a prefix per channel, the day they arrived and a number within it.
func (p *planner) name(ds []*draft) {
	prefix := [nSources]string{"XC", "12345-", "NSWB", "CMSS", "IOT", "RD"}
	count := map[[2]string]int{}
	for _, d := range ds {
		dayKey := d.received.In(geo.Beijing).Format("20060102")
		k := [2]string{sourceNames[d.source], dayKey}
		count[k]++
		d.ext = fmt.Sprintf("%s%s-%05d", prefix[d.source], dayKey, count[k])
	}
}

package demo

import (
	"container/heap"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"whistlegrid/access"
	"whistlegrid/geo"
	"whistlegrid/grid"
	"whistlegrid/whistle"
)

// sweepEvery is how often the live server sweeps deadlines (serve
// --sweep-every): a whistle is marked overdue at the first sweep after its
// deadline.
const sweepEvery = 30 * time.Second

// sim replays the year in time order: every clue goes through intake as
// whistle.Store.Intake would take it, and every whistle it raises goes down
// its lifecycle step by step, each step writing the rows the live system
// writes (whistles, summons, trail, supervision notices, events).
type sim struct {
	w          *world
	start, end time.Time
	r          *rand.Rand
	clues      []*draft
	clueWh     []*sw // the whistle each clue is in, by clue index
	// ids are the clues' ids, by clue index, known only once the hotline
	// orders are imported (after the simulation: their exports carry its
	// outcomes); until then the rows name a clue by clueRef and clueMark.
	ids       []int64
	q         queue
	seq       uint64
	open      map[*hCat][]*sw
	whistles  []*sw
	trail     []trailRow
	events    []eventRow
	notices   []noticeRow
	callbacks []callbackRow
	cr        *rand.Rand // the callbacks' own draw, so the rest of the year keeps its course
	rules     map[[2]int64]hRuleValue
	command   int64 // the command center's user id
	log       *slog.Logger
}

// sw is a whistle being simulated.
type sw struct {
	id                                 int64
	town                               *hTown
	gridID                             int64
	gridCode                           string
	cat                                *hCat
	grade                              whistle.Grade
	status                             whistle.Status
	loc                                orb.Point
	note                               string
	raisedBy                           int64
	raisedAt, reportInDue, resolveDue  time.Time
	closedAt                           time.Time
	outcome                            whistle.Outcome
	riOverdue, rsOverdue               time.Time
	clueCount, escalations             int
	consultations, returns             int
	ruled                              *hUnit
	ruledAt, contestedAt               time.Time
	updatedAt                          time.Time
	summons                            []*ss
	plan                               wplan
	riCheck, rsCheck                   time.Time // pending sweep checks
	byHand, escClues, escHand, escSwp  bool
	contested, reruled, stalled, rated bool
	noticed                            map[[2]int64]bool // (unit id, 0 report-in / 1 resolve)
	resident                           bool              // a resident's case (a hotline, board or app clue): called back after it closes
	lastCB                             whistle.CallbackResult
	lastCBAt                           time.Time
	reopened                           bool
	noteClue                           int // the clue (index + 1) its note names by clueMark, 0 for none
}

// ss is a unit summoned to a simulated whistle.
type ss struct {
	u                    *hUnit
	role                 string
	summonedAt           time.Time
	reportedAt           time.Time
	person, phone        string
	resolvedAt           time.Time
	outcome              whistle.Outcome
	rating               [3]int
	ratedAt              time.Time
	riOverdue, rsOverdue time.Time
}

// wplan is the course a whistle is meant to take, drawn when it is raised.
type wplan struct {
	returns       int  // times the township returns the resolution
	stall         bool // the lead reports in but does not act: escalation to hard, consultation
	rule, contest bool // the command center rules; the ruled unit contests
	noRate        bool // the township never rates the units
}

// The steps the simulation schedules.
const (
	actReportIn = iota
	actResolve
	actReview
	actRate
	actEscalate
	actConsult
	actRule
	actContest
	actRaiseByHand
	actSweep
	actCallback
	actReopen
)

// item is a scheduled step. Items run in time order; sweeps at the same
// tick run report-in marks before resolve marks and by whistle id, as one
// sweep transaction does.
type item struct {
	at    time.Time
	class int // 0 sweep report-in, 1 sweep resolve, 2 a step
	wid   int64
	seq   uint64
	kind  int
	w     *sw
	s     *ss
	clue  int
}

type queue []*item

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	a, b := q[i], q[j]
	if !a.at.Equal(b.at) {
		return a.at.Before(b.at)
	}
	if a.class != b.class {
		return a.class < b.class
	}
	if a.wid != b.wid {
		return a.wid < b.wid
	}
	return a.seq < b.seq
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(*item)) }
func (q *queue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}

// trailRow is a whistle_events row.
type trailRow struct {
	whistle         int64
	at              time.Time
	actorID, unitID int64 // 0 for NULL
	actor, action   string
	note            string
	clue            int // the clue (index + 1) the note names by clueMark, 0 for none
	data            map[string]any
}

// eventRow is an events row; the payload is marshalled when written.
type eventRow struct {
	at       time.Time
	kind     string
	township string
	payload  map[string]any
}

// callbackRow is a whistle_callbacks row.
type callbackRow struct {
	whistle, actorID int64
	at               time.Time
	actor, result    string
	note             string
}

// noticeRow is a supervision_notices row.
type noticeRow struct {
	whistle, unit int64
	kind          string
	at            time.Time
	note          string
}

func newSim(w *world, o HistoryOptions, clues []*draft) *sim {
	s := &sim{w: w, end: o.End, start: o.End.Add(-HistoryDays * 24 * time.Hour), clues: clues, clueWh: make([]*sw, len(clues)),
		open: map[*hCat][]*sw{}, rules: map[[2]int64]hRuleValue{}, command: w.users["command"],
		r: stream(o.Seed, "history lifecycle "+o.End.UTC().Format(time.RFC3339)), log: o.Logger,
		cr: stream(o.Seed, "history callbacks "+o.End.UTC().Format(time.RFC3339))}
	s.tuneUnits(o.Seed)
	return s
}

// slowUnits and fastUnits are the units whose performance the demo sets
// apart: report-in on time, resolve on time, how much longer their work
// takes. The rest draw theirs around their kind's.
var (
	slowUnits = map[string][3]float64{
		"区住房城乡建设委":    {0.62, 0.55, 1.8},
		"区规划自然资源分局":   {0.58, 0.52, 1.9},
		"区农业农村局":      {0.70, 0.64, 1.5},
		"区人力社保局":      {0.72, 0.66, 1.5},
		"区交通局":        {0.76, 0.70, 1.4},
		"中国铁塔延庆分公司":   {0.74, 0.70, 1.4},
		"北京燃气延庆分公司":   {0.80, 0.78, 1.2},
		"区园林绿化局":      {0.80, 0.74, 1.3},
		"延庆区静态交通管理公司": {0.78, 0.74, 1.3},
	}
	fastUnits = map[string][3]float64{
		"延庆区热力公司":     {0.97, 0.93, 0.7},
		"国网北京延庆供电公司":  {0.97, 0.93, 0.6},
		"延庆区自来水公司":    {0.95, 0.90, 0.8},
		"区城管执法局":      {0.94, 0.90, 0.8},
		"区消防救援支队":     {0.98, 0.95, 0.6},
		"延庆区排水公司":     {0.94, 0.90, 0.8},
		"延庆区环卫服务公司":   {0.94, 0.92, 0.7},
		"区市场监管局":      {0.92, 0.90, 0.9},
		"延庆区山区供水服务中心": {0.90, 0.85, 1.0},
	}
)

func (s *sim) tuneUnits(seed int64) {
	r := stream(seed, "history units")
	for _, u := range s.w.units {
		var base [3]float64
		switch {
		case slowUnits[u.name] != [3]float64{}:
			base = slowUnits[u.name]
		case fastUnits[u.name] != [3]float64{}:
			base = fastUnits[u.name]
		case strings.HasSuffix(u.name, "城管执法队") || strings.HasSuffix(u.name, "派出所"):
			base = [3]float64{0.95, 0.92, 0.85}
		case u.kind == "station":
			base = [3]float64{0.92, 0.89, 1.0}
		case u.kind == "utility":
			base = [3]float64{0.92, 0.88, 1.0}
		default:
			base = [3]float64{0.91, 0.88, 1.0}
		}
		j := r.NormFloat64() * 0.025
		u.reportOK = math.Min(0.99, math.Max(0.4, base[0]+j))
		u.solveOK = math.Min(0.99, math.Max(0.4, base[1]+j))
		u.speed = base[2] * math.Exp(r.NormFloat64()*0.08)
		u.quality = math.Max(-1, math.Min(1, (u.solveOK-0.85)*4+r.NormFloat64()*0.15))
		u.staff = nil
		for range 3 {
			u.staff = append(u.staff, person{name: personName(r), phone: mobilePhone(r)})
		}
	}
}

func (s *sim) push(it *item) {
	s.seq++
	it.seq = s.seq
	if it.w != nil && it.class == 2 {
		it.wid = it.w.id
	}
	heap.Push(&s.q, it)
}

// at schedules a step of w at t, never before now.
func (s *sim) at(t, now time.Time, kind int, w *sw, x *ss) {
	if !t.After(now) {
		t = now.Add(time.Duration(1+s.r.IntN(60)) * time.Second)
	}
	s.push(&item{at: t.Truncate(time.Microsecond), class: 2, kind: kind, w: w, s: x})
}

// run replays the year.
func (s *sim) run() {
	next := 0
	for {
		var it *item
		if s.q.Len() > 0 {
			it = s.q[0]
		}
		if next < len(s.clues) && (it == nil || !it.at.Before(s.clues[next].received)) {
			s.intake(next)
			next++
			continue
		}
		if it == nil || it.at.After(s.end) {
			return
		}
		heap.Pop(&s.q)
		s.step(it)
	}
}

// clueRef is clue i's id in a trail row's data or an event's payload,
// written when the rows are (after setIDs).
type clueRef struct {
	s *sim
	i int
}

// MarshalJSON writes the clue's id.
func (c clueRef) MarshalJSON() ([]byte, error) { return strconv.AppendInt(nil, c.s.ids[c.i], 10), nil }

// clueMark stands for a clue's "#id" in a note until the ids are known; the
// row holding the note names the clue (trailRow.clue, sw.noteClue).
const clueMark = "#{clue}"

// clueNote is note with clue c's id (c is the clue index + 1; 0 for none).
func (s *sim) clueNote(note string, c int) string {
	if c == 0 {
		return note
	}
	return strings.Replace(note, clueMark, "#"+strconv.FormatInt(s.ids[c-1], 10), 1)
}

// setIDs gives the clues their ids: the hotline clues the ids the import
// gave them (by external id), the others base+1, base+2, … in time order.
func (s *sim) setIDs(hotline map[string]int64, base int64) error {
	s.ids = make([]int64, len(s.clues))
	for i, d := range s.clues {
		if d.source == srcHotline {
			id, ok := hotline[d.ext]
			if !ok {
				return fmt.Errorf("demo: history: hotline order %s was not imported as a clue", d.ext)
			}
			s.ids[i] = id
			continue
		}
		base++
		s.ids[i] = base
	}
	return nil
}

func (s *sim) rule(c *hCat, townshipID int64) hRuleValue {
	k := [2]int64{c.id, townshipID}
	r, ok := s.rules[k]
	if !ok {
		r = s.w.rule(c, townshipID)
		s.rules[k] = r
	}
	return r
}

// distanceM is the distance in metres between two WGS-84 points: a local
// projection, within millimetres of PostGIS's geography distance at the
// few hundred metres a join radius spans.
func distanceM(a, b orb.Point) float64 {
	mx, my := geo.LocalScale((a[1] + b[1]) / 2)
	dx, dy := (a[0]-b[0])*mx, (a[1]-b[1])*my
	return math.Hypot(dx, dy)
}

// intake takes clue i as whistle.Store.Intake does: find the rule, join
// the nearest open whistle of the category within its radius and window,
// else raise one when the rule says so and the duty list names units, else
// leave the clue with its village.
func (s *sim) intake(i int) {
	d := s.clues[i]
	now := d.received
	town := linkAt(d.pl.Chain, grid.LevelTownship)
	r := s.rule(d.cat, town.ID)
	var join *sw
	if r.radiusM > 0 && r.window > 0 {
		best := math.Inf(1)
		for _, w := range s.open[d.cat] {
			dt := w.raisedAt.Sub(d.reported)
			if dt < -r.window || dt > r.window {
				continue
			}
			dist := distanceM(w.loc, d.wgs)
			if dist > r.radiusM {
				continue
			}
			if dist < best || (dist == best && w.id < join.id) {
				best, join = dist, w
			}
		}
	}
	var wh *sw
	switch {
	case join != nil:
		wh = join
		s.join(join, i, r, now)
	case r.action == "whistle":
		units := s.responsible(d, now)
		if whistle.Raisable(units) {
			wh = s.raise(now, i, units, 0, "system", "线索 "+clueMark+" 自动吹哨")
		}
	default:
		// a village that cannot solve it asks its township to blow the
		// whistle (only where the duty list names a unit)
		if d.source != srcHotspot && s.r.Float64() < 0.006 {
			if units := s.responsible(d, now); whistle.Raisable(units) {
				t := now.Add(time.Duration(4*3600+s.r.IntN(3*24*3600)) * time.Second)
				s.push(&item{at: t.Truncate(time.Microsecond), class: 2, kind: actRaiseByHand, clue: i})
			}
		}
	}
	clue := map[string]any{"id": clueRef{s, i}, "source": sourceNames[d.source], "category": d.cat.code, "lon": d.wgs[0], "lat": d.wgs[1],
		"grid": d.pl.Chain[0].Code, "near_edge": d.pl.NearEdge, "reporter_name": d.name, "reporter_phone": d.phone}
	payload := map[string]any{"clue": clue}
	if wh != nil {
		payload["whistle_id"] = wh.id
	}
	s.event(now, "clue.received", town.Code, payload)
}

func linkAt(chain []grid.Link, l grid.Level) grid.Link {
	for _, c := range chain {
		if c.Level == l {
			return c
		}
	}
	return grid.Link{}
}

func (s *sim) responsible(d *draft, at time.Time) []grid.UnitRef {
	_, units, err := s.w.placer.Responsible(access.Scope{Role: access.RoleCommand}, d.pl, d.cat.code, at)
	if err != nil {
		return nil
	}
	return units
}

// join attaches clue i to w and escalates a routine whistle to priority
// once it has gathered the rule's number of clues, as whistle_intake_batch does
// (migrations/00003_intake.sql: the one rule of the live system that runs
// in PostgreSQL only, with the tightened deadlines of whistle.Tighten).
func (s *sim) join(w *sw, i int, r hRuleValue, now time.Time) {
	id := clueRef{s, i}
	s.clueWh[i] = w
	w.resident = w.resident || residentSource(s.clues[i].source)
	w.clueCount++
	w.updatedAt = now
	s.addTrail(w, now, 0, "system", "join", 0, fmt.Sprintf("线索 %s 并入（第 %d 条）", clueMark, w.clueCount), map[string]any{"clue_id": id})
	s.trail[len(s.trail)-1].clue = i + 1
	s.whistleEvent(w, now, "whistle.joined", map[string]any{"clue_id": id, "clue_count": w.clueCount})
	if w.clueCount >= r.escalateAfter && w.grade == whistle.Routine {
		w.escClues = true
		s.escalate(w, whistle.Priority, "system", 0, fmt.Sprintf("同一处 %d 条线索，升级为重点哨", w.clueCount), now, true)
	}
}

// raise opens a whistle on clue i at its category's default grade with
// whistle's deadlines for it, and summons the units whistle.Summonable
// names; actorID 0 is the system.
func (s *sim) raise(now time.Time, i int, units []grid.UnitRef, actorID int64, actor, note string) *sw {
	d := s.clues[i]
	town := linkAt(d.pl.Chain, grid.LevelTownship)
	grade, p, _ := s.w.policies.AtRaise(d.cat.code, "")
	w := &sw{id: s.w.base.whistle + int64(len(s.whistles)) + 1, town: &s.w.towns[s.w.townBy[town.Code]], gridID: d.pl.Chain[0].ID,
		gridCode: d.pl.Chain[0].Code, cat: d.cat, grade: grade, status: whistle.Next(whistle.StepRaise, &whistle.State{}, 0), loc: d.wgs,
		note: note, raisedBy: actorID, raisedAt: now, reportInDue: now.Add(p.ReportIn), resolveDue: now.Add(p.Resolve), clueCount: 1,
		updatedAt: now, noticed: map[[2]int64]bool{}, resident: residentSource(d.source)}
	codes, roles := whistle.Summonable(units)
	for k, code := range codes {
		if hu := s.w.unitBy[code]; hu != nil {
			w.summons = append(w.summons, &ss{u: hu, role: roles[k], summonedAt: now})
		}
	}
	s.whistles = append(s.whistles, w)
	s.open[w.cat] = append(s.open[w.cat], w)
	s.clueWh[i] = w
	id := clueRef{s, i}
	s.addTrail(w, now, actorID, actor, "raise", 0, note, map[string]any{"clue_ids": []clueRef{id}})
	if strings.Contains(note, clueMark) {
		w.noteClue = i + 1
		s.trail[len(s.trail)-1].clue = i + 1
	}
	s.whistleEvent(w, now, "whistle.raised", map[string]any{"clue_ids": []clueRef{id}, "actor": actor})
	s.plan(w, now)
	return w
}

// escalate raises w's grade as whistle's escalate does: by hand or on
// repeat clues (tighten) the deadlines move as whistle.Tighten says; the
// sweep keeps them.
func (s *sim) escalate(w *sw, to whistle.Grade, actor string, actorID int64, reason string, now time.Time, tighten bool) {
	from := w.grade
	if tighten {
		w.reportInDue, w.resolveDue = whistle.Tighten(now, w.reportInDue, w.resolveDue, s.w.policies.Grades[to])
	}
	w.grade = to
	w.escalations++
	w.updatedAt = now
	s.addTrail(w, now, actorID, actor, "escalate", 0, reason, map[string]any{"from": from, "to": to})
	s.whistleEvent(w, now, "whistle.escalated", map[string]any{"from": from, "to": to, "reason": reason, "actor": actor})
	s.scheduleSweep(w, now)
}

func (s *sim) addTrail(w *sw, at time.Time, actorID int64, actor, action string, unitID int64, note string, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	s.trail = append(s.trail, trailRow{whistle: w.id, at: at, actorID: actorID, unitID: unitID, actor: actor, action: action, note: note, data: data})
}

func (s *sim) event(at time.Time, kind, township string, payload map[string]any) {
	s.events = append(s.events, eventRow{at: at, kind: kind, township: township, payload: payload})
}

// whistleEvent adds an event carrying w's summary as it is now.
func (s *sim) whistleEvent(w *sw, now time.Time, kind string, extra map[string]any) {
	sum := s.summary(w, now)
	p := map[string]any{"whistle": sum}
	for k, v := range extra {
		p[k] = v
	}
	s.event(now, kind, sum.Township, p)
}

// summary is w as whistle's summary query reads it at now.
func (s *sim) summary(w *sw, now time.Time) whistle.Summary {
	sum := whistle.Summary{ID: w.id, Township: w.town.code, TownshipName: w.town.name, Grid: w.gridCode, Grade: w.grade, Status: w.status,
		Category: w.cat.code, CategoryName: w.cat.name, Lon: round6(w.loc[0]), Lat: round6(w.loc[1]),
		RaisedAt: w.raisedAt.Local(), ReportInDue: w.reportInDue.Local(), ResolveDue: w.resolveDue.Local(), ClueCount: w.clueCount,
		EverOverdue: s.overdue(w, now), Units: []string{}}
	sum.Overdue, sum.OverdueNow = sum.EverOverdue, sum.EverOverdue && w.status != whistle.Closed
	if w.status == whistle.Closed {
		c := w.closedAt.Local()
		o := string(w.outcome)
		sum.ClosedAt, sum.Outcome = &c, &o
	}
	for _, x := range w.summons {
		if x.role == "lead" {
			sum.Units = append(sum.Units, x.u.code)
		}
	}
	sort.Strings(sum.Units)
	return sum
}

// overdue is w's ever_overdue at now, as whistle_summaries has it
// (migrations/00005_whistle_summaries.sql).
func (s *sim) overdue(w *sw, now time.Time) bool {
	if !w.riOverdue.IsZero() || !w.rsOverdue.IsZero() {
		return true
	}
	if w.status == whistle.Closed {
		return w.closedAt.After(w.resolveDue)
	}
	return w.resolveDue.Before(now) || (w.reportInDue.Before(now) && w.unreported())
}

func (w *sw) unreported() bool {
	for _, x := range w.summons {
		if x.reportedAt.IsZero() {
			return true
		}
	}
	return false
}

func (w *sw) leadUnresolved() bool {
	for _, x := range w.summons {
		if x.role == "lead" && x.resolvedAt.IsZero() {
			return true
		}
	}
	return false
}

func (w *sw) summonsOf(u *hUnit) *ss {
	for _, x := range w.summons {
		if x.u == u {
			return x
		}
	}
	return nil
}

// tickAfter is the first sweep strictly after t.
func tickAfter(t time.Time) time.Time { return t.Truncate(sweepEvery).Add(sweepEvery) }

// scheduleSweep makes sure a sweep looks at w when one of its deadlines
// can next be missed.
func (s *sim) scheduleSweep(w *sw, now time.Time) {
	if w.status == whistle.Closed {
		return
	}
	if w.riOverdue.IsZero() && w.unreported() {
		t := tickAfter(maxTime(now, w.reportInDue))
		if w.riCheck.IsZero() || t.Before(w.riCheck) {
			w.riCheck = t
			s.push(&item{at: t, class: 0, wid: w.id, kind: actSweep, w: w})
		}
	}
	if w.rsOverdue.IsZero() && (w.status == whistle.Raised || w.status == whistle.InProgress) && w.leadUnresolved() {
		t := tickAfter(maxTime(now, w.resolveDue))
		if w.rsCheck.IsZero() || t.Before(w.rsCheck) {
			w.rsCheck = t
			s.push(&item{at: t, class: 1, wid: w.id, kind: actSweep, w: w})
		}
	}
}

// sweep is one sweep's work on w at tick now: mark the missed deadline,
// notify each late unit once (督办) and escalate the whistle one grade.
func (s *sim) sweep(w *sw, class int, now time.Time) {
	if class == 0 && now.Equal(w.riCheck) {
		w.riCheck = time.Time{}
	}
	if class == 1 && now.Equal(w.rsCheck) {
		w.rsCheck = time.Time{}
	}
	kind, label := "report_in", "报到超期"
	var late []*ss
	if class == 0 {
		if w.status == whistle.Closed || !w.riOverdue.IsZero() || !w.reportInDue.Before(now) || !w.unreported() {
			s.scheduleSweep(w, now)
			return
		}
		w.riOverdue = now
		for _, x := range w.summons {
			if x.reportedAt.IsZero() && x.riOverdue.IsZero() {
				x.riOverdue = now
				late = append(late, x)
			}
		}
	} else {
		kind, label = "resolve", "办结超期"
		if (w.status != whistle.Raised && w.status != whistle.InProgress) || !w.rsOverdue.IsZero() || !w.resolveDue.Before(now) || !w.leadUnresolved() {
			s.scheduleSweep(w, now)
			return
		}
		w.rsOverdue = now
		for _, x := range w.summons {
			if x.role == "lead" && x.resolvedAt.IsZero() && x.rsOverdue.IsZero() {
				x.rsOverdue = now
				late = append(late, x)
			}
		}
	}
	w.updatedAt = now
	s.addTrail(w, now, 0, "system", "overdue", 0, label, map[string]any{"kind": kind})
	s.whistleEvent(w, now, "whistle.overdue", map[string]any{"kind": kind})
	for _, x := range late {
		k := [2]int64{x.u.id, int64(class)}
		if w.noticed[k] {
			continue
		}
		w.noticed[k] = true
		s.notices = append(s.notices, noticeRow{whistle: w.id, unit: x.u.id, kind: kind, at: now, note: label + "，指挥中心督办"})
		s.addTrail(w, now, 0, "command", "supervise", x.u.id, label+"，督办 "+x.u.name, map[string]any{"kind": kind})
		s.whistleEvent(w, now, "whistle.supervised", map[string]any{"kind": kind, "unit": unitRef(x.u)})
	}
	if to, ok := whistle.OverdueEscalation(w.grade); ok {
		w.escSwp = true
		s.escalate(w, to, "system", 0, label+"，自动升级", now, false)
	}
	s.scheduleSweep(w, now)
}

func unitRef(u *hUnit) map[string]any { return map[string]any{"code": u.code, "name": u.name} }

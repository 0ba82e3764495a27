package demo

import (
	"fmt"
	"math"
	"strings"
	"time"

	"whistlegrid/access"
	"whistlegrid/geo"
	"whistlegrid/whistle"
)

// Words the township, the units and the command center use on the steps.
var (
	returnReasons = []string{"现场核查问题仍未解决，退回继续办理", "群众反映问题反复，处置不彻底", "回访群众不满意，请重新处置", "办结材料不全，退回补充"}
	reportNotes   = []string{"", "", "", "已安排专人赶赴现场", "已联系反映人，马上到场"}
	resolveNotes  = []string{"", "已处置完毕", "已现场整改到位", "已协调相关方解决"}
	closeNotes    = []string{"", "", "经核实已办结"}
	// relatedUnits is the department the command center turns to when it
	// rules on a hard whistle, by category prefix (longest first).
	relatedUnits = []struct{ prefix, unit string }{
		{"CM.01", "区城管执法局"}, {"CM.02", "区城管执法局"}, {"CM.05", "区城管执法局"},
		{"CM.03", "区住房城乡建设委"}, {"CM.08", "区规划自然资源分局"}, {"CM.04", "区城市管理委"},
		{"CM.06", "区城市管理委"}, {"CM.07", "区园林绿化局"}, {"CM.09", "区公安分局"},
		{"HL.02", "区水务局"}, {"HL.05", "区住房城乡建设委"}, {"HL.11", "区农业农村局"},
		{"HL.12", "区人力社保局"}, {"HL.10", "区市场监管局"}, {"HL", "区城市管理委"},
	}
)

func (s *sim) pick(list []string) string { return list[s.r.IntN(len(list))] }

// state is w as whistle's decisions read it.
func (w *sw) state() *whistle.State {
	st := &whistle.State{ID: w.id, TownshipCode: w.town.code, GridCode: w.gridCode, Status: w.status, Grade: w.grade,
		Contested: !w.contestedAt.IsZero(), Summons: make([]whistle.Summons, len(w.summons)), LastCallback: w.lastCB, LastCallbackAt: w.lastCBAt}
	if w.ruled != nil {
		st.RuledUnitID = w.ruled.id
	}
	for i, x := range w.summons {
		st.Summons[i] = whistle.Summons{UnitID: x.u.id, UnitCode: x.u.code, UnitName: x.u.name, Role: x.role,
			ReportedIn: !x.reportedAt.IsZero(), Resolved: !x.resolvedAt.IsZero(), Rated: !x.ratedAt.IsZero()}
	}
	return st
}

// The callers who take the steps: a unit's user, the whistle's township's
// user, the command center's.
func unitScope(u *hUnit) access.Scope {
	return access.Scope{Role: access.RoleUnit, UnitID: u.id, UnitCode: u.code, Username: "u" + u.code, UserID: u.user}
}

func townshipScope(t *hTown) access.Scope {
	return access.Scope{Role: access.RoleTownship, GridCode: t.code, Username: "t" + t.code, UserID: t.user}
}

func (s *sim) commandScope() access.Scope {
	return access.Scope{Role: access.RoleCommand, Username: "command", UserID: s.command}
}

// may decides, as whistle.Store.Act does, whether sc may take step on w
// now: whistle.Authorize (jurisdiction and role), then whistle.Allowed
// (the status and the acting unit's summons). rated is the unit a rating
// is for, nil for any other step; arg is an escalation's grade. It returns
// w's state before the step, for whistle.Next.
func (s *sim) may(sc access.Scope, step whistle.Step, w *sw, rated *hUnit, arg string) (*whistle.State, bool) {
	st := w.state()
	unitID, err := whistle.Authorize(sc, step, st, 0)
	if err != nil {
		return st, false
	}
	if rated != nil {
		unitID = rated.id
	}
	return st, whistle.Allowed(step, st, unitID, arg) == nil
}

// next moves w to the status whistle.Next says step leads to from st.
func (w *sw) next(step whistle.Step, st *whistle.State, unitID int64, now time.Time) {
	if to := whistle.Next(step, st, unitID); to != w.status {
		w.status, w.updatedAt = to, now
	}
}

// days draws a duration of lo to hi days.
func (s *sim) days(lo, hi float64) time.Duration {
	return time.Duration((lo + (hi-lo)*s.r.Float64()) * 24 * float64(time.Hour))
}

// workHours moves a time outside 08:00–19:00 Beijing time to the next
// morning: routine work waits for office hours.
func (s *sim) workHours(t time.Time) time.Time {
	lt := t.In(geo.Beijing)
	if h := lt.Hour(); h >= 8 && h < 19 {
		return t
	}
	d := time.Date(lt.Year(), lt.Month(), lt.Day(), 8, 0, 0, 0, geo.Beijing)
	if lt.Hour() >= 19 {
		d = d.AddDate(0, 0, 1)
	}
	return d.Add(time.Duration(20*60+s.r.IntN(3*3600)) * time.Second)
}

// plan draws the course of a freshly raised whistle and schedules each
// unit's report-in.
func (s *sim) plan(w *sw, now time.Time) {
	p := &w.plan
	switch x := s.r.Float64(); {
	case x < 0.03:
		p.returns = 2
	case x < 0.12:
		p.returns = 1
	}
	stall := 0.05
	if w.cat.grade == whistle.Hard {
		stall = 0.35
	}
	if s.r.Float64() < stall {
		p.stall = true
		p.rule = s.r.Float64() < 0.5
		p.contest = p.rule && s.r.Float64() < 0.35
	}
	p.noRate = s.r.Float64() < 0.03
	for _, x := range w.summons {
		s.at(s.reportAt(w, x, now), now, actReportIn, w, x)
	}
	s.scheduleSweep(w, now)
}

// reportAt is when unit x reports in: most units well inside the
// deadline, the less reliable ones often late.
func (s *sim) reportAt(w *sw, x *ss, now time.Time) time.Time {
	win := w.reportInDue.Sub(now)
	ok := x.u.reportOK
	switch w.grade {
	case whistle.Priority:
		ok *= 0.97
	case whistle.Hard:
		ok *= 0.92
	}
	var t time.Time
	if s.r.Float64() < ok {
		t = now.Add(time.Duration(float64(win) * (0.03 + 0.9*math.Pow(s.r.Float64(), 1.8))))
	} else {
		extra := math.Max(float64(win)/2, float64(40*time.Minute)) * s.r.ExpFloat64() * x.u.speed
		t = now.Add(win + time.Duration(extra))
	}
	if w.grade == whistle.Routine {
		t = s.workHours(t)
	}
	return t
}

// resolveAt is when unit x, at work since now, resolves its part.
func (s *sim) resolveAt(w *sw, x *ss, now time.Time) time.Time {
	span := w.resolveDue.Sub(w.raisedAt)
	var t time.Time
	if s.r.Float64() < x.u.solveOK {
		frac := math.Min(0.95, (0.05+0.7*math.Pow(s.r.Float64(), 1.4))*x.u.speed)
		t = w.raisedAt.Add(time.Duration(float64(span) * frac))
	} else {
		t = w.resolveDue.Add(time.Duration(float64(span) * 0.3 * s.r.ExpFloat64() * x.u.speed))
	}
	if t.Before(now.Add(30 * time.Minute)) {
		t = now.Add(time.Duration((0.5 + 7.5*s.r.Float64()) * x.u.speed * float64(time.Hour)))
	}
	if w.grade == whistle.Routine {
		t = s.workHours(t)
	}
	return t
}

// step runs one scheduled item.
func (s *sim) step(it *item) {
	now := it.at
	switch it.kind {
	case actSweep:
		s.sweep(it.w, it.class, now)
	case actReportIn:
		s.reportIn(it.w, it.s, now)
	case actResolve:
		s.resolve(it.w, it.s, now)
	case actReview:
		s.review(it.w, now)
	case actRate:
		s.rate(it.w, it.s, now)
	case actEscalate:
		s.escalateByHand(it.w, now)
	case actConsult:
		s.consult(it.w, now)
	case actRule:
		s.ruling(it.w, now)
	case actContest:
		s.contest(it.w, now)
	case actRaiseByHand:
		s.raiseByHand(it.clue, now)
	case actCallback:
		s.callback(it.w, now)
	case actReopen:
		s.reopen(it.w, now)
	}
}

// reportIn: the unit names who goes on site (报到).
func (s *sim) reportIn(w *sw, x *ss, now time.Time) {
	sc := unitScope(x.u)
	st, ok := s.may(sc, whistle.StepReportIn, w, nil, "")
	if !ok {
		return
	}
	staff := x.u.staff[s.r.IntN(len(x.u.staff))]
	x.reportedAt, x.person, x.phone = now, staff.name, staff.phone
	w.next(whistle.StepReportIn, st, x.u.id, now)
	actor := sc.Username
	s.addTrail(w, now, sc.UserID, actor, "report_in", x.u.id, s.pick(reportNotes), map[string]any{"person": x.person})
	s.whistleEvent(w, now, "whistle.reported_in", map[string]any{"unit": unitRef(x.u), "person": x.person, "phone": x.phone, "actor": actor})
	switch {
	case x.role == "lead" && w.ruled != x.u && w.plan.stall && !w.stalled:
		// the lead reports in and then does nothing: the township escalates
		w.stalled = true
		s.at(now.Add(s.days(1, 3)), now, actEscalate, w, nil)
	case x.role == "lead":
		s.at(s.resolveAt(w, x, now), now, actResolve, w, x)
	case s.r.Float64() < 0.35:
		s.at(s.resolveAt(w, x, now), now, actResolve, w, x)
	}
	s.scheduleSweep(w, now)
}

// resolve: the unit says its part is done (办结).
func (s *sim) resolve(w *sw, x *ss, now time.Time) {
	sc := unitScope(x.u)
	st, ok := s.may(sc, whistle.StepResolve, w, nil, "")
	if !ok {
		return
	}
	x.resolvedAt = now
	p := s.r.Float64()
	switch {
	case x.role != "lead":
		x.outcome = whistle.Resolved
		if p < 0.05 {
			x.outcome = whistle.Partly
		}
	case w.returns < w.plan.returns: // the township will not accept this one
		x.outcome = whistle.Partly
		if p < 0.35 {
			x.outcome = whistle.Resolved
		} else if p < 0.45 {
			x.outcome = whistle.Unresolved
		}
	default:
		x.outcome = whistle.Resolved
		if p < 0.02 {
			x.outcome = whistle.Unresolved
		} else if p < 0.08 {
			x.outcome = whistle.Partly
		}
	}
	if w.next(whistle.StepResolve, st, x.u.id, now); w.status == whistle.AwaitingApproval {
		review := now.Add(time.Duration(s.r.ExpFloat64() * 6 * float64(time.Hour)))
		s.at(s.workHours(review), now, actReview, w, nil)
	}
	actor := sc.Username
	s.addTrail(w, now, sc.UserID, actor, "resolve", x.u.id, s.pick(resolveNotes), map[string]any{"outcome": x.outcome})
	s.whistleEvent(w, now, "whistle.resolved", map[string]any{"unit": unitRef(x.u), "outcome": x.outcome, "actor": actor})
	s.scheduleSweep(w, now)
}

// review: the township closes the whistle or returns it (结案 / 退回).
func (s *sim) review(w *sw, now time.Time) {
	sc := townshipScope(w.town)
	step := whistle.StepClose
	if w.returns < w.plan.returns {
		step = whistle.StepReturn
	}
	st, ok := s.may(sc, step, w, nil, "")
	if !ok {
		return
	}
	actor := sc.Username
	if step == whistle.StepReturn {
		reason := s.pick(returnReasons)
		for _, x := range w.summons {
			if x.role == "lead" {
				x.resolvedAt, x.outcome = time.Time{}, ""
			}
		}
		w.next(step, st, 0, now)
		w.returns++
		w.updatedAt = now
		s.addTrail(w, now, sc.UserID, actor, "return", 0, reason, nil)
		s.whistleEvent(w, now, "whistle.returned", map[string]any{"reason": reason, "actor": actor})
		for _, x := range w.summons {
			if x.role == "lead" {
				t := now.Add(time.Duration((0.3 + 2.7*s.r.Float64()) * x.u.speed * 24 * float64(time.Hour)))
				s.at(s.workHours(t), now, actResolve, w, x)
			}
		}
		s.scheduleSweep(w, now)
		return
	}
	var outs []whistle.Outcome
	for _, x := range w.summons {
		if x.role == "lead" {
			outs = append(outs, x.outcome)
		}
	}
	w.outcome = whistle.CloseOutcome(outs)
	w.next(step, st, 0, now)
	w.closedAt, w.updatedAt = now, now
	s.addTrail(w, now, sc.UserID, actor, "close", 0, s.pick(closeNotes), map[string]any{"outcome": w.outcome})
	s.whistleEvent(w, now, "whistle.closed", map[string]any{"outcome": w.outcome, "actor": actor})
	open := s.open[w.cat]
	for i, o := range open {
		if o == w {
			s.open[w.cat] = append(open[:i:i], open[i+1:]...)
			break
		}
	}
	if w.resident {
		s.at(s.workHours(now.Add(time.Duration((0.5+2.5*s.cr.Float64())*24*float64(time.Hour)))), now, actCallback, w, nil)
	}
	if !w.plan.noRate {
		t := s.workHours(now.Add(time.Duration((0.2 + 30*s.r.Float64()) * float64(time.Hour))))
		for _, x := range w.summons {
			t = t.Add(time.Duration(5+s.r.IntN(55)) * time.Second)
			s.at(t, now, actRate, w, x)
		}
	}
}

// rate: the township's three ratings of a unit (一哨三评), high for most,
// lower for a unit that came late, resolved late or only in part.
func (s *sim) rate(w *sw, x *ss, now time.Time) {
	sc := townshipScope(w.town)
	if _, ok := s.may(sc, whistle.StepRate, w, x.u, ""); !ok {
		return
	}
	q := x.u.quality
	ri := 4.6 + 0.5*q
	if !x.riOverdue.IsZero() || x.reportedAt.IsZero() || x.reportedAt.After(w.reportInDue) {
		ri -= 1.9
	}
	rs := 4.5 + 0.5*q
	if x.role == "lead" {
		if !x.rsOverdue.IsZero() || x.resolvedAt.After(w.resolveDue) {
			rs -= 1.4
		}
		switch x.outcome {
		case whistle.Partly:
			rs--
		case whistle.Unresolved:
			rs -= 2.3
		}
		rs -= 0.5 * float64(w.returns)
	} else if x.resolvedAt.IsZero() {
		rs -= 0.4
	}
	draw := func(mean float64) int {
		return int(math.Max(whistle.MinRating, math.Min(whistle.MaxRating, math.Round(mean+s.r.NormFloat64()*0.55))))
	}
	x.rating = [3]int{draw(ri), draw(rs), 0}
	x.rating[2] = draw(float64(x.rating[0]+x.rating[1])/2 - 0.1)
	x.ratedAt = now
	actor := sc.Username
	ratings := map[string]any{"reported_in": x.rating[0], "resolved": x.rating[1], "satisfied": x.rating[2]}
	s.addTrail(w, now, sc.UserID, actor, "rate", x.u.id, "", ratings)
	s.whistleEvent(w, now, "whistle.rated", map[string]any{"unit": unitRef(x.u), "ratings": ratings, "actor": actor})
	all := true
	for _, o := range w.summons {
		all = all && !o.ratedAt.IsZero()
	}
	w.rated = all
}

// escalateByHand: the lead stalls, so the township makes it a hard
// whistle (疑难哨) and calls a second consultation.
func (s *sim) escalateByHand(w *sw, now time.Time) {
	sc := townshipScope(w.town)
	if _, ok := s.may(sc, whistle.StepEscalate, w, nil, string(whistle.Hard)); ok {
		w.escHand = true
		s.escalate(w, whistle.Hard, sc.Username, sc.UserID, "部门推诿扯皮、问题复杂，申请升级为疑难哨", now, true)
	}
	if _, ok := s.may(sc, whistle.StepConsult, w, nil, ""); !ok {
		return
	}
	s.at(now.Add(s.days(0.5, 3)), now, actConsult, w, nil)
}

// consult: the second consultation (二次会商) of a hard whistle.
func (s *sim) consult(w *sw, now time.Time) {
	sc := townshipScope(w.town)
	if _, ok := s.may(sc, whistle.StepConsult, w, nil, ""); !ok {
		return
	}
	attendees := []string{w.town.name}
	var names []string
	for _, x := range w.summons {
		attendees = append(attendees, x.u.name)
		names = append(names, x.u.name)
	}
	attendees = append(attendees, "区城市服务管理指挥中心")
	minutes := fmt.Sprintf("二次会商：%s与%s现场会商，明确责任分工和办结时限", w.town.name, strings.Join(names, "、"))
	w.consultations++
	w.updatedAt = now
	actor := sc.Username
	s.addTrail(w, now, sc.UserID, actor, "consult", 0, minutes, map[string]any{"attendees": attendees})
	s.whistleEvent(w, now, "whistle.consulted", map[string]any{"attendees": attendees, "actor": actor})
	if w.plan.rule && w.ruled == nil {
		s.at(now.Add(s.days(1, 3)), now, actRule, w, nil)
		return
	}
	s.getGoing(w, now)
}

// getGoing sets the leads to work after a consultation or a ruling.
func (s *sim) getGoing(w *sw, now time.Time) {
	for _, x := range w.summons {
		if x.role != "lead" {
			continue
		}
		switch {
		case x.reportedAt.IsZero():
			s.at(now.Add(time.Duration((0.2+8*s.r.Float64())*x.u.speed*float64(time.Hour))), now, actReportIn, w, x)
		case x.resolvedAt.IsZero():
			s.at(now.Add(s.days(1, 5)), now, actResolve, w, x)
		}
	}
}

// ruling: the command center rules who leads a hard whistle (疑难定责),
// or rules again after a contest (复议定责).
func (s *sim) ruling(w *sw, now time.Time) {
	sc := s.commandScope()
	st, ok := s.may(sc, whistle.StepRule, w, nil, "")
	if !ok {
		return
	}
	again := w.ruled != nil
	u := s.ruleTarget(w, again)
	if u == nil {
		s.getGoing(w, now)
		return
	}
	var reason string
	switch {
	case again && u == w.ruled:
		reason = fmt.Sprintf("复议定责：维持原裁定，由%s牵头办理", u.name)
	case again:
		reason = fmt.Sprintf("复议定责：改由%s牵头办理", u.name)
	default:
		reason = fmt.Sprintf("疑难定责：经指挥中心研究，由%s牵头办理", u.name)
	}
	if again {
		w.reruled = true
	}
	for _, x := range w.summons {
		if x.role == "lead" && x.u != u {
			x.role = "assist"
		}
	}
	if x := w.summonsOf(u); x != nil {
		x.role = "lead"
	} else {
		w.summons = append(w.summons, &ss{u: u, role: "lead", summonedAt: now})
	}
	w.ruled, w.ruledAt, w.contestedAt, w.updatedAt = u, now, time.Time{}, now
	w.next(whistle.StepRule, st, 0, now)
	s.addTrail(w, now, sc.UserID, sc.Username, "rule", u.id, reason, map[string]any{"lead_unit": u.code})
	s.whistleEvent(w, now, "whistle.ruled", map[string]any{"unit": unitRef(u), "reason": reason, "actor": sc.Username})
	if w.plan.contest && !w.contested {
		s.at(now.Add(time.Duration((2+34*s.r.Float64())*float64(time.Hour))), now, actContest, w, nil)
	} else {
		s.getGoing(w, now)
	}
	s.scheduleSweep(w, now)
}

// ruleTarget picks the unit a ruling names: one that has not resolved its
// part yet (it must still be able to), an assisting unit, the lead itself
// or the department the category belongs with; on a re-ruling the same
// unit again about a third of the time.
func (s *sim) ruleTarget(w *sw, again bool) *hUnit {
	var cands []*hUnit
	ok := func(u *hUnit) bool {
		x := w.summonsOf(u)
		return x == nil || x.resolvedAt.IsZero()
	}
	for _, x := range w.summons {
		if ok(x.u) {
			cands = append(cands, x.u)
		}
	}
	for _, r := range relatedUnits {
		if strings.HasPrefix(w.cat.code, r.prefix) {
			if u := s.w.unitBy[s.unitCode(r.unit)]; u != nil && ok(u) && w.summonsOf(u) == nil {
				cands = append(cands, u)
			}
			break
		}
	}
	if len(cands) == 0 {
		return nil
	}
	if again {
		if ok(w.ruled) && s.r.Float64() < 0.35 {
			return w.ruled
		}
		var others []*hUnit
		for _, u := range cands {
			if u != w.ruled {
				others = append(others, u)
			}
		}
		if len(others) == 0 {
			return w.ruled
		}
		return others[s.r.IntN(len(others))]
	}
	var assists []*hUnit
	var lead *hUnit
	for _, x := range w.summons {
		if !ok(x.u) {
			continue
		}
		if x.role == "lead" {
			lead = x.u
		} else {
			assists = append(assists, x.u)
		}
	}
	switch p := s.r.Float64(); {
	case p < 0.45 && len(assists) > 0:
		return assists[s.r.IntN(len(assists))]
	case p < 0.7 && lead != nil:
		return lead
	}
	return cands[len(cands)-1]
}

// unitCode finds a unit's code by name.
func (s *sim) unitCode(name string) string {
	for _, u := range s.w.units {
		if u.name == name {
			return u.code
		}
	}
	return ""
}

// contest: the ruled unit asks for a review of the ruling (复议).
func (s *sim) contest(w *sw, now time.Time) {
	u := w.ruled
	if u == nil {
		return
	}
	sc := unitScope(u)
	if _, ok := s.may(sc, whistle.StepContest, w, nil, ""); !ok {
		return
	}
	reason := "该事项不属于本单位职责范围，申请复议定责"
	w.contestedAt, w.updatedAt, w.contested = now, now, true
	actor := sc.Username
	s.addTrail(w, now, sc.UserID, actor, "contest", u.id, reason, nil)
	s.whistleEvent(w, now, "whistle.contested", map[string]any{"unit": unitRef(u), "reason": reason, "actor": actor})
	s.at(now.Add(s.days(1, 4)), now, actRule, w, nil)
}

// raiseByHand: the village could not solve clue i, so its township raises
// a whistle on it.
func (s *sim) raiseByHand(i int, now time.Time) {
	if s.clueWh[i] != nil {
		return
	}
	d := s.clues[i]
	town := &s.w.towns[s.w.townBy[linkAt(d.pl.Chain, "township").Code]]
	sc := townshipScope(town)
	units := s.responsible(d, now)
	if whistle.MayRaise(sc) != nil || !whistle.Raisable(units) {
		return
	}
	w := s.raise(now, i, units, sc.UserID, sc.Username, "村级无法解决，申请街乡吹哨")
	w.byHand = true
}

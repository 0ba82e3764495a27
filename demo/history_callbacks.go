package demo

import (
	"time"

	"whistlegrid/whistle"
)

// residentSource says whether a clue of source src is a resident's case,
// called back after its whistle closes (回访): the hotline, the board (the
// forum clues) and the app.
func residentSource(src int) bool { return src == srcHotline || src == srcForum || src == srcApp }

// The residents' answers and the townships' reasons, as the callback desk
// and the townships write them.
var (
	callbackNotes = map[whistle.CallbackResult][]string{
		whistle.CallbackSatisfied:   {"居民表示问题已解决，对处理结果满意", "回访居民，表示满意", "居民对办理速度和结果满意"},
		whistle.CallbackBasically:   {"居民表示问题基本解决，希望加强日常巡查", "问题已处理，居民认为还有改进空间"},
		whistle.CallbackUnsatisfied: {"居民反映问题仍未解决", "居民表示现场处置不彻底，问题反复", "居民对处理结果不满意，要求重新处理"},
	}
	reopenReasons = []string{"回访居民不满意，重新派单办理", "问题反复出现，责令原承办单位重新处置", "回访核实问题未解决，重新办理"}
)

// callback: the command center calls the resident back after the close
// (回访), as whistle.Store.Act's callback step does. Most answer satisfied;
// after an unsatisfied answer the township reopens the whistle, within
// whistle.ReopenWindow, more often than not (once per whistle).
func (s *sim) callback(w *sw, now time.Time) {
	sc := s.commandScope()
	if _, ok := s.may(sc, whistle.StepCallback, w, nil, ""); !ok {
		return
	}
	unsatisfied, basically := 0.10, 0.18
	if w.reopened {
		unsatisfied, basically = 0.03, 0.15
	}
	result := whistle.CallbackSatisfied
	switch x := s.cr.Float64(); {
	case x < unsatisfied:
		result = whistle.CallbackUnsatisfied
	case x < unsatisfied+basically:
		result = whistle.CallbackBasically
	}
	notes := callbackNotes[result]
	note := notes[s.cr.IntN(len(notes))]
	w.lastCB, w.lastCBAt, w.updatedAt = result, now, now
	s.callbacks = append(s.callbacks, callbackRow{whistle: w.id, actorID: sc.UserID, at: now, actor: sc.Username, result: string(result), note: note})
	s.addTrail(w, now, sc.UserID, sc.Username, "callback", 0, note, map[string]any{"result": result})
	s.whistleEvent(w, now, "whistle.callback", map[string]any{"result": result, "actor": sc.Username})
	if result == whistle.CallbackUnsatisfied && !w.reopened && s.cr.Float64() < 0.7 {
		t := s.workHours(now.Add(time.Duration((0.1 + 3*s.cr.Float64()) * 24 * float64(time.Hour))))
		s.at(t, now, actReopen, w, nil)
	}
}

// reopen: the township sends the whistle back to work after the
// unsatisfied callback, as whistle.Store.Act's reopen step does: in
// progress with the same units, the leads resolve again by a new resolve
// deadline at the whistle's grade (never before the report-in deadline).
func (s *sim) reopen(w *sw, now time.Time) {
	sc := townshipScope(w.town)
	st, ok := s.may(sc, whistle.StepReopen, w, nil, "")
	if !ok || whistle.MayReopen(st, now) != nil {
		return
	}
	_, p, ok := s.w.policies.AtRaise(w.cat.code, w.grade)
	if !ok {
		return
	}
	for _, x := range w.summons {
		if x.role == "lead" {
			x.resolvedAt, x.outcome = time.Time{}, ""
		}
	}
	w.next(whistle.StepReopen, st, 0, now)
	w.closedAt, w.outcome, w.updatedAt, w.reopened = time.Time{}, "", now, true
	w.resolveDue = now.Add(p.Resolve)
	if w.resolveDue.Before(w.reportInDue) {
		w.resolveDue = w.reportInDue
	}
	reason := reopenReasons[s.cr.IntN(len(reopenReasons))]
	s.addTrail(w, now, sc.UserID, sc.Username, "reopen", 0, reason, map[string]any{"callback_at": w.lastCBAt})
	s.whistleEvent(w, now, "whistle.reopened", map[string]any{"reason": reason, "actor": sc.Username})
	s.open[w.cat] = append(s.open[w.cat], w)
	for _, x := range w.summons {
		if x.role == "lead" {
			t := now.Add(time.Duration((0.3 + 2.7*s.cr.Float64()) * x.u.speed * 24 * float64(time.Hour)))
			s.at(s.workHours(t), now, actResolve, w, x)
		}
	}
	s.scheduleSweep(w, now)
}

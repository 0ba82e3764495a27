package whistle

import (
	"time"

	"whistlegrid/access"
	"whistlegrid/fault"
)

// Step is one action on a whistle.
type Step string

// The steps of a whistle, one code name each (README: Whistles).
const (
	StepRaise    Step = "raise"
	StepReportIn Step = "report_in"
	StepResolve  Step = "resolve"
	StepClose    Step = "close"
	StepReturn   Step = "return"
	StepRate     Step = "rate"
	StepEscalate Step = "escalate"
	StepConsult  Step = "consult"
	StepRule     Step = "rule"
	StepContest  Step = "contest"
	// StepSupervise is the command center's notice (督办) to a late unit:
	// one per unit and kind of lateness (report-in, resolve), as the sweep
	// sends them.
	StepSupervise Step = "supervise"
	StepCallback  Step = "callback" // the command center calls the resident back (回访)
	StepReopen    Step = "reopen"   // the township reopens after an unsatisfied callback
)

// Steps lists every step, for tests that walk them all.
func Steps() []Step {
	return []Step{StepReportIn, StepResolve, StepClose, StepReturn, StepRate, StepEscalate, StepConsult, StepRule, StepContest, StepSupervise, StepCallback, StepReopen}
}

// Summons is a unit summoned to a whistle, as the decisions need it.
type Summons struct {
	UnitID     int64
	UnitCode   string
	UnitName   string
	Role       string // lead or assist
	ReportedIn bool
	Resolved   bool
	Rated      bool
	// SupervisedReportIn and SupervisedResolve: a supervision notice of
	// that kind was sent to the unit on this whistle.
	SupervisedReportIn bool
	SupervisedResolve  bool
}

// State is what the decisions read of a whistle.
type State struct {
	ID           int64
	TownshipCode string
	GridCode     string // the household grid of its first clue, "" if none
	Status       Status
	Grade        Grade
	Summons      []Summons
	RuledUnitID  int64
	Contested    bool
	// ReportInDue and ResolveDue are the deadlines, and At the time the
	// decision is made (the caller's now): supervise reads them.
	ReportInDue, ResolveDue, At time.Time
	// the latest callback (回访): its result ("" when none) and time
	LastCallback   CallbackResult
	LastCallbackAt time.Time
}

// summons returns the unit's summons, or nil.
func (s *State) summons(unitID int64) *Summons {
	for i := range s.Summons {
		if s.Summons[i].UnitID == unitID {
			return &s.Summons[i]
		}
	}
	return nil
}

// Visible reports whether the caller may see the whistle at all: the
// command center and the wall screen everywhere, a township its own, a unit
// the whistles it is summoned to, a grid worker or party member those in
// their grid.
func Visible(sc access.Scope, s *State) bool {
	return sc.SeesWhistle(s.TownshipCode, s.GridCode, sc.Role == access.RoleUnit && s.summons(sc.UnitID) != nil)
}

// Authorize decides whether the caller may take step on the whistle:
// ErrNotFound when the whistle is outside the caller's jurisdiction,
// ErrForbidden when the caller's role may not take the step (or, for a
// unit step taken by the command center, actingUnit names no summoned
// unit). It returns the unit the step acts for (0 for township steps).
func Authorize(sc access.Scope, step Step, s *State, actingUnit int64) (int64, error) {
	if !Visible(sc, s) {
		return 0, fault.Errorf(ErrNotFound, "whistle %d is outside your jurisdiction", s.ID)
	}
	if sc.ReadOnly() {
		return 0, fault.Errorf(ErrForbidden, "the wall screen is read-only")
	}
	switch step {
	case StepReportIn, StepResolve:
		switch sc.Role {
		case access.RoleUnit:
			return sc.UnitID, nil
		case access.RoleCommand:
			if actingUnit == 0 || s.summons(actingUnit) == nil {
				return 0, fault.Errorf(ErrForbidden, "the command center must name a summoned unit (\"unit\") to act for")
			}
			return actingUnit, nil
		}
		return 0, fault.Errorf(ErrForbidden, "only a summoned unit may %s", step)
	case StepClose, StepReturn, StepRate:
		if sc.Role == access.RoleTownship || sc.Role == access.RoleCommand {
			return 0, nil
		}
		return 0, fault.Errorf(ErrForbidden, "only the township (or the command center) may %s", step)
	case StepEscalate, StepConsult:
		if sc.Role == access.RoleTownship || sc.Role == access.RoleCommand {
			return 0, nil
		}
		return 0, fault.Errorf(ErrForbidden, "only the township or the command center may %s", step)
	case StepRule:
		if sc.Role == access.RoleCommand {
			return 0, nil
		}
		return 0, fault.Errorf(ErrForbidden, "only the command center rules on responsibility")
	case StepCallback:
		if sc.Role == access.RoleCommand {
			return 0, nil
		}
		return 0, fault.Errorf(ErrForbidden, "only the command center calls residents back")
	case StepReopen:
		if sc.Role == access.RoleTownship || sc.Role == access.RoleCommand {
			return 0, nil
		}
		return 0, fault.Errorf(ErrForbidden, "only the township (or the command center) may reopen a whistle")
	case StepContest:
		if sc.Role == access.RoleUnit && s.RuledUnitID != 0 && sc.UnitID == s.RuledUnitID {
			return sc.UnitID, nil
		}
		return 0, fault.Errorf(ErrForbidden, "only the unit a ruling named may contest it")
	case StepSupervise:
		if sc.Role == access.RoleCommand {
			return 0, nil
		}
		return 0, fault.Errorf(ErrForbidden, "only the command center supervises (督办)")
	}
	return 0, fault.Errorf(ErrInvalid, "unknown step %q", step)
}

// Allowed decides whether step may be taken now, from the whistle's status
// and the acting unit's summons: ErrConflict with the reason when not.
func Allowed(step Step, s *State, unitID int64, arg string) error {
	if s.Status == Closed && step != StepRate && step != StepCallback && step != StepReopen {
		return fault.Errorf(ErrConflict, "whistle %d is closed", s.ID)
	}
	switch step {
	case StepReportIn:
		sm := s.summons(unitID)
		if sm == nil {
			return fault.Errorf(ErrForbidden, "the unit is not summoned to whistle %d", s.ID)
		}
		if sm.ReportedIn {
			return fault.Errorf(ErrConflict, "%s has already reported in", sm.UnitName)
		}
		if s.Status == AwaitingApproval && sm.Role == "lead" {
			return fault.Errorf(ErrConflict, "the whistle awaits the township's approval")
		}
	case StepResolve:
		sm := s.summons(unitID)
		if sm == nil {
			return fault.Errorf(ErrForbidden, "the unit is not summoned to whistle %d", s.ID)
		}
		if !sm.ReportedIn {
			return fault.Errorf(ErrConflict, "%s must report in before resolving", sm.UnitName)
		}
		if sm.Resolved {
			return fault.Errorf(ErrConflict, "%s has already resolved its part", sm.UnitName)
		}
		if s.Status != InProgress {
			return fault.Errorf(ErrConflict, "a whistle %s cannot be resolved", s.Status)
		}
	case StepClose:
		if s.Status != AwaitingApproval {
			return fault.Errorf(ErrConflict, "only a whistle awaiting approval can be closed (every lead unit must resolve first); this one is %s", s.Status)
		}
	case StepReturn:
		if s.Status != AwaitingApproval {
			return fault.Errorf(ErrConflict, "only a whistle awaiting approval can be returned; this one is %s", s.Status)
		}
	case StepRate:
		if s.Status != Closed {
			return fault.Errorf(ErrConflict, "units are rated after the whistle is closed")
		}
		sm := s.summons(unitID)
		if sm == nil {
			return fault.FieldErrorf(ErrInvalid, "unit", "the unit is not summoned to whistle %d", s.ID)
		}
		if sm.Rated {
			return fault.Errorf(ErrConflict, "%s has already been rated on this whistle", sm.UnitName)
		}
	case StepEscalate:
		g := Grade(arg)
		if g.Rank() == 0 {
			return fault.FieldErrorf(ErrInvalid, "grade", "grade must be routine, priority or hard")
		}
		if g.Rank() <= s.Grade.Rank() {
			return fault.Errorf(ErrConflict, "the whistle is already %s; escalation must raise the grade", s.Grade)
		}
	case StepConsult:
		if s.Grade != Hard {
			return fault.Errorf(ErrConflict, "a second consultation is for hard whistles; escalate first")
		}
	case StepRule:
		if s.Grade != Hard {
			return fault.Errorf(ErrConflict, "a responsibility ruling is for hard whistles")
		}
		if s.RuledUnitID != 0 && !s.Contested {
			return fault.Errorf(ErrConflict, "the whistle is already ruled; a new ruling follows only a contest")
		}
	case StepCallback:
		if s.Status != Closed {
			return fault.Errorf(ErrConflict, "the resident is called back after the whistle is closed")
		}
	case StepReopen:
		if s.Status != Closed {
			return fault.Errorf(ErrConflict, "only a closed whistle can be reopened; this one is %s", s.Status)
		}
	case StepContest:
		if s.RuledUnitID == 0 {
			return fault.Errorf(ErrConflict, "there is no ruling to contest")
		}
		if s.Contested {
			return fault.Errorf(ErrConflict, "a ruling may be contested once")
		}
	case StepSupervise:
		sm := s.summons(unitID)
		if sm == nil {
			return fault.FieldErrorf(ErrInvalid, "unit", "the unit is not summoned to whistle %d", s.ID)
		}
		if _, err := s.LateKind(sm); err != nil {
			return err
		}
	}
	return nil
}

// LateKind is the kind of supervision notice (督办) a summoned unit is due
// at s.At: "report_in" when it has not reported in by the report-in
// deadline, "resolve" when, as lead, it has not resolved by the resolve
// deadline; ErrConflict when it is not late, or was already supervised
// for that lateness (one notice per unit and kind, as the sweep sends).
func (s *State) LateKind(sm *Summons) (string, error) {
	switch {
	case !sm.ReportedIn && s.At.After(s.ReportInDue):
		if sm.SupervisedReportIn {
			return "", fault.Errorf(ErrConflict, "%s was already supervised for its report-in", sm.UnitName)
		}
		return "report_in", nil
	case sm.Role == "lead" && !sm.Resolved && s.At.After(s.ResolveDue):
		if sm.SupervisedResolve {
			return "", fault.Errorf(ErrConflict, "%s was already supervised for its resolution", sm.UnitName)
		}
		return "resolve", nil
	}
	return "", fault.Errorf(ErrConflict, "%s is not late: nothing to supervise", sm.UnitName)
}

// Action is a step the caller may take now on a whistle, as the page
// offers it: for a step that names a unit (rate, supervise, and report-in
// or resolve by the command center) the units it may name, for escalate
// the grades it may choose.
type Action struct {
	Step   Step     `json:"step"`
	Units  []string `json:"units,omitempty"`
	Grades []Grade  `json:"grades,omitempty"`
}

// Actions lists the steps the caller may take now on s, in Steps()
// order: exactly those Authorize and Allowed let through (the one
// definition of both), so a page that renders only these never offers a
// step the server refuses for its role or the status. Empty when none.
func Actions(sc access.Scope, s *State) []Action {
	out := []Action{}
	for _, step := range Steps() {
		switch {
		case step == StepRate || step == StepSupervise || (sc.Role == access.RoleCommand && (step == StepReportIn || step == StepResolve)):
			var units []string
			for _, sm := range s.Summons {
				if _, err := Authorize(sc, step, s, sm.UnitID); err != nil {
					break
				}
				if Allowed(step, s, sm.UnitID, "") == nil {
					units = append(units, sm.UnitCode)
				}
			}
			if len(units) > 0 {
				out = append(out, Action{Step: step, Units: units})
			}
		case step == StepEscalate:
			if _, err := Authorize(sc, step, s, 0); err != nil {
				continue
			}
			var grades []Grade
			for _, g := range []Grade{Routine, Priority, Hard} {
				if Allowed(step, s, 0, string(g)) == nil {
					grades = append(grades, g)
				}
			}
			if len(grades) > 0 {
				out = append(out, Action{Step: step, Grades: grades})
			}
		default:
			unitID, err := Authorize(sc, step, s, 0)
			if err != nil {
				continue
			}
			if step == StepReopen && MayReopen(s, s.At) != nil {
				continue // only after an unsatisfied callback, within 7 days
			}
			if Allowed(step, s, unitID, "") == nil {
				out = append(out, Action{Step: step})
			}
		}
	}
	return out
}

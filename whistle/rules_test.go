package whistle

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"whistlegrid/access"
	"whistlegrid/grid"
)

// Every step from every status it is allowed in, with lead unit 11
// (resolved or not) and assisting unit 12.
func TestNext(t *testing.T) {
	state := func(status Status, leadResolved bool) *State {
		return &State{Status: status, Summons: []Summons{
			{UnitID: 11, Role: "lead", ReportedIn: true, Resolved: leadResolved},
			{UnitID: 12, Role: "assist", ReportedIn: true},
		}}
	}
	for _, tt := range []struct {
		step         Step
		from         Status
		leadResolved bool
		unit         int64
		want         Status
	}{
		{StepRaise, "", false, 0, Raised},
		{StepReportIn, Raised, false, 11, InProgress},
		{StepReportIn, Raised, false, 12, InProgress},
		{StepReportIn, InProgress, false, 12, InProgress},
		{StepReportIn, AwaitingApproval, true, 12, AwaitingApproval},
		{StepResolve, InProgress, false, 11, AwaitingApproval}, // the last lead
		{StepResolve, InProgress, false, 12, InProgress},       // an assistant: the lead has not
		{StepClose, AwaitingApproval, true, 0, Closed},
		{StepReturn, AwaitingApproval, true, 0, InProgress},
		{StepRate, Closed, true, 12, Closed},
		{StepEscalate, InProgress, false, 0, InProgress},
		{StepEscalate, AwaitingApproval, true, 0, AwaitingApproval},
		{StepConsult, Raised, false, 0, Raised},
		{StepRule, AwaitingApproval, true, 0, InProgress},
		{StepRule, InProgress, false, 0, InProgress},
		{StepRule, Raised, false, 0, Raised},
		{StepContest, InProgress, false, 11, InProgress},
	} {
		t.Run(fmt.Sprintf("%s from %s by %d", tt.step, tt.from, tt.unit), func(t *testing.T) {
			s := state(tt.from, tt.leadResolved)
			if got := Next(tt.step, s, tt.unit); got != tt.want {
				t.Errorf("Next = %s, want %s", got, tt.want)
			}
			if s.Status != tt.from {
				t.Errorf("Next changed the state to %s", s.Status)
			}
		})
	}
	t.Run("two leads", func(t *testing.T) {
		s := &State{Status: InProgress, Summons: []Summons{
			{UnitID: 11, Role: "lead", ReportedIn: true},
			{UnitID: 13, Role: "lead", ReportedIn: true},
		}}
		if got := Next(StepResolve, s, 11); got != InProgress {
			t.Errorf("the first of two leads resolves: %s, want in_progress", got)
		}
		s.Summons[1].Resolved = true
		if got := Next(StepResolve, s, 11); got != AwaitingApproval {
			t.Errorf("the second of two leads resolves: %s, want awaiting_approval", got)
		}
	})
	t.Run("no lead", func(t *testing.T) {
		s := &State{Status: InProgress, Summons: []Summons{{UnitID: 12, Role: "assist", ReportedIn: true}}}
		if got := Next(StepResolve, s, 12); got != InProgress {
			t.Errorf("a whistle with no lead: %s, want in_progress", got)
		}
	})
}

// Next and Allowed agree: every step Allowed from a status leads to a
// status; closed is left by no step but a reopening (after an
// unsatisfied callback, MayReopen).
func TestNextFromAllowed(t *testing.T) {
	for _, from := range []Status{Raised, InProgress, AwaitingApproval, Closed} {
		for _, step := range Steps() {
			s := &State{Status: from, Grade: Hard, RuledUnitID: 11, Summons: []Summons{{UnitID: 11, Role: "lead", ReportedIn: from != Raised, Resolved: from == AwaitingApproval}}}
			if Allowed(step, s, 11, string(Hard)) != nil && Allowed(step, s, 11, "") != nil {
				continue
			}
			got := Next(step, s, 11)
			if from == Closed && got != Closed && !(step == StepReopen && got == InProgress) {
				t.Errorf("%s from closed leads to %s", step, got)
			}
			if got == Raised && from != Raised {
				t.Errorf("%s from %s leads back to raised", step, from)
			}
		}
	}
}

func TestCloseOutcome(t *testing.T) {
	for _, tt := range []struct {
		in   []Outcome
		want Outcome
	}{
		{[]Outcome{Resolved}, Resolved},
		{[]Outcome{Resolved, Resolved}, Resolved},
		{[]Outcome{Resolved, Unresolved}, Partly},
		{[]Outcome{Partly}, Partly},
		{[]Outcome{Unresolved, Unresolved}, Unresolved},
		{nil, Unresolved},
	} {
		if got := CloseOutcome(tt.in); got != tt.want {
			t.Errorf("CloseOutcome(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestSummonableAndRaisable(t *testing.T) {
	units := []grid.UnitRef{
		{Role: "lead", Code: "S001", Kind: "station"},
		{Role: "assist", Code: "D001", Kind: "department"},
		{Role: "assist", Code: "S001", Kind: "station"}, // named twice: once, as the list first names it
		{Role: "assist", Code: "T101", Kind: "township"},
	}
	codes, roles := Summonable(units)
	if !slices.Equal(codes, []string{"S001", "D001"}) || !slices.Equal(roles, []string{"lead", "assist"}) {
		t.Errorf("Summonable = %v %v", codes, roles)
	}
	for _, tt := range []struct {
		units []grid.UnitRef
		want  bool
	}{
		{units, true},
		{nil, false},
		{[]grid.UnitRef{{Role: "lead", Code: "T101", Kind: "township"}}, false}, // 属地兜底
	} {
		if got := Raisable(tt.units); got != tt.want {
			t.Errorf("Raisable(%v) = %v, want %v", tt.units, got, tt.want)
		}
	}
}

func TestMayRaise(t *testing.T) {
	for role, ok := range map[access.Role]bool{
		access.RoleCommand: true, access.RoleTownship: true, access.RoleUnit: false,
		access.RoleGridWorker: false, access.RolePartyMember: false, access.RoleScreen: false,
	} {
		err := MayRaise(access.Scope{Role: role})
		if (err == nil) != ok || (err != nil && !errors.Is(err, ErrForbidden)) {
			t.Errorf("%s: %v, want allowed %v", role, err, ok)
		}
	}
}

func TestOverdueEscalation(t *testing.T) {
	for _, tt := range []struct {
		from, to Grade
		ok       bool
	}{{Routine, Priority, true}, {Priority, Hard, true}, {Hard, Hard, false}} {
		if to, ok := OverdueEscalation(tt.from); to != tt.to || ok != tt.ok {
			t.Errorf("OverdueEscalation(%s) = %s %v, want %s %v", tt.from, to, ok, tt.to, tt.ok)
		}
	}
}

func TestValidRating(t *testing.T) {
	for r, ok := range map[int]bool{0: false, 1: true, 3: true, 5: true, 6: false, -1: false} {
		if ValidRating(r) != ok {
			t.Errorf("ValidRating(%d) = %v", r, !ok)
		}
	}
}

func TestAtRaise(t *testing.T) {
	p := Policies{
		Grades: map[Grade]Policy{
			Routine:  {24 * time.Hour, 7 * 24 * time.Hour},
			Priority: {2 * time.Hour, 3 * 24 * time.Hour},
			Hard:     {30 * time.Minute, 15 * 24 * time.Hour},
		},
		Categories: map[string]CategoryPolicy{
			"HL.04": {Priority, Policy{time.Hour, 2 * 24 * time.Hour}}, // its own, tighter than priority's
		},
	}
	for _, tt := range []struct {
		category string
		grade    Grade
		want     Grade
		pol      Policy
		ok       bool
	}{
		{"HL.04", "", Priority, Policy{time.Hour, 2 * 24 * time.Hour}, true},
		{"HL.04", Priority, Priority, Policy{time.Hour, 2 * 24 * time.Hour}, true},
		{"HL.04", Hard, Hard, Policy{30 * time.Minute, 15 * 24 * time.Hour}, true},
		{"HL.04", Routine, Routine, Policy{24 * time.Hour, 7 * 24 * time.Hour}, true},
		{"HL.04", "urgent", "", Policy{}, false},
		{"XX.01", "", "", Policy{}, false},
	} {
		g, pol, ok := p.AtRaise(tt.category, tt.grade)
		if g != tt.want || pol != tt.pol || ok != tt.ok {
			t.Errorf("AtRaise(%s, %q) = %s %v %v, want %s %v %v", tt.category, tt.grade, g, pol, ok, tt.want, tt.pol, tt.ok)
		}
	}
}

func TestTighten(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	h := time.Hour
	priority := Policy{2 * h, 72 * h}
	hard := Policy{30 * time.Minute, 360 * h}
	for _, tt := range []struct {
		name           string
		now            time.Time
		ri, rs         time.Time // before
		p              Policy
		wantRI, wantRS time.Time
	}{
		{"both ahead, both tighten", t0.Add(h), t0.Add(24 * h), t0.Add(168 * h), priority, t0.Add(3 * h), t0.Add(73 * h)},
		{"never later than they were", t0.Add(h), t0.Add(24 * h), t0.Add(168 * h), hard, t0.Add(90 * time.Minute), t0.Add(168 * h)},
		{"a missed report-in stays", t0.Add(30 * h), t0.Add(24 * h), t0.Add(168 * h), priority, t0.Add(24 * h), t0.Add(102 * h)},
		{"both missed stay", t0.Add(200 * h), t0.Add(24 * h), t0.Add(168 * h), priority, t0.Add(24 * h), t0.Add(168 * h)},
		{"resolve not before the old report-in", t0.Add(h), t0.Add(24 * h), t0.Add(168 * h), Policy{time.Minute, 2 * h}, t0.Add(61 * time.Minute), t0.Add(24 * h)},
		{"a deadline at now is missed", t0, t0, t0.Add(168 * h), priority, t0, t0.Add(72 * h)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ri, rs := Tighten(tt.now, tt.ri, tt.rs, tt.p)
			if !ri.Equal(tt.wantRI) || !rs.Equal(tt.wantRS) {
				t.Errorf("Tighten = %v, %v; want %v, %v", ri, rs, tt.wantRI, tt.wantRS)
			}
		})
	}
}

// A whistle is reopened only after an unsatisfied callback, within 7 days.
func TestMayReopen(t *testing.T) {
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name   string
		result CallbackResult
		after  time.Duration
		ok     bool
	}{
		{"no callback", "", time.Hour, false},
		{"satisfied", CallbackSatisfied, time.Hour, false},
		{"basically satisfied", CallbackBasically, time.Hour, false},
		{"unsatisfied, the same day", CallbackUnsatisfied, time.Hour, true},
		{"unsatisfied, on the 7th day", CallbackUnsatisfied, ReopenWindow, true},
		{"unsatisfied, past 7 days", CallbackUnsatisfied, ReopenWindow + time.Minute, false},
	} {
		err := MayReopen(&State{Status: Closed, LastCallback: tt.result, LastCallbackAt: at}, at.Add(tt.after))
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrConflict)) {
			t.Errorf("%s: %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	if !CallbackBasically.Satisfied() || CallbackUnsatisfied.Satisfied() || CallbackResult("meh").Valid() {
		t.Error("CallbackResult rules")
	}
}

// A flagged clue's deadlines are the fastest of its category's and the
// priority grade's.
func TestRiskPolicy(t *testing.T) {
	p := Policies{Grades: map[Grade]Policy{Priority: {ReportIn: 2 * time.Hour, Resolve: 72 * time.Hour}},
		Categories: map[string]CategoryPolicy{
			"A": {Grade: Routine, Policy: Policy{ReportIn: time.Hour, Resolve: 100 * time.Hour}},
			"B": {Grade: Routine, Policy: Policy{ReportIn: 24 * time.Hour, Resolve: 48 * time.Hour}},
		}}
	if got := p.RiskPolicy("A"); got != (Policy{time.Hour, 72 * time.Hour}) {
		t.Errorf("A: %v", got)
	}
	if got := p.RiskPolicy("B"); got != (Policy{2 * time.Hour, 48 * time.Hour}) {
		t.Errorf("B: %v", got)
	}
}

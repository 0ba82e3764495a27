package whistle

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"whistlegrid/access"
	"whistlegrid/fault"
)

// The permission matrix: each role × each step × own and other
// jurisdiction, on a whistle of 康庄镇 (110119101) with unit 11 leading,
// unit 12 assisting, unit 13 ruled.
func TestAuthorizeMatrix(t *testing.T) {
	st := &State{
		ID: 7, TownshipCode: "110119101", GridCode: "110119101001003", Status: InProgress, Grade: Hard,
		Summons: []Summons{
			{UnitID: 11, UnitCode: "S001", Role: "lead"},
			{UnitID: 12, UnitCode: "D001", Role: "assist"},
			{UnitID: 13, UnitCode: "D002", Role: "assist"},
		},
		RuledUnitID: 13,
	}
	callers := map[string]access.Scope{
		"command":         {Role: access.RoleCommand, GridCode: "110119"},
		"screen":          {Role: access.RoleScreen, GridCode: "110119"},
		"township own":    {Role: access.RoleTownship, GridCode: "110119101"},
		"township other":  {Role: access.RoleTownship, GridCode: "110119102"},
		"unit lead":       {Role: access.RoleUnit, UnitID: 11},
		"unit assist":     {Role: access.RoleUnit, UnitID: 12},
		"unit ruled":      {Role: access.RoleUnit, UnitID: 13},
		"unit other":      {Role: access.RoleUnit, UnitID: 99},
		"worker own":      {Role: access.RoleGridWorker, GridCode: "110119101001"},
		"worker other":    {Role: access.RoleGridWorker, GridCode: "110119101002"},
		"party own":       {Role: access.RolePartyMember, GridCode: "110119101001003"},
		"party other":     {Role: access.RolePartyMember, GridCode: "110119101001004"},
		"no jurisdiction": {Role: access.RoleTownship},
	}
	// "ok", "403" or "404" for each caller and step, in Steps() order:
	// report_in resolve close return rate escalate consult rule contest supervise callback reopen
	want := map[string][12]string{
		"command":         {"ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "403", "ok", "ok", "ok"},
		"screen":          {"403", "403", "403", "403", "403", "403", "403", "403", "403", "403", "403", "403"},
		"township own":    {"403", "403", "ok", "ok", "ok", "ok", "ok", "403", "403", "403", "403", "ok"},
		"township other":  {"404", "404", "404", "404", "404", "404", "404", "404", "404", "404", "404", "404"},
		"unit lead":       {"ok", "ok", "403", "403", "403", "403", "403", "403", "403", "403", "403", "403"},
		"unit assist":     {"ok", "ok", "403", "403", "403", "403", "403", "403", "403", "403", "403", "403"},
		"unit ruled":      {"ok", "ok", "403", "403", "403", "403", "403", "403", "ok", "403", "403", "403"},
		"unit other":      {"404", "404", "404", "404", "404", "404", "404", "404", "404", "404", "404", "404"},
		"worker own":      {"403", "403", "403", "403", "403", "403", "403", "403", "403", "403", "403", "403"},
		"worker other":    {"404", "404", "404", "404", "404", "404", "404", "404", "404", "404", "404", "404"},
		"party own":       {"403", "403", "403", "403", "403", "403", "403", "403", "403", "403", "403", "403"},
		"party other":     {"404", "404", "404", "404", "404", "404", "404", "404", "404", "404", "404", "404"},
		"no jurisdiction": {"404", "404", "404", "404", "404", "404", "404", "404", "404", "404", "404", "404"},
	}
	for name, sc := range callers {
		for i, step := range Steps() {
			t.Run(fmt.Sprintf("%s/%s", name, step), func(t *testing.T) {
				_, err := Authorize(sc, step, st, 11) // the command center acts for unit 11
				got := "ok"
				switch {
				case errors.Is(err, ErrNotFound):
					got = "404"
				case errors.Is(err, ErrForbidden):
					got = "403"
				case err != nil:
					got = err.Error()
				}
				if got != want[name][i] {
					t.Errorf("got %s, want %s (%v)", got, want[name][i], err)
				}
			})
		}
	}
	// the command center must name a summoned unit for a unit's step
	if _, err := Authorize(callers["command"], StepReportIn, st, 0); !errors.Is(err, ErrForbidden) {
		t.Errorf("command without a unit: %v, want forbidden", err)
	}
}

// Every transition and every refusal, from each status.
func TestAllowedTransitions(t *testing.T) {
	base := func(status Status, grade Grade) *State {
		return &State{ID: 1, Status: status, Grade: grade, Summons: []Summons{
			{UnitID: 1, UnitName: "甲", Role: "lead"},
			{UnitID: 2, UnitName: "乙", Role: "assist"},
		}}
	}
	reported := func(s *State) *State { s.Summons[0].ReportedIn = true; return s }
	resolved := func(s *State) *State { s.Summons[0].ReportedIn, s.Summons[0].Resolved = true, true; return s }
	rated := func(s *State) *State { s.Summons[0].Rated = true; return s }
	ruled := func(s *State) *State { s.RuledUnitID = 1; return s }
	contested := func(s *State) *State { s.RuledUnitID, s.Contested = 1, true; return s }
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	deadlines := func(s *State, ri, rs time.Duration) *State {
		s.At, s.ReportInDue, s.ResolveDue = at, at.Add(ri), at.Add(rs)
		return s
	}
	late := func(s *State) *State { return deadlines(s, -time.Hour, time.Hour) }
	lateResolve := func(s *State) *State { return deadlines(s, -2*time.Hour, -time.Hour) }
	supervised := func(s *State) *State { s.Summons[0].SupervisedReportIn = true; return s }
	tests := []struct {
		name string
		st   *State
		step Step
		unit int64
		arg  string
		want error
	}{
		{"report in when raised", base(Raised, Routine), StepReportIn, 1, "", nil},
		{"report in twice", reported(base(InProgress, Routine)), StepReportIn, 1, "", ErrConflict},
		{"assist reports in while awaiting approval", resolved(base(AwaitingApproval, Routine)), StepReportIn, 2, "", nil},
		{"report in when closed", base(Closed, Routine), StepReportIn, 1, "", ErrConflict},
		{"resolve before report in", base(Raised, Routine), StepResolve, 1, "", ErrConflict},
		{"resolve after report in", reported(base(InProgress, Routine)), StepResolve, 1, "", nil},
		{"resolve twice", resolved(base(InProgress, Routine)), StepResolve, 1, "", ErrConflict},
		{"resolve while awaiting approval", reported(base(AwaitingApproval, Routine)), StepResolve, 1, "", ErrConflict},
		{"close in progress", base(InProgress, Routine), StepClose, 0, "", ErrConflict},
		{"close awaiting approval", resolved(base(AwaitingApproval, Routine)), StepClose, 0, "", nil},
		{"close closed", base(Closed, Routine), StepClose, 0, "", ErrConflict},
		{"return awaiting approval", resolved(base(AwaitingApproval, Routine)), StepReturn, 0, "", nil},
		{"return in progress", base(InProgress, Routine), StepReturn, 0, "", ErrConflict},
		{"return closed", base(Closed, Routine), StepReturn, 0, "", ErrConflict},
		{"rate before close", base(AwaitingApproval, Routine), StepRate, 1, "", ErrConflict},
		{"rate after close", base(Closed, Routine), StepRate, 1, "", nil},
		{"rate twice", rated(base(Closed, Routine)), StepRate, 1, "", ErrConflict},
		{"rate a unit not summoned", base(Closed, Routine), StepRate, 9, "", ErrInvalid},
		{"escalate up", base(InProgress, Routine), StepEscalate, 0, "priority", nil},
		{"escalate to the same grade", base(InProgress, Priority), StepEscalate, 0, "priority", ErrConflict},
		{"escalate down", base(InProgress, Hard), StepEscalate, 0, "routine", ErrConflict},
		{"escalate to nonsense", base(InProgress, Routine), StepEscalate, 0, "urgent", ErrInvalid},
		{"escalate closed", base(Closed, Routine), StepEscalate, 0, "hard", ErrConflict},
		{"consult hard", base(InProgress, Hard), StepConsult, 0, "", nil},
		{"consult routine", base(InProgress, Routine), StepConsult, 0, "", ErrConflict},
		{"rule hard", base(InProgress, Hard), StepRule, 0, "", nil},
		{"rule priority", base(InProgress, Priority), StepRule, 0, "", ErrConflict},
		{"rule again without contest", ruled(base(InProgress, Hard)), StepRule, 0, "", ErrConflict},
		{"rule again after contest", contested(base(InProgress, Hard)), StepRule, 0, "", nil},
		{"contest without ruling", base(InProgress, Hard), StepContest, 1, "", ErrConflict},
		{"contest a ruling", ruled(base(InProgress, Hard)), StepContest, 1, "", nil},
		{"contest twice", contested(base(InProgress, Hard)), StepContest, 1, "", ErrConflict},
		{"supervise a unit late to report in", late(base(Raised, Routine)), StepSupervise, 1, "", nil},
		{"supervise a unit not yet late", base(Raised, Routine), StepSupervise, 1, "", ErrConflict},
		{"supervise a reported lead late to resolve", reported(lateResolve(base(InProgress, Routine))), StepSupervise, 1, "", nil},
		{"supervise an assistant past the resolve deadline", reported(lateResolve(base(InProgress, Routine))), StepSupervise, 2, "", nil},
		{"supervise twice", supervised(late(base(Raised, Routine))), StepSupervise, 1, "", ErrConflict},
		{"supervise a unit not summoned", late(base(Raised, Routine)), StepSupervise, 9, "", ErrInvalid},
		{"supervise when closed", late(base(Closed, Routine)), StepSupervise, 1, "", ErrConflict},
		{"callback when closed", base(Closed, Routine), StepCallback, 0, "", nil},
		{"callback before close", resolved(base(AwaitingApproval, Routine)), StepCallback, 0, "", ErrConflict},
		{"reopen closed", base(Closed, Routine), StepReopen, 0, "", nil},
		{"reopen in progress", base(InProgress, Routine), StepReopen, 0, "", ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Allowed(tt.step, tt.st, tt.unit, tt.arg)
			if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("Allowed = %v, want %v", err, tt.want)
			}
			if err != nil && len(err.Error()) < 20 {
				t.Errorf("reason %q is too thin", err)
			}
		})
	}
}

func TestValidateInput(t *testing.T) {
	for _, tt := range []struct {
		step  Step
		in    StepInput
		field string
	}{
		{StepReportIn, StepInput{}, "person"},
		{StepReportIn, StepInput{Person: "王强", Phone: "call me"}, "phone"},
		{StepResolve, StepInput{Outcome: "done"}, "outcome"},
		{StepReturn, StepInput{}, "reason"},
		{StepRate, StepInput{Unit: "D001", ReportedIn: 5, Resolved: 6, Satisfied: 5}, "resolved"},
		{StepRate, StepInput{ReportedIn: 5, Resolved: 5, Satisfied: 5}, "unit"},
		{StepEscalate, StepInput{Grade: "hard"}, "reason"},
		{StepConsult, StepInput{Minutes: "x"}, "attendees"},
		{StepRule, StepInput{Reason: "x"}, "lead_unit"},
		{StepContest, StepInput{}, "reason"},
		{StepCallback, StepInput{Result: "fine"}, "result"},
		{StepCallback, StepInput{}, "result"},
		{StepReopen, StepInput{}, "reason"},
	} {
		err := validateInput(tt.step, tt.in)
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Field != tt.field || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s %+v: %v, want invalid %s", tt.step, tt.in, err, tt.field)
		}
	}
	if err := validateInput(StepReportIn, StepInput{Person: "王强", Phone: "010-69101234"}); err != nil {
		t.Errorf("valid report-in refused: %v", err)
	}
}

// Actions offers exactly the steps Authorize and Allowed let through, per
// role, with the units and grades each may name.
func TestActions(t *testing.T) {
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	st := func(status Status, grade Grade, reported bool) *State {
		return &State{ID: 7, TownshipCode: "110119101", GridCode: "110119101001003", Status: status, Grade: grade,
			At: at, ReportInDue: at.Add(-time.Hour), ResolveDue: at.Add(time.Hour),
			Summons: []Summons{{UnitID: 11, UnitCode: "S001", Role: "lead", ReportedIn: reported}, {UnitID: 12, UnitCode: "D001", Role: "assist"}}}
	}
	township := access.Scope{Role: access.RoleTownship, GridCode: "110119101"}
	command := access.Scope{Role: access.RoleCommand, GridCode: "110119"}
	lead := access.Scope{Role: access.RoleUnit, UnitID: 11}
	other := access.Scope{Role: access.RoleTownship, GridCode: "110119102"}
	tests := []struct {
		name string
		sc   access.Scope
		st   *State
		want []Action
	}{
		{"lead unit, raised", lead, st(Raised, Routine, false), []Action{{Step: StepReportIn}}},
		{"lead unit, reported in", lead, st(InProgress, Routine, true), []Action{{Step: StepResolve}}},
		{"township, in progress", township, st(InProgress, Routine, true), []Action{{Step: StepEscalate, Grades: []Grade{Priority, Hard}}}},
		{"township, awaiting approval", township, st(AwaitingApproval, Hard, true), []Action{{Step: StepClose}, {Step: StepReturn}, {Step: StepConsult}}},
		{"township, closed", township, st(Closed, Routine, true), []Action{{Step: StepRate, Units: []string{"S001", "D001"}}}},
		{"command, raised and late", command, st(Raised, Routine, false), []Action{
			{Step: StepReportIn, Units: []string{"S001", "D001"}},
			{Step: StepEscalate, Grades: []Grade{Priority, Hard}},
			{Step: StepSupervise, Units: []string{"S001", "D001"}}}},
		{"another township", other, st(Raised, Routine, false), []Action{}},
		{"the wall screen", access.Scope{Role: access.RoleScreen}, st(Raised, Routine, false), []Action{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Actions(tt.sc, tt.st); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Actions = %+v, want %+v", got, tt.want)
			}
		})
	}
}

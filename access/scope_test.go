package access

import (
	"fmt"
	"reflect"
	"testing"
)

func TestScopePrefixes(t *testing.T) {
	tests := []struct {
		name  string
		scope Scope
		want  []string
		in    []string
		out   []string
	}{
		{"command sees all", Scope{Role: RoleCommand, GridCode: "110119"}, nil, []string{"110119101001001", "110119"}, nil},
		{"screen sees all", Scope{Role: RoleScreen, GridCode: "110119"}, nil, []string{"110119203"}, nil},
		{"township", Scope{Role: RoleTownship, GridCode: "110119101"}, []string{"110119101%"},
			[]string{"110119101", "110119101P01", "110119101001", "110119101001003"}, []string{"110119102001", "110119"}},
		{"grid worker", Scope{Role: RoleGridWorker, GridCode: "110119101001"}, []string{"110119101001%"},
			[]string{"110119101001", "110119101001007"}, []string{"110119101002", "110119101P01"}},
		{"station serves two townships", Scope{Role: RoleUnit, Townships: []string{"110119101", "110119102"}},
			[]string{"110119101%", "110119102%"}, []string{"110119102003"}, []string{"110119103001"}},
		{"department is district-wide", Scope{Role: RoleUnit}, nil, []string{"110119103001"}, nil},
		{"no grid sees nothing", Scope{Role: RoleTownship}, []string{}, nil, []string{"110119101"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.scope.Prefixes(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Prefixes() = %#v, want %#v", got, tt.want)
			}
			for _, c := range tt.in {
				if !tt.scope.Covers(c) {
					t.Errorf("Covers(%s) = false, want true", c)
				}
			}
			for _, c := range tt.out {
				if tt.scope.Covers(c) {
					t.Errorf("Covers(%s) = true, want false", c)
				}
			}
		})
	}
}

func TestMask(t *testing.T) {
	for _, tt := range []struct{ in, phone, name string }{
		{"13812345678", "138****5678", "1**********"},
		{"王小明", "***", "王**"},
		{"", "", ""},
	} {
		if got := MaskPhone(tt.in); got != tt.phone {
			t.Errorf("MaskPhone(%q) = %q, want %q", tt.in, got, tt.phone)
		}
		if got := MaskName(tt.in); got != tt.name {
			t.Errorf("MaskName(%q) = %q, want %q", tt.in, got, tt.name)
		}
	}
}

// TestReporter is the one reporter rule of REST and the live stream (issue
// 12, points 5 and 6): who calls back sees, inside their own grids only.
func TestReporter(t *testing.T) {
	const (
		house  = "110119101001003" // a household grid of village 110119101001
		other  = "110119101002001" // one of another village of the same township
		town2  = "110119102001001" // one of another township
		name   = "李大伟"
		phone  = "13611111111"
		masked = "李** 136****1111"
	)
	tests := []struct {
		scope Scope
		grid  string
		want  string
	}{
		// the command center's callback desk sees every reporter; its other accounts see them masked (issue 16 §4)
		{Scope{Role: RoleCommand, Duties: []Duty{DutyCallback}}, town2, name + " " + phone},
		{Scope{Role: RoleCommand, Duties: []Duty{DutyCallback}}, "", name + " " + phone},
		{Scope{Role: RoleCommand}, town2, masked},
		{Scope{Role: RoleCommand}, "", masked},
		{Scope{Role: RoleScreen}, house, masked},
		{Scope{Role: RoleTownship, GridCode: "110119101"}, house, name + " " + phone},
		{Scope{Role: RoleTownship, GridCode: "110119101"}, town2, masked},
		{Scope{Role: RoleTownship, GridCode: "110119101"}, "", masked},
		{Scope{Role: RoleGridWorker, GridCode: "110119101001"}, house, name + " " + phone},
		{Scope{Role: RoleGridWorker, GridCode: "110119101001"}, other, masked},
		{Scope{Role: RolePartyMember, GridCode: house}, house, masked},
		{Scope{Role: RoleUnit}, house, masked},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.scope.Role, tt.scope.Duties, " ", tt.grid), func(t *testing.T) {
			n, p := tt.scope.Reporter(tt.grid, name, phone)
			if got := n + " " + p; got != tt.want {
				t.Errorf("Reporter = %q, want %q", got, tt.want)
			}
			if got := tt.scope.SeesReporter(tt.grid); got != (tt.want != masked) {
				t.Errorf("SeesReporter = %v", got)
			}
		})
	}
}

// TestDuty: the callback duty is a command-center account's only.
func TestDuty(t *testing.T) {
	for _, r := range []Role{RoleCommand, RoleScreen, RoleTownship, RoleUnit, RoleGridWorker, RolePartyMember} {
		if got := DutyCallback.Valid(r); got != (r == RoleCommand) {
			t.Errorf("callback duty valid for %s: %v", r, got)
		}
	}
	if Duty("janitor").Valid(RoleCommand) {
		t.Error("an unknown duty is valid")
	}
	if (Scope{Role: RoleCommand}).Has(DutyCallback) || !(Scope{Role: RoleCommand, Duties: []Duty{DutyCallback}}).Has(DutyCallback) {
		t.Error("Has")
	}
}

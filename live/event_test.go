package live

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"whistlegrid/access"
)

func TestMaskPayload(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "payload.json"))
	if err != nil {
		t.Fatal(err)
	}
	const house = "110119101001003" // the clue's grid in payload.json
	tests := []struct {
		name         string
		variant      int
		reporterGrid string
		golden       string
	}{
		{"sees everything (township, grid worker at home)", seesDuty | seesResidents | seesReporter, house, "payload.json"},
		{"duty and reporter (command)", seesDuty | seesReporter, house, "payload_command.golden.json"},
		{"duty only (unit)", seesDuty, house, "payload_duty.golden.json"},
		{"residents only (party member)", seesResidents, house, "payload_residents.golden.json"},
		{"nothing (screen)", 0, house, "payload_masked.golden.json"},
		// a variant chosen for another clue's grid shows no reporter
		{"reporter of another grid", seesDuty | seesReporter, "110119101002001", "payload_duty.golden.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := maskPayload(in, tt.variant, tt.reporterGrid)
			want, err := os.ReadFile(filepath.Join("testdata", tt.golden))
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(t, got, want) {
				t.Errorf("got %s\nwant %s", got, want)
			}
			if !strings.Contains(string(got), "115.97123456789012") {
				t.Errorf("a number lost digits: %s", got)
			}
		})
	}
}

func TestMaskPayloadWithoutPersonalDataIsUntouched(t *testing.T) {
	p := json.RawMessage(`{"whistle":{"id":7,"lon":115.97123456789012}}`)
	if got := maskPayload(p, 0, ""); string(got) != string(p) {
		t.Errorf("got %s", got)
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%v: %s", err, a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func TestVariantOf(t *testing.T) {
	tests := []struct {
		role access.Role
		want int
	}{
		{access.RoleCommand, seesDuty},
		{access.RoleScreen, 0},
		{access.RoleTownship, seesDuty | seesResidents},
		{access.RoleUnit, seesDuty},
		{access.RoleGridWorker, seesDuty | seesResidents},
		{access.RolePartyMember, seesResidents},
	}
	for _, tt := range tests {
		t.Run(string(tt.role), func(t *testing.T) {
			if got := variantOf(access.Scope{Role: tt.role}); got != tt.want {
				t.Errorf("variant %b, want %b", got, tt.want)
			}
		})
	}
}

// TestVariantReporter: the reporter bit of an event's variant is
// access.Scope.SeesReporter over the event's clue grid, the rule REST
// uses (issue 12, points 5 and 6).
func TestVariantReporter(t *testing.T) {
	e := &Event{reporterGrid: "110119101001003"}
	tests := []struct {
		scope access.Scope
		want  bool
	}{
		{access.Scope{Role: access.RoleCommand, Duties: []access.Duty{access.DutyCallback}}, true},
		{access.Scope{Role: access.RoleCommand}, false}, // only the callback desk (issue 16 §4)
		{access.Scope{Role: access.RoleTownship, GridCode: "110119101"}, true},
		{access.Scope{Role: access.RoleGridWorker, GridCode: "110119101001"}, true},
		{access.Scope{Role: access.RoleGridWorker, GridCode: "110119101002"}, false},
		{access.Scope{Role: access.RolePartyMember, GridCode: "110119101001003"}, false},
		{access.Scope{Role: access.RoleScreen}, false},
		{access.Scope{Role: access.RoleUnit}, false},
	}
	for _, tt := range tests {
		v := variant(tt.scope, variantOf(tt.scope), e)
		if got := v&seesReporter != 0; got != tt.want || got != tt.scope.SeesReporter(e.reporterGrid) {
			t.Errorf("%s %s: sees reporter %v, want %v", tt.scope.Role, tt.scope.GridCode, got, tt.want)
		}
		if v&^seesReporter != variantOf(tt.scope) {
			t.Errorf("%s: variant %b lost its role bits %b", tt.scope.Role, v, variantOf(tt.scope))
		}
	}
}

func TestFrame(t *testing.T) {
	e := &Event{Seq: 42, Kind: "whistle.raised", Township: "110119101", At: time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC),
		Payload: json.RawMessage(`{"person":"王小明","phone":"13812345678"}`)}
	got := string(e.frame(0))
	want := `{"seq":42,"kind":"whistle.raised","at":"2026-03-03T09:00:00Z","township":"110119101","data":{"person":"王**","phone":"138****5678"}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !strings.HasPrefix(string(e.frame(seesDuty)), `{"seq":42,`) || !strings.Contains(string(e.frame(seesDuty)), "13812345678") {
		t.Errorf("duty frame %s", e.frame(seesDuty))
	}
}

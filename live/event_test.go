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
	tests := []struct {
		name    string
		variant int
		golden  string
	}{
		{"sees everything", seesDuty | seesResidents, "payload.json"},
		{"duty only (command, unit)", seesDuty, "payload_duty.golden.json"},
		{"residents only (party member)", seesResidents, "payload_residents.golden.json"},
		{"nothing (screen)", 0, "payload_masked.golden.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := maskPayload(in, tt.variant)
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
	if got := maskPayload(p, 0); string(got) != string(p) {
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

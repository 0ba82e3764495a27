package ledger

import (
	"errors"
	"testing"
	"time"

	"whistlegrid/access"
	"whistlegrid/fault"
	"whistlegrid/geo"
)

// TestAuthorize is every role × action, on an item of the caller's own
// jurisdiction (the township 110119101 is responsible, the department 7
// supervises) and on one of another (110119102, department 8).
func TestAuthorize(t *testing.T) {
	own := Party{Grid: "110119101001", ResponsibleTownship: "110119101", SupervisingUnit: 7}
	other := Party{Grid: "110119102001", ResponsibleTownship: "110119102", SupervisingUnit: 8}
	unitItem := Party{Grid: "110119101001", ResponsibleUnit: 9, SupervisingUnit: 7}
	scopes := map[string]access.Scope{
		"command":     {Role: access.RoleCommand},
		"screen":      {Role: access.RoleScreen},
		"township":    {Role: access.RoleTownship, GridCode: "110119101"},
		"supervisor":  {Role: access.RoleUnit, UnitID: 7},
		"resp unit":   {Role: access.RoleUnit, UnitID: 9},
		"grid worker": {Role: access.RoleGridWorker, GridCode: "110119101001"},
		"party":       {Role: access.RolePartyMember, GridCode: "110119101001001"},
	}
	// allowed[scope][action] on own, other, unitItem
	allowed := map[string]map[Action][3]bool{
		"command":     {ActCreate: {true, true, true}, ActEdit: {true, true, true}, ActProgress: {true, true, true}, ActWriteoff: {}, ActReview: {true, true, true}},
		"screen":      {},
		"township":    {ActCreate: {true, false, false}, ActProgress: {true, false, false}, ActWriteoff: {true, false, false}},
		"supervisor":  {ActReview: {true, false, true}},
		"resp unit":   {ActProgress: {false, false, true}, ActWriteoff: {false, false, true}},
		"grid worker": {},
		"party":       {},
	}
	// a township records a unit's item in its own jurisdiction too
	allowed["township"][ActCreate] = [3]bool{true, false, true}
	for name, sc := range scopes {
		for _, a := range Actions() {
			for i, p := range []Party{own, other, unitItem} {
				err := Authorize(sc, a, p)
				want := allowed[name][a][i]
				if (err == nil) != want {
					t.Errorf("%s × %s × item %d: err %v, want allowed=%v", name, a, i, err, want)
				}
				if err != nil && !errors.Is(err, fault.Forbidden) {
					t.Errorf("%s × %s: %v is not Forbidden", name, a, err)
				}
			}
		}
	}
}

func TestParsePeriod(t *testing.T) {
	for _, tt := range []struct {
		in       string
		from, to time.Time
		title    string
	}{
		{"2026-11", time.Date(2026, 11, 1, 0, 0, 0, 0, geo.Beijing), time.Date(2026, 12, 1, 0, 0, 0, 0, geo.Beijing), "2026年11月"},
		{"2026-12", time.Date(2026, 12, 1, 0, 0, 0, 0, geo.Beijing), time.Date(2027, 1, 1, 0, 0, 0, 0, geo.Beijing), "2026年12月"},
		{"2026-Q4", time.Date(2026, 10, 1, 0, 0, 0, 0, geo.Beijing), time.Date(2027, 1, 1, 0, 0, 0, 0, geo.Beijing), "2026年第四季度"},
		{"2026-Q1", time.Date(2026, 1, 1, 0, 0, 0, 0, geo.Beijing), time.Date(2026, 4, 1, 0, 0, 0, 0, geo.Beijing), "2026年第一季度"},
	} {
		p, err := ParsePeriod(tt.in)
		if err != nil || !p.From.Equal(tt.from) || !p.To.Equal(tt.to) || p.Title() != tt.title {
			t.Errorf("%s: %+v %q %v", tt.in, p, p.Title(), err)
		}
	}
	for _, bad := range []string{"", "2026", "2026-13", "2026-00", "2026-Q0", "2026-Q5", "1999-01", "2026-1", "2026-11-01"} {
		if _, err := ParsePeriod(bad); !errors.Is(err, fault.Invalid) {
			t.Errorf("%q: %v, want Invalid", bad, err)
		}
	}
}

func TestNextLevel(t *testing.T) {
	l, ok := NextLevel(LevelTownship)
	if l != LevelDepartment || !ok {
		t.Errorf("township → %s %v", l, ok)
	}
	if l, ok = NextLevel(LevelDepartment); l != LevelCommand || !ok {
		t.Errorf("department → %s %v", l, ok)
	}
	if l, ok = NextLevel(LevelCommand); l != LevelCommand || ok {
		t.Errorf("command → %s %v", l, ok)
	}
}

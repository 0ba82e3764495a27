package live

import (
	"errors"
	"testing"

	"whistlegrid/access"
)

func TestSubscriptionMatch(t *testing.T) {
	raised := &Event{Kind: "whistle.raised", Township: "110119101", grid: "110119101001002003", unitCode: "", units: []int64{5, 9}}
	clue := &Event{Kind: "clue.received", Township: "110119101"} // no grid, no whistle
	other := &Event{Kind: "whistle.closed", Township: "110119102", grid: "110119102001001001", unitCode: "S007"}
	tests := []struct {
		name string
		sub  Subscription
		want [3]bool // raised, clue, other
	}{
		{"command", Subscription{Scope: access.Scope{Role: access.RoleCommand}}, [3]bool{true, true, true}},
		{"screen", Subscription{Scope: access.Scope{Role: access.RoleScreen}}, [3]bool{true, true, true}},
		{"command, township", Subscription{Scope: access.Scope{Role: access.RoleCommand}, Townships: []string{"110119102"}}, [3]bool{false, false, true}},
		{"command, kind prefix", Subscription{Scope: access.Scope{Role: access.RoleCommand}, Kinds: []string{"whistle."}}, [3]bool{true, false, true}},
		{"command, kind prefix without dot", Subscription{Scope: access.Scope{Role: access.RoleCommand}, Kinds: []string{"whistle"}}, [3]bool{true, false, true}},
		{"command, exact kind", Subscription{Scope: access.Scope{Role: access.RoleCommand}, Kinds: []string{"whistle.closed"}}, [3]bool{false, false, true}},
		{"a kind is not a prefix of another word", Subscription{Scope: access.Scope{Role: access.RoleCommand}, Kinds: []string{"whist"}}, [3]bool{false, false, false}},
		{"township", Subscription{Scope: access.Scope{Role: access.RoleTownship, GridCode: "110119101"}}, [3]bool{true, true, false}},
		{"township asking for another", Subscription{Scope: access.Scope{Role: access.RoleTownship, GridCode: "110119101"}, Townships: []string{"110119102"}}, [3]bool{false, false, false}},
		{"unit summoned", Subscription{Scope: access.Scope{Role: access.RoleUnit, UnitID: 9, UnitCode: "D009"}}, [3]bool{true, false, false}},
		{"unit named in the payload", Subscription{Scope: access.Scope{Role: access.RoleUnit, UnitID: 7, UnitCode: "S007"}}, [3]bool{false, false, true}},
		{"grid worker of the village", Subscription{Scope: access.Scope{Role: access.RoleGridWorker, GridCode: "110119101001"}}, [3]bool{true, false, false}},
		{"party member of the household grid", Subscription{Scope: access.Scope{Role: access.RolePartyMember, GridCode: "110119101001002003"}}, [3]bool{true, false, false}},
		{"party member elsewhere", Subscription{Scope: access.Scope{Role: access.RolePartyMember, GridCode: "110119101001002004"}}, [3]bool{false, false, false}},
		{"no role", Subscription{Scope: access.Scope{}}, [3]bool{false, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, e := range []*Event{raised, clue, other} {
				if got := tt.sub.Match(e); got != tt.want[i] {
					t.Errorf("%s in %s: %v, want %v", e.Kind, e.Township, got, tt.want[i])
				}
			}
		})
	}
}

func TestParseLists(t *testing.T) {
	tests := []struct {
		name, in string
		parse    func(string) ([]string, error)
		want     int
		err      bool
	}{
		{"empty kinds", "", ParseKinds, 0, false},
		{"kinds", "whistle., clue.received,whistle.", ParseKinds, 2, false},
		{"bad kind", "whistle.*", ParseKinds, 0, true},
		{"townships", "110119101,110119102", ParseTownships, 2, false},
		{"bad township", "110119101,abc", ParseTownships, 0, true},
		{"village code is not a township", "110119101001", ParseTownships, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.parse(tt.in)
			if (err != nil) != tt.err || (err != nil && !errors.Is(err, ErrInvalid)) {
				t.Fatalf("err %v", err)
			}
			if len(got) != tt.want {
				t.Errorf("got %v", got)
			}
		})
	}
}

func TestRing(t *testing.T) {
	r := ring{buf: make([]*Event, 3), floor: 10}
	for _, s := range []int64{11, 12, 14, 15} { // 13 never appeared
		r.push(&Event{Seq: s})
	}
	seqs := func(evs []*Event) []int64 {
		var out []int64
		for _, e := range evs {
			out = append(out, e.Seq)
		}
		return out
	}
	tests := []struct {
		since int64
		want  []int64
		ok    bool
	}{
		{10, nil, false}, // 11 was pushed out
		{11, []int64{12, 14, 15}, true},
		{12, []int64{14, 15}, true},
		{13, []int64{14, 15}, true},
		{15, []int64{}, true},
	}
	for _, tt := range tests {
		got, ok := r.after(tt.since)
		if ok != tt.ok || (ok && len(got) != len(tt.want)) {
			t.Errorf("after %d: %v %v, want %v %v", tt.since, seqs(got), ok, tt.want, tt.ok)
			continue
		}
		for i := range tt.want {
			if got[i].Seq != tt.want[i] {
				t.Errorf("after %d: %v, want %v", tt.since, seqs(got), tt.want)
			}
		}
	}
}

package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"whistlegrid/internal/testenv"
)

// contactMapAnswer is the part of GET /api/v1/villages/{code}/contact-map
// the tests read.
type contactMapAnswer struct {
	Village struct {
		Code, Name   string
		TownshipCode string `json:"township_code"`
		TownshipName string `json:"township_name"`
	} `json:"village"`
	Grids []struct {
		Code          string `json:"code"`
		PartyMemberID *int64 `json:"party_member_id"`
	} `json:"grids"`
	Households []struct {
		ID           int64  `json:"id"`
		GridCode     string `json:"grid_code"`
		ContactName  string `json:"contact_name"`
		ContactPhone string `json:"contact_phone"`
		Masked       bool   `json:"masked"`
		PartyMember  *int64 `json:"party_member_id"`
	} `json:"households"`
	PartyMembers []struct {
		PersonID   int64    `json:"person_id"`
		Name       string   `json:"name"`
		Phone      string   `json:"phone"`
		GridCodes  []string `json:"grid_codes"`
		Households int      `json:"households"`
	} `json:"party_members"`
	Cadre            *struct{ Name, Phone string } `json:"cadre"`
	GridWorker       *struct{ Name, Phone string } `json:"grid_worker"`
	ResidentsMasked  bool                          `json:"residents_masked"`
	DutyPhonesMasked bool                          `json:"duty_phones_masked"`
}

// TestContactMapMasking asks for one village's contact map as each role and
// checks who gets it (404 outside the jurisdiction) and what is masked:
// residents' names and phones reach only those who look after them, duty
// phones only the roles that dispatch or go on site.
func TestContactMapMasking(t *testing.T) {
	t.Parallel() // its own database
	env := testenv.Start(t)
	var village, hg string
	var households, members int
	if err := env.Pool.QueryRow(context.Background(), `
		SELECT v.code, min(h.code), (SELECT count(*) FROM households x JOIN grids y ON y.id = x.grid_id WHERE y.parent_id = v.id),
			(SELECT count(DISTINCT x.party_member_id) FROM households x JOIN grids y ON y.id = x.grid_id WHERE y.parent_id = v.id)
		FROM grids v JOIN grids h ON h.parent_id = v.id
		WHERE v.level = 'village' AND v.code LIKE '110119101%' GROUP BY v.id ORDER BY v.code LIMIT 1`).
		Scan(&village, &hg, &households, &members); err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/villages/" + village + "/contact-map"

	const (
		none = iota // every household masked
		all         // none masked
		own         // only the households of the caller's own household grid
	)
	tests := []struct {
		user       string
		status     int
		residents  int
		dutyMasked bool
	}{
		{"command", 200, none, false},
		{"screen", 200, none, true},
		{"t110119101", 200, all, false},
		{"w" + village, 200, all, false},
		{"p" + hg, 200, own, true},
		{"t110119102", 404, 0, false},
		{"uD001", 200, none, false}, // a district-wide department
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			status, body := env.Do(t, "GET", path, env.Login(t, tt.user), nil)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %.300s", status, tt.status, body)
			}
			if status == http.StatusNotFound {
				if e := decode[apiError](t, body); e.Error.Code != "not_found" || e.Error.Message == "" {
					t.Errorf("error %+v", e)
				}
				return
			}
			cm := decode[contactMapAnswer](t, body)
			if cm.Village.Code != village || cm.Village.TownshipName == "" || len(cm.Grids) == 0 {
				t.Fatalf("village %+v, %d grids", cm.Village, len(cm.Grids))
			}
			if len(cm.Households) != households || len(cm.PartyMembers) != members {
				t.Fatalf("%d households, %d members; want %d, %d", len(cm.Households), len(cm.PartyMembers), households, members)
			}
			var masked int
			for _, h := range cm.Households {
				want := tt.residents == none || (tt.residents == own && h.GridCode != hg)
				hidden := strings.Contains(h.ContactName, "*") && strings.Contains(h.ContactPhone, "*")
				if h.Masked != want || hidden != want {
					t.Fatalf("household %d in %s: %q %q masked=%v, want masked=%v", h.ID, h.GridCode, h.ContactName, h.ContactPhone, h.Masked, want)
				}
				if want {
					masked++
				}
			}
			if cm.ResidentsMasked != (masked > 0) {
				t.Errorf("residents_masked %v with %d masked", cm.ResidentsMasked, masked)
			}
			if tt.residents == own && (masked == 0 || masked == len(cm.Households)) {
				t.Errorf("party member: %d of %d households masked, want only the other grids'", masked, len(cm.Households))
			}
			for _, m := range cm.PartyMembers {
				if strings.Contains(m.Phone, "*") != tt.dutyMasked || m.Name == "" || m.Households == 0 || len(m.GridCodes) == 0 {
					t.Errorf("member %+v, phone masked want %v", m, tt.dutyMasked)
				}
			}
			if cm.DutyPhonesMasked != tt.dutyMasked || cm.Cadre == nil || cm.GridWorker == nil ||
				strings.Contains(cm.Cadre.Phone, "*") != tt.dutyMasked || strings.Contains(cm.GridWorker.Phone, "*") != tt.dutyMasked {
				t.Errorf("duty phones masked %v, cadre %+v, grid worker %+v; want masked %v", cm.DutyPhonesMasked, cm.Cadre, cm.GridWorker, tt.dutyMasked)
			}
		})
	}

	t.Run("no store", func(t *testing.T) {
		req, _ := http.NewRequest("GET", env.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+env.Login(t, "command"))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control %q, want no-store: the answer holds personal data", got)
		}
	})
	t.Run("unknown and malformed codes", func(t *testing.T) {
		tok := env.Login(t, "command")
		for _, code := range []string{"110119101999", "110119101", "110119101%25", "x"} {
			if status, body := env.Do(t, "GET", "/api/v1/villages/"+code+"/contact-map", tok, nil); status != 404 {
				t.Errorf("%s: status %d, want 404: %.200s", code, status, body)
			}
		}
	})
}

package grid_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"whistlegrid/access"
	"whistlegrid/grid"
	"whistlegrid/internal/testenv"
)

// TestContactMap reads the contact map of one demo village as each kind of
// caller and checks its shape against the tables, the jurisdiction and the
// masking of residents and of duty phones.
func TestContactMap(t *testing.T) {
	t.Parallel() // its own database
	ctx := context.Background()
	pool := testenv.DemoDB(t)
	store := grid.NewStore(pool)

	var village, hg, otherHG, otherVillage string
	var households, grids, members int
	err := pool.QueryRow(ctx, `
		SELECT v.code, min(h.code), max(h.code),
			(SELECT count(*) FROM households x JOIN grids y ON y.id = x.grid_id WHERE y.parent_id = v.id),
			count(*),
			(SELECT count(DISTINCT x.party_member_id) FROM households x JOIN grids y ON y.id = x.grid_id WHERE y.parent_id = v.id)
		FROM grids v JOIN grids h ON h.parent_id = v.id
		WHERE v.level = 'village' AND v.code LIKE '110119101%'
		GROUP BY v.id ORDER BY v.code LIMIT 1`).Scan(&village, &hg, &otherHG, &households, &grids, &members)
	if err != nil {
		t.Fatal(err)
	}
	if hg == otherHG {
		t.Fatalf("village %s has one household grid; the test needs two", village)
	}
	if err := pool.QueryRow(ctx, `SELECT code FROM grids WHERE level = 'village' AND code LIKE '110119101%' AND code <> $1 ORDER BY code LIMIT 1`,
		village).Scan(&otherVillage); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		sc         access.Scope
		code       string
		notFound   bool
		dutyMasked bool
		// sees reports whether the caller sees a household's contact.
		sees func(gridCode string) bool
	}{
		{"command", access.Scope{Role: access.RoleCommand, GridCode: "110119"}, village, false, false, contactNever},
		{"screen", access.Scope{Role: access.RoleScreen, GridCode: "110119"}, village, false, true, contactNever},
		{"township", access.Scope{Role: access.RoleTownship, GridCode: "110119101"}, village, false, false, contactAlways},
		{"other township", access.Scope{Role: access.RoleTownship, GridCode: "110119102"}, village, true, false, nil},
		{"grid worker", access.Scope{Role: access.RoleGridWorker, GridCode: village}, village, false, false, contactAlways},
		{"grid worker of another village", access.Scope{Role: access.RoleGridWorker, GridCode: otherVillage}, village, true, false, nil},
		{"party member", access.Scope{Role: access.RolePartyMember, GridCode: hg}, village, false, true,
			func(code string) bool { return code == hg }},
		{"party member of another village", access.Scope{Role: access.RolePartyMember, GridCode: hg}, otherVillage, true, false, nil},
		{"no such village", access.Scope{Role: access.RoleCommand, GridCode: "110119"}, "110119101999", true, false, nil},
		{"a township code", access.Scope{Role: access.RoleCommand, GridCode: "110119"}, "110119101", true, false, nil},
		{"like wildcard", access.Scope{Role: access.RoleCommand, GridCode: "110119"}, "110119101%", true, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cm, err := store.ContactMap(ctx, tt.sc, tt.code)
			if tt.notFound {
				if !errors.Is(err, grid.ErrNotFound) {
					t.Fatalf("err %v, want ErrNotFound", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cm.Village.Code != village || cm.Village.TownshipCode != "110119101" || cm.Village.Name == "" || !strings.HasPrefix(village, cm.Village.ZoneCode[:9]) {
				t.Errorf("village %+v", cm.Village)
			}
			if !isContactGeoJSON(cm.Village.Geometry, "MultiPolygon") || cm.Village.AreaKM2 <= 0 {
				t.Errorf("village geometry %.60s area %v", cm.Village.Geometry, cm.Village.AreaKM2)
			}
			if len(cm.Grids) != grids || len(cm.Households) != households || len(cm.PartyMembers) != members {
				t.Fatalf("%d grids, %d households, %d members; want %d, %d, %d",
					len(cm.Grids), len(cm.Households), len(cm.PartyMembers), grids, households, members)
			}
			if cm.Cadre == nil || cm.GridWorker == nil || cm.ZoneLeader == nil {
				t.Errorf("on duty: cadre %v grid worker %v zone leader %v", cm.Cadre, cm.GridWorker, cm.ZoneLeader)
			}

			// Every household belongs to one of the grids and one of the members;
			// the members' counts add up, and each grid's member is listed.
			memberOf := map[int64]grid.ContactMember{}
			sum := 0
			for _, m := range cm.PartyMembers {
				memberOf[m.PersonID] = m
				sum += m.Households
				if masked := strings.Contains(m.Phone, "*"); masked != tt.dutyMasked || len(m.Phone) != 11 {
					t.Errorf("member %s phone %q, masked want %v", m.Name, m.Phone, tt.dutyMasked)
				}
			}
			if sum != households {
				t.Errorf("members look after %d households, want %d", sum, households)
			}
			gridCodes := map[string]bool{}
			for _, g := range cm.Grids {
				gridCodes[g.Code] = true
				if !strings.HasPrefix(g.Code, village) || !isContactGeoJSON(g.Geometry, "MultiPolygon") {
					t.Errorf("grid %s geometry %.40s", g.Code, g.Geometry)
				}
				if g.PartyMemberID == nil {
					t.Errorf("grid %s has no party member on duty", g.Code)
				} else if m, ok := memberOf[*g.PartyMemberID]; !ok || !slices.Contains(m.GridCodes, g.Code) {
					t.Errorf("grid %s: member %d not listed with it (%+v)", g.Code, *g.PartyMemberID, m)
				}
			}
			seen := map[bool]int{}
			for _, h := range cm.Households {
				if !gridCodes[h.GridCode] || h.PartyMember == nil || memberOf[*h.PartyMember].PersonID == 0 {
					t.Fatalf("household %+v: grid or member not in the map", h)
				}
				if h.Lon < 115 || h.Lon > 117 || h.Lat < 40 || h.Lat > 41 || h.Size < 1 || h.Address == "" {
					t.Errorf("household %+v", h)
				}
				want := tt.sees(h.GridCode)
				masked := strings.Contains(h.ContactPhone, "*") && strings.Contains(h.ContactName, "*")
				if h.Masked == want || masked == want {
					t.Fatalf("household %d in %s: %q %q masked=%v, want seen=%v", h.ID, h.GridCode, h.ContactName, h.ContactPhone, h.Masked, want)
				}
				seen[want]++
			}
			if cm.ResidentsMasked != (seen[false] > 0) {
				t.Errorf("residents_masked %v with %d masked households", cm.ResidentsMasked, seen[false])
			}
			if cm.DutyPhonesMasked != tt.dutyMasked || strings.Contains(cm.Cadre.Phone, "*") != tt.dutyMasked {
				t.Errorf("duty phones masked %v (cadre %q), want %v", cm.DutyPhonesMasked, cm.Cadre.Phone, tt.dutyMasked)
			}
		})
	}
}

func contactNever(string) bool  { return false }
func contactAlways(string) bool { return true }

// isContactGeoJSON is true for a GeoJSON geometry of one of the types.
func isContactGeoJSON(raw json.RawMessage, types ...string) bool {
	var g struct{ Type string }
	if json.Unmarshal(raw, &g) != nil {
		return false
	}
	for _, ty := range types {
		if g.Type == ty {
			return true
		}
	}
	return false
}

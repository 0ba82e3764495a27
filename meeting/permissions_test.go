package meeting_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"whistlegrid/internal/testenv"
)

// TestMeetingsPermissionMatrix is the permission matrix of the villagers'
// meetings: every role × action (list a village's meetings, record one,
// move a matter to 议事) × a village in the caller's own jurisdiction and
// one of another township. Out of sight is 404; a role that may not write
// is 403 (before the jurisdiction is looked at).
func TestMeetingsPermissionMatrix(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	var own, house, other string
	err := env.Pool.QueryRow(ctx, `
		SELECT v.code, h.code, (SELECT o.code FROM grids o WHERE o.level = 'village' AND o.code LIKE '110119102%' ORDER BY o.code LIMIT 1)
		FROM grids v JOIN grids h ON h.parent_id = v.id WHERE v.level = 'village' AND v.code LIKE $1 || '%' ORDER BY v.code, h.code LIMIT 1`, kangzhuang).
		Scan(&own, &house, &other)
	if err != nil {
		t.Fatal(err)
	}
	command := env.Login(t, "command")
	body := func() map[string]any {
		return map[string]any{"held_at": time.Now().Add(-time.Hour).Format(time.RFC3339), "place": "村委会议室", "host": "村书记",
			"attendees": 20, "matters": []map[string]any{{"text": "村口路灯不亮", "category": "CM.01.03"}}}
	}
	// a fresh meeting in village v, recorded by the command center, for a PATCH
	fresh := func(v string) int64 {
		t.Helper()
		status, b := env.Do(t, "POST", "/api/v1/villages/"+v+"/meetings", command, body())
		if status != 201 {
			t.Fatalf("meeting in %s: %d %s", v, status, b)
		}
		var m meetingOut
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	type want struct{ list, create, patch int }
	tests := []struct {
		user       string
		own, other want
	}{
		{"command", want{200, 201, 200}, want{200, 201, 200}},
		{"callback", want{200, 201, 200}, want{200, 201, 200}},
		{"screen", want{200, 403, 403}, want{200, 403, 403}},
		{"t" + kangzhuang, want{200, 201, 200}, want{404, 404, 404}},
		{"w" + own, want{200, 201, 200}, want{404, 404, 404}},
		{"uD003", want{200, 403, 403}, want{200, 403, 403}},
		// a party member's jurisdiction is its household grid: the village is out of sight
		{"p" + house, want{404, 403, 403}, want{404, 403, 403}},
	}
	for _, tt := range tests {
		tok := env.Login(t, tt.user)
		for _, side := range []struct {
			name    string
			village string
			want    want
		}{{"own", own, tt.own}, {"other", other, tt.other}} {
			t.Run(tt.user+" "+side.name, func(t *testing.T) {
				if status, b := env.Do(t, "GET", "/api/v1/villages/"+side.village+"/meetings", tok, nil); status != side.want.list {
					t.Errorf("list: %d, want %d: %s", status, side.want.list, b)
				}
				if status, b := env.Do(t, "POST", "/api/v1/villages/"+side.village+"/meetings", tok, body()); status != side.want.create {
					t.Errorf("record: %d, want %d: %s", status, side.want.create, b)
				}
				id := fresh(side.village)
				step := map[string]any{"stage": "discussed", "decision": "由村两委协调解决"}
				if status, b := env.Do(t, "PATCH", fmt.Sprintf("/api/v1/meetings/%d/matters/1", id), tok, step); status != side.want.patch {
					t.Errorf("议事: %d, want %d: %s", status, side.want.patch, b)
				}
			})
		}
	}
}

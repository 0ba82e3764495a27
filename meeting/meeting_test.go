package meeting_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"whistlegrid/internal/testenv"
)

const kangzhuang = "110119101" // 康庄镇

type matter struct {
	N         int     `json:"n"`
	ClueID    int64   `json:"clue_id"`
	Stage     string  `json:"stage"`
	WhistleID *int64  `json:"whistle_id"`
	Verdict   *string `json:"verdict"`
	Decision  string  `json:"decision"`
	Lon, Lat  float64
}

type meetingOut struct {
	ID      int64    `json:"id"`
	Village string   `json:"village"`
	Matters []matter `json:"matters"`
}

// 村民说事 end to end over HTTP: a meeting in a village of 康庄镇 with a matter
// at a point and one without (placed in the village), each a clue of
// source meeting in that village; each matter through 议事 → 办事 → 评事;
// who may, in their own jurisdiction or another's; bad input stores nothing.
func TestMeetingsEndToEnd(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	var village, other string
	var lon, lat float64
	err := env.Pool.QueryRow(ctx, `
		SELECT v.code, ST_X(ST_PointOnSurface(h.geom)), ST_Y(ST_PointOnSurface(h.geom)),
			(SELECT o.code FROM grids o WHERE o.level = 'village' AND o.code LIKE $1 || '%' AND o.code <> v.code ORDER BY o.code LIMIT 1)
		FROM grids v JOIN grids h ON h.parent_id = v.id WHERE v.level = 'village' AND v.code LIKE $1 || '%' ORDER BY v.code, h.code LIMIT 1`, kangzhuang).
		Scan(&village, &lon, &lat, &other)
	if err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/villages/" + village + "/meetings"
	body := map[string]any{"held_at": time.Now().Add(-time.Hour).Format(time.RFC3339), "place": "村委会议室", "host": "村书记 王某",
		"attendees": 42, "matters": []map[string]any{
			{"text": "村口路灯不亮", "category": "CM.01.03", "lon": lon, "lat": lat},
			{"text": "河道有垃圾", "category": "CM.01.03"},
		}}
	var events0, clues0 int
	_ = env.Pool.QueryRow(ctx, `SELECT count(*) FROM clues WHERE source = 'meeting'`).Scan(&clues0)

	// the permission matrix of recording a meeting: role × own or other jurisdiction
	for _, tt := range []struct {
		user string
		want int
	}{
		{"t110119102", 404}, {"w" + other, 404}, {"screen", 403}, {"uD003", 403},
	} {
		if status, b := env.Do(t, "POST", path, env.Login(t, tt.user), body); status != tt.want {
			t.Errorf("%s records a meeting: %d, want %d: %s", tt.user, status, tt.want, b)
		}
	}
	command := env.Login(t, "command")
	for _, bad := range []map[string]any{
		{"held_at": "yesterday", "place": "x", "host": "x", "attendees": 1, "matters": body["matters"]},
		{"held_at": body["held_at"], "place": "", "host": "x", "attendees": 1, "matters": body["matters"]},
		{"held_at": body["held_at"], "place": "x", "host": "x", "attendees": 1, "matters": []any{}},
		{"held_at": body["held_at"], "place": "x", "host": "x", "attendees": 1, "matters": []map[string]any{{"text": "x", "category": "NOPE"}}},
		{"held_at": body["held_at"], "place": "x", "host": "x", "attendees": 1, "matters": []map[string]any{{"text": "x", "category": "CM.01.03", "lon": 1.0}}},
	} {
		if status, b := env.Do(t, "POST", path, command, bad); status != 422 {
			t.Errorf("bad meeting %v: %d %s", bad, status, b)
		}
	}
	_ = env.Pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&events0)
	var clues1 int
	_ = env.Pool.QueryRow(ctx, `SELECT count(*) FROM clues WHERE source = 'meeting'`).Scan(&clues1)
	if clues1 != clues0 {
		t.Fatalf("refused meetings stored %d clues", clues1-clues0)
	}

	status, b := env.Do(t, "POST", path, env.Login(t, "w"+village), body)
	var m meetingOut
	if status != 201 || json.Unmarshal(b, &m) != nil || m.ID == 0 || len(m.Matters) != 2 || m.Matters[0].N != 1 || m.Matters[1].ClueID == 0 {
		t.Fatalf("meeting: %d %s", status, b)
	}
	for _, x := range m.Matters {
		var src, grid string
		if err := env.Pool.QueryRow(ctx, `SELECT c.source, v.code FROM clues c JOIN grids h ON h.id = c.grid_id JOIN grids v ON v.id = h.parent_id WHERE c.id = $1`, x.ClueID).Scan(&src, &grid); err != nil {
			t.Fatal(err)
		}
		if src != "meeting" || grid != village || x.Stage != "raised" {
			t.Errorf("matter %d: clue of %s in %s, stage %s", x.N, src, grid, x.Stage)
		}
	}
	// listed in the village, for those who see it
	if status, b := env.Do(t, "GET", path, env.Login(t, "t"+kangzhuang), nil); status != 200 || !strings.Contains(string(b), fmt.Sprintf(`"id":%d`, m.ID)) {
		t.Errorf("list: %d %s", status, b)
	}
	if status, _ := env.Do(t, "GET", path, env.Login(t, "t110119102"), nil); status != 404 {
		t.Errorf("another township lists: %d", status)
	}

	patch := func(user string, n int, step map[string]any) (int, meetingOut, string) {
		t.Helper()
		status, b := env.Do(t, "PATCH", fmt.Sprintf("/api/v1/meetings/%d/matters/%d", m.ID, n), env.Login(t, user), step)
		var out meetingOut
		_ = json.Unmarshal(b, &out)
		return status, out, string(b)
	}
	town := "t" + kangzhuang
	for _, tt := range []struct {
		user string
		n    int
		step map[string]any
		want int
	}{
		{"t110119102", 1, map[string]any{"stage": "discussed", "decision": "x"}, 404},
		{"w" + other, 1, map[string]any{"stage": "discussed", "decision": "x"}, 404},
		{"screen", 1, map[string]any{"stage": "discussed", "decision": "x"}, 403},
		{town, 1, map[string]any{"stage": "discussed"}, 422},
		{town, 1, map[string]any{"stage": "done", "note": "修好了"}, 409}, // discuss first
		{town, 1, map[string]any{"stage": "judged", "verdict": "great"}, 422},
		{town, 9, map[string]any{"stage": "discussed", "decision": "x"}, 404},
	} {
		if status, _, b := patch(tt.user, tt.n, tt.step); status != tt.want {
			t.Errorf("%s %v: %d, want %d: %s", tt.user, tt.step, status, tt.want, b)
		}
	}
	// matter 1: discussed, done, judged
	for _, step := range []map[string]any{
		{"stage": "discussed", "decision": "村里出资更换路灯"},
		{"stage": "done", "note": "已更换"},
		{"stage": "judged", "verdict": "satisfied", "verdict_note": "下次会上村民表示满意"},
	} {
		if status, out, b := patch("w"+village, 1, step); status != 200 || out.Matters[0].Stage != step["stage"] {
			t.Fatalf("matter 1 %v: %d %s", step, status, b)
		}
	}
	// matter 2: discussed, then turned into a whistle by the township
	if status, _, b := patch(town, 2, map[string]any{"stage": "discussed", "decision": "报镇里吹哨"}); status != 200 {
		t.Fatalf("matter 2: %d %s", status, b)
	}
	status, out, body2 := patch(town, 2, map[string]any{"stage": "done", "whistle": true})
	if status != 200 || out.Matters[1].WhistleID == nil || out.Matters[1].Stage != "done" {
		t.Fatalf("matter 2 into a whistle: %d %s", status, body2)
	}
	var wclue int64
	_ = env.Pool.QueryRow(ctx, `SELECT whistle_id FROM clues WHERE id = $1`, out.Matters[1].ClueID).Scan(&wclue)
	if wclue != *out.Matters[1].WhistleID {
		t.Errorf("the clue is in whistle %d, the matter says %d", wclue, *out.Matters[1].WhistleID)
	}
	if status, _, _ := patch(town, 1, map[string]any{"stage": "judged", "verdict": "satisfied"}); status != 409 {
		t.Errorf("judged twice: %d", status)
	}
}

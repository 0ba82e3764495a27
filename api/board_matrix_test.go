package api_test

import (
	"context"
	"fmt"
	"testing"

	"whistlegrid/internal/testenv"
)

// TestBoardPermissionMatrix is the permission matrix of the board's
// screening: every role × action (the screening list, accept, reject, the
// public reply) × a message of the caller's own township and one of
// another. Only the command center (its callback desk too) accepts and
// rejects; only the township of the case writes the reply, and another
// township does not see the message (404); the screening list is the
// command center's and the townships' (their accepted messages). A
// caller without a token gets 401.
func TestBoardPermissionMatrix(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	p := places(t, env.Pool)
	ctx := context.Background()
	var lon, lat float64
	if err := env.Pool.QueryRow(ctx, `SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM grids WHERE code = $1`, p.House).Scan(&lon, &lat); err != nil {
		t.Fatal(err)
	}
	// a pending message in township A, straight into the table (the public
	// POST is rate limited per address, and is tested on its own)
	pending := func() int64 {
		t.Helper()
		var id int64
		if err := env.Pool.QueryRow(ctx, `INSERT INTO board_messages (receipt, text, category, lon, lat, created_at)
			VALUES (md5(random()::text), '楼道灯不亮', $1, $2, $3, now()) RETURNING id`, testenv.HotspotCategory, lon, lat).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	command := env.Login(t, "command")
	// an accepted message of township A whose case is closed: ready for its reply
	replyable := pending()
	st, b := env.Do(t, "POST", fmt.Sprintf("/api/v1/board/messages/%d/accept", replyable), command, map[string]any{"lon": lon, "lat": lat})
	mustStatus(t, "accept", st, b, 200)
	if _, err := env.Pool.Exec(ctx, `UPDATE whistles SET status = 'closed', closed_at = now(), outcome = 'resolved'
		WHERE id = (SELECT c.whistle_id FROM board_messages b JOIN clues c ON c.id = b.clue_id WHERE b.id = $1)`, replyable); err != nil {
		t.Fatal(err)
	}

	type want struct{ list, accept, reject, reply int }
	tests := []struct {
		user string
		want want
	}{
		{"", want{401, 401, 401, 401}},
		{"command", want{200, 200, 200, 403}},
		{"callback", want{200, 200, 200, 403}},
		{"screen", want{403, 403, 403, 403}},
		{"t" + p.TownB, want{200, 403, 403, 404}}, // another township: the reply's message is out of sight
		{"u" + p.Unit, want{403, 403, 403, 403}},
		{"w" + p.Village, want{403, 403, 403, 403}},
		{"p" + p.House, want{403, 403, 403, 403}},
		{"t" + p.TownA, want{200, 403, 403, 200}}, // last: its reply is the one that lands
	}
	for _, tc := range tests {
		token := ""
		if tc.user != "" {
			token = env.Login(t, tc.user)
		}
		var got want
		got.list, _ = env.Do(t, "GET", "/api/v1/board/screening", token, nil)
		got.accept, _ = env.Do(t, "POST", fmt.Sprintf("/api/v1/board/messages/%d/accept", pending()), token, map[string]any{"lon": lon, "lat": lat})
		got.reject, _ = env.Do(t, "POST", fmt.Sprintf("/api/v1/board/messages/%d/reject", pending()), token, map[string]any{"reason": "重复留言"})
		got.reply, _ = env.Do(t, "POST", fmt.Sprintf("/api/v1/board/messages/%d/reply", replyable), token, map[string]any{"reply": "已修复，感谢反映。"})
		if got != tc.want {
			t.Errorf("%q: list/accept/reject/reply %v, want %v", tc.user, got, tc.want)
		}
	}
	// what was refused changed nothing: one reply, and only the command
	// center's two screenings of the pending messages stand
	var replies, screened int
	if err := env.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE reply IS NOT NULL), count(*) FILTER (WHERE status <> 'pending' AND id <> $1) FROM board_messages`, replyable).
		Scan(&replies, &screened); err != nil {
		t.Fatal(err)
	}
	if replies != 1 || screened != 4 {
		t.Errorf("after the matrix: %d replies (want 1), %d messages screened (want 4: command and callback each accept one and reject one)", replies, screened)
	}
}

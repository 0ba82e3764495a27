package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"whistlegrid/access"

	"whistlegrid/board"
	"whistlegrid/fault"
	"whistlegrid/internal/testenv"
)

type boardPosted struct {
	ID      int64  `json:"id"`
	Status  string `json:"status"`
	Receipt string `json:"receipt"`
}

func boardCount(t *testing.T, env *testenv.Env) int {
	t.Helper()
	var n int
	if err := env.Pool.QueryRow(context.Background(), `SELECT count(*) FROM board_messages`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBoardWorkflow: a resident posts without a token and gets a receipt;
// the command center accepts one message into a clue of source forum
// (giving the location it lacked) and rejects another with a reason the
// writer sees; the public list shows the accepted one without the phone;
// the township replies once the case is closed, and the reply shows.
func TestBoardWorkflow(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	p := places(t, env.Pool)
	ctx := context.Background()
	var lon, lat float64
	if err := env.Pool.QueryRow(ctx, `SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM grids WHERE code = $1`, p.House).Scan(&lon, &lat); err != nil {
		t.Fatal(err)
	}
	cat := testenv.HotspotCategory
	const phone = "13912345678"
	st, b := env.Do(t, "POST", "/api/v1/board/messages", "", map[string]any{"text": "小区门口路灯坏了一个月", "category": cat, "phone": phone})
	mustStatus(t, "post", st, b, 201)
	m1 := decode[boardPosted](t, b)
	if m1.ID == 0 || m1.Status != "pending" || len(m1.Receipt) != 32 {
		t.Fatalf("posted %+v", m1)
	}
	st, b = env.Do(t, "POST", "/api/v1/board/messages", "", map[string]any{"text": "广告：低价出售", "category": cat, "lon": lon, "lat": lat})
	mustStatus(t, "post 2", st, b, 201)
	m2 := decode[boardPosted](t, b)

	st, b = env.Do(t, "GET", "/api/v1/board/messages", "", nil)
	mustStatus(t, "public list", st, b, 200)
	if l := decode[struct{ Total int }](t, b); l.Total != 0 {
		t.Errorf("pending messages on the public board: %d", l.Total)
	}
	cmd, town, other := env.Login(t, "command"), env.Login(t, "t"+p.TownA), env.Login(t, "t"+p.TownB)
	st, b = env.Do(t, "GET", "/api/v1/board/screening?status=pending", cmd, nil)
	mustStatus(t, "screening", st, b, 200)
	if bytes.Contains(b, []byte(phone)) || !bytes.Contains(b, []byte(access.MaskPhone(phone))) {
		t.Errorf("a command-center account off the callback desk sees the phone unmasked: %s", b)
	}
	st, b = env.Do(t, "GET", "/api/v1/board/screening?status=pending", env.Login(t, "callback"), nil)
	mustStatus(t, "screening by the callback desk", st, b, 200)
	if !bytes.Contains(b, []byte(phone)) {
		t.Errorf("the callback desk does not see the phone: %s", b)
	}
	acc := fmt.Sprintf("/api/v1/board/messages/%d/accept", m1.ID)
	st, b = env.Do(t, "POST", acc, town, nil)
	mustStatus(t, "accept by a township", st, b, 403)
	st, b = env.Do(t, "POST", acc, cmd, nil)
	mustStatus(t, "accept without a location", st, b, 422)
	st, b = env.Do(t, "POST", acc, cmd, map[string]any{"lon": lon, "lat": lat})
	mustStatus(t, "accept", st, b, 200)
	a := decode[struct {
		ClueID    int64  `json:"clue_id"`
		WhistleID *int64 `json:"whistle_id"`
	}](t, b)
	var source, ext string
	var rphone *string
	if err := env.Pool.QueryRow(ctx, `SELECT source, external_id, reporter_phone FROM clues WHERE id = $1`, a.ClueID).Scan(&source, &ext, &rphone); err != nil {
		t.Fatalf("clue %d: %v", a.ClueID, err)
	}
	if source != "forum" || ext != board.ExternalID(m1.ID) || rphone == nil || *rphone != phone {
		t.Errorf("clue: %s %s %v", source, ext, rphone)
	}
	st, b = env.Do(t, "POST", acc, cmd, map[string]any{"lon": lon, "lat": lat})
	mustStatus(t, "accept twice", st, b, 409)

	rej := fmt.Sprintf("/api/v1/board/messages/%d/reject", m2.ID)
	st, b = env.Do(t, "POST", rej, cmd, map[string]any{"reason": ""})
	mustStatus(t, "reject without reason", st, b, 422)
	st, b = env.Do(t, "POST", rej, cmd, map[string]any{"reason": "广告信息，不予受理"})
	mustStatus(t, "reject", st, b, 200)
	st, b = env.Do(t, "GET", "/api/v1/board/receipts/"+m2.Receipt, "", nil)
	mustStatus(t, "receipt", st, b, 200)
	if r := decode[struct{ Status, Reason string }](t, b); r.Status != "rejected" || r.Reason != "广告信息，不予受理" {
		t.Errorf("the writer sees %+v", r)
	}
	st, _ = env.Do(t, "GET", "/api/v1/board/receipts/"+strings.Repeat("0", 32), "", nil)
	if st != 404 {
		t.Errorf("unknown receipt: %d", st)
	}

	st, b = env.Do(t, "GET", "/api/v1/board/messages", "", nil)
	mustStatus(t, "public list", st, b, 200)
	if bytes.Contains(b, []byte(phone)) || bytes.Contains(b, []byte(`"phone"`)) || bytes.Contains(b, []byte(`"lon"`)) {
		t.Errorf("the public list holds personal data: %s", b)
	}
	l := decode[struct {
		Total    int
		Messages []struct {
			ID     int64
			Status string
			Reply  string
		}
	}](t, b)
	if l.Total != 1 || l.Messages[0].ID != m1.ID {
		t.Fatalf("public list %+v", l)
	}

	reply := fmt.Sprintf("/api/v1/board/messages/%d/reply", m1.ID)
	if a.WhistleID != nil {
		st, b = env.Do(t, "POST", reply, town, map[string]any{"reply": "已修复"})
		mustStatus(t, "reply before the case closes", st, b, 409)
		if _, err := env.Pool.Exec(ctx, `UPDATE whistles SET status = 'closed', closed_at = now(), outcome = 'resolved' WHERE id = $1`, *a.WhistleID); err != nil {
			t.Fatal(err)
		}
	}
	st, b = env.Do(t, "POST", reply, other, map[string]any{"reply": "已修复"})
	mustStatus(t, "reply by another township", st, b, 404)
	st, b = env.Do(t, "POST", reply, town, map[string]any{"reply": "<b>已修复</b>"})
	mustStatus(t, "reply with markup", st, b, 422)
	st, b = env.Do(t, "POST", reply, town, map[string]any{"reply": "路灯已于本周修复，感谢您的反映。"})
	mustStatus(t, "reply", st, b, 200)
	st, b = env.Do(t, "GET", "/api/v1/board/messages", "", nil)
	mustStatus(t, "public list", st, b, 200)
	l = decode[struct {
		Total    int
		Messages []struct {
			ID     int64
			Status string
			Reply  string
		}
	}](t, b)
	if l.Messages[0].Status != "replied" || l.Messages[0].Reply != "路灯已于本周修复，感谢您的反映。" {
		t.Errorf("after the reply: %+v", l.Messages[0])
	}
}

// TestBoardAbuse: empty, oversized, script-laden and malformed messages
// are refused with a 4xx naming the problem and nothing is stored; the
// sixth valid message in a minute from one address is refused with 429
// and Retry-After, however the client names itself in X-Forwarded-For.
func TestBoardAbuse(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	cat := testenv.HotspotCategory
	refused := []struct {
		name string
		body any
		want int
	}{
		{"empty", map[string]any{"text": "", "category": cat}, 422},
		{"blank", map[string]any{"text": " \n\t ", "category": cat}, 422},
		{"1001 characters", map[string]any{"text": strings.Repeat("路", 1001), "category": cat}, 422},
		{"script", map[string]any{"text": "<script>alert(1)</script>", "category": cat}, 422},
		{"img onerror", map[string]any{"text": "看图 <img src=x onerror=alert(1)>", "category": cat}, 422},
		{"javascript url", map[string]any{"text": "点这里 javascript:alert(1)", "category": cat}, 422},
		{"entity", map[string]any{"text": "&#60;script&#62;", "category": cat}, 422},
		{"control", map[string]any{"text": "a\u0000b", "category": cat}, 422},
		{"no category", map[string]any{"text": "路灯坏了"}, 422},
		{"unknown category", map[string]any{"text": "路灯坏了", "category": "NOPE"}, 422},
		{"bad phone", map[string]any{"text": "路灯坏了", "category": cat, "phone": "call me"}, 422},
		{"lon without lat", map[string]any{"text": "路灯坏了", "category": cat, "lon": 115.9}, 422},
		{"unknown field", map[string]any{"text": "路灯坏了", "category": cat, "name": "张三"}, 400},
		{"not json", "路灯坏了", 400},
		{"too large", map[string]any{"text": strings.Repeat("x", 20<<10), "category": cat}, 413},
	}
	for _, r := range refused {
		t.Run(r.name, func(t *testing.T) {
			st, b := env.Do(t, "POST", "/api/v1/board/messages", "", r.body)
			if st != r.want {
				t.Fatalf("status %d, want %d: %s", st, r.want, b)
			}
			if e := decode[map[string]map[string]string](t, b); e["error"]["message"] == "" {
				t.Errorf("no reason given: %s", b)
			}
		})
	}
	if n := boardCount(t, env); n != 0 {
		t.Fatalf("refused messages stored: %d", n)
	}
	// the limit: 5 a minute (the first exactly 1,000 characters)
	for i := range 5 {
		text := fmt.Sprintf("第%d条留言", i)
		if i == 0 {
			text = strings.Repeat("路", 1000)
		}
		st, b := env.Do(t, "POST", "/api/v1/board/messages", "", map[string]any{"text": text, "category": cat})
		mustStatus(t, "post "+strconv.Itoa(i), st, b, 201)
	}
	body, _ := jsonBody(map[string]any{"text": "第6条", "category": cat})
	req, _ := http.NewRequest("POST", env.URL+"/api/v1/board/messages", body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	if resp.StatusCode != 429 || ra < 1 || ra > 60 {
		t.Errorf("sixth in a minute: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if n := boardCount(t, env); n != 5 {
		t.Errorf("%d stored, want 5", n)
	}
}

func jsonBody(v any) (*bytes.Reader, error) {
	b, err := json.Marshal(v)
	return bytes.NewReader(b), err
}

// TestBoardDayLimit: 50 a day from one address, spread so the minute's
// limit never bites; the 51st waits until the first leaves the day, and
// another address is not held up.
func TestBoardDayLimit(t *testing.T) {
	t.Parallel()
	pool := testenv.DemoDB(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	s := board.NewStore(pool, board.Limits{}, func() time.Time { return at })
	in := board.PostInput{Text: "路灯坏了", Category: testenv.HotspotCategory}
	start := at
	for i := range 50 {
		if _, err := s.Post(ctx, "198.51.100.7", in); err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
		at = at.Add(2 * time.Minute)
	}
	_, err := s.Post(ctx, "198.51.100.7", in)
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Kind != fault.TooMany {
		t.Fatalf("51st in a day: %v", err)
	}
	if want := start.Add(24 * time.Hour).Sub(at); fe.RetryAfter < want || fe.RetryAfter > want+time.Second {
		t.Errorf("Retry-After %v, want %v", fe.RetryAfter, want)
	}
	if _, err := s.Post(ctx, "198.51.100.8", in); err != nil {
		t.Errorf("another address: %v", err)
	}
	at = start.Add(24*time.Hour + time.Second)
	if _, err := s.Post(ctx, "198.51.100.7", in); err != nil {
		t.Errorf("a day later: %v", err)
	}
}

package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/api"
	"whistlegrid/internal/testenv"
	"whistlegrid/live"
)

// instance is one whistlegrid server with its own hub, as cmd serve runs it.
type instance struct {
	URL  string
	API  *api.Server
	Hub  *live.Hub
	pool *pgxpool.Pool
	stop func() // shuts the hub down (clients get 1001), then the server
}

func testLogger() *slog.Logger {
	if os.Getenv("WHISTLEGRID_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func startInstance(t *testing.T, pool *pgxpool.Pool, opts live.Options, with ...func(*api.Config)) *instance {
	t.Helper()
	log := testLogger()
	hub := live.NewHub(pool, log, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	cfg := api.Config{Pool: pool, Logger: log, Live: hub, Version: "test"}
	for _, f := range with {
		f(&cfg)
	}
	a := api.New(cfg)
	srv := httptest.NewServer(a)
	stopped := false
	in := &instance{URL: srv.URL, API: a, Hub: hub, pool: pool}
	in.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("hub.Run: %v", err)
		}
		srv.Close()
	}
	t.Cleanup(in.stop)
	return in
}

func (in *instance) login(t *testing.T, user string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": user, "password": testenv.DemoPassword})
	resp, err := http.Post(in.URL+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&out) != nil {
		t.Fatalf("login %s: %d", user, resp.StatusCode)
	}
	return out.Token
}

// get sends GET path with a bearer token ("" for none).
func (in *instance) get(t *testing.T, path, token string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", in.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// metrics returns the server's Prometheus metrics.
func (in *instance) metrics() []byte {
	rec := httptest.NewRecorder()
	in.API.Metrics().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.Bytes()
}

// frame is one event as a client receives it.
type frame struct {
	Seq      int64          `json:"seq"`
	Kind     string         `json:"kind"`
	At       time.Time      `json:"at"`
	Township string         `json:"township"`
	Data     map[string]any `json:"data"`
}

// wsClient reads frames in its own goroutine so a test can wait for one
// with a timeout without closing the connection.
type wsClient struct {
	c      *websocket.Conn
	frames chan frame
	err    chan error // the error that ended reading
}

func (in *instance) dial(t *testing.T, token, query string) *wsClient {
	t.Helper()
	before := in.Hub.Clients()
	c, status, err := in.tryDial(token, query)
	if err != nil {
		t.Fatalf("dial %s: status %d: %v", query, status, err)
	}
	// The upgrade answers before the session registers with the hub, and a
	// stream without since starts at registration: wait for it (a session
	// the server closes at once never shows, hence no failure here).
	for deadline := time.Now().Add(2 * time.Second); in.Hub.Clients() <= before && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	ws := &wsClient{c: c, frames: make(chan frame, 10000), err: make(chan error, 1)}
	c.SetReadLimit(1 << 20)
	go func() {
		for {
			_, b, err := c.ReadMessage()
			if err != nil {
				ws.err <- err
				close(ws.frames)
				return
			}
			var f frame
			if err := json.Unmarshal(b, &f); err != nil {
				ws.err <- err
				close(ws.frames)
				return
			}
			ws.frames <- f
		}
	}()
	t.Cleanup(func() { c.Close() })
	return ws
}

func (in *instance) tryDial(token, query string) (*websocket.Conn, int, error) {
	u := "ws" + strings.TrimPrefix(in.URL, "http") + "/api/v1/live?token=" + url.QueryEscape(token)
	if query != "" {
		u += "&" + query
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.DefaultDialer.DialContext(ctx, u, nil)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	return c, status, err
}

// next waits for the next frame.
func (ws *wsClient) next(t *testing.T) frame {
	t.Helper()
	select {
	case f, ok := <-ws.frames:
		if !ok {
			t.Fatalf("connection ended: %v", <-ws.err)
		}
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("no frame within 10s")
	}
	return frame{}
}

// seqs reads n frames and returns their seqs.
func (ws *wsClient) seqs(t *testing.T, n int) []int64 {
	t.Helper()
	out := make([]int64, n)
	for i := range out {
		out[i] = ws.next(t).Seq
	}
	return out
}

// quiet checks that no frame arrives within d.
func (ws *wsClient) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case f, ok := <-ws.frames:
		if ok {
			t.Fatalf("unexpected frame seq %d kind %s township %s", f.Seq, f.Kind, f.Township)
		}
	case <-time.After(d):
	}
}

// closed reads until the connection ends and returns the close code (-1
// when it ended without a close frame), the reason and the frames read.
func (ws *wsClient) closed(t *testing.T) (int, string, int) {
	t.Helper()
	n := 0
	timeout := time.After(20 * time.Second)
	for {
		select {
		case _, ok := <-ws.frames:
			if ok {
				n++
				continue
			}
			err := <-ws.err
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Text, n
			}
			return -1, err.Error(), n
		case <-timeout:
			t.Fatal("connection not closed within 20s")
		}
	}
}

// close ends the connection as a browser does: a close frame, then the
// server's answer, then the TCP close.
func (ws *wsClient) close(t *testing.T) {
	t.Helper()
	if err := ws.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if code, reason, _ := ws.closed(t); code != websocket.CloseNormalClosure {
		t.Fatalf("the server answered the close with %d %q, want 1000", code, reason)
	}
	ws.c.Close()
}

// insertEvent writes one outbox row as the whistle package does, and
// returns its seq.
func insertEvent(t *testing.T, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, kind, township string, payload any) int64 {
	t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	var seq int64
	if err := q.QueryRow(context.Background(), `INSERT INTO events (kind, township, payload) VALUES ($1, nullif($2, ''), $3::jsonb) RETURNING seq`,
		kind, township, string(b)).Scan(&seq); err != nil {
		t.Fatalf("insert event: %v", err)
	}
	return seq
}

// waitSeq waits until the hub has delivered up to seq.
func waitSeq(t *testing.T, h *live.Hub, seq int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if s, ok := h.Seq(); ok && s >= seq {
			return
		}
		if time.Now().After(deadline) {
			s, _ := h.Seq()
			t.Fatalf("hub at seq %d, want %d", s, seq)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// demoPlaces are codes of the 延庆区 demo the tests use.
type demoPlaces struct {
	TownA, TownB  string // 康庄镇 and another township
	Village       string // a village of TownA
	House, House2 string // two household grids of Village
	Unit, Unit2   string // two departments
	UnitID        int64
}

func places(t *testing.T, pool *pgxpool.Pool) demoPlaces {
	t.Helper()
	ctx := context.Background()
	p := demoPlaces{TownA: "110119101"}
	err := pool.QueryRow(ctx, `SELECT code FROM grids WHERE level = 'township' AND code <> $1 ORDER BY code LIMIT 1`, p.TownA).Scan(&p.TownB)
	if err == nil {
		err = pool.QueryRow(ctx, `
			SELECT v.code, min(h.code), max(h.code) FROM grids v JOIN grids h ON h.parent_id = v.id
			WHERE v.level = 'village' AND v.code LIKE $1 || '%'
			GROUP BY v.code HAVING count(*) >= 2 ORDER BY v.code LIMIT 1`, p.TownA).Scan(&p.Village, &p.House, &p.House2)
	}
	if err == nil {
		err = pool.QueryRow(ctx, `SELECT code, id FROM units WHERE kind = 'department' ORDER BY code LIMIT 1`).Scan(&p.Unit, &p.UnitID)
	}
	if err == nil {
		err = pool.QueryRow(ctx, `SELECT code FROM units WHERE kind = 'department' ORDER BY code OFFSET 1 LIMIT 1`).Scan(&p.Unit2)
	}
	if err != nil {
		t.Fatalf("demo places: %v", err)
	}
	return p
}

// whistleRow is a whistle to insert for a test.
type whistleRow struct {
	Township, Grid string
	Grade, Status  string
	Outcome        string        // when closed
	RaisedAgo      time.Duration // raised_at = now - RaisedAgo
	ReportInIn     time.Duration // report_in_due = now + ReportInIn
	ResolveIn      time.Duration // resolve_due = now + ResolveIn
}

func insertWhistle(t *testing.T, pool *pgxpool.Pool, w whistleRow) int64 {
	t.Helper()
	if w.Grade == "" {
		w.Grade = "routine"
	}
	if w.Status == "" {
		w.Status = "raised"
	}
	if w.ReportInIn == 0 {
		w.ReportInIn = 24 * time.Hour
	}
	if w.ResolveIn == 0 {
		w.ResolveIn = 7 * 24 * time.Hour
	}
	var id int64
	err := pool.QueryRow(context.Background(), `
		INSERT INTO whistles (township_id, grid_id, category_id, grade, status, location, raised_at, report_in_due, resolve_due, closed_at, outcome)
		SELECT t.id, g.id, (SELECT id FROM categories WHERE depth = 2 ORDER BY id LIMIT 1), $3, $4, ST_PointOnSurface(g.geom),
			now() - $5::interval, now() + $6::interval, now() + $7::interval,
			CASE WHEN $4 = 'closed' THEN now() END, nullif($8, '')
		FROM grids t, grids g WHERE t.code = $1 AND g.code = $2
		RETURNING id`, w.Township, w.Grid, w.Grade, w.Status, w.RaisedAgo, w.ReportInIn, w.ResolveIn, w.Outcome).Scan(&id)
	if err != nil {
		t.Fatalf("insert whistle: %v", err)
	}
	return id
}

func summon(t *testing.T, pool *pgxpool.Pool, whistle int64, unit string) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), `
		INSERT INTO summons (whistle_id, unit_id, role, summoned_at)
		SELECT $1, u.id, 'lead', w.raised_at FROM units u, whistles w WHERE u.code = $2 AND w.id = $1`, whistle, unit); err != nil {
		t.Fatalf("summon: %v", err)
	}
}

// whistleEvent is a payload in the whistle package's shape.
func whistleEvent(id int64, township string, extra map[string]any) map[string]any {
	p := map[string]any{
		"whistle": map[string]any{"id": id, "grade": "routine", "status": "raised", "township": township, "lon": 115.9, "lat": 40.4, "overdue": false},
		"actor":   "康庄镇 值班员",
	}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

func TestLiveNeedsTokenAndValidQuery(t *testing.T) {
	pool := testenv.DemoDB(t)
	in := startInstance(t, pool, live.Options{})
	tok := in.login(t, "t110119101")
	tests := []struct {
		name, token, query string
		status             int
	}{
		{"no token", "", "", 401},
		{"bad token", "nope", "", 401},
		{"negative since", tok, "since=-1", 422},
		{"since not a number", tok, "since=abc", 422},
		{"bad township", tok, "township=1101", 422},
		{"bad kinds", tok, "kinds=Whistle", 422},
		{"another township", tok, "township=110119102", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, status, err := in.tryDial(tt.token, tt.query)
			if err == nil || status != tt.status {
				t.Fatalf("status %d (err %v), want %d", status, err, tt.status)
			}
		})
	}
	t.Run("bearer header instead of query", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, _, err := websocket.DefaultDialer.DialContext(ctx, "ws"+strings.TrimPrefix(in.URL, "http")+"/api/v1/live",
			http.Header{"Authorization": {"Bearer " + tok}})
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	})
}

func TestLiveResumeInOrderExactlyOnce(t *testing.T) {
	pool := testenv.DemoDB(t)
	for _, tt := range []struct {
		name string
		ring int
	}{
		{"backlog from memory", 0},
		{"backlog from the table", 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := startInstance(t, pool, live.Options{RingSize: tt.ring})
			tok := in.login(t, "command")
			ws := in.dial(t, tok, "")
			var first []int64
			for i := range 5 {
				first = append(first, insertEvent(t, pool, "whistle.raised", "110119101", map[string]any{"n": i}))
			}
			if got := ws.seqs(t, 5); !slices.Equal(got, first) {
				t.Fatalf("live: got %v, want %v", got, first)
			}
			ws.close(t)

			// written while the client is away
			var missed []int64
			for i := range 6 {
				missed = append(missed, insertEvent(t, pool, "whistle.joined", "110119102", map[string]any{"n": i}))
			}
			waitSeq(t, in.Hub, missed[len(missed)-1])
			// more written while it reconnects and reads its backlog
			done := make(chan []int64)
			go func() {
				var more []int64
				for i := range 50 {
					more = append(more, insertEvent(t, pool, "whistle.reported_in", "110119103", map[string]any{"n": i}))
				}
				done <- more
			}()
			ws = in.dial(t, tok, "since="+strconv.FormatInt(first[len(first)-1], 10))
			more := <-done
			want := append(missed, more...)
			got := ws.seqs(t, len(want))
			if !slices.Equal(got, want) {
				t.Fatalf("resume: got %v\nwant %v", got, want)
			}
			ws.quiet(t, 200*time.Millisecond)
		})
	}
}

func TestLiveHoldsBackUntilEarlierSeqCommits(t *testing.T) {
	pool := testenv.DemoDB(t)
	in := startInstance(t, pool, live.Options{GapTimeout: 3 * time.Second})
	ws := in.dial(t, in.login(t, "command"), "")
	ctx := context.Background()

	t.Run("commit out of order", func(t *testing.T) {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s1 := insertEvent(t, tx, "whistle.raised", "110119101", map[string]any{"tx": 1})
		s2 := insertEvent(t, pool, "whistle.raised", "110119101", map[string]any{"tx": 2})
		ws.quiet(t, 300*time.Millisecond) // s2 waits for s1
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if got := ws.seqs(t, 2); !slices.Equal(got, []int64{s1, s2}) {
			t.Fatalf("got %v, want [%d %d]", got, s1, s2)
		}
	})
	t.Run("rolled back seq is passed over", func(t *testing.T) {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		insertEvent(t, tx, "whistle.raised", "110119101", map[string]any{"tx": 3})
		s4 := insertEvent(t, pool, "whistle.raised", "110119101", map[string]any{"tx": 4})
		ws.quiet(t, 200*time.Millisecond)
		start := time.Now()
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		if f := ws.next(t); f.Seq != s4 {
			t.Fatalf("got %d, want %d", f.Seq, s4)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("the rolled-back seq held the stream %v (the gap timeout is 3s)", d)
		}
	})
	t.Run("a transaction open past the gap timeout is passed over", func(t *testing.T) {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		insertEvent(t, tx, "whistle.raised", "110119101", map[string]any{"tx": 5})
		s6 := insertEvent(t, pool, "whistle.raised", "110119101", map[string]any{"tx": 6})
		if f := ws.next(t); f.Seq != s6 {
			t.Fatalf("got %d, want %d", f.Seq, s6)
		}
	})
}

func TestLiveFiltersByTownshipKindAndRole(t *testing.T) {
	pool := testenv.DemoDB(t)
	p := places(t, pool)
	w1 := insertWhistle(t, pool, whistleRow{Township: p.TownA, Grid: p.House})
	w2 := insertWhistle(t, pool, whistleRow{Township: p.TownB, Grid: p.TownB})
	summon(t, pool, w1, p.Unit)
	summon(t, pool, w2, p.Unit2)
	in := startInstance(t, pool, live.Options{})

	clients := []struct {
		name, user, query string
		want              []int // indexes of the events below
	}{
		{"command sees all", "command", "", []int{0, 1, 2, 3, 4}},
		{"screen sees all", "screen", "", []int{0, 1, 2, 3, 4}},
		{"command, one township", "command", "township=" + p.TownB, []int{1}},
		{"command, two townships", "command", "township=" + p.TownB + "," + p.TownA, []int{0, 1, 2, 3, 4}},
		{"command, kind prefix", "command", "kinds=whistle.", []int{0, 1, 3}},
		{"command, kind prefix without dot", "command", "kinds=clue", []int{2, 4}},
		{"command, exact kinds", "command", "kinds=whistle.closed,clue.received", []int{2, 3, 4}},
		{"township sees its own", "t" + p.TownA, "", []int{0, 2, 3, 4}},
		{"township and kind", "t" + p.TownA, "kinds=whistle.", []int{0, 3}},
		{"unit sees whistles it is summoned to", "u" + p.Unit, "", []int{0, 3, 4}},
		{"other unit", "u" + p.Unit2, "", []int{1}},
		{"grid worker sees its village's grids", "w" + p.Village, "", []int{0, 3, 4}},
		{"party member sees its household grid", "p" + p.House, "", []int{0, 3, 4}},
		{"other party member sees none", "p" + p.House2, "", nil},
	}
	conns := make([]*wsClient, len(clients))
	for i, c := range clients {
		conns[i] = in.dial(t, in.login(t, c.user), c.query)
	}
	// a clue of w1 in its household grid (the clue row carries the grid)
	var clue int64
	if err := pool.QueryRow(context.Background(), `
		INSERT INTO clues (source, external_id, category_id, received_lon, received_lat, datum, location, grid_id, township_id, reported_at, whistle_id)
		SELECT 'patrol', 'live-test-1', w.category_id, ST_X(w.location), ST_Y(w.location), 'wgs84', w.location, g.id, w.township_id, now(), w.id
		FROM whistles w, grids g WHERE w.id = $1 AND g.code = $2 RETURNING id`, w1, p.House).Scan(&clue); err != nil {
		t.Fatal(err)
	}
	events := []int64{
		insertEvent(t, pool, "whistle.raised", p.TownA, whistleEvent(w1, p.TownA, nil)),
		insertEvent(t, pool, "whistle.raised", p.TownB, whistleEvent(w2, p.TownB, nil)),
		insertEvent(t, pool, "clue.received", p.TownA, map[string]any{"clue": map[string]any{"source": "hotline"}}), // no grid: township users and up
		insertEvent(t, pool, "whistle.closed", p.TownA, whistleEvent(w1, p.TownA, nil)),
		insertEvent(t, pool, "clue.received", p.TownA, map[string]any{"clue": map[string]any{"id": clue, "source": "patrol"}}),
	}
	for i, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			var want []int64
			for _, j := range c.want {
				want = append(want, events[j])
			}
			if got := conns[i].seqs(t, len(want)); !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
	}
	// nothing more reached anyone
	for i, c := range clients {
		t.Run(c.name+", nothing more", func(t *testing.T) { conns[i].quiet(t, 100*time.Millisecond) })
	}
}

func TestLiveMasksByRole(t *testing.T) {
	pool := testenv.DemoDB(t)
	p := places(t, pool)
	w1 := insertWhistle(t, pool, whistleRow{Township: p.TownA, Grid: p.House})
	summon(t, pool, w1, p.Unit)
	in := startInstance(t, pool, live.Options{})
	payload := whistleEvent(w1, p.TownA, map[string]any{
		"person": "王小明", "phone": "13812345678",
		"clue":      map[string]any{"id": 1, "grid": p.House, "reporter_name": "李大伟", "reporter_phone": "13987654321"},
		"household": map[string]any{"contact_name": "赵六", "contact_phone": "13700001111"},
		"note":      "路灯不亮",
	})
	// the reporter as REST shows it (access.Scope.SeesReporter), the
	// household contacts by access.Scope.SeesResidents
	const (
		duty      = "王小明 13812345678"
		dutyMask  = "王** 138****5678"
		resid     = "李大伟 13987654321 赵六 13700001111"
		residMask = "李** 139****4321 赵* 137****1111"
		repOnly   = "李大伟 13987654321 赵* 137****1111"
		contacts  = "李** 139****4321 赵六 13700001111"
	)
	tests := []struct {
		user             string
		wantDuty, wantRe string
	}{
		{"callback", duty, repOnly},
		{"command", duty, residMask}, // only the callback desk sees reporters (issue 16 §4)
		{"screen", dutyMask, residMask},
		{"t" + p.TownA, duty, resid},
		{"u" + p.Unit, duty, residMask},
		{"w" + p.Village, duty, resid},
		{"p" + p.House, dutyMask, contacts},
	}
	conns := make([]*wsClient, len(tests))
	for i, tt := range tests {
		conns[i] = in.dial(t, in.login(t, tt.user), "")
	}
	seq := insertEvent(t, pool, "whistle.reported_in", p.TownA, payload)
	for i, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			f := conns[i].next(t)
			if f.Seq != seq || f.Kind != "whistle.reported_in" || f.Township != p.TownA || f.At.IsZero() {
				t.Fatalf("frame %+v", f)
			}
			clue := f.Data["clue"].(map[string]any)
			hh := f.Data["household"].(map[string]any)
			gotDuty := f.Data["person"].(string) + " " + f.Data["phone"].(string)
			gotRe := strings.Join([]string{clue["reporter_name"].(string), clue["reporter_phone"].(string), hh["contact_name"].(string), hh["contact_phone"].(string)}, " ")
			if gotDuty != tt.wantDuty {
				t.Errorf("duty %q, want %q", gotDuty, tt.wantDuty)
			}
			if gotRe != tt.wantRe {
				t.Errorf("residents %q, want %q", gotRe, tt.wantRe)
			}
			if f.Data["note"] != "路灯不亮" || f.Data["whistle"].(map[string]any)["id"].(float64) != float64(w1) {
				t.Errorf("unmasked fields changed: %v", f.Data)
			}
		})
	}
}

func TestLiveDropsSlowClient(t *testing.T) {
	pool := testenv.DemoDB(t)
	in := startInstance(t, pool, live.Options{QueueSize: 2})
	tok := in.login(t, "command")
	ws := in.dial(t, tok, "")
	// 2,000 events in one transaction: the hub fans them out in batches of
	// 500, far faster than one client's writer can send them
	if _, err := pool.Exec(context.Background(), `INSERT INTO events (kind, township, payload)
		SELECT 'whistle.overdue', '110119101', jsonb_build_object('n', n) FROM generate_series(1, 2000) n`); err != nil {
		t.Fatal(err)
	}
	code, reason, n := ws.closed(t)
	if code != live.CloseTooSlow || !strings.Contains(reason, "since") {
		t.Fatalf("close %d %q after %d frames, want 4008 asking to resume with since", code, reason, n)
	}
	if n >= 2000 {
		t.Errorf("got all %d frames before the close", n)
	}
	metrics := in.metrics()
	if !strings.Contains(string(metrics), `whistlegrid_live_dropped_clients_total{reason="slow"} 1`) {
		t.Errorf("metrics do not count the drop:\n%s", grepLines(string(metrics), "whistlegrid_live"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestLiveSinceOutsideHistoryAsksForReload(t *testing.T) {
	pool := testenv.DemoDB(t)
	var seqs []int64
	for i := range 10 {
		seqs = append(seqs, insertEvent(t, pool, "whistle.raised", "110119101", map[string]any{"n": i}))
	}
	// retention removed the first five
	if _, err := pool.Exec(context.Background(), `DELETE FROM events WHERE seq <= $1`, seqs[4]); err != nil {
		t.Fatal(err)
	}
	in := startInstance(t, pool, live.Options{RingSize: 2})
	tok := in.login(t, "command")
	t.Run("older than the oldest kept", func(t *testing.T) {
		ws := in.dial(t, tok, "since="+strconv.FormatInt(seqs[2], 10))
		code, reason, n := ws.closed(t)
		if code != live.CloseReload || n != 0 || !strings.Contains(reason, "snapshot") {
			t.Fatalf("close %d %q after %d frames, want 4009 and no frame", code, reason, n)
		}
	})
	t.Run("never handed out", func(t *testing.T) {
		ws := in.dial(t, tok, "since=999999999")
		if code, _, _ := ws.closed(t); code != live.CloseReload {
			t.Fatalf("close %d, want 4009", code)
		}
	})
	t.Run("just inside", func(t *testing.T) {
		ws := in.dial(t, tok, "since="+strconv.FormatInt(seqs[4], 10))
		if got := ws.seqs(t, 5); !slices.Equal(got, seqs[5:]) {
			t.Fatalf("got %v, want %v", got, seqs[5:])
		}
	})
}

func TestLiveTwoInstancesOneDatabase(t *testing.T) {
	dbURL := testenv.DemoURL(t)
	open := func() *pgxpool.Pool {
		pool, err := pgxpool.New(context.Background(), dbURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		return pool
	}
	a := startInstance(t, open(), live.Options{})
	b := startInstance(t, open(), live.Options{})
	onA := a.dial(t, a.login(t, "command"), "")
	onB := b.dial(t, b.login(t, "t110119101"), "")

	viaB := insertEvent(t, b.pool, "whistle.raised", "110119101", map[string]any{"via": "b"})
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	bySQL := insertEvent(t, conn, "whistle.resolved", "110119101", map[string]any{"via": "sql"})

	for name, ws := range map[string]*wsClient{"client on A": onA, "client on B": onB} {
		t.Run(name, func(t *testing.T) {
			if got := ws.seqs(t, 2); !slices.Equal(got, []int64{viaB, bySQL}) {
				t.Fatalf("got %v, want [%d %d]", got, viaB, bySQL)
			}
		})
	}
}

func TestLiveShutdownSendsCloseFrames(t *testing.T) {
	pool := testenv.DemoDB(t)
	in := startInstance(t, pool, live.Options{})
	tok := in.login(t, "screen")
	conns := []*wsClient{in.dial(t, tok, ""), in.dial(t, tok, "since=0")}
	waitClients(t, in.Hub, 2)
	in.stop()
	for i, ws := range conns {
		if code, _, _ := ws.closed(t); code != websocket.CloseGoingAway {
			t.Errorf("client %d: close %d, want 1001", i, code)
		}
	}
}

func waitClients(t *testing.T, h *live.Hub, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); h.Clients() != n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d clients, want %d", h.Clients(), n)
		}
	}
}

func TestLiveSurvivesLostConnectionAndMissedNotifications(t *testing.T) {
	pool := testenv.DemoDB(t)
	in := startInstance(t, pool, live.Options{Poll: 200 * time.Millisecond, ReconnectMin: 50 * time.Millisecond})
	ws := in.dial(t, in.login(t, "command"), "")
	ctx := context.Background()

	t.Run("listening connection killed", func(t *testing.T) {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE application_name = $1 AND datname = current_database()`, live.ApplicationName).Scan(&n); err != nil || n != 1 {
			t.Fatalf("terminated %d listening connections (%v), want 1", n, err)
		}
		seq := insertEvent(t, pool, "whistle.raised", "110119101", map[string]any{"after": "kill"})
		if f := ws.next(t); f.Seq != seq {
			t.Fatalf("got %d, want %d", f.Seq, seq)
		}
		metrics := in.metrics()
		if !strings.Contains(string(metrics), "whistlegrid_live_reconnects_total 1") {
			t.Errorf("reconnect not counted:\n%s", grepLines(string(metrics), "whistlegrid_live"))
		}
	})
	t.Run("no notification: the poll finds it", func(t *testing.T) {
		conn, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Release()
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// triggers off for this transaction only: the row goes in without pg_notify
		if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
			t.Fatal(err)
		}
		seq := insertEvent(t, tx, "whistle.raised", "110119101", map[string]any{"notify": false})
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if f := ws.next(t); f.Seq != seq {
			t.Fatalf("got %d, want %d", f.Seq, seq)
		}
	})
}

func TestLivePingsAndDropsSilentClients(t *testing.T) {
	pool := testenv.DemoDB(t)
	in := startInstance(t, pool, live.Options{PingInterval: 100 * time.Millisecond, PongTimeout: 300 * time.Millisecond})
	tok := in.login(t, "screen")
	reading := in.dial(t, tok, "")
	// a client that never reads never answers a ping
	silent, _, err := in.tryDial(tok, "")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	waitClients(t, in.Hub, 2)
	time.Sleep(time.Second)
	waitClients(t, in.Hub, 1)
	seq := insertEvent(t, pool, "whistle.raised", "110119101", nil)
	if f := reading.next(t); f.Seq != seq {
		t.Fatalf("the answering client got %d, want %d", f.Seq, seq)
	}
	metrics := in.metrics()
	if !strings.Contains(string(metrics), `whistlegrid_live_dropped_clients_total{reason="ping_timeout"} 1`) {
		t.Errorf("ping timeout not counted:\n%s", grepLines(string(metrics), "whistlegrid_live"))
	}
}

func TestLivePrunesEventsPastRetention(t *testing.T) {
	pool := testenv.DemoDB(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO events (at, kind, township) VALUES (now() - interval '3 hours', 'whistle.raised', '110119101'), (now() - interval '3 hours', 'whistle.closed', '110119101')`); err != nil {
		t.Fatal(err)
	}
	keep := insertEvent(t, pool, "whistle.raised", "110119101", nil)
	startInstance(t, pool, live.Options{Retention: 2 * time.Hour})
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		rows, _ := pool.Query(ctx, `SELECT seq FROM events ORDER BY seq`)
		seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			t.Fatal(err)
		}
		if slices.Equal(seqs, []int64{keep}) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("events %v, want only [%d]", seqs, keep)
		}
	}
}

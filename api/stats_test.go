package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"whistlegrid/geo"
	"whistlegrid/internal/testenv"
	"whistlegrid/whistle"
)

// statsSet is a hand-built year of four whistles, made through the real
// flow over HTTP and then put on a fixed clock with SQL, in the year before
// this one (Beijing time), so every deadline has passed:
//
//	W1 康庄镇 暴露垃圾 (patrol + a joined hotline clue), raised 3 Mar 09:00:
//	   区城市管理委 (lead) reports in at +2 h, resolves "resolved" at +20 h;
//	   the assisting 环卫公司 reports in at +30 h, late (marked overdue, one
//	   supervision notice); closed at +30 h; rated 5/5/5 and 3/3/3 at +40 h.
//	W2 康庄镇 暴露垃圾 (hotline), raised 10 Mar 09:00: both report in on time
//	   (+1 h, +3 h); the lead resolves "partly", is returned once, resolves
//	   "partly" again at +1.5 h; closed at +50 h (48.5 h after the last
//	   resolution: approval late); the lead rated 4/4/4 at +150 h (late),
//	   the assistant never.
//	W3 康庄镇 护栏损坏 (patrol), raised 2 Apr 09:00, escalated to priority:
//	   区交通局 reports in at +1 h; still open past its resolve deadline.
//	W4 八达岭镇 暴露垃圾 (app), raised 5 Mar 09:00: nobody reports in.
type statsSet struct {
	env                       *testenv.Env
	year                      int
	city, transport, sanitary string // unit codes: 区城市管理委, 区交通局, 延庆区环卫服务公司
	worker                    string // the grid worker of W1's village
	w                         [4]int64
}

const (
	statsTownA = "110119101" // 康庄镇
	statsTownB = "110119102" // 八达岭镇
)

func buildStatsSet(t *testing.T) *statsSet {
	t.Helper()
	ctx := context.Background()
	pool := testenv.DemoDB(t)
	set := &statsSet{year: time.Now().In(geo.Beijing).Year() - 1}
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%v\n%s", err, sql)
		}
	}
	// only this set: the database is this test's own copy of the demo,
	// emptied before the server starts. TRUNCATE takes an exclusive lock
	// on each table in turn; under a running server it deadlocks with the
	// live hub's outbox read, which joins whistles, clues and summons.
	// CASCADE: the tables that refer to clues or whistles (the ledger's
	// items, the board's messages, ...) are emptied with them.
	exec(`TRUNCATE attachments, hotline_orders, whistle_callbacks, meeting_matters, meetings, whistle_events, supervision_notices, summons, clues, whistles CASCADE`)
	exec(`DELETE FROM rules WHERE category_id IN (SELECT id FROM categories WHERE code IN ('CM.01.02', 'CM.06.04'))`)
	exec(`INSERT INTO rules (category_id, action, join_radius_m, join_window) SELECT id, 'whistle', 100, '7 days' FROM categories WHERE code IN ('CM.01.02', 'CM.06.04')`)
	for name, code := range map[string]*string{"区城市管理委": &set.city, "区交通局": &set.transport, "延庆区环卫服务公司": &set.sanitary} {
		if err := pool.QueryRow(ctx, `SELECT code FROM units WHERE name = $1`, name).Scan(code); err != nil {
			t.Fatal(err)
		}
	}
	// a point in each of three villages of 康庄镇 and one of 八达岭镇
	var pts [][2]float64
	for _, q := range []struct {
		town string
		n    int
	}{{statsTownA, 3}, {statsTownB, 1}} {
		rows, err := pool.Query(ctx, `
			SELECT x, y FROM (
				SELECT DISTINCT ON (v.code) v.code, ST_X(ST_PointOnSurface(g.geom)) x, ST_Y(ST_PointOnSurface(g.geom)) y
				FROM grids g JOIN grids v ON v.id = g.parent_id
				WHERE g.level = 'household' AND g.code LIKE $1 || '%' ORDER BY v.code, g.code) p
			ORDER BY code LIMIT $2`, q.town, q.n)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var p [2]float64
			if err := rows.Scan(&p[0], &p[1]); err != nil {
				t.Fatal(err)
			}
			pts = append(pts, p)
		}
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
	}
	if len(pts) != 4 {
		t.Fatalf("%d points", len(pts))
	}
	env := testenv.Serve(t, pool)
	set.env = env
	// the villages' first points lie far enough apart not to join
	townA, townB := env.Login(t, "t"+statsTownA), env.Login(t, "t"+statsTownB)
	n := 0
	clue := func(tok, source, category string, p [2]float64) int64 {
		t.Helper()
		n++
		status, body := env.Do(t, "POST", "/api/v1/clues", tok, map[string]any{
			"source": source, "external_id": fmt.Sprintf("stats-%d", n), "category": category, "text": "统计测试",
			"lon": p[0], "lat": p[1], "datum": "wgs84", "reported_at": time.Now().Add(-time.Hour).Format(time.RFC3339),
		})
		out := decode[struct {
			Whistle *struct {
				ID int64 `json:"id"`
			} `json:"whistle"`
		}](t, body)
		if status != http.StatusCreated || out.Whistle == nil {
			t.Fatalf("clue %d: %d %s", n, status, body)
		}
		return out.Whistle.ID
	}
	tokens := map[string]string{}
	step := func(user string, id int64, name string, body any) {
		t.Helper()
		if tokens[user] == "" {
			tokens[user] = env.Login(t, user)
		}
		if status, b := env.Do(t, "POST", fmt.Sprintf("/api/v1/whistles/%d/%s", id, name), tokens[user], body); status != http.StatusOK {
			t.Fatalf("%s %s whistle %d: %d %s", user, name, id, status, b)
		}
	}
	person := map[string]string{"person": "王强"}
	city, sanitary, transport := "u"+set.city, "u"+set.sanitary, "u"+set.transport

	set.w[0] = clue(townA, "patrol", "CM.01.02", pts[0])
	if id := clue(townA, "hotline", "CM.01.02", pts[0]); id != set.w[0] {
		t.Fatalf("the second clue raised whistle %d, want it joined to %d", id, set.w[0])
	}
	step(city, set.w[0], "report-in", person)
	step(sanitary, set.w[0], "report-in", person)
	step(city, set.w[0], "resolve", map[string]string{"outcome": "resolved"})
	step("t"+statsTownA, set.w[0], "close", map[string]string{})
	step("t"+statsTownA, set.w[0], "rate", map[string]any{"unit": set.city, "reported_in": 5, "resolved": 5, "satisfied": 5})
	step("t"+statsTownA, set.w[0], "rate", map[string]any{"unit": set.sanitary, "reported_in": 3, "resolved": 3, "satisfied": 3})

	set.w[1] = clue(townA, "hotline", "CM.01.02", pts[1])
	step(city, set.w[1], "report-in", person)
	step(sanitary, set.w[1], "report-in", person)
	step(city, set.w[1], "resolve", map[string]string{"outcome": "partly"})
	step("t"+statsTownA, set.w[1], "return", map[string]string{"reason": "未清理干净"})
	step(city, set.w[1], "resolve", map[string]string{"outcome": "partly"})
	step("t"+statsTownA, set.w[1], "close", map[string]string{})
	step("t"+statsTownA, set.w[1], "rate", map[string]any{"unit": set.city, "reported_in": 4, "resolved": 4, "satisfied": 4})

	set.w[2] = clue(townA, "patrol", "CM.06.04", pts[2])
	step("t"+statsTownA, set.w[2], "escalate", map[string]string{"grade": "priority", "reason": "临近学校"})
	step(transport, set.w[2], "report-in", person)

	set.w[3] = clue(townB, "app", "CM.01.02", pts[3])

	// the clock: every time as hours after the whistle was raised
	raised := func(month time.Month, day int) time.Time {
		return time.Date(set.year, month, day, 9, 0, 0, 0, geo.Beijing)
	}
	at := func(base time.Time, hours float64) time.Time {
		return base.Add(time.Duration(hours * float64(time.Hour)))
	}
	w1, w2, w3, w4 := raised(time.March, 3), raised(time.March, 10), raised(time.April, 2), raised(time.March, 5)
	for i, r := range []struct {
		raised            time.Time
		reportIn, resolve float64
		closed            *time.Time
		reportInOverdue   *time.Time
	}{
		{w1, 24, 7 * 24, ptrTime(at(w1, 30)), ptrTime(at(w1, 24))},
		{w2, 24, 7 * 24, ptrTime(at(w2, 50)), nil},
		{w3, 2, 3 * 24, nil, nil},
		{w4, 24, 7 * 24, nil, nil},
	} {
		exec(`UPDATE whistles SET raised_at = $2, report_in_due = $2::timestamptz + $3 * interval '1 hour', resolve_due = $2::timestamptz + $4 * interval '1 hour',
			closed_at = $5, report_in_overdue_at = $6, resolve_overdue_at = NULL WHERE id = $1`,
			set.w[i], r.raised, r.reportIn, r.resolve, r.closed, r.reportInOverdue)
		exec(`UPDATE summons SET summoned_at = $2 WHERE whistle_id = $1`, set.w[i], r.raised)
		exec(`UPDATE clues SET reported_at = $2::timestamptz - interval '30 minutes' + (id - (SELECT min(id) FROM clues WHERE whistle_id = $1)) * interval '10 minutes'
			WHERE whistle_id = $1`, set.w[i], r.raised)
	}
	summons := func(id int64, unit string, reportedIn, resolved, rated *time.Time, reportInOverdue *time.Time) {
		t.Helper()
		exec(`UPDATE summons SET reported_in_at = $3, resolved_at = $4, rated_at = $5, report_in_overdue_at = $6
			WHERE whistle_id = $1 AND unit_id = (SELECT id FROM units WHERE code = $2)`, id, unit, reportedIn, resolved, rated, reportInOverdue)
	}
	summons(set.w[0], set.city, ptrTime(at(w1, 2)), ptrTime(at(w1, 20)), ptrTime(at(w1, 40)), nil)
	summons(set.w[0], set.sanitary, ptrTime(at(w1, 30)), nil, ptrTime(at(w1, 40)), ptrTime(at(w1, 24)))
	summons(set.w[1], set.city, ptrTime(at(w2, 1)), ptrTime(at(w2, 1.5)), ptrTime(at(w2, 150)), nil)
	summons(set.w[1], set.sanitary, ptrTime(at(w2, 3)), nil, nil, nil)
	summons(set.w[2], set.transport, ptrTime(at(w3, 1)), nil, nil, nil)
	exec(`INSERT INTO supervision_notices (whistle_id, unit_id, kind, at) SELECT $1, id, 'report_in', $3 FROM units WHERE code = $2`,
		set.w[0], set.sanitary, at(w1, 24))

	if err := pool.QueryRow(ctx, `SELECT 'w' || v.code FROM whistles w JOIN grids g ON g.id = w.grid_id JOIN grids v ON v.id = g.parent_id
		WHERE w.id = $1`, set.w[0]).Scan(&set.worker); err != nil {
		t.Fatal(err)
	}
	var returns int
	if err := pool.QueryRow(ctx, `SELECT returns FROM whistles WHERE id = $1`, set.w[1]).Scan(&returns); err != nil || returns != 1 {
		t.Fatalf("W2 returns %d (%v), want 1", returns, err)
	}
	return set
}

func ptrTime(t time.Time) *time.Time { return &t }

// figures is one line per group, for exact comparison.
func figures(f whistle.Figures) string {
	num := func(v *float64) string {
		if v == nil {
			return "null"
		}
		return strconv.FormatFloat(*v, 'f', -1, 64)
	}
	return fmt.Sprintf("%s %s raised=%d closed=%d open=%d ever_overdue=%d overdue_now=%d clues=%d ri=%s res=%s sat=%s mean=%s p90=%s",
		f.Key, f.Name, f.Raised, f.Closed, f.Open, f.EverOverdue, f.OverdueNow, f.Clues,
		num(f.ReportInRate), num(f.ResolutionRate), num(f.SatisfactionRate), num(f.TurnaroundMeanH), num(f.TurnaroundP90H))
}

func (set *statsSet) period() string {
	return fmt.Sprintf("from=%d-01-01&to=%d-01-01", set.year, set.year+1)
}

func TestStats(t *testing.T) {
	set := buildStatsSet(t)
	y := set.year
	march, april := fmt.Sprintf("%d-03 %d年3月", y, y), fmt.Sprintf("%d-04 %d年4月", y, y)
	// W1, W2 and W4 together (March, routine, 暴露垃圾) and W3 alone (April, priority, 护栏损坏)
	const w124 = "raised=3 closed=2 open=1 ever_overdue=2 overdue_now=1 clues=4 ri=0.5 res=0.75 sat=0.6667 mean=40 p90=48"
	const w3 = "raised=1 closed=0 open=1 ever_overdue=1 overdue_now=1 clues=1 ri=1 res=null sat=null mean=null p90=null"
	const total = "total 合计 raised=4 closed=2 open=2 ever_overdue=3 overdue_now=2 clues=5 ri=0.5714 res=0.75 sat=0.6667 mean=40 p90=48"
	tests := []struct {
		name, user, query string
		groups            []string
		total             string
	}{
		{"by township", "command", "by=township", []string{
			"110119101 康庄镇 raised=3 closed=2 open=1 ever_overdue=2 overdue_now=1 clues=4 ri=0.8 res=0.75 sat=0.6667 mean=40 p90=48",
			"110119102 八达岭镇 raised=1 closed=0 open=1 ever_overdue=1 overdue_now=1 clues=1 ri=0 res=null sat=null mean=null p90=null",
		}, total},
		{"by unit", "command", "by=unit", []string{
			set.city + " 区城市管理委 raised=3 closed=2 open=1 ever_overdue=1 overdue_now=1 clues=4 ri=0.6667 res=0.75 sat=1 mean=40 p90=48",
			set.transport + " 区交通局 raised=1 closed=0 open=1 ever_overdue=1 overdue_now=1 clues=1 ri=1 res=null sat=null mean=null p90=null",
			set.sanitary + " 延庆区环卫服务公司 raised=3 closed=2 open=1 ever_overdue=2 overdue_now=1 clues=4 ri=0.3333 res=0.75 sat=0 mean=40 p90=48",
		}, total},
		{"by source of the first clue", "command", "by=source", []string{
			"app 你说我办 raised=1 closed=0 open=1 ever_overdue=1 overdue_now=1 clues=1 ri=0 res=null sat=null mean=null p90=null",
			"hotline 12345热线 raised=1 closed=1 open=0 ever_overdue=0 overdue_now=0 clues=1 ri=1 res=0.5 sat=1 mean=50 p90=50",
			"patrol 网格巡查 raised=2 closed=1 open=1 ever_overdue=2 overdue_now=1 clues=3 ri=0.6667 res=1 sat=0.5 mean=30 p90=30",
		}, total},
		{"by month", "screen", "by=month", []string{march + " " + w124, april + " " + w3}, total},
		{"by grade", "command", "by=grade", []string{"routine 普通哨 " + w124, "priority 重点哨 " + w3}, total},
		{"by category", "command", "by=category", []string{"CM.01.02 暴露垃圾 " + w124, "CM.06.04 护栏损坏 " + w3}, total},
		{"the township sees its own", "t" + statsTownA, "by=township", []string{
			"110119101 康庄镇 raised=3 closed=2 open=1 ever_overdue=2 overdue_now=1 clues=4 ri=0.8 res=0.75 sat=0.6667 mean=40 p90=48",
		}, "total 合计 raised=3 closed=2 open=1 ever_overdue=2 overdue_now=1 clues=4 ri=0.8 res=0.75 sat=0.6667 mean=40 p90=48"},
		{"the other township sees its own", "t" + statsTownB, "by=unit", []string{
			set.city + " 区城市管理委 raised=1 closed=0 open=1 ever_overdue=1 overdue_now=1 clues=1 ri=0 res=null sat=null mean=null p90=null",
			set.sanitary + " 延庆区环卫服务公司 raised=1 closed=0 open=1 ever_overdue=1 overdue_now=1 clues=1 ri=0 res=null sat=null mean=null p90=null",
		}, "total 合计 raised=1 closed=0 open=1 ever_overdue=1 overdue_now=1 clues=1 ri=0 res=null sat=null mean=null p90=null"},
		{"a unit sees the whistles it is summoned to", "u" + set.transport, "by=township", []string{
			"110119101 康庄镇 " + w3,
		}, "total 合计 " + w3},
		{"a grid worker sees its village's", set.worker, "by=source", []string{
			"patrol 网格巡查 raised=1 closed=1 open=0 ever_overdue=1 overdue_now=0 clues=2 ri=0.5 res=1 sat=0.5 mean=30 p90=30",
		}, "total 合计 raised=1 closed=1 open=0 ever_overdue=1 overdue_now=0 clues=2 ri=0.5 res=1 sat=0.5 mean=30 p90=30"},
		{"a shorter period", "command", fmt.Sprintf("by=grade&from=%d-04-01&to=%d-05-01", y, y), []string{"priority 重点哨 " + w3}, "total 合计 " + w3},
	}
	tokens := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tokens[tt.user] == "" {
				tokens[tt.user] = set.env.Login(t, tt.user)
			}
			q := tt.query
			if !strings.Contains(q, "from=") {
				q += "&" + set.period()
			}
			status, body := set.env.Do(t, "GET", "/api/v1/stats?"+q, tokens[tt.user], nil)
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			st := decode[whistle.Stats](t, body)
			var got []string
			for _, g := range st.Groups {
				got = append(got, figures(g))
			}
			if strings.Join(got, "\n") != strings.Join(tt.groups, "\n") {
				t.Errorf("groups:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.groups, "\n"))
			}
			if g := figures(st.Total); g != tt.total {
				t.Errorf("total:\n%s\nwant:\n%s", g, tt.total)
			}
		})
	}

	t.Run("the period echoed in Beijing time, this year by default", func(t *testing.T) {
		status, body := set.env.Do(t, "GET", "/api/v1/stats", tokens["command"], nil)
		if status != http.StatusOK {
			t.Fatalf("status %d: %s", status, body)
		}
		raw := decode[struct {
			From, To, By string
			Groups       []json.RawMessage
			Total        whistle.Figures
		}](t, body)
		if want := fmt.Sprintf("%d-01-01T00:00:00+08:00", y+1); raw.From != want || raw.By != "township" || !strings.HasSuffix(raw.To, "+08:00") {
			t.Errorf("from %s to %s by %s, want from %s by township", raw.From, raw.To, raw.By, want)
		}
		if raw.Groups == nil || len(raw.Groups) != 0 || raw.Total.Raised != 0 || raw.Total.ReportInRate != nil {
			t.Errorf("this year: %s", body)
		}
	})

	t.Run("CSV matches JSON", func(t *testing.T) {
		for _, by := range whistle.StatsGroupings() {
			q := "/api/v1/stats?by=" + by + "&" + set.period()
			_, body := set.env.Do(t, "GET", q, tokens["command"], nil)
			st := decode[whistle.Stats](t, body)
			req, _ := http.NewRequest("GET", set.env.URL+q+"&format=csv", nil)
			req.Header.Set("Authorization", "Bearer "+tokens["command"])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
				!strings.HasPrefix(resp.Header.Get("Content-Disposition"), `attachment; filename="whistle-stats-`+by+"-") {
				t.Fatalf("%s: %d %v", by, resp.StatusCode, resp.Header)
			}
			if !bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")) {
				t.Fatalf("%s: no UTF-8 BOM", by)
			}
			recs, err := csv.NewReader(bytes.NewReader(b[3:])).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != len(st.Groups)+2 || recs[0][0] != "代码" || recs[0][5] != "曾超期" || recs[0][6] != "超期中" || recs[0][8] != "响应率" {
				t.Fatalf("%s: %d records, header %v", by, len(recs), recs[0])
			}
			for i, f := range append(st.Groups, st.Total) {
				cells := recs[i+1]
				for j, c := range cells {
					if c == "" {
						cells[j] = "null"
					}
				}
				got := fmt.Sprintf("%s %s raised=%s closed=%s open=%s ever_overdue=%s overdue_now=%s clues=%s ri=%s res=%s sat=%s mean=%s p90=%s",
					cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6], cells[7], cells[8], cells[9], cells[10], cells[13], cells[14])
				if want := fmt.Sprintf("%d", f.Callbacks); cells[11] != want || (f.ResidentSatisfactionRate == nil) != (cells[12] == "null") {
					t.Errorf("%s row %d: CSV callbacks %s residents %s, JSON %d %v", by, i+1, cells[11], cells[12], f.Callbacks, f.ResidentSatisfactionRate)
				}
				if got != figures(f) {
					t.Errorf("%s row %d: CSV %s, JSON %s", by, i+1, got, figures(f))
				}
			}
		}
	})
}

func TestStatsRefusesBadInput(t *testing.T) {
	t.Parallel() // its own database
	env := testenv.Start(t)
	tok := env.Login(t, "command")
	for _, tt := range []struct{ query, field string }{
		{"by=street", "by"},
		{"from=yesterday", "from"},
		{"to=2025-13-01", "to"},
		{"from=2025-02-01&to=2025-01-01", "to"},
		{"from=2025-01-01&to=2025-01-01", "to"},
		{"format=pdf", "format"},
		{"by=village&grade=urgent", "grade"},
		{"source=fax", "source"},
	} {
		t.Run(tt.query, func(t *testing.T) {
			status, body := env.Do(t, "GET", "/api/v1/stats?"+tt.query, tok, nil)
			e := decode[map[string]map[string]string](t, body)
			if status != http.StatusUnprocessableEntity || e["error"]["field"] != tt.field || e["error"]["message"] == "" {
				t.Errorf("status %d %s, want 422 naming %s", status, body, tt.field)
			}
		})
	}
}

// assessmentRow is a row of either list, for exact comparison.
func assessmentRow(code string, whistles int, score *float64, parts any) string {
	s := "null"
	if score != nil {
		s = strconv.FormatFloat(*score, 'f', -1, 64)
	}
	b, _ := json.Marshal(parts)
	return fmt.Sprintf("%s whistles=%d score=%s %s", code, whistles, s, b)
}

func TestAssessment(t *testing.T) {
	set := buildStatsSet(t)
	// units: ratings 20 × mean/5 each, report-in 20 × rate, resolution 20 × rate, −2 per notice,
	// parts without data left out and the rest scaled to 100
	city := set.city + ` whistles=3 score=82.33 {"rated":2,"reported_in_mean":4.5,"resolved_mean":4.5,"satisfied_mean":4.5,"ratings":54,` +
		`"report_in_rate":0.6667,"report_in":13.33,"resolution_rate":0.75,"resolution":15,"notices":0,"deduction":0}`
	transport := set.transport + ` whistles=1 score=100 {"rated":0,"reported_in_mean":null,"resolved_mean":null,"satisfied_mean":null,"ratings":null,` +
		`"report_in_rate":1,"report_in":20,"resolution_rate":null,"resolution":null,"notices":0,"deduction":0}`
	// (36 + 6.67) / 80 × 100 − 2
	sanitary := set.sanitary + ` whistles=3 score=51.33 {"rated":1,"reported_in_mean":3,"resolved_mean":3,"satisfied_mean":3,"ratings":36,` +
		`"report_in_rate":0.3333,"report_in":6.67,"resolution_rate":null,"resolution":null,"notices":1,"deduction":2}`
	// 康庄镇: W1 closed without return, W2 after one; W1 approved 10 h after the resolution, W2 48.5 h;
	// of the four summons on closed whistles two were rated within 72 h
	townA := `110119101 whistles=3 score=50 {"closed":2,"closed_without_return":1,"no_return_rate":0.5,"no_return":20,` +
		`"approvals":2,"approved_in_time":1,"approval_rate":0.5,"approval":15,"ratings_due":4,"rated_in_time":2,"rating_rate":0.5,"rating":15}`
	townB := `110119102 whistles=1 score=null {"closed":0,"closed_without_return":0,"no_return_rate":null,"no_return":null,` +
		`"approvals":0,"approved_in_time":0,"approval_rate":null,"approval":null,"ratings_due":0,"rated_in_time":0,"rating_rate":null,"rating":null}`
	tests := []struct {
		name, user       string
		units, townships []string
	}{
		{"the command center sees all", "command", []string{transport, city, sanitary}, []string{townA, townB}},
		{"the wall screen sees all", "screen", []string{transport, city, sanitary}, []string{townA, townB}},
		{"a township sees its own row and the scores it gave", "t" + statsTownA, []string{
			transport,
			set.city + ` whistles=2 score=89 {"rated":2,"reported_in_mean":4.5,"resolved_mean":4.5,"satisfied_mean":4.5,"ratings":54,` +
				`"report_in_rate":1,"report_in":20,"resolution_rate":0.75,"resolution":15,"notices":0,"deduction":0}`,
			set.sanitary + ` whistles=2 score=55.5 {"rated":1,"reported_in_mean":3,"resolved_mean":3,"satisfied_mean":3,"ratings":36,` +
				`"report_in_rate":0.5,"report_in":10,"resolution_rate":null,"resolution":null,"notices":1,"deduction":2}`,
		}, []string{townA}},
		{"a unit sees its own row and the scores it gave", "u" + set.city, []string{city}, []string{
			`110119101 whistles=2 score=50 {"closed":2,"closed_without_return":1,"no_return_rate":0.5,"no_return":20,` +
				`"approvals":2,"approved_in_time":1,"approval_rate":0.5,"approval":15,"ratings_due":2,"rated_in_time":1,"rating_rate":0.5,"rating":15}`,
			townB,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := set.env.Login(t, tt.user)
			status, body := set.env.Do(t, "GET", fmt.Sprintf("/api/v1/assessment?year=%d", set.year), tok, nil)
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			a := decode[whistle.Assessment](t, body)
			if a.Year != set.year {
				t.Errorf("year %d", a.Year)
			}
			var units, towns []string
			for _, u := range a.Units {
				units = append(units, assessmentRow(u.Code, u.Whistles, u.Score, u.Parts))
			}
			for _, w := range a.Townships {
				towns = append(towns, assessmentRow(w.Code, w.Whistles, w.Score, w.Parts))
			}
			if strings.Join(units, "\n") != strings.Join(tt.units, "\n") {
				t.Errorf("units:\n%s\nwant:\n%s", strings.Join(units, "\n"), strings.Join(tt.units, "\n"))
			}
			if strings.Join(towns, "\n") != strings.Join(tt.townships, "\n") {
				t.Errorf("townships:\n%s\nwant:\n%s", strings.Join(towns, "\n"), strings.Join(tt.townships, "\n"))
			}
		})
	}

	t.Run("refusals", func(t *testing.T) {
		var worker string
		if err := set.env.Pool.QueryRow(context.Background(), `SELECT username FROM users WHERE role = 'grid_worker' ORDER BY username LIMIT 1`).Scan(&worker); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			user, query string
			status      int
		}{
			{"command", "year=25", 422},
			{"command", "year=abcd", 422},
			{"command", "year=1999", 422},
			{worker, "year=2025", 403},
		} {
			status, body := set.env.Do(t, "GET", "/api/v1/assessment?"+tt.query, set.env.Login(t, tt.user), nil)
			if status != tt.status {
				t.Errorf("%s %s: %d %s, want %d", tt.user, tt.query, status, body, tt.status)
			}
			if e := decode[map[string]map[string]string](t, body); tt.status == 422 && e["error"]["field"] != "year" {
				t.Errorf("%s: %s, want the field year", tt.query, body)
			}
		}
		status, body := set.env.Do(t, "GET", "/api/v1/assessment", set.env.Login(t, "command"), nil)
		if a := decode[whistle.Assessment](t, body); status != 200 || a.Year != set.year+1 || len(a.Units) != 0 || a.Townships == nil {
			t.Errorf("this year: %d %s", status, body)
		}
	})
}

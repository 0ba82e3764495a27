package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"whistlegrid/geo"
	"whistlegrid/internal/testenv"
	"whistlegrid/ledger"
)

// ledgerItem is the part of a ledger item the tests read.
type ledgerItem struct {
	ID          int64  `json:"id"`
	Title       string `json:"title"`
	Level       string `json:"level"`
	Status      string `json:"status"`
	Source      string `json:"source"`
	WhistleID   *int64 `json:"whistle_id"`
	Grid        struct{ Code string }
	Responsible struct{ Kind, Code, Name string }
	Measures    []struct {
		N       int
		DoneAt  *time.Time `json:"done_at"`
		Overdue bool
	}
	Entries []struct {
		Kind, Note  string
		Attachments []string
	}
	Notices []struct {
		Level, Recipient string
	}
	LastReject string `json:"last_reject"`
}

func ledgerBody(p demoPlaces, title string, due ...time.Time) map[string]any {
	var ms []map[string]any
	for i, d := range due {
		ms = append(ms, map[string]any{"text": fmt.Sprintf("措施%d", i+1), "due": d.Format(time.RFC3339)})
	}
	return map[string]any{"title": title, "grid": p.Village, "source": "inspection", "responsible_township": p.TownA,
		"supervising_unit": p.Unit, "measures": ms}
}

func mustStatus(t *testing.T, what string, status int, body []byte, want int) {
	t.Helper()
	if status != want {
		t.Fatalf("%s: status %d, want %d: %s", what, status, want, body)
	}
}

// TestLedgerWorkflow takes an item through every path over HTTP: created
// (township level, open), progress with attachments, a measure done, 销账
// asked, rejected with a reason (open again, the reason kept), asked
// again and approved by the supervising department (closed); a closed
// item takes no more progress. Bad input changes nothing.
func TestLedgerWorkflow(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	p := places(t, env.Pool)
	cmd, town, dept := env.Login(t, "command"), env.Login(t, "t"+p.TownA), env.Login(t, "u"+p.Unit)
	day := 24 * time.Hour
	now := time.Now()

	st, body := env.Do(t, "POST", "/api/v1/ledger", cmd, ledgerBody(p, "村容环境整治", now.Add(10*day), now.Add(20*day)))
	mustStatus(t, "create", st, body, 201)
	it := decode[ledgerItem](t, body)
	if it.ID == 0 || it.Level != "township" || it.Status != "open" || len(it.Measures) != 2 || it.Responsible.Code != p.TownA {
		t.Fatalf("created %+v", it)
	}
	path := fmt.Sprintf("/api/v1/ledger/%d", it.ID)

	st, body = env.Do(t, "POST", path+"/progress", town, map[string]any{"note": "已清理垃圾 3 处", "attachments": []string{"att-1", "att-2"}})
	mustStatus(t, "progress", st, body, 201)
	st, body = env.Do(t, "PATCH", path, town, map[string]any{"done": []int{1}})
	mustStatus(t, "done", st, body, 200)
	if d := decode[ledgerItem](t, body); d.Measures[0].DoneAt == nil || d.Measures[1].DoneAt != nil {
		t.Errorf("after done [1]: %+v", d.Measures)
	}
	st, body = env.Do(t, "POST", path+"/writeoff", town, map[string]any{"note": "整改完成，附照片", "attachments": []string{"att-3"}})
	mustStatus(t, "writeoff", st, body, 200)
	if d := decode[ledgerItem](t, body); d.Status != "writeoff_requested" {
		t.Fatalf("after writeoff: %s", d.Status)
	}
	st, body = env.Do(t, "POST", path+"/writeoff", town, map[string]any{"note": "again"})
	mustStatus(t, "writeoff twice", st, body, 409)
	st, body = env.Do(t, "POST", path+"/review", cmd, map[string]any{"decision": "reject"})
	mustStatus(t, "reject without reason", st, body, 422)
	st, body = env.Do(t, "POST", path+"/review", cmd, map[string]any{"decision": "reject", "reason": "措施2未完成"})
	mustStatus(t, "reject", st, body, 200)
	if d := decode[ledgerItem](t, body); d.Status != "open" || d.LastReject != "措施2未完成" {
		t.Fatalf("after reject: %s %q", d.Status, d.LastReject)
	}
	st, body = env.Do(t, "POST", path+"/writeoff", town, map[string]any{"note": "措施2已完成"})
	mustStatus(t, "writeoff again", st, body, 200)
	st, body = env.Do(t, "POST", path+"/review", dept, map[string]any{"decision": "approve", "reason": "同意"})
	mustStatus(t, "approve", st, body, 200)
	d := decode[ledgerItem](t, body)
	if d.Status != "closed" {
		t.Fatalf("after approve: %s", d.Status)
	}
	var kinds []string
	for _, e := range d.Entries {
		kinds = append(kinds, e.Kind)
	}
	if got := strings.Join(kinds, ","); got != "created,progress,edit,writeoff,reject,writeoff,approve" {
		t.Errorf("trail %s", got)
	}
	if len(d.Entries) > 1 && strings.Join(d.Entries[1].Attachments, ",") != "att-1,att-2" {
		t.Errorf("progress attachments %v", d.Entries[1].Attachments)
	}
	st, body = env.Do(t, "POST", path+"/progress", town, map[string]any{"note": "late"})
	mustStatus(t, "progress on closed", st, body, 409)

	var before int
	if err := env.Pool.QueryRow(context.Background(), `SELECT count(*) FROM ledger_items`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		name string
		body any
		want int
	}{
		{"no measures", map[string]any{"title": "x", "grid": p.Village, "source": "inspection", "responsible_township": p.TownA}, 422},
		{"bad source", map[string]any{"title": "x", "grid": p.Village, "source": "rumour", "responsible_township": p.TownA, "measures": []map[string]string{{"text": "a", "due": "2026-12-31"}}}, 422},
		{"both responsible", map[string]any{"title": "x", "grid": p.Village, "source": "person", "responsible_township": p.TownA, "responsible_unit": p.Unit, "measures": []map[string]string{{"text": "a", "due": "2026-12-31"}}}, 422},
		{"bad due", map[string]any{"title": "x", "grid": p.Village, "source": "person", "responsible_township": p.TownA, "measures": []map[string]string{{"text": "a", "due": "soon"}}}, 422},
		{"unknown grid", map[string]any{"title": "x", "grid": "110119999999", "source": "person", "responsible_township": p.TownA, "measures": []map[string]string{{"text": "a", "due": "2026-12-31"}}}, 422},
		{"unknown field", map[string]any{"titel": "x"}, 400},
	} {
		st, body := env.Do(t, "POST", "/api/v1/ledger", cmd, bad.body)
		if st != bad.want {
			t.Errorf("%s: status %d, want %d: %s", bad.name, st, bad.want, body)
		}
	}
	var after int
	if err := env.Pool.QueryRow(context.Background(), `SELECT count(*) FROM ledger_items`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("bad input stored items: %d → %d", before, after)
	}
}

// TestLedgerFromWhistleAndHotspot turns a whistle and a hotspot place into
// items in one step each: the item keeps the link, takes the whistle's
// grid, and a whistle becomes at most one item.
func TestLedgerFromWhistleAndHotspot(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	p := places(t, env.Pool)
	cmd := env.Login(t, "command")
	w := insertWhistle(t, env.Pool, whistleRow{Township: p.TownA, Grid: p.House, Status: "in_progress"})
	body := map[string]any{"whistle_id": w, "responsible_township": p.TownA, "measures": []map[string]string{{"text": "彻底整改", "due": "2026-12-31"}}}
	st, b := env.Do(t, "POST", "/api/v1/ledger", cmd, body)
	mustStatus(t, "from whistle", st, b, 201)
	it := decode[ledgerItem](t, b)
	if it.WhistleID == nil || *it.WhistleID != w || it.Grid.Code != p.House || it.Source != "complaints" || it.Title == "" {
		t.Errorf("from whistle: %+v", it)
	}
	st, b = env.Do(t, "POST", "/api/v1/ledger", cmd, body)
	mustStatus(t, "same whistle again", st, b, 409)
	// another township cannot turn a whistle it does not see
	other := env.Login(t, "t"+p.TownB)
	body["responsible_township"] = p.TownB
	st, b = env.Do(t, "POST", "/api/v1/ledger", other, body)
	mustStatus(t, "whistle outside jurisdiction", st, b, 422)

	cell := fmt.Sprintf("%x", geo.H3Cell([2]float64{115.9, 40.45}, geo.DefaultH3Res))
	st, b = env.Do(t, "POST", "/api/v1/ledger", cmd, map[string]any{"title": "工地扬尘热点", "grid": p.Village, "hotspot_cell": cell,
		"responsible_unit": p.Unit, "measures": []map[string]string{{"text": "加装喷淋", "due": "2026-12-20"}}})
	mustStatus(t, "from hotspot", st, b, 201)
	hs := decode[struct {
		Source      string  `json:"source"`
		HotspotCell *string `json:"hotspot_cell"`
		Responsible struct{ Kind, Code string }
	}](t, b)
	if hs.Source != "hotspot" || hs.HotspotCell == nil || *hs.HotspotCell != cell || hs.Responsible.Kind != "unit" || hs.Responsible.Code != p.Unit {
		t.Errorf("from hotspot: %+v", hs)
	}
}

// TestLedgerSweep: a measure past its deadline raises its item from the
// township to the department, once however many sweeps run at once, with
// a notice to the responsible party and to the new level and one event; a
// second overdue measure raises it to the command center; nothing rises
// past the command center or twice to a level.
func TestLedgerSweep(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	p := places(t, env.Pool)
	cmd := env.Login(t, "command")
	now := time.Now()
	st, b := env.Do(t, "POST", "/api/v1/ledger", cmd, ledgerBody(p, "道路破损", now.Add(time.Hour), now.Add(3*24*time.Hour)))
	mustStatus(t, "create", st, b, 201)
	id := decode[ledgerItem](t, b).ID
	ctx := context.Background()
	sweepAt := func(at time.Time, n int) (rose int) {
		t.Helper()
		var wg sync.WaitGroup
		var mu sync.Mutex
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := ledger.NewStore(env.Pool, func() time.Time { return at }).Sweep(ctx)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				rose += res.Rose
				mu.Unlock()
			}()
		}
		wg.Wait()
		return rose
	}
	get := func() ledgerItem {
		st, b := env.Do(t, "GET", fmt.Sprintf("/api/v1/ledger/%d", id), cmd, nil)
		mustStatus(t, "get", st, b, 200)
		return decode[ledgerItem](t, b)
	}
	if r := sweepAt(now, 2); r != 0 {
		t.Errorf("before any deadline: %d rose", r)
	}
	if r := sweepAt(now.Add(2*time.Hour), 4); r != 1 {
		t.Errorf("first deadline passed, 4 sweeps at once: %d rises, want 1", r)
	}
	it := get()
	if it.Level != "department" || len(it.Notices) != 2 {
		t.Fatalf("after first rise: level %s, notices %+v", it.Level, it.Notices)
	}
	recips := it.Notices[0].Recipient + "," + it.Notices[1].Recipient
	if recips != p.TownA+",unit:"+p.Unit {
		t.Errorf("notices to %s, want the township and the supervising department", recips)
	}
	if r := sweepAt(now.Add(3*time.Hour), 2); r != 0 {
		t.Errorf("again: %d rose", r)
	}
	if r := sweepAt(now.Add(4*24*time.Hour), 3); r != 1 {
		t.Errorf("second deadline passed: %d rises, want 1", r)
	}
	if it := get(); it.Level != "command" || len(it.Notices) != 4 {
		t.Errorf("after second rise: level %s, %d notices", it.Level, len(it.Notices))
	}
	if r := sweepAt(now.Add(30*24*time.Hour), 2); r != 0 {
		t.Errorf("late marks at the top: %d rose", r)
	}
	var events, rises int
	if err := env.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM events WHERE kind = 'ledger.rose' AND (payload #>> '{ledger,id}')::bigint = $1),
		(SELECT count(*) FROM ledger_rises WHERE item_id = $1)`, id).Scan(&events, &rises); err != nil {
		t.Fatal(err)
	}
	if events != 2 || rises != 2 {
		t.Errorf("%d ledger.rose events and %d rises, want 2 and 2", events, rises)
	}
	// the overdue filter finds it
	st, b = env.Do(t, "GET", "/api/v1/ledger?overdue=true&level=command", cmd, nil)
	mustStatus(t, "list overdue", st, b, 200)
	if l := decode[struct{ Total int }](t, b); l.Total != 0 {
		// the measures are not overdue as of the real now (their deadlines are ahead): none
		t.Errorf("overdue now: %d", l.Total)
	}
}

// TestLedgerReview: the month's review lists the items due, closed,
// overdue and rejected in it, and its xlsx has Chinese bold frozen
// headers, codes as text and a Chinese filename*.
func TestLedgerReview(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	p := places(t, env.Pool)
	cmd, town := env.Login(t, "command"), env.Login(t, "t"+p.TownA)
	month := time.Now().In(geo.Beijing)
	first := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, geo.Beijing)
	period := first.Format("2006-01")
	// due in the month, already overdue (the first second of the month)
	st, b := env.Do(t, "POST", "/api/v1/ledger", cmd, ledgerBody(p, "逾期事项", first.Add(time.Second)))
	mustStatus(t, "create overdue", st, b, 201)
	// closed in the month after a rejection
	st, b = env.Do(t, "POST", "/api/v1/ledger", cmd, ledgerBody(p, "销账事项", first.AddDate(0, 1, 5)))
	mustStatus(t, "create closed", st, b, 201)
	id := decode[ledgerItem](t, b).ID
	for _, s := range []struct{ who, path string }{{town, "writeoff"}, {cmd, "review"}, {town, "writeoff"}, {cmd, "review"}} {
		body := map[string]any{"note": "证据"}
		if s.path == "review" {
			body = map[string]any{"decision": "reject", "reason": "证据不足"}
			if s.who == cmd && id != 0 {
				var n int
				_ = env.Pool.QueryRow(context.Background(), `SELECT count(*) FROM ledger_entries WHERE item_id = $1 AND kind = 'reject'`, id).Scan(&n)
				if n == 1 {
					body = map[string]any{"decision": "approve", "reason": "同意"}
				}
			}
		}
		st, b := env.Do(t, "POST", fmt.Sprintf("/api/v1/ledger/%d/%s", id, s.path), s.who, body)
		mustStatus(t, s.path, st, b, 200)
	}
	st, b = env.Do(t, "GET", "/api/v1/ledger/review?period="+period, cmd, nil)
	mustStatus(t, "review", st, b, 200)
	r := decode[struct {
		Counts struct{ Due, Closed, Overdue, Rejected int }
		Items  []struct {
			Title        string
			RejectReason string `json:"reject_reason"`
		}
	}](t, b)
	if r.Counts.Due != 1 || r.Counts.Closed != 1 || r.Counts.Overdue != 1 || r.Counts.Rejected != 1 || len(r.Items) != 2 {
		t.Errorf("review counts %+v, %d items", r.Counts, len(r.Items))
	}
	for _, bad := range []string{"2026-13", "2026-Q5", "26-11", ""} {
		if st, b := env.Do(t, "GET", "/api/v1/ledger/review?period="+bad, cmd, nil); st != 422 {
			t.Errorf("period %q: %d %s", bad, st, b)
		}
	}

	req, _ := http.NewRequest("GET", env.URL+"/api/v1/ledger/review?format=xlsx&period="+period, nil)
	req.Header.Set("Authorization", "Bearer "+cmd)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "spreadsheetml") {
		t.Fatalf("xlsx: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	cd := resp.Header.Get("Content-Disposition")
	_, params, err := mime.ParseMediaType(cd)
	if err != nil || !strings.Contains(cd, "filename*=") || !strings.HasPrefix(params["filename"], "整改台账审核_") {
		t.Errorf("Content-Disposition %q: %v %v", cd, params, err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	sheet := f.GetSheetName(0)
	if v, _ := f.GetCellValue(sheet, "A1"); v != "编号" {
		t.Errorf("A1 = %q", v)
	}
	styleID, _ := f.GetCellStyle(sheet, "B1")
	if st, err := f.GetStyle(styleID); err != nil || st.Font == nil || !st.Font.Bold {
		t.Errorf("header not bold: %+v %v", st, err)
	}
	panes, err := f.GetPanes(sheet)
	if err != nil || !panes.Freeze || panes.YSplit != 1 {
		t.Errorf("panes %+v %v", panes, err)
	}
	if v, _ := f.GetCellValue(sheet, "D2"); v != p.Village {
		t.Errorf("grid code D2 = %q, want %s", v, p.Village)
	}
	if typ, _ := f.GetCellType(sheet, "D2"); typ == excelize.CellTypeNumber {
		t.Errorf("grid code stored as a number")
	}
}

// TestLedgerPermissions is the permission matrix: every role × action ×
// an item in the caller's own jurisdiction and one outside it.
func TestLedgerPermissions(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	p := places(t, env.Pool)
	cmd := env.Login(t, "command")
	ctx := context.Background()
	var otherUnit string
	if err := env.Pool.QueryRow(ctx, `SELECT code FROM units WHERE code NOT IN ($1, $2) AND kind = 'department' ORDER BY code LIMIT 1`, p.Unit, p.Unit2).Scan(&otherUnit); err != nil {
		t.Fatal(err)
	}
	var otherVillage string
	if err := env.Pool.QueryRow(ctx, `SELECT code FROM grids WHERE level = 'village' AND code LIKE $1 || '%' ORDER BY code LIMIT 1`, p.TownB).Scan(&otherVillage); err != nil {
		t.Fatal(err)
	}
	due := time.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339)
	// own: in TownA, TownA responsible, supervised by p.Unit; other: in TownB, TownB responsible, supervised by otherUnit
	mk := func(grid, town, sup string) int64 {
		st, b := env.Do(t, "POST", "/api/v1/ledger", cmd, map[string]any{"title": "事项", "grid": grid, "source": "person",
			"responsible_township": town, "supervising_unit": sup, "measures": []map[string]string{{"text": "措施", "due": due}}})
		mustStatus(t, "create", st, b, 201)
		return decode[ledgerItem](t, b).ID
	}
	// users and their own item: the township is responsible, the unit supervises, the grid worker's village holds it
	users := []struct {
		name, user string
		// want per action on own and other item: get, progress, writeoff, review, patch, create
		own, other [6]int
	}{
		{"command", "command", [6]int{200, 201, 403, 409, 200, 201}, [6]int{200, 201, 403, 409, 200, 201}},
		{"screen", "screen", [6]int{200, 403, 403, 403, 403, 403}, [6]int{200, 403, 403, 403, 403, 403}},
		{"township", "t" + p.TownA, [6]int{200, 201, 200, 403, 403, 201}, [6]int{404, 404, 404, 404, 404, 403}},
		{"supervising unit", "u" + p.Unit, [6]int{200, 403, 403, 409, 403, 403}, [6]int{404, 404, 404, 404, 404, 403}},
		{"grid worker", "w" + p.Village, [6]int{200, 403, 403, 403, 403, 403}, [6]int{404, 404, 404, 404, 404, 403}},
	}
	actions := []string{"get", "progress", "writeoff", "review", "patch", "create"}
	for _, u := range users {
		tok := env.Login(t, u.user)
		for _, side := range []string{"own", "other"} {
			want := u.own
			id := mk(p.Village, p.TownA, p.Unit)
			grid, town := p.Village, p.TownA
			if side == "other" {
				want = u.other
				id = mk(otherVillage, p.TownB, otherUnit)
				grid, town = otherVillage, p.TownB
			}
			path := fmt.Sprintf("/api/v1/ledger/%d", id)
			for i, a := range actions {
				var st int
				var b []byte
				switch a {
				case "get":
					st, b = env.Do(t, "GET", path, tok, nil)
				case "progress":
					st, b = env.Do(t, "POST", path+"/progress", tok, map[string]any{"note": "进展"})
				case "writeoff":
					st, b = env.Do(t, "POST", path+"/writeoff", tok, map[string]any{"note": "申请"})
				case "review":
					st, b = env.Do(t, "POST", path+"/review", tok, map[string]any{"decision": "approve"})
				case "patch":
					st, b = env.Do(t, "PATCH", path, tok, map[string]any{"title": "改"})
				case "create":
					st, b = env.Do(t, "POST", "/api/v1/ledger", tok, map[string]any{"title": "新", "grid": grid, "source": "person",
						"responsible_township": town, "measures": []map[string]string{{"text": "措施", "due": due}}})
				}
				if st != want[i] {
					t.Errorf("%s × %s × %s: status %d, want %d: %s", u.name, a, side, st, want[i], b)
				}
			}
		}
	}
	// the review by the level above, once asked: the supervising unit may, the responsible township may not
	id := mk(p.Village, p.TownA, p.Unit)
	town := env.Login(t, "t"+p.TownA)
	st, b := env.Do(t, "POST", fmt.Sprintf("/api/v1/ledger/%d/writeoff", id), town, map[string]any{"note": "完成"})
	mustStatus(t, "writeoff", st, b, 200)
	st, b = env.Do(t, "POST", fmt.Sprintf("/api/v1/ledger/%d/review", id), town, map[string]any{"decision": "approve"})
	mustStatus(t, "self review", st, b, 403)
	st, b = env.Do(t, "POST", fmt.Sprintf("/api/v1/ledger/%d/review", id), env.Login(t, "u"+p.Unit2), map[string]any{"decision": "approve"})
	mustStatus(t, "unrelated unit review", st, b, 404)
	st, b = env.Do(t, "POST", fmt.Sprintf("/api/v1/ledger/%d/review", id), env.Login(t, "u"+p.Unit), map[string]any{"decision": "approve"})
	mustStatus(t, "supervising unit review", st, b, 200)
	// lists are scoped in SQL: the township sees none of TownB's
	st, b = env.Do(t, "GET", "/api/v1/ledger?township="+p.TownB+"&limit=500", town, nil)
	mustStatus(t, "list", st, b, 200)
	if l := decode[struct{ Total int }](t, b); l.Total != 0 {
		t.Errorf("township lists %d items of another township", l.Total)
	}
}

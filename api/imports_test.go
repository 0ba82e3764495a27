package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"whistlegrid/ingest"
	"whistlegrid/internal/testenv"
)

// postImport uploads a CSV of hotline orders to POST /api/v1/imports (no
// file part when file is empty).
func postImport(t *testing.T, env *testenv.Env, token string, fields map[string]string, file string) (int, []byte) {
	t.Helper()
	if file == "" {
		return uploadFile(t, env, token, fields, "", nil)
	}
	return uploadFile(t, env, token, fields, "orders.csv", []byte(file))
}

func TestImportsAPI(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	command, town := env.Login(t, "command"), env.Login(t, "t110119101")
	var household, category, dupVillage string
	var inTown [2]float64
	err := env.Pool.QueryRow(ctx, `SELECT h.address FROM households h JOIN grids g ON g.id = h.grid_id WHERE g.code LIKE '110119101%' ORDER BY h.id LIMIT 1`).Scan(&household)
	if err == nil {
		err = env.Pool.QueryRow(ctx, `SELECT name FROM categories c WHERE code = 'CM.01.03'`).Scan(&category)
	}
	if err == nil {
		err = env.Pool.QueryRow(ctx, `SELECT name FROM grids WHERE level = 'village' GROUP BY name HAVING count(*) > 1 ORDER BY name LIMIT 1`).Scan(&dupVillage)
	}
	if err == nil {
		err = env.Pool.QueryRow(ctx, `SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM grids WHERE level = 'household' AND code LIKE '110119101%' ORDER BY code LIMIT 1) x`).Scan(&inTown[0], &inTown[1])
	}
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(time.FixedZone("CST", 8*3600)).Add(-time.Hour).Format("2006-01-02 15:04:05")
	file := "工单编号,来电时间,事发地址,诉求内容,问题分类,诉求人,联系电话\n" +
		fmt.Sprintf("A1,%s,%s,门口摆摊,%s,,\n", now, household, category) +
		fmt.Sprintf("A2,%s,康庄镇某路段,路边摆摊,%s,张三丰,13612345678\n", now, category) +
		fmt.Sprintf("A3,%s,%s,摆摊,%s,李四,13987654321\n", now, dupVillage, category) +
		fmt.Sprintf("A4,昨天,%s,摆摊,%s,,\n", household, category) +
		fmt.Sprintf("A1,%s,%s,门口摆摊,%s,,\n", now, household, category)

	t.Run("refused", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			token  string
			fields map[string]string
			file   string
			status int
			want   string
		}{
			{"not the command center", town, map[string]string{"kind": "hotline"}, file, 403, "command center"},
			{"an unknown kind", command, map[string]string{"kind": "roads"}, file, 422, "grids, hotline, people, places"},
			{"no file", command, map[string]string{"kind": "hotline"}, "", 422, "file part"},
			{"missing columns", command, map[string]string{"kind": "hotline", "dry_run": "true"}, "工单编号,来电时间\nX,2026-01-01 08:00:00\n", 422, "诉求内容, 问题分类, 诉求地址"},
			{"a bad mode", command, map[string]string{"kind": "hotline", "mode": "now"}, file, 422, "history or live"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				st, b := postImport(t, env, tt.token, tt.fields, tt.file)
				if st != tt.status || !strings.Contains(string(b), tt.want) {
					t.Errorf("%d %s, want %d …%s…", st, b, tt.status, tt.want)
				}
			})
		}
	})

	st, b := postImport(t, env, command, map[string]string{"kind": "hotline", "dry_run": "true", "mode": "live"}, file)
	var rep ingest.Report
	if st != 200 || json.Unmarshal(b, &rep) != nil {
		t.Fatalf("dry run: %d %s", st, b)
	}
	if rep.Read != 5 || rep.Imported != 3 || rep.Duplicates != 1 || rep.Rejected != 1 || rep.Unplaced != 2 ||
		rep.Precisions[ingest.PrecisionHousehold] != 1 || rep.Precisions[ingest.PrecisionTownship] != 1 || rep.Precisions[ingest.PrecisionNone] != 1 ||
		len(rep.Rejects) != 1 || rep.Rejects[0].Line != 5 || rep.Rejects[0].Column != "受理时间" {
		t.Errorf("dry run report %s", b)
	}
	var n int
	_ = env.Pool.QueryRow(ctx, `SELECT count(*) FROM hotline_orders`).Scan(&n)
	if n != 0 {
		t.Fatalf("a dry run stored %d orders", n)
	}

	st, b = postImport(t, env, command, map[string]string{"kind": "hotline", "mode": "live"}, file)
	var job struct{ ID int64 }
	if st != 202 || json.Unmarshal(b, &job) != nil || job.ID == 0 {
		t.Fatalf("import: %d %s", st, b)
	}
	var status ingest.ImportStatus
	for deadline := time.Now().Add(30 * time.Second); ; {
		st, b = env.Do(t, "GET", fmt.Sprintf("/api/v1/imports/%d", job.ID), command, nil)
		if st != 200 || json.Unmarshal(b, &status) != nil {
			t.Fatalf("status: %d %s", st, b)
		}
		if status.Status != "running" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if status.Status != "done" || status.RowsRead != 5 || !strings.Contains(string(b), `"imported":3`) {
		t.Fatalf("import status %s", b)
	}
	st, b = env.Do(t, "GET", fmt.Sprintf("/api/v1/imports/%d/rejects", job.ID), command, nil)
	if st != 200 || !strings.Contains(string(b), "5,受理时间,") {
		t.Errorf("rejects: %d %s", st, b)
	}
	for _, path := range []string{"/api/v1/imports/%d", "/api/v1/imports/%d/rejects"} {
		if st, b := env.Do(t, "GET", fmt.Sprintf(path, job.ID), town, nil); st != 403 || !strings.Contains(string(b), "command center") {
			t.Errorf("a township reads %s: %d %s", fmt.Sprintf(path, job.ID), st, b)
		}
	}

	type queue struct {
		Orders []ingest.UnplacedOrder
		Total  int
	}
	var q queue
	st, b = env.Do(t, "GET", "/api/v1/hotline/unplaced", town, nil)
	if st != 200 || json.Unmarshal(b, &q) != nil || q.Total != 1 || q.Orders[0].OrderNo != "A2" || q.Orders[0].Precision != "township" {
		t.Fatalf("the township's queue: %d %s", st, b)
	}
	st, b = env.Do(t, "GET", "/api/v1/hotline/unplaced", command, nil)
	var all queue
	if st != 200 || json.Unmarshal(b, &all) != nil || all.Total != 2 || !strings.Contains(all.Orders[0].Reason+all.Orders[1].Reason, "ambiguous") {
		t.Fatalf("the command center's queue: %d %s", st, b)
	}
	// callers as SeesReporter says: the township's operator and the
	// callback desk see them, the command center's other accounts masked
	callers := func(q queue) string {
		var out []string
		for _, o := range q.Orders {
			out = append(out, o.OrderNo+":"+o.Caller+":"+o.Phone)
		}
		sort.Strings(out)
		return strings.Join(out, " ")
	}
	if got := callers(q); got != "A2:张三丰:13612345678" {
		t.Errorf("the township's callers: %s", got)
	}
	if got := callers(all); got != "A2:张**:136****5678 A3:李*:139****4321" {
		t.Errorf("the command center's callers: %s", got)
	}
	var desk queue
	if st, b = env.Do(t, "GET", "/api/v1/hotline/unplaced", env.Login(t, "callback"), nil); st != 200 || json.Unmarshal(b, &desk) != nil {
		t.Fatalf("the callback desk's queue: %d %s", st, b)
	}
	if got := callers(desk); got != "A2:张三丰:13612345678 A3:李四:13987654321" {
		t.Errorf("the callback desk's callers: %s", got)
	}
	path := fmt.Sprintf("/api/v1/hotline/unplaced/%d/place", q.Orders[0].ID)
	if st, b = env.Do(t, "POST", path, town, map[string]float64{"lon": 116.0, "lat": 40.6}); st != 403 && st != 422 {
		t.Errorf("a pin outside the township: %d %s", st, b)
	}
	st, b = env.Do(t, "POST", path, town, map[string]float64{"lon": inTown[0], "lat": inTown[1]})
	if st != 200 || !strings.Contains(string(b), `"clue_id"`) {
		t.Fatalf("pin: %d %s", st, b)
	}
	if st, b = env.Do(t, "POST", path, town, map[string]float64{"lon": inTown[0], "lat": inTown[1]}); st != 409 {
		t.Errorf("the same pin again: %d %s, want 409", st, b)
	}
	var method string
	var clue *int64
	_ = env.Pool.QueryRow(ctx, `SELECT method, clue_id FROM hotline_orders WHERE order_no = 'A2'`).Scan(&method, &clue)
	if method != "pin" || clue == nil {
		t.Errorf("the pinned order: %s %v", method, clue)
	}
	if st, b = env.Do(t, "GET", "/api/v1/hotline/unplaced", town, nil); st != 200 || !strings.Contains(string(b), `"total":0`) {
		t.Errorf("the queue after the pin: %d %s", st, b)
	}

	// Open311: address_string alone goes through the same gazetteer
	form := url.Values{"api_key": {"demo"}, "service_code": {"CM.01.03"}, "address_string": {household}, "description": {"门口摆摊"}}
	resp, err := http.PostForm(env.URL+"/open311/v2/requests.json", form)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Errorf("Open311 address only: %d %s", resp.StatusCode, b)
	}
}

package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"whistlegrid/access"
	"whistlegrid/auth"
	"whistlegrid/ingest"
	"whistlegrid/internal/dbtest"
	"whistlegrid/internal/testenv"
)

// uploadFile posts a file (a golden one from ingest/testdata, or a CSV) to
// POST /api/v1/imports with the form fields; no file part when name is empty.
func uploadFile(t *testing.T, env *testenv.Env, token string, fields map[string]string, name string, data []byte) (int, []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if name != "" {
		fw, _ := mw.CreateFormFile("file", name)
		_, _ = fw.Write(data)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/api/v1/imports", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func golden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../ingest/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitImport polls GET /api/v1/imports/{id} until the import is no
// longer running.
func waitImport(t *testing.T, env *testenv.Env, token string, id int64) (ingest.ImportStatus, []byte) {
	t.Helper()
	var st ingest.ImportStatus
	for deadline := time.Now().Add(60 * time.Second); ; {
		code, b := env.Do(t, "GET", fmt.Sprintf("/api/v1/imports/%d", id), token, nil)
		if code != 200 || json.Unmarshal(b, &st) != nil {
			t.Fatalf("status: %d %s", code, b)
		}
		if st.Status != "running" {
			return st, b
		}
		if time.Now().After(deadline) {
			t.Fatalf("import %d still running: %s", id, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestImportGridsPeopleAPI brings the golden grid files and rosters in
// through the browser's route, on a database that starts with no grids
// but the district, township and zone of grids_base.geojson: the dry run
// reports every feature and writes nothing, the import writes the new
// ones and refuses the rest, a roster with bad rows is 422 and writes
// nothing, a good one is applied; only the command center imports; a
// file that is no grid file is 422.
func TestImportGridsPeopleAPI(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	if _, err := ingest.ImportGrids(ctx, pool, "../ingest/testdata/grids_base.geojson", ingest.GridOptions{}); err != nil {
		t.Fatal(err)
	}
	users := auth.NewStore(pool)
	for _, u := range []auth.NewUser{
		{Username: "command", Password: testenv.DemoPassword, Role: access.RoleCommand, GridCode: "110229"},
		{Username: "town", Password: testenv.DemoPassword, Role: access.RoleTownship, GridCode: "110229001"},
	} {
		if _, err := users.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	env := testenv.Serve(t, pool)
	command, town := env.Login(t, "command"), env.Login(t, "town")
	count := func(q string) (n int) {
		t.Helper()
		if err := pool.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	versions := func() int { return count(`SELECT count(*) FROM grid_versions`) }
	invalid := golden(t, "grids_invalid.geojson")

	t.Run("refused", func(t *testing.T) {
		before := versions()
		for _, tt := range []struct {
			name   string
			token  string
			fields map[string]string
			file   string
			data   []byte
			status int
			want   string
		}{
			{"not the command center", town, map[string]string{"kind": "grids", "dry_run": "true"}, "v.geojson", invalid, 403, "command center"},
			{"not a grid file", command, map[string]string{"kind": "grids"}, "v.geojson", []byte("name,code\n"), 422, "GeoJSON"},
			{"a bad datum", command, map[string]string{"kind": "grids", "datum": "bj54"}, "v.geojson", invalid, 422, "wgs84, cgcs2000 or gcj02"},
			{"a bad level", command, map[string]string{"kind": "grids", "dry_run": "true", "level": "city"}, "v.geojson", invalid, 422, "level must be"},
			{"a projected shapefile", command, map[string]string{"kind": "grids"}, "p.zip", golden(t, "projected_4547.zip"), 422, "not accepted"},
			{"not a workbook", command, map[string]string{"kind": "people"}, "r.xlsx", invalid, 422, "not an xlsx workbook"},
			{"a roster with bad rows", command, map[string]string{"kind": "people"}, "r.xlsx", golden(t, "roster_bad.xlsx"), 422, "row 3, 手机"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				st, b := uploadFile(t, env, tt.token, tt.fields, tt.file, tt.data)
				if st != tt.status || !strings.Contains(string(b), tt.want) {
					t.Errorf("%d %s, want %d …%s…", st, b, tt.status, tt.want)
				}
			})
		}
		if n := versions(); n != before {
			t.Errorf("refused uploads wrote %d grid versions", n-before)
		}
		if n := count(`SELECT count(*) FROM people`) + count(`SELECT count(*) FROM imports`); n != 0 {
			t.Errorf("refused uploads wrote %d people or imports", n)
		}
	})

	// the dry run: per feature, totals, the zone's gaps; nothing written
	before := versions()
	st, b := uploadFile(t, env, command, map[string]string{"kind": "grids", "dry_run": "true"}, "villages.geojson", invalid)
	var rep ingest.GridReport
	if st != 200 || json.Unmarshal(b, &rep) != nil {
		t.Fatalf("dry run: %d %s", st, b)
	}
	outcomes := map[string]string{}
	for _, f := range rep.Features {
		outcomes[f.Code] = f.Outcome
		if f.Outcome == ingest.OutcomeRefused && f.Reason == "" {
			t.Errorf("%s refused with no reason", f.Code)
		}
	}
	if !rep.DryRun || rep.Applied || len(rep.Features) != 6 || rep.Totals[ingest.OutcomeNew] != 2 || rep.Totals[ingest.OutcomeRefused] != 4 ||
		outcomes["110229001003"] != ingest.OutcomeRefused || outcomes["110229001002"] != ingest.OutcomeNew {
		t.Errorf("dry run report %s", b)
	}
	if len(rep.Parents) != 1 || rep.Parents[0].Code != "110229001P01" || rep.Parents[0].GapShare < 0.45 || rep.Parents[0].GapShare > 0.55 {
		t.Errorf("dry run gaps %+v", rep.Parents)
	}
	if n := versions(); n != before {
		t.Fatalf("a dry run wrote %d grid versions", n-before)
	}

	// confirm: a job the page polls; the new villages are written, the refused not
	st, b = uploadFile(t, env, command, map[string]string{"kind": "grids"}, "villages.geojson", invalid)
	var job struct{ ID int64 }
	if st != 202 || json.Unmarshal(b, &job) != nil || job.ID == 0 {
		t.Fatalf("import: %d %s", st, b)
	}
	status, b := waitImport(t, env, command, job.ID)
	if status.Status != "done" || status.Kind != "grids" || status.RowsRead != 6 || !strings.Contains(string(b), `"applied":true`) {
		t.Fatalf("grids import %s", b)
	}
	if n := count(`SELECT count(*) FROM grids WHERE code IN ('110229001001', '110229001002') AND valid_to IS NULL`); n != 2 {
		t.Errorf("%d new villages written, want 2", n)
	}
	if n := count(`SELECT count(*) FROM grids WHERE code IN ('110229001003', '110229001004', '110229001005')`); n != 0 {
		t.Errorf("%d refused villages written", n)
	}
	if n := count(`SELECT count(*) FROM grid_versions WHERE changed_by = 'command'`); n != 2 {
		t.Errorf("%d versions by the command center, want 2", n)
	}

	// rosters: the dry run lists every bad row; the good one is applied
	st, b = uploadFile(t, env, command, map[string]string{"kind": "people", "dry_run": "true"}, "roster.xlsx", golden(t, "roster_bad.xlsx"))
	var prep ingest.PeopleReport
	if st != 200 || json.Unmarshal(b, &prep) != nil || prep.Rows != 9 || len(prep.Bad) < 7 || prep.Applied {
		t.Fatalf("roster dry run: %d %s", st, b)
	}
	st, b = uploadFile(t, env, command, map[string]string{"kind": "people"}, "roster.xlsx", golden(t, "roster_good.xlsx"))
	if st != 202 || json.Unmarshal(b, &job) != nil {
		t.Fatalf("roster import: %d %s", st, b)
	}
	status, b = waitImport(t, env, command, job.ID)
	if status.Status != "done" || status.RowsRead != 3 || !strings.Contains(string(b), `"new":3`) {
		t.Fatalf("roster import %s", b)
	}
	if n := count(`SELECT count(*) FROM assignments`); n != 3 {
		t.Errorf("%d assignments, want 3", n)
	}
}

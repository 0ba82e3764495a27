package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"whistlegrid/internal/testenv"
)

// edgeState fingerprints everything a refused request might have written:
// clues, whistles and their summons and trail, the outbox, tokens and the
// grids' outlines (an edit sets valid_from and keeps the old version).
const edgeState = `
SELECT (SELECT count(*) || ':' || coalesce(max(id), 0) FROM clues)
	|| '/' || (SELECT md5(string_agg(w::text, ',' ORDER BY w.id)) FROM whistles w)
	|| '/' || (SELECT md5(string_agg(s::text, ',' ORDER BY s.whistle_id, s.unit_id)) FROM summons s)
	|| '/' || (SELECT count(*) FROM whistle_events) || '/' || (SELECT count(*) FROM events)
	|| '/' || (SELECT count(*) FROM tokens) || '/' || (SELECT count(*) FROM grid_versions)
	|| '/' || (SELECT max(valid_from) FROM grids)`

func edgeFingerprint(t *testing.T, env *testenv.Env) string {
	t.Helper()
	var s string
	scan(t, env, edgeState, nil, &s)
	return s
}

// edgeSend sends body as it is (raw bytes and all) with a content type
// and, unless token is empty, a bearer token.
func edgeSend(t *testing.T, env *testenv.Env, method, path, token, ctype, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, env.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == "" {
		req.Body = http.NoBody
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	r := o311Do(t, req)
	return r.status, r.body
}

// edgeFixture is a server with the Open311 key "demo", the command
// center's token, a point in 康庄镇, a raised whistle with a summoned unit
// that has not reported in, and a village's outline as it is.
type edgeFixture struct {
	*open311Fixture
	command string
	whistle int64
	unit    string
	loose   int64 // a clue in no whistle
	village string
	outline string
	seq     int
}

func newEdgeFixture(t *testing.T) *edgeFixture {
	t.Helper()
	f := &edgeFixture{open311Fixture: newOpen311(t)}
	f.command = f.env.Login(t, "command")
	f.rule(t, o311Service, "whistle")
	status, body := edgeSend(t, f.env, "POST", "/api/v1/clues", f.command, jsonType, f.clue(nil))
	var out struct{ Whistle *struct{ ID int64 } }
	if err := json.Unmarshal(body, &out); status != http.StatusCreated || err != nil || out.Whistle == nil {
		t.Fatalf("a clue that raises a whistle: %d %v %.300s", status, err, body)
	}
	f.whistle = out.Whistle.ID
	scan(t, f.env, `SELECT u.code FROM summons s JOIN units u ON u.id = s.unit_id WHERE s.whistle_id = $1 ORDER BY s.role DESC, u.code LIMIT 1`,
		[]any{f.whistle}, &f.unit)
	// a clue of another category, kept in its village: one a township may raise a whistle from
	var other string
	scan(t, f.env, `SELECT code FROM categories c WHERE depth = 3 AND code <> $1 AND NOT EXISTS (SELECT 1 FROM rules r WHERE r.category_id = c.id)
		ORDER BY code LIMIT 1`, []any{o311Service}, &other)
	status, body = edgeSend(t, f.env, "POST", "/api/v1/clues", f.command, jsonType, f.clue(map[string]any{"category": other}))
	var loose struct {
		Clue    struct{ ID int64 }
		Whistle *struct{ ID int64 }
	}
	if err := json.Unmarshal(body, &loose); status != http.StatusCreated || err != nil || loose.Whistle != nil {
		t.Fatalf("a clue kept in its village: %d %v %.300s", status, err, body)
	}
	f.loose = loose.Clue.ID
	scan(t, f.env, `SELECT code, ST_AsGeoJSON(geom, 9) FROM grids WHERE level = 'village' AND code LIKE '110119101%' ORDER BY code LIMIT 1`,
		nil, &f.village, &f.outline)
	return f
}

// clue is a valid clue at the fixture's point with a fresh external_id,
// as a JSON text; raw, if given, replaces the placeholder string "@RAW@"
// (quotes included) byte for byte, for text encoding/json would not write.
func (f *edgeFixture) clue(change map[string]any, raw ...string) string {
	f.seq++
	m := map[string]any{
		"source": "patrol", "external_id": fmt.Sprintf("edge-%d", f.seq), "category": o311Service, "text": "门口摆摊占道",
		"lon": f.lon, "lat": f.lat, "datum": "wgs84", "reported_at": time.Now().Add(-time.Minute).Format(time.RFC3339),
		"reporter": map[string]any{"name": "张三", "phone": "13900001111"},
	}
	for k, v := range change {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	s := string(b)
	if len(raw) > 0 {
		s = strings.Replace(s, `"@RAW@"`, raw[0], 1)
	}
	return s
}

// edgeCase is one request and the refusal it must get.
type edgeCase struct {
	name, method, path, token, ctype, body string
	status                                 int
	field                                  string // the error's field (JSON API) or the description's prefix (Open311)
}

// run sends each case and checks its status, that the answer names the
// field, and that the database did not change.
func (f *edgeFixture) run(t *testing.T, cases []edgeCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			before := edgeFingerprint(t, f.env)
			status, body := edgeSend(t, f.env, tt.method, tt.path, tt.token, tt.ctype, tt.body)
			if after := edgeFingerprint(t, f.env); after != before {
				t.Errorf("the refused request changed the database: %s -> %s", before, after)
			}
			if status != tt.status {
				t.Fatalf("status %d, want %d: %.500s", status, tt.status, body)
			}
			if strings.HasPrefix(tt.path, o311) {
				ctype := "application/json"
				if strings.Contains(tt.path, ".xml") {
					ctype = "text/xml"
				}
				o311Error(t, tt.name, o311Response{status: status, ctype: ctype, body: body}, tt.status, tt.field+": ")
				return
			}
			var e struct {
				Error struct{ Code, Message, Field string }
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Error.Field != tt.field || e.Error.Message == "" {
				t.Errorf("answer %.500s, want an error on field %q", body, tt.field)
			}
		})
	}
}

const jsonType = "application/json"

// TestEdgeRefusesBadText: NUL bytes, invalid and overlong UTF-8 anywhere
// in a request (issue 12, point 8) are a 422 naming the field, in the
// Open311 error list there, and nothing is stored. Each request is valid
// but for the bad text, so without the edge it would reach the database
// and fail there with 22021 (a 500).
func TestEdgeRefusesBadText(t *testing.T) {
	f := newEdgeFixture(t)
	cmd := f.command
	step := fmt.Sprintf("/api/v1/whistles/%d/", f.whistle)
	form := func(change map[string]string, raw string) string { return f.form(change) + raw }
	place := fmt.Sprintf(`[{"lon":%v,"lat":%v},{"lon":%v,"lat":%v,"category":"CM.01.03\u0000"}]`, f.lon, f.lat, f.lon, f.lat)
	f.run(t, []edgeCase{
		// JSON bodies: a \u0000 escape, raw invalid bytes, raw overlong encodings
		{"login username NUL", "POST", "/api/v1/auth/login", "", jsonType, `{"username":"comm\u0000and","password":"demo"}`, 422, "username"},
		{"login password invalid", "POST", "/api/v1/auth/login", "", jsonType, "{\"username\":\"command\",\"password\":\"de\xffmo\"}", 422, "password"},
		{"clue text NUL", "POST", "/api/v1/clues", cmd, jsonType, f.clue(map[string]any{"text": "摆摊\x00占道"}), 422, "text"},
		{"clue external_id NUL", "POST", "/api/v1/clues", cmd, jsonType, f.clue(map[string]any{"external_id": "edge\x00x"}), 422, "external_id"},
		{"clue reporter.name invalid", "POST", "/api/v1/clues", cmd, jsonType,
			f.clue(map[string]any{"reporter": map[string]any{"name": "@RAW@"}}, "\"\xff\xfe张\""), 422, "reporter.name"},
		{"clue reporter.name overlong", "POST", "/api/v1/clues", cmd, jsonType,
			f.clue(map[string]any{"reporter": map[string]any{"name": "@RAW@"}}, "\"\xc0\xae\xc0\xae\""), 422, "reporter.name"},
		{"clue text overlong NUL", "POST", "/api/v1/clues", cmd, jsonType, f.clue(map[string]any{"text": "@RAW@"}, "\"a\xc0\x80b\""), 422, "text"},
		{"clue text surrogate", "POST", "/api/v1/clues", cmd, jsonType, f.clue(map[string]any{"text": "@RAW@"}, "\"\xed\xa0\x80\""), 422, "text"},
		{"step person NUL", "POST", step + "report-in", cmd, jsonType, `{"person":"王\u0000强","unit":"` + f.unit + `"}`, 422, "person"},
		{"step note invalid", "POST", step + "report-in", cmd, jsonType, "{\"person\":\"王强\",\"unit\":\"" + f.unit + "\",\"note\":\"\xf8\x88\x80\x80\x80\"}", 422, "note"},
		{"step attendee NUL", "POST", step + "consult", cmd, jsonType, `{"attendees":["城管","交通\u0000"],"minutes":"会商"}`, 422, "attendees[1]"},
		{"raise note NUL", "POST", "/api/v1/whistles", cmd, jsonType, fmt.Sprintf(`{"clue_ids":[%d],"grade":"routine","note":"\u0000"}`, f.loose), 422, "note"},
		{"grid PUT note NUL", "PUT", "/api/v1/grids/" + f.village, cmd, jsonType, `{"geometry":` + f.outline + `,"note":"拓宽\u0000"}`, 422, "note"},
		{"place batch category NUL", "POST", "/api/v1/place", cmd, jsonType, place, 422, "[1].category"},
		{"clue text NUL labelled a form", "POST", "/api/v1/clues", cmd, o311FormType, f.clue(map[string]any{"text": "摆摊\x00占道"}), 422, "text"},
		{"an object key NUL", "POST", "/api/v1/clues", cmd, jsonType, `{"te\u0000xt":"x"}`, 422, "te\uFFFDxt"},
		// the Open311 form, answered in its own list
		{"open311 description NUL", "POST", o311 + "/requests.json", "", o311FormType, f.form(map[string]string{"description": "摆摊\x00"}), 400, "description"},
		{"open311 first_name overlong", "POST", o311 + "/requests.xml", "", o311FormType, form(map[string]string{"first_name": ""}, "&first_name=%C0%80"), 400, "first_name"},
		{"open311 service_code invalid", "POST", o311 + "/requests.json", "", o311FormType, form(map[string]string{"service_code": ""}, "&service_code=CM%FF"), 400, "service_code"},
		{"open311 api_key NUL", "POST", o311 + "/requests.json", "", o311FormType, form(map[string]string{"api_key": ""}, "&api_key=de%00mo"), 400, "api_key"},
		// query parameters and path codes
		{"grids parent", "GET", "/api/v1/grids?parent=110119%00", cmd, "", "", 422, "parent"},
		{"grid code", "GET", "/api/v1/grids/110119101%00", cmd, "", "", 422, "code"},
		{"grid history code", "GET", "/api/v1/grids/%C0%80/history", cmd, "", "", 422, "code"},
		{"clues township", "GET", "/api/v1/clues?township=%FF", cmd, "", "", 422, "township"},
		{"clues from offset +24:00", "GET", "/api/v1/clues?from=2026-01-01T00:00:00%2B24:00", cmd, "", "", 422, "from"},
		{"whistles status", "GET", "/api/v1/whistles?status=raised%00", cmd, "", "", 422, "status"},
		{"whistle id", "GET", "/api/v1/whistles/1%00", cmd, "", "", 422, "id"},
		{"coverage parent", "GET", "/api/v1/coverage?parent=%C0%B1", cmd, "", "", 422, "parent"},
		{"hotspots category", "GET", "/api/v1/hotspots?category=%00", cmd, "", "", 422, "category"},
		{"contact map code", "GET", "/api/v1/villages/%00/contact-map", cmd, "", "", 422, "code"},
		{"place category", "GET", fmt.Sprintf("/api/v1/place?lon=%v&lat=%v&category=%%E0%%80%%80", f.lon, f.lat), cmd, "", "", 422, "category"},
		{"stats by", "GET", "/api/v1/stats?by=%FF", cmd, "", "", 422, "by"},
		{"a query name", "GET", "/api/v1/grids?%00=1", cmd, "", "", 422, "\uFFFD"},
		{"an unknown API path", "GET", "/api/v1/no%00where", cmd, "", "", 422, "path"},
		{"open311 requests service_code", "GET", o311 + "/requests.json?service_code=%00", "", "", "", 400, "service_code"},
		{"open311 service path", "GET", o311 + "/services/CM%00.json", "", "", "", 400, "service"},
		{"open311 request path in xml", "GET", o311 + "/requests/%FF.xml", "", "", "", 400, "request"},
	})
	// the same requests without the bad text succeed, so what was refused
	// was the text
	for _, tt := range []struct {
		name, method, path, token, body string
		status                          int
	}{
		{"login", "POST", "/api/v1/auth/login", "", `{"username":"command","password":"demo"}`, 200},
		{"clue", "POST", "/api/v1/clues", cmd, f.clue(nil), 201},
		{"report-in", "POST", step + "report-in", cmd, `{"person":"王强","unit":"` + f.unit + `"}`, 200},
		{"raise", "POST", "/api/v1/whistles", cmd, fmt.Sprintf(`{"clue_ids":[%d],"grade":"routine","note":"手动"}`, f.loose), 201},
	} {
		if status, body := edgeSend(t, f.env, tt.method, tt.path, tt.token, jsonType, tt.body); status != tt.status {
			t.Errorf("%s without bad text: %d %.300s, want %d", tt.name, status, body, tt.status)
		}
	}
}

// TestDatumConversionOutOfRange: a point valid on its datum whose WGS-84
// image is not (BD-09 -180, -90; issue 12, point 9) is a 422 on the
// coordinate, one result of a batch, and nothing is stored.
func TestDatumConversionOutOfRange(t *testing.T) {
	f := newEdgeFixture(t)
	corner := map[string]any{"lon": -180, "lat": -90, "datum": "bd09"}
	f.run(t, []edgeCase{
		{"POST clues", "POST", "/api/v1/clues", f.command, jsonType, f.clue(corner), 422, "lon"},
		{"GET place", "GET", "/api/v1/place?lon=-180&lat=-90&datum=bd09", f.command, "", "", 422, "lon"},
		{"GET place, the south pole", "GET", "/api/v1/place?lon=0&lat=-90&datum=bd09", f.command, "", "", 422, "lat"},
	})
	body, _ := json.Marshal([]map[string]any{{"lon": f.lon, "lat": f.lat}, corner, {"lon": 0, "lat": -90, "datum": "bd09"}})
	status, resp := edgeSend(t, f.env, "POST", "/api/v1/place", f.command, jsonType, string(body))
	var out struct {
		Placed, Rejected int
		Results          []struct {
			Index int
			Chain []json.RawMessage
			Error *struct{ Code, Field, Message string }
		}
	}
	if err := json.Unmarshal(resp, &out); status != http.StatusOK || err != nil {
		t.Fatalf("POST place batch: %d %v %.500s", status, err, resp)
	}
	if out.Placed != 1 || out.Rejected != 2 || len(out.Results) != 3 || out.Results[0].Error != nil || len(out.Results[0].Chain) == 0 {
		t.Fatalf("batch answer %s", resp)
	}
	for i, field := range []string{"", "lon", "lat"} {
		r := out.Results[i]
		if i > 0 && (r.Index != i || r.Error == nil || r.Error.Code != "invalid" || r.Error.Field != field || !strings.Contains(r.Error.Message, "WGS-84")) {
			t.Errorf("result %d: %+v, want an error on %s", i, r, field)
		}
	}
}

// TestLooseJSON: trailing data, impossible and far-past times and
// over-long fields (issue 12, point 10) are refused, naming the field,
// and nothing is stored; the limits themselves are accepted.
func TestLooseJSON(t *testing.T) {
	f := newEdgeFixture(t)
	cmd := f.command
	step := fmt.Sprintf("/api/v1/whistles/%d/", f.whistle)
	now := time.Now()
	long := func(n int) string { return strings.Repeat("张", n) }
	f.run(t, []edgeCase{
		{"a clue and garbage", "POST", "/api/v1/clues", cmd, jsonType, f.clue(nil) + "garbage", 400, ""},
		{"two clues", "POST", "/api/v1/clues", cmd, jsonType, f.clue(nil) + f.clue(nil), 400, ""},
		{"a clue and a closing brace", "POST", "/api/v1/clues", cmd, jsonType, f.clue(nil) + "}", 400, ""},
		{"login and an object", "POST", "/api/v1/auth/login", "", jsonType, `{"username":"command","password":"demo"} {}`, 400, ""},
		{"grid PUT and garbage", "PUT", "/api/v1/grids/" + f.village, cmd, jsonType, `{"geometry":` + f.outline + `,"note":"x"}x`, 400, ""},
		{"place batch and garbage", "POST", "/api/v1/place", cmd, jsonType, fmt.Sprintf(`[{"lon":%v,"lat":%v}]]`, f.lon, f.lat), 400, ""},
		{"reported_at +24:00", "POST", "/api/v1/clues", cmd, jsonType, f.clue(map[string]any{"reported_at": now.Format("2006-01-02T15:04:05") + "+24:00"}), 422, "reported_at"},
		{"reported_at +23:60", "POST", "/api/v1/clues", cmd, jsonType, f.clue(map[string]any{"reported_at": now.Format("2006-01-02T15:04:05") + "+23:60"}), 422, "reported_at"},
		{"reported_at 0000-01-01", "POST", "/api/v1/clues", cmd, jsonType, f.clue(map[string]any{"reported_at": "0000-01-01T00:00:00Z"}), 422, "reported_at"},
		{"reported_at before 2000", "POST", "/api/v1/clues", cmd, jsonType, f.clue(map[string]any{"reported_at": "1999-12-31T23:59:59+08:00"}), 422, "reported_at"},
		{"reported_at 6 minutes ahead", "POST", "/api/v1/clues", cmd, jsonType, f.clue(map[string]any{"reported_at": now.Add(6 * time.Minute).Format(time.RFC3339)}), 422, "reported_at"},
		{"reporter.name 100,000 characters", "POST", "/api/v1/clues", cmd, jsonType, f.clue(map[string]any{"reporter": map[string]any{"name": long(100000)}}), 422, "reporter.name"},
		{"reporter.name 129 characters", "POST", "/api/v1/clues", cmd, jsonType, f.clue(map[string]any{"reporter": map[string]any{"name": long(129)}}), 422, "reporter.name"},
		{"reporter.phone 21 digits", "POST", "/api/v1/clues", cmd, jsonType, f.clue(map[string]any{"reporter": map[string]any{"phone": strings.Repeat("1", 21)}}), 422, "reporter.phone"},
		{"external_id 129 characters", "POST", "/api/v1/clues", cmd, jsonType, f.clue(map[string]any{"external_id": long(129)}), 422, "external_id"},
		{"text 4001 characters", "POST", "/api/v1/clues", cmd, jsonType, f.clue(map[string]any{"text": long(4001)}), 422, "text"},
		{"person 129 characters", "POST", step + "report-in", cmd, jsonType, `{"person":"` + long(129) + `","unit":"` + f.unit + `"}`, 422, "person"},
		{"note 4001 characters", "POST", step + "report-in", cmd, jsonType, `{"person":"王强","unit":"` + f.unit + `","note":"` + long(4001) + `"}`, 422, "note"},
		{"51 attendees", "POST", step + "consult", cmd, jsonType, `{"attendees":["a"` + strings.Repeat(`,"a"`, 50) + `],"minutes":"x"}`, 422, "attendees"},
		{"an attendee of 129 characters", "POST", step + "consult", cmd, jsonType, `{"attendees":["a","` + long(129) + `"],"minutes":"x"}`, 422, "attendees[1]"},
		{"grid note 4001 characters", "PUT", "/api/v1/grids/" + f.village, cmd, jsonType, `{"geometry":` + f.outline + `,"note":"` + long(4001) + `"}`, 422, "note"},
		{"username 65 characters", "POST", "/api/v1/auth/login", "", jsonType, `{"username":"` + strings.Repeat("c", 65) + `","password":"demo"}`, 422, "username"},
		{"password 73 bytes", "POST", "/api/v1/auth/login", "", jsonType, `{"username":"command","password":"` + strings.Repeat("d", 73) + `"}`, 422, "password"},
		{"a body over 1 MiB", "POST", "/api/v1/auth/login", "", jsonType, `{"username":"command","password":"` + strings.Repeat("d", 1<<20) + `"}`, 413, ""},
	})
	// at the limits: accepted, and stored as sent
	name := long(128)
	b := f.clue(map[string]any{"external_id": long(128), "text": long(4000), "reporter": map[string]any{"name": name},
		"reported_at": now.Add(4 * time.Minute).Format(time.RFC3339)})
	status, resp := edgeSend(t, f.env, "POST", "/api/v1/clues", cmd, jsonType, b)
	if status != http.StatusCreated {
		t.Fatalf("a clue at the limits: %d %.300s", status, resp)
	}
	var stored string
	scan(t, f.env, `SELECT reporter_name FROM clues WHERE external_id = $1`, []any{long(128)}, &stored)
	if stored != name {
		t.Errorf("stored reporter_name has %d characters, want 128", len([]rune(stored)))
	}
	if status, resp := edgeSend(t, f.env, "POST", "/api/v1/clues", cmd, jsonType, f.clue(map[string]any{"reported_at": "2000-01-01T00:00:00+08:00"})); status != http.StatusCreated {
		t.Errorf("a clue of 2000-01-01: %d %.300s", status, resp)
	}
}

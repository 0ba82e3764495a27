package api_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"whistlegrid/ingest"
	"whistlegrid/internal/testenv"
)

const (
	o311           = "/open311/v2"
	o311Key        = "demo"
	o311Kangzhuang = "110119101" // 康庄镇
	o311Service    = "CM.01.03"  // 占道经营: each township's 城管执法队 leads
)

// open311Fixture is a server on a fresh demo with Open311 mounted and the
// API key "demo", and a point inside 康庄镇.
type open311Fixture struct {
	env      *testenv.Env
	lon, lat float64
	grid     string // the household grid of the point
}

func newOpen311(t *testing.T) *open311Fixture {
	t.Helper()
	ctx := context.Background()
	env := testenv.Start(t)
	pool := env.Pool
	if err := ingest.AddAPIKey(ctx, pool, "test client", o311Key); err != nil {
		t.Fatal(err)
	}
	f := &open311Fixture{env: env}
	// a household grid of 康庄镇 with no open whistle of the service within
	// 500 m, so a posted request raises its own
	err := pool.QueryRow(ctx, `
		SELECT ST_X(g.p), ST_Y(g.p), g.code
		FROM (SELECT code, ST_PointOnSurface(geom) AS p FROM grids WHERE level = 'household' AND code LIKE $1 || '%') g
		WHERE NOT EXISTS (SELECT 1 FROM whistles w JOIN categories c ON c.id = w.category_id
			WHERE c.code = $2 AND w.status <> 'closed' AND ST_DWithin(w.location::geography, g.p::geography, 500))
		ORDER BY g.code LIMIT 1`, o311Kangzhuang, o311Service).Scan(&f.lon, &f.lat, &f.grid)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// rule sets the district-wide rule of a category: "village" keeps its
// clues in the village, "whistle" makes the township raise a whistle.
func (f *open311Fixture) rule(t *testing.T, category, action string) {
	t.Helper()
	_, err := f.env.Pool.Exec(context.Background(), `
		INSERT INTO rules (category_id, action) SELECT id, $2 FROM categories WHERE code = $1
		ON CONFLICT (category_id, township_id) DO UPDATE SET action = $2`, category, action)
	if err != nil {
		t.Fatal(err)
	}
}

type o311Response struct {
	status int
	ctype  string
	body   []byte
	link   string // the Link header
}

func (f *open311Fixture) get(t *testing.T, path string, header ...string) o311Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.env.URL+o311+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return o311Do(t, req)
}

func (f *open311Fixture) post(t *testing.T, path, contentType, body string) o311Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.env.URL+o311+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	return o311Do(t, req)
}

func o311Do(t *testing.T, req *http.Request) o311Response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return o311Response{resp.StatusCode, resp.Header.Get("Content-Type"), b, resp.Header.Get("Link")}
}

const o311FormType = "application/x-www-form-urlencoded; charset=utf-8"

// form is a POST requests form at the fixture's point; change sets fields,
// an empty value drops one.
func (f *open311Fixture) form(change map[string]string) string {
	v := url.Values{
		"api_key": {o311Key}, "jurisdiction_id": {"yanqing.gov.cn"}, "service_code": {o311Service},
		"lat": {strconv.FormatFloat(f.lat, 'f', -1, 64)}, "long": {strconv.FormatFloat(f.lon, 'f', -1, 64)},
		"address_string": {"康庄镇 小丰营村"}, "email": {"zhang@example.org"}, "device_id": {"tt222111"}, "account_id": {"123456"},
		"first_name": {"三"}, "last_name": {"张"}, "phone": {"13900001111"}, "description": {"门口摆摊占道"},
		"media_url": {"http://example.org/1.jpg"}, "attribute[WHISPAWN]": {"123456"},
	}
	for k, x := range change {
		if x == "" {
			v.Del(k)
		} else {
			v.Set(k, x)
		}
	}
	return v.Encode()
}

// o311Keys lists the JSON object's keys, sorted.
func o311Keys(t *testing.T, m map[string]json.RawMessage) []string {
	t.Helper()
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func o311Sorted(s ...string) []string { slices.Sort(s); return s }

// The spec's example answers name these fields.
var (
	o311ServiceKeys = o311Sorted("service_code", "service_name", "description", "metadata", "type", "keywords", "group")
	o311RequestKeys = o311Sorted("service_request_id", "status", "status_notes", "service_name", "service_code", "description",
		"agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime", "address",
		"address_id", "zipcode", "lat", "long", "media_url")
	o311CreatedKeys = o311Sorted("service_request_id", "service_notice", "account_id")
	o311W3          = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$`)
)

// o311Error checks an answer is the spec's error list with one error of
// the given status, whose description contains want.
func o311Error(t *testing.T, what string, r o311Response, status int, want string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status %d, want %d: %s", what, r.status, status, r.body)
		return
	}
	var errs []struct {
		Code        int    `json:"code" xml:"code"`
		Description string `json:"description" xml:"description"`
	}
	if strings.HasPrefix(r.ctype, "text/xml") {
		var doc struct {
			XMLName xml.Name
			Errors  []struct {
				Code        int    `xml:"code"`
				Description string `xml:"description"`
			} `xml:"error"`
		}
		if err := xml.Unmarshal(r.body, &doc); err != nil || doc.XMLName.Local != "errors" {
			t.Errorf("%s: not the spec's XML errors (%v): %s", what, err, r.body)
			return
		}
		for _, e := range doc.Errors {
			errs = append(errs, struct {
				Code        int    `json:"code" xml:"code"`
				Description string `json:"description" xml:"description"`
			}{e.Code, e.Description})
		}
	} else if err := json.Unmarshal(r.body, &errs); err != nil {
		t.Errorf("%s: not the spec's JSON errors (%v): %s", what, err, r.body)
		return
	}
	if len(errs) != 1 || errs[0].Code != status || !strings.Contains(errs[0].Description, want) {
		t.Errorf("%s: errors %+v, want one %d containing %q", what, errs, status, want)
	}
}

func TestOpen311Discovery(t *testing.T) {
	f := newOpen311(t)
	r := f.get(t, "/discovery.json")
	if r.status != 200 || !strings.HasPrefix(r.ctype, "application/json") {
		t.Fatalf("discovery.json: %d %s %s", r.status, r.ctype, r.body)
	}
	type endpoint struct {
		Specification string   `json:"specification" xml:"specification"`
		URL           string   `json:"url" xml:"url"`
		Changeset     string   `json:"changeset" xml:"changeset"`
		Type          string   `json:"type" xml:"type"`
		Formats       []string `json:"formats" xml:"formats>format"`
	}
	var d struct {
		XMLName    xml.Name   `json:"-"`
		Changeset  string     `json:"changeset" xml:"changeset"`
		Contact    string     `json:"contact" xml:"contact"`
		KeyService string     `json:"key_service" xml:"key_service"`
		Endpoints  []endpoint `json:"endpoints" xml:"endpoints>endpoint"`
		Paging     struct {
			DefaultPageSize int `json:"default_page_size" xml:"default_page_size"`
			MaxPageSize     int `json:"max_page_size" xml:"max_page_size"`
		} `json:"paging" xml:"paging"`
	}
	if err := json.Unmarshal(r.body, &d); err != nil {
		t.Fatal(err)
	}
	if d.Paging.DefaultPageSize != ingest.DefaultPageSize || d.Paging.MaxPageSize != ingest.MaxPageSize {
		t.Errorf("discovery paging %+v, want the default and maximum page_size", d.Paging)
	}
	check := func(what, wantURL string) {
		t.Helper()
		if d.Changeset == "" || d.Contact == "" || d.KeyService == "" || len(d.Endpoints) != 1 {
			t.Fatalf("%s: %+v", what, d)
		}
		e := d.Endpoints[0]
		if e.Specification != "http://wiki.open311.org/GeoReport_v2" || e.URL != wantURL || e.Changeset == "" || e.Type != "production" ||
			!slices.Equal(e.Formats, []string{"text/xml", "application/json"}) {
			t.Errorf("%s: endpoint %+v, want url %s", what, e, wantURL)
		}
	}
	check("json", f.env.URL+o311)

	r = f.get(t, "/discovery.xml", "X-Forwarded-Proto", "https")
	if r.status != 200 || r.ctype != "text/xml; charset=utf-8" || !strings.HasPrefix(string(r.body), `<?xml version="1.0" encoding="UTF-8"?>`) {
		t.Fatalf("discovery.xml: %d %s %s", r.status, r.ctype, r.body)
	}
	d.Endpoints = nil
	if err := xml.Unmarshal(r.body, &d); err != nil || d.XMLName.Local != "discovery" {
		t.Fatalf("discovery.xml: %v %s", err, r.body)
	}
	check("xml behind a TLS proxy", "https://"+strings.TrimPrefix(f.env.URL, "http://")+o311)
}

func TestOpen311Services(t *testing.T) {
	f := newOpen311(t)
	r := f.get(t, "/services.json")
	if r.status != 200 {
		t.Fatalf("services.json: %d %s", r.status, r.body)
	}
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatal(err)
	}
	var leaves int
	if err := f.env.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM categories c WHERE NOT EXISTS (SELECT 1 FROM categories ch WHERE ch.parent_id = c.id)`).Scan(&leaves); err != nil {
		t.Fatal(err)
	}
	if len(raw) != leaves || leaves == 0 {
		t.Fatalf("%d services, want the %d leaf categories", len(raw), leaves)
	}
	for _, s := range raw {
		if got := o311Keys(t, s); !slices.Equal(got, o311ServiceKeys) {
			t.Fatalf("service fields %v, want the spec's %v", got, o311ServiceKeys)
		}
	}
	type service struct {
		Code        string `json:"service_code" xml:"service_code"`
		Name        string `json:"service_name" xml:"service_name"`
		Description string `json:"description" xml:"description"`
		Metadata    bool   `json:"metadata" xml:"metadata"`
		Type        string `json:"type" xml:"type"`
		Keywords    string `json:"keywords" xml:"keywords"`
		Group       string `json:"group" xml:"group"`
	}
	var list []service
	_ = json.Unmarshal(r.body, &list)
	want := service{Code: o311Service, Name: "占道经营", Type: "realtime", Group: "市容环境"}
	var found bool
	for _, s := range list {
		if s.Code == "CM" || s.Code == "CM.01" {
			t.Errorf("a group is listed as a service: %+v", s)
		}
		if s.Code == want.Code {
			found = true
			if s.Name != want.Name || s.Metadata || s.Type != want.Type || s.Group != want.Group ||
				!strings.Contains(s.Keywords, "城市管理") || !strings.Contains(s.Description, "普通哨") {
				t.Errorf("service %+v, want %+v", s, want)
			}
		}
	}
	if !found {
		t.Errorf("no service %s", want.Code)
	}

	r = f.get(t, "/services.xml")
	var doc struct {
		XMLName  xml.Name
		Services []service `xml:"service"`
	}
	if err := xml.Unmarshal(r.body, &doc); err != nil || r.status != 200 || doc.XMLName.Local != "services" || len(doc.Services) != leaves {
		t.Fatalf("services.xml: %d %v %d services", r.status, err, len(doc.Services))
	}
	if !slices.Equal(list, doc.Services) {
		t.Error("services.xml and services.json differ")
	}
}

func TestOpen311ServiceDefinition(t *testing.T) {
	f := newOpen311(t)
	r := f.get(t, "/services/"+o311Service+".json")
	if r.status != 200 || string(r.body) != `{"service_code":"CM.01.03","attributes":[]}` {
		t.Errorf("definition: %d %s", r.status, r.body)
	}
	r = f.get(t, "/services/"+o311Service+".xml")
	var d struct {
		XMLName xml.Name
		Code    string `xml:"service_code"`
	}
	if err := xml.Unmarshal(r.body, &d); err != nil || r.status != 200 || d.XMLName.Local != "service_definition" || d.Code != o311Service {
		t.Errorf("definition xml: %d %v %s", r.status, err, r.body)
	}
	for _, tt := range []struct{ path, want string }{
		{"/services/ZZ.99.json", "ZZ.99 not found"},
		{"/services/CM.01.json", "group"},
		{"/services/ZZ.99.xml", "ZZ.99 not found"},
		{"/services/CM.01.03.csv", ".json or .xml"},
		{"/services.csv", ".json or .xml"},
		{"/tokens/12345.json", "realtime"},
		{"/frobs.json", "no such resource"},
	} {
		o311Error(t, tt.path, f.get(t, tt.path), 404, tt.want)
	}
}

type o311Created struct {
	ID            string  `json:"service_request_id"`
	ServiceNotice *string `json:"service_notice"`
	AccountID     *string `json:"account_id"`
}

func o311DecodeCreated(t *testing.T, r o311Response) o311Created {
	t.Helper()
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &raw); err != nil || len(raw) != 1 {
		t.Fatalf("POST answer %s: %v", r.body, err)
	}
	if got := o311Keys(t, raw[0]); !slices.Equal(got, o311CreatedKeys) {
		t.Errorf("POST answer fields %v, want the spec's %v", got, o311CreatedKeys)
	}
	var out []o311Created
	_ = json.Unmarshal(r.body, &out)
	return out[0]
}

func TestOpen311PostRequest(t *testing.T) {
	f := newOpen311(t)
	f.rule(t, o311Service, "village")
	ctx := context.Background()
	if err := ingest.AddAPIKey(ctx, f.env.Pool, "old client", "old"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.env.Pool.Exec(ctx, `UPDATE api_keys SET revoked_at = now() WHERE name = 'old client'`); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name   string
		path   string
		change map[string]string
		status int
		want   string
	}{
		{"no api_key", "/requests.json", map[string]string{"api_key": ""}, 403, "api_key is required"},
		{"a wrong api_key", "/requests.json", map[string]string{"api_key": "xyz"}, 403, "invalid api_key"},
		{"a revoked api_key", "/requests.json", map[string]string{"api_key": "old"}, 403, "invalid api_key"},
		{"a wrong api_key in xml", "/requests.xml", map[string]string{"api_key": "xyz"}, 403, "invalid api_key"},
		{"no service_code", "/requests.json", map[string]string{"service_code": ""}, 400, "service_code"},
		{"an unknown service_code", "/requests.json", map[string]string{"service_code": "ZZ.99"}, 404, "ZZ.99 not found"},
		{"a group's code", "/requests.json", map[string]string{"service_code": "CM.01"}, 404, "group"},
		{"an address the gazetteer cannot place", "/requests.json", map[string]string{"lat": "", "long": "", "address_string": "路边"}, 400, "cannot be placed"},
		{"lat only", "/requests.json", map[string]string{"long": ""}, 400, "long: lat and long must both be sent"},
		{"lat not a number", "/requests.json", map[string]string{"lat": "north"}, 400, "lat:"},
		{"outside the district", "/requests.json", map[string]string{"lat": "39.9087", "long": "116.3975"}, 400, "outside the district"},
		{"a bad phone", "/requests.json", map[string]string{"phone": "call me"}, 400, "phone:"},
		{"a long description", "/requests.json", map[string]string{"description": strings.Repeat("摊", 4001)}, 400, "description:"},
		{"in xml", "/requests.xml", map[string]string{"service_code": ""}, 400, "service_code"},
		{"a media_url that is no URL", "/requests.json", map[string]string{"media_url": "javascript:alert(1)"}, 400, "media_url:"},
		{"a media_url too long", "/requests.json", map[string]string{"media_url": "https://example.org/" + strings.Repeat("a", 2048)}, 400, "media_url:"},
		{"to a resource that takes no POST", "/services.json", nil, 404, "POST requests.json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o311Error(t, tt.name, f.post(t, tt.path, o311FormType, f.form(tt.change)), tt.status, tt.want)
		})
	}
	o311Error(t, "a JSON body", f.post(t, "/requests.json", "application/json", `{"api_key":"demo"}`), 400, "x-www-form-urlencoded")
	var clues int
	_ = f.env.Pool.QueryRow(ctx, `SELECT count(*) FROM clues WHERE external_id LIKE 'open311:%'`).Scan(&clues)
	if clues != 0 {
		t.Fatalf("%d clues after refused requests, want 0", clues)
	}

	// the spec's example request, at a point of 康庄镇
	first := f.post(t, "/requests.json", o311FormType, f.form(nil))
	if first.status != http.StatusCreated {
		t.Fatalf("POST: %d %s", first.status, first.body)
	}
	c1 := o311DecodeCreated(t, first)
	if c1.ID == "" || c1.AccountID == nil || *c1.AccountID != "123456" || c1.ServiceNotice == nil || !strings.Contains(*c1.ServiceNotice, "就地处置") {
		t.Errorf("created %+v", c1)
	}
	again := f.post(t, "/requests.json", o311FormType, f.form(map[string]string{"api_key": o311Key}))
	if again.status != http.StatusOK || o311DecodeCreated(t, again).ID != c1.ID {
		t.Errorf("the same form again: %d %s, want 200 with id %s", again.status, again.body, c1.ID)
	}
	var source, ext, name, phone string
	err := f.env.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM clues WHERE external_id LIKE 'open311:%'), source, external_id, reporter_name, reporter_phone
		FROM clues WHERE id = $1`, c1.ID).Scan(&clues, &source, &ext, &name, &phone)
	if err != nil || clues != 1 || source != "app" || !strings.HasPrefix(ext, "open311:") || name != "张三" || phone != "13900001111" {
		t.Errorf("stored clue: %d %s %s %s %s %v", clues, source, ext, name, phone, err)
	}

	// another report in XML
	r := f.post(t, "/requests.xml", o311FormType, f.form(map[string]string{"description": "又来摆摊", "account_id": ""}))
	var doc struct {
		XMLName  xml.Name
		Requests []struct {
			ID        string  `xml:"service_request_id"`
			Notice    string  `xml:"service_notice"`
			AccountID *string `xml:"account_id"`
		} `xml:"request"`
	}
	if err := xml.Unmarshal(r.body, &doc); err != nil || r.status != 201 || doc.XMLName.Local != "service_requests" || len(doc.Requests) != 1 ||
		doc.Requests[0].ID == c1.ID || doc.Requests[0].AccountID == nil || *doc.Requests[0].AccountID != "" {
		t.Errorf("POST requests.xml: %d %v %s", r.status, err, r.body)
	}

	// Open311 is public: the request reads back without the reporter
	r = f.get(t, "/requests/"+c1.ID+".json")
	if r.status != 200 || strings.Contains(string(r.body), "张三") || strings.Contains(string(r.body), "13900001111") || strings.Contains(string(r.body), "zhang@") {
		t.Errorf("GET the posted request: %d %s", r.status, r.body)
	}
	// its media_url is kept and read back, in JSON and XML
	got := f.requests(t, "/requests/"+c1.ID+".json")
	if len(got) != 1 || got[0].MediaURL == nil || *got[0].MediaURL != "http://example.org/1.jpg" {
		t.Errorf("media_url read back: %+v", got)
	}
	if r = f.get(t, "/requests/"+c1.ID+".xml"); !strings.Contains(string(r.body), "<media_url>http://example.org/1.jpg</media_url>") {
		t.Errorf("media_url in XML: %s", r.body)
	}
}

// request is a service request as the tests read it.
type o311Request struct {
	ID                string  `json:"service_request_id"`
	Status            string  `json:"status"`
	StatusNotes       *string `json:"status_notes"`
	ServiceName       string  `json:"service_name"`
	ServiceCode       string  `json:"service_code"`
	Description       *string `json:"description"`
	AgencyResponsible *string `json:"agency_responsible"`
	ServiceNotice     *string `json:"service_notice"`
	RequestedDatetime string  `json:"requested_datetime"`
	UpdatedDatetime   string  `json:"updated_datetime"`
	ExpectedDatetime  *string `json:"expected_datetime"`
	Address           *string `json:"address"`
	Lat               float64 `json:"lat"`
	Long              float64 `json:"long"`
	MediaURL          *string `json:"media_url"`
	Extended          *struct {
		GridCode  string  `json:"grid_code"`
		Source    string  `json:"source"`
		Grade     *string `json:"grade"`
		WhistleID *int64  `json:"whistle_id"`
		Ratings   *struct {
			ReportedIn int `json:"reported_in"`
			Resolved   int `json:"resolved"`
			Satisfied  int `json:"satisfied"`
		} `json:"ratings"`
	} `json:"extended_attributes"`
}

// requests GETs a list of requests, checking each against the spec's shape.
func (f *open311Fixture) requests(t *testing.T, path string) []o311Request {
	t.Helper()
	r := f.get(t, path)
	if r.status != 200 {
		t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatalf("GET %s: %v %s", path, err, r.body)
	}
	for _, m := range raw {
		want := o311RequestKeys
		if _, ok := m["extended_attributes"]; ok {
			want = o311Sorted(append(slices.Clone(o311RequestKeys), "extended_attributes")...)
		}
		if got := o311Keys(t, m); !slices.Equal(got, want) {
			t.Fatalf("GET %s: request fields %v, want the spec's %v", path, got, want)
		}
	}
	var out []o311Request
	_ = json.Unmarshal(r.body, &out)
	for _, q := range out {
		if !o311W3.MatchString(q.RequestedDatetime) || !o311W3.MatchString(q.UpdatedDatetime) || q.ExpectedDatetime == nil || !o311W3.MatchString(*q.ExpectedDatetime) {
			t.Errorf("GET %s: times not in the W3C format: %+v", path, q)
		}
	}
	return out
}

func o311IDs(rs []o311Request) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func TestOpen311GetRequests(t *testing.T) {
	f := newOpen311(t)
	f.rule(t, o311Service, "village")
	f.rule(t, "CM.01.01", "village")
	tok := f.env.Login(t, "command")
	now := time.Now()
	clue := func(category string, age time.Duration) string {
		t.Helper()
		status, body := f.env.Do(t, "POST", "/api/v1/clues", tok, map[string]any{
			"source": "hotline", "external_id": fmt.Sprintf("o311-%s-%v", category, age), "category": category, "text": "热线反映",
			"lon": f.lon, "lat": f.lat, "datum": "wgs84", "reported_at": now.Add(-age).Format(time.RFC3339),
			"reporter": map[string]string{"name": "李四", "phone": "13800002222"},
		})
		var out struct{ Clue struct{ ID int64 } }
		if err := json.Unmarshal(body, &out); status != 201 || err != nil {
			t.Fatalf("clue: %d %s", status, body)
		}
		return strconv.FormatInt(out.Clue.ID, 10)
	}
	day := 24 * time.Hour
	fresh := clue(o311Service, time.Hour)  // open: the village has it
	other := clue("CM.01.01", 2*time.Hour) // another service
	week := clue(o311Service, 10*day)      // closed: no whistle, 7 days passed
	old := clue(o311Service, 100*day)      // outside the default 90 days

	has := func(got []o311Request, want ...string) bool {
		for _, w := range want {
			if !slices.Contains(o311IDs(got), w) {
				return false
			}
		}
		return true
	}
	// The demo may hold its own history of clues: every case but the
	// default narrows the dates to the 11 days that hold the test's clues.
	span := func(from, to time.Duration) string {
		return "start_date=" + url.QueryEscape(now.Add(-from).Format(time.RFC3339)) + "&end_date=" + url.QueryEscape(now.Add(-to).Format(time.RFC3339))
	}
	recent := span(11*day, -time.Minute)
	for _, tt := range []struct {
		name        string
		query       string
		want, wantN []string
	}{
		{"the last 90 days", "", []string{fresh, other}, []string{old}},
		{"a range", "?" + recent, []string{fresh, other, week}, []string{old}},
		{"one service", "?service_code=" + o311Service + "&" + recent, []string{fresh, week}, []string{other, old}},
		{"two services", "?service_code=CM.01.01," + o311Service + "&" + recent, []string{fresh, other, week}, []string{old}},
		{"open", "?status=open&" + recent, []string{fresh, other}, []string{week, old}},
		{"closed", "?status=closed&" + recent, []string{week}, []string{fresh, other, old}},
		{"both statuses", "?status=open&status=closed&" + recent, []string{fresh, other, week}, []string{old}},
		{"an old range", "?" + span(101*day, 99*day), []string{old}, []string{fresh, other, week}},
		{"ids override the rest", "?service_request_id=" + fresh + "," + old + "&status=closed&service_code=ZZ", []string{fresh, old}, []string{other, week}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := f.requests(t, "/requests.json"+tt.query)
			if !has(got, tt.want...) {
				t.Errorf("got %v, want %v among them", o311IDs(got), tt.want)
			}
			for _, n := range tt.wantN {
				if has(got, n) {
					t.Errorf("got %v, want no %s", o311IDs(got), n)
				}
			}
			for i := 1; i < len(got); i++ {
				if got[i-1].RequestedDatetime < got[i].RequestedDatetime {
					t.Errorf("not newest first: %v", o311IDs(got))
				}
			}
		})
	}

	// pages: page_size=1 walks the range's three requests one by one,
	// newest first, each page but the last linking to the next
	var walked []string
	for page := 1; page <= 4; page++ {
		path := fmt.Sprintf("/requests.json?page_size=1&page=%d&%s", page, recent)
		r := f.get(t, path)
		got := f.requests(t, path)
		walked = append(walked, o311IDs(got)...)
		next := fmt.Sprintf("page=%d", page+1)
		if wantLink := page < 3; (r.link != "") != wantLink || (wantLink && (!strings.Contains(r.link, next) || !strings.HasSuffix(r.link, `; rel="next"`))) {
			t.Errorf("page %d: Link %q, want one to %s: %v", page, r.link, next, wantLink)
		}
	}
	if !slices.Equal(walked, []string{fresh, other, week}) && !slices.Equal(walked, []string{other, fresh, week}) {
		t.Errorf("pages of one walked %v, want %s, %s, %s once each", walked, fresh, other, week)
	}
	for _, q := range []string{"page_size=1001", "page_size=0", "page=0", "page=x"} {
		r := f.get(t, "/requests.json?"+q)
		var e []struct {
			Code        int    `json:"code"`
			Description string `json:"description"`
		}
		if err := json.Unmarshal(r.body, &e); err != nil || r.status != 400 || len(e) != 1 || e[0].Code != 400 ||
			!strings.HasPrefix(e[0].Description, strings.SplitN(q, "=", 2)[0]+": ") {
			t.Errorf("%s: %d %s, want 400 in Open311's error list naming the argument", q, r.status, r.body)
		}
	}
	if r := f.get(t, "/requests.json?page_size=1001"); !strings.Contains(string(r.body), "1000") {
		t.Errorf("over the maximum: %s, want the maximum named", r.body)
	}

	got := f.requests(t, "/requests/"+week+".json?extensions=true")
	if len(got) != 1 {
		t.Fatalf("one request: %d", len(got))
	}
	w := got[0]
	if w.Status != "closed" || w.ServiceCode != o311Service || w.ServiceName != "占道经营" || w.Description == nil || *w.Description != "热线反映" ||
		w.Address == nil || !strings.HasPrefix(*w.Address, "延庆区 康庄镇 ") || w.AgencyResponsible == nil || *w.AgencyResponsible != "康庄镇" ||
		w.StatusNotes == nil || !strings.Contains(*w.StatusNotes, "7 天") || w.MediaURL != nil ||
		w.Extended == nil || w.Extended.GridCode != f.grid || w.Extended.Source != "hotline" || w.Extended.Grade != nil || w.Extended.WhistleID != nil {
		t.Errorf("a village clue after 7 days: %+v %+v", w, w.Extended)
	}
	if upd, _ := time.Parse(time.RFC3339, w.UpdatedDatetime); upd.Sub(now.Add(-10*day)) < 7*day-time.Second || upd.Sub(now.Add(-10*day)) > 7*day+time.Second {
		t.Errorf("closed %s, want 7 days after it was reported", w.UpdatedDatetime)
	}
	if d := w.Lat - f.lat; d > 1e-6 || d < -1e-6 {
		t.Errorf("lat %v, want %v", w.Lat, f.lat)
	}
	for _, q := range []string{"?extensions=false", ""} {
		if got := f.requests(t, "/requests/"+week+".json"+q); got[0].Extended != nil {
			t.Errorf("extensions %q still answers extended_attributes", q)
		}
	}
	if r := f.get(t, "/requests.json"); strings.Contains(string(r.body), "李四") || strings.Contains(string(r.body), "13800002222") {
		t.Errorf("reporter data in the public list: %s", r.body)
	}

	r := f.get(t, "/requests.xml?extensions=true&service_request_id="+fresh)
	var doc struct {
		XMLName  xml.Name
		Requests []struct {
			ID       string `xml:"service_request_id"`
			Status   string `xml:"status"`
			Lat      string `xml:"lat"`
			GridCode string `xml:"extended_attributes>grid_code"`
		} `xml:"request"`
	}
	if err := xml.Unmarshal(r.body, &doc); err != nil || r.status != 200 || doc.XMLName.Local != "service_requests" || len(doc.Requests) != 1 ||
		doc.Requests[0].ID != fresh || doc.Requests[0].Status != "open" || doc.Requests[0].GridCode != f.grid || doc.Requests[0].Lat == "" {
		t.Errorf("requests.xml: %d %v %s", r.status, err, r.body)
	}

	for _, tt := range []struct {
		path   string
		status int
		want   string
	}{
		{"/requests.json?status=pending", 400, "status:"},
		{"/requests.json?start_date=yesterday", 400, "start_date:"},
		{"/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z", 400, "90 days"},
		{"/requests.json?service_request_id=abc", 400, "service_request_id:"},
		{"/requests.xml?status=pending", 400, "status:"},
		{"/requests/999999999.json", 404, "999999999 not found"},
		{"/requests/abc.json", 404, "abc not found"},
		{"/requests/999999999.xml", 404, "999999999 not found"},
	} {
		o311Error(t, tt.path, f.get(t, tt.path), tt.status, tt.want)
	}
}

// TestOpen311WhistleLifecycle follows a posted request through the whistle
// it raises, by the real HTTP steps, to its close and the ratings.
func TestOpen311WhistleLifecycle(t *testing.T) {
	f := newOpen311(t)
	ctx := context.Background()
	f.rule(t, o311Service, "whistle")
	var lead, leadName string
	err := f.env.Pool.QueryRow(ctx, `
		SELECT u.code, u.name FROM duties d JOIN units u ON u.id = d.lead_unit_id JOIN grids t ON t.id = d.township_id
		JOIN categories c ON c.id = d.category_id WHERE c.code = $1 AND t.code = $2`, o311Service, o311Kangzhuang).Scan(&lead, &leadName)
	if err != nil {
		t.Fatal(err)
	}

	r := f.post(t, "/requests.json", o311FormType, f.form(nil))
	if r.status != 201 {
		t.Fatalf("POST: %d %s", r.status, r.body)
	}
	c := o311DecodeCreated(t, r)
	if c.ServiceNotice == nil || !strings.Contains(*c.ServiceNotice, "已吹哨") || !strings.Contains(*c.ServiceNotice, leadName) {
		t.Errorf("notice %v, want the whistle and %s", c.ServiceNotice, leadName)
	}
	got := f.requests(t, "/requests/"+c.ID+".json?extensions=true")[0]
	e := got.Extended
	if got.Status != "open" || got.AgencyResponsible == nil || *got.AgencyResponsible != leadName || e == nil || e.Grade == nil || *e.Grade != "routine" ||
		e.GridCode != f.grid || e.Source != "app" || e.WhistleID == nil || e.Ratings != nil {
		t.Fatalf("raised: %+v %+v", got, e)
	}
	if got.StatusNotes == nil || !strings.Contains(*got.StatusNotes, "等待部门报到") {
		t.Errorf("status_notes %v", got.StatusNotes)
	}
	id := *e.WhistleID
	var due time.Time
	_ = f.env.Pool.QueryRow(ctx, `SELECT resolve_due FROM whistles WHERE id = $1`, id).Scan(&due)
	if exp, _ := time.Parse(time.RFC3339, *got.ExpectedDatetime); !exp.Equal(due.Truncate(time.Second)) {
		t.Errorf("expected_datetime %s, want the resolve deadline %v", *got.ExpectedDatetime, due)
	}

	for _, s := range []struct {
		user, step string
		body       any
	}{
		{"u" + lead, "report-in", map[string]string{"person": "李四"}},
		{"u" + lead, "resolve", map[string]string{"outcome": "resolved"}},
		{"t" + o311Kangzhuang, "close", map[string]string{"note": "同意结案"}},
		{"t" + o311Kangzhuang, "rate", map[string]any{"unit": lead, "reported_in": 5, "resolved": 4, "satisfied": 3}},
	} {
		status, body := f.env.Do(t, "POST", fmt.Sprintf("/api/v1/whistles/%d/%s", id, s.step), f.env.Login(t, s.user), s.body)
		if status != 200 {
			t.Fatalf("%s %s: %d %s", s.user, s.step, status, body)
		}
		if s.step == "report-in" {
			got = f.requests(t, "/requests/"+c.ID+".json?extensions=true")[0]
			if got.Status != "open" || !strings.Contains(*got.StatusNotes, "正在处置") {
				t.Errorf("after report-in: %s %v", got.Status, *got.StatusNotes)
			}
		}
	}
	got = f.requests(t, "/requests/"+c.ID+".json?extensions=true")[0]
	var closedAt time.Time
	_ = f.env.Pool.QueryRow(ctx, `SELECT closed_at FROM whistles WHERE id = $1`, id).Scan(&closedAt)
	upd, _ := time.Parse(time.RFC3339, got.UpdatedDatetime)
	if got.Status != "closed" || got.StatusNotes == nil || *got.StatusNotes != "已结案：已解决" || !upd.Equal(closedAt.Truncate(time.Second)) {
		t.Errorf("closed: %s %v %s (closed at %v)", got.Status, got.StatusNotes, got.UpdatedDatetime, closedAt)
	}
	if rt := got.Extended.Ratings; rt == nil || rt.ReportedIn != 5 || rt.Resolved != 4 || rt.Satisfied != 3 {
		t.Errorf("ratings %+v, want 5/4/3", rt)
	}
	if !slices.Contains(o311IDs(f.requests(t, "/requests.json?status=closed&service_code="+o311Service+"&start_date="+
		url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339)))), c.ID) {
		t.Error("the closed request is not listed as closed")
	}
	x := f.get(t, "/requests/"+c.ID+".xml?extensions=true")
	if !strings.Contains(string(x.body), "<ratings>") || !strings.Contains(string(x.body), "<reported_in>5</reported_in>") ||
		!strings.Contains(string(x.body), fmt.Sprintf("<whistle_id>%d</whistle_id>", id)) {
		t.Errorf("xml extended attributes: %s", x.body)
	}
}

package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"whistlegrid/api"
)

// TestMain makes every API test an OpenAPI test: the tests' HTTP client
// (http.DefaultClient, which testenv's Env.Do and the tests' http.Get
// use) validates each /api/v1 answer against the document
// (openapi3filter.ValidateResponse, the status included), and a mismatch
// is a transport error, so the test that got it fails on the spot with
// the reason.
func TestMain(m *testing.M) {
	// the Excel exports are files: checked as bytes against a string schema
	openapi3filter.RegisterBodyDecoder("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", openapi3filter.FileBodyDecoder)
	doc, err := loadOpenAPI()
	if err != nil {
		fmt.Fprintln(os.Stderr, "openapi:", err)
		os.Exit(1)
	}
	v, err := newValidator(doc, http.DefaultTransport)
	if err != nil {
		fmt.Fprintln(os.Stderr, "openapi:", err)
		os.Exit(1)
	}
	http.DefaultClient.Transport = v
	os.Exit(m.Run())
}

// loadOpenAPI assembles the document as the server does and loads it
// with kin-openapi.
func loadOpenAPI() (*openapi3.T, error) {
	b, err := api.OpenAPIDocument(os.DirFS("openapi"))
	if err != nil {
		return nil, err
	}
	return openapi3.NewLoader().LoadFromData(b)
}

// validator is an http.RoundTripper that checks every /api/v1 answer
// against the OpenAPI document.
type validator struct {
	next   http.RoundTripper
	router routers.Router
}

func newValidator(doc *openapi3.T, next http.RoundTripper) (*validator, error) {
	// the routes match paths without the server's /api/v1
	d := *doc
	d.Servers = nil
	r, err := legacy.NewRouter(&d)
	if err != nil {
		return nil, err
	}
	return &validator{next: next, router: r}, nil
}

func (v *validator) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := v.next.RoundTrip(req)
	if err != nil || !strings.HasPrefix(req.URL.Path, "/api/v1/") || resp.StatusCode == http.StatusSwitchingProtocols {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := v.check(req, resp, body); err != nil {
		return nil, fmt.Errorf("the answer %d does not match the OpenAPI document: %w\n%.400s", resp.StatusCode, err, body)
	}
	return resp, nil
}

// check validates one answer. A request to a path or method the
// document does not have (a test of unknown routes, or of input the edge
// refuses before any route) is not checked here: TestOpenAPIMatchesRoutes
// holds every route to the document. Its answer must still be an Error.
func (v *validator) check(req *http.Request, resp *http.Response, body []byte) error {
	r := req.Clone(req.Context())
	r.URL.Path = strings.TrimPrefix(req.URL.Path, "/api/v1")
	r.URL.RawPath = ""
	route, params, err := v.router.FindRoute(r)
	var re *routers.RouteError
	if errors.As(err, &re) {
		if resp.StatusCode < 400 {
			return fmt.Errorf("%s %s answered %d, and the document has no such operation", req.Method, req.URL.Path, resp.StatusCode)
		}
		var e struct {
			Error *struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(body, &e) != nil || e.Error == nil || e.Error.Code == "" || e.Error.Message == "" {
			return fmt.Errorf("%s %s: not the Error shape", req.Method, req.URL.Path)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: r, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status: resp.StatusCode,
		Header: resp.Header,
		Body:   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
		},
	}
	return openapi3filter.ValidateResponse(req.Context(), in)
}

// TestOpenAPIDocument serves the document and its reference page, and
// holds the document to OpenAPI 3.1 (kin-openapi's validation), with the
// paging and error shape written into it.
func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	srv := api.New(api.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/openapi.json", nil))
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("openapi.json: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	doc, err := openapi3.NewLoader().LoadFromData(rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !doc.IsOpenAPI31OrLater() || doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Errorf("the document is not valid OpenAPI: %v", err)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "/api/v1" {
		t.Errorf("servers %+v, want /api/v1", doc.Servers)
	}
	errSchema := doc.Components.Schemas["Error"]
	if errSchema == nil || errSchema.Value.Properties["error"] == nil ||
		!strings.Contains(strings.Join(errSchema.Value.Properties["error"].Value.Required, ","), "code,message") {
		t.Errorf("no Error schema {error:{code,message}}")
	}
	for _, p := range []string{"Limit", "After"} {
		if doc.Components.Parameters[p] == nil {
			t.Errorf("no %s parameter", p)
		}
	}
	if doc.Components.Headers["Link"] == nil {
		t.Error("no Link header")
	}
	list := doc.Paths.Value("/clues").Get
	names := map[string]bool{}
	for _, p := range list.Parameters {
		names[p.Value.Name] = true
	}
	if !names["limit"] || !names["after"] || list.Responses.Status(200).Value.Headers["Link"] == nil {
		t.Error("GET /clues does not document limit, after and the Link header")
	}

	rec = httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/api/docs", nil))
	page := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(page, `spec-url="/api/v1/openapi.json"`) || !strings.Contains(page, `<script src="/docs/redoc.standalone.js">`) {
		t.Errorf("/api/docs: %d %s", rec.Code, page)
	}
	if strings.Contains(page, "https://") || strings.Contains(page, "http://") {
		t.Error("/api/docs loads something from another origin")
	}
}

// TestOpenAPIMatchesRoutes: every gin route under /api/v1 is in the
// document with its method, and every operation of the document is a
// route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	doc, err := loadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	routes := map[string]bool{}
	for _, r := range srv.Routes() {
		rest, ok := strings.CutPrefix(r.Path, "/api/v1/")
		if !ok {
			continue
		}
		parts := strings.Split(rest, "/")
		for i, p := range parts {
			if strings.HasPrefix(p, ":") || strings.HasPrefix(p, "*") {
				parts[i] = "{" + p[1:] + "}"
			}
		}
		key := r.Method + " /" + strings.Join(parts, "/")
		routes[key] = true
	}
	documented := map[string]bool{}
	for p, item := range doc.Paths.Map() {
		for m := range item.Operations() {
			documented[m+" "+p] = true
		}
	}
	for k := range routes {
		if !documented[k] {
			t.Errorf("route %s is not in the OpenAPI document (api/openapi/*.yaml)", k)
		}
	}
	for k := range documented {
		if !routes[k] {
			t.Errorf("the OpenAPI document has %s, which is no route", k)
		}
	}
	if len(routes) < 25 {
		t.Errorf("only %d /api/v1 routes walked", len(routes))
	}
}

// TestOpenAPIFragments: fragments merge into the base, and a path or a
// component defined twice, or a fragment with other keys, fails loudly.
func TestOpenAPIFragments(t *testing.T) {
	t.Parallel()
	base := &fstest.MapFile{Data: []byte("openapi: 3.1.0\ninfo: {title: t, version: v}\ncomponents:\n  schemas:\n    Error: {type: object}\n  responses:\n    Error: {description: the error shape}\n")}
	a := &fstest.MapFile{Data: []byte("paths:\n  /a:\n    get: {responses: {'200': {description: ok}}}\ncomponents:\n  schemas:\n    AThing: {type: string}\n")}
	b := &fstest.MapFile{Data: []byte("paths:\n  /b:\n    get: {responses: {'200': {description: ok}}}\n")}
	tests := []struct {
		name  string
		fs    fstest.MapFS
		fails string
	}{
		{"merged", fstest.MapFS{"base.yaml": base, "a.yaml": a, "b.yaml": b}, ""},
		{"duplicate path", fstest.MapFS{"base.yaml": base, "a.yaml": a, "c.yaml": {Data: []byte("paths:\n  /a: {}\n")}}, "path /a is defined in both a.yaml and c.yaml"},
		{"duplicate schema", fstest.MapFS{"base.yaml": base, "a.yaml": a, "c.yaml": {Data: []byte("components:\n  schemas:\n    Error: {}\n")}}, "components.schemas.Error is defined in both base.yaml and c.yaml"},
		{"other key", fstest.MapFS{"base.yaml": base, "c.yaml": {Data: []byte("info: {}\n")}}, `not "info"`},
		{"no base", fstest.MapFS{"a.yaml": a}, "no base.yaml"},
		{"not YAML", fstest.MapFS{"base.yaml": base, "c.yaml": {Data: []byte("paths: [\n")}}, "c.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := api.OpenAPIDocument(tt.fs)
			if tt.fails != "" {
				if err == nil || !strings.Contains(err.Error(), tt.fails) {
					t.Fatalf("error %v, want one saying %q", err, tt.fails)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			doc, err := openapi3.NewLoader().LoadFromData(out)
			if err != nil {
				t.Fatal(err)
			}
			if doc.Paths.Value("/a") == nil || doc.Paths.Value("/b") == nil || doc.Components.Schemas["AThing"] == nil || doc.Components.Schemas["Error"] == nil {
				t.Errorf("merged %s", out)
			}
			// every operation may answer the error shape (401, 429, 503 at the edge)
			if d := doc.Paths.Value("/a").Get.Responses.Default(); d == nil || d.Ref != "#/components/responses/Error" {
				t.Errorf("/a has no default error answer: %s", out)
			}
		})
	}
}

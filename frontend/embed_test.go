package frontend

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

func TestHandlerFS(t *testing.T) {
	built := fstest.MapFS{
		"index.html":            {Data: []byte("<!doctype html><title>延庆区</title>")},
		"assets/index-abc1.js":  {Data: []byte("console.log(1)")},
		"assets/index-abc1.css": {Data: []byte("body{}")},
		"favicon.svg":           {Data: []byte("<svg/>")},
		".gitkeep":              {Data: nil},
	}
	notBuilt := fstest.MapFS{".gitkeep": {Data: nil}}

	tests := []struct {
		name        string
		fsys        fstest.MapFS
		method      string
		path        string
		status      int
		cache       string
		contentType string
		body        string
	}{
		{"root serves index", built, http.MethodGet, "/", http.StatusOK, "no-cache", "text/html", "延庆区"},
		{"index.html without redirect", built, http.MethodGet, "/index.html", http.StatusOK, "no-cache", "text/html", "延庆区"},
		{"hashed js cached for a year", built, http.MethodGet, "/assets/index-abc1.js", http.StatusOK, "public, max-age=31536000, immutable", "text/javascript", "console.log(1)"},
		{"hashed css cached for a year", built, http.MethodGet, "/assets/index-abc1.css", http.StatusOK, "public, max-age=31536000, immutable", "text/css", "body{}"},
		{"other file revalidated", built, http.MethodGet, "/favicon.svg", http.StatusOK, "no-cache", "image/svg+xml", "<svg/>"},
		{"head", built, http.MethodHead, "/", http.StatusOK, "no-cache", "text/html", ""},
		{"page route coverage", built, http.MethodGet, "/coverage", http.StatusOK, "no-cache", "text/html", "延庆区"},
		{"page route village", built, http.MethodGet, "/village/110119101001", http.StatusOK, "no-cache", "text/html", "延庆区"},
		{"page route with query", built, http.MethodGet, "/coverage?parent=110119101", http.StatusOK, "no-cache", "text/html", "延庆区"},
		{"page route trailing slash", built, http.MethodGet, "/village/", http.StatusOK, "no-cache", "text/html", "延庆区"},
		{"head page route", built, http.MethodHead, "/coverage", http.StatusOK, "no-cache", "text/html", ""},
		{"unknown file", built, http.MethodGet, "/nope.js", http.StatusNotFound, "", "", ""},
		{"unknown file in a route", built, http.MethodGet, "/village/logo.png", http.StatusNotFound, "", "", ""},
		{"assets folder is no route", built, http.MethodGet, "/assets", http.StatusNotFound, "", "", ""},
		{"unknown asset without extension", built, http.MethodGet, "/assets/chunk", http.StatusNotFound, "", "", ""},
		{"hidden folder is no route", built, http.MethodGet, "/.git/config", http.StatusNotFound, "", "", ""},
		{"hidden path without extension", built, http.MethodGet, "/.well-known/x", http.StatusNotFound, "", "", ""},
		{"unknown asset not cached", built, http.MethodGet, "/assets/gone-123.js", http.StatusNotFound, "", "", ""},
		{"no directory listing", built, http.MethodGet, "/assets/", http.StatusNotFound, "", "", ""},
		{"no dot files", built, http.MethodGet, "/.gitkeep", http.StatusNotFound, "", "", ""},
		{"dot dot stays inside", built, http.MethodGet, "/assets/../../index.html", http.StatusOK, "no-cache", "text/html", "延庆区"},
		{"post refused", built, http.MethodPost, "/", http.StatusMethodNotAllowed, "", "", ""},
		{"not built root", notBuilt, http.MethodGet, "/", http.StatusServiceUnavailable, "no-store", "text/plain", "make build"},
		{"not built page route", notBuilt, http.MethodGet, "/coverage", http.StatusServiceUnavailable, "no-store", "text/plain", "make build"},
		{"not built asset", notBuilt, http.MethodGet, "/assets/index-abc1.js", http.StatusServiceUnavailable, "no-store", "text/plain", "前端页面尚未构建"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			HandlerFS(tt.fsys).ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			res := rec.Result()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d; body %q", res.StatusCode, tt.status, body)
			}
			if got := res.Header.Get("Cache-Control"); got != tt.cache {
				t.Errorf("Cache-Control = %q, want %q", got, tt.cache)
			}
			if got := res.Header.Get("Content-Type"); !strings.HasPrefix(got, tt.contentType) {
				t.Errorf("Content-Type = %q, want prefix %q", got, tt.contentType)
			}
			if !strings.Contains(string(body), tt.body) {
				t.Errorf("body %q does not contain %q", body, tt.body)
			}
		})
	}
}

// TestHandler checks the embedded build itself: `make test` and `make check`
// build the frontend before the tests, so an unbuilt or broken dist fails
// here. index.html is served, and every script and stylesheet it names is
// served from the embedded files with its type and a year's caching.
func TestHandler(t *testing.T) {
	h := Handler()
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	rec := get("/")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET / = %d %q: the frontend is not built into the binary (run make build)", rec.Code, rec.Body.String())
	}
	index := rec.Body.String()
	if !strings.Contains(index, "<html") {
		t.Fatalf("index.html body %q has no <html", index)
	}
	refs := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllStringSubmatch(index, -1)
	if len(refs) == 0 {
		t.Fatalf("index.html names no built asset under /assets/: %q", index)
	}
	want := map[string]string{".js": "text/javascript", ".css": "text/css"}
	for _, m := range refs {
		rec := get(m[1])
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", m[1], rec.Code)
			continue
		}
		if ct, ok := want[path.Ext(m[1])]; ok && !strings.HasPrefix(rec.Header().Get("Content-Type"), ct) {
			t.Errorf("GET %s: Content-Type %q, want %s", m[1], rec.Header().Get("Content-Type"), ct)
		}
		if rec.Body.Len() == 0 {
			t.Errorf("GET %s: empty body", m[1])
		}
	}
}

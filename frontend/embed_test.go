package frontend

import (
	"io"
	"io/fs"
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

// TestPrecompressed: a file with a .br and .gz beside it goes out in the
// coding the request ranks highest, with Content-Encoding, Vary, its own
// Content-Type and the year-long cache of a hashed asset; without an
// acceptable coding, as it is.
func TestPrecompressed(t *testing.T) {
	fsys := fstest.MapFS{
		"index.html":             {Data: []byte("<!doctype html>")},
		"index.html.gz":          {Data: []byte("GZ-INDEX")},
		"assets/main-abc1.js":    {Data: []byte("console.log(1)")},
		"assets/main-abc1.js.br": {Data: []byte("BR-BYTES")},
		"assets/main-abc1.js.gz": {Data: []byte("GZ-BYTES")},
		"assets/plain-abc1.js":   {Data: []byte("plain")},
	}
	h := HandlerFS(fsys)
	tests := []struct {
		name, path, accept, encoding, body, contentType string
		vary                                            bool
	}{
		{"brotli preferred", "/assets/main-abc1.js", "gzip, deflate, br", "br", "BR-BYTES", "text/javascript", true},
		{"gzip by q-value", "/assets/main-abc1.js", "br;q=0.2, gzip;q=0.8", "gzip", "GZ-BYTES", "text/javascript", true},
		{"br refused", "/assets/main-abc1.js", "br;q=0, gzip", "gzip", "GZ-BYTES", "text/javascript", true},
		{"nothing accepted", "/assets/main-abc1.js", "", "", "console.log(1)", "text/javascript", true},
		{"only what exists: index has gzip", "/", "br, gzip", "gzip", "GZ-INDEX", "text/html", true},
		{"page route too", "/coverage", "gzip", "gzip", "GZ-INDEX", "text/html", true},
		{"no sibling", "/assets/plain-abc1.js", "br", "", "plain", "text/javascript", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			if tt.accept != "" {
				req.Header.Set("Accept-Encoding", tt.accept)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 || rec.Body.String() != tt.body {
				t.Fatalf("%d %q, want 200 %q", rec.Code, rec.Body.String(), tt.body)
			}
			hd := rec.Header()
			if hd.Get("Content-Encoding") != tt.encoding {
				t.Errorf("Content-Encoding %q, want %q", hd.Get("Content-Encoding"), tt.encoding)
			}
			if !strings.HasPrefix(hd.Get("Content-Type"), tt.contentType) {
				t.Errorf("Content-Type %q, want %s", hd.Get("Content-Type"), tt.contentType)
			}
			if got := hd.Get("Vary") == "Accept-Encoding"; got != tt.vary {
				t.Errorf("Vary %q", hd.Get("Vary"))
			}
			if strings.HasPrefix(tt.path, "/assets/") && hd.Get("Cache-Control") != cacheImmutable {
				t.Errorf("Cache-Control %q", hd.Get("Cache-Control"))
			}
		})
	}
}

// TestBuildPrecompressed checks the real build when there is one: every
// JS and CSS file of 1 KiB or more has a .br and a .gz beside it.
func TestBuildPrecompressed(t *testing.T) {
	sub, _ := fs.Sub(dist, "dist")
	if _, err := fs.Stat(sub, "index.html"); err != nil {
		t.Skip("the frontend is not built (make build)")
	}
	n := 0
	err := fs.WalkDir(sub, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".js") || strings.HasSuffix(p, ".css")) {
			return err
		}
		info, _ := d.Info()
		if info.Size() < 1024 {
			return nil
		}
		n++
		for _, suf := range []string{".br", ".gz"} {
			if _, err := fs.Stat(sub, p+suf); err != nil {
				t.Errorf("%s has no %s", p, suf)
			}
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Errorf("walked %d assets: %v", n, err)
	}
}

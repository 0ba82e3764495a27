package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/api"
)

// routingServer is a server whose database is unreachable: enough for
// what the router and the middleware answer before a handler reads.
func routingServer(t *testing.T, origins ...string) *api.Server {
	t.Helper()
	dead, err := pgxpool.New(context.Background(), "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dead.Close)
	return api.New(api.Config{Pool: dead, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), CORSOrigins: origins,
		Frontend: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "<!doctype html>")
		})})
}

func serve(h http.Handler, method, path string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestCORS(t *testing.T) {
	s := routingServer(t, "https://gis.example.org")
	const good, bad = "https://gis.example.org", "https://evil.example.net"
	preflight := func(path, origin, headers string) *httptest.ResponseRecorder {
		h := []string{"Origin", origin, "Access-Control-Request-Method", "GET"}
		if headers != "" {
			h = append(h, "Access-Control-Request-Headers", headers)
		}
		return serve(s, http.MethodOptions, path, h...)
	}
	tests := []struct {
		name, path, origin, reqHeaders, allow string
	}{
		{"api, configured origin", "/api/v1/grids", good, "authorization", good},
		{"api, other origin", "/api/v1/grids", bad, "authorization", ""},
		{"api, unknown path, configured origin", "/api/v1/nope", good, "", good},
		{"open311 without bearer: any origin", "/open311/v2/services.json", bad, "", "*"},
		{"tiles with ?token=: any origin", "/tiles/township/10/843/388.mvt", bad, "", "*"},
		{"tiles with bearer, other origin", "/tiles/township/10/843/388.mvt", bad, "authorization", ""},
		{"tiles with bearer, configured origin", "/tiles/township/10/843/388.mvt", good, "Authorization, Content-Type", good},
		{"tilejson", "/tiles/clues.json", bad, "", "*"},
	}
	for _, tt := range tests {
		t.Run("preflight "+tt.name, func(t *testing.T) {
			rec := preflight(tt.path, tt.origin, tt.reqHeaders)
			if rec.Code != http.StatusNoContent {
				t.Fatalf("status %d, want 204: %s", rec.Code, rec.Body)
			}
			h := rec.Header()
			if got := h.Get("Access-Control-Allow-Origin"); got != tt.allow {
				t.Errorf("Allow-Origin %q, want %q", got, tt.allow)
			}
			if tt.allow != "" && (h.Get("Access-Control-Allow-Methods") == "" || h.Get("Access-Control-Allow-Headers") == "" || h.Get("Access-Control-Max-Age") == "") {
				t.Errorf("headers %v", h)
			}
			if h.Get("Access-Control-Allow-Credentials") != "" {
				t.Errorf("credentials allowed")
			}
		})
	}
	t.Run("actual request from a configured origin", func(t *testing.T) {
		rec := serve(s, http.MethodGet, "/api/v1/nope", "Origin", good)
		h := rec.Header()
		if h.Get("Access-Control-Allow-Origin") != good || h.Get("Vary") == "" || h.Get("Access-Control-Expose-Headers") == "" {
			t.Errorf("headers %v", h)
		}
	})
	t.Run("actual request, other origin", func(t *testing.T) {
		if got := serve(s, http.MethodGet, "/api/v1/nope", "Origin", bad).Header().Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("Allow-Origin %q", got)
		}
	})
	t.Run("no CORS by default on /api", func(t *testing.T) {
		d := routingServer(t)
		if got := serve(d, http.MethodOptions, "/api/v1/grids", "Origin", good, "Access-Control-Request-Method", "GET").Header().Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("Allow-Origin %q with nothing configured", got)
		}
		if got := serve(d, http.MethodGet, "/open311/v2/nope", "Origin", good).Header().Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("open311 Allow-Origin %q, want *", got)
		}
	})
	t.Run("pages are not CORS", func(t *testing.T) {
		if got := serve(s, http.MethodGet, "/coverage", "Origin", good).Header().Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("page Allow-Origin %q", got)
		}
	})
}

func TestParseCORSOrigins(t *testing.T) {
	got, err := api.ParseCORSOrigins(" https://a.example.org/, http://localhost:5173 ,*,")
	if err != nil || len(got) != 3 || got[0] != "https://a.example.org" {
		t.Errorf("%q %v", got, err)
	}
	for _, bad := range []string{"a.example.org", "https://a.example.org/path", "ftp://x", "https://"} {
		if _, err := api.ParseCORSOrigins(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestErrorShapes: every answer under /api, /tiles and /open311 that no
// handler makes still has its area's error shape, and never the page.
func TestErrorShapes(t *testing.T) {
	s := routingServer(t)
	type apiErr struct {
		Error struct{ Code, Message string }
	}
	for _, tt := range []struct {
		name, method, path string
		status             int
		code, allow        string
	}{
		{"unknown api path", "GET", "/api/v1/nope", 404, "not_found", ""},
		{"unknown api path, POST", "POST", "/api/nope", 404, "not_found", ""},
		{"wrong method on the api", "DELETE", "/api/v1/grids", 405, "method_not_allowed", "GET"},
		{"wrong method on a grid", "PATCH", "/api/v1/grids/110119", 405, "method_not_allowed", "GET, PUT"},
		{"tile path that is no tile", "GET", "/tiles/township/1", 404, "not_found", ""},
		{"unknown tile document", "GET", "/tiles/x.json", 404, "not_found", ""},
		{"a layer name without .json", "GET", "/tiles/township", 404, "not_found", ""},
		{"wrong method on tiles", "POST", "/tiles/township/1/1/1.mvt", 405, "method_not_allowed", "GET"},
		{"OPTIONS without CORS", "OPTIONS", "/api/v1/grids", 405, "method_not_allowed", "GET"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(s, tt.method, tt.path)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			var e apiErr
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code != tt.code || e.Error.Message == "" {
				t.Errorf("body %q (%v), want code %s", rec.Body, err, tt.code)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if got := rec.Header().Get("Allow"); got != tt.allow {
				t.Errorf("Allow %q, want %q", got, tt.allow)
			}
		})
	}
	for _, tt := range []struct {
		name, method, path string
		status             int
		xml                bool
	}{
		{"unknown open311 path", "GET", "/open311/v2/a/b/c.json", 404, false},
		{"unknown open311 path in xml", "GET", "/open311/v2/a/b/c.xml", 404, true},
		{"wrong method on open311", "DELETE", "/open311/v2/requests.json", 405, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(s, tt.method, tt.path)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.xml {
				if ct := rec.Header().Get("Content-Type"); ct != "text/xml; charset=utf-8" {
					t.Errorf("Content-Type %q: %s", ct, rec.Body)
				}
				return
			}
			var e []struct {
				Code        int
				Description string
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || len(e) != 1 || e[0].Code != tt.status || e[0].Description == "" {
				t.Errorf("body %q (%v)", rec.Body, err)
			}
		})
	}
	t.Run("pages still get the page", func(t *testing.T) {
		if rec := serve(s, "GET", "/coverage"); rec.Code != 200 || rec.Body.String() != "<!doctype html>" {
			t.Errorf("%d %s", rec.Code, rec.Body)
		}
	})
}

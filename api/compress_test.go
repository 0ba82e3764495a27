package api

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/gin-gonic/gin"
)

// TestCompress drives the compress middleware on a bare engine: which
// answers are compressed, in which coding, and the headers that say so.
func TestCompress(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	s := &Server{encoders: newEncoders()}
	r := gin.New()
	r.Use(s.compress)
	big := []byte(`{"type":"FeatureCollection","features":[` + strings.Repeat(`{"type":"Feature","properties":{"code":"110119001001"}},`, 200) + `{}]}`)
	r.GET("/json", func(c *gin.Context) { c.Header("ETag", `"abc"`); c.Data(200, "application/json; charset=utf-8", big) })
	r.GET("/geojson", func(c *gin.Context) { c.Data(200, "application/geo+json", big) })
	r.GET("/mvt", func(c *gin.Context) { c.Data(200, "application/vnd.mapbox-vector-tile", big) })
	r.GET("/csv", func(c *gin.Context) { c.Data(200, "text/csv; charset=utf-8", big) })
	r.GET("/small", func(c *gin.Context) { c.Data(200, "application/json", []byte(`{"ok":true}`)) })
	r.GET("/png", func(c *gin.Context) { c.Data(200, "image/png", big) })
	r.GET("/already", func(c *gin.Context) { c.Header("Content-Encoding", "br"); c.Data(200, "text/javascript", big) })
	r.GET("/empty", func(c *gin.Context) { c.Status(204) })
	r.GET("/chunks", func(c *gin.Context) {
		c.Header("Content-Type", "application/json")
		for i := 0; i < 100; i++ {
			_, _ = c.Writer.WriteString(`{"n":1234567890},`)
		}
	})

	get := func(path, accept string, extra ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		if accept != "" {
			req.Header.Set("Accept-Encoding", accept)
		}
		for i := 0; i+1 < len(extra); i += 2 {
			req.Header.Set(extra[i], extra[i+1])
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		return rec
	}
	decodeBody := func(t *testing.T, enc string, b []byte) []byte {
		t.Helper()
		var rd io.Reader
		switch enc {
		case "br":
			rd = brotli.NewReader(bytes.NewReader(b))
		case "gzip":
			g, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			rd = g
		default:
			return b
		}
		out, err := io.ReadAll(rd)
		if err != nil {
			t.Fatalf("%s: %v", enc, err)
		}
		return out
	}

	for _, tt := range []struct {
		name, path, accept, want string
		vary                     bool
	}{
		{"json, br preferred", "/json", "gzip, deflate, br", "br", true},
		{"json, gzip by q-value", "/json", "br;q=0.1, gzip", "gzip", true},
		{"json, gzip only", "/json", "gzip", "gzip", true},
		{"json, none accepted", "/json", "", "", true},
		{"json, identity only", "/json", "identity, br;q=0", "", true},
		{"geojson", "/geojson", "br", "br", true},
		{"vector tile", "/mvt", "gzip", "gzip", true},
		{"csv", "/csv", "br", "br", true},
		{"written in pieces", "/chunks", "br", "br", true},
		{"tiny body", "/small", "br", "", true},
		{"already compressed type", "/png", "br", "", false},
		{"already encoded", "/already", "gzip", "br", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(tt.path, tt.accept)
			if rec.Code != 200 {
				t.Fatalf("status %d", rec.Code)
			}
			if got := rec.Header().Get("Content-Encoding"); got != tt.want {
				t.Errorf("Content-Encoding %q, want %q", got, tt.want)
			}
			if got := strings.Contains(rec.Header().Get("Vary"), "Accept-Encoding"); got != tt.vary {
				t.Errorf("Vary %q, want Accept-Encoding: %v", rec.Header().Get("Vary"), tt.vary)
			}
			if tt.path == "/already" {
				return
			}
			body := decodeBody(t, tt.want, rec.Body.Bytes())
			want := big
			switch tt.path {
			case "/small":
				want = []byte(`{"ok":true}`)
			case "/chunks":
				want = []byte(strings.Repeat(`{"n":1234567890},`, 100))
			}
			if !bytes.Equal(body, want) {
				t.Errorf("body differs after decoding: %d bytes, want %d", len(body), len(want))
			}
			if tt.want != "" && rec.Body.Len() >= len(want)/2 {
				t.Errorf("%s: %d bytes of %d, barely smaller", tt.want, rec.Body.Len(), len(want))
			}
		})
	}
	t.Run("a strong ETag is made weak", func(t *testing.T) {
		if et := get("/json", "br").Header().Get("ETag"); et != `W/"abc"` {
			t.Errorf("ETag %q", et)
		}
		if et := get("/json", "").Header().Get("ETag"); et != `"abc"` {
			t.Errorf("uncompressed ETag %q", et)
		}
	})
	t.Run("no body", func(t *testing.T) {
		rec := get("/empty", "br")
		if rec.Code != 204 || rec.Header().Get("Content-Encoding") != "" || rec.Body.Len() != 0 {
			t.Errorf("204: %d %v %d bytes", rec.Code, rec.Header(), rec.Body.Len())
		}
	})
	t.Run("websocket upgrade left alone", func(t *testing.T) {
		rec := get("/json", "br", "Connection", "Upgrade", "Upgrade", "websocket")
		if rec.Header().Get("Content-Encoding") != "" || !bytes.Equal(rec.Body.Bytes(), big) {
			t.Errorf("an upgrade request was compressed: %v", rec.Header())
		}
	})
	t.Run("HEAD", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodHead, "/json", nil)
		req.Header.Set("Accept-Encoding", "br")
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if rec.Header().Get("Content-Encoding") != "" {
			t.Errorf("HEAD compressed")
		}
	})
}

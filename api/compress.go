package api

import (
	"bufio"
	"compress/gzip"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/gin-gonic/gin"

	"whistlegrid/internal/accept"
)

// Compression of answers (the compress middleware): brotli or gzip,
// whichever the client's Accept-Encoding ranks higher by q-value (brotli
// on a tie; accept.Encoding),
// for the types in compressible, when the body reaches compressMinSize.
// Everything else passes as it is: images and other already-compressed
// types, bodies that already carry a Content-Encoding (the frontend's
// precompressed files), partial content, HEAD, 204 and 304, and the live
// stream's websocket (a hijacked connection).
const (
	// compressMinSize is the smallest body compressed, in bytes: below
	// it the framing costs about what compression saves.
	compressMinSize = 1024
	// gzipLevel and brotliLevel trade speed for size on answers made per
	// request (the frontend's files are compressed at build time with
	// the highest levels). Brotli 4 is about gzip 6's speed and 10–15%
	// smaller.
	gzipLevel   = 5
	brotliLevel = 4
)

// compressible reports whether a Content-Type is worth compressing:
// JSON, GeoJSON, CSV, vector tiles, JavaScript, CSS, HTML, XML, SVG and
// plain text.
func compressible(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch mt {
	case "application/json", "application/geo+json", "text/csv", "application/vnd.mapbox-vector-tile",
		"text/javascript", "application/javascript", "text/css", "text/html", "text/plain",
		"application/xml", "text/xml", "image/svg+xml", "application/problem+json":
		return true
	}
	return false
}

// encoders holds the pooled compressors of one server.
type encoders struct {
	gzip, brotli sync.Pool
}

func newEncoders() *encoders {
	e := &encoders{}
	e.gzip.New = func() any { w, _ := gzip.NewWriterLevel(io.Discard, gzipLevel); return w }
	e.brotli.New = func() any { return brotli.NewWriterLevel(io.Discard, brotliLevel) }
	return e
}

// resetter is what both pooled writers are.
type resetter interface {
	io.WriteCloser
	Flush() error
	Reset(io.Writer)
}

func (e *encoders) get(enc string, w io.Writer) resetter {
	var r resetter
	if enc == "br" {
		r = e.brotli.Get().(*brotli.Writer)
	} else {
		r = e.gzip.Get().(*gzip.Writer)
	}
	r.Reset(w)
	return r
}

func (e *encoders) put(enc string, r resetter) {
	if enc == "br" {
		e.brotli.Put(r)
	} else {
		e.gzip.Put(r)
	}
}

// compress is the middleware that compresses answers (see compressMinSize).
// Every compressible answer gets Vary: Accept-Encoding, compressed or not.
func (s *Server) compress(c *gin.Context) {
	if c.Request.Method == http.MethodHead || headerHasToken(c.Request.Header, "Connection", "upgrade") {
		c.Next()
		return
	}
	w := &compressWriter{ResponseWriter: c.Writer, enc: accept.Encoding(c.GetHeader("Accept-Encoding"), "br", "gzip"), pools: s.encoders}
	c.Writer = w
	defer func() {
		w.finish()
		c.Writer = w.ResponseWriter
	}()
	c.Next()
}

// headerHasToken reports whether a comma-separated header holds token
// (case-insensitive).
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// compressWriter holds the first compressMinSize bytes of an answer
// before deciding: a compressible answer that reaches the size is sent
// compressed (Content-Encoding, no Content-Length, a strong ETag made
// weak), anything else as written.
type compressWriter struct {
	gin.ResponseWriter
	enc     string // negotiated coding, "" for none
	pools   *encoders
	buf     []byte
	decided bool
	cw      resetter // the compressor once compressing
}

// Unwrap lets http.ResponseController reach the connection (deadlines).
func (w *compressWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *compressWriter) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

func (w *compressWriter) Write(p []byte) (int, error) {
	if !w.decided {
		if !w.wanted() {
			w.decided = true
			return w.ResponseWriter.Write(p)
		}
		w.buf = append(w.buf, p...)
		if len(w.buf) < compressMinSize {
			return len(p), nil
		}
		if err := w.start(); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	if w.cw != nil {
		return w.cw.Write(p)
	}
	return w.ResponseWriter.Write(p)
}

// wanted reports whether the answer so far may be compressed.
func (w *compressWriter) wanted() bool {
	h := w.Header()
	if !compressible(h.Get("Content-Type")) {
		return false
	}
	h.Set("Vary", addVary(h.Get("Vary"), "Accept-Encoding"))
	st := w.Status()
	return w.enc != "" && h.Get("Content-Encoding") == "" && h.Get("Content-Range") == "" &&
		st != http.StatusNoContent && st != http.StatusNotModified && st != http.StatusPartialContent && st >= 200
}

// start begins compressing: the headers, then what was held back.
func (w *compressWriter) start() error {
	w.decided = true
	h := w.Header()
	h.Set("Content-Encoding", w.enc)
	h.Del("Content-Length")
	if et := h.Get("ETag"); et != "" && !strings.HasPrefix(et, "W/") {
		h.Set("ETag", "W/"+et)
	}
	w.cw = w.pools.get(w.enc, w.ResponseWriter)
	buf := w.buf
	w.buf = nil
	_, err := w.cw.Write(buf)
	return err
}

// finish sends a held-back short body as it is, or ends the compressed
// stream.
func (w *compressWriter) finish() {
	if !w.decided {
		w.decided = true
		if len(w.buf) > 0 {
			_, _ = w.ResponseWriter.Write(w.buf)
			w.buf = nil
		}
		return
	}
	if w.cw != nil {
		_ = w.cw.Close()
		w.pools.put(w.enc, w.cw)
		w.cw = nil
	}
}

// Flush sends what is held: a pending body starts compressing (or goes
// as it is), the compressor is flushed, then the connection.
func (w *compressWriter) Flush() {
	if !w.decided && len(w.buf) > 0 {
		if w.wanted() {
			_ = w.start()
		} else {
			w.decided = true
			_, _ = w.ResponseWriter.Write(w.buf)
			w.buf = nil
		}
	}
	if w.cw != nil {
		_ = w.cw.Flush()
	}
	w.ResponseWriter.Flush()
}

// Hijack hands the connection over (a websocket); nothing is compressed.
func (w *compressWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.decided = true
	return w.ResponseWriter.Hijack()
}

// Size is the body's size on the wire so far, or what is held back.
func (w *compressWriter) Size() int {
	if !w.decided && len(w.buf) > 0 {
		return len(w.buf)
	}
	return w.ResponseWriter.Size()
}

// Written reports whether the answer has begun, held-back bytes included.
func (w *compressWriter) Written() bool { return len(w.buf) > 0 || w.ResponseWriter.Written() }

// addVary adds a field name to a Vary header value unless it is there.
func addVary(vary, name string) string {
	for _, v := range strings.Split(vary, ",") {
		if t := strings.TrimSpace(v); strings.EqualFold(t, name) || t == "*" {
			return vary
		}
	}
	if strings.TrimSpace(vary) == "" {
		return name
	}
	return vary + ", " + name
}

// Package frontend serves the wall map and the other browser pages: the files
// that `npm run build` (run by `make build`) writes to frontend/dist, embedded
// into the binary so one executable serves page and API on the same origin.
package frontend

import (
	"embed"
	"errors"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"whistlegrid/internal/accept"
)

// dist holds the built page. The empty dist/.gitkeep is committed so this
// compiles before the build has run; Handler then answers 503.
//
//go:embed all:dist
var dist embed.FS

// NotBuiltMessage is the plain-text body of the 503 answer given when the
// page has not been built (dist holds no index.html).
const NotBuiltMessage = "前端页面尚未构建：请先运行 make build。\n" +
	"The frontend has not been built: run `make build` first.\n"

// Cache-Control values. Files under assets/ carry a content hash in their
// names (Vite's output), so a browser may keep them for a year; index.html
// names the current hashes and must be revalidated on every load.
const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheNoCache   = "no-cache"
)

// Handler serves the embedded build: index.html at "/" and at every other
// path without a file extension (the page's own routes, such as /coverage
// and /village/{code}, which the page resolves on the client), hashed files
// under /assets/ with year-long cache headers, anything else in dist as is,
// and 404 for unknown files. A file the build precompressed (name.br,
// name.gz beside it) goes out in the coding the request prefers, with
// Content-Encoding and Vary: Accept-Encoding. Mount it on the router's fallback, after /api.
// When the
// frontend was not built it answers every request with 503 and
// NotBuiltMessage.
func Handler() http.Handler {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		// fs.Sub only fails on an invalid path, and "dist" is valid.
		panic("frontend: " + err.Error())
	}
	return HandlerFS(sub)
}

// HandlerFS is Handler over any file system whose root is the build output
// (index.html and assets/), e.g. os.DirFS("frontend/dist") while developing
// or an fstest.MapFS in tests. It looks for index.html on each request, so a
// build made while the server runs is picked up.
func HandlerFS(fsys fs.FS) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		if _, err := fs.Stat(fsys, "index.html"); err != nil {
			h.Set("Cache-Control", "no-store")
			h.Set("Retry-After", "30")
			http.Error(w, NotBuiltMessage, http.StatusServiceUnavailable)
			return
		}
		h.Set("X-Content-Type-Options", "nosniff")

		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		switch {
		case name == "" || name == "index.html" || isPageRoute(name):
			// http.FileServer redirects /index.html to /; serve both directly.
			h.Set("Cache-Control", cacheNoCache)
			serveFile(w, r, fsys, "index.html")
			return
		case strings.HasPrefix(name, "assets/"):
			h.Set("Cache-Control", cacheImmutable)
		default:
			h.Set("Cache-Control", cacheNoCache)
		}
		if info, err := fs.Stat(fsys, name); err != nil || info.IsDir() || hidden(name) {
			// No directory listings, and no dot files such as .gitkeep.
			h.Del("Cache-Control")
			http.NotFound(w, r)
			return
		}
		serveFile(w, r, fsys, name)
	})
}

// precompressed are the codings the build writes beside each compressible
// file (scripts/precompress.mjs), in the order preferred, with their
// file suffixes.
var precompressed = []struct{ coding, suffix string }{{"br", ".br"}, {"gzip", ".gz"}}

// pickEncoded returns the file to send for name and its Content-Encoding:
// the precompressed sibling (name.br or name.gz) the request's
// Accept-Encoding ranks highest among those that exist, else name itself
// and "". vary is true when name has a sibling, so the answer depends on
// Accept-Encoding.
func pickEncoded(r *http.Request, fsys fs.FS, name string) (file, coding string, vary bool) {
	var offered []string
	for _, p := range precompressed {
		if _, err := fs.Stat(fsys, name+p.suffix); err == nil {
			offered = append(offered, p.coding)
		}
	}
	if len(offered) == 0 {
		return name, "", false
	}
	coding = accept.Encoding(r.Header.Get("Accept-Encoding"), offered...)
	for _, p := range precompressed {
		if p.coding == coding {
			return name + p.suffix, coding, true
		}
	}
	return name, "", true
}

// isPageRoute reports whether a cleaned path is one of the page's
// client-side routes: no file extension in its last element, nothing
// hidden, and not under assets/ (a missing asset stays a 404, so a stale
// page never gets HTML for its script).
func isPageRoute(name string) bool {
	if name == "assets" || strings.HasPrefix(name, "assets/") || hidden(name) {
		return false
	}
	return path.Ext(name) == ""
}

// hidden reports whether any element of the slash-separated name starts
// with a dot.
func hidden(name string) bool {
	for _, part := range strings.Split(name, "/") {
		if strings.HasPrefix(part, ".") {
			return true
		}
	}
	return false
}

// serveFile writes one file of fsys with http.ServeContent, which sets the
// content type from the name and answers Range and conditional requests;
// precompressed when the build wrote a .br or .gz beside it that the
// request accepts (pickEncoded), with Content-Encoding and Vary.
func serveFile(w http.ResponseWriter, r *http.Request, fsys fs.FS, name string) {
	file, coding, vary := pickEncoded(r, fsys, name)
	if vary {
		w.Header().Add("Vary", "Accept-Encoding")
	}
	if coding != "" {
		w.Header().Set("Content-Encoding", coding)
		if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
	}
	f, err := fsys.Open(file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			http.NotFound(w, r)
			return
		}
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	if rs, ok := f.(io.ReadSeeker); ok {
		http.ServeContent(w, r, name, info.ModTime(), rs)
		return
	}
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	_, _ = w.Write(data)
}

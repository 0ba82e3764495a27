package api

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
)

// CORS (the cors middleware), on /api, /open311 and /tiles only; the
// pages are same-origin.
//
//   - /api answers the origins of Config.CORSOrigins (serve
//     --cors-origins, WHISTLEGRID_CORS_ORIGINS); none by default, "*" for
//     any.
//   - /open311 and /tiles answer any origin with "*" as long as no bearer
//     credentials are used (Open311 reads are public, its posts carry an
//     api_key in the form, and tiles take ?token=); a request with an
//     Authorization header, or a preflight asking to send one, is answered
//     only for the configured origins.
//
// A preflight (OPTIONS with Origin and Access-Control-Request-Method) is
// 204 with the allowed methods and headers when the origin is allowed,
// and 204 with no CORS header (the browser then refuses) when it is not.
// Credentials (cookies) are never allowed: there are none.
const (
	corsAllowMethods = "GET, HEAD, POST, PUT, OPTIONS"
	corsAllowHeaders = "Authorization, Content-Type, If-None-Match, Accept-Encoding"
	corsExpose       = "ETag, Link, Location, Retry-After, Content-Encoding"
	corsMaxAge       = "600"
)

// corsPolicy is which origins may read answers across origins.
type corsPolicy struct {
	origins []string // exact origins, scheme://host[:port]
	any     bool     // "*" was configured
}

// newCORSPolicy reads the configured origins; "*" allows any. Entries are
// trimmed and a trailing slash dropped; empty ones are ignored.
func newCORSPolicy(list []string) corsPolicy {
	var p corsPolicy
	for _, o := range list {
		o = strings.TrimSuffix(strings.TrimSpace(o), "/")
		switch o {
		case "":
		case "*":
			p.any = true
		default:
			p.origins = append(p.origins, strings.ToLower(o))
		}
	}
	return p
}

// ParseCORSOrigins checks a comma-separated list of origins
// (scheme://host[:port], or "*") for serve's --cors-origins.
func ParseCORSOrigins(list string) ([]string, error) {
	var out []string
	for _, o := range strings.Split(list, ",") {
		o = strings.TrimSuffix(strings.TrimSpace(o), "/")
		if o == "" {
			continue
		}
		if o != "*" {
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
				return nil, &url.Error{Op: "cors origin", URL: o, Err: errBadOrigin}
			}
		}
		out = append(out, o)
	}
	return out, nil
}

type corsError string

func (e corsError) Error() string { return string(e) }

const errBadOrigin = corsError("an origin is scheme://host[:port], e.g. https://gis.example.org, or *")

// listed reports whether origin is configured.
func (p corsPolicy) listed(origin string) bool {
	return p.any || slices.Contains(p.origins, strings.ToLower(origin))
}

// corsArea is the part of the site a path is in, for CORS.
func corsArea(path string) (area string, ok bool) {
	for _, a := range []string{"/api", "/open311", "/tiles"} {
		if path == a || strings.HasPrefix(path, a+"/") {
			return a, true
		}
	}
	return "", false
}

// cors is the middleware that answers CORS (see corsPolicy).
func (s *Server) cors(c *gin.Context) {
	origin := c.GetHeader("Origin")
	area, ok := corsArea(c.Request.URL.Path)
	if origin == "" || !ok {
		c.Next()
		return
	}
	preflight := c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != ""
	bearer := c.GetHeader("Authorization") != ""
	if preflight {
		bearer = headerHasToken(c.Request.Header, "Access-Control-Request-Headers", "authorization")
	}
	h := c.Writer.Header()
	h.Set("Vary", addVary(h.Get("Vary"), "Origin"))
	allow := ""
	switch {
	case area != "/api" && !bearer:
		allow = "*"
	case s.origins.listed(origin):
		allow = origin
	}
	if allow != "" {
		h.Set("Access-Control-Allow-Origin", allow)
	}
	if !preflight {
		if allow != "" {
			h.Set("Access-Control-Expose-Headers", corsExpose)
		}
		c.Next()
		return
	}
	if allow != "" {
		h.Set("Access-Control-Allow-Methods", corsAllowMethods)
		h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
		h.Set("Access-Control-Max-Age", corsMaxAge)
		h.Set("Vary", addVary(h.Get("Vary"), "Access-Control-Request-Method"))
		h.Set("Vary", addVary(h.Get("Vary"), "Access-Control-Request-Headers"))
	}
	h.Del("Allow")
	c.AbortWithStatus(http.StatusNoContent)
}

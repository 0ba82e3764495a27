// Package accept negotiates a content coding from an Accept-Encoding
// header (RFC 9110 §12.5.3), for the API's compression middleware and the
// frontend's precompressed files alike. It imports no project package.
package accept

import (
	"strconv"
	"strings"
)

// Encoding picks, of the codings offered (in the server's order of
// preference, e.g. "br", "gzip"), the one the header ranks highest by
// q-value; on a tie the one offered first. "*" stands for any coding
// the header does not name, "x-gzip" for "gzip". It answers "" when none
// is acceptable: no header, or all refused with q=0 (identity is then
// the answer; the server never refuses identity).
func Encoding(header string, offered ...string) string {
	q := map[string]float64{}
	star := 0.0
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		v := 1.0
		for _, p := range strings.Split(params, ";") {
			k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0
				}
				v = f
			}
		}
		switch name {
		case "*":
			star = v
		case "x-gzip":
			if _, ok := q["gzip"]; !ok {
				q["gzip"] = v
			}
		default:
			q[name] = v
		}
	}
	best, bestQ := "", 0.0
	for _, o := range offered {
		v, ok := q[o]
		if !ok {
			v = star
		}
		if v > bestQ {
			best, bestQ = o, v
		}
	}
	return best
}

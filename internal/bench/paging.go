package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/access"
	"whistlegrid/keyset"
	"whistlegrid/whistle"
)

// PagingOptions tune Paging.
type PagingOptions struct {
	// Limit is the page size; 0 means 50.
	Limit int
	// Depth is the page measured against the first: 0 means the page
	// holding the clue at offset 100,000 (about half the demo's year).
	Depth int
	// Runs is how many times each request is timed; 0 means 30.
	Runs int
}

// PagingCase is one request timed: the first page against a deep one.
type PagingCase struct {
	Name      string  `json:"name"`
	FirstP50  float64 `json:"first_p50_ms"`
	FirstP99  float64 `json:"first_p99_ms"`
	DeepP50   float64 `json:"deep_p50_ms"`
	DeepP99   float64 `json:"deep_p99_ms"`
	Ratio     float64 `json:"ratio_p50"` // deep p50 / first p50
	DeepPage  int     `json:"deep_page"`
	Baseline  bool    `json:"baseline"`              // the old OFFSET + count(*) SQL, not the server
	TotalNote string  `json:"total,omitempty"`       // what the first page answered as its total
	TotalMS   float64 `json:"total_p50_ms,omitzero"` // the count alone (baseline: count(*))
}

// PagingReport is what `whistlegrid bench paging` measures.
type PagingReport struct {
	Clues    int          `json:"clues"`
	Whistles int          `json:"whistles"`
	Limit    int          `json:"limit"`
	Cases    []PagingCase `json:"cases"`
}

// Paging times list pages through h (the real server, in process, no
// network) with the bearer token: the first page against a deep one
// (reached with an after= cursor made for it), for GET /api/v1/clues,
// GET /api/v1/whistles in both sorts and Open311 GET requests in both
// statuses; and, as the baseline, the SQL the clue list ran before keyset
// paging (count(*) of the filter, then LIMIT … OFFSET) on the same pool.
func Paging(ctx context.Context, pool *pgxpool.Pool, h http.Handler, token string, o PagingOptions) (PagingReport, error) {
	if o.Limit == 0 {
		o.Limit = 50
	}
	if o.Runs == 0 {
		o.Runs = 30
	}
	rep := PagingReport{Limit: o.Limit}
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM clues), (SELECT count(*) FROM whistles)`).Scan(&rep.Clues, &rep.Whistles); err != nil {
		return rep, err
	}
	depth := o.Depth
	if depth == 0 {
		depth = min(100_000, rep.Clues-1) / o.Limit
	}
	get := func(path string) (time.Duration, []byte, error) {
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req)
		d := time.Since(start)
		if rec.Code != http.StatusOK {
			return d, nil, fmt.Errorf("bench paging: %s: %d %s", path, rec.Code, rec.Body.String())
		}
		return d, rec.Body.Bytes(), nil
	}
	timeIt := func(path string) (p50, p99 float64, body []byte, err error) {
		var ds []float64
		for range o.Runs {
			d, b, err := get(path)
			if err != nil {
				return 0, 0, nil, err
			}
			ds, body = append(ds, float64(d.Microseconds())/1000), b
		}
		p50, p99 = percentiles(ds)
		return p50, p99, body, nil
	}

	// the deep cursor of a list: the row at offset depth*limit-1 in the
	// list's order, made into the cursor the page before would have given
	cursor := func(o keyset.Order, table, key string, offset int) (string, error) {
		var at time.Time
		var id int64
		q := fmt.Sprintf(`SELECT %[2]s, id FROM %[1]s ORDER BY %[2]s %[3]s, id %[3]s OFFSET $1 LIMIT 1`, table, key, map[bool]string{true: "DESC", false: "ASC"}[o.Desc])
		if err := pool.QueryRow(ctx, q, offset).Scan(&at, &id); err != nil {
			return "", err
		}
		return o.Next(at, id).String(), nil
	}
	lim := fmt.Sprintf("limit=%d", o.Limit)
	type list struct {
		name, path string
		order      keyset.Order
		table, key string
		rows       int
	}
	lists := []list{
		{"GET /clues", "/api/v1/clues?" + lim, whistle.ClueOrder, "clues", "reported_at", rep.Clues},
		{"GET /whistles (newest)", "/api/v1/whistles?" + lim, whistle.WhistleOrders[0], "whistles", "raised_at", rep.Whistles},
		{"GET /whistles?sort=deadline", "/api/v1/whistles?sort=deadline&" + lim, whistle.WhistleOrders[1], "whistles", "resolve_due", rep.Whistles},
	}
	for _, l := range lists {
		page := min(depth, (l.rows-1)/o.Limit)
		cur, err := cursor(l.order, l.table, l.key, page*o.Limit-1)
		if err != nil {
			return rep, err
		}
		c := PagingCase{Name: l.name, DeepPage: page + 1}
		var body []byte
		if c.FirstP50, c.FirstP99, body, err = timeIt(l.path); err != nil {
			return rep, err
		}
		if c.DeepP50, c.DeepP99, _, err = timeIt(l.path + "&after=" + url.QueryEscape(cur)); err != nil {
			return rep, err
		}
		var t struct {
			Total         *int `json:"total"`
			TotalEstimate *int `json:"total_estimate"`
		}
		_ = json.Unmarshal(body, &t)
		switch {
		case t.Total != nil:
			c.TotalNote = fmt.Sprintf("total %d", *t.Total)
		case t.TotalEstimate != nil:
			c.TotalNote = fmt.Sprintf("total_estimate %d", *t.TotalEstimate)
		}
		c.Ratio = c.DeepP50 / c.FirstP50
		rep.Cases = append(rep.Cases, c)
	}

	// Open311: page 1 against a deep page, by status, over the default
	// 90 days
	for _, st := range []string{"open", "closed"} {
		path := "/open311/v2/requests.json?page_size=100&status=" + st
		c := PagingCase{Name: "Open311 requests status=" + st, DeepPage: 20}
		var err error
		if c.FirstP50, c.FirstP99, _, err = timeIt(path); err != nil {
			return rep, err
		}
		if c.DeepP50, c.DeepP99, _, err = timeIt(path + "&page=20"); err != nil {
			return rep, err
		}
		c.Ratio = c.DeepP50 / c.FirstP50
		rep.Cases = append(rep.Cases, c)
	}

	// the baseline: the clue list as it was, count(*) then OFFSET
	base := PagingCase{Name: "GET /clues before (count + OFFSET)", Baseline: true, DeepPage: depth + 1}
	const fromTmpl = ` FROM clues c JOIN categories cat ON cat.id = c.category_id JOIN grids hg ON hg.id = c.grid_id
		JOIN grids v ON v.id = hg.parent_id JOIN grids z ON z.id = v.parent_id JOIN grids t ON t.id = c.township_id
		JOIN grids d ON d.id = t.parent_id WHERE $PREFIX`
	var prefixes []string // the command center's scope: every grid
	from := strings.Replace(fromTmpl, "$PREFIX", access.PrefixClause("hg.code", "$1"), 1)
	sqlTime := func(offset int) (float64, float64, float64, error) {
		var all, counts []float64
		for range o.Runs {
			start := time.Now()
			var n int
			if err := pool.QueryRow(ctx, `SELECT count(*)`+from, prefixes).Scan(&n); err != nil {
				return 0, 0, 0, err
			}
			counted := time.Since(start)
			rows, err := pool.Query(ctx, `SELECT c.id, c.text, cat.name, hg.code, v.name, z.name, t.name, d.name, c.reported_at`+from+
				` ORDER BY c.reported_at DESC, c.id DESC LIMIT $2 OFFSET $3`, prefixes, o.Limit, offset)
			if err != nil {
				return 0, 0, 0, err
			}
			for rows.Next() {
			}
			rows.Close()
			if rows.Err() != nil {
				return 0, 0, 0, rows.Err()
			}
			all = append(all, float64(time.Since(start).Microseconds())/1000)
			counts = append(counts, float64(counted.Microseconds())/1000)
		}
		p50, p99 := percentiles(all)
		c50, _ := percentiles(counts)
		return p50, p99, c50, nil
	}
	var err error
	if base.FirstP50, base.FirstP99, base.TotalMS, err = sqlTime(0); err != nil {
		return rep, err
	}
	if base.DeepP50, base.DeepP99, _, err = sqlTime(depth * o.Limit); err != nil {
		return rep, err
	}
	base.Ratio = base.DeepP50 / base.FirstP50
	base.TotalNote = fmt.Sprintf("total %d (count(*))", rep.Clues)
	rep.Cases = append(rep.Cases, base)
	return rep, nil
}

// percentiles are the p50 and p99 of ds (nearest rank).
func percentiles(ds []float64) (float64, float64) {
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p float64) float64 { return s[min(len(s)-1, int(p*float64(len(s))))] }
	return at(0.50), at(0.99)
}

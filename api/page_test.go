package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"whistlegrid/internal/testenv"
)

// TestPaging walks GET /clues page by page with after= (each page's next
// cursor and its Link header agreeing), every clue once, newest first;
// and holds clues and whistles to the documented limits: a 422 naming the
// maximum above it, offset refused, a cursor of another sort refused,
// sort=deadline ordered by the resolve deadline.
func TestPaging(t *testing.T) {
	t.Parallel() // its own database
	env := testenv.Start(t)
	ctx := context.Background()
	tok := env.Login(t, "command")
	var lon, lat float64
	if err := env.Pool.QueryRow(ctx, `SELECT ST_X(location), ST_Y(location) FROM households ORDER BY id LIMIT 1`).Scan(&lon, &lat); err != nil {
		t.Fatal(err)
	}
	const n = 7
	base := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	for i := range n {
		status, body := env.Do(t, "POST", "/api/v1/clues", tok, map[string]any{
			"source": "patrol", "external_id": fmt.Sprintf("paging-%d", i), "category": "CM.01.03", "text": "paging",
			"lon": lon, "lat": lat, "reported_at": base.Add(time.Duration(i%4) * time.Hour).Format(time.RFC3339), // ties on reported_at
		})
		if status != 201 {
			t.Fatalf("POST clue %d: %d %s", i, status, body)
		}
	}

	type page struct {
		Clues []struct {
			ID         int64     `json:"id"`
			ReportedAt time.Time `json:"reported_at"`
		} `json:"clues"`
		Next          *string `json:"next"`
		Total         *int    `json:"total"`
		TotalEstimate *int    `json:"total_estimate"`
	}
	get := func(path string) (page, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", env.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
		}
		return decode[page](t, body), resp.Header.Get("Link")
	}

	path := "/api/v1/clues?limit=3&source=patrol"
	var ids []int64
	var last time.Time
	for pages := 0; ; pages++ {
		if pages > n {
			t.Fatal("the pages never end")
		}
		p, link := get(path)
		if p.Total == nil || *p.Total != n || p.TotalEstimate != nil {
			t.Errorf("total %v (estimate %v), want exactly %d", p.Total, p.TotalEstimate, n)
		}
		for _, c := range p.Clues {
			if !last.IsZero() && c.ReportedAt.After(last) {
				t.Errorf("clue %d at %v after one at %v: not newest first", c.ID, c.ReportedAt, last)
			}
			last = c.ReportedAt
			ids = append(ids, c.ID)
		}
		if p.Next == nil {
			if link != "" || len(p.Clues) > 3 {
				t.Errorf("last page: Link %q, %d clues", link, len(p.Clues))
			}
			break
		}
		if len(p.Clues) != 3 {
			t.Errorf("a page of %d clues before the last, want 3", len(p.Clues))
		}
		want := `; rel="next"`
		if !strings.HasSuffix(link, want) || !strings.HasPrefix(link, "</api/v1/clues?") {
			t.Fatalf("Link %q", link)
		}
		u, err := url.Parse(strings.TrimSuffix(strings.TrimPrefix(link, "<"), ">"+want))
		if err != nil || u.Query().Get("after") != *p.Next || u.Query().Get("limit") != "3" || u.Query().Get("source") != "patrol" {
			t.Fatalf("Link %q does not repeat the query with after=%s", link, *p.Next)
		}
		path = u.String()
	}
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	if len(ids) != n || len(slices.Compact(sorted)) != n {
		t.Errorf("walked %v, want %d clues once each", ids, n)
	}

	_, body := env.Do(t, "GET", "/api/v1/clues?limit=3", tok, nil)
	first := decode[page](t, body)
	_, body = env.Do(t, "GET", "/api/v1/whistles?sort=deadline", tok, nil)
	deadline := decode[struct {
		Whistles []struct {
			ID         int64     `json:"id"`
			ResolveDue time.Time `json:"resolve_due"`
		} `json:"whistles"`
	}](t, body)
	for i := 1; i < len(deadline.Whistles); i++ {
		if deadline.Whistles[i].ResolveDue.Before(deadline.Whistles[i-1].ResolveDue) {
			t.Errorf("sort=deadline: %+v before %+v", deadline.Whistles[i-1], deadline.Whistles[i])
		}
	}

	for _, tt := range []struct{ path, field, says string }{
		{"/api/v1/clues?limit=1001", "limit", "at most 1000"},
		{"/api/v1/clues?limit=100000", "limit", "at most 1000"},
		{"/api/v1/whistles?limit=1001", "limit", "at most 1000"},
		{"/api/v1/clues?limit=0", "limit", "1 to 1000"},
		{"/api/v1/clues?offset=100", "offset", "after"},
		{"/api/v1/whistles?offset=10", "offset", "after"},
		{"/api/v1/clues?after=garbage", "after", "next cursor"},
		{"/api/v1/whistles?sort=oldest", "sort", "newest or deadline"},
		{"/api/v1/whistles?sort=deadline&after=" + url.QueryEscape(*first.Next), "after", "sort=newest"},
	} {
		status, body := env.Do(t, "GET", tt.path, tok, nil)
		e := decode[map[string]map[string]string](t, body)
		if status != 422 || e["error"]["field"] != tt.field || !strings.Contains(e["error"]["message"], tt.says) {
			t.Errorf("%s: %d %s, want 422 on %s saying %q", tt.path, status, body, tt.field, tt.says)
		}
	}
}

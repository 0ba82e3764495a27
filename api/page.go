package api

import (
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"whistlegrid/keyset"
)

// Paging of every long list (package keyset has the mechanism):
//
//	?limit=N      rows per page: DefaultLimit unless given, 1..the list's
//	              maximum (MaxLimit for clues and whistles); above it the
//	              answer is 422 naming the maximum, never a silent cap.
//	?after=CURSOR the page after the one whose answer gave CURSOR as its
//	              "next"; opaque, bound to the list's sort (a cursor of
//	              another sort is 422).
//	?offset=      refused (422) unless 0: OFFSET reads and discards every
//	              row before the page, so offset=199990 took 2.25 s; follow
//	              "next" instead.
//
// A page answers its rows with "next" (the cursor, null on the last page)
// and, when there is one, a Link header `<URL>; rel="next"` (RFC 8288)
// to the same query with after= set. A list whose count is cheap answers
// "total" (every row the filter selects, over all pages), counted exactly
// when the planner expects at most keyset.ExactBelow rows, else
// "total_estimate", the planner's estimate, labelled as one.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// page reads limit, after and offset for a list of at most max rows a page
// (def when limit is absent).
func (p *params) page(def, max int) keyset.Page {
	pg := keyset.Page{Limit: def}
	if v := p.c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil || n < 1:
			p.fail("limit", "limit must be a whole number from 1 to "+strconv.Itoa(max))
		case n > max:
			p.fail("limit", "limit must be at most "+strconv.Itoa(max)+"; follow next (after=) for more")
		default:
			pg.Limit = n
		}
	}
	if v := p.c.Query("after"); v != "" {
		cur, err := keyset.Parse(v)
		if err != nil {
			p.fail("after", "after must be the next cursor of an earlier page of this list")
		} else {
			pg.After = &cur
		}
	}
	if v := p.c.Query("offset"); v != "" && v != "0" {
		p.fail("offset", "offset is not supported: pass after= with the next cursor of the page before (see the Link header)")
	}
	return pg
}

// pageAnswer adds a page's next cursor and total to h, the list's JSON
// answer, and sets its Link header.
func pageAnswer(c *gin.Context, h gin.H, next *keyset.Cursor, total *keyset.Total) gin.H {
	h["next"] = nil
	if next != nil {
		cur := next.String()
		h["next"] = cur
		setNextLink(c, cur)
	}
	if total != nil {
		if total.Exact {
			h["total"] = total.N
		} else {
			h["total_estimate"] = total.N
		}
	}
	return h
}

// setNextLink sets `Link: <path?query&after=cur>; rel="next"` on the
// answer: the request's own path and query with after replaced.
func setNextLink(c *gin.Context, cur string) {
	q := c.Request.URL.Query()
	q.Set("after", cur)
	q.Del("offset")
	u := url.URL{Path: c.Request.URL.Path, RawQuery: q.Encode()}
	c.Header("Link", "<"+u.String()+`>; rel="next"`)
}

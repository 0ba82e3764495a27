// Package keyset is the one paging mechanism of every long list
// (clues, whistles, grids, a grid's history): keyset paging, also called
// seek paging. A page ends with a Cursor naming its last row by the sort's
// key and the row's id; the next page is the rows strictly after that pair
// in the sort's order, read from an index in (key, id) order, so page
// 10,000 costs what page 1 costs, where OFFSET would read and discard every
// row before it.
//
// The cursor travels as an opaque string (Cursor.String, Parse): a client
// passes back what it was given in `after=` and never builds one. It names
// its sort, so a cursor of one sort is refused under another.
//
// The package imports no project package: the API (api/page.go) reads the
// query parameters and writes the Link header; the stores build their SQL
// with Order.
package keyset

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Cursor names the last row of a page: the sort it was read in, the sort
// key's value and the row's id (the tie-breaker, unique).
type Cursor struct {
	Sort string `json:"s"`
	// Key is the sort key's value as text: a time in RFC 3339 with
	// nanoseconds (UTC), a code as it is.
	Key string `json:"k"`
	ID  int64  `json:"i"`
}

// ErrCursor is wrapped by every error of Parse and Order.After: the cursor
// is not one this server gave, or not one of this sort.
var ErrCursor = errors.New("keyset: bad cursor")

// String is the cursor as a client sees it: base64url of a small JSON
// object, without padding, safe in a query string unescaped.
func (c Cursor) String() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Parse reads a cursor written by String.
func Parse(s string) (Cursor, error) {
	var c Cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 512 {
		return c, fmt.Errorf("%w: not a cursor this server gave", ErrCursor)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || c.Sort == "" {
		return c, fmt.Errorf("%w: not a cursor this server gave", ErrCursor)
	}
	return c, nil
}

// Kind is the type of a sort key.
type Kind int

// The kinds of sort keys.
const (
	Time Kind = iota // timestamptz, the cursor holds RFC 3339 nanoseconds
	Text             // text, compared as the column's collation does
)

// Order is one sort of a list: rows by Key then ID, both ascending or both
// descending, so that an index on (key, id) serves it in either direction.
// Key and ID are SQL expressions of the list's query (e.g. "c.reported_at",
// "c.id"); Key must never be NULL.
type Order struct {
	Name string // as the client names it in sort=, e.g. "newest"
	Key  string
	ID   string
	Kind Kind
	Desc bool
}

// By is the ORDER BY clause of the sort, with a leading space.
func (o Order) By() string {
	dir := " ASC"
	if o.Desc {
		dir = " DESC"
	}
	return " ORDER BY " + o.Key + dir + ", " + o.ID + dir
}

// After is the SQL condition selecting the rows after c in this order,
// a row comparison an index on (key, id) answers by a range scan:
// (key, id) < ($n, $m) descending, > ascending. arg adds a bind and
// returns its placeholder. A cursor of another sort, or whose key does
// not read as the sort's kind, is an error wrapping ErrCursor.
func (o Order) After(c Cursor, arg func(any) string) (string, error) {
	if c.Sort != o.Name {
		return "", fmt.Errorf("%w: it was given for sort=%s, not sort=%s", ErrCursor, c.Sort, o.Name)
	}
	var key any = c.Key
	if o.Kind == Time {
		t, err := time.Parse(time.RFC3339Nano, c.Key)
		if err != nil {
			return "", fmt.Errorf("%w: not a cursor this server gave", ErrCursor)
		}
		key = t
	}
	op := " > "
	if o.Desc {
		op = " < "
	}
	return "(" + o.Key + ", " + o.ID + ")" + op + "(" + arg(key) + ", " + arg(c.ID) + ")", nil
}

// Next is the cursor after a row with sort key key (a time.Time for a
// Time order, a string for a Text one) and id.
func (o Order) Next(key any, id int64) Cursor {
	var k string
	switch v := key.(type) {
	case time.Time:
		k = v.UTC().Format(time.RFC3339Nano)
	case string:
		k = v
	default:
		k = fmt.Sprint(v)
	}
	return Cursor{Sort: o.Name, Key: k, ID: id}
}

// Page is what a store is asked for: at most Limit rows after After (nil:
// from the start).
type Page struct {
	Limit int
	After *Cursor
}

// Trim cuts rows read with Limit+1 (the one more tells there is a next
// page) to Limit, and reports whether there was more.
func Trim[T any](rows []T, limit int) ([]T, bool) {
	if len(rows) > limit {
		return rows[:limit], true
	}
	return rows, false
}

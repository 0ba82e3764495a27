package api

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// checkText is the part of the edge (edge.go) that refuses, before any
// handler runs, text the database cannot store: PostgreSQL's text is
// UTF-8 without NUL bytes, and anything else fails a statement with
// SQLSTATE 22021, which would be a 500. It looks at every path parameter,
// query parameter (name and value), form value and JSON string (object
// keys included) of every request, and answers a 422 naming the field:
// the parameter's name, or the JSON path of the string ("reporter.name",
// "attendees[2]", "[3].category"). Open311 gets the same refusal in its
// own error list (refuse). The body was read into memory, under its
// limit and deadline, by readBody.

// checkRequest checks the path, the query and the body of a request; body
// is what readBody read (nil for none).
func checkRequest(c *gin.Context, body []byte) error {
	for _, p := range c.Params {
		if err := checkText(p.Key, p.Value); err != nil {
			return err
		}
	}
	if err := checkText("path", c.Request.URL.Path); err != nil {
		return err
	}
	if err := checkValues(c.Request.URL.RawQuery); err != nil {
		return err
	}
	if body == nil || c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
		return nil
	}
	mt, _, _ := mime.ParseMediaType(c.Request.Header.Get("Content-Type"))
	if mt == "application/x-www-form-urlencoded" {
		if err := checkValues(string(body)); err != nil {
			return err
		}
	}
	if mt == "multipart/form-data" {
		// an upload's file (api/attachments.go, read for its magic bytes;
		// POST /imports, read by its importer in its own encoding)
		return nil
	}
	// whatever its label says: the JSON handlers decode any body
	return checkJSON(body)
}

// checkValues checks the names and values of a query string or a
// url-encoded form, in name order. A pair that does not decode is left
// for the handler, which does not see it either.
func checkValues(raw string) error {
	if raw == "" {
		return nil
	}
	vs, _ := url.ParseQuery(raw)
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range vs {
			if !yield(k) {
				return
			}
		}
	}) {
		if err := checkText(printable(k), k); err != nil {
			return err
		}
		for _, v := range vs[k] {
			if err := checkText(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkText refuses a NUL byte or text that is not valid UTF-8 (which
// includes overlong encodings and surrogates), naming field.
func checkText(field, s string) error {
	switch {
	case !utf8.ValidString(s):
		return invalidParam(field, field+" is not valid UTF-8")
	case strings.IndexByte(s, 0) >= 0:
		return invalidParam(field, field+" holds a NUL byte")
	}
	return nil
}

// printable is s fit to name a field: invalid UTF-8 and NUL bytes become
// U+FFFD.
func printable(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// checkJSON checks every string of a JSON text, object keys included: a
// raw byte sequence that is not valid UTF-8 (which encoding/json would
// silently turn into U+FFFD) or a NUL, which only the escape \u0000 can
// put there, is a fault.Invalid whose field is the string's JSON path
// ("reporter.name", "attendees[2]", "[3].category"; "body" for a string
// that is the whole body). A text that is not JSON passes: the handler's
// decoder says what is wrong with it.
func checkJSON(body []byte) error {
	if utf8.Valid(body) && !bytes.Contains(body, []byte(`\u0000`)) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var w jsonWalk
	prev := int64(0)
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		end := dec.InputOffset()
		raw := body[prev:end] // the token with the separators before it, which are ASCII
		prev = end
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' || v == '[' {
				w.push(v == '{')
			} else {
				w.pop()
			}
		case string:
			key := w.key(v)
			switch {
			case !utf8.Valid(raw):
				return invalidParam(w.path(), w.path()+" is not valid UTF-8")
			case strings.IndexByte(v, 0) >= 0:
				return invalidParam(w.path(), w.path()+" holds a NUL byte")
			}
			if !key {
				w.value()
			}
		default:
			w.value()
		}
	}
}

// jsonWalk is where a walk over JSON tokens is: one frame per open object
// or array.
type jsonWalk struct{ stack []jsonFrame }

type jsonFrame struct {
	object  bool
	wantKey bool   // in an object: the next string is a key
	name    string // in an object: the current key
	index   int    // in an array: the current element
}

func (w *jsonWalk) push(object bool) {
	w.stack = append(w.stack, jsonFrame{object: object, wantKey: object})
}

func (w *jsonWalk) pop() {
	if len(w.stack) > 0 {
		w.stack = w.stack[:len(w.stack)-1]
	}
	w.value()
}

// value records that a value ended at the current place.
func (w *jsonWalk) value() {
	if len(w.stack) == 0 {
		return
	}
	f := &w.stack[len(w.stack)-1]
	if f.object {
		f.wantKey = true
	} else {
		f.index++
	}
}

// key takes a string token as an object key when one is due, and says
// whether it was.
func (w *jsonWalk) key(s string) bool {
	if len(w.stack) == 0 {
		return false
	}
	f := &w.stack[len(w.stack)-1]
	if !f.object || !f.wantKey {
		return false
	}
	f.name, f.wantKey = printable(s), false
	return true
}

// path is the JSON path of the current place.
func (w *jsonWalk) path() string {
	var b strings.Builder
	for _, f := range w.stack {
		if f.object {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(f.name)
		} else {
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
		}
	}
	if b.Len() == 0 {
		return "body"
	}
	return b.String()
}

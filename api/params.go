package api

import (
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"whistlegrid/fault"
	"whistlegrid/geo"
)

// invalidParam is a 422 naming the query parameter or body field at fault.
func invalidParam(name, msg string) *fault.Error {
	return &fault.Error{Kind: fault.Invalid, Field: name, Message: msg}
}

// params reads a request's optional query parameters and keeps the first
// error, as bufio.Scanner does: read them all, then check err once. A
// parameter that is absent reads as the zero value.
type params struct {
	c   *gin.Context
	err error
}

func (p *params) fail(name, msg string) {
	if p.err == nil {
		p.err = invalidParam(name, msg)
	}
}

// time reads an RFC 3339 time or a date YYYY-MM-DD, Beijing time.
func (p *params) time(name string) time.Time {
	v := p.c.Query(name)
	if v == "" {
		return time.Time{}
	}
	if t, err := geo.ParseTime(v); err == nil {
		return t
	}
	if t, err := time.ParseInLocation("2006-01-02", v, geo.Beijing); err == nil {
		return t
	}
	p.fail(name, name+" must be an RFC 3339 time or a date YYYY-MM-DD")
	return time.Time{}
}

// int reads a whole number ≥ 0.
func (p *params) int(name string) int {
	v := p.c.Query(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		p.fail(name, name+" must be a whole number ≥ 0")
		return 0
	}
	return n
}

// float reads a finite number.
func (p *params) float(name string) float64 {
	v := p.c.Query(name)
	if v == "" {
		return 0
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		p.fail(name, name+" must be a number")
		return 0
	}
	return x
}

// bool reads true or false (or 1, 0, t, f as strconv.ParseBool does).
func (p *params) bool(name string) bool {
	v := p.c.Query(name)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail(name, name+" must be true or false")
	}
	return b
}

// list reads a comma-separated list; nil when absent.
func (p *params) list(name string) []string {
	if v := p.c.Query(name); v != "" {
		return strings.Split(v, ",")
	}
	return nil
}

// bindJSON is the one way a handler reads a JSON body into v: strictly,
// unknown fields refused, and exactly one JSON value with nothing after it
// but white space (a valid body followed by garbage, or two objects, is
// refused). Anything else is a fault.BadRequest saying what is wrong and,
// after "the body must be ", what shape is wanted. The edge has already
// limited the body's size and refused text the database cannot store.
func bindJSON(c *gin.Context, v any, shape string) error {
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fault.New(fault.BadRequest, "the body must be "+shape+": "+err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return fault.New(fault.BadRequest, "the body must be "+shape+", and nothing after it")
	}
	return nil
}

// objectShape is what bindJSON says a body must be when the handler's
// input is one object of documented fields.
const objectShape = "a JSON object of the documented fields"

// idParam reads the path's whistle id; one that is not a positive number
// names no whistle.
func idParam(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fault.New(fault.NotFound, "no whistle "+c.Param("id"))
	}
	return id, nil
}

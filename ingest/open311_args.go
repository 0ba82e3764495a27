package ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"whistlegrid/fault"
	"whistlegrid/geo"
)

// Errors: the sentinels of the fault.Errors the package returns, each
// with its reason. The API answers them in the Open311 error format:
// ErrInvalid 400 (naming the argument), ErrForbidden 403, ErrNotFound 404,
// ErrUnavailable 503, ErrConflict 409 (an order placed already).
var (
	ErrInvalid     = fault.New(fault.Invalid, "ingest: invalid")
	ErrForbidden   = fault.New(fault.Forbidden, "ingest: forbidden")
	ErrNotFound    = fault.New(fault.NotFound, "ingest: not found")
	ErrUnavailable = fault.New(fault.Unavailable, "ingest: unavailable")
	ErrConflict    = fault.New(fault.Conflict, "ingest: conflict")
)

// invalid is an ErrInvalid naming the argument at fault as the client
// sent it.
func invalid(field, format string, a ...any) error {
	return fault.FieldErrorf(ErrInvalid, field, format, a...)
}

// Limits of GET requests. The spec answers "90 days or first 1000
// requests, whichever is smallest"; here the 90 days hold, and the
// requests in them come in pages (page, page_size: the convention several
// GeoReport servers follow), newest first, ties by id, so that none is cut
// off: DefaultPageSize a page unless page_size says, at most MaxPageSize,
// more is a 400. NewDiscovery documents them.
const (
	MaxRequests     = 1000 // service_request_id at once
	DefaultPageSize = 1000
	MaxPageSize     = 1000
	MaxSpan         = 90 * 24 * time.Hour
)

// w3Time writes t in the W3C date-time profile of ISO 8601 the spec
// requires, in Beijing time with its offset: 2026-11-25T09:30:00+08:00.
func w3Time(t time.Time) string { return t.In(geo.Beijing).Format("2006-01-02T15:04:05-07:00") }

// ParseW3Time reads a date-time of the W3C profile of ISO 8601 with its
// time zone (2010-01-01T00:00:00Z, 2010-01-01T08:00:00.5+08:00,
// 2010-01-01T08:00+08:00) or a bare date, taken as that day in Beijing.
// dateOnly reports a bare date, which names the whole day.
func ParseW3Time(s string) (t time.Time, dateOnly bool, err error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			if err := geo.ValidZone(t); err != nil {
				return time.Time{}, false, fmt.Errorf("%q: %w", s, err)
			}
			return t, false, nil
		}
	}
	if t, err := time.ParseInLocation("2006-01-02", s, geo.Beijing); err == nil {
		return t, true, nil
	}
	return time.Time{}, false, fmt.Errorf("%q is not a W3C date-time with a time zone, e.g. 2010-01-01T00:00:00Z", s)
}

// RequestFilter selects service requests for GET requests.
type RequestFilter struct {
	// IDs, when given, override every other argument (the date range
	// included).
	IDs          []int64
	ServiceCodes []string
	// Start and End bound requested_datetime, both inclusive.
	Start, End time.Time
	Statuses   []string // open, closed; empty for both
	// Extensions keeps extended_attributes in the answer.
	Extensions bool
	// Page (from 1) and PageSize (1..MaxPageSize) select the page.
	Page, PageSize int
}

// list reads an argument that may be declared several times, each time a
// comma-separated list; empty items are dropped.
func list(q url.Values, name string) []string {
	var out []string
	for _, v := range q[name] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// Extensions reads the extensions argument: extended_attributes are
// answered only when it is true, as the GeoReport v2 extension proposal
// has it (a plain client sees the spec's fields only).
func Extensions(q url.Values) (bool, error) {
	v := strings.TrimSpace(q.Get("extensions"))
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, invalid("extensions", "extensions must be true or false")
	}
	return b, nil
}

// ParseRequestQuery reads the arguments of GET requests. Without dates the
// range is the 90 days before now; with one date it is the 90 days after
// start_date or before end_date; a range longer than 90 days is refused.
// A bare end_date includes its whole day. jurisdiction_id is ignored: the
// endpoint serves one jurisdiction.
func ParseRequestQuery(q url.Values, now time.Time) (RequestFilter, error) {
	var f RequestFilter
	var err error
	if f.Extensions, err = Extensions(q); err != nil {
		return f, err
	}
	f.Page, f.PageSize = 1, DefaultPageSize
	for _, a := range []struct {
		name string
		dst  *int
		max  int
	}{{"page", &f.Page, 1 << 20}, {"page_size", &f.PageSize, MaxPageSize}} {
		v := strings.TrimSpace(q.Get(a.name))
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > a.max {
			return f, invalid(a.name, "%s must be a whole number from 1 to %d, got %q", a.name, a.max, v)
		}
		*a.dst = n
	}
	for _, s := range list(q, "service_request_id") {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return f, invalid("service_request_id", "service_request_id must be request ids separated by commas, got %q", s)
		}
		f.IDs = append(f.IDs, id)
	}
	if len(f.IDs) > MaxRequests {
		return f, invalid("service_request_id", "at most %d service_request_id at once", MaxRequests)
	}
	f.ServiceCodes = list(q, "service_code")
	for _, s := range list(q, "status") {
		if s != "open" && s != "closed" {
			return f, invalid("status", "status must be open or closed, got %q", s)
		}
		f.Statuses = append(f.Statuses, s)
	}
	start, end := strings.TrimSpace(q.Get("start_date")), strings.TrimSpace(q.Get("end_date"))
	if start != "" {
		t, _, err := ParseW3Time(start)
		if err != nil {
			return f, invalid("start_date", "%v", err)
		}
		f.Start = t
	}
	if end != "" {
		t, dateOnly, err := ParseW3Time(end)
		if err != nil {
			return f, invalid("end_date", "%v", err)
		}
		if dateOnly {
			t = t.AddDate(0, 0, 1).Add(-time.Microsecond)
		}
		f.End = t
	}
	switch {
	case start == "" && end == "":
		f.Start, f.End = now.Add(-MaxSpan), now
	case end == "":
		f.End = f.Start.Add(MaxSpan)
	case start == "":
		f.Start = f.End.Add(-MaxSpan)
	case f.End.Before(f.Start):
		return f, invalid("end_date", "end_date is before start_date")
	case f.End.Sub(f.Start) > MaxSpan:
		return f, invalid("end_date", "start_date to end_date may not span more than 90 days")
	}
	return f, nil
}

// Submission is a POST requests form, checked.
type Submission struct {
	ServiceCode string
	Lat, Long   float64 // WGS-84
	// Address is address_string when the form has no lat and long: the
	// gazetteer places it (Open311.Submit), as it does hotline orders.
	Address     string
	Description string
	FirstName   string
	LastName    string
	Phone       string
	Email       string // not stored: clues keep a reporter's name and phone only
	DeviceID    string
	AccountID   string
	// MediaURL is the request's media_url: an absolute http or https URL
	// of at most MaxMediaURL bytes, kept with the clue and read back.
	MediaURL string
	// Digest is the SHA-256 of the form without api_key and
	// jurisdiction_id: the same form posted twice is one request.
	Digest string
}

// MaxMediaURL is the longest media_url kept, in bytes.
const MaxMediaURL = 2048

// ParseSubmission checks a POST requests form. The location is lat and
// long, or address_string alone (placed by the gazetteer when submitted;
// address_id alone is refused: the platform has no address ids).
// attribute[...] is accepted and not kept (no service has attributes);
// media_url is kept (the URL, not what it points to) and read back.
func ParseSubmission(form url.Values) (Submission, error) {
	get := func(name string) string { return strings.TrimSpace(form.Get(name)) }
	s := Submission{
		ServiceCode: get("service_code"), Description: get("description"),
		FirstName: get("first_name"), LastName: get("last_name"), Phone: get("phone"), Email: get("email"),
		DeviceID: get("device_id"), AccountID: get("account_id"), MediaURL: get("media_url"),
	}
	if s.MediaURL != "" {
		u, err := url.Parse(s.MediaURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(s.MediaURL) > MaxMediaURL {
			return s, invalid("media_url", "media_url must be an http or https URL of at most %d bytes", MaxMediaURL)
		}
	}
	if s.ServiceCode == "" {
		return s, invalid("service_code", "service_code was not provided (see services.json)")
	}
	lat, long := get("lat"), get("long")
	switch {
	case lat == "" && long == "" && get("address_string") != "":
		s.Address = get("address_string")
		if utf8.RuneCountInString(s.Address) > 500 {
			return s, invalid("address_string", "address_string is at most 500 characters")
		}
	case lat == "" && long == "" && get("address_id") != "":
		return s, invalid("lat", "location required: lat and long, or address_string (address_id is not known here)")
	case lat == "" && long == "":
		return s, invalid("lat", "location required: lat and long, or address_string")
	case lat == "":
		return s, invalid("lat", "lat and long must both be sent")
	case long == "":
		return s, invalid("long", "lat and long must both be sent")
	}
	var err error
	if s.Address != "" {
		// placed at submission
	} else if s.Lat, err = strconv.ParseFloat(lat, 64); err != nil || math.IsNaN(s.Lat) || math.IsInf(s.Lat, 0) {
		return s, invalid("lat", "lat must be a WGS-84 latitude in degrees, got %q", lat)
	}
	if s.Address != "" {
		// placed at submission
	} else if s.Long, err = strconv.ParseFloat(long, 64); err != nil || math.IsNaN(s.Long) || math.IsInf(s.Long, 0) {
		return s, invalid("long", "long must be a WGS-84 longitude in degrees, got %q", long)
	}
	if err := geo.ValidLonLat(s.Long, s.Lat); err != nil && s.Address == "" {
		return s, invalid("lat", "%v", err)
	}
	for _, l := range []struct {
		field, v string
		max      int
	}{
		{"description", s.Description, 4000}, {"first_name", s.FirstName, 64}, {"last_name", s.LastName, 64},
		{"email", s.Email, 254}, {"device_id", s.DeviceID, 128}, {"account_id", s.AccountID, 128},
	} {
		if utf8.RuneCountInString(l.v) > l.max {
			return s, invalid(l.field, "%s is at most %d characters", l.field, l.max)
		}
	}
	rest := url.Values{}
	for k, v := range form {
		if k != "api_key" && k != "jurisdiction_id" {
			rest[k] = v
		}
	}
	sum := sha256.Sum256([]byte(rest.Encode()))
	s.Digest = hex.EncodeToString(sum[:])
	return s, nil
}

// ExternalID is the clue's external_id for a submission from a client:
// "open311:<key id>:<digest>", so the same form from the same client is
// taken in once.
func ExternalID(k APIKey, s Submission) string {
	return "open311:" + strconv.FormatInt(k.ID, 10) + ":" + s.Digest
}

// ReporterName is the reporter's name: family name first, as Chinese
// names are written, joined without a space unless both parts are Latin.
func ReporterName(last, first string) string {
	if last == "" || first == "" {
		return last + first
	}
	if isASCII(last) && isASCII(first) {
		return last + " " + first
	}
	return last + first
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

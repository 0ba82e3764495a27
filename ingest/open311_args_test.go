package ingest_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"whistlegrid/fault"
	"whistlegrid/ingest"
)

func TestOpen311ParseW3Time(t *testing.T) {
	utc := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	tests := []struct {
		in       string
		want     time.Time
		dateOnly bool
		bad      bool
	}{
		{in: "2010-01-01T00:00:00Z", want: utc("2010-01-01T00:00:00Z")},
		{in: "1994-11-05T08:15:30-05:00", want: utc("1994-11-05T13:15:30Z")},
		{in: "2026-11-25T09:30:00.5+08:00", want: utc("2026-11-25T01:30:00Z").Add(500 * time.Millisecond)},
		{in: "2026-11-25T09:30+08:00", want: utc("2026-11-25T01:30:00Z")},
		{in: "2026-11-25", want: utc("2026-11-24T16:00:00Z"), dateOnly: true},
		{in: "2026-11-25T09:30:00", bad: true}, // no time zone
		{in: "yesterday", bad: true},
		{in: "", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, dateOnly, err := ingest.ParseW3Time(tt.in)
			if tt.bad {
				if err == nil {
					t.Fatalf("got %v, want an error", got)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) || dateOnly != tt.dateOnly {
				t.Errorf("got %v %v %v, want %v %v", got, dateOnly, err, tt.want, tt.dateOnly)
			}
		})
	}
}

func TestOpen311ParseRequestQuery(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	tests := []struct {
		name       string
		query      string
		start, end time.Time
		ids        []int64
		codes      []string
		statuses   []string
		ext        bool
		page, size int
		badField   string
	}{
		{name: "defaults to the last 90 days", query: "", start: now.Add(-90 * day), end: now},
		{name: "empty arguments are absent ones", query: "status=&service_code=&start_date=&jurisdiction_id=", start: now.Add(-90 * day), end: now},
		{name: "start only runs 90 days on", query: "start_date=2026-01-01T00:00:00Z",
			start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), end: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(90 * day)},
		{name: "end only runs 90 days back", query: "end_date=2026-06-01T00:00:00Z",
			start: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC).Add(-90 * day), end: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)},
		{name: "a bare end date includes its day", query: "start_date=2026-05-01&end_date=2026-05-31",
			start: time.Date(2026, 4, 30, 16, 0, 0, 0, time.UTC), end: time.Date(2026, 5, 31, 16, 0, 0, 0, time.UTC).Add(-time.Microsecond)},
		{name: "lists, comma separated and repeated", query: "service_code=CM.01.03,CM.01.01&service_code=HL.01.01&status=open,closed&extensions=false",
			start: now.Add(-90 * day), end: now, codes: []string{"CM.01.03", "CM.01.01", "HL.01.01"}, statuses: []string{"open", "closed"}},
		{name: "extended attributes only with extensions=true", query: "extensions=true", start: now.Add(-90 * day), end: now, ext: true, page: 1, size: ingest.DefaultPageSize},
		{name: "a page", query: "page=3&page_size=50", start: now.Add(-90 * day), end: now, page: 3, size: 50},
		{name: "page_size over the maximum", query: "page_size=1001", badField: "page_size"},
		{name: "page 0", query: "page=0", badField: "page"},
		{name: "a bad page_size", query: "page_size=ten", badField: "page_size"},
		{name: "ids", query: "service_request_id=3,%207,11", start: now.Add(-90 * day), end: now, ids: []int64{3, 7, 11}},
		{name: "more than 90 days", query: "start_date=2026-01-01T00:00:00Z&end_date=2026-04-02T00:00:00Z", badField: "end_date"},
		{name: "end before start", query: "start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z", badField: "end_date"},
		{name: "a start date without zone", query: "start_date=2026-01-01T00:00:00", badField: "start_date"},
		{name: "an unknown status", query: "status=pending", badField: "status"},
		{name: "a bad id", query: "service_request_id=1,x", badField: "service_request_id"},
		{name: "a bad extensions", query: "extensions=maybe", badField: "extensions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			f, err := ingest.ParseRequestQuery(q, now)
			if tt.badField != "" {
				var fe *fault.Error
				if !errors.As(err, &fe) || fe.Field != tt.badField || !errors.Is(err, ingest.ErrInvalid) {
					t.Fatalf("err %v, want a field error on %s", err, tt.badField)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !f.Start.Equal(tt.start) || !f.End.Equal(tt.end) {
				t.Errorf("range %v – %v, want %v – %v", f.Start, f.End, tt.start, tt.end)
			}
			if strings.Join(f.ServiceCodes, ",") != strings.Join(tt.codes, ",") || strings.Join(f.Statuses, ",") != strings.Join(tt.statuses, ",") {
				t.Errorf("codes %v statuses %v", f.ServiceCodes, f.Statuses)
			}
			if len(f.IDs) != len(tt.ids) {
				t.Fatalf("ids %v, want %v", f.IDs, tt.ids)
			}
			for i := range f.IDs {
				if f.IDs[i] != tt.ids[i] {
					t.Errorf("ids %v, want %v", f.IDs, tt.ids)
				}
			}
			if f.Extensions != tt.ext {
				t.Errorf("extensions %v, want %v", f.Extensions, tt.ext)
			}
			if tt.page != 0 && (f.Page != tt.page || f.PageSize != tt.size) {
				t.Errorf("page %d of %d, want %d of %d", f.Page, f.PageSize, tt.page, tt.size)
			}
			if tt.page == 0 && (f.Page != 1 || f.PageSize != ingest.DefaultPageSize) {
				t.Errorf("page %d of %d, want the first of %d", f.Page, f.PageSize, ingest.DefaultPageSize)
			}
		})
	}
}

// specForm is the spec's example POST, moved to 延庆区.
const specForm = "api_key=xyz&jurisdiction_id=city.gov&service_code=001&lat=40.4537&long=115.9744&address_string=1234+5th+street" +
	"&email=smit333%40sfgov.edu&device_id=tt222111&account_id=123456&first_name=john&last_name=smith&phone=111111111" +
	"&description=A+large+sinkhole+is+destroying+the+street&media_url=http%3A%2F%2Ffarm3.static.flickr.com%2F2002%2F2212426634_5ed477a060.jpg" +
	"&attribute[WHISPAWN]=123456&attribute[WHISDORN]=COISL001"

func TestOpen311ParseSubmission(t *testing.T) {
	base, err := url.ParseQuery(specForm)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ingest.ParseSubmission(base)
	if err != nil {
		t.Fatal(err)
	}
	if s.ServiceCode != "001" || s.Lat != 40.4537 || s.Long != 115.9744 || s.AccountID != "123456" || s.DeviceID != "tt222111" ||
		s.Phone != "111111111" || s.Email != "smit333@sfgov.edu" || s.Description != "A large sinkhole is destroying the street" || len(s.Digest) != 64 {
		t.Errorf("parsed %+v", s)
	}
	with := func(change map[string]string, drop ...string) url.Values {
		v := url.Values{}
		for k, vs := range base {
			v[k] = append([]string(nil), vs...)
		}
		for _, k := range drop {
			v.Del(k)
		}
		for k, x := range change {
			v.Set(k, x)
		}
		return v
	}
	t.Run("the digest ignores the key and the jurisdiction", func(t *testing.T) {
		o, err := ingest.ParseSubmission(with(map[string]string{"api_key": "other", "jurisdiction_id": "x"}))
		if err != nil || o.Digest != s.Digest {
			t.Errorf("digest %s, want %s (%v)", o.Digest, s.Digest, err)
		}
		o, _ = ingest.ParseSubmission(with(map[string]string{"description": "another hole"}))
		if o.Digest == s.Digest {
			t.Error("another description, same digest")
		}
		if a, b := ingest.ExternalID(ingest.APIKey{ID: 1}, s), ingest.ExternalID(ingest.APIKey{ID: 2}, s); a == b || len(a) > 128 || !strings.HasPrefix(a, "open311:1:") {
			t.Errorf("external ids %s, %s", a, b)
		}
	})
	t.Run("an address only", func(t *testing.T) {
		o, err := ingest.ParseSubmission(with(nil, "lat", "long"))
		if err != nil || o.Address != "1234 5th street" {
			t.Errorf("address only: %+v %v, want the address kept for the gazetteer", o, err)
		}
	})
	for _, tt := range []struct {
		name   string
		form   url.Values
		field  string
		reason string
	}{
		{"no service_code", with(nil, "service_code"), "service_code", "not provided"},
		{"an address id only", with(map[string]string{"address_id": "7"}, "lat", "long", "address_string"), "lat", "address_id is not known"},
		{"no location", with(nil, "lat", "long", "address_string"), "lat", "location required: lat and long"},
		{"lat only", with(nil, "long"), "long", "both"},
		{"long only", with(nil, "lat"), "lat", "both"},
		{"lat not a number", with(map[string]string{"lat": "north"}), "lat", "latitude"},
		{"lat NaN", with(map[string]string{"lat": "NaN"}), "lat", "latitude"},
		{"lat out of range", with(map[string]string{"lat": "91"}), "lat", "outside"},
		{"description too long", with(map[string]string{"description": strings.Repeat("坑", 4001)}), "description", "4000"},
		{"device_id too long", with(map[string]string{"device_id": strings.Repeat("x", 129)}), "device_id", "128"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ingest.ParseSubmission(tt.form)
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Field != tt.field || !strings.Contains(fe.Message, tt.reason) {
				t.Errorf("err %v, want %s: …%s…", err, tt.field, tt.reason)
			}
		})
	}
}

func TestOpen311ReporterName(t *testing.T) {
	for _, tt := range []struct{ last, first, want string }{
		{"张", "三", "张三"},
		{"smith", "john", "smith john"},
		{"欧阳", "", "欧阳"},
		{"", "john", "john"},
		{"", "", ""},
	} {
		if got := ingest.ReporterName(tt.last, tt.first); got != tt.want {
			t.Errorf("ReporterName(%q, %q) = %q, want %q", tt.last, tt.first, got, tt.want)
		}
	}
}

package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"whistlegrid/fault"
)

// TestCheckJSONPaths: the field of a refused JSON string is its path.
func TestCheckJSONPaths(t *testing.T) {
	tests := []struct {
		name, body, field string // field "" for a body that passes
	}{
		{"clean", `{"text":"摆摊","reporter":{"name":"张三"}}`, ""},
		{"an escaped backslash before u0000 is text", `{"text":"C:\\u0000"}`, ""},
		{"not JSON passes to the handler", "{\"text\":\"\xff", ""},
		{"top-level field", `{"text":"a\u0000"}`, "text"},
		{"nested field", `{"source":"app","reporter":{"phone":"1","name":"\u0000"}}`, "reporter.name"},
		{"raw invalid byte", "{\"reporter\":{\"name\":\"\xff\"}}", "reporter.name"},
		{"overlong slash", "{\"a\":1,\"text\":\"\xc0\xaf\"}", "text"},
		{"array element", `{"attendees":["a","b","\u0000"]}`, "attendees[2]"},
		{"top-level array", `[{"lon":1},{"lon":2,"category":"\u0000"}]`, "[1].category"},
		{"after a nested array", `{"clue_ids":[1,[2,3],{"x":"y"}],"note":"\u0000"}`, "note"},
		{"after nested objects in an array", `[{"a":{"b":"c"}},{"a":{"b":"c"}},{"a":{"b":"\u0000"}}]`, "[2].a.b"},
		{"a key", `{"reporter":{"na\u0000me":"x"}}`, "reporter.na\uFFFDme"},
		{"an invalid key", "{\"\xfe\":\"x\"}", "\uFFFD"},
		{"the whole body", `"\u0000"`, "body"},
		{"a second value", `{"text":"ok"} {"text":"\u0000"}`, "text"},
		{"a string after null, true, numbers", `{"a":null,"b":true,"c":-1.5e3,"d":"\u0000"}`, "d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkJSON([]byte(tt.body))
			if tt.field == "" {
				if err != nil {
					t.Fatalf("checkJSON(%q) = %v, want nil", tt.body, err)
				}
				return
			}
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Kind != fault.Invalid || fe.Field != tt.field {
				t.Fatalf("checkJSON(%q) = %#v, want fault.Invalid on %q", tt.body, err, tt.field)
			}
		})
	}
}

// jsonStrings calls f on every string of a decoded JSON value, keys
// included.
func jsonStrings(v any, f func(string)) {
	switch v := v.(type) {
	case string:
		f(v)
	case []any:
		for _, e := range v {
			jsonStrings(e, f)
		}
	case map[string]any:
		for k, e := range v {
			f(k)
			jsonStrings(e, f)
		}
	}
}

// FuzzCheckJSON holds checkJSON to its promise on any bytes: no panic; a
// valid JSON text that holds invalid UTF-8 (which can only be inside its
// strings) or a string with a NUL is refused, and one without either
// passes; a refusal is a fault.Invalid naming a field.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{
		`{"username":"comm\u0000and","password":"demo"}`,
		"{\"text\":\"\xc0\x80\"}",
		"{\"reporter\":{\"name\":\"\xff\xfe\"}}",
		`[{"lon":-180,"lat":-90,"datum":"bd09"},{"category":"\u0000"}]`,
		`{"attendees":["a","\u0000"],"minutes":"x"}`,
		`{"text":"C:\\u0000"}`,
		`{"a":1} garbage`,
		`{"a":[[[]]],"b":{"c":{"d":"\u0000"}}}`,
		`"\ud800"`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		err := checkJSON(body)
		if err != nil {
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Kind != fault.Invalid || fe.Field == "" || !utf8.ValidString(fe.Message) {
				t.Fatalf("checkJSON(%q) = %#v, want a fault.Invalid naming a field", body, err)
			}
		}
		if !json.Valid(body) {
			return
		}
		var v any
		if json.Unmarshal(body, &v) != nil {
			return
		}
		nul := false
		jsonStrings(v, func(s string) { nul = nul || strings.IndexByte(s, 0) >= 0 })
		// (a duplicate key may hide a NUL from the decoded value, so a
		// refusal is only held to the escape being in the text)
		switch {
		case (nul || !utf8.Valid(body)) && err == nil:
			t.Fatalf("checkJSON(%q) = nil; NUL in a string %v, invalid UTF-8 %v", body, nul, !utf8.Valid(body))
		case err != nil && utf8.Valid(body) && !bytes.Contains(body, []byte(`\u0000`)):
			t.Fatalf("checkJSON(%q) = %v for valid UTF-8 without \\u0000", body, err)
		}
	})
}

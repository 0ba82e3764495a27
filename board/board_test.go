package board

import (
	"errors"
	"strings"
	"testing"

	"whistlegrid/fault"
)

func TestCheckText(t *testing.T) {
	for _, tt := range []struct {
		name, text string
		ok         bool
	}{
		{"plain", "小区门口路灯坏了", true},
		{"1000 characters", strings.Repeat("路", 1000), true},
		{"less-than in prose", "气温 3<5 度，a < b", true},
		{"empty", "", false},
		{"blank", " \n\t", false},
		{"1001 characters", strings.Repeat("路", 1001), false},
		{"script", "<script>alert(1)</script>", false},
		{"closing tag", "</p>", false},
		{"img", "<img src=x onerror=alert(1)>", false},
		{"handler", `x" onmouseover="alert(1)`, false},
		{"javascript url", "JavaScript:alert(1)", false},
		{"entity", "&lt;b&gt;", false},
		{"numeric entity", "&#60;", false},
		{"control", "a\x00b", false},
		{"invalid utf-8", "a\xffb", false},
	} {
		err := CheckText(tt.text)
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, fault.Invalid) {
			t.Errorf("%s: %v is not Invalid", tt.name, err)
		}
	}
}

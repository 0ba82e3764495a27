package accept

import "testing"

func TestEncoding(t *testing.T) {
	tests := []struct {
		name, header string
		want         string
	}{
		{"no header", "", ""},
		{"identity only", "identity", ""},
		{"gzip", "gzip, deflate", "gzip"},
		{"both: br first on a tie", "gzip, deflate, br, zstd", "br"},
		{"q-values rank gzip over br", "br;q=0.5, gzip;q=0.9", "gzip"},
		{"br refused", "gzip, br;q=0", "gzip"},
		{"everything refused", "br;q=0, gzip;q=0", ""},
		{"star", "*", "br"},
		{"star with br refused", "*;q=0.3, br;q=0", "gzip"},
		{"x-gzip", "x-gzip", "gzip"},
		{"spaces and case", " GZIP ; Q=0.8 , Br;q=0.7", "gzip"},
		{"bad q is refusal", "br;q=2, gzip", "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Encoding(tt.header, "br", "gzip"); got != tt.want {
				t.Errorf("Encoding(%q) = %q, want %q", tt.header, got, tt.want)
			}
		})
	}
	if got := Encoding("br, gzip;q=0.5", "gzip"); got != "gzip" {
		t.Errorf("only gzip offered: %q", got)
	}
}

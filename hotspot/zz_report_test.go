package hotspot

import (
	"encoding/json"
	"testing"
)

func TestProbeReport(t *testing.T) {
	rep, err := BenchEndToEnd(BenchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(rep)
	t.Logf("%s", b)
}

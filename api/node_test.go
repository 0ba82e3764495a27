package api_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// nodeCheck runs one of the frontend's check scripts (frontend/scripts,
// with the npm packages `make build` installs) on args and decodes the
// JSON object it prints into v. It fails the test, never skips, when node
// or the packages are missing. The script's exit status is returned: 0
// when it found nothing wrong.
func nodeCheck(t *testing.T, script string, v any, args ...string) int {
	t.Helper()
	dir, err := filepath.Abs("../frontend")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@mapbox", "vector-tile")); err != nil {
		t.Fatalf("frontend npm packages missing (run make build): %v", err)
	}
	cmd := exec.Command("node", append([]string{filepath.Join("scripts", script)}, args...)...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("node %s: %v", script, err)
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("node %s printed %q: %v", script, out, err)
	}
	return code
}

// writeTemp writes b to a new file in t's temporary folder.
func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

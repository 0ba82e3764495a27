package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"whistlegrid/internal/testenv"
)

// mapLibreChunk is the built JavaScript file that holds MapLibre: the one
// that starts its worker (maplibre-gl-worker-*.js).
func mapLibreChunk(t *testing.T) string {
	t.Helper()
	files, _ := filepath.Glob("../frontend/dist/assets/*.js")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil && !strings.HasPrefix(filepath.Base(f), "maplibre-gl-worker") && strings.Contains(string(b), "maplibre-gl-worker") {
			return filepath.Base(f)
		}
	}
	t.Fatalf("no MapLibre chunk among %v: build the frontend with `make build`", files)
	return ""
}

// resourcesJS lists the tab's loaded resources as name|encoded|decoded
// sizes (Resource Timing).
const resourcesJS = `performance.getEntriesByType('resource').map((e) => e.name + '|' + e.encodedBodySize + '|' + e.decodedBodySize)`

// TestLazyChunks: the first load of the shell (the login form) pulls no
// MapLibre, and its JavaScript arrives compressed (the build's .br/.gz);
// /coverage, a map page, pulls MapLibre once logged in.
func TestLazyChunks(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a browser test (make test runs it; make check skips it)")
	}
	browser := newBrowser(t)
	env := testenv.Start(t)
	requireBuiltFrontend(t, env.URL)
	chunk := mapLibreChunk(t)

	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	logConsole(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(env.URL+"/")); err != nil {
		t.Fatalf("open: %v", err)
	}
	step(t, ctx, stepTimeout, "the login form", chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-username"]`)))
	shell := evaluate[[]string](t, ctx, resourcesJS)
	compressed := 0
	for _, r := range shell {
		parts := strings.Split(r, "|")
		if strings.Contains(parts[0], chunk) || strings.Contains(parts[0], "maplibre") {
			t.Errorf("the login shell loaded MapLibre: %s", parts[0])
		}
		if strings.HasSuffix(parts[0], ".js") && len(parts) == 3 && parts[1] != parts[2] && parts[1] != "0" {
			compressed++
		}
	}
	if compressed == 0 {
		t.Errorf("no script of the shell arrived compressed: %v", shell)
	}

	// a second tab of the same browser (a second browser would share the
	// profile folder)
	ctx = openAndLogin(t, ctx, env.URL+"/coverage", "command")
	loaded := false
	for _, r := range evaluate[[]string](t, ctx, resourcesJS) {
		loaded = loaded || strings.Contains(r, chunk)
	}
	if !loaded {
		t.Errorf("/coverage did not load MapLibre (%s)", chunk)
	}
}

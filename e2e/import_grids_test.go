package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"whistlegrid/internal/testenv"
)

// TestImportGridsPage: the command center uploads a GeoJSON grid file on
// /import (one village renamed, one as it is, one with a code of no
// level), reads the dry run's report feature by feature with the refusal's
// reason and the zone's gaps, confirms, and sees the import done and the
// village renamed; axe-core finds nothing serious, on the desktop and at
// 390×844.
func TestImportGridsPage(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a browser test (make test runs it; make check skips it)")
	}
	browser := newBrowser(t)
	env := testenv.Start(t)
	requireBuiltFrontend(t, env.URL)
	ctx0 := context.Background()
	var features []string
	var renamed string
	rows, err := env.Pool.Query(ctx0, `SELECT code, name, ST_AsGeoJSON(geom, 9) FROM grids WHERE level = 'village' AND valid_to IS NULL AND code LIKE '110119101%' ORDER BY code LIMIT 2`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var code, name, geom string
		if err := rows.Scan(&code, &name, &geom); err != nil {
			t.Fatal(err)
		}
		if renamed == "" {
			renamed, name = code, name+"（新）"
		}
		features = append(features, fmt.Sprintf(`{"type":"Feature","properties":{"code":%q,"name":%q},"geometry":%s}`, code, name, geom))
	}
	if err := rows.Err(); err != nil || len(features) != 2 {
		t.Fatalf("two villages of 110119101: %d %v", len(features), err)
	}
	features = append(features, `{"type":"Feature","properties":{"code":"1101191","name":"短码村"},"geometry":{"type":"Polygon","coordinates":[[[115.95,40.45],[116.0,40.45],[116.0,40.5],[115.95,40.45]]]}}`)
	file := filepath.Join(t.TempDir(), "网格.geojson")
	if err := os.WriteFile(file, []byte(`{"type":"FeatureCollection","features":[`+strings.Join(features, ",\n")+`]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	versions := func() (n int) {
		if err := env.Pool.QueryRow(ctx0, `SELECT count(*) FROM grid_versions`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := versions()

	ctx := loginAt(t, browser, env.URL+"/import", "command", `[data-testid="import-form"]`)
	t.Cleanup(func() {
		if t.Failed() {
			screenshot(t, ctx, "e2e-import-grids-failure.png")
		}
	})
	// choose the kind as a person does: the select changes and says so
	step(t, ctx, stepTimeout, "choose grids", chromedp.SetValue(chromedp.CSS(`[data-testid="import-kind"]`), "grids"))
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('[data-testid="import-kind"]').dispatchEvent(new Event('change'))`)); err != nil {
		t.Fatal(err)
	}
	if disabled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('[data-testid="import-datum"]').disabled`)); err != nil || disabled {
		t.Fatalf("the datum choice is disabled (%v) for a grid file: %v", disabled, err)
	}
	step(t, ctx, stepTimeout, "dry run of a grid file",
		chromedp.SetUploadFiles(chromedp.CSS(`[data-testid="import-file"]`), []string{file}),
		chromedp.Click(chromedp.CSS(`[data-testid="import-dry-run"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="import-report"][data-state="dry-run"]`)),
	)
	for key, want := range map[string]string{"features": "3", "new": "0", "changed": "1", "unchanged": "1", "refused": "1"} {
		if got := textOf(t, ctx, `[data-testid="figure-`+key+`"]`); got != want {
			t.Errorf("dry run %s: %q, want %q", key, got, want)
		}
	}
	if got := textOf(t, ctx, `[data-testid="grid-feature"][data-outcome="refused"]`); !strings.Contains(got, "1101191") || !strings.Contains(got, "no grid level") {
		t.Errorf("the refused feature's row: %q; want its code and why", got)
	}
	if got := textOf(t, ctx, `[data-testid="grid-parent"]`); !strings.Contains(got, "110119101P") {
		t.Errorf("the parent's gaps and overlaps: %q", got)
	}
	if n := versions(); n != before {
		t.Fatalf("the dry run wrote %d grid versions", n-before)
	}
	if v := importAxe(t, ctx); len(v) > 0 {
		t.Errorf("axe on /import with a grid report: %d serious or critical violations:\n%s", len(v), strings.Join(v, "\n"))
	}
	step(t, ctx, 60*time.Second, "confirm",
		chromedp.Click(chromedp.CSS(`[data-testid="import-confirm"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="import-report"][data-state="done"]`)),
	)
	if got := textOf(t, ctx, `[data-testid="figure-changed"]`); got != "1" {
		t.Errorf("changed %q, want 1", got)
	}
	var name string
	if err := env.Pool.QueryRow(ctx0, `SELECT name FROM grids WHERE code = $1 AND valid_to IS NULL`, renamed).Scan(&name); err != nil || !strings.HasSuffix(name, "（新）") {
		t.Errorf("village %s after the import: %q %v", renamed, name, err)
	}
	step(t, ctx, stepTimeout, "phone size", chromedp.EmulateViewport(390, 844))
	if v := importAxe(t, ctx); len(v) > 0 {
		t.Errorf("axe on /import at 390×844: %d serious or critical violations:\n%s", len(v), strings.Join(v, "\n"))
	}
}

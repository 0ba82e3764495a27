package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"whistlegrid/internal/testenv"
)

// TestAPIDocs opens the API reference, /api/docs: Redoc, served from this
// origin (no network beyond the server), renders the OpenAPI document of
// /api/v1 under the server's CSP, with the paging parameters written in.
func TestAPIDocs(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a browser test (make test runs it; make check skips it)")
	}
	browser := newBrowser(t)
	env := testenv.Start(t)
	requireBuiltFrontend(t, env.URL)
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	logConsole(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(env.URL+"/api/docs")); err != nil {
		t.Fatalf("open /api/docs: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			screenshot(t, ctx, "e2e-api-docs-failure.png")
		}
	})
	waitFor(t, ctx, 60*time.Second, "Redoc renders the document",
		`document.querySelector('h1') !== null && document.querySelector('h1').textContent.includes('whistlegrid API')
			&& document.body.textContent.includes('Clues in the caller')`,
		`document.body.textContent.slice(0, 300)`)
	// Redoc's sidebar mark is served from this origin (copy-redoc.mjs), not
	// its CDN: it loads under the page's CSP (a CSP error fails the test)
	waitFor(t, ctx, 30*time.Second, "the sidebar's mark loads from this origin",
		`(() => { const i = document.querySelector('img[alt="redocly logo"]'); return !!i && i.complete && i.naturalWidth > 0 && new URL(i.src).origin === location.origin; })()`,
		`document.querySelector('img[alt="redocly logo"]')?.src || 'no mark'`)
	text := evaluate[string](t, ctx, `document.body.textContent`)
	for _, want := range []string{"limit", "after", "rel=\"next\"", "total_estimate"} {
		if !strings.Contains(text, want) {
			t.Errorf("the reference does not mention %s", want)
		}
	}
}

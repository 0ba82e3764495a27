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
	"golang.org/x/text/encoding/simplifiedchinese"

	"whistlegrid/internal/testenv"
)

// importAxe runs axe-core (frontend/node_modules) on the page and returns
// its serious and critical violations, one line each.
func importAxe(t *testing.T, ctx context.Context) []string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "frontend", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core: %v (run npm ci in frontend/)", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](string(src)+";true")); err != nil {
		t.Fatalf("load axe-core: %v", err)
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`axe.run(document, {resultTypes: ['violations']}).then((r) =>
		r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
			.map((v) => v.id + ': ' + v.help + ' (' + v.nodes.map((n) => n.target.join(' ')).join(', ') + ')'))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe.run: %v", err)
	}
	return out
}

// loginAt opens path in a fresh tab, logs in as user and waits for sel.
func loginAt(t *testing.T, browser context.Context, url, user, sel string) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	logConsole(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	step(t, ctx, stepTimeout, "log in as "+user,
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-username"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-username"]`), user),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-password"]`), "demo"),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitNotVisible(chromedp.CSS(`[data-testid="login-username"]`)),
		chromedp.WaitVisible(chromedp.CSS(sel)),
	)
	return ctx
}

// TestImportPages: the command center uploads a GBK hotline export on
// /import, reads the dry run's report, confirms and sees the import done;
// the township operator finds the order it could not place on
// /import/review, types the pin's point and confirms: the order goes
// through intake. axe-core finds nothing serious on either page, on the
// desktop and at 390×844.
func TestImportPages(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a browser test (make test runs it; make check skips it)")
	}
	browser := newBrowser(t)
	env := testenv.Start(t)
	requireBuiltFrontend(t, env.URL)
	ctx0 := context.Background()
	var household, category string
	var pin [2]float64
	err := env.Pool.QueryRow(ctx0, `SELECT h.address FROM households h JOIN grids g ON g.id = h.grid_id WHERE g.code LIKE '110119101%' ORDER BY h.id LIMIT 1`).Scan(&household)
	if err == nil {
		err = env.Pool.QueryRow(ctx0, `SELECT name FROM categories WHERE code = 'CM.01.03'`).Scan(&category)
	}
	if err == nil {
		err = env.Pool.QueryRow(ctx0, `SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM grids WHERE level = 'household' AND code LIKE '110119101%' ORDER BY code LIMIT 1) x`).Scan(&pin[0], &pin[1])
	}
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-2 * time.Hour).Format("2006-01-02 15:04:05")
	csv := "工单编号,受理时间,诉求地址,诉求内容,问题分类\n" +
		fmt.Sprintf("E1,%s,%s,门口摆摊,%s\n", at, household, category) +
		fmt.Sprintf("E2,%s,康庄镇某路段,路边摆摊,%s\n", at, category) +
		fmt.Sprintf("E3,不详,%s,摆摊,%s\n", household, category)
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(csv))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "工单.csv")
	if err := os.WriteFile(file, gbk, 0o600); err != nil {
		t.Fatal(err)
	}

	ctx := loginAt(t, browser, env.URL+"/import", "command", `[data-testid="import-form"]`)
	t.Cleanup(func() {
		if t.Failed() {
			screenshot(t, ctx, "e2e-import-failure.png")
		}
	})
	step(t, ctx, stepTimeout, "dry run",
		chromedp.SetUploadFiles(chromedp.CSS(`[data-testid="import-file"]`), []string{file}),
		chromedp.SetValue(chromedp.CSS(`[data-testid="import-mode"]`), "live"),
		chromedp.Click(chromedp.CSS(`[data-testid="import-dry-run"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="import-report"][data-state="dry-run"]`)),
	)
	for key, want := range map[string]string{"read": "3", "imported": "2", "rejected": "1", "unplaced": "1"} {
		if got := textOf(t, ctx, `[data-testid="figure-`+key+`"]`); got != want {
			t.Errorf("dry run %s: %q, want %q", key, got, want)
		}
	}
	if !strings.Contains(textOf(t, ctx, `[data-testid="import-report"]`), "受理时间") {
		t.Error("the dry run does not show the rejected row's column")
	}
	var n int
	if _ = env.Pool.QueryRow(ctx0, `SELECT count(*) FROM hotline_orders`).Scan(&n); n != 0 {
		t.Fatalf("the dry run stored %d orders", n)
	}
	if v := importAxe(t, ctx); len(v) > 0 {
		t.Errorf("axe on /import: %d serious or critical violations:\n%s", len(v), strings.Join(v, "\n"))
	}
	step(t, ctx, 60*time.Second, "confirm",
		chromedp.Click(chromedp.CSS(`[data-testid="import-confirm"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="import-report"][data-state="done"]`)),
	)
	if got := textOf(t, ctx, `[data-testid="figure-imported"]`); got != "2" {
		t.Errorf("imported %q, want 2", got)
	}
	if _ = env.Pool.QueryRow(ctx0, `SELECT count(*) FROM hotline_orders`).Scan(&n); n != 2 {
		t.Errorf("%d orders stored, want 2", n)
	}

	browser2 := newBrowser(t)
	rv := loginAt(t, browser2, env.URL+"/import/review", "t110119101", `[data-testid="review-order"]`)
	waitMapReady(t, rv)
	if got := textOf(t, rv, `[data-testid="review-total"]`); got != "1" {
		t.Errorf("the township's queue holds %q orders, want 1", got)
	}
	if v := importAxe(t, rv); len(v) > 0 {
		t.Errorf("axe on /import/review: %d serious or critical violations:\n%s", len(v), strings.Join(v, "\n"))
	}
	step(t, rv, stepTimeout, "drop a pin",
		chromedp.Click(chromedp.CSS(`[data-testid="review-order"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="pin-lon"]`), fmt.Sprintf("%.6f", pin[0])),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="pin-lat"]`), fmt.Sprintf("%.6f", pin[1])),
		chromedp.Click(chromedp.CSS(`[data-testid="pin-confirm"]`)),
	)
	waitFor(t, rv, stepTimeout, "the queue empties", `document.querySelector('[data-testid="review-total"]').textContent === '0'`,
		`document.querySelector('.import-message')?.textContent || ''`)
	var method string
	var clue *int64
	if err := env.Pool.QueryRow(ctx0, `SELECT method, clue_id FROM hotline_orders WHERE order_no = 'E2'`).Scan(&method, &clue); err != nil || method != "pin" || clue == nil {
		t.Errorf("the pinned order: %s %v %v", method, clue, err)
	}
	step(t, rv, stepTimeout, "phone size", chromedp.EmulateViewport(390, 844))
	if v := importAxe(t, rv); len(v) > 0 {
		t.Errorf("axe on /import/review at 390×844: %d serious or critical violations:\n%s", len(v), strings.Join(v, "\n"))
	}
}

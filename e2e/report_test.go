package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"whistlegrid/internal/testenv"
	"whistlegrid/internal/testimage"
)

// maxReportTransfer is the most the /report page may transfer on its first
// load, in bytes (the 400 KB for a phone).
const maxReportTransfer = 400_000

// cdpDo runs a raw DevTools command on the tab.
func cdpDo(method string, params any) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		return chromedp.Void{}, t.Call(ctx, method, params, nil)
	}
}

// setOffline turns Chromium's network emulation offline or back online
// (navigator.onLine and the online/offline events follow).
func setOffline(offline bool) chromedp.Action[chromedp.Void] {
	return cdpDo("Network.emulateNetworkConditions", map[string]any{
		"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1,
	})
}

// axeSerious runs axe-core (frontend/node_modules) on the page and returns
// its serious and critical violations, as text.
func axeSerious(t *testing.T, ctx context.Context) []string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "frontend", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core: %v (run npm ci in frontend/)", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](string(src)+"\n;true")); err != nil {
		t.Fatalf("load axe-core: %v", err)
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`axe.run(document, {resultTypes: ['violations']}).then((r) =>
		r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
			.map((v) => v.impact + ' ' + v.id + ': ' + v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join(' | ')))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe.run: %v", err)
	}
	return out
}

// TestReport is the grid worker's phone (390×844) with a fixed
// geolocation, beyond the walk (TestWalk sends a report with a photo
// online and reads it back): the worker lands on /report and sees the
// village and grid of the position; a report made offline (Chromium's
// network emulation) waits (report-queued) in the device's storage, photo
// included, and arrives exactly once when the network returns; one left
// offline when its page is closed is sent, once, by the next page opened
// online. axe-core finds no serious or critical violation on the phone or
// the desktop, and the form is reachable by keyboard. It measures the
// bytes the page transfers on its first load, cache off, as the server
// sends them (Chromium's encodedDataLength: the built assets go out
// precompressed in the coding the browser accepts), asserts at most
// maxReportTransfer, and prints report_transfer_bytes=N.
// Screenshots: artifacts/e2e-report-*.png, and report-queued.png (docShot).
func TestReport(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a browser test (make test runs it; make check skips it)")
	}
	browser := newBrowser(t)
	env := testenv.Start(t)
	requireBuiltFrontend(t, env.URL)
	bg := context.Background()

	var village, villageName, grid string
	var lon, lat float64
	err := env.Pool.QueryRow(bg, `
		SELECT v.code, v.name, g.code, ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom))
		FROM grids g JOIN grids v ON v.id = g.parent_id
		WHERE g.level = 'household' AND EXISTS (SELECT 1 FROM users u WHERE u.username = 'w' || v.code)
		ORDER BY g.code LIMIT 1`).Scan(&village, &villageName, &grid, &lon, &lat)
	if err != nil {
		t.Fatal(err)
	}
	worker := "w" + village
	var catCode, catName string
	if err := env.Pool.QueryRow(bg, `SELECT code, name FROM categories WHERE depth = 3 ORDER BY code LIMIT 1`).Scan(&catCode, &catName); err != nil {
		t.Fatal(err)
	}
	photo := filepath.Join(t.TempDir(), "IMG_2041.jpg")
	if err := os.WriteFile(photo, testimage.JPEG(2400, 1800, lon, lat, true, 0), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	logConsole(t, ctx)
	// what the tab transfers, per request
	var mu sync.Mutex
	bytesIn := map[network.RequestID]float64{}
	urls := map[network.RequestID]string{}
	codings := map[network.RequestID]string{}
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventResponseReceived:
			urls[e.RequestID] = e.Response.URL
			for k, v := range e.Response.Headers {
				if strings.EqualFold(k, "Content-Encoding") {
					codings[e.RequestID] = fmt.Sprint(v)
				}
			}
		case *network.EventLoadingFinished:
			bytesIn[e.RequestID] = e.EncodedDataLength
		}
	}); err != nil {
		t.Fatal(err)
	}
	lat1, lon1, acc := lat, lon, 8.0
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)),
		func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
				return chromedp.Void{}, err
			}
			if _, err := cdp.Call(ctx, tg, emulation.SetGeolocationOverride, emulation.SetGeolocationOverrideParams{Latitude: &lat1, Longitude: &lon1, Accuracy: &acc}); err != nil {
				return chromedp.Void{}, err
			}
			return chromedp.Void{}, chromedp.FromContext(ctx).Browser.Call(ctx, "Browser.grantPermissions",
				map[string]any{"permissions": []string{"geolocation"}, "origin": env.URL}, nil)
		},
		cdpDo("Network.setCacheDisabled", map[string]any{"cacheDisabled": true}),
		chromedp.Navigate(env.URL+"/"),
	); err != nil {
		t.Fatalf("open: %v", err)
	}
	step(t, ctx, stepTimeout, "log in as "+worker,
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-username"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-username"]`), worker),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-password"]`), "demo"),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitNotVisible(chromedp.CSS(`[data-testid="login-username"]`)),
	)
	waitMapReady(t, ctx)
	if p := evaluate[string](t, ctx, `location.pathname`); p != "/report" {
		t.Fatalf("a grid worker lands on %s, want /report", p)
	}

	// the first load of /report, cache off: reload and count what arrives
	mu.Lock()
	clear(bytesIn)
	clear(urls)
	clear(codings)
	mu.Unlock()
	step(t, ctx, stepTimeout, "reload /report", chromedp.Reload())
	waitMapReady(t, ctx)
	waitFor(t, ctx, stepTimeout, "the place of the position", `document.querySelector('[data-testid="report-place"]').textContent.includes(`+jsString(villageName)+`)`,
		`document.querySelector('[data-testid="report-place"]').textContent + ' / ' + document.querySelector('[data-testid="report-location"]').textContent`)
	mu.Lock()
	var total float64
	var gz int
	var assets []string
	coded := map[string]int{}
	for id, n := range bytesIn {
		total += n
		if c := codings[id]; c != "" {
			coded[c]++
		}
		u := urls[id]
		if strings.Contains(u, "/assets/") || strings.HasSuffix(u, "/report") {
			assets = append(assets, u)
		}
	}
	mu.Unlock()
	for _, u := range assets {
		gz += gzipSize(t, u)
	}
	if evaluate[bool](t, ctx, `performance.getEntriesByType('resource').some((r) => r.name.includes('maplibre'))`) {
		t.Error("MapLibre loaded before the map was opened")
	}
	t.Logf("/report first load: %d requests, %.0f bytes transferred (encodedDataLength, as served; content codings %v); its page and chunks gzip -6 to %d bytes", len(bytesIn), total, coded, gz)
	fmt.Printf("report_transfer_bytes=%.0f report_chunks_gzip_bytes=%d requests=%d\n", total, gz, len(bytesIn))
	if total > maxReportTransfer {
		t.Errorf("/report transfers %.0f bytes on its first load, over %d", total, maxReportTransfer)
	}

	// offline: the report waits on the device, then arrives once (the
	// walk, TestWalk, sends one online and reads its photo back)
	step(t, ctx, stepTimeout, "search the category tree, write, add a photo",
		chromedp.SendKeys(chromedp.CSS(`[data-testid="report-category"]`), catName),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="report-category-option"][data-code="`+catCode+`"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="report-category-option"][data-code="`+catCode+`"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="report-text"]`), "离线上报：井盖缺失"),
		chromedp.SetUploadFiles(chromedp.CSS(`[data-testid="report-photo"]`), []string{photo}),
	)
	waitFor(t, ctx, stepTimeout, "the photo added", `document.querySelectorAll('[data-testid="report-photo-item"]').length === 1`, `document.body.innerText`)
	if v := axeSerious(t, ctx); len(v) > 0 {
		t.Errorf("axe on /report at 390×844: %d serious or critical violations:\n%s", len(v), strings.Join(v, "\n"))
	}
	screenshot(t, ctx, "e2e-report-phone.png")
	step(t, ctx, stepTimeout, "go offline", setOffline(true))
	waitFor(t, ctx, stepTimeout, "navigator offline", `navigator.onLine === false`, `String(navigator.onLine)`)
	step(t, ctx, stepTimeout, "send offline", chromedp.Click(chromedp.CSS(`[data-testid="report-submit"]`)))
	waitFor(t, ctx, stepTimeout, "report-queued", `document.querySelector('[data-testid="report-queued"]:not([hidden])')?.dataset.count === '1'`,
		`document.querySelector('[data-testid="report-queued"]').outerHTML + document.querySelector('[data-testid="report-error"]').textContent`)
	stored, err := chromedp.Run(ctx, chromedp.Evaluate[int](`new Promise((res) => { const r = indexedDB.open('whistlegrid-outbox'); r.onsuccess = () => {
		const q = r.result.transaction('reports').objectStore('reports').getAll(); q.onsuccess = () => { res(q.result.filter((i) => i.photos.length === 1 && i.body.text.includes('离线上报')).length); r.result.close(); }; }; })`,
		chromedp.EvalAwaitPromise))
	if err != nil || stored != 1 {
		t.Errorf("%d offline reports with their photo in IndexedDB, want 1 (%v)", stored, err)
	}
	screenshot(t, ctx, "e2e-report-queued.png")
	docShot(t, ctx, "report-queued.png")
	var n int
	_ = env.Pool.QueryRow(bg, `SELECT count(*) FROM clues WHERE text LIKE '离线上报%'`).Scan(&n)
	if n != 0 {
		t.Fatalf("an offline report reached the server: %d", n)
	}
	step(t, ctx, stepTimeout, "back online", setOffline(false))
	waitFor(t, ctx, 30*time.Second, "the waiting report sent", `document.querySelector('[data-testid="report-queued"]').hidden &&
		!!document.querySelector('[data-testid="report-result"]:not([hidden])')?.dataset.clueId`,
		`document.querySelector('[data-testid="report-queued"]').outerHTML + document.querySelector('[data-testid="report-error"]').textContent`)
	waitFor(t, ctx, stepTimeout, "it is in 我的上报", `document.querySelectorAll('[data-testid="my-report-item"]').length === 1`, `document.querySelector('.report-mine').innerText`)
	// a second pass over the outbox sends nothing again
	step(t, ctx, stepTimeout, "back online again", setOffline(true), setOffline(false))
	var clues, photos int
	_ = env.Pool.QueryRow(bg, `SELECT count(*), (SELECT count(*) FROM attachments a JOIN clues c ON c.id = a.clue_id WHERE c.text LIKE '离线上报%')
		FROM clues WHERE text LIKE '离线上报%'`).Scan(&clues, &photos)
	if clues != 1 || photos != 1 {
		t.Errorf("the offline report arrived as %d clues with %d photos, want exactly 1 and 1", clues, photos)
	}
	var loose int
	_ = env.Pool.QueryRow(bg, `SELECT count(*) FROM attachments WHERE clue_id IS NULL AND event_id IS NULL`).Scan(&loose)
	if loose != 0 {
		t.Errorf("%d photos uploaded and not attached (uploaded twice?)", loose)
	}

	// a report made offline survives its page: the tab leaves it, and
	// another tab of the phone's browser, online, sends it once
	step(t, ctx, stepTimeout, "offline again", setOffline(true))
	waitFor(t, ctx, stepTimeout, "navigator offline", `navigator.onLine === false`, `String(navigator.onLine)`)
	step(t, ctx, stepTimeout, "report offline, then leave the page",
		chromedp.SendKeys(chromedp.CSS(`[data-testid="report-text"]`), "离线后关闭页面"),
		chromedp.Click(chromedp.CSS(`[data-testid="report-submit"]`)),
	)
	waitFor(t, ctx, stepTimeout, "report-queued", `document.querySelector('[data-testid="report-queued"]:not([hidden])')?.dataset.count === '1'`,
		`document.querySelector('[data-testid="report-queued"]').outerHTML`)
	_ = env.Pool.QueryRow(bg, `SELECT count(*) FROM clues WHERE text = '离线后关闭页面'`).Scan(&clues)
	if clues != 0 {
		t.Fatalf("the report reached the server while offline: %d", clues)
	}
	step(t, ctx, stepTimeout, "leave the page", chromedp.Navigate("about:blank"))
	tab2, cancel2 := chromedp.NewContext(ctx)
	logConsole(t, tab2)
	step(t, tab2, mapReadyTimeout, "open /report in another tab", chromedp.Navigate(env.URL+"/report"))
	waitMapReady(t, tab2)
	// the second tab's page sends it on start: wait for it in the database
	deadline := time.Now().Add(30 * time.Second)
	for clues = 0; clues == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		_ = env.Pool.QueryRow(bg, `SELECT count(*) FROM clues WHERE text = '离线后关闭页面'`).Scan(&clues)
	}
	if clues != 1 {
		t.Fatalf("the report left offline arrived %d times from the second tab, want once", clues)
	}
	waitFor(t, tab2, stepTimeout, "the second tab's outbox empty", `document.querySelector('[data-testid="report-queued"]').hidden`,
		`document.querySelector('[data-testid="report-queued"]').outerHTML`)
	cancel2()
	step(t, ctx, stepTimeout, "back online in the first tab", setOffline(false), chromedp.Navigate(env.URL+"/report"))
	waitMapReady(t, ctx)
	waitFor(t, ctx, stepTimeout, "both in 我的上报", `document.querySelectorAll('[data-testid="my-report-item"]').length === 2`, `document.querySelector('.report-mine').innerText`)
	_ = env.Pool.QueryRow(bg, `SELECT count(*) FROM clues WHERE text = '离线后关闭页面'`).Scan(&clues)
	if clues != 1 {
		t.Errorf("the report left offline arrived %d times, want once", clues)
	}
	waitFor(t, ctx, stepTimeout, "a category chosen again", `!!document.querySelector('[data-testid="report-category-option"]')`, `document.body.innerText`)

	// keyboard: from the category search, Tab reaches the options, the text, the photo and send
	seen := evaluate[string](t, ctx, `(() => { document.querySelector('[data-testid="report-category"]').focus(); return '' })()`)
	for range 60 {
		step(t, ctx, stepTimeout, "tab", chromedp.KeyEvent("\t"))
		seen += " " + evaluate[string](t, ctx, `document.activeElement?.dataset?.testid || document.activeElement?.tagName || ''`)
	}
	for _, want := range []string{"report-category-option", "report-text", "report-photo", "report-submit", "my-report-item"} {
		if !strings.Contains(seen, want) {
			t.Errorf("Tab never reaches %s: %s", want, seen)
		}
	}

	// the desktop
	step(t, ctx, stepTimeout, "desktop", chromedp.EmulateViewport(1440, 900))
	if v := axeSerious(t, ctx); len(v) > 0 {
		t.Errorf("axe on /report at 1440×900: %d serious or critical violations:\n%s", len(v), strings.Join(v, "\n"))
	}
	step(t, ctx, stepTimeout, "open the map", chromedp.Click(chromedp.CSS(`[data-testid="report-map-open"]`)))
	waitFor(t, ctx, mapReadyTimeout, "the pin map", `!!document.querySelector('[data-testid="report-map"] canvas') && !!document.querySelector('.maplibregl-marker')`, `document.body.innerText`)
	screenshot(t, ctx, "e2e-report-desktop.png")
}

// gzipSize fetches url and returns its gzip -6 size.
func gzipSize(t *testing.T, url string) int {
	t.Helper()
	res, err := (&http.Client{Timeout: stepTimeout}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, 6)
	w.Write(b)
	w.Close()
	return buf.Len()
}

// fetchJPEG GETs an attachment with a bearer token and decodes it.
func fetchJPEG(t *testing.T, url, token string) image.Image {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := (&http.Client{Timeout: stepTimeout}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	img, err := jpeg.Decode(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, res.StatusCode, err)
	}
	return img
}

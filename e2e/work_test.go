package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"whistlegrid/internal/testenv"
)

// workStep bounds a step of the walk: generous, as the machine running
// the suite may be busy (each step waits for a condition, never sleeps).
const workStep = 45 * time.Second

// The workbench's case: a clue of 占道经营 in 康庄镇, which the test's rule
// keeps in its village, so that the township raises it by hand.
const (
	workTownship = "110119101"
	workCategory = "CM.01.03"
	workNote     = "摊点反复出现，请城管牵头处理"
	workReason   = "群众反映强烈，需重点督办"
)

// TestWorkbench walks a case through the browser, one server and one
// browser for the whole file, each user in a browser context of its own
// (their own localStorage, so their own token):
//
//  1. the township lands on /work; a clue made through the API shows in
//     待处理线索 without a reload; it selects it and raises a whistle;
//  2. the lead unit, on /work since before, sees it in 待报到 without a
//     reload, with a notice; it reports in (by keyboard) and resolves;
//  3. the township approves (结案) and rates the unit;
//  4. the command center, through its 工作台 tab, finds it closed in 全部
//     with every step in the trail;
//  5. refusals: a unit not summoned opening the whistle gets the
//     not-found page; a township that escalates after the command center
//     did gets the server's 409 inline, the case reloaded and its text kept;
//  6. axe-core finds no serious or critical violation on /work and
//     /whistles/{id}, at desktop size and at 390×844.
//
// Screenshots: artifacts/e2e-work-clues.png, e2e-work-unit.png,
// e2e-work-case.png, e2e-work-phone.png.
func TestWorkbench(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a browser test (make test runs it; make check skips it)")
	}
	axeSource := workAxeSource(t)
	allocator := newBrowser(t)
	pool := testenv.DemoDB(t)
	ctx0 := context.Background()
	if _, err := pool.Exec(ctx0, `INSERT INTO rules (category_id, action) SELECT id, 'village' FROM categories WHERE code = $1
		ON CONFLICT (category_id, township_id) DO UPDATE SET action = 'village'`, workCategory); err != nil {
		t.Fatal(err)
	}
	srv := startLiveServer(t, pool)
	requireBuiltFrontend(t, srv.URL)
	var lon, lat float64
	if err := pool.QueryRow(ctx0, `SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM grids
		WHERE level = 'household' AND code LIKE $1 || '%' ORDER BY code LIMIT 1`, workTownship).Scan(&lon, &lat); err != nil {
		t.Fatal(err)
	}
	townTok := login(t, srv.URL, "t"+workTownship)
	placed := apiGet[struct {
		Units []struct{ Code, Role string } `json:"units"`
	}](t, srv.URL, fmt.Sprintf("/api/v1/place?lon=%f&lat=%f&category=%s", lon, lat, workCategory), townTok)
	lead := ""
	for _, u := range placed.Units {
		if u.Role == "lead" && lead == "" {
			lead = u.Code
		}
	}
	if lead == "" {
		t.Fatalf("no lead unit for %s here: %+v", workCategory, placed)
	}

	// the browser itself, then a context per user
	root, cancel := chromedp.NewContext(allocator)
	t.Cleanup(cancel)
	if err := chromedp.Do(root, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start the browser: %v", err)
	}
	town := workOpenAs(t, root, srv.URL+"/", "t"+workTownship)
	unit := workOpenAs(t, root, srv.URL+"/", "u"+lead)
	for name, ctx := range map[string]context.Context{"township": town, "unit": unit} {
		if got := evaluate[string](t, ctx, `location.pathname`); got != "/work" {
			t.Errorf("the %s landed on %s, want /work", name, got)
		}
	}
	for name, ctx := range map[string]context.Context{"township": town, "unit": unit} {
		t.Cleanup(func() {
			if t.Failed() {
				screenshot(t, ctx, "e2e-work-failure-"+name+".png")
			}
		})
	}
	tabs := evaluate[[]string](t, town, `[...document.querySelectorAll('[data-testid="work-tab"]')].map((b) => b.dataset.tab)`)
	if !slices.Equal(tabs, []string{"clues", "open", "approval", "rate", "done"}) {
		t.Errorf("township tabs %v", tabs)
	}
	workAxe(t, town, axeSource, "/work (township, clues)")

	// 1. a new clue shows in 待处理线索 without a reload
	status, body := apiDo(t, http.MethodPost, srv.URL+"/api/v1/clues", townTok, map[string]any{
		"source": "patrol", "external_id": fmt.Sprintf("work-e2e-%d", time.Now().UnixNano()), "category": workCategory,
		"text": "门口摆摊占道，影响通行", "lon": lon, "lat": lat, "datum": "wgs84", "reported_at": time.Now().Format(time.RFC3339),
	})
	if status != http.StatusCreated {
		t.Fatalf("POST clue: %d %s", status, body)
	}
	var posted struct {
		Clue struct {
			ID int64 `json:"id"`
		} `json:"clue"`
	}
	if err := json.Unmarshal(body, &posted); err != nil {
		t.Fatal(err)
	}
	clueSel := fmt.Sprintf(`[data-testid="work-item"][data-clue-id="%d"]`, posted.Clue.ID)
	took := waitFor(t, town, 10*time.Second, "the new clue in 待处理线索", `!!document.querySelector(`+jsString(clueSel)+`)`,
		`document.querySelector('.work-list')?.textContent.slice(0, 300)`)
	t.Logf("the clue showed after %s", took.Round(time.Millisecond))
	workNoReload(t, town)
	waitFor(t, town, mapReadyTimeout, "the clue map drawn", `!!document.querySelector('.work-map[data-drawn="1"]')`, `'not drawn'`)
	screenshot(t, town, "e2e-work-clues.png")

	step(t, town, workStep, "select the clue and open 吹哨",
		chromedp.Click(chromedp.CSS(clueSel+` [data-testid="clue-select"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="raise-whistle"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="raise-grade"]`)),
	)
	if g := evaluate[string](t, town, `document.querySelector('[data-testid="raise-grade"]').value`); g == "" {
		t.Errorf("the grade has no default")
	}
	if n := evaluate[int](t, town, `document.querySelectorAll('.raise-units li').length`); n < 1 {
		t.Errorf("no units pre-filled from the responsibility list")
	}
	step(t, town, workStep, "raise",
		chromedp.SetValue(chromedp.CSS(`[data-testid="raise-note"]`), workNote),
		chromedp.Click(chromedp.CSS(`[data-testid="raise-submit"]`)),
	)
	workWaitStatus(t, town, "raised")
	path := evaluate[string](t, town, `location.pathname`)
	wid, err := strconv.ParseInt(strings.TrimPrefix(path, "/whistles/"), 10, 64)
	if err != nil {
		t.Fatalf("after 吹哨 the page is %s", path)
	}
	workNoReload(t, town)

	// 2. the lead unit sees it in 待报到 without a reload, with a notice
	item := fmt.Sprintf(`[data-testid="work-item"][data-whistle-id="%d"]`, wid)
	waitFor(t, unit, 10*time.Second, "the whistle in 待报到", `!!document.querySelector(`+jsString(item)+`) && !!document.querySelector('[data-testid="work-notice"]')`,
		`document.querySelector('.work')?.textContent.slice(0, 300)`)
	workNoReload(t, unit)
	if cd := textOf(t, unit, item+` [data-testid="countdown"]`); !strings.HasPrefix(cd, "剩 ") {
		t.Errorf("report-in countdown %q, want 剩 …", cd)
	}
	workAxe(t, unit, axeSource, "/work (unit, report-in)")
	screenshot(t, unit, "e2e-work-unit.png")
	step(t, unit, workStep, "open the case", chromedp.Click(chromedp.CSS(item+` a`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid="act-report-in"]`)))
	if acts := workActions(t, unit); !slices.Equal(acts, []string{"act-report-in"}) {
		t.Errorf("the unit is offered %v, want only act-report-in", acts)
	}
	// 报到 by keyboard: focus the button, Enter opens the form, Enter in a field submits it
	step(t, unit, workStep, "report in by keyboard",
		chromedp.Focus(chromedp.CSS(`[data-testid="act-report-in"]`)),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="act-person"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="act-person"]`), "王强"),
		chromedp.SetValue(chromedp.CSS(`[data-testid="act-phone"]`), "13900001111"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="act-person"]`), "\r"),
	)
	workWaitStatus(t, unit, "in_progress")
	workClick(t, unit, `[data-testid="act-resolve"]`, `[data-testid="act-outcome"]`)
	step(t, unit, workStep, "resolve",
		chromedp.SetValue(chromedp.CSS(`[data-testid="act-outcome"]`), "resolved"),
		chromedp.SetValue(chromedp.CSS(`[data-testid="act-note"]`), "已清理摊点并约谈摊主"),
		chromedp.Click(chromedp.CSS(`[data-testid="act-submit"]`)),
	)
	workWaitStatus(t, unit, "awaiting_approval")

	// 3. the township approves and rates (its page follows the stream)
	workWaitStatus(t, town, "awaiting_approval")
	workClick(t, town, `[data-testid="act-close"]`, `[data-testid="act-submit"]`)
	step(t, town, workStep, "approve",
		chromedp.SetValue(chromedp.CSS(`[data-testid="act-note"]`), "核实已办结"),
		chromedp.Click(chromedp.CSS(`[data-testid="act-submit"]`)),
	)
	workWaitStatus(t, town, "closed")
	workClick(t, town, `[data-testid="act-rate"]`, `[data-testid="rate-satisfied"]`)
	step(t, town, workStep, "rate",
		chromedp.SetValue(chromedp.CSS(`[data-testid="act-unit"]`), lead),
		chromedp.SetValue(chromedp.CSS(`[data-testid="rate-reported-in"]`), "5"),
		chromedp.SetValue(chromedp.CSS(`[data-testid="rate-resolved"]`), "4"),
		chromedp.SetValue(chromedp.CSS(`[data-testid="rate-satisfied"]`), "5"),
		chromedp.Click(chromedp.CSS(`[data-testid="act-submit"]`)),
	)
	waitFor(t, town, stepTimeout, "the rating shown", `document.querySelector('[data-testid="summons"]').textContent.includes('评价：报到 5 · 解决 4 · 满意 5')`,
		`document.querySelector('[data-testid="summons"]').textContent`)

	// 4. the command center finds it closed, every step in the trail
	cmd := workOpenAs(t, root, srv.URL+"/work", "command")
	if got := evaluate[bool](t, cmd, `!document.querySelector('[data-testid="nav-work"]').hidden`); !got {
		t.Errorf("the command center has no 工作台 tab in the nav")
	}
	ctabs := evaluate[[]string](t, cmd, `[...document.querySelectorAll('[data-testid="work-tab"]')].map((b) => b.dataset.tab)`)
	if !slices.Equal(ctabs, []string{"overdue", "rule", "all"}) {
		t.Errorf("command tabs %v", ctabs)
	}
	step(t, cmd, workStep, "全部, this township, closed",
		chromedp.Click(chromedp.CSS(`[data-testid="work-tab"][data-tab="all"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="work-tab"][data-tab="all"][aria-selected="true"]`)),
		chromedp.SetValue(chromedp.CSS(`.work-filters select[name="status"]`), "closed"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('.work-filters select[name="status"]').dispatchEvent(new Event('change'))`),
		chromedp.WaitVisible(chromedp.CSS(item)),
		chromedp.Click(chromedp.CSS(item+` a`)),
	)
	workWaitStatus(t, cmd, "closed")
	trail := evaluate[[]string](t, cmd, `[...document.querySelectorAll('[data-testid="trail-item"]')].map((li) => li.dataset.action)`)
	for _, want := range []string{"raise", "report_in", "resolve", "close", "rate"} {
		if !slices.Contains(trail, want) {
			t.Errorf("trail %v lacks %s", trail, want)
		}
	}
	// closed: only the rating of the units not yet rated and the
	// callback to the resident (回访) are left
	for _, a := range workActions(t, cmd) {
		if a != "act-rate" && a != "act-callback" {
			t.Errorf("the command center is offered %s on a closed whistle, want only act-rate and act-callback", a)
		}
	}
	waitFor(t, cmd, mapReadyTimeout, "the case map drawn", `!!document.querySelector('.case-map[data-drawn="1"]')`, `'not drawn'`)
	screenshot(t, cmd, "e2e-work-case.png")
	workAxe(t, cmd, axeSource, "/whistles/{id} (command, closed)")

	// 5a. a unit not summoned opening the whistle: the not-found page
	other := "D002"
	if other == lead {
		other = "D003"
	}
	stranger := workOpenAs(t, root, srv.URL+fmt.Sprintf("/whistles/%d", wid), "u"+other)
	waitFor(t, stranger, stepTimeout, "the not-found page", `!!document.querySelector('[data-testid="not-found"]') && !document.querySelector('[data-testid="whistle-status"]')`,
		`document.querySelector('#view').textContent.slice(0, 200)`)

	// 5b. 409: the township escalates after the command center did
	status, body = apiDo(t, http.MethodPost, srv.URL+"/api/v1/clues", townTok, map[string]any{
		"source": "patrol", "external_id": fmt.Sprintf("work-e2e-b-%d", time.Now().UnixNano()), "category": workCategory,
		"text": "夜市占道", "lon": lon, "lat": lat, "datum": "wgs84", "reported_at": time.Now().Format(time.RFC3339),
	})
	if status != http.StatusCreated || json.Unmarshal(body, &posted) != nil {
		t.Fatalf("POST clue: %d %s", status, body)
	}
	status, body = apiDo(t, http.MethodPost, srv.URL+"/api/v1/whistles", townTok, map[string]any{"clue_ids": []int64{posted.Clue.ID}, "grade": "routine"})
	var w2 struct {
		ID int64 `json:"id"`
	}
	if status != http.StatusCreated || json.Unmarshal(body, &w2) != nil {
		t.Fatalf("raise: %d %s", status, body)
	}
	step(t, town, workStep, "open the case",
		chromedp.Navigate(srv.URL+fmt.Sprintf("/whistles/%d", w2.ID)),
	)
	workClick(t, town, `[data-testid="act-escalate"]`, `[data-testid="act-grade"]`)
	step(t, town, workStep, "fill the escalation",
		chromedp.SetValue(chromedp.CSS(`[data-testid="act-grade"]`), "priority"),
		chromedp.SetValue(chromedp.CSS(`[data-testid="act-note"]`), workReason),
	)
	cmdTok := login(t, srv.URL, "command")
	if status, body := apiDo(t, http.MethodPost, srv.URL+fmt.Sprintf("/api/v1/whistles/%d/escalate", w2.ID), cmdTok,
		map[string]any{"grade": "priority", "reason": "指挥中心先行升级"}); status != http.StatusOK {
		t.Fatalf("command escalates: %d %s", status, body)
	}
	waitFor(t, town, 10*time.Second, "the form says the case changed", `!!document.querySelector('[data-testid="case-stale"]')`, `document.querySelector('.case-form')?.outerHTML`)
	if got := evaluate[string](t, town, `document.querySelector('[data-testid="act-note"]').value`); got != workReason {
		t.Errorf("the stream swept the typed text away: %q", got)
	}
	step(t, town, workStep, "submit late", chromedp.Click(chromedp.CSS(`[data-testid="act-submit"]`)))
	waitFor(t, town, stepTimeout, "the 409 inline, the case reloaded",
		`!!document.querySelector('[data-testid="act-error"]:not([hidden])') && document.querySelector('[data-testid="whistle-grade"]').textContent === '重点哨'`,
		`document.querySelector('.case-head').textContent + ' | ' + document.querySelector('.case-form').textContent`)
	if msg := textOf(t, town, `[data-testid="act-error"]`); !strings.Contains(msg, "already priority") {
		t.Errorf("act-error %q does not carry the server's message", msg)
	}
	if got := evaluate[string](t, town, `document.querySelector('[data-testid="act-note"]').value`); got != workReason {
		t.Errorf("after the 409 the reason reads %q, want the typed %q", got, workReason)
	}

	// 6. phone size: axe on both pages, nothing wider than the screen
	step(t, town, workStep, "phone viewport", chromedp.EmulateViewport(390, 844))
	workAxe(t, town, axeSource, "/whistles/{id} at 390×844")
	if w := evaluate[int](t, town, `document.querySelector('.case').scrollWidth`); w > 390 {
		t.Errorf("the case is %d px wide at 390", w)
	}
	step(t, town, workStep, "phone /work",
		chromedp.Navigate(srv.URL+"/work?tab=open"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="work-tab"][data-tab="open"][aria-selected="true"]`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`[data-testid="work-item"][data-whistle-id="%d"]`, w2.ID))),
	)
	workAxe(t, town, axeSource, "/work at 390×844")
	if w := evaluate[int](t, town, `document.querySelector('.work').scrollWidth`); w > 390 {
		t.Errorf("the workbench is %d px wide at 390", w)
	}
	screenshot(t, town, "e2e-work-phone.png")
	// every list item and action is reachable by keyboard
	if n := evaluate[int](t, town, `[...document.querySelectorAll('[data-testid="work-item"]')].filter((li) => !li.querySelector('a[href], input, button')).length`); n != 0 {
		t.Errorf("%d work items have nothing to focus", n)
	}
}

// workOpenAs opens url in a new browser context of root (its own storage)
// and logs user in through the form; it waits for the page to be ready.
func workOpenAs(t *testing.T, root context.Context, url, user string) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	logConsole(t, ctx)
	step(t, ctx, 30*time.Second, "log in as "+user,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-username"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-username"]`), user),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-password"]`), "demo"),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitNotVisible(chromedp.CSS(`[data-testid="login-username"]`)),
	)
	waitMapReady(t, ctx)
	return ctx
}

// workNoReload fails when the tab has loaded more than one document.
func workNoReload(t *testing.T, ctx context.Context) {
	t.Helper()
	if !evaluate[bool](t, ctx, `performance.getEntriesByType('navigation').length === 1 && performance.getEntriesByType('navigation')[0].type !== 'reload'`) {
		t.Errorf("the page reloaded")
	}
}

// workActions lists the action buttons the case page offers.
func workActions(t *testing.T, ctx context.Context) []string {
	t.Helper()
	return evaluate[[]string](t, ctx, `[...document.querySelectorAll('.case-actions [data-testid^="act-"]')].map((b) => b.dataset.testid)`)
}

// workAxeSource reads axe-core (frontend's npm package) to inject.
func workAxeSource(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "frontend", "node_modules", "axe-core", "axe.min.js")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("axe-core: %v (run `make build`, which installs the frontend's npm packages)", err)
	}
	return string(b)
}

// workAxe runs axe-core on the tab's page and fails on any serious or
// critical violation.
func workAxe(t *testing.T, ctx context.Context, source, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// the source is evaluated as a script of its own (DevTools' evaluation
	// is not the page's eval, so the page's CSP stays as it is)
	if loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!window.axe`)); err != nil || !loaded {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](source+"\n;true")); err != nil {
			t.Fatalf("inject axe-core: %v", err)
		}
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, { resultTypes: ['violations'] }).then((r) => JSON.stringify(
		r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
			.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }))))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe on %s: %v", what, err)
	}
	if out != "[]" {
		t.Errorf("axe on %s: serious or critical violations: %s", what, out)
	} else {
		t.Logf("axe on %s: no serious or critical violations", what)
	}
}

// workWaitStatus waits for the case page to show the whistle in status
// (polled in the page: the case redraws itself as the stream reports).
func workWaitStatus(t *testing.T, ctx context.Context, status string) {
	t.Helper()
	waitFor(t, ctx, 20*time.Second, "status "+status,
		`document.querySelector('[data-testid="whistle-status"]')?.dataset.status === `+jsString(status),
		`(document.querySelector('.case-head')?.textContent || document.querySelector('#view').textContent).slice(0, 200)`)
}

// workClick clicks the element (found again each try, as the case page
// redraws itself when the stream reports a step) until then appears.
func workClick(t *testing.T, ctx context.Context, sel, then string) {
	t.Helper()
	waitFor(t, ctx, 20*time.Second, "click "+sel+" for "+then,
		`(() => { if (document.querySelector(`+jsString(then)+`)) return true; document.querySelector(`+jsString(sel)+`)?.click(); return false; })()`,
		`(document.querySelector('.case') || document.querySelector('#view')).textContent.slice(0, 300)`)
}

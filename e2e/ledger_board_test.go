package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"whistlegrid/internal/testenv"
)

// axePath is axe-core's bundle, installed by `make build` (frontend's
// devDependencies).
const axePath = "../frontend/node_modules/axe-core/axe.min.js"

// axeViolation is a serious or critical finding of axe-core.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// checkAxe runs axe-core on the tab's document and fails the test on any
// serious or critical violation, naming each with its first elements.
func checkAxe(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	src, err := os.ReadFile(filepath.FromSlash(axePath))
	if err != nil {
		t.Fatalf("axe-core not found at %s (%v): run `make build`", axePath, err)
	}
	runCtx, cancel := context.WithTimeout(ctx, mapReadyTimeout)
	defer cancel()
	if _, err := chromedp.Run(runCtx, chromedp.Evaluate[bool](`typeof axe !== 'undefined' || (function(){`+string(src)+`; return true})()`)); err != nil {
		t.Fatalf("inject axe-core: %v", err)
	}
	out, err := chromedp.Run(runCtx, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ['violations']}).then((r) => JSON.stringify(
		r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
			.map((v) => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' '))}))))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe.run: %v", err)
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatalf("axe answer %s: %v", out, err)
	}
	for _, v := range vs {
		t.Errorf("axe on %s: %s (%s) %s at %v", what, v.ID, v.Impact, v.Help, v.Nodes)
	}
}

// emulatePhone makes the tab a 390×844 phone screen.
func emulatePhone() chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: 390, Height: 844, DeviceScaleFactor: 3, Mobile: true})
		return chromedp.Void{}, err
	}
}

// TestLedgerPage opens /ledger as the command center: the list's total is
// the API's; on an item whose 销账 the township asked, the command center
// approves it in the browser and the API then says closed; the review of
// the month shows the API's counts. axe-core finds nothing serious on the
// list, the item and the review.
func TestLedgerPage(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a browser test (make test runs it; make check skips it)")
	}
	browser := newBrowser(t)
	env := testenv.Start(t)
	requireBuiltFrontend(t, env.URL)
	var village string
	if err := env.Pool.QueryRow(context.Background(), `SELECT code FROM grids WHERE level = 'village' AND code LIKE '110119101%' ORDER BY code LIMIT 1`).Scan(&village); err != nil {
		t.Fatal(err)
	}
	cmd, town := login(t, env.URL, "command"), login(t, env.URL, "t110119101")
	due := time.Now().AddDate(0, 0, 10).Format("2006-01-02")
	var id int64
	for i, title := range []string{"河道垃圾清理", "违建拆除整改"} {
		st, b := apiDo(t, "POST", env.URL+"/api/v1/ledger", cmd, map[string]any{"title": title, "grid": village, "source": "inspection",
			"responsible_township": "110119101", "measures": []map[string]string{{"text": "清理完毕", "due": due}}})
		if st != http.StatusCreated {
			t.Fatalf("create: %d %s", st, b)
		}
		var it struct{ ID int64 }
		_ = json.Unmarshal(b, &it)
		if i == 0 {
			id = it.ID
		}
	}
	if st, b := apiDo(t, "POST", fmt.Sprintf("%s/api/v1/ledger/%d/writeoff", env.URL, id), town, map[string]any{"note": "已清理，附照片"}); st != 200 {
		t.Fatalf("writeoff: %d %s", st, b)
	}

	ctx := openAndLogin(t, browser, env.URL+"/ledger", "command")
	list := apiGet[struct{ Total int }](t, env.URL, "/api/v1/ledger", cmd)
	if got := textOf(t, ctx, `[data-testid="ledger-total"]`); got != fmt.Sprint(list.Total) {
		t.Errorf("page total %s, API %d", got, list.Total)
	}
	checkAxe(t, ctx, "/ledger")

	step(t, ctx, stepTimeout, "open the item",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-testid="ledger-row"][data-id="%d"] a`, id))),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="ledger-review"]`)))
	checkAxe(t, ctx, "/ledger/{id}")
	step(t, ctx, stepTimeout, "approve the 销账 in the browser",
		chromedp.SendKeys(chromedp.CSS(`#lr-reason`), "照片齐全，同意销账"),
		chromedp.Click(chromedp.CSS(`[data-testid="review-approve"]`)))
	waitFor(t, ctx, stepTimeout, "status closed", `document.querySelector('[data-testid="item-status"]')?.textContent === '已销账'`,
		`document.querySelector('.ledger-page')?.innerText`)
	it := apiGet[struct{ Status string }](t, env.URL, fmt.Sprintf("/api/v1/ledger/%d", id), cmd)
	if it.Status != "closed" {
		t.Errorf("after the browser's approval the API says %s", it.Status)
	}

	period := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01")
	step(t, ctx, stepTimeout, "open the review", chromedp.Navigate(env.URL+"/ledger/review?period="+period))
	waitMapReady(t, ctx)
	r := apiGet[struct{ Counts struct{ Due, Closed int } }](t, env.URL, "/api/v1/ledger/review?period="+period, cmd)
	if got := textOf(t, ctx, `[data-testid="review-closed"]`); got != fmt.Sprint(r.Counts.Closed) || r.Counts.Closed < 1 {
		t.Errorf("review closed: page %s, API %d", got, r.Counts.Closed)
	}
	if textOf(t, ctx, `[data-testid="review-download"]`) == "" {
		t.Error("no xlsx download on the review")
	}
	checkAxe(t, ctx, "/ledger/review")
}

// TestBoardPage opens /board with no session: no login form; a message
// whose stored text and reply hold markup (as if written past the API's
// check) shows as literal text and runs nothing; a resident posts a
// message in the browser and gets its receipt, stored pending; axe-core
// finds nothing serious, on a desktop and on a 390×844 phone, where the
// page does not scroll sideways.
func TestBoardPage(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a browser test (make test runs it; make check skips it)")
	}
	browser := newBrowser(t)
	env := testenv.Start(t)
	requireBuiltFrontend(t, env.URL)
	ctxDB := context.Background()
	var lon, lat float64
	if err := env.Pool.QueryRow(ctxDB, `SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM grids
		WHERE level = 'household' AND code LIKE '110119101%' ORDER BY code LIMIT 1`).Scan(&lon, &lat); err != nil {
		t.Fatal(err)
	}
	cat := testenv.HotspotCategory
	st, b := apiDo(t, "POST", env.URL+"/api/v1/board/messages", "", map[string]any{"text": "路灯坏了", "category": cat, "phone": "13911112222"})
	if st != http.StatusCreated {
		t.Fatalf("post: %d %s", st, b)
	}
	var m struct{ ID int64 }
	_ = json.Unmarshal(b, &m)
	cmd := login(t, env.URL, "command")
	if st, b := apiDo(t, "POST", fmt.Sprintf("%s/api/v1/board/messages/%d/accept", env.URL, m.ID), cmd, map[string]any{"lon": lon, "lat": lat}); st != 200 {
		t.Fatalf("accept: %d %s", st, b)
	}
	const evil = `<img src=x onerror="window.__pwned=1">路灯坏了`
	if _, err := env.Pool.Exec(ctxDB, `UPDATE board_messages SET text = $2, reply = '<script>window.__pwned=2</script>已修复', replied_at = now() WHERE id = $1`, m.ID, evil); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	logConsole(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(env.URL+"/board")); err != nil {
		t.Fatalf("open /board: %v", err)
	}
	waitMapReady(t, ctx)
	if evaluate[bool](t, ctx, `!document.querySelector('.login-backdrop').hidden`) {
		t.Fatal("the public board shows the login form")
	}
	if got := textOf(t, ctx, fmt.Sprintf(`[data-testid="board-message"][data-id="%d"] .board-text`, m.ID)); got != evil {
		t.Errorf("message text %q, want it literally %q", got, evil)
	}
	if n := evaluate[int](t, ctx, `document.querySelectorAll('.board-list img, .board-list script').length`); n != 0 {
		t.Errorf("%d elements injected by a message", n)
	}
	if evaluate[bool](t, ctx, `window.__pwned !== undefined`) {
		t.Error("a message's markup ran as script")
	}
	if body := evaluate[string](t, ctx, `document.body.innerText`); strings.Contains(body, "13911112222") {
		t.Error("the public page shows the phone")
	}
	checkAxe(t, ctx, "/board")

	if !evaluate[bool](t, ctx, `(() => { const s = document.querySelector('[data-testid="board-category"]'); s.value = `+jsString(cat)+`; return s.value === `+jsString(cat)+`; })()`) {
		t.Fatalf("category %s is not among the form's choices", cat)
	}
	step(t, ctx, stepTimeout, "leave a message in the browser",
		chromedp.SendKeys(chromedp.CSS(`[data-testid="board-text"]`), "公园东门的垃圾桶满了，三天没人清"),
		chromedp.Click(chromedp.CSS(`[data-testid="board-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="board-receipt-code"]`)))
	receipt := textOf(t, ctx, `[data-testid="board-receipt-code"]`)
	var status, text string
	if err := env.Pool.QueryRow(ctxDB, `SELECT status, text FROM board_messages WHERE receipt = $1`, receipt).Scan(&status, &text); err != nil {
		t.Fatalf("the receipt %q names no stored message: %v", receipt, err)
	}
	if status != "pending" || text != "公园东门的垃圾桶满了，三天没人清" {
		t.Errorf("stored %s %q", status, text)
	}
	step(t, ctx, stepTimeout, "a script-laden message is refused in the page",
		chromedp.SendKeys(chromedp.CSS(`[data-testid="board-text"]`), "<script>alert(1)</script>"),
		chromedp.Click(chromedp.CSS(`[data-testid="board-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="board-error"]`)))

	step(t, ctx, stepTimeout, "a 390×844 phone", emulatePhone(), chromedp.Navigate(env.URL+"/board"))
	waitMapReady(t, ctx)
	if w := evaluate[int](t, ctx, `Math.max(document.documentElement.scrollWidth, document.querySelector('.board-page').scrollWidth)`); w > 390 {
		t.Errorf("the board is %d px wide on a 390 px phone", w)
	}
	checkAxe(t, ctx, "/board at 390×844")
}

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"whistlegrid/geo"
	"whistlegrid/internal/testenv"
)

// seedStats raises whistles now in three townships through the API (the
// category CM.01.02 made to whistle at once): three in 康庄镇, of which
// one is reported in, resolved, closed and rated, and one each in
// 八达岭镇 and 永宁镇. It returns the township codes.
func seedStats(t *testing.T, env *testenv.Env) []string {
	t.Helper()
	ctx := context.Background()
	if _, err := env.Pool.Exec(ctx, `
		DELETE FROM rules WHERE category_id = (SELECT id FROM categories WHERE code = 'CM.01.02');
		INSERT INTO rules (category_id, action, join_radius_m, join_window) SELECT id, 'whistle', 1, '1 minute' FROM categories WHERE code = 'CM.01.02'`); err != nil {
		t.Fatal(err)
	}
	towns := []string{"110119101", "110119102", "110119104"}
	n := 0
	var first int64
	for i, town := range towns {
		rows, err := env.Pool.Query(ctx, `
			SELECT x, y FROM (
				SELECT DISTINCT ON (v.code) v.code, ST_X(ST_PointOnSurface(g.geom)) x, ST_Y(ST_PointOnSurface(g.geom)) y
				FROM grids g JOIN grids v ON v.id = g.parent_id
				WHERE g.level = 'household' AND g.code LIKE $1 || '%' ORDER BY v.code, g.code) p
			ORDER BY code LIMIT $2`, town, []int{3, 1, 1}[i])
		if err != nil {
			t.Fatal(err)
		}
		var pts [][2]float64
		for rows.Next() {
			var p [2]float64
			if err := rows.Scan(&p[0], &p[1]); err != nil {
				t.Fatal(err)
			}
			pts = append(pts, p)
		}
		rows.Close()
		tok := login(t, env.URL, "t"+town)
		for _, p := range pts {
			n++
			status, body := apiDo(t, "POST", env.URL+"/api/v1/clues", tok, map[string]any{
				"source": []string{"patrol", "hotline", "app"}[n%3], "external_id": fmt.Sprintf("e2e-stats-%d", n), "category": "CM.01.02",
				"text": "统计页面测试", "lon": p[0], "lat": p[1], "datum": "wgs84", "reported_at": time.Now().Add(-time.Hour).Format(time.RFC3339),
			})
			var out struct {
				Whistle *struct {
					ID    int64 `json:"id"`
					Units []string
				} `json:"whistle"`
			}
			if status != http.StatusCreated || json.Unmarshal(body, &out) != nil || out.Whistle == nil {
				t.Fatalf("clue %d: %d %s", n, status, body)
			}
			if first == 0 {
				first = out.Whistle.ID
			}
		}
	}
	// the first whistle goes the whole way
	var units []string
	rows, err := env.Pool.Query(ctx, `SELECT u.code FROM summons s JOIN units u ON u.id = s.unit_id WHERE s.whistle_id = $1 ORDER BY s.role DESC, u.code`, first)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var u string
		_ = rows.Scan(&u)
		units = append(units, u)
	}
	rows.Close()
	act := func(user, step string, body any) {
		t.Helper()
		if status, b := apiDo(t, "POST", fmt.Sprintf("%s/api/v1/whistles/%d/%s", env.URL, first, step), login(t, env.URL, user), body); status != http.StatusOK {
			t.Fatalf("%s %s: %d %s", user, step, status, b)
		}
	}
	var lead string
	if err := env.Pool.QueryRow(ctx, `SELECT u.code FROM summons s JOIN units u ON u.id = s.unit_id WHERE s.whistle_id = $1 AND s.role = 'lead' LIMIT 1`, first).Scan(&lead); err != nil {
		t.Fatal(err)
	}
	for _, u := range units {
		act("u"+u, "report-in", map[string]string{"person": "王强"})
	}
	act("u"+lead, "resolve", map[string]string{"outcome": "resolved"})
	act("t"+towns[0], "close", map[string]string{})
	for _, u := range units {
		act("t"+towns[0], "rate", map[string]any{"unit": u, "reported_in": 5, "resolved": 4, "satisfied": 5})
	}
	return towns
}

// TestStatsPages opens /stats, /assessment and /monthly as the command
// center and as a township (scoped): sets a filter, checks the charts drew
// on their canvases, downloads an xlsx through the page and reads it back,
// prints the monthly report to PDF and reads its pages with pdftotext, and
// runs axe-core on each page. Screenshots: artifacts/e2e-stats.png,
// e2e-assessment.png, e2e-monthly.png.
func TestStatsPages(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a browser test (make test runs it; make check skips it)")
	}
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatalf("pdftotext not found (%v): install poppler-utils (scripts/setup.sh --test)", err)
	}
	env := testenv.Start(t)
	requireBuiltFrontend(t, env.URL)
	towns := seedStats(t, env)
	now := time.Now().In(geo.Beijing)
	month := now.Format("2006-01")

	for _, who := range []struct{ user, town string }{{"command", ""}, {"t" + towns[0], towns[0]}} {
		t.Run(who.user, func(t *testing.T) {
			// /stats, in a browser of its own (the token is kept in localStorage)
			ctx := openAndLogin(t, newBrowser(t), env.URL+"/stats", who.user)
			t.Cleanup(func() {
				if t.Failed() {
					screenshot(t, ctx, "e2e-stats-failure.png")
				}
			})
			total := textOf(t, ctx, `[data-testid="stats-total"]`)
			want := "吹哨 5 件"
			if who.town != "" {
				want = "吹哨 3 件"
			}
			if !strings.HasPrefix(total, want) {
				t.Errorf("total %q, want %s", total, want)
			}
			checkCharts(t, ctx, []string{"trend", "source", "township", "category", "rates", "turnaround", "overdue", "map"})
			// a filter: the grade, held in the URL
			step(t, ctx, stepTimeout, "filter by grade",
				chromedp.SetValue(chromedp.CSS(`[data-testid="filter-grade"]`), "routine"),
				chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="stats-filters"]').dispatchEvent(new Event('change'))`))
			waitFor(t, ctx, mapReadyTimeout, "the filter in the URL and the charts redrawn",
				`location.search.includes('grade=routine') && document.body.dataset.mapReady === '1'`, `location.search`)
			checkCharts(t, ctx, []string{"trend", "township", "rates"})
			f := downloadXLSX(t, ctx, `[data-testid="xlsx-township"]`, "吹哨统计-按街乡镇")
			rows, _ := f.GetRows("吹哨统计")
			wantRows := 3 + 1 + 1 // three townships, the header, the total
			if who.town != "" {
				wantRows = 1 + 1 + 1
			}
			if len(rows) != wantRows || rows[0][0] != "代码" {
				t.Errorf("township xlsx: %d rows %v, want %d", len(rows), rows, wantRows)
			}
			if typ, _ := f.GetCellType("吹哨统计", "A2"); typ != excelize.CellTypeInlineString && typ != excelize.CellTypeSharedString {
				t.Errorf("the township code is stored as %v, want text", typ)
			}
			if who.town == "" {
				// drill into 康庄镇 by the URL the bar's click makes
				chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`history.pushState(null, '', location.pathname + location.search + '&drill=`+towns[0]+`'); dispatchEvent(new PopStateEvent('popstate'))`))
				waitFor(t, ctx, mapReadyTimeout, "the drill-down drawn",
					`document.querySelector('[data-testid="drill-title"]')?.textContent.startsWith('康庄镇') && document.body.dataset.mapReady === '1'`, `location.search`)
				checkCharts(t, ctx, []string{"drill"})
				screenshot(t, ctx, "e2e-stats.png")
			}
			axeClean(t, ctx, "/stats")

			// /assessment
			goTo(t, ctx, env.URL+fmt.Sprintf("/assessment?year=%d", now.Year()))
			waitFor(t, ctx, stepTimeout, "both tables",
				`document.querySelectorAll('[data-testid="units-table"] tbody tr[data-testid]').length > 0 && document.querySelectorAll('[data-testid="townships-table"] tbody tr[data-testid]').length > 0`,
				`document.body.innerText.slice(0, 300)`)
			step(t, ctx, stepTimeout, "open a township's whistles", chromedp.Click(chromedp.CSS(`[data-testid="townships-table"] tbody tr[data-testid="row-`+towns[0]+`"] .as-open`)))
			waitFor(t, ctx, stepTimeout, "the whistles behind the score", `(document.querySelector('[data-testid="detail-title"]')?.textContent || '').includes('吹哨 3 件')`,
				`document.querySelector('[data-testid="assessment-detail"]').innerText`)
			step(t, ctx, stepTimeout, "open a whistle's ratings", chromedp.Click(chromedp.CSS(`.as-detail tbody tr:last-child .as-open`)))
			waitFor(t, ctx, stepTimeout, "the ratings", `document.querySelector('.as-detail tbody tr:last-child .as-ratings').textContent.includes('5/4/5')`,
				`document.querySelector('.as-detail tbody').innerText`)
			f = downloadXLSX(t, ctx, `[data-testid="assessment-xlsx"]`, fmt.Sprintf("双向考核-%d", now.Year()))
			units, _ := f.GetRows("单位得分")
			townRows, _ := f.GetRows("街乡镇得分")
			wantTowns := 3
			if who.town != "" {
				wantTowns = 1
			}
			if len(units) < 2 || len(townRows) != wantTowns+1 || townRows[0][3] != "得分" {
				t.Errorf("assessment xlsx: %d unit rows, township rows %v", len(units), townRows)
			}
			if who.town == "" {
				screenshot(t, ctx, "e2e-assessment.png")
			}
			axeClean(t, ctx, "/assessment")

			// /monthly
			goTo(t, ctx, env.URL+"/monthly?month="+month)
			if got := textOf(t, ctx, `[data-testid="headline-table"] tbody tr:first-child td:nth-child(2)`); got != strings.TrimPrefix(want, "吹哨 ")[:1] {
				t.Errorf("headline whistles %q, want %s", got, want)
			}
			if who.town == "" {
				screenshot(t, ctx, "e2e-monthly.png")
			}
			axeClean(t, ctx, "/monthly")
			pdf, err := chromedp.Run(ctx, chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperA4), chromedp.PDFPreferCSSPageSize()))
			if err != nil {
				t.Fatal(err)
			}
			pages := pdfTextPages(t, pdf)
			heads := []string{"一、主要指标", "三、各单位三率", "四、问题类别前十", "六、未诉先办发现的热点"}
			if len(pages) != len(heads) {
				t.Fatalf("the report printed on %d pages, want %d:\n%s", len(pages), len(heads), strings.Join(pages, "\n----\n"))
			}
			for i, h := range heads {
				if !strings.Contains(pages[i], h) {
					t.Errorf("page %d lacks %s:\n%s", i+1, h, pages[i])
				}
			}
			// the ledger's progress of the month (整改台账): its review's counts
			if !strings.Contains(pages[3], "七、整改台账进展") || !strings.Contains(pages[3], "本月到期") {
				t.Errorf("page 4 lacks the ledger's progress:\n%s", pages[3])
			}
			if !strings.Contains(pages[0], "吹哨报到工作月报") || strings.Contains(pages[0], "打印") {
				t.Errorf("page 1 (title, no screen controls):\n%s", pages[0])
			}
		})
	}
}

// goTo loads url in the tab, logged in already, and waits for the page.
func goTo(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	step(t, ctx, stepTimeout, "open "+url, chromedp.Navigate(url))
	waitMapReady(t, ctx)
}

// checkCharts fails unless each named card's canvas has drawn pixels.
func checkCharts(t *testing.T, ctx context.Context, names []string) {
	t.Helper()
	for _, n := range names {
		sel := fmt.Sprintf(`[data-testid="chart-%s"] canvas`, n)
		if n == "drill" {
			sel = `[data-testid="stats-drill"] canvas`
		}
		drawn := evaluate[int](t, ctx, `(() => {
			const cs = [...document.querySelectorAll(`+jsString(sel)+`)];
			if (!cs.length) return -1;
			let n = 0;
			for (const c of cs) {
				const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
				for (let i = 3; i < d.length; i += 16) if (d[i] > 0) n++;
			}
			return n;
		})()`)
		if drawn < 200 {
			t.Errorf("chart %s: %d drawn pixels, want a drawn chart", n, drawn)
		}
	}
}

// downloadXLSX clicks a download button, waits for the browser to save
// the file, checks its name and opens it with excelize.
func downloadXLSX(t *testing.T, ctx context.Context, button, namePrefix string) *excelize.File {
	t.Helper()
	dir := t.TempDir()
	wctx, cancel := context.WithTimeout(ctx, mapReadyTimeout)
	defer cancel()
	progress := chromedp.Events(wctx, browser.DownloadProgress)
	begin := chromedp.Events(wctx, browser.DownloadWillBegin)
	if err := chromedp.Do(wctx,
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: ptrTo(true)})
			return err
		}),
		chromedp.Click(chromedp.CSS(button))); err != nil {
		t.Fatalf("download %s: %v", button, err)
	}
	var name string
	for ev, err := range begin {
		if err != nil {
			t.Fatalf("download %s: %v", button, err)
		}
		name = ev.SuggestedFilename
		break
	}
	if !strings.HasPrefix(name, namePrefix) || !strings.HasSuffix(name, ".xlsx") {
		t.Errorf("downloaded %q, want %s….xlsx", name, namePrefix)
	}
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("download %s: %v", button, err)
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatalf("download %s cancelled", button)
		}
		if ev.State != browser.DownloadProgressStateCompleted {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, ev.GUID))
		if err != nil {
			t.Fatal(err)
		}
		f, err := excelize.OpenReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	t.Fatalf("download %s: not completed", button)
	return nil
}

func ptrTo[T any](v T) *T { return &v }

// pdfTextPages is the text of each page of a PDF, by pdftotext.
func pdfTextPages(t *testing.T, pdf []byte) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "monthly.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	pages := strings.Split(strings.TrimRight(string(out), "\f\n "), "\f")
	return pages
}

// axeClean runs axe-core (frontend/node_modules/axe-core) on the page and
// fails on any serious or critical violation.
func axeClean(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "frontend", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core not installed (%v): run `make build`", err)
	}
	actx, cancel := context.WithTimeout(ctx, mapReadyTimeout)
	defer cancel()
	if _, err := chromedp.Run(actx, chromedp.Evaluate[chromedp.Void](string(src)+";undefined")); err != nil {
		t.Fatalf("load axe-core: %v", err)
	}
	type violation struct {
		ID     string `json:"id"`
		Impact string `json:"impact"`
		Help   string `json:"help"`
		Nodes  []struct {
			Target []any `json:"target"`
		} `json:"nodes"`
	}
	vs, err := chromedp.Run(actx, chromedp.Evaluate[[]violation](`axe.run(document, {resultTypes: ['violations']}).then((r) => r.violations)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe-core on %s: %v", page, err)
	}
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			var where []string
			for _, n := range v.Nodes {
				where = append(where, fmt.Sprint(n.Target...))
			}
			t.Errorf("axe %s on %s: %s (%s) at %s", v.Impact, page, v.ID, v.Help, strings.Join(where, ", "))
		}
	}
}

package e2e

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"whistlegrid/internal/testenv"
)

// A4 at 96 CSS px per inch, less the 10 mm margins of the print stylesheet:
// the printable area is 190 × 277 mm.
const (
	a4WidthPx      = 794  // 210 mm
	a4HeightPx     = 1123 // 297 mm
	printableWPx   = 718  // 190 mm
	printableHPx   = 1047 // 277 mm
	printReadyWait = mapReadyTimeout
)

// contactMapAPI is the part of GET /api/v1/villages/{code}/contact-map the
// browser test compares the page with.
type contactMapAPI struct {
	Village struct {
		Code string `json:"code"`
		Name string `json:"name"`
	} `json:"village"`
	PartyMembers []struct {
		PersonID int64  `json:"person_id"`
		Name     string `json:"name"`
		Phone    string `json:"phone"`
	} `json:"party_members"`
	Households []struct {
		ID int64 `json:"id"`
	} `json:"households"`
}

// emulateMedia makes CSS @media rules see the given media type ("print",
// "" for none) without opening a print dialog.
func emulateMedia(media string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: media})
		return chromedp.Void{}, err
	}
}

// TestVillageContactMap opens /village/{code} as the village's grid worker:
// the legend must hold one entry per party member of the village, in the
// API's order, with the names and phones the API gives this role; then,
// with print media emulated, the sheet must be white, titled and dated,
// hold the map and the member table, and fit one A4 page (measured, and
// printed to PDF). Screenshots: artifacts/e2e-village.png and
// artifacts/e2e-village-print.png.
func TestVillageContactMap(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a browser test (make test runs it; make check skips it)")
	}
	browser := newBrowser(t)
	env := testenv.Start(t)
	requireBuiltFrontend(t, env.URL)

	// The village with the most household grids: the hardest to fit on A4.
	var village string
	if err := env.Pool.QueryRow(context.Background(), `
		SELECT v.code FROM grids v JOIN grids h ON h.parent_id = v.id
		WHERE v.level = 'village' GROUP BY v.code ORDER BY count(*) DESC, v.code LIMIT 1`).Scan(&village); err != nil {
		t.Fatal(err)
	}
	user := "w" + village
	cm := apiGet[contactMapAPI](t, env.URL, "/api/v1/villages/"+village+"/contact-map", login(t, env.URL, user))
	if len(cm.PartyMembers) < 2 {
		t.Fatalf("village %s has %d party members; the test needs several", village, len(cm.PartyMembers))
	}

	ctx := openAndLogin(t, browser, env.URL+"/village/"+village, user)
	t.Cleanup(func() {
		if t.Failed() {
			screenshot(t, ctx, "e2e-village-failure.png")
		}
	})

	if got := textOf(t, ctx, `[data-testid="page-title"]`); got != "党员联系群众网格图" {
		t.Errorf("page title %q", got)
	}
	title := textOf(t, ctx, `[data-testid="village-title"]`)
	if !strings.HasSuffix(title, " 党员联系群众网格图") || !strings.Contains(cm.Village.Name, strings.TrimSuffix(strings.TrimSuffix(title, " 党员联系群众网格图"), "村")) {
		t.Errorf("title %q for %s", title, cm.Village.Name)
	}

	// One legend entry per party member, in the API's order, as the API shows them.
	type entry struct {
		ID    int64  `json:"id"`
		Name  string `json:"name"`
		Phone string `json:"phone"`
		Count string `json:"count"`
	}
	legend := evaluate[[]entry](t, ctx, `[...document.querySelectorAll('[data-testid="legend"] .legend-item')].map((e) => ({
		id: Number(e.dataset.personId),
		name: e.querySelector('.legend-name').textContent,
		phone: e.querySelector('.legend-phone').textContent,
		count: e.querySelector('.legend-count').textContent,
	}))`)
	if len(legend) != len(cm.PartyMembers) {
		t.Fatalf("legend has %d entries, the village has %d party members", len(legend), len(cm.PartyMembers))
	}
	for i, m := range cm.PartyMembers {
		if e := legend[i]; e.ID != m.PersonID || e.Name != m.Name || e.Phone != m.Phone {
			t.Errorf("legend entry %d = %+v, want %d %s %s", i, e, m.PersonID, m.Name, m.Phone)
		}
		if strings.Contains(m.Phone, "*") {
			t.Errorf("the grid worker sees party member %s's phone masked: %s", m.Name, m.Phone)
		}
	}
	// Each legend colour is its own.
	colours := evaluate[[]string](t, ctx, `[...document.querySelectorAll('[data-testid="legend"] .legend-item .swatch')].map((e) => e.style.background)`)
	seen := map[string]bool{}
	for _, c := range colours {
		if seen[c] {
			t.Errorf("colour %s is used for two party members", c)
		}
		seen[c] = true
	}
	screenshot(t, ctx, "e2e-village.png")

	// Print: A4 page size, print media. The page redraws the map for paper
	// and marks body[data-print-ready].
	step(t, ctx, stepTimeout, "emulate print",
		chromedp.EmulateViewport(a4WidthPx, a4HeightPx),
		emulateMedia("print"),
	)
	waitFor(t, ctx, printReadyWait, "map redrawn for print", `document.body.dataset.printReady === '1'`, `document.body.outerHTML.slice(0, 300)`)

	type layout struct {
		TitlebarShown bool    `json:"titlebarShown"`
		SideShown     bool    `json:"sideShown"`
		BodyBG        string  `json:"bodyBG"`
		Title         string  `json:"title"`
		Date          string  `json:"date"`
		SheetW        float64 `json:"sheetW"`
		SheetH        float64 `json:"sheetH"`
		MapW          float64 `json:"mapW"`
		MapH          float64 `json:"mapH"`
		Rows          int     `json:"rows"`
		MapBG         string  `json:"mapBG"`
	}
	got := evaluate[layout](t, ctx, `(() => {
		const shown = (sel) => { const e = document.querySelector(sel); return !!e && getComputedStyle(e).display !== 'none'; };
		const sheet = document.querySelector('.print-sheet').getBoundingClientRect();
		const map = document.querySelector('.village-map').getBoundingClientRect();
		const canvas = document.querySelector('.village-map canvas');
		// the colour of the map's corner pixel, read back from the preserved drawing buffer
		let mapBG = '';
		try {
			const c = document.createElement('canvas'); c.width = 1; c.height = 1;
			const g = c.getContext('2d'); g.drawImage(canvas, 2, 2, 1, 1, 0, 0, 1, 1);
			mapBG = Array.from(g.getImageData(0, 0, 1, 1).data.slice(0, 3)).join(',');
		} catch (e) { mapBG = String(e); }
		return {
			titlebarShown: shown('.titlebar'),
			sideShown: shown('.village-side'),
			bodyBG: getComputedStyle(document.body).backgroundColor,
			title: document.querySelector('[data-testid="village-title"]').textContent,
			date: document.querySelector('[data-testid="print-date"]').textContent,
			sheetW: sheet.width, sheetH: sheet.height, mapW: map.width, mapH: map.height,
			rows: document.querySelectorAll('.member-table tbody tr').length,
			mapBG,
		};
	})()`)
	if got.TitlebarShown || got.SideShown {
		t.Errorf("print shows the title bar (%v) or the on-screen legend (%v)", got.TitlebarShown, got.SideShown)
	}
	if got.BodyBG != "rgb(255, 255, 255)" {
		t.Errorf("print background %s, want white", got.BodyBG)
	}
	if got.MapBG != "255,255,255" {
		t.Errorf("printed map background %s, want white", got.MapBG)
	}
	if !regexp.MustCompile(`^制图日期：\d{4}年\d{1,2}月\d{1,2}日$`).MatchString(got.Date) || got.Title != title {
		t.Errorf("print title %q date %q", got.Title, got.Date)
	}
	if got.Rows != len(cm.PartyMembers) {
		t.Errorf("member table has %d rows, want %d", got.Rows, len(cm.PartyMembers))
	}
	if got.SheetW > printableWPx+1 || got.SheetH > printableHPx {
		t.Errorf("the sheet is %.0f × %.0f px, more than A4's printable %d × %d", got.SheetW, got.SheetH, printableWPx, printableHPx)
	}
	if got.MapW < printableWPx-2 || got.MapH < 400 {
		t.Errorf("the printed map is %.0f × %.0f px, want the page's width and at least 400 px high", got.MapW, got.MapH)
	}
	t.Logf("print sheet %.0f × %.0f px (A4 printable %d × %d), map %.0f × %.0f, %d members",
		got.SheetW, got.SheetH, printableWPx, printableHPx, got.MapW, got.MapH, got.Rows)
	shot := screenshot(t, ctx, "e2e-village-print.png")
	if frac, err := drawnFraction(shot); err == nil && frac < 0.5 {
		t.Errorf("only %.0f%% of the print screenshot differs from the dark background: the page is not on white", frac*100)
	}

	// Printed to PDF on A4, the sheet is one page.
	pdfCtx, cancel := context.WithTimeout(ctx, mapReadyTimeout)
	defer cancel()
	pdf, err := chromedp.Run(pdfCtx, chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperA4), chromedp.PDFPreferCSSPageSize(), chromedp.PDFPrintBackground()))
	if err != nil {
		t.Fatalf("print to PDF: %v", err)
	}
	if n := pdfPages(pdf); n != 1 {
		t.Errorf("the contact map prints on %d A4 pages, want 1", n)
	}

	step(t, ctx, stepTimeout, "back to screen", emulateMedia(""))
	waitFor(t, ctx, printReadyWait, "map redrawn for screen", `document.body.dataset.printReady === undefined`, `document.body.outerHTML.slice(0, 300)`)
}

// pdfPages counts the pages of a PDF that Chromium wrote: the /Count of its
// page tree (the largest, the root's).
func pdfPages(pdf []byte) int {
	n := 0
	for _, m := range regexp.MustCompile(`/Type\s*/Pages\b[^>]*?/Count\s+(\d+)|/Count\s+(\d+)[^>]*?/Type\s*/Pages\b`).FindAllSubmatch(pdf, -1) {
		for _, g := range m[1:] {
			if v, err := strconv.Atoi(string(g)); err == nil && v > n {
				n = v
			}
		}
	}
	if n == 0 {
		// no page tree in the clear: count the page objects
		n = len(regexp.MustCompile(`/Type\s*/Page[^s]`).FindAll(pdf, -1))
	}
	return n
}

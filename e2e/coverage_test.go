package e2e

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"whistlegrid/internal/testenv"
)

// coverageAPI is the part of GET /api/v1/coverage the browser test compares
// the panel with.
type coverageAPI struct {
	Parent struct {
		Code string `json:"code"`
		Name string `json:"name"`
	} `json:"parent"`
	Gaps          []struct{} `json:"gaps"`
	Overlaps      []struct{} `json:"overlaps"`
	OutsideParent []struct{} `json:"outside_parent"`
	Unstaffed     []struct {
		Code string `json:"code"`
	} `json:"unstaffed"`
	Outside  []struct{} `json:"households_outside"`
	NoMember []struct {
		ID int64 `json:"id"`
	} `json:"households_without_party_member"`
	Load struct {
		Members  int        `json:"members"`
		Outliers []struct{} `json:"outliers"`
	} `json:"party_member_load"`
}

// counts are the panel's numbers by test id, as the API gives them.
func (c coverageAPI) counts() map[string]int {
	return map[string]int{
		"count-gaps":                            len(c.Gaps),
		"count-overlaps":                        len(c.Overlaps),
		"count-outside-parent":                  len(c.OutsideParent),
		"count-unstaffed":                       len(c.Unstaffed),
		"count-households-outside":              len(c.Outside),
		"count-households-without-party-member": len(c.NoMember),
		"count-party-members":                   c.Load.Members,
		"count-load-outliers":                   len(c.Load.Outliers),
	}
}

// TestCoverage opens /coverage as the command center: the review of its own
// grid, the district, comes first; then the picker drills down to 康庄镇,
// where the test made two defects (a village without its grid worker, a
// household without its party member). Each time the panel's counts must
// equal the API's, and a click on a defect in the list must put it on the
// map. Screenshot: artifacts/e2e-coverage.png.
func TestCoverage(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a browser test (make test runs it; make check skips it)")
	}
	browser := newBrowser(t)
	env := testenv.Start(t)
	requireBuiltFrontend(t, env.URL)
	const township = "110119101" // 康庄镇

	// Two defects in 康庄镇: its first village loses its grid worker (巡查),
	// its first household its party member.
	ctx0 := context.Background()
	var village string
	if err := env.Pool.QueryRow(ctx0, `
		UPDATE assignments a SET valid_to = now()
		FROM grids g WHERE g.id = a.grid_id AND a.duty = 'patrol' AND a.valid_to IS NULL
		  AND g.code = (SELECT min(code) FROM grids WHERE level = 'village' AND code LIKE $1 || '%')
		RETURNING g.code`, township).Scan(&village); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Pool.Exec(ctx0, `
		UPDATE households SET party_member_id = NULL WHERE id = (
			SELECT min(h.id) FROM households h JOIN grids g ON g.id = h.grid_id WHERE g.code LIKE $1 || '%')`, township); err != nil {
		t.Fatal(err)
	}
	token := login(t, env.URL, "command")

	ctx := openAndLogin(t, browser, env.URL+"/coverage", "command")
	t.Cleanup(func() {
		if t.Failed() {
			screenshot(t, ctx, "e2e-coverage-failure.png")
		}
	})
	checkCounts := func(parent string) coverageAPI {
		t.Helper()
		cv := apiGet[coverageAPI](t, env.URL, "/api/v1/coverage?parent="+parent, token)
		if got := evaluate[string](t, ctx, `document.querySelector('[data-testid="coverage-parent"]').dataset.code || ''`); got != parent {
			t.Fatalf("the panel reviews %q, want %s", got, parent)
		}
		for id, want := range cv.counts() {
			if got := textOf(t, ctx, fmt.Sprintf(`[data-testid=%q]`, id)); got != strconv.Itoa(want) {
				t.Errorf("%s: %s: panel %q, API %d", parent, id, got, want)
			}
		}
		rows := evaluate[int](t, ctx, `document.querySelectorAll('[data-testid="load-table"] tbody tr[data-person-id]').length`)
		if want := min(cv.Load.Members, 60+len(cv.Load.Outliers)); rows < min(want, 60) || rows > want {
			t.Errorf("%s: load table has %d rows for %d members", parent, rows, cv.Load.Members)
		}
		return cv
	}

	// The command center's own grid first: the district.
	if got := evaluate[string](t, ctx, `location.pathname + location.search`); got != "/coverage?parent=110119" {
		t.Errorf("location %s, want the district's review", got)
	}
	district := checkCounts("110119")
	if district.Parent.Name == "" {
		t.Errorf("district review %+v", district.Parent)
	}

	// Drill down to 康庄镇 with the picker.
	step(t, ctx, stepTimeout, "pick 康庄镇",
		chromedp.SetValue(chromedp.CSS(`[data-testid="pick-township"]`), township),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="pick-township"]').dispatchEvent(new Event('change'))`),
	)
	waitFor(t, ctx, mapReadyTimeout, "康庄镇 reviewed",
		`document.querySelector('[data-testid="coverage-parent"]').dataset.code === '110119101' && document.body.dataset.mapReady === '1'`,
		`document.querySelector('[data-testid="coverage-parent"]').dataset.code + ' ' + (document.querySelector('.map-status')?.textContent || '')`)
	cv := checkCounts(township)
	if len(cv.Unstaffed) != 1 || cv.Unstaffed[0].Code != village || len(cv.NoMember) != 1 {
		t.Fatalf("API: unstaffed %+v, without party member %+v; want %s and one household", cv.Unstaffed, cv.NoMember, village)
	}
	if got := evaluate[string](t, ctx, `location.search`); got != "?parent="+township {
		t.Errorf("location search %q after picking", got)
	}

	// The unstaffed village is listed; a click puts it on the map.
	step(t, ctx, stepTimeout, "list the unstaffed grids",
		chromedp.Click(chromedp.CSS(`.cov-count.cov-unstaffed`)),
		chromedp.Click(chromedp.CSS(`[data-testid="defect-list"] li.clickable`)),
	)
	waitFor(t, ctx, stepTimeout, "the unstaffed village in focus",
		`document.querySelector('.cov-list-title').textContent.startsWith('无人值守（1）') && document.querySelector('.cov-map').dataset.focus === 'unstaffed:0'`,
		`document.querySelector('.cov-list-title').textContent + ' focus=' + document.querySelector('.cov-map').dataset.focus`)
	// let the flight end before the screenshot
	waitFor(t, ctx, stepTimeout, "the map at rest", `!document.querySelector('.cov-map').classList.contains('moving')`, `''`)
	screenshot(t, ctx, "e2e-coverage.png")
}

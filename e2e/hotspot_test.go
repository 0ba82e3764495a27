package e2e

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"whistlegrid/internal/testenv"
)

// hotspotAPI is the part of GET /api/v1/hotspots the browser test compares
// the legend with.
type hotspotAPI struct {
	Features []struct {
		Properties struct {
			Class string `json:"class"`
		} `json:"properties"`
	} `json:"features"`
}

// TestWallHotspots plants a new hot spot on the demo, opens the wall map
// as the command center, switches the 未诉先办 layer on and checks that the
// legend counts each class as the API does, that the map draws the
// hexagons, that the category picker and the township filter reload the layer for that township
// only, and that switching it off hides them. Screenshot:
// artifacts/e2e-hotspots.png.
func TestWallHotspots(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a browser test (make test runs it; make check skips it)")
	}
	browser := newBrowser(t)
	env := testenv.Start(t)
	requireBuiltFrontend(t, env.URL)
	p := testenv.PlantHotspot(t, env.Pool)

	want := apiGet[hotspotAPI](t, env.URL, "/api/v1/hotspots", login(t, env.URL, "command"))
	byClass := map[string]int{}
	for _, f := range want.Features {
		byClass[f.Properties.Class]++
	}
	// the cluster lies in last week, which the default window (twelve weeks
	// to now) may cut in two: new or consecutive
	if byClass["new_hot_spot"]+byClass["consecutive_hot_spot"] == 0 {
		t.Fatalf("the API finds no new or consecutive hot spot in the planted data: %v", byClass)
	}

	ctx := openAndLogin(t, browser, env.URL+"/", "command")
	t.Cleanup(func() {
		if t.Failed() {
			screenshot(t, ctx, "e2e-hotspots-failure.png")
		}
	})
	const legend = `document.querySelector('[data-testid="hotspot-legend"]')`
	if !evaluate[bool](t, ctx, legend+`.hidden`) {
		t.Errorf("the hotspot legend shows before the layer is switched on")
	}
	step(t, ctx, stepTimeout, "switch the hotspot layer on", chromedp.Click(chromedp.CSS(`[data-testid="hotspot-toggle"]`)))
	waitFor(t, ctx, mapReadyTimeout, "hotspots drawn",
		legend+`.dataset.state === 'loaded' && Number(`+legend+`.dataset.rendered) > 0`,
		legend+`.outerHTML.slice(0, 400)`)

	type row struct {
		Class string `json:"cls"`
		Count string `json:"count"`
		Name  string `json:"name"`
	}
	rows := evaluate[[]row](t, ctx, `[...document.querySelectorAll('[data-testid="hotspot-legend"] .legend-row')].map((r) => ({
		cls: r.dataset.class, name: r.querySelector('span').textContent, count: r.querySelector('b').textContent }))`)
	if len(rows) < 8 {
		t.Fatalf("%d legend rows, want the 8 hot classes at least: %+v", len(rows), rows)
	}
	for _, r := range rows {
		n, err := strconv.Atoi(r.Count)
		if err != nil || r.Name == "" {
			t.Errorf("legend row %+v", r)
			continue
		}
		switch r.Class {
		case "cold", "none":
			continue
		}
		if n != byClass[r.Class] {
			t.Errorf("legend: %s (%s) %d, the API has %d", r.Name, r.Class, n, byClass[r.Class])
		}
	}
	if got := evaluate[int](t, ctx, `Number(`+legend+`.dataset.features)`); got != len(want.Features) {
		t.Errorf("legend data-features %d, the API answers %d", got, len(want.Features))
	}
	if note := textOf(t, ctx, `[data-testid="hotspot-legend"] .legend-note`); !strings.HasPrefix(note, "近12周") {
		t.Errorf("legend note %q, want the window", note)
	}
	screenshot(t, ctx, "e2e-hotspots.png")

	// Another category: the planted clues are all 工地扬尘, none 热线 (HL).
	hl := apiGet[hotspotAPI](t, env.URL, "/api/v1/hotspots?category=HL", login(t, env.URL, "command"))
	evaluate[bool](t, ctx, `(() => { const s = document.querySelector('[data-testid="hotspot-category"]'); s.value = 'HL';
		return s.dispatchEvent(new Event('change')); })()`)
	waitFor(t, ctx, mapReadyTimeout, "hotspots of category HL",
		legend+`.dataset.state === 'loaded' && Number(`+legend+`.dataset.features) === `+strconv.Itoa(len(hl.Features)),
		legend+`.dataset.features + ' ' + `+legend+`.dataset.state`)
	if len(hl.Features) >= len(want.Features) {
		t.Errorf("category HL has %d features, all categories %d: the planted clues are not HL", len(hl.Features), len(want.Features))
	}
	evaluate[bool](t, ctx, `(() => { const s = document.querySelector('[data-testid="hotspot-category"]'); s.value = '';
		return s.dispatchEvent(new Event('change')); })()`)

	// Another township: its own analysis, without the planted cluster.
	other := "110119101"
	if other == p.Township {
		t.Fatal("the planted township is the one the test switches to")
	}
	otherAnswer := apiGet[hotspotAPI](t, env.URL, "/api/v1/hotspots?township="+other, login(t, env.URL, "command"))
	evaluate[bool](t, ctx, `(() => { const s = document.querySelector('[data-testid="township-filter"]'); s.value = `+jsString(other)+`;
		return s.dispatchEvent(new Event('change')); })()`)
	waitFor(t, ctx, mapReadyTimeout, "hotspots of "+other,
		legend+`.dataset.state === 'loaded' && Number(`+legend+`.dataset.features) === `+strconv.Itoa(len(otherAnswer.Features)),
		legend+`.dataset.features + ' ' + `+legend+`.dataset.state`)

	step(t, ctx, stepTimeout, "switch the hotspot layer off", chromedp.Click(chromedp.CSS(`[data-testid="hotspot-toggle"]`)))
	waitFor(t, ctx, stepTimeout, "legend hidden", legend+`.hidden`, legend+`.outerHTML.slice(0, 200)`)
}

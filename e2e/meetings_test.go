package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"whistlegrid/internal/testenv"
)

// TestMeetingsPage opens /village/{code}/meetings as the village's
// township: the meeting recorded over the API is listed with its matter;
// by keyboard alone (focus the matter's button, Enter, type the decision,
// Enter) the matter moves to 议事 with the decision, and the API then says
// so; axe-core finds nothing serious on a desktop and on a 390×844 phone,
// where the page does not scroll sideways.
func TestMeetingsPage(t *testing.T) {
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
	town := login(t, env.URL, "t110119101")
	st, b := apiDo(t, "POST", env.URL+"/api/v1/villages/"+village+"/meetings", town, map[string]any{
		"held_at": time.Now().Add(-2 * time.Hour).Format(time.RFC3339), "place": "村委会议室", "host": "村党支部书记", "attendees": 30,
		"matters": []map[string]any{{"text": "村口路灯不亮，晚上出行不便", "category": "CM.01.03"}}})
	if st != http.StatusCreated {
		t.Fatalf("meeting: %d %s", st, b)
	}
	var m struct{ ID int64 }
	_ = json.Unmarshal(b, &m)

	ctx := openAndLogin(t, browser, env.URL+"/village/"+village+"/meetings", "t110119101")
	row := fmt.Sprintf(`.meeting[data-id="%d"] .matter[data-n="1"]`, m.ID)
	waitFor(t, ctx, stepTimeout, "the meeting listed", fmt.Sprintf(`document.querySelector(%s)?.dataset.stage === 'raised'`, jsString(row)),
		`document.querySelector('[data-testid="meetings-list"]')?.innerText`)
	checkAxe(t, ctx, "/village/{code}/meetings")

	const decision = "由村两委协调供电所维修"
	step(t, ctx, stepTimeout, "议事 by keyboard",
		chromedp.Focus(chromedp.CSS(row+` [data-testid="step-open"]`)),
		chromedp.SendKeys(chromedp.CSS(row+` [data-testid="step-open"]`), "\r"),
		chromedp.WaitVisible(chromedp.CSS(row+` [data-testid="step-decision"]`)))
	if focused := evaluate[string](t, ctx, `document.activeElement?.dataset.testid || ''`); focused != "step-decision" {
		t.Errorf("the step form opened with focus on %q, want its decision field", focused)
	}
	checkAxe(t, ctx, "/village/{code}/meetings with a step form")
	step(t, ctx, stepTimeout, "type the decision and press Enter",
		chromedp.SendKeys(chromedp.CSS(row+` [data-testid="step-decision"]`), decision+"\r"))
	waitFor(t, ctx, stepTimeout, "the matter discussed", fmt.Sprintf(`document.querySelector(%s)?.dataset.stage === 'discussed'`, jsString(row)),
		`document.querySelector('[data-testid="meetings-list"]')?.innerText`)
	got := apiGet[struct {
		Meetings []struct {
			ID      int64
			Matters []struct{ Stage, Decision string }
		}
	}](t, env.URL, "/api/v1/villages/"+village+"/meetings", town)
	found := false
	for _, x := range got.Meetings {
		if x.ID == m.ID {
			found = true
			if len(x.Matters) != 1 || x.Matters[0].Stage != "discussed" || x.Matters[0].Decision != decision {
				t.Errorf("after the browser's 议事 the API says %+v", x.Matters)
			}
		}
	}
	if !found {
		t.Errorf("meeting %d not in the API's list", m.ID)
	}

	step(t, ctx, stepTimeout, "phone size", emulatePhone())
	if w := evaluate[bool](t, ctx, `document.documentElement.scrollWidth > window.innerWidth`); w {
		t.Error("the meetings page scrolls sideways at 390×844")
	}
	checkAxe(t, ctx, "/village/{code}/meetings at 390×844")
}

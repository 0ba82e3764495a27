package e2e

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"whistlegrid/internal/testenv"
)

// TestMeetingsPage: a grid worker records a villagers' meeting (村民说事) in
// the browser through the page's form; the page lists it and the API has
// its matter as a clue of source meeting.
func TestMeetingsPage(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a browser test (make test runs it; make check skips it)")
	}
	browser := newBrowser(t)
	env := testenv.Start(t)
	requireBuiltFrontend(t, env.URL)
	var village string
	if err := env.Pool.QueryRow(context.Background(), `SELECT min(code) FROM grids WHERE level = 'village' AND code LIKE '110119101%'`).Scan(&village); err != nil {
		t.Fatal(err)
	}
	ctx := openAndLogin(t, browser, env.URL+"/village/"+village+"/meetings", "w"+village)
	t.Cleanup(func() {
		if t.Failed() {
			screenshot(t, ctx, "e2e-meetings-failure.png")
		}
	})
	step(t, ctx, stepTimeout, "record a meeting",
		chromedp.SetValue(chromedp.CSS(`[data-testid="meeting-form"] input[name="held_at"]`), "2026-11-20T19:30"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="meeting-form"] input[name="host"]`), "村书记"),
		chromedp.SetValue(chromedp.CSS(`[data-testid="meeting-form"] input[name="attendees"]`), "35"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="meeting-form"] input[name="category"]`), "CM.01.03"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="meeting-form"] textarea[name="matters"]`), "村口有人摆摊"),
		chromedp.Click(chromedp.CSS(`[data-testid="meeting-form"] button[type="submit"]`)),
	)
	waitFor(t, ctx, stepTimeout, "the meeting listed",
		`document.querySelectorAll('[data-testid="meetings-list"] .meeting .matter[data-stage="raised"]').length === 1`,
		`document.querySelector('[data-testid="meetings-list"]')?.textContent || ''`)
	token := login(t, env.URL, "command")
	got := apiGet[struct {
		Meetings []struct {
			Attendees int
			Matters   []struct {
				ClueID int64 `json:"clue_id"`
				Text   string
			}
		}
	}](t, env.URL, "/api/v1/villages/"+village+"/meetings", token)
	if len(got.Meetings) != 1 || got.Meetings[0].Attendees != 35 || len(got.Meetings[0].Matters) != 1 || got.Meetings[0].Matters[0].Text != "村口有人摆摊" {
		t.Fatalf("meetings %+v", got)
	}
	var source string
	_ = env.Pool.QueryRow(context.Background(), `SELECT source FROM clues WHERE id = $1`, got.Meetings[0].Matters[0].ClueID).Scan(&source)
	if source != "meeting" {
		t.Errorf("the matter's clue has source %q", source)
	}
}

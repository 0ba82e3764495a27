package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"whistlegrid/internal/testenv"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// The demo database holds the 18 townships and 431 villages of 延庆区.
const (
	wantTownships = 18
	wantVillages  = 431
)

// minDrawnFraction is the least share of the map area, below the title bar,
// that must differ from the page background once the district is fitted.
const minDrawnFraction = 0.10

// Time limits: one for each ordinary step, and one for the map, which parses
// and draws ~450 polygons in a software-rendered WebGL context.
const (
	stepTimeout     = 15 * time.Second
	mapReadyTimeout = 60 * time.Second
)

// TestMap logs in through the form as the wall screen, waits for the grid
// map to be drawn, checks the township and village counts the page drew, and
// saves artifacts/e2e-map.png. It also checks that a wrong password shows the
// error, that logout and an expired token both bring back the login form.
func TestMap(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a browser test (make test runs it; make check skips it)")
	}
	browser := newBrowser(t)
	env := testenv.Start(t)
	requireBuiltFrontend(t, env.URL)

	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	logConsole(t, ctx)

	// The first action starts the browser; it must run without a timeout
	// (a timeout on the first Run would bound the browser's whole life).
	if err := chromedp.Do(ctx, chromedp.Navigate(env.URL)); err != nil {
		t.Fatalf("open %s: %v", env.URL, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			screenshot(t, ctx, "e2e-map-failure.png")
		}
	})

	const (
		username = `[data-testid="login-username"]`
		password = `[data-testid="login-password"]`
		submit   = `[data-testid="login-submit"]`
		loginErr = `[data-testid="login-error"]`
		mapReady = `body[data-map-ready="1"]`
	)

	// A wrong password keeps the form up and shows an error.
	step(t, ctx, stepTimeout, "wrong password",
		chromedp.WaitVisible(chromedp.CSS(username)),
		chromedp.SendKeys(chromedp.CSS(username), "screen"),
		chromedp.SendKeys(chromedp.CSS(password), "not-the-password"),
		chromedp.Click(chromedp.CSS(submit)),
		chromedp.WaitVisible(chromedp.CSS(loginErr)),
	)
	if msg := textOf(t, ctx, loginErr); msg == "" {
		t.Errorf("login-error is visible but empty after a wrong password")
	}
	if token := localToken(t, ctx); token != "" {
		t.Errorf("a token %q was saved after a wrong password", token)
	}

	// The right password: the form goes away and the map is drawn.
	step(t, ctx, stepTimeout, "log in as screen",
		// chromedp.Clear only resets the value attribute; empty the live values.
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
			`document.querySelector(%q).value = ''; document.querySelector(%q).value = ''`, username, password)),
		chromedp.SendKeys(chromedp.CSS(username), "screen"),
		chromedp.SendKeys(chromedp.CSS(password), "demo"),
		chromedp.Click(chromedp.CSS(submit)),
		chromedp.WaitNotVisible(chromedp.CSS(username)),
	)
	if localToken(t, ctx) == "" {
		t.Errorf("no token in localStorage[%q] after login", "whistlegrid.token")
	}
	waitCtx, waitCancel := context.WithTimeout(ctx, mapReadyTimeout)
	err := chromedp.Do(waitCtx, chromedp.WaitReady(chromedp.CSS(mapReady)))
	waitCancel()
	if err != nil {
		status, _ := chromedp.Run(ctx, chromedp.Evaluate[string](
			`(document.querySelector('.map-status')?.textContent || '').trim()`))
		t.Fatalf("map not ready within %s (%v); the page says %q", mapReadyTimeout, err, status)
	}

	if got := textOf(t, ctx, `[data-testid="township-count"]`); got != strconv.Itoa(wantTownships) {
		t.Errorf("township-count = %q, want %d", got, wantTownships)
	}
	if got := textOf(t, ctx, `[data-testid="village-count"]`); got != strconv.Itoa(wantVillages) {
		t.Errorf("village-count = %q, want %d", got, wantVillages)
	}
	labels, err := chromedp.Run(ctx, chromedp.Evaluate[int](
		`document.querySelectorAll('.grid-label.label-township').length`))
	if err != nil {
		t.Fatalf("count township labels: %v", err)
	}
	if labels != wantTownships {
		t.Errorf("%d township labels on the map, want %d", labels, wantTownships)
	}
	shot := screenshot(t, ctx, "e2e-map.png")
	// The counts say what the page loaded; the pixels say it was drawn (a
	// collapsed container or a dead WebGL context leaves the background).
	frac, err := drawnFraction(shot)
	switch {
	case err != nil:
		t.Errorf("read the screenshot: %v", err)
	case frac < minDrawnFraction:
		t.Errorf("only %.1f%% of the map area differs from the background, want at least %.0f%%: the grids were not drawn",
			frac*100, minDrawnFraction*100)
	default:
		t.Logf("%.0f%% of the map area is drawn", frac*100)
	}

	// Logout brings back the form and forgets the token.
	step(t, ctx, stepTimeout, "log out",
		chromedp.Click(chromedp.CSS(`[data-testid="logout"]`)),
		chromedp.WaitVisible(chromedp.CSS(username)),
	)
	if token := localToken(t, ctx); token != "" {
		t.Errorf("token %q still in localStorage after logout", token)
	}

	// A token the server does not know (expired, revoked) answers 401: the
	// page drops it and shows the form with a message.
	step(t, ctx, stepTimeout, "stale token",
		chromedp.Evaluate[chromedp.Void](`localStorage.setItem('whistlegrid.token', 'no-such-token')`),
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(loginErr)),
		chromedp.WaitVisible(chromedp.CSS(username)),
	)
	if token := localToken(t, ctx); token != "" {
		t.Errorf("stale token %q still in localStorage after a 401", token)
	}
}

// newBrowser returns an allocator context for a fresh headless Chromium with
// its own profile in a temporary folder. A missing Chromium is a failure, not
// a skip: the browser tests are part of `make test`.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium not found at %s (%v): install it with `apt-get install -y chromium`", chromiumPath, err)
	}
	ctx, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("enable-unsafe-swiftshader", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1600, 1000),
	)
	t.Cleanup(cancel)
	return ctx
}

// requireBuiltFrontend fails the test with the fix when the server answers
// the page with 503 because the frontend was not built.
func requireBuiltFrontend(t *testing.T, baseURL string) {
	t.Helper()
	client := &http.Client{Timeout: stepTimeout}
	res, err := client.Get(baseURL + "/")
	if err != nil {
		t.Fatalf("GET %s/: %v", baseURL, err)
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/ = %d %q: build the frontend first with `make build`", baseURL, res.StatusCode, body)
	}
}

// step runs the actions with a time limit and fails the test with the step's
// name when one of them fails.
func step(t *testing.T, ctx context.Context, limit time.Duration, name string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: not done within %s: %v", name, limit, err)
		}
		t.Fatalf("%s: %v", name, err)
	}
}

// textOf returns the trimmed textContent of the first element matching the
// CSS selector, or "" when there is none.
func textOf(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		fmt.Sprintf(`(document.querySelector(%q)?.textContent || '').trim()`, css)))
	if err != nil {
		t.Fatalf("read %s: %v", css, err)
	}
	return s
}

// localToken returns the saved bearer token, or "" when there is none.
func localToken(t *testing.T, ctx context.Context) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`localStorage.getItem('whistlegrid.token') || ''`))
	if err != nil {
		t.Fatalf("read the saved token: %v", err)
	}
	return s
}

// logConsole copies the page's console errors and uncaught exceptions into
// the test log, so a failing run shows what the page saw, and fails the
// test on a Content-Security-Policy violation: the server's CSP must allow
// everything the pages really load.
func logConsole(t *testing.T, ctx context.Context) {
	t.Helper()
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				t.Logf("browser %s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line)
			}
			if strings.Contains(m.Text, "Content Security Policy") {
				t.Errorf("the page broke the server's CSP: %s (%s:%d)", m.Text, m.URL, m.Line)
			}
		}
	}()
	t.Cleanup(func() {
		chromedp.Cancel(ctx)
		<-done
	})
}

// screenshot saves a PNG of the viewport to artifacts/NAME at the repository
// root and returns it (nil when it could not be taken).
func screenshot(t *testing.T, ctx context.Context, name string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return nil
	}
	dir, err := artifactsDir()
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return shot
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return shot
	}
	t.Logf("screenshot saved to %s", path)
	return shot
}

// drawnFraction returns the share of the screenshot's pixels below the title
// bar whose colour is clearly not the map background (#070d1a).
func drawnFraction(pngData []byte) (float64, error) {
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		return 0, err
	}
	const titleBar = 80 // px, a little more than the 56 px bar and its shadow
	b := img.Bounds()
	var drawn, total int
	for y := b.Min.Y + titleBar; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			d := absDiff(r>>8, 0x07) + absDiff(g>>8, 0x0d) + absDiff(bl>>8, 0x1a)
			if d > 24 {
				drawn++
			}
			total++
		}
	}
	if total == 0 {
		return 0, fmt.Errorf("screenshot of %dx%d px has no map area", b.Dx(), b.Dy())
	}
	return float64(drawn) / float64(total), nil
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// artifactsDir returns (and creates) artifacts/ at the repository root: the
// first folder upward from the test's working directory that holds go.mod.
func artifactsDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test's working directory")
		}
		dir = parent
	}
	dir = filepath.Join(dir, "artifacts")
	return dir, os.MkdirAll(dir, 0o755)
}

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// openAndLogin opens url in a fresh tab of browser, logs in as user through
// the form and waits for the page's map (body[data-map-ready="1"]). It
// returns the tab's context.
func openAndLogin(t *testing.T, browser context.Context, url, user string) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	logConsole(t, ctx)
	// The first action starts the browser; it must run without a timeout.
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	logInForm(t, ctx, stepTimeout, user)
	return ctx
}

// logInForm logs user in (password demo) through the login form of the
// tab's page, after the actions before (e.g. a Navigate), and waits for the
// page to be ready (waitMapReady).
func logInForm(t *testing.T, ctx context.Context, timeout time.Duration, user string, before ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	step(t, ctx, timeout, "log in as "+user, append(before,
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-username"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-username"]`), user),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-password"]`), "demo"),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitNotVisible(chromedp.CSS(`[data-testid="login-username"]`)),
	)...)
	waitMapReady(t, ctx)
}

// waitMapReady waits for body[data-map-ready="1"] and fails with what the
// page's status line says when it does not come.
func waitMapReady(t *testing.T, ctx context.Context) {
	t.Helper()
	waitCtx, cancel := context.WithTimeout(ctx, mapReadyTimeout)
	err := chromedp.Do(waitCtx, chromedp.WaitReady(chromedp.CSS(`body[data-map-ready="1"]`)))
	cancel()
	if err != nil {
		status, _ := chromedp.Run(ctx, chromedp.Evaluate[string](
			`(document.querySelector('.map-status')?.textContent || '').trim()`))
		t.Fatalf("map not ready within %s (%v); the page says %q", mapReadyTimeout, err, status)
	}
}

// waitFor polls the JavaScript expression until it is true or limit passes,
// and returns how long it took; on timeout it fails with describe's value.
func waitFor(t *testing.T, ctx context.Context, limit time.Duration, what, expr, describe string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](describe))
			t.Fatalf("%s: not within %s (err %v); page: %s", what, limit, err, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// evaluate runs a JavaScript expression in the tab and returns its value.
func evaluate[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// apiGet GETs an API path with a bearer token and decodes the JSON answer.
func apiGet[T any](t *testing.T, baseURL, path, token string) T {
	t.Helper()
	var out T
	status, body := apiDo(t, http.MethodGet, baseURL+path, token, nil)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %.300s", path, status, body)
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return out
}

// apiDo sends a request with a bearer token and an optional JSON body.
func apiDo(t *testing.T, method, url, token string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := (&http.Client{Timeout: mapReadyTimeout}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// login logs a demo user in through the API and returns the token.
func login(t *testing.T, baseURL, user string) string {
	t.Helper()
	status, body := apiDo(t, http.MethodPost, baseURL+"/api/v1/auth/login", "", map[string]string{"username": user, "password": "demo"})
	var out struct {
		Token string `json:"token"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &out) != nil || out.Token == "" {
		t.Fatalf("log in %s: %d %s", user, status, body)
	}
	return out.Token
}

// jsString quotes s for JavaScript source.
func jsString(s string) string { return fmt.Sprintf("%q", s) }

package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
)

// TestWallResidentRate: the wall shows the residents' satisfaction rate
// (居民满意率, the answer at the command center's callback) beside the
// township's rating of the units (街乡评价), each under its own name, and
// the resident's figure is the statistics' one: the latest callback of each
// whistle counts.
func TestWallResidentRate(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a browser test (make test runs it; make check skips it)")
	}
	browser := newBrowser(t)
	pool, srv, lon, lat := wallServer(t)
	ctx0 := context.Background()
	status, body := apiDo(t, http.MethodPost, srv.URL+"/api/v1/clues", login(t, srv.URL, "t"+wallTownship), wallClue(1, lon, lat))
	var out struct {
		Whistle *struct {
			ID int64 `json:"id"`
		} `json:"whistle"`
	}
	if status != http.StatusCreated || json.Unmarshal(body, &out) != nil || out.Whistle == nil {
		t.Fatalf("POST /api/v1/clues: %d %.400s", status, body)
	}
	// first unsatisfied, then called again and basically satisfied: the
	// latest answer is the resident's
	if _, err := pool.Exec(ctx0, `INSERT INTO whistle_callbacks (whistle_id, at, actor, result)
		VALUES ($1, now() - interval '1 hour', 'callback', 'unsatisfied'), ($1, now(), 'callback', 'basically_satisfied')`, out.Whistle.ID); err != nil {
		t.Fatal(err)
	}

	ctx := openAndLogin(t, browser, srv.URL+"/", "screen")
	const resident = `document.querySelector('[data-testid="rate-resident"]')`
	waitFor(t, ctx, mapReadyTimeout, "居民满意率 from the callbacks", resident+`.textContent === '100.0%'
		&& `+resident+`.parentElement.querySelector('.rate-frac').textContent === '回访1件'`,
		resident+`.parentElement.textContent`)
	labels := evaluate[[]string](t, ctx, `[...document.querySelectorAll('.rates .rate-label')].map((e) => e.textContent)`)
	want := map[string]bool{"街乡评价": false, "居民满意率": false}
	for _, l := range labels {
		if _, ok := want[l]; ok {
			want[l] = true
		}
	}
	if !want["街乡评价"] || !want["居民满意率"] {
		t.Errorf("the wall's rates are %v, want both 街乡评价 and 居民满意率", labels)
	}
	// no unit was rated: the township's figure is empty, not the residents'
	if got := textOf(t, ctx, `[data-testid="rate-satisfaction"]`); got != "—" {
		t.Errorf("街乡评价 shows %q with no rating, want —", got)
	}
}

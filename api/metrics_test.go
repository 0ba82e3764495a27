package api_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"whistlegrid/hotspot"
	"whistlegrid/internal/testenv"
	"whistlegrid/metrics"
	"whistlegrid/whistle"
)

// scrape reads the metrics page as Prometheus would: parsed by the text
// exposition parser (what promtool check metrics parses with), and linted
// by promlint (the rules promtool check metrics applies).
func scrape(t *testing.T, env *testenv.Env) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	env.API.Metrics().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("metrics: %d", rec.Code)
	}
	text := rec.Body.Bytes()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("the exposition does not parse: %v", err)
	}
	problems, err := promlint.New(bytes.NewReader(text)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range problems {
		t.Errorf("promlint: %s: %s", pr.Metric, pr.Text)
	}
	return mfs
}

// sample is the value of family name's series with the label set (a
// histogram's count), 0 when absent.
func sample(mfs map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	mf := mfs[name]
	if mf == nil {
		return 0
	}
next:
	for _, m := range mf.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return 0
}

// TestMetricsOfTheWork: intake by outcome, sweeps, hotspot scans, import
// rows and the database pool appear and move, and the exposition stays
// clean for promtool. The counters are the process's (other tests in it
// add to them too), so the checks are on increases of at least what this
// test did.
func TestMetricsOfTheWork(t *testing.T) {
	t.Parallel() // its own database
	env := testenv.Start(t)
	ctx := context.Background()
	command := env.Login(t, "command")
	before := scrape(t, env)

	var lon, lat float64
	if err := env.Pool.QueryRow(ctx, `SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM grids WHERE level = 'household' ORDER BY code LIMIT 1) s`).Scan(&lon, &lat); err != nil {
		t.Fatal(err)
	}
	clue := map[string]any{"source": "patrol", "external_id": "metrics-1", "category": testenv.HotspotCategory, "text": "巡查",
		"lon": lon, "lat": lat, "datum": "wgs84", "reported_at": time.Now().Add(-time.Minute).Format(time.RFC3339)}
	if status, body := env.Do(t, "POST", "/api/v1/clues", command, clue); status != 201 {
		t.Fatalf("clue: %d %s", status, body)
	}
	if status, _ := env.Do(t, "POST", "/api/v1/clues", command, clue); status != 200 {
		t.Fatalf("the same clue again: %d", status)
	}
	clue["external_id"], clue["lon"] = "metrics-2", 190.0
	if status, _ := env.Do(t, "POST", "/api/v1/clues", command, clue); status != 422 {
		t.Fatalf("a clue off the globe: %d", status)
	}
	ws := whistle.NewStore(env.Pool, env.Placer, whistle.Options{})
	if _, err := ws.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Hotspots.Scan(ctx, ws, time.Now(), hotspot.ScanOptions{}); err != nil {
		t.Fatal(err)
	}
	metrics.ImportRows("metrics-test", metrics.RowStored, 3)
	metrics.ImportRows("metrics-test", metrics.RowRefused, 1)

	after := scrape(t, env)
	grew := func(name string, by float64, labels ...string) {
		t.Helper()
		if d := sample(after, name, labels...) - sample(before, name, labels...); d < by {
			t.Errorf("%s%v grew by %v, want at least %v", name, labels, d, by)
		}
	}
	stored := 0.0
	for _, o := range []string{metrics.OutcomeKept, metrics.OutcomeJoined, metrics.OutcomeRaised, metrics.OutcomeEscalated} {
		stored += sample(after, "whistlegrid_intake_duration_seconds", "outcome", o) - sample(before, "whistlegrid_intake_duration_seconds", "outcome", o)
	}
	if stored < 1 {
		t.Errorf("the stored clue is not counted under kept, joined, raised or escalated")
	}
	grew("whistlegrid_intake_duration_seconds", 1, "outcome", metrics.OutcomeExisting)
	grew("whistlegrid_intake_duration_seconds", 1, "outcome", metrics.OutcomeRefused)
	grew("whistlegrid_sweep_runs_total", 1, "result", "ok")
	grew("whistlegrid_hotspot_scan_duration_seconds", 1, "result", "ok")
	grew("whistlegrid_import_rows_total", 3, "source", "metrics-test", "outcome", metrics.RowStored)
	grew("whistlegrid_import_rows_total", 1, "source", "metrics-test", "outcome", metrics.RowRefused)
	grew("whistlegrid_db_pool_acquires_total", 1)
	for _, name := range []string{"whistlegrid_sweep_escalations_total", "whistlegrid_sweep_overdue_total", "whistlegrid_hotspot_scan_filed_total",
		"whistlegrid_db_pool_idle_conns", "whistlegrid_db_pool_acquired_conns"} {
		if after[name] == nil {
			t.Errorf("%s is not exported", name)
		}
	}
	if m := sample(after, "whistlegrid_db_pool_max_conns"); m != float64(env.Pool.Config().MaxConns) {
		t.Errorf("max_conns %v, pool %d", m, env.Pool.Config().MaxConns)
	}
}

package ingest_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"whistlegrid/grid"
	"whistlegrid/ingest"

	"github.com/paulmach/orb"
)

// TestImportGridsRefreshesRunningPlacers: a Placer that follows
// grid_changed (as every server does) sees an imported household grid
// without being told by the importer.
func TestImportGridsRefreshesRunningPlacers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool := gridsPool(t)
	placer, err := grid.NewPlacer(ctx, pool, grid.IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := placer.Index().Len(); n != 0 {
		t.Fatalf("%d household grids before the import", n)
	}
	done := make(chan struct{})
	go func() {
		grid.FollowChanges(ctx, pool, placer, slog.New(slog.NewTextHandler(io.Discard, nil)))
		close(done)
	}()
	defer func() { cancel(); <-done }()

	file := filepath.Join(t.TempDir(), "household.geojson")
	if err := os.WriteFile(file, []byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"110229001001001","name":"1号院"},
		"geometry":{"type":"Polygon","coordinates":[[[115.91,40.41],[115.92,40.41],[115.92,40.42],[115.91,40.42],[115.91,40.41]]]}}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := ingest.ImportGrids(ctx, pool, file, ingest.GridOptions{})
	if err != nil || rep.Totals[ingest.OutcomeNew] != 1 {
		t.Fatalf("import: %+v %v", rep, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for placer.Index().Len() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the following Placer never saw the imported household grid")
		}
		time.Sleep(20 * time.Millisecond) // polling the condition, not waiting a guessed time
	}
	if _, err := placer.Place(orb.Point{115.915, 40.415}); err != nil {
		t.Errorf("placing inside the imported grid: %v", err)
	}
}

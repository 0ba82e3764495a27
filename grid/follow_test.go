package grid_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"whistlegrid/grid"
	"whistlegrid/internal/testenv"
)

// NewFollowingPlacer (what serve uses: one build at start) keeps the index
// in step with a change committed after it was built.
func TestNewFollowingPlacerFollowsChanges(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool := testenv.DemoDB(t)
	p, err := grid.NewFollowingPlacer(ctx, pool, grid.IndexOptions{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	built := p.Index()
	if built == nil || built.Len() == 0 {
		t.Fatal("no index built")
	}
	if _, err := pool.Exec(ctx, `UPDATE people SET name = name WHERE id = (SELECT min(id) FROM people)`); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for p.Index() == built {
		if time.Now().After(deadline) {
			t.Fatal("the placer never refreshed after a change of people")
		}
		time.Sleep(20 * time.Millisecond) // polling the condition
	}
}

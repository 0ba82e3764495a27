package bench

import (
	"context"
	"testing"
	"time"

	"whistlegrid/internal/testenv"
)

// TestPlace runs the bench command's harness small on the demo, so it
// stays working: every figure measured, the index and PostGIS agreeing on
// every verified point.
func TestPlace(t *testing.T) {
	pool := testenv.DemoDB(t)
	b, err := Place(context.Background(), pool, PlaceOptions{
		Points: 20_000, Rounds: 2, QueryFor: 200 * time.Millisecond, JoinPoints: 5_000, VerifyExtra: 5_000, Seed: 7,
	})
	if err != nil {
		t.Fatal(err)
	}
	if b.Mismatches != 0 {
		t.Errorf("the index and PostGIS disagree on %d of %d points", b.Mismatches, b.VerifiedPoints)
	}
	if b.HouseholdGrids < 1000 || b.VerifiedPoints < 5_000+2*1000 || b.InProcessPoints != 2*20_000 || b.JoinPoints != 5_000 {
		t.Errorf("implausible counts %+v", b)
	}
	for name, v := range map[string]float64{
		"build ms": b.BuildMS, "ns/point": b.NsPerPoint, "ns/point batch": b.NsPerPointBatch, "ns/point edge": b.NsPerPointEdge,
		"points/s all cores": b.PointsPerSAll, "query/s": b.PostGISQueryPerS, "join points/s": b.PostGISJoinPerS, "hot MiB": b.HotMiB,
	} {
		if !(v > 0) {
			t.Errorf("%s = %v, want a positive figure", name, v)
		}
	}
	if b.RatioVsQuery != b.PointsPerS/b.PostGISQueryPerS || b.RatioVsJoin != b.PointsPerS/b.PostGISJoinPerS {
		t.Errorf("ratios %v %v do not follow from the rates %+v", b.RatioVsQuery, b.RatioVsJoin, b)
	}
}

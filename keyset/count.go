package keyset

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ExactBelow is where Count stops counting: a filter the planner expects
// to select at most this many rows is counted exactly (a few milliseconds);
// a wider one gets the planner's estimate instead, because counting 368,000
// clues in a jurisdiction took 0.55 s on every page.
const ExactBelow = 20_000

// Total is how many rows a list's filter selects, over all its pages.
// Exact says whether N was counted or is the planner's estimate; the API
// answers the first as "total" and the second as "total_estimate".
type Total struct {
	N     int
	Exact bool
}

// Querier is a pool, a connection or a transaction.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Count counts the rows of "SELECT … "+from (a FROM clause with its WHERE,
// binds args): it asks the planner first (EXPLAIN, no rows read) and counts
// exactly only when the estimate is at most ExactBelow. The estimate comes
// from the table statistics: autovacuum's ANALYZE keeps them current, and it
// is off by a small factor under a filter on several correlated columns.
func Count(ctx context.Context, q Querier, from string, args []any) (Total, error) {
	var plan []byte
	if err := q.QueryRow(ctx, `EXPLAIN (FORMAT JSON) SELECT 1 `+from, args...).Scan(&plan); err != nil {
		return Total{}, fmt.Errorf("keyset: estimate: %w", err)
	}
	var p []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		} `json:"Plan"`
	}
	if err := json.Unmarshal(plan, &p); err != nil || len(p) != 1 {
		return Total{}, fmt.Errorf("keyset: estimate: unexpected plan %.200s", plan)
	}
	if est := int(p[0].Plan.Rows + 0.5); est > ExactBelow {
		return Total{N: est}, nil
	}
	var n int
	if err := q.QueryRow(ctx, `SELECT count(*) `+from, args...).Scan(&n); err != nil {
		return Total{}, fmt.Errorf("keyset: count: %w", err)
	}
	return Total{N: n, Exact: true}, nil
}

package bench

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/access"
	"whistlegrid/keyset"
	"whistlegrid/whistle"
)

// WorkOptions tune Work.
type WorkOptions struct {
	Runs  int // timed runs of each query; 0 means 200
	Page  int // the deep page timed beside the first; 0 means 20
	Limit int // rows per page; 0 means whistle.DefaultQueuePage
}

// WorkFigures are one query's latencies, the queue's and the bare
// SELECT's of the same rows, in milliseconds, and the ratio at p99.
type WorkFigures struct {
	Rows     int     `json:"rows"`
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
	BareP50  float64 `json:"bare_p50_ms"`
	BareP99  float64 `json:"bare_p99_ms"`
	RatioP99 float64 `json:"ratio_p99"`
}

// WorkRole is a role's queue: which caller and tab, and its first and
// deep page.
type WorkRole struct {
	Role   string      `json:"role"`
	Caller string      `json:"caller"`
	Tab    string      `json:"tab"`
	Sort   string      `json:"sort"`
	First  WorkFigures `json:"first"`
	Deep   WorkFigures `json:"deep"`
	DeepAt int         `json:"deep_page"`
}

// WorkReport is what Work measured.
type WorkReport struct {
	Roles         []WorkRole `json:"roles"`
	WorstRatioP99 float64    `json:"worst_ratio_p99"`
}

// workCase is one role's queue and the bare SELECT of the same rows: its
// SQL takes the caller's key ($1: township id or unit id; unused for the
// command center, bound all the same), the keyset position ($2 time, $3
// id; NULL for the first page) and the limit ($4).
type workCase struct {
	role, caller string
	sc           access.Scope
	tab          whistle.Tab
	sort         whistle.Sort
	key          int64
	bare         string
	keyOf        func(whistle.QueuePage) (time.Time, int64) // the last row's keyset position
}

// The bare SELECTs: the rows of each queue straight from the tables by
// the index that serves their order, ids only, no summary.
const (
	bareTownshipClues = `SELECT c.id FROM clues c WHERE c.township_id = $1 AND c.whistle_id IS NULL
	AND ($2::timestamptz IS NULL OR (c.reported_at, c.id) < ($2, $3)) ORDER BY c.reported_at DESC, c.id DESC LIMIT $4`
	bareUnitDone = `SELECT w.id FROM whistles w JOIN summons s ON s.whistle_id = w.id AND s.unit_id = $1 WHERE w.status = 'closed'
	AND ($2::timestamptz IS NULL OR (w.raised_at, w.id) < ($2, $3)) ORDER BY w.raised_at DESC, w.id DESC LIMIT $4`
	bareCommandAll = `SELECT w.id FROM whistles w WHERE $1::bigint IS NOT NULL
	AND ($2::timestamptz IS NULL OR (w.resolve_due, w.id) > ($2, $3)) ORDER BY w.resolve_due, w.id LIMIT $4`
)

// workCases picks the busiest township (by its clues in no whistle) and
// the busiest unit (by its closed whistles), and the command center.
func workCases(ctx context.Context, pool *pgxpool.Pool) ([]workCase, error) {
	var townID int64
	var town string
	if err := pool.QueryRow(ctx, `SELECT t.id, t.code FROM clues c JOIN grids t ON t.id = c.township_id WHERE c.whistle_id IS NULL
		GROUP BY t.id, t.code ORDER BY count(*) DESC LIMIT 1`).Scan(&townID, &town); err != nil {
		return nil, fmt.Errorf("bench: work: the busiest township: %w", err)
	}
	var unitID int64
	var unit string
	if err := pool.QueryRow(ctx, `SELECT u.id, u.code FROM summons s JOIN units u ON u.id = s.unit_id JOIN whistles w ON w.id = s.whistle_id
		WHERE w.status = 'closed' GROUP BY u.id, u.code ORDER BY count(*) DESC LIMIT 1`).Scan(&unitID, &unit); err != nil {
		return nil, fmt.Errorf("bench: work: the busiest unit: %w", err)
	}
	lastClue := func(p whistle.QueuePage) (time.Time, int64) {
		c := p.Clues[len(p.Clues)-1]
		return c.ReportedAt, c.ID
	}
	return []workCase{
		{role: "township", caller: "t" + town, sc: access.Scope{Role: access.RoleTownship, GridCode: town}, tab: whistle.TabClues,
			sort: whistle.SortNewest, key: townID, bare: bareTownshipClues, keyOf: lastClue},
		{role: "unit", caller: "u" + unit, sc: access.Scope{Role: access.RoleUnit, UnitID: unitID, UnitCode: unit}, tab: whistle.TabDone,
			sort: whistle.SortNewest, key: unitID, bare: bareUnitDone, keyOf: func(p whistle.QueuePage) (time.Time, int64) {
				w := p.Whistles[len(p.Whistles)-1]
				return w.RaisedAt, w.ID
			}},
		{role: "command", caller: "command", sc: access.Scope{Role: access.RoleCommand}, tab: whistle.TabAll,
			sort: whistle.SortDeadline, key: 0, bare: bareCommandAll, keyOf: func(p whistle.QueuePage) (time.Time, int64) {
				w := p.Whistles[len(p.Whistles)-1]
				return w.ResolveDue, w.ID
			}},
	}, nil
}

func pageIDs(p whistle.QueuePage) []int64 {
	var ids []int64
	for _, c := range p.Clues {
		ids = append(ids, c.ID)
	}
	for _, w := range p.Whistles {
		ids = append(ids, w.ID)
	}
	return ids
}

// Work times each role's queue (whistle.Store.Queue: the query over
// whistle_summaries and the scan into summaries) on its first page and
// on page opts.Page reached by keyset, beside the bare SELECT of the same
// rows, alternating the two so that both see the same machine. It checks
// that both answer the same ids in the same order.
func Work(ctx context.Context, pool *pgxpool.Pool, store *whistle.Store, opts WorkOptions) (WorkReport, error) {
	if opts.Runs <= 0 {
		opts.Runs = 200
	}
	if opts.Page <= 1 {
		opts.Page = 20
	}
	if opts.Limit <= 0 {
		opts.Limit = whistle.DefaultQueuePage
	}
	cases, err := workCases(ctx, pool)
	if err != nil {
		return WorkReport{}, err
	}
	var rep WorkReport
	for _, c := range cases {
		r := WorkRole{Role: c.role, Caller: c.caller, Tab: string(c.tab), Sort: string(c.sort), DeepAt: opts.Page}
		// walk to the deep page once, to have its cursor and position
		f := whistle.QueueFilter{Sort: c.sort, Page: keyset.Page{Limit: opts.Limit}}
		var cursor *keyset.Cursor
		var at *time.Time
		var id int64
		for p := 1; p < opts.Page; p++ {
			f.Page.After = cursor
			page, err := store.Queue(ctx, c.sc, c.tab, f)
			if err != nil {
				return rep, fmt.Errorf("bench: work: %s page %d: %w", c.role, p, err)
			}
			if page.Next == nil {
				return rep, fmt.Errorf("bench: work: %s's %s has fewer than %d pages of %d", c.caller, c.tab, opts.Page, opts.Limit)
			}
			t, i := c.keyOf(page)
			at, id, cursor = &t, i, page.Next
		}
		for _, deep := range []bool{false, true} {
			f.Page.After = nil
			var bat *time.Time
			var bid int64
			if deep {
				f.Page.After, bat, bid = cursor, at, id
			}
			queue := func() ([]int64, error) {
				p, err := store.Queue(ctx, c.sc, c.tab, f)
				return pageIDs(p), err
			}
			bare := func() ([]int64, error) {
				rows, err := pool.Query(ctx, c.bare, c.key, bat, bid, opts.Limit)
				if err != nil {
					return nil, err
				}
				defer rows.Close()
				var ids []int64
				for rows.Next() {
					var i int64
					if err := rows.Scan(&i); err != nil {
						return nil, err
					}
					ids = append(ids, i)
				}
				return ids, rows.Err()
			}
			qi, err := queue()
			if err != nil {
				return rep, fmt.Errorf("bench: work: %s: %w", c.role, err)
			}
			bi, err := bare()
			if err != nil {
				return rep, fmt.Errorf("bench: work: %s bare: %w", c.role, err)
			}
			if !slices.Equal(qi, bi) || len(qi) == 0 {
				return rep, fmt.Errorf("bench: work: %s (deep %v): the queue answered %d rows %v…, the bare SELECT %d %v…", c.role, deep, len(qi), head(qi), len(bi), head(bi))
			}
			var qd, bd []time.Duration
			for range opts.Runs {
				t0 := time.Now()
				if _, err := queue(); err != nil {
					return rep, err
				}
				qd = append(qd, time.Since(t0))
				t0 = time.Now()
				if _, err := bare(); err != nil {
					return rep, err
				}
				bd = append(bd, time.Since(t0))
			}
			fig := WorkFigures{Rows: len(qi), P50ms: quantileMS(qd, 0.50), P99ms: quantileMS(qd, 0.99), BareP50: quantileMS(bd, 0.50), BareP99: quantileMS(bd, 0.99)}
			fig.RatioP99 = fig.P99ms / fig.BareP99
			rep.WorstRatioP99 = max(rep.WorstRatioP99, fig.RatioP99)
			if deep {
				r.Deep = fig
			} else {
				r.First = fig
			}
		}
		rep.Roles = append(rep.Roles, r)
	}
	return rep, nil
}

func head(ids []int64) []int64 {
	return ids[:min(3, len(ids))]
}

// quantileMS is the q-quantile of d in milliseconds (nearest rank).
func quantileMS(d []time.Duration, q float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	i = max(0, min(len(s)-1, i))
	return float64(s[i].Microseconds()) / 1000
}

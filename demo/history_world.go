package demo

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/grid"
	"whistlegrid/whistle"
)

// world is what the history reads of the demo: the placement index with
// the duty list, the categories, the rules, the deadline policies (read by
// whistle.LoadPolicies, as the whistle store reads them), the units and
// users that act, and the households that say where people live.
type world struct {
	placer   *grid.Placer
	cats     []*hCat
	catBy    map[string]*hCat
	units    []*hUnit
	unitBy   map[string]*hUnit
	users    map[string]int64 // username -> id
	rules    []hRule
	policies whistle.Policies
	towns    []hTown
	townBy   map[string]int // township code -> index in towns
	homes    []hHome
	base     struct{ clue, whistle, trail, notice, event int64 } // the highest ids in use
}

type hCat struct {
	id         int64
	code, name string
	parent     *hCat
	depth      int
	grade      whistle.Grade // its default grade
	leaf       bool
	spec       *catSpec // how often and when it is reported; nil for branches
}

type hUnit struct {
	id                int64
	code, name, kind  string
	user              int64 // the unit's user id
	reportOK, solveOK float64
	speed             float64 // > 1 is slower
	quality           float64 // shifts its ratings, -1 … +1
	staff             []person
}

type hRule struct {
	category   string // "" any
	townshipID int64  // 0 any
	depth      int    // of the category, 0 for any
	r          hRuleValue
}

type hRuleValue struct {
	action        string
	radiusM       float64
	window        time.Duration
	escalateAfter int
}

type hTown struct {
	id         int64
	code, name string
	user       int64
}

// hHome is a household: where clues come from.
type hHome struct {
	lon, lat  float64
	town      int    // index in world.towns
	community bool   // in a 社区 rather than a 村
	mountain  bool   // in a mountain township
	address   string // as stored, e.g. 旧县镇常家营村 125号; "" when it has none
	village   string // its village's code
}

const worldCategories = `
SELECT id, code, name, coalesce(parent_id, 0), depth,
	NOT EXISTS (SELECT 1 FROM categories k WHERE k.parent_id = c.id)
FROM categories c ORDER BY depth, code`

const worldUnits = `SELECT u.id, u.code, u.name, u.kind, coalesce(us.id, 0) FROM units u LEFT JOIN users us ON us.unit_id = u.id AND us.role = 'unit' ORDER BY u.code`

const worldRules = `
SELECT coalesce(c.code, ''), coalesce(r.township_id, 0), coalesce(c.depth, 0), r.action, r.join_radius_m,
	extract(epoch FROM r.join_window)::float8, r.escalate_after
FROM rules r LEFT JOIN categories c ON c.id = r.category_id ORDER BY r.id`

const worldTowns = `SELECT t.id, t.code, t.name, coalesce(u.id, 0) FROM grids t LEFT JOIN users u ON u.username = 't' || t.code
WHERE t.level = 'township' AND t.valid_to IS NULL ORDER BY t.code`

// worldHomes reads the households with their village's kind and their
// township, in id order.
const worldHomes = `
SELECT ST_X(h.location), ST_Y(h.location), v.kind, t.code, coalesce(h.address, ''), v.code
FROM households h
JOIN grids g ON g.id = h.grid_id
JOIN grids v ON v.id = g.parent_id
JOIN grids z ON z.id = v.parent_id
JOIN grids t ON t.id = z.parent_id
ORDER BY h.id`

const worldBase = `
SELECT (SELECT coalesce(max(id), 0) FROM clues), (SELECT coalesce(max(id), 0) FROM whistles),
	(SELECT coalesce(max(id), 0) FROM whistle_events), (SELECT coalesce(max(id), 0) FROM supervision_notices),
	(SELECT coalesce(max(seq), 0) FROM events)`

// loadWorld reads the demo in one read-only snapshot and builds the
// placement index.
func loadWorld(ctx context.Context, pool *pgxpool.Pool) (*world, error) {
	w := &world{catBy: map[string]*hCat{}, unitBy: map[string]*hUnit{}, users: map[string]int64{},
		townBy: map[string]int{}}
	placer, err := grid.NewPlacer(ctx, pool, grid.IndexOptions{})
	if err != nil {
		return nil, fmt.Errorf("demo: history: %w", err)
	}
	w.placer = placer
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("demo: history: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if err := w.read(ctx, tx); err != nil {
		return nil, fmt.Errorf("demo: history: %w", err)
	}
	if len(w.towns) == 0 || len(w.homes) == 0 || len(w.units) == 0 {
		return nil, fmt.Errorf("demo: history: the demo is not loaded (no townships, households or units)")
	}
	if err := w.attachSpecs(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *world) read(ctx context.Context, tx pgx.Tx) error {
	var err error
	if w.policies, err = whistle.LoadPolicies(ctx, tx); err != nil {
		return err
	}
	byID := map[int64]*hCat{}
	rows, err := tx.Query(ctx, worldCategories)
	if err != nil {
		return err
	}
	for rows.Next() {
		c := &hCat{}
		var parent int64
		if err := rows.Scan(&c.id, &c.code, &c.name, &parent, &c.depth, &c.leaf); err != nil {
			rows.Close()
			return err
		}
		c.grade = w.policies.Categories[c.code].Grade
		c.parent = byID[parent]
		byID[c.id] = c
		w.cats = append(w.cats, c)
		w.catBy[c.code] = c
	}
	if err := rows.Err(); err != nil {
		return err
	}

	rows, err = tx.Query(ctx, worldUnits)
	if err != nil {
		return err
	}
	for rows.Next() {
		u := &hUnit{}
		if err := rows.Scan(&u.id, &u.code, &u.name, &u.kind, &u.user); err != nil {
			rows.Close()
			return err
		}
		w.units = append(w.units, u)
		w.unitBy[u.code] = u
	}
	if err := rows.Err(); err != nil {
		return err
	}

	rows, err = tx.Query(ctx, `SELECT username, id FROM users WHERE role IN ('command', 'township')`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var name string
		var id int64
		if err := rows.Scan(&name, &id); err != nil {
			rows.Close()
			return err
		}
		w.users[name] = id
	}
	if err := rows.Err(); err != nil {
		return err
	}

	rows, err = tx.Query(ctx, worldRules)
	if err != nil {
		return err
	}
	for rows.Next() {
		var r hRule
		var secs float64
		if err := rows.Scan(&r.category, &r.townshipID, &r.depth, &r.r.action, &r.r.radiusM, &secs, &r.r.escalateAfter); err != nil {
			rows.Close()
			return err
		}
		r.r.window = time.Duration(secs * float64(time.Second))
		w.rules = append(w.rules, r)
	}
	if err := rows.Err(); err != nil {
		return err
	}

	rows, err = tx.Query(ctx, worldTowns)
	if err != nil {
		return err
	}
	for rows.Next() {
		var t hTown
		if err := rows.Scan(&t.id, &t.code, &t.name, &t.user); err != nil {
			rows.Close()
			return err
		}
		w.townBy[t.code] = len(w.towns)
		w.towns = append(w.towns, t)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	mountain := map[string]bool{}
	for _, l := range lines(townshipSites) {
		f := strings.Split(l, "|")
		mountain[f[0]] = f[3] == "mountain"
	}

	rows, err = tx.Query(ctx, worldHomes)
	if err != nil {
		return err
	}
	for rows.Next() {
		var h hHome
		var kind, town string
		if err := rows.Scan(&h.lon, &h.lat, &kind, &town, &h.address, &h.village); err != nil {
			rows.Close()
			return err
		}
		h.town, h.community, h.mountain = w.townBy[town], kind == "community", mountain[town]
		w.homes = append(w.homes, h)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return tx.QueryRow(ctx, worldBase).Scan(&w.base.clue, &w.base.whistle, &w.base.trail, &w.base.notice, &w.base.event)
}

// rule returns the rule for a clue of category c in township townshipID,
// chosen from the rules table as whistle_intake_batch (migrations/00023_intake_batch.sql)
// chooses in PostgreSQL: a township's row before the district's, a deeper
// category before its parent, the row for any category last; its built-in
// default when no row matches.
func (w *world) rule(c *hCat, townshipID int64) hRuleValue {
	anc := map[string]bool{}
	for k := c; k != nil; k = k.parent {
		anc[k.code] = true
	}
	best, found := hRule{}, false
	better := func(a, b hRule) bool { // a before b?
		if (a.townshipID == 0) != (b.townshipID == 0) {
			return a.townshipID != 0
		}
		return a.depth > b.depth // a NULL category has depth 0: last
	}
	for _, r := range w.rules {
		if (r.category != "" && !anc[r.category]) || (r.townshipID != 0 && r.townshipID != townshipID) {
			continue
		}
		if !found || better(r, best) {
			best, found = r, true
		}
	}
	if !found {
		return hRuleValue{action: "village", radiusM: 100, window: 7 * 24 * time.Hour, escalateAfter: 3}
	}
	return best.r
}

// leaves are the leaf categories that have a spec, in code order.
func (w *world) leaves() []*hCat {
	var out []*hCat
	for _, c := range w.cats {
		if c.spec != nil {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].code < out[j].code })
	return out
}

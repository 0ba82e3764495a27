package grid

import (
	"context"
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"whistlegrid/access"
	"whistlegrid/fault"
	"whistlegrid/grid/index"
)

// The placement vocabulary is package index's; grid names it too, so that
// the Placer's callers read grid.Placement and grid.LevelTownship without
// importing index (as package os names io/fs's FileMode and ErrNotExist).
type (
	// Level is a grid level: index.Level.
	Level = index.Level
	// Link is one element of a placement chain: index.Link.
	Link = index.Link
	// Placement is the answer for one point: index.Placement.
	Placement = index.Placement
	// IndexOptions tunes the Placer's index: index.Options.
	IndexOptions = index.Options
)

// The grid levels, from the top of the hierarchy to the bottom (index's).
const (
	LevelDistrict  = index.LevelDistrict
	LevelTownship  = index.LevelTownship
	LevelZone      = index.LevelZone
	LevelVillage   = index.LevelVillage
	LevelHousehold = index.LevelHousehold
)

// ErrOutside is index.ErrOutside: Placer.Place's error for a point in no
// household grid.
var ErrOutside = index.ErrOutside

// Placer answers "where is this point and who answers for it" from memory:
// the placement index (package index) over the current household grids, who is on duty in
// each grid, and the responsibility list. Refresh rebuilds it from the
// database and swaps it in atomically: readers never wait.
type Placer struct {
	pool *pgxpool.Pool
	opts IndexOptions
	cur  atomic.Pointer[directory]
}

// directory is one immutable snapshot.
type directory struct {
	ix       *index.Index
	assigned map[int64][]assignment // grid id -> who was assigned there (包片, 包村, 包户, 巡查), any time
	cats     map[string]int64       // category code -> id
	names    map[string]string      // category code -> name
	duties   map[dutyKey]dutyUnits  // the responsibility list: (category, township; 0 = district-wide) -> units
	builtAt  time.Time
}

type assignment struct {
	duty, name, phone, role, gridCode string
	from                              time.Time
	to                                *time.Time
}

type dutyKey struct{ category, township int64 }

type dutyUnits []UnitRef

// UnitRef is a unit named on the responsibility list for a placement.
type UnitRef struct {
	Role string `json:"role"` // lead or assist
	Code string `json:"code"`
	Name string `json:"name"`
	Kind string `json:"kind"` // department, station, utility; township when the township answers itself (属地兜底)
}

// NewPlacer loads the current grids, duties and the responsibility list.
func NewPlacer(ctx context.Context, pool *pgxpool.Pool, opts IndexOptions) (*Placer, error) {
	p := &Placer{pool: pool, opts: opts}
	if err := p.Refresh(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

const placerGrids = `
SELECT id, code, name, level, coalesce(parent_id, 0),
	CASE WHEN level = 'household' THEN ST_AsBinary(geom) END
FROM grids WHERE valid_to IS NULL`

const placerAssignments = `
SELECT a.grid_id, a.duty, pe.name, coalesce(pe.phone, ''), pe.role, g.code, a.valid_from, a.valid_to
FROM assignments a JOIN people pe ON pe.id = a.person_id JOIN grids g ON g.id = a.grid_id`

const placerDuties = `
SELECT d.category_id, coalesce(d.township_id, 0), 'lead', u.code, u.name, u.kind, 0
FROM duties d JOIN units u ON u.id = d.lead_unit_id
UNION ALL
SELECT d.category_id, coalesce(d.township_id, 0), 'assist', u.code, u.name, u.kind, 1
FROM duties d JOIN duty_assists da ON da.duty_id = d.id JOIN units u ON u.id = da.unit_id
ORDER BY 1, 2, 7, 4`

// Refresh rebuilds the snapshot from the database and swaps it in.
func (p *Placer) Refresh(ctx context.Context) error {
	d := &directory{
		assigned: map[int64][]assignment{},
		cats:     map[string]int64{},
		names:    map[string]string{},
		duties:   map[dutyKey]dutyUnits{},
		builtAt:  time.Now(),
	}
	tx, err := p.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("grid: refresh: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()

	rows, err := tx.Query(ctx, placerGrids)
	if err != nil {
		return fmt.Errorf("grid: refresh: %w", err)
	}
	var grids []index.Grid
	for rows.Next() {
		var g index.Grid
		var level string
		var raw []byte
		if err := rows.Scan(&g.ID, &g.Code, &g.Name, &level, &g.ParentID, &raw); err != nil {
			rows.Close()
			return fmt.Errorf("grid: refresh: %w", err)
		}
		g.Level = Level(level)
		var geom orb.Geometry
		if raw != nil {
			if geom, err = wkb.Unmarshal(raw); err != nil {
				rows.Close()
				return fmt.Errorf("grid: refresh: grid %s: %w", g.Code, err)
			}
		}
		switch m := geom.(type) {
		case orb.MultiPolygon:
			g.Geom = m
		case orb.Polygon:
			g.Geom = orb.MultiPolygon{m}
		}
		grids = append(grids, g)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("grid: refresh: %w", err)
	}

	rows, err = tx.Query(ctx, placerAssignments)
	if err != nil {
		return fmt.Errorf("grid: refresh: %w", err)
	}
	for rows.Next() {
		var id int64
		var a assignment
		if err := rows.Scan(&id, &a.duty, &a.name, &a.phone, &a.role, &a.gridCode, &a.from, &a.to); err != nil {
			rows.Close()
			return fmt.Errorf("grid: refresh: %w", err)
		}
		d.assigned[id] = append(d.assigned[id], a)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("grid: refresh: %w", err)
	}

	rows, err = tx.Query(ctx, `SELECT code, id, name FROM categories`)
	if err != nil {
		return fmt.Errorf("grid: refresh: %w", err)
	}
	for rows.Next() {
		var code, name string
		var id int64
		if err := rows.Scan(&code, &id, &name); err != nil {
			rows.Close()
			return fmt.Errorf("grid: refresh: %w", err)
		}
		d.cats[code] = id
		d.names[code] = name
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("grid: refresh: %w", err)
	}

	rows, err = tx.Query(ctx, placerDuties)
	if err != nil {
		return fmt.Errorf("grid: refresh: %w", err)
	}
	for rows.Next() {
		var k dutyKey
		var u UnitRef
		var order int
		if err := rows.Scan(&k.category, &k.township, &u.Role, &u.Code, &u.Name, &u.Kind, &order); err != nil {
			rows.Close()
			return fmt.Errorf("grid: refresh: %w", err)
		}
		d.duties[k] = append(d.duties[k], u)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("grid: refresh: %w", err)
	}

	ix, err := index.New(grids, p.opts)
	if err != nil {
		return err
	}
	d.ix = ix
	p.cur.Store(d)
	return nil
}

// Index is the current placement index.
func (p *Placer) Index() *index.Index { return p.cur.Load().ix }

// Place finds the chain of the WGS-84 point p, with its distance to the
// household grid's edge. A point in no household grid is ErrOutside.
func (p *Placer) Place(pt orb.Point) (Placement, error) { return p.cur.Load().ix.Place(pt) }

// KnownCategory reports whether code is a category.
func (p *Placer) KnownCategory(code string) bool {
	_, ok := p.cur.Load().cats[code]
	return ok
}

// CategoryName is the name of a category, "" for an unknown code.
func (p *Placer) CategoryName(code string) string { return p.cur.Load().names[code] }

// Responsible lists the people on duty along the chain at time at, from
// the household grid up (包户 party member, 包村 cadre, 巡查 grid worker,
// 包片 zone leader), masked as sc allows. Only the people of grids in sc's
// jurisdiction are listed (sc.Covers, the rule by which GET /grids/{code}
// refuses a grid): a point outside it names nobody; and, when category is given, the
// units on the responsibility list for the chain's township: the
// township's own row, else the district-wide row, else the township itself
// (属地兜底). An unknown category is ErrInvalid.
func (p *Placer) Responsible(sc access.Scope, pl Placement, category string, at time.Time) ([]OnDuty, []UnitRef, error) {
	d := p.cur.Load()
	var cat int64
	if category != "" {
		var ok bool
		if cat, ok = d.cats[category]; !ok {
			return nil, nil, fault.FieldErrorf(ErrInvalid, "category", "unknown category %q", category)
		}
	}
	people := []OnDuty{}
	var township Link
	for _, l := range pl.Chain {
		if l.Level == LevelTownship {
			township = l
		}
		as := d.assigned[l.ID]
		start := len(people)
		for _, a := range as {
			if a.from.After(at) || (a.to != nil && !a.to.After(at)) || !sc.Covers(a.gridCode) {
				continue
			}
			phone := a.phone
			if !sc.SeesDutyPhones() {
				phone = access.MaskPhone(phone)
			}
			people = append(people, OnDuty{Duty: a.duty, Name: a.name, Phone: phone, Role: a.role, GridCode: a.gridCode})
		}
		sort.SliceStable(people[start:], func(i, j int) bool {
			return dutyOrder(people[start+i].Duty) < dutyOrder(people[start+j].Duty)
		})
	}
	if category == "" {
		return people, nil, nil
	}
	if us, ok := d.duties[dutyKey{cat, township.ID}]; ok && township.ID != 0 {
		return people, us, nil
	}
	if us, ok := d.duties[dutyKey{cat, 0}]; ok {
		return people, us, nil
	}
	if township.ID == 0 {
		return people, []UnitRef{}, nil
	}
	return people, []UnitRef{{Role: "lead", Code: township.Code, Name: township.Name, Kind: "township"}}, nil
}

func dutyOrder(duty string) int {
	switch duty {
	case "household":
		return 0
	case "village":
		return 1
	case "patrol":
		return 2
	}
	return 3
}

// Package demo loads the 延庆区 demo into an empty, migrated database:
// the real district outline (repaired), its real 18 townships and 431
// villages and communities as generated polygons that partition their
// parents, zones, about 5,000 household grids and 100,000 households, the
// people on duty, the 74 departments, 57 field stations and 22 utilities,
// a category tree with its responsibility list, and a user for every role.
//
// Everything random is drawn from Options.Seed, both in Go (math/rand/v2
// streams) and in PostGIS (seeded ST_GeneratePoints), so the same seed gives
// the same codes, names and geometry on every load with the same PostGIS.
// All geometry is SRID 4326, lon/lat.
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"whistlegrid/geo"
	"whistlegrid/ingest"
)

// DefaultSeed is the seed Load uses when Options.Seed is 0.
const DefaultSeed = 20190101

// DefaultPassword is the password of every demo user when
// Options.Password is empty.
const DefaultPassword = "demo"

// bcryptCost is the cost of the one password hash every demo user shares.
const bcryptCost = 10

// ErrNotEmpty is returned by Load when grids already has rows.
var ErrNotEmpty = errors.New("demo: database is not empty (grids has rows)")

// validFrom is when every demo grid and assignment starts: 2024-01-01 00:00
// Beijing time.
// DemoAPIKey is the Open311 api_key of the demo's app client.
const DemoAPIKey = "demo"

func validFrom() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, geo.Beijing) }

// Options tune Load; the zero value is the standard demo.
type Options struct {
	// Seed picks the random draw; 0 means DefaultSeed.
	Seed int64
	// Password is every demo user's password; "" means DefaultPassword.
	Password string
	// Logger gets one line per step; nil discards.
	Logger *slog.Logger
}

// Summary counts what Load wrote, read back from the database.
type Summary struct {
	Townships, Zones, Villages, HouseholdGrids, Households, People int
	Departments, Stations, Utilities, Categories, Duties, Users    int
}

// loader carries one Load through its steps.
type loader struct {
	tx   pgx.Tx
	seed int64
	log  *slog.Logger

	district   Division
	townships  []township
	villages   []village
	households [][]int // households per household grid, per village; planned once the grids stand
	zones      []zonePlan
	units      []unit
	categories []category
	duties     []duty
	hash       string

	gridID      map[string]int64  // by grid code
	unitID      map[string]int64  // by unit code
	zoneLeader  map[string]person // by zone code
	gridWorker  map[string]person // by village code
	partyMember map[string]person // by household grid code
}

// person is someone on duty, as stored in people.
type person struct {
	id          int64
	name, phone string
}

// Load fills an empty migrated database with the demo, in one transaction:
// either all of it is there afterwards or none. It refuses with ErrNotEmpty
// when grids already has rows.
func Load(ctx context.Context, pool *pgxpool.Pool, opts Options) (Summary, error) {
	start := time.Now()
	if opts.Seed == 0 {
		opts.Seed = DefaultSeed
	}
	if opts.Password == "" {
		opts.Password = DefaultPassword
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &loader{seed: opts.Seed, log: log}
	outline, err := l.plan()
	if err != nil {
		return Summary{}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(opts.Password), bcryptCost)
	if err != nil {
		return Summary{}, fmt.Errorf("demo: password: %w", err)
	}
	l.hash = string(hash)

	tx, err := pool.Begin(ctx)
	if err != nil {
		return Summary{}, fmt.Errorf("demo: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // no-op after Commit
	l.tx = tx
	// a concurrent Load waits here and then finds the rows
	if _, err := tx.Exec(ctx, `LOCK TABLE grids IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return Summary{}, fmt.Errorf("demo: %w", err)
	}
	var taken bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM grids)`).Scan(&taken); err != nil {
		return Summary{}, fmt.Errorf("demo: %w", err)
	}
	if taken {
		return Summary{}, ErrNotEmpty
	}
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"grids", func(ctx context.Context) error { return l.buildGrids(ctx, outline) }},
		{"units", l.insertUnits},
		{"people", l.insertPeople},
		{"households", l.insertHouseholds},
		{"places", l.insertPlaces},
		{"categories", l.insertCategories},
		{"rules", l.insertRules},
		{"api keys", func(ctx context.Context) error { return ingest.AddAPIKey(ctx, l.tx, "demo", DemoAPIKey) }},
		{"users", l.insertUsers},
	}
	for _, s := range steps {
		t := time.Now()
		if err := s.run(ctx); err != nil {
			return Summary{}, fmt.Errorf("demo: %s: %w", s.name, err)
		}
		log.Info("demo: step done", "step", s.name, "took", time.Since(t).Round(time.Millisecond))
	}
	sum, err := l.summary(ctx)
	if err != nil {
		return Summary{}, fmt.Errorf("demo: summary: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return Summary{}, fmt.Errorf("demo: commit: %w", err)
	}
	log.Info("demo: loaded", "seed", opts.Seed, "took", time.Since(start).Round(time.Millisecond),
		"townships", sum.Townships, "zones", sum.Zones, "villages", sum.Villages,
		"household_grids", sum.HouseholdGrids, "households", sum.Households, "people", sum.People, "users", sum.Users)
	return sum, nil
}

// plan reads the embedded data and decides everything that needs no
// database. It returns the district outline as GeoJSON.
func (l *loader) plan() (string, error) {
	fsys := Files()
	divs, err := readFile(fsys, "yanqing/divisions.csv", ReadDivisions)
	if err != nil {
		return "", err
	}
	outlines, err := readFile(fsys, "yanqing/district.geojson", ReadOutlines)
	if err != nil {
		return "", err
	}
	if l.district, l.townships, l.villages, err = planDivisions(divs, l.seed); err != nil {
		return "", err
	}
	outline, ok := outlines[l.district.Code]
	if !ok {
		return "", fmt.Errorf("demo: no outline for %s", l.district.Code)
	}
	if err = planGridCounts(l.villages, l.seed); err != nil {
		return "", err
	}
	towns := make([]Division, len(l.townships))
	for i, t := range l.townships {
		towns[i] = Division{Code: t.code, Name: t.name, Level: "township", ParentCode: l.district.Code}
	}
	if l.units, err = buildUnits(towns, stream(l.seed, "unit phones")); err != nil {
		return "", err
	}
	if l.categories, err = buildCategories(); err != nil {
		return "", err
	}
	if l.duties, err = buildDuties(l.categories, l.units, towns); err != nil {
		return "", err
	}
	return string(outline), nil
}

const countAll = `
SELECT (SELECT count(*) FROM grids WHERE level = 'township'),
       (SELECT count(*) FROM grids WHERE level = 'zone'),
       (SELECT count(*) FROM grids WHERE level = 'village'),
       (SELECT count(*) FROM grids WHERE level = 'household'),
       (SELECT count(*) FROM households),
       (SELECT count(*) FROM people),
       (SELECT count(*) FROM units WHERE kind = 'department'),
       (SELECT count(*) FROM units WHERE kind = 'station'),
       (SELECT count(*) FROM units WHERE kind = 'utility'),
       (SELECT count(*) FROM categories),
       (SELECT count(*) FROM duties),
       (SELECT count(*) FROM users)`

func (l *loader) summary(ctx context.Context) (Summary, error) {
	var s Summary
	err := l.tx.QueryRow(ctx, countAll).Scan(&s.Townships, &s.Zones, &s.Villages, &s.HouseholdGrids, &s.Households,
		&s.People, &s.Departments, &s.Stations, &s.Utilities, &s.Categories, &s.Duties, &s.Users)
	return s, err
}

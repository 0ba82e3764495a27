package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultHistoryClues is how many clues LoadHistory writes when
// HistoryOptions.Clues is 0: about what 延庆区's grid workers, the 12345
// hotline, the app and the villagers' forums bring in over a year.
const DefaultHistoryClues = 200_000

// HistoryDays is the length of the history: End − 365 days … End.
const HistoryDays = 365

// ErrHistoryNotEmpty is returned by LoadHistory when clues or whistles
// already has rows: the history is written once, onto the bare demo.
var ErrHistoryNotEmpty = errors.New("demo: history: clues or whistles already has rows")

// HistoryOptions tune LoadHistory; the zero value is a year up to now.
type HistoryOptions struct {
	// Seed picks the random draw; 0 means DefaultSeed. The same seed and
	// End on the same demo give the same history, row for row.
	Seed int64
	// End is the last instant of the history; zero means time.Now(). It is
	// truncated to the microsecond, PostgreSQL's precision.
	End time.Time
	// Clues is how many clues to write; 0 means DefaultHistoryClues.
	Clues int
	// Logger gets one line per step; nil discards.
	Logger *slog.Logger
	// ExportDir is the folder the year's hotline exports (xlsx and GBK
	// CSV, a file a month, 12345-2006-01.xlsx …) and their truth file
	// (12345-truth.csv) are written to before they are imported, replacing
	// the 12345-* files of a year loaded before; "" writes them to a
	// temporary folder, removed after.
	ExportDir string
}

// Cluster is a planted spatial cluster (热点): clues of one category
// around a fixed point, dense enough for the hotspot analysis to find.
type Cluster struct {
	Name     string    `json:"name"`     // what is going on there, in Chinese
	Kind     string    `json:"kind"`     // persistent (all year), new (only the last weeks) or intensifying (growing towards End)
	Township string    `json:"township"` // township code
	Lon      float64   `json:"lon"`      // centre, WGS-84
	Lat      float64   `json:"lat"`      // centre, WGS-84
	RadiusM  float64   `json:"radius_m"` // every planted clue lies within this many metres of the centre
	Category string    `json:"category"` // category code
	From     time.Time `json:"from"`     // first planted clue no earlier than this
	To       time.Time `json:"to"`       // last planted clue no later than this
	Clues    int       `json:"clues"`    // clues planted (hotspot clues included)
}

// HistorySummary counts what LoadHistory wrote.
type HistorySummary struct {
	Start, End time.Time
	Clues      int
	BySource   map[string]int // clues per source
	Whistles   int
	ByStatus   map[string]int // whistles per status at End
	ByGrade    map[string]int // whistles per grade at End
	Paths      PathCounts
	Summons    int
	Trail      int // whistle_events rows
	Events     int // events rows
	Notices    int // supervision_notices rows
	// Callbacks counts the command center's calls to residents after their
	// case closed (whistle_callbacks rows), CallbacksUnsatisfied those
	// answered unsatisfied.
	Callbacks, CallbacksUnsatisfied int
	// Meetings counts the villagers' meetings (村民说事) and their matters.
	Meetings, Matters int
	// RiskClues counts the clues flagged by the risk rules.
	RiskClues int
	// Hotline is how the hotline's orders came in: through the exports and
	// the importer. Clues counts the placed ones only; the unplaced wait
	// in the review queue.
	Hotline  HotlineImport
	Clusters []Cluster
	// Plan is the time spent drawing and simulating, Write the time spent
	// writing, Took the whole call.
	Plan, Write, Took time.Duration
}

// PathCounts counts the whistles that went down each path of the
// lifecycle. A whistle may count in several.
type PathCounts struct {
	Joined           int // gathered more than one clue (哨随事动)
	RaisedByHand     int // a township raised it from a village clue
	ClosedOnTime     int // closed by its resolve deadline with every unit reported in on time
	ReportInOverdue  int // a unit missed the report-in deadline (supervision notice)
	ResolveOverdue   int // the lead missed the resolve deadline (supervision notice)
	Returned         int // returned at least once
	ReturnedTwice    int // returned twice
	EscalatedByClues int // repeat clues raised the grade
	EscalatedByHand  int // the township escalated it to hard
	EscalatedBySweep int // a missed deadline raised the grade
	Consulted        int // second consultation (二次会商)
	Ruled            int // responsibility ruling (疑难定责)
	Contested        int // the ruling was contested (复议定责)
	ReRuled          int // ruled again after a contest
	Rated            int // every unit rated
	Open             int // not closed at End
	OpenOverdue      int // not closed at End and overdue
	Reopened         int // reopened by its township after an unsatisfied callback (回访)
}

// LoadHistory writes a year of history (End − 365 days … End) onto a
// database that holds the demo and nothing else: about Clues clues from
// every source with daily, weekly and seasonal rhythms and planted spatial
// clusters, every one placed with the placement index and run through the
// whistle rules as whistle.Store.Intake would, and the whistles they raised
// taken down every path of the lifecycle with their summons, trail,
// supervision notices and events, exactly as the live system writes them.
// The decisions are whistle's own: who may take a step and when
// (whistle.Authorize, Allowed), the status it leads to (Next), the
// deadlines (Policies, read from grade_policies and categories, and
// Tighten), the escalations, the summons and the close outcome; the rules
// that run in PostgreSQL (the choice of rule, the join, the escalation on
// repeated clues: whistle_intake_batch) are followed from the same tables.
// The whole year is simulated in memory in time order. Its hotline orders
// come in as a district's would: written as the hotline's exports into
// opts.ExportDir and imported through ingest's hotline importer in history
// mode (see history_hotline.go); the rest is written in one transaction
// with COPY, linked to the clues the import created. Either all of it is
// there afterwards or none: a failure after the import undoes it.
func LoadHistory(ctx context.Context, pool *pgxpool.Pool, opts HistoryOptions) (HistorySummary, error) {
	start := time.Now()
	opts = opts.withDefaults()
	log := opts.Logger
	var sum HistorySummary
	sum.Start, sum.End = opts.End.Add(-HistoryDays*24*time.Hour), opts.End

	var empty bool
	if err := pool.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM clues) AND NOT EXISTS (SELECT 1 FROM whistles)
		AND NOT EXISTS (SELECT 1 FROM hotline_orders)`).Scan(&empty); err != nil {
		return sum, fmt.Errorf("demo: history: %w", err)
	}
	if !empty {
		return sum, ErrHistoryNotEmpty
	}
	w, err := loadWorld(ctx, pool)
	if err != nil {
		return sum, err
	}
	log.Info("demo: history: world read", "took", time.Since(start).Round(time.Millisecond))

	t := time.Now()
	p := newPlanner(w, opts)
	clues, err := p.clues()
	if err != nil {
		return sum, err
	}
	hl, err := newHotlineYear(ctx, pool, w, opts.Seed)
	if err != nil {
		return sum, err
	}
	if clues, err = hl.place(clues, p.clusters); err != nil {
		return sum, err
	}
	log.Info("demo: history: clues drawn", "clues", len(clues), "hotline_orders", len(hl.orders), "took", time.Since(t).Round(time.Millisecond))
	t2 := time.Now()
	s := newSim(w, opts, clues)
	s.run()
	sum.Plan = time.Since(t)
	log.Info("demo: history: simulated", "whistles", len(s.whistles), "trail", len(s.trail), "events", len(s.events),
		"took", time.Since(t2).Round(time.Millisecond))

	t = time.Now()
	dir, cleanup, err := hotlineDir(opts.ExportDir)
	if err != nil {
		return sum, err
	}
	defer cleanup()
	sum.Hotline.Dir = dir
	hl.outcomes(s)
	if err := s.importHotline(ctx, pool, hl, &sum.Hotline); err != nil {
		return sum, err
	}
	log.Info("demo: history: hotline imported", "dir", dir, "files", len(sum.Hotline.Files), "orders", sum.Hotline.Orders,
		"unplaced", sum.Hotline.Unplaced, "took", sum.Hotline.Took.Round(time.Millisecond))
	if err := s.write(ctx, pool); err != nil {
		if uerr := undoHotline(context.WithoutCancel(ctx), pool); uerr != nil {
			log.Error("demo: history: the hotline import could not be undone", "err", uerr)
		}
		return sum, err
	}
	sum.Write = time.Since(t)
	s.summarize(&sum)
	sum.Clusters = p.plantedClusters()
	if _, err := loadChannels(ctx, pool, opts, &sum); err != nil {
		return sum, err
	}
	sum.Took = time.Since(start)
	log.Info("demo: history: loaded", "seed", opts.Seed, "end", opts.End, "clues", sum.Clues, "whistles", sum.Whistles,
		"events", sum.Events, "plan", sum.Plan.Round(time.Millisecond), "write", sum.Write.Round(time.Millisecond),
		"took", sum.Took.Round(time.Millisecond))
	return sum, nil
}

// PlantedClusters returns the clusters LoadHistory plants with opts on the
// demo in pool, without writing anything: their centres depend on the
// demo's households, the seed and End.
func PlantedClusters(ctx context.Context, pool *pgxpool.Pool, opts HistoryOptions) ([]Cluster, error) {
	opts = opts.withDefaults()
	w, err := loadWorld(ctx, pool)
	if err != nil {
		return nil, err
	}
	p := newPlanner(w, opts)
	if _, err := p.clues(); err != nil {
		return nil, err
	}
	return p.plantedClusters(), nil
}

func (o HistoryOptions) withDefaults() HistoryOptions {
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
	if o.End.IsZero() {
		o.End = time.Now()
	}
	o.End = o.End.Truncate(time.Microsecond)
	if o.Clues <= 0 {
		o.Clues = DefaultHistoryClues
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

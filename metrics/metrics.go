// Package metrics holds the Prometheus metrics that packages below api
// report to: intake by outcome, deadline sweeps, hotspot scans, import
// rows, and the database pool's statistics. It is a leaf (it imports no
// project package), so whistle, hotspot, ingest and api may all import it
// without bending the dependency direction.
//
// The collectors are package-level, the one exception to the house rule of
// no package-level state: they are counters that only go up, every
// instance of the process shares them, and a library that counts rows
// should not need a registry passed down to it. api.New registers them
// (Register) on the registry served on --metrics-addr; in tests several
// registries may hold them at once.
package metrics

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Intake outcomes: kept (the clue stays in its village), joined (it joined
// an open whistle), raised (its township raised a whistle), escalated (it
// joined and the whistle went up a grade), existing (the same source and
// external_id were stored before: nothing changed), refused (bad input,
// forbidden: a 4xx) and failed (anything else).
const (
	OutcomeKept      = "kept"
	OutcomeJoined    = "joined"
	OutcomeRaised    = "raised"
	OutcomeEscalated = "escalated"
	OutcomeExisting  = "existing"
	OutcomeRefused   = "refused"
	OutcomeFailed    = "failed"
)

// How an intake transaction began, and its result, for IntakeBatch.
const (
	BatchFresh     = "fresh"
	BatchChained   = "chained"
	BatchCommitted = "committed"
	BatchFailed    = "failed"
)

// Import row outcomes for ImportRows.
const (
	RowStored  = "stored"
	RowRefused = "refused"
)

var (
	intake = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "whistlegrid_intake_duration_seconds",
		Help:    "Clue intake (POST /api/v1/clues, Open311, imports) by outcome: kept, joined, raised, escalated, existing, refused, failed. Its _count is the number of clues.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 10),
	}, []string{"outcome"})
	sweeps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "whistlegrid_sweep_runs_total",
		Help: "Deadline sweeps run, by result (ok, error).",
	}, []string{"result"})
	sweepOverdue = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "whistlegrid_sweep_overdue_total",
		Help: "Whistles a sweep marked overdue, by deadline (report_in, resolve).",
	}, []string{"deadline"})
	sweepEscalations = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "whistlegrid_sweep_escalations_total",
		Help: "Grade escalations made by deadline sweeps.",
	})
	sweepNotices = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "whistlegrid_sweep_notices_total",
		Help: "Supervision notices sent by deadline sweeps.",
	})
	hotspotScans = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "whistlegrid_hotspot_scan_duration_seconds",
		Help:    "Hotspot scans (scheduled or POST /api/v1/hotspots/scan), by result (ok, error). Its _count is the number of scans.",
		Buckets: prometheus.ExponentialBuckets(0.1, 2.5, 10),
	}, []string{"result"})
	hotspotFiled = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "whistlegrid_hotspot_scan_filed_total",
		Help: "Hotspot findings filed as clues by scans.",
	})
	intakeBatches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "whistlegrid_intake_batches_total",
		Help: "Intake transactions of the lanes, by how they began (fresh: sent when the lane had read the answers of the one before; chained: sent right behind the COMMIT of the one before, on the same connection) and result (committed; failed: a batch's clues then run one at a time).",
	}, []string{"start", "result"})
	intakeBatchClues = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "whistlegrid_intake_batch_clues_total",
		Help: "Clues in the intake transactions of the lanes, by how they began (as whistlegrid_intake_batches_total); divided by those, the clues a transaction.",
	}, []string{"start"})
	importRows = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "whistlegrid_import_rows_total",
		Help: "Rows read by imports, by source (the importer's name) and outcome (stored, refused).",
	}, []string{"source", "outcome"})
)

// collectors are the package's collectors, for Register.
func collectors() []prometheus.Collector {
	return []prometheus.Collector{intake, sweeps, sweepOverdue, sweepEscalations, sweepNotices, hotspotScans, hotspotFiled, importRows,
		intakeBatches, intakeBatchClues}
}

func init() {
	// Every outcome and result is exported from the start at zero, so a
	// rate() over it is defined before the first event.
	for _, o := range []string{OutcomeKept, OutcomeJoined, OutcomeRaised, OutcomeEscalated, OutcomeExisting, OutcomeRefused, OutcomeFailed} {
		intake.WithLabelValues(o)
	}
	for _, r := range []string{"ok", "error"} {
		sweeps.WithLabelValues(r)
		hotspotScans.WithLabelValues(r)
	}
	for _, d := range []string{"report_in", "resolve"} {
		sweepOverdue.WithLabelValues(d)
	}
	for _, start := range []string{BatchFresh, BatchChained} {
		intakeBatchClues.WithLabelValues(start)
		for _, r := range []string{BatchCommitted, BatchFailed} {
			intakeBatches.WithLabelValues(start, r)
		}
	}
}

// Register adds the package's collectors to reg. A collector already
// registered there is not an error.
func Register(reg prometheus.Registerer) error {
	var errs []error
	for _, c := range collectors() {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Intake records one clue's intake: its outcome (Outcome*) and how long
// it took.
func Intake(outcome string, took time.Duration) {
	intake.WithLabelValues(outcome).Observe(took.Seconds())
}

// IntakeBatch records one intake transaction of a lane: whether it was
// chained behind the one before, its clues, and its error (nil: committed).
func IntakeBatch(chained bool, clues int, err error) {
	start, result := BatchFresh, BatchCommitted
	if chained {
		start = BatchChained
	}
	if err != nil {
		result = BatchFailed
	}
	intakeBatches.WithLabelValues(start, result).Inc()
	intakeBatchClues.WithLabelValues(start).Add(float64(clues))
}

// Sweep records one deadline sweep: its result (err nil or not), the
// whistles it marked overdue at each deadline, the notices it sent and
// the escalations it made.
func Sweep(err error, reportInOverdue, resolveOverdue, notices, escalated int) {
	if err != nil {
		sweeps.WithLabelValues("error").Inc()
		return
	}
	sweeps.WithLabelValues("ok").Inc()
	sweepOverdue.WithLabelValues("report_in").Add(float64(reportInOverdue))
	sweepOverdue.WithLabelValues("resolve").Add(float64(resolveOverdue))
	sweepNotices.Add(float64(notices))
	sweepEscalations.Add(float64(escalated))
}

// HotspotScan records one hotspot scan: its result, how long it took, and
// the findings it filed.
func HotspotScan(err error, took time.Duration, filed int) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	hotspotScans.WithLabelValues(result).Observe(took.Seconds())
	hotspotFiled.Add(float64(filed))
}

// ImportRows counts n rows of an import from source (e.g. "geojson",
// "csv", "hotline") with outcome RowStored or RowRefused: the hook every
// importer calls once per batch or per file.
func ImportRows(source, outcome string, n int) {
	if n > 0 {
		importRows.WithLabelValues(source, outcome).Add(float64(n))
	}
}

package api

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"whistlegrid/fault"
)

// class is a class of routes that shares one gate.
type class string

// The classes. Heavy reads (lists with totals, snapshots, statistics,
// analyses) and tiles share the database's slowest work; /place is in
// memory; intake writes; a login spends a bcrypt. Each has its own gate,
// so heavy reads can fill theirs and still leave /place and intake their
// own capacity. Routes in no class (a single grid or whistle, the
// categories, /healthz, the pages, the live stream) are cheap and
// unbounded.
const (
	classHeavy  class = "heavy"
	classTiles  class = "tiles"
	classPlace  class = "place"
	classIntake class = "intake"
	classLogin  class = "login"
)

// classes puts routes ("METHOD /path") in classes; README lists them.
//
// GET /api/v1/hotspots is in no class: hotspot.Store bounds its analyses
// itself (identical ones shared, at most DefaultMaxAnalyses at once, 429
// beyond), and a shared answer costs nothing.
var classes = map[string]class{
	"GET /api/v1/grids":                      classHeavy,
	"GET /api/v1/grids/:code/history":        classHeavy,
	"GET /api/v1/coverage":                   classHeavy,
	"GET /api/v1/clues":                      classHeavy,
	"GET /api/v1/whistles":                   classHeavy,
	"GET /api/v1/snapshot":                   classHeavy,
	"GET /api/v1/stats":                      classHeavy,
	"GET /api/v1/stats/clues":                classHeavy,
	"GET /api/v1/assessment":                 classHeavy,
	"POST /api/v1/hotspots/scan":             classHeavy,
	"POST /api/v1/imports":                   classHeavy,
	"GET /api/v1/hotline/unplaced":           classHeavy,
	"GET /api/v1/villages/:code/contact-map": classHeavy,
	"GET /open311/v2/:doc":                   classHeavy,
	"GET /tiles/:layer/:z/:x/:y":             classTiles,
	"GET /api/v1/place":                      classPlace,
	"POST /api/v1/place":                     classPlace,
	"POST /api/v1/clues":                     classIntake,
	"POST /api/v1/attachments":               classIntake,
	"POST /api/v1/whistles":                  classIntake,
	"POST /api/v1/whistles/:id/:step":        classIntake,
	"PUT /api/v1/grids/:code":                classIntake,
	"POST /open311/v2/:doc":                  classIntake,
	"POST /api/v1/auth/login":                classLogin,
}

// shedRetryAfter is the Retry-After of a request shed at a full gate.
const shedRetryAfter = time.Second

// gate is a Gate at work: a semaphore of Slots and a count of waiters.
type gate struct {
	class   class
	cfg     Gate
	slots   chan struct{}
	waiting atomic.Int64
	shed    prometheus.Counter
}

// newGates makes the gates of l and registers their metrics on reg:
// whistlegrid_http_shed_total{class}, the requests refused at a full
// gate, and whistlegrid_http_gate_in_use{class}, the slots taken.
func newGates(l Limits, reg prometheus.Registerer) map[class]*gate {
	shed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "whistlegrid_http_shed_total",
		Help: "Requests answered 503 because their class's gate was full.",
	}, []string{"class"})
	reg.MustRegister(shed)
	out := map[class]*gate{}
	for cl, cfg := range map[class]Gate{classHeavy: l.Heavy, classTiles: l.Tiles, classPlace: l.Place, classIntake: l.Intake, classLogin: l.Login} {
		g := &gate{class: cl, cfg: cfg, slots: make(chan struct{}, cfg.Slots), shed: shed.WithLabelValues(string(cl))}
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "whistlegrid_http_gate_in_use",
			Help:        "Slots of a class's gate taken by running requests.",
			ConstLabels: prometheus.Labels{"class": string(cl)},
		}, func() float64 { return float64(len(g.slots)) }))
		out[cl] = g
	}
	return out
}

// enter takes a slot, waiting up to the gate's Wait when all are taken
// and fewer than Queue others wait; release gives it back. A request
// that gets none is a fault.Unavailable (503), and its context's end is
// its error.
func (g *gate) enter(ctx context.Context) (release func(), err error) {
	select {
	case g.slots <- struct{}{}:
		return g.release, nil
	default:
	}
	if g.waiting.Add(1) > int64(g.cfg.Queue) {
		g.waiting.Add(-1)
		return nil, g.refuse()
	}
	defer g.waiting.Add(-1)
	t := time.NewTimer(g.cfg.Wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return g.release, nil
	case <-t.C:
		return nil, g.refuse()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (g *gate) release() { <-g.slots }

// refuse is the answer to a request shed at the gate: 503, which the edge
// sends with Retry-After shedRetryAfter.
func (g *gate) refuse() error {
	g.shed.Inc()
	return fault.Newf(fault.Unavailable, "the server is busy with %s requests (all %d slots taken); retry in %d s",
		g.class, g.cfg.Slots, int(shedRetryAfter.Seconds()))
}

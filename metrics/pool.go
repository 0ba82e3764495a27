package metrics

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// PoolCollector exports a pgx pool's statistics (pgxpool.Stat) at each
// scrape: the connections by state as gauges, acquires and connection
// churn as counters.
type PoolCollector struct {
	pool                                          *pgxpool.Pool
	total, idle, acquired, constructing, maxConns *prometheus.Desc
	acquires, canceled, empty, newConns, acquireS *prometheus.Desc
	lifetimeDestroyed, idleDestroyed              *prometheus.Desc
}

// NewPoolCollector collects pool's statistics as whistlegrid_db_pool_*.
func NewPoolCollector(pool *pgxpool.Pool) *PoolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("whistlegrid_db_pool_"+name, help, nil, nil)
	}
	return &PoolCollector{
		pool:              pool,
		total:             d("conns", "Connections in the pool (idle, acquired and being made)."),
		idle:              d("idle_conns", "Idle connections."),
		acquired:          d("acquired_conns", "Connections in use."),
		constructing:      d("constructing_conns", "Connections being made."),
		maxConns:          d("max_conns", "The pool's size."),
		acquires:          d("acquires_total", "Connections acquired."),
		canceled:          d("canceled_acquires_total", "Acquires canceled by their context."),
		empty:             d("empty_acquires_total", "Acquires that waited because the pool had no idle connection."),
		newConns:          d("new_conns_total", "Connections opened."),
		acquireS:          d("acquire_wait_seconds_total", "Time spent acquiring connections."),
		lifetimeDestroyed: d("max_lifetime_destroyed_total", "Connections closed for reaching their maximum lifetime."),
		idleDestroyed:     d("max_idle_destroyed_total", "Connections closed for being idle too long."),
	}
}

// Describe sends the descriptors.
func (c *PoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.total, c.idle, c.acquired, c.constructing, c.maxConns, c.acquires, c.canceled,
		c.empty, c.newConns, c.acquireS, c.lifetimeDestroyed, c.idleDestroyed} {
		ch <- d
	}
}

// Collect reads the pool's statistics.
func (c *PoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	g := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	n := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	g(c.total, float64(s.TotalConns()))
	g(c.idle, float64(s.IdleConns()))
	g(c.acquired, float64(s.AcquiredConns()))
	g(c.constructing, float64(s.ConstructingConns()))
	g(c.maxConns, float64(s.MaxConns()))
	n(c.acquires, float64(s.AcquireCount()))
	n(c.canceled, float64(s.CanceledAcquireCount()))
	n(c.empty, float64(s.EmptyAcquireCount()))
	n(c.newConns, float64(s.NewConnsCount()))
	n(c.acquireS, s.AcquireDuration().Seconds())
	n(c.lifetimeDestroyed, float64(s.MaxLifetimeDestroyCount()))
	n(c.idleDestroyed, float64(s.MaxIdleDestroyCount()))
}

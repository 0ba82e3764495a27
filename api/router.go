// Package api serves whistlegrid over HTTP: the JSON API under /api/v1, the
// health check and the embedded frontend, every route registered in this
// file; and, apart, the Prometheus metrics (Metrics), which the command
// serves on its own address.
package api

import (
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"whistlegrid/attach"
	"whistlegrid/auth"
	"whistlegrid/board"
	"whistlegrid/grid"
	"whistlegrid/hotspot"
	"whistlegrid/ingest"
	"whistlegrid/ledger"
	"whistlegrid/live"
	"whistlegrid/meeting"
	"whistlegrid/metrics"
	"whistlegrid/whistle"
)

// Config is what the server is built from.
type Config struct {
	Pool     *pgxpool.Pool
	Logger   *slog.Logger
	Frontend http.Handler // the built page; nil serves nothing at /
	Placer   *grid.Placer // the placement index; nil: the /place routes answer 503
	Live     *live.Hub    // the event stream; nil: /api/v1/live answers 503
	// Hotspots runs the 未诉先办 analyses; nil: one is made on Pool. Pass
	// the one the scheduled scan uses, to share its study areas.
	Hotspots *hotspot.Store
	Version  string
	// Limits bounds connections and requests; zero fields take
	// DefaultLimits for Pool's size.
	Limits Limits
	// LoginThrottle is the policy of failed logins; zero fields take
	// auth.DefaultThrottlePolicy's.
	LoginThrottle auth.ThrottlePolicy
	// Attachments stores the uploaded photos and documents (attach.Disk
	// under the data folder by default); nil: the attachment routes
	// answer 503.
	Attachments attach.Blobs
	// TrustedProxies are the addresses (IPs or CIDRs) of reverse proxies
	// whose X-Forwarded-For names the client; none by default, so the
	// client is the connection's peer (it keys the login throttle).
	TrustedProxies []string
	// CORSOrigins are the origins (scheme://host[:port], or "*") whose
	// pages may call /api across origins, and /open311 and /tiles with
	// bearer credentials; none by default (cors.go).
	CORSOrigins []string
	// BoardLimits are the public board's posting limits per client
	// address; zero fields take board.DefaultLimits'.
	BoardLimits board.Limits
}

// Server holds the handlers' dependencies.
type Server struct {
	log      *slog.Logger
	auth     *auth.Store
	grid     *grid.Store
	reg      *prometheus.Registry
	reqs     *prometheus.HistogramVec
	version  string
	placer   *grid.Placer
	live     *live.Hub
	whistles *whistle.Store
	meetings *meeting.Store
	hotspot  *hotspot.Store
	imports  *ingest.Importer
	handler  http.Handler
	engine   *gin.Engine
	limits   Limits
	gates    map[class]*gate
	throttle *auth.Throttle
	origins  corsPolicy
	encoders *encoders
	blobs    attach.Blobs
	openapi  []byte // the OpenAPI document of /api/v1 (openapi.go)
	ledger   *ledger.Store
	board    *board.Store
}

// New builds the server and its routes.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{
		log:      cfg.Logger,
		auth:     auth.NewStore(cfg.Pool),
		grid:     grid.NewStore(cfg.Pool),
		reg:      prometheus.NewRegistry(),
		version:  cfg.Version,
		placer:   cfg.Placer,
		live:     cfg.Live,
		hotspot:  cfg.Hotspots,
		origins:  newCORSPolicy(cfg.CORSOrigins),
		encoders: newEncoders(),
		blobs:    cfg.Attachments,
		openapi:  mustOpenAPI(),
	}
	if s.hotspot == nil {
		s.hotspot = hotspot.NewStore(cfg.Pool)
	}
	poolConns := 16
	if cfg.Pool != nil {
		poolConns = int(cfg.Pool.Config().MaxConns)
	}
	s.limits = cfg.Limits.withDefaults(DefaultLimits(poolConns, runtime.GOMAXPROCS(0)))
	s.gates = newGates(s.limits, s.reg)
	s.throttle = auth.NewThrottle(cfg.Pool, cfg.LoginThrottle)
	s.ledger = ledger.NewStore(cfg.Pool, nil)
	s.board = board.NewStore(cfg.Pool, cfg.BoardLimits, nil)
	if cfg.Placer != nil {
		s.whistles = whistle.NewStore(cfg.Pool, cfg.Placer, whistle.Options{})
		s.imports = ingest.NewImporter(cfg.Pool, cfg.Placer, s.whistles)
		s.meetings = meeting.NewStore(cfg.Pool, s.whistles)
	}
	s.reqs = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "whistlegrid_http_request_duration_seconds",
		Help:    "HTTP requests by route, method and status.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12),
	}, []string{"route", "method", "status"})
	s.reg.MustRegister(s.reqs, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := metrics.Register(s.reg); err != nil {
		s.log.Warn("metrics not registered", slog.Any("err", err))
	}
	if cfg.Pool != nil {
		s.reg.MustRegister(metrics.NewPoolCollector(cfg.Pool))
	}

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery(), s.observe, s.cors, s.edge, s.compress)
	r.HandleMethodNotAllowed = true
	if err := r.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		s.log.Error("trusted proxies ignored", slog.Any("err", err))
		_ = r.SetTrustedProxies(nil)
	}

	r.GET("/healthz", s.healthz)

	v1 := r.Group("/api/v1")
	v1.POST("/auth/login", s.login)
	v1.GET("/openapi.json", s.openapiJSON)
	r.GET("/api/docs", s.apiDocs)

	authed := v1.Group("", s.requireToken)
	authed.POST("/auth/logout", s.logout)
	authed.GET("/auth/me", s.me)
	authed.GET("/grids", s.grids)
	authed.GET("/grids/:code", s.gridOne)
	authed.GET("/units", s.units)
	authed.GET("/categories", s.categories)
	authed.GET("/place", s.needPlacer, s.place)
	authed.POST("/place", s.needPlacer, s.placeBatch)
	authed.POST("/clues", s.needWhistles, s.postClue)
	authed.GET("/clues", s.needWhistles, s.clues)
	authed.GET("/clues/mine", s.needWhistles, s.myReports)
	authed.POST("/attachments", s.needWhistles, s.needBlobs, s.uploadAttachment)
	authed.POST("/whistles", s.needWhistles, s.raiseWhistle)
	authed.GET("/whistles", s.needWhistles, s.listWhistles)
	authed.GET("/whistles/:id", s.needWhistles, s.getWhistle)
	authed.POST("/whistles/:id/:step", s.needWhistles, s.whistleStep)
	authed.GET("/whistles/:id/actions", s.needWhistles, s.whistleActions)
	authed.GET("/work/counts", s.needWhistles, s.workCounts)
	authed.GET("/work/:tab", s.needWhistles, s.workQueue)
	authed.GET("/villages/:code/contact-map", s.contactMap)
	authed.GET("/coverage", s.coverage)
	authed.PUT("/grids/:code", s.editGrid)
	authed.GET("/grids/:code/history", s.gridHistory)
	authed.GET("/stats", s.needWhistles, s.stats)
	authed.GET("/stats/clues", s.needWhistles, s.statsClues)
	authed.GET("/assessment", s.needWhistles, s.assessment)
	authed.GET("/hotspots", s.hotspots)
	authed.POST("/hotspots/scan", s.needWhistles, s.hotspotScan)
	authed.GET("/ledger", s.ledgerList)
	authed.POST("/ledger", s.ledgerCreate)
	authed.GET("/ledger/review", s.ledgerReview)
	authed.GET("/ledger/:id", s.ledgerGet)
	authed.PATCH("/ledger/:id", s.ledgerPatch)
	authed.POST("/ledger/:id/progress", s.ledgerProgress)
	authed.POST("/ledger/:id/writeoff", s.ledgerWriteoff)
	authed.POST("/ledger/:id/review", s.ledgerDecide)
	v1.POST("/board/messages", s.boardPost)
	v1.GET("/board/messages", s.boardList)
	v1.GET("/board/receipts/:receipt", s.boardReceipt)
	v1.GET("/board/categories", s.boardCategories)
	authed.GET("/board/screening", s.boardScreening)
	authed.POST("/board/messages/:id/accept", s.needWhistles, s.boardAccept)
	authed.POST("/board/messages/:id/reject", s.boardReject)
	authed.POST("/board/messages/:id/reply", s.boardReply)
	authed.POST("/imports", s.needImports, s.postImport)
	authed.GET("/imports/:id", s.needImports, s.getImport)
	authed.GET("/imports/:id/rejects", s.needImports, s.getImportRejects)
	authed.GET("/hotline/unplaced", s.needImports, s.unplacedOrders)
	authed.POST("/hotline/unplaced/:id/place", s.needImports, s.placeOrder)
	authed.GET("/risk-rules", s.needWhistles, s.riskRules)
	authed.PUT("/risk-rules", s.needWhistles, s.putRiskRules)
	authed.GET("/villages/:code/meetings", s.needWhistles, s.villageMeetings)
	authed.POST("/villages/:code/meetings", s.needWhistles, s.postMeeting)
	authed.PATCH("/meetings/:id/matters/:n", s.needWhistles, s.patchMatter)

	// The live stream, the snapshot and the tiles need the hub (Config.Live):
	// without it they answer 503 (after the token check). The stream and the
	// tiles take the token from the query too (a browser's websocket and a
	// map's tile requests cannot set a header).
	if s.live != nil {
		if err := s.live.Register(s.reg); err != nil {
			s.log.Warn("live metrics not registered", slog.Any("err", err))
		}
	}
	v1.GET("/live", s.liveStream)
	authed.GET("/snapshot", s.needLive, s.snapshot)
	r.GET("/tiles", s.tileCatalog)
	r.GET("/tiles/:layer", s.tileLayerJSON)
	r.GET("/tiles/:layer/:z/:x/:y", s.tileToken, s.needLive, s.tile)
	// Attachments are shown in <img>, which sends no header: the token
	// may come in the query, as for tiles.
	v1.GET("/attachments/:id", s.attachToken, s.needWhistles, s.needBlobs, s.attachmentFile)
	v1.GET("/attachments/:id/thumb", s.attachToken, s.needWhistles, s.needBlobs, s.attachmentThumb)

	// Open311 GeoReport v2: public read, posting with an api_key, errors in
	// the spec's own array shape.
	o := s.newOpen311(cfg.Pool)
	g := r.Group(open311Prefix)
	g.GET("/:doc", o.document)
	g.POST("/:doc", o.postRequest)
	g.GET("/services/:service", o.serviceDefinition)
	g.GET("/requests/:request", o.request)
	g.GET("/tokens/:token", o.token)

	r.NoRoute(s.noRoute(cfg.Frontend))
	r.NoMethod(s.noMethod)
	s.handler = r
	s.engine = r
	return s
}

// Route is one registered route.
type Route struct{ Method, Path string }

// Routes lists every registered route, for tests that walk them all.
func (s *Server) Routes() []Route {
	var out []Route
	for _, r := range s.engine.Routes() {
		out = append(out, Route{Method: r.Method, Path: r.Path})
	}
	return out
}

// ServeHTTP makes the server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Metrics serves the Prometheus metrics (GET /metrics). It is not on the
// server's own routes: the command serves it on its --metrics-addr, so
// the public address does not show routes and counts.
func (s *Server) Metrics() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	return mux
}

// Registry is the Prometheus registry the server reports to, for other
// parts (the live hub, the sweeps) to add their metrics.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// observe logs each request and records its duration.
func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	d := time.Since(start)
	status := c.Writer.Status()
	s.reqs.WithLabelValues(route, c.Request.Method, strconv.Itoa(status)).Observe(d.Seconds())
	level := slog.LevelDebug
	if status >= 500 {
		level = slog.LevelError
	} else if status >= 400 {
		level = slog.LevelInfo
	}
	s.log.Log(c.Request.Context(), level, "http", slog.String("method", c.Request.Method), slog.String("path", c.Request.URL.Path),
		slog.Int("status", status), slog.Duration("took", d))
}

package whistle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"

	"whistlegrid/access"
	"whistlegrid/fault"
	"whistlegrid/geo"
	"whistlegrid/grid"
	"whistlegrid/internal/outbox"
	"whistlegrid/metrics"
)

// Store runs clues and whistles against the database.
type Store struct {
	pool   *pgxpool.Pool
	placer *grid.Placer
	now    func() time.Time
	lanes  []lane // clue intake, by category (Options.IntakeLanes)

	riskRules atomic.Pointer[riskRulesCache] // the risk rules as last read (risk.go)
	notifier  outbox.Notifier                // events notified after intake commits
}

// Options tunes a Store.
type Options struct {
	// Now is the clock; nil means time.Now. The demo history sets it to
	// replay a year.
	Now func() time.Time
	// IntakeLanes is how many intake transactions this Store runs at once,
	// each for the clues of its categories (see lane); 0 means
	// DefaultIntakeLanes.
	IntakeLanes int
}

// DefaultIntakeLanes is one lane: every clue arriving while an intake
// transaction runs shares the next one. What a transaction costs besides
// its clues (its set-wise statements, the events insert, the commit and
// its WAL flush) is about a millisecond of database time, so fewer and
// larger batches carry more clues on the same CPU: on 2 cores, bench
// clues measured one lane at about 1.3× four lanes, run for run, with
// half the database CPU a clue (README, Whistles). More lanes let a lock
// wait of one category (at most batchLockTimeout) hold up its own lane
// only.
const DefaultIntakeLanes = 1

// NewStore returns a Store that places clues with placer.
func NewStore(pool *pgxpool.Pool, placer *grid.Placer, opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.IntakeLanes <= 0 {
		opts.IntakeLanes = DefaultIntakeLanes
	}
	return &Store{pool: pool, placer: placer, now: opts.Now, lanes: make([]lane, opts.IntakeLanes)}
}

// invalid is an ErrInvalid naming the input field at fault.
func invalid(field, format string, a ...any) error {
	return fault.FieldErrorf(ErrInvalid, field, format, a...)
}

// Reporter is who reported a clue: personal data, masked unless the
// caller's role needs it.
type Reporter struct {
	Name  string `json:"name,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// ClueInput is a clue as it arrives at POST /api/v1/clues.
type ClueInput struct {
	Source     string    `json:"source"`
	ExternalID string    `json:"external_id"`
	Category   string    `json:"category"`
	Text       string    `json:"text"`
	Lon        *float64  `json:"lon"`
	Lat        *float64  `json:"lat"`
	Datum      string    `json:"datum"`
	ReportedAt string    `json:"reported_at"`
	Reporter   *Reporter `json:"reporter"`
	// Attachments are ids of the caller's uploads (POST
	// /api/v1/attachments) to attach to the clue; at most
	// MaxAttachments. Posted again under the same key they attach to the
	// stored clue, once.
	Attachments []int64 `json:"attachments"`
	// MediaURL is an Open311 request's media_url, kept with the clue; not
	// read from the JSON API.
	MediaURL string `json:"-"`
	// AtVillage puts the clue in the village its point lies in, its grid
	// chain stopping there: a hotline order matched to a village by name
	// alone (ingest), never a point sent to POST /api/v1/clues.
	AtVillage bool `json:"-"`
}

// validated is a ClueInput after validation and placement.
type validated struct {
	in         ClueInput
	datum      geo.Datum
	reportedAt time.Time
	wgs        orb.Point
	placement  grid.Placement
}

// Limits of a clue's fields, in characters (Unicode code points): a
// longer one is refused (ErrInvalid naming the field). A reporter's phone
// has 7 to 20 digits, '+' or '-'.
const (
	MaxExternalID   = 128
	MaxText         = 4000
	MaxReporterName = 128
)

// The window of a clue's reported_at: from MinReportYear-01-01 00:00
// Beijing time (the platform holds nothing older; an earlier time is a
// mistake such as 0000-01-01) to MaxReportAhead after the server's clock
// (the clocks of phones and hotline systems drift).
const (
	MinReportYear  = 2000
	MaxReportAhead = 5 * time.Minute
)

// validate checks every field and places the point. A clue reported
// outside the window (MinReportYear, MaxReportAhead), or one outside the
// district, is refused.
func (s *Store) validate(in ClueInput) (*validated, error) {
	v := &validated{in: in}
	if !ValidSource(in.Source) {
		return nil, invalid("source", "source must be one of patrol, hotline, app, forum, hotspot, sensor, meeting")
	}
	in.ExternalID = strings.TrimSpace(in.ExternalID)
	v.in.ExternalID = in.ExternalID
	if in.ExternalID == "" || utf8.RuneCountInString(in.ExternalID) > MaxExternalID {
		return nil, invalid("external_id", "external_id is required, at most %d characters", MaxExternalID)
	}
	if in.Category == "" {
		return nil, invalid("category", "category is required")
	}
	if !s.placer.KnownCategory(in.Category) {
		return nil, invalid("category", "unknown category %q (see GET /api/v1/categories)", in.Category)
	}
	if utf8.RuneCountInString(in.Text) > MaxText {
		return nil, invalid("text", "text is at most %d characters", MaxText)
	}
	if in.Lon == nil || in.Lat == nil {
		return nil, invalid("lon", "lon and lat are required")
	}
	if err := geo.ValidLonLat(*in.Lon, *in.Lat); err != nil {
		return nil, invalidLonLat(err)
	}
	d, err := geo.ParseDatum(in.Datum)
	if err != nil {
		return nil, invalid("datum", "%v", err)
	}
	v.datum = d
	if v.wgs, err = geo.WGS84Point(*in.Lon, *in.Lat, d); err != nil {
		return nil, invalidLonLat(err)
	}
	if in.ReportedAt == "" {
		return nil, invalid("reported_at", "reported_at is required (RFC 3339)")
	}
	v.reportedAt, err = geo.ParseTime(in.ReportedAt)
	if err != nil {
		return nil, invalid("reported_at", "reported_at must be an RFC 3339 time, e.g. 2026-11-25T09:30:00+08:00: %v", err)
	}
	if v.reportedAt.Before(time.Date(MinReportYear, 1, 1, 0, 0, 0, 0, geo.Beijing)) {
		return nil, invalid("reported_at", "reported_at is before %d-01-01", MinReportYear)
	}
	if v.reportedAt.After(s.now().Add(MaxReportAhead)) {
		return nil, invalid("reported_at", "reported_at is more than %v in the future", MaxReportAhead)
	}
	if in.Reporter != nil && utf8.RuneCountInString(in.Reporter.Name) > MaxReporterName {
		return nil, invalid("reporter.name", "reporter.name is at most %d characters", MaxReporterName)
	}
	if in.Reporter != nil && in.Reporter.Phone != "" && !validPhone(in.Reporter.Phone) {
		return nil, invalid("reporter.phone", "a phone has 7 to 20 digits, '+' or '-'")
	}
	v.placement, err = s.placer.Place(v.wgs)
	if errors.Is(err, grid.ErrOutside) {
		return nil, invalid("lon", "the point %.6f,%.6f (WGS-84) is outside the district's grids", v.wgs[0], v.wgs[1])
	}
	if err != nil {
		return nil, err
	}
	if in.AtVillage && len(v.placement.Chain) > 1 && v.placement.Chain[1].Level == grid.LevelVillage {
		v.placement.Chain = v.placement.Chain[1:]
	}
	return v, nil
}

// invalidLonLat is a geo.ValidLonLat or geo.WGS84Point error as an
// ErrInvalid naming the coordinate at fault.
func invalidLonLat(err error) error {
	field := "lon"
	var le *geo.LonLatError
	if errors.As(err, &le) {
		field = le.Coord
	}
	return invalid(field, "%v", err)
}

func validPhone(p string) bool {
	if len(p) < 7 || len(p) > 20 {
		return false
	}
	for _, r := range p {
		if (r < '0' || r > '9') && r != '+' && r != '-' {
			return false
		}
	}
	return true
}

// mayReport decides who may submit a clue at a placement: the command
// center anywhere, a township inside itself, a grid worker inside their
// village.
func mayReport(sc access.Scope, pl grid.Placement) error {
	switch sc.Role {
	case access.RoleCommand:
		return nil
	case access.RoleTownship, access.RoleGridWorker:
		if sc.Covers(pl.Chain[0].Code) {
			return nil
		}
		return fault.Errorf(ErrForbidden, "the point lies in %s, outside your jurisdiction", chainName(pl))
	}
	return fault.Errorf(ErrForbidden, "a %s may not submit clues", sc.Role)
}

func chainName(pl grid.Placement) string {
	var parts []string
	for i := len(pl.Chain) - 2; i >= 1; i-- {
		if pl.Chain[i].Level != grid.LevelZone {
			parts = append(parts, pl.Chain[i].Name)
		}
	}
	return strings.Join(parts, " ")
}

// IntakeResult is what Intake did.
type IntakeResult struct {
	Clue    Clue     `json:"clue"`
	Whistle *Summary `json:"whistle"`
	// Existing is true when the clue was already stored under its
	// (source, external_id): nothing changed.
	Existing bool `json:"-"`
}

// intakeBatchQuery runs a lane's batch of clues through
// migrations/00023_intake_batch.sql: for each clue in order the rule, the
// advisory lock on category/township, and the raise, join or escalation
// with their trail rows; then the clues in one insert and their risk
// counts. It answers a row per whistle step (the clue's index in the batch,
// kind, count, grade before, note, then the summary columns) and then a
// row of kind "clue" per clue, in order, with the new clue's id (NULL when
// the clue was already stored), the whistle it raised or joined, its risk
// counts and the risk rules' version (with the rules when that version is
// not the one the caller holds, the last argument).
const intakeBatchQuery = `SELECT * FROM whistle_intake_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)`

// intakeRow is one clue's arguments of whistle_intake_batch.
type intakeRow struct {
	source, externalID, category, text string
	receivedLon, receivedLat           float64
	datum                              string
	lon, lat                           float64
	h3                                 int64
	gridID, townshipID                 int64
	townshipCode                       string
	edgeM                              float64
	nearEdge                           bool
	reportedAt, now                    time.Time
	reporterName, reporterPhone        *string // nil: none
	raise                              bool
	unitCodes, unitRoles               []string // the units a raise would summon
}

// intakeBatchArgs are whistle_intake_batch's arguments for jobs, judged by
// the risk rules of version riskVersion.
func intakeBatchArgs(jobs []*intakeJob, riskVersion string) []any {
	n := len(jobs)
	var (
		source, ext, cat, text, datum, townCode = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		rlon, rlat, lon, lat, edge              = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		h3, gridID, townID                      = make([]int64, n), make([]int64, n), make([]int64, n)
		near, raise                             = make([]bool, n), make([]bool, n)
		reported, now                           = make([]time.Time, n), make([]time.Time, n)
		name, phone                             = make([]*string, n), make([]*string, n)
		unitOrd                                 []int32
		unitCode, unitRole                      []string
	)
	for i, j := range jobs {
		r := &j.row
		source[i], ext[i], cat[i], text[i], datum[i], townCode[i] = r.source, r.externalID, r.category, r.text, r.datum, r.townshipCode
		rlon[i], rlat[i], lon[i], lat[i], edge[i] = r.receivedLon, r.receivedLat, r.lon, r.lat, r.edgeM
		h3[i], gridID[i], townID[i] = r.h3, r.gridID, r.townshipID
		near[i], raise[i] = r.nearEdge, r.raise
		reported[i], now[i] = r.reportedAt, r.now
		name[i], phone[i] = r.reporterName, r.reporterPhone
		for k := range r.unitCodes {
			unitOrd = append(unitOrd, int32(i+1))
			unitCode = append(unitCode, r.unitCodes[k])
			unitRole = append(unitRole, r.unitRoles[k])
		}
	}
	if unitOrd == nil {
		unitOrd, unitCode, unitRole = []int32{}, []string{}, []string{}
	}
	return []any{source, ext, cat, text, rlon, rlat, datum, lon, lat, h3, gridID, townID, townCode, edge, near,
		reported, now, name, phone, raise, unitOrd, unitCode, unitRole, riskVersion}
}

// Intake places a clue, stores it and applies the rules: it stays in its
// village, joins an open whistle of the same category nearby (哨随事動), or
// makes its township raise a whistle summoning the units on the duty list.
// The same (source, external_id) again returns the stored clue with
// Existing set and changes nothing.
//
// The database work is whistle_intake_batch, called once for the clues
// arriving together (see lane), and the events outbox rows, built here from
// the summaries the call returns, in one transaction.
//
// Each intake is counted in metrics.Intake by its outcome.
func (s *Store) Intake(ctx context.Context, sc access.Scope, in ClueInput) (IntakeResult, error) {
	start := time.Now()
	res, outcome, err := s.intake(ctx, sc, in)
	if err != nil {
		outcome = metrics.OutcomeFailed
		var k fault.Kind
		if fe := (*fault.Error)(nil); errors.As(err, &fe) {
			k = fe.Kind
		} else if !errors.As(err, &k) {
			k = fault.Internal
		}
		if k != fault.Internal && k != fault.Unavailable {
			outcome = metrics.OutcomeRefused
		}
	}
	metrics.Intake(outcome, time.Since(start))
	return res, err
}

// intake is Intake, answering the outcome beside the result.
func (s *Store) intake(ctx context.Context, sc access.Scope, in ClueInput) (IntakeResult, string, error) {
	v, err := s.validate(in)
	if err != nil {
		return IntakeResult{}, "", err
	}
	if err := mayReport(sc, v.placement); err != nil {
		return IntakeResult{}, "", err
	}
	if v.in.Attachments, err = checkAttachmentIDs(v.in.Attachments); err != nil {
		return IntakeResult{}, "", err
	}
	if sc.ReadOnly() {
		return IntakeResult{}, "", fault.Errorf(ErrForbidden, "the wall screen is read-only")
	}
	chain := v.placement.Chain
	township := linkAt(chain, grid.LevelTownship)
	now := s.now().Round(time.Microsecond) // as PostgreSQL keeps it
	var rep Reporter
	if v.in.Reporter != nil {
		rep = *v.in.Reporter
	}
	// the units a raised whistle would summon; the rule, read in the
	// database, decides whether one is raised
	_, units, err := s.placer.Responsible(access.Scope{Role: access.RoleCommand}, v.placement, v.in.Category, now)
	if err != nil {
		return IntakeResult{}, "", err
	}
	raisable := Raisable(units)
	codes, roles := Summonable(units)
	cell := geo.H3Cell(v.wgs, geo.DefaultH3Res) // about 1 µs of cgo: once

	j := &intakeJob{
		outcome: metrics.OutcomeKept,
		ctx:     ctx, now: now, township: township.Code,
		row: intakeRow{source: v.in.Source, externalID: v.in.ExternalID, category: v.in.Category, text: v.in.Text,
			receivedLon: *v.in.Lon, receivedLat: *v.in.Lat, datum: string(v.datum), lon: v.wgs[0], lat: v.wgs[1], h3: cell,
			gridID: chain[0].ID, townshipID: township.ID, townshipCode: township.Code,
			edgeM: v.placement.EdgeDistanceM, nearEdge: v.placement.NearEdge, reportedAt: v.reportedAt, now: now,
			reporterName: nullableString(rep.Name), reporterPhone: nullableString(rep.Phone),
			raise: raisable, unitCodes: codes, unitRoles: roles},
		clue: map[string]any{"source": v.in.Source, "category": v.in.Category, "lon": v.wgs[0], "lat": v.wgs[1],
			"grid": chain[0].Code, "near_edge": v.placement.NearEdge, "reporter_name": rep.Name, "reporter_phone": rep.Phone},
		check: s.newRiskCheck(v), // 风险研判 (risk.go), in the intake transaction
	}
	if len(v.in.Attachments) > 0 || v.in.MediaURL != "" || sc.Role == access.RoleGridWorker {
		var user any
		if sc.UserID != 0 {
			user = sc.UserID
		}
		j.attach = []any{v.in.Source, v.in.ExternalID, user, nullable(v.in.MediaURL), v.in.Attachments}
	}
	s.lanes[laneOf(v.in.Category, len(s.lanes))].run(s, j)
	if j.err != nil {
		return IntakeResult{}, "", attachError(j.err)
	}
	if j.stored {
		res, err := s.replay(ctx, sc, v.in.Source, v.in.ExternalID)
		return res, metrics.OutcomeExisting, err
	}

	c := Clue{
		ID: j.clueID, Source: v.in.Source, ExternalID: v.in.ExternalID, Category: v.in.Category, CategoryName: s.placer.CategoryName(v.in.Category),
		Text: v.in.Text, Lon: round6(v.wgs[0]), Lat: round6(v.wgs[1]), Received: [2]float64{*v.in.Lon, *v.in.Lat}, Datum: string(v.datum),
		H3: fmt.Sprintf("%x", cell), EdgeDistanceM: v.placement.EdgeDistanceM, NearEdge: v.placement.NearEdge,
		ReportedAt: v.reportedAt, ReceivedAt: now,
	}
	for _, l := range chain {
		c.Chain = append(c.Chain, Link{Level: string(l.Level), Code: l.Code, Name: l.Name})
	}
	if rep.Name != "" || rep.Phone != "" {
		rep.Name, rep.Phone = sc.Reporter(chain[0].Code, rep.Name, rep.Phone)
		c.Reporter = &rep
	}
	// a new clue has the attachments it was posted with: none is no query
	one := []Clue{c}
	one[0].Attachments = []AttachmentRef{}
	if len(v.in.Attachments) > 0 {
		if err := s.withAttachments(ctx, one); err != nil {
			return IntakeResult{}, "", err
		}
	}
	res := IntakeResult{Clue: one[0]}
	if j.whistleID != 0 {
		id := j.whistleID
		res.Clue.WhistleID = &id
		w := j.ev.summaries[id]
		res.Whistle = &w
	}
	if j.risk != nil {
		res.Clue.Risk = j.risk
		if j.riskWhistle != nil {
			res.Whistle = j.riskWhistle
		}
	}
	return res, j.outcome, nil
}

// replay answers a clue sent again under its (source, external_id): the
// stored clue, with Existing set, to a caller who may see it (the
// jurisdiction of GET /clues), its whistle only if the caller may see that
// too (whistle_summaries); to any other caller ErrConflict, with nothing
// of the clue, so that a key cannot be used to read another grid's clues.
func (s *Store) replay(ctx context.Context, sc access.Scope, source, ext string) (IntakeResult, error) {
	c, err := s.visibleClueByKey(ctx, sc, source, ext)
	if err != nil {
		return IntakeResult{}, err
	}
	one := []Clue{c}
	if err := s.withAttachments(ctx, one); err != nil {
		return IntakeResult{}, err
	}
	res := IntakeResult{Clue: one[0], Existing: true}
	if c.WhistleID != nil {
		var args []any
		arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
		from := summaries(arg(s.now()), sc, arg)
		w, err := scanSummary(s.pool.QueryRow(ctx, `SELECT `+summaryColumns+from+` WHERE w.id = `+arg(*c.WhistleID), args...))
		switch {
		case errors.Is(err, pgx.ErrNoRows): // outside the caller's jurisdiction
		case err != nil:
			return IntakeResult{}, fmt.Errorf("whistle: intake: %w", err)
		default:
			res.Whistle = &w
		}
	}
	return res, nil
}

// intakeJob is one clue on its way through a lane.
type intakeJob struct {
	ctx      context.Context
	now      time.Time
	township string         // the clue.received event's township code
	row      intakeRow      // its arguments of whistle_intake_batch
	attach   []any          // clue_attach's arguments; nil: not called
	clue     map[string]any // the clue.received event's clue, but its id
	check    *riskCheck     // what the risk rules judge besides the counts

	// what the database did, set when done is closed
	stored            bool // the clue was already stored: nothing changed
	clueID, whistleID int64
	outcome           string   // metrics.OutcomeKept, Joined, Raised or Escalated
	risk              *Risk    // why the clue was flagged high-risk; nil: it was not
	riskWhistle       *Summary // its whistle after the flag, when flagged with one
	ev                events
	err               error

	done chan struct{} // closed when the job's transaction has ended
}

// reset forgets what an attempt that was rolled back did.
func (j *intakeJob) reset() {
	j.stored, j.clueID, j.whistleID, j.ev, j.err, j.outcome = false, 0, 0, events{}, nil, metrics.OutcomeKept
	j.risk, j.riskWhistle = nil, nil
}

// Lanes: clues of a category go through one of the Store's lanes
// (Options.IntakeLanes), at most maxIntakeBatch of them in one transaction.
const (
	maxIntakeBatch = 16
	// batchLockTimeout bounds how long a shared transaction waits for a
	// lock (a whistle a lifecycle step or the sweep holds, a clue key a
	// concurrent intake is inserting); past it the batch is rolled back and
	// its clues go one by one, waiting as long as they must, so a shared
	// transaction never takes part in a deadlock.
	batchLockTimeout = "100ms"
)

func laneOf(category string, lanes int) int {
	h := fnv.New32a()
	h.Write([]byte(category))
	return int(h.Sum32() % uint32(lanes))
}

// lane groups the clues that arrive while an intake transaction runs into
// the next one (group commit): one commit, and one wait for the lock that
// PostgreSQL holds around each commit that notifies, for many clues. The
// transactions of a lane run one at a time, so lanes keyed by category
// never wait for each other: the advisory lock of whistle_intake_batch is per
// category and township, and a clue joins only whistles of its category.
// A goroutine of the lane's own runs its batches while clues wait, and
// ends when none does: it starts the next batch as soon as one commits,
// where a caller woken to run it would first wait for the scheduler (about
// 0.9 ms a batch on two busy cores). The first round trip of the next
// batch goes out right behind the COMMIT of the one before, on the same
// connection (intakeTx, pipeline), so the server starts it without waiting
// for the client to read that COMMIT's answer.
type lane struct {
	mu    sync.Mutex
	busy  bool // the lane's goroutine runs
	queue []*intakeJob
	// conn is the connection the lane's batches run on while the lane is
	// busy, so they run on one connection whose plans are made (the first
	// call of whistle_intake_batch on a connection plans all its
	// statements); back to the pool when the lane is idle.
	conn *pgxpool.Conn
	// next is the batch whose first round trip was sent behind the last
	// COMMIT, to run next; nil when none was.
	next *chained
}

// chained is a batch whose first round trip went out behind the COMMIT of
// the batch before it.
type chained struct {
	batch []*intakeJob     // the jobs taken
	live  []*intakeJob     // those whose requests still wait: the ones sent
	trip  *firstTrip       // what was sent for them
	br    pgx.BatchResults // its answers, not read yet
}

// run returns when j's transaction has ended, with j's fields set.
func (l *lane) run(s *Store, j *intakeJob) {
	j.done = make(chan struct{})
	l.mu.Lock()
	l.queue = append(l.queue, j)
	if !l.busy {
		l.busy = true
		go l.loop(s)
	}
	l.mu.Unlock()
	<-j.done
}

// loop runs the lane's batches, the one chained behind the last commit or
// else the clues waiting (at most maxIntakeBatch), until none waits.
func (l *lane) loop(s *Store) {
	for {
		pre := l.next
		l.next = nil
		var batch []*intakeJob
		if pre != nil {
			batch = pre.batch
		} else if batch = l.take(true); batch == nil {
			return
		}
		l.runBatch(s, batch, pre)
	}
}

// take takes the clues waiting, at most maxIntakeBatch. When none waits
// and end is set, the lane's goroutine is to end: the lane is idle, and
// its connection goes back to the pool.
func (l *lane) take(end bool) []*intakeJob {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := min(len(l.queue), maxIntakeBatch)
	if n == 0 {
		if end {
			l.busy = false
			if l.conn != nil {
				l.conn.Release()
				l.conn = nil
			}
		}
		return nil
	}
	batch := slices.Clone(l.queue[:n])
	l.queue = slices.Delete(l.queue, 0, n)
	return batch
}

// requeue puts jobs back at the head of the queue, in their order.
func (l *lane) requeue(jobs []*intakeJob) {
	l.mu.Lock()
	l.queue = slices.Insert(l.queue, 0, jobs...)
	l.mu.Unlock()
}

// chain takes the clues waiting to go behind the COMMIT of the batch under
// way, with their first round trip; nil when none waits whose request is
// still there (those gone are done).
func (l *lane) chain(s *Store) *chained {
	batch := l.take(false)
	live := liveJobs(batch)
	if len(live) == 0 {
		for _, j := range batch {
			close(j.done)
		}
		return nil
	}
	return &chained{batch: batch, live: live, trip: s.firstTrip(live, false)}
}

// runBatch runs one batch and wakes its jobs. Should the batch panic, its
// jobs and those of a batch chained behind it fail with the panic and its
// stack (their requests answer 500 and log it), the connection is dropped,
// and the lane goes on.
func (l *lane) runBatch(s *Store, batch []*intakeJob, pre *chained) {
	defer func() {
		if p := recover(); p != nil {
			err := fmt.Errorf("whistle: intake: panic: %v\n%s", p, debug.Stack())
			for _, b := range batch {
				b.err = err
			}
			if n := l.next; n != nil {
				l.next = nil
				for _, b := range n.batch {
					b.err = err
					close(b.done)
				}
			}
			if l.conn != nil {
				l.conn.Release() // in a transaction: the pool drops it
				l.conn = nil
			}
		}
		for _, b := range batch {
			close(b.done)
		}
	}()
	s.intakeBatch(l, batch, pre)
}

// liveJobs are the jobs whose requests are still there; each of the others
// fails with its request's error.
func liveJobs(jobs []*intakeJob) []*intakeJob {
	live := jobs[:0:0]
	for _, j := range jobs {
		if err := j.ctx.Err(); err != nil {
			j.err = err
			continue
		}
		live = append(live, j)
	}
	return live
}

// intakeBatch runs the jobs in one transaction on l's connection, the
// first round trip already sent when pre is set. A job whose request has
// gone is left out. When the shared transaction fails, each job runs again
// alone.
func (s *Store) intakeBatch(l *lane, jobs []*intakeJob, pre *chained) {
	c := pre
	if c == nil {
		c = &chained{live: liveJobs(jobs)}
	}
	switch {
	case len(c.live) == 0:
		return
	case len(c.live) == 1 && pre == nil:
		c.live[0].err = s.intakeTx(c.live[0].ctx, l, c, true)
		metrics.IntakeBatch(false, 1, c.live[0].err)
		return
	}
	// the batch serves several requests, or was sent behind another: it
	// does not stop when one goes
	err := s.intakeTx(context.WithoutCancel(c.live[0].ctx), l, c, true)
	metrics.IntakeBatch(pre != nil, len(c.live), err)
	if err == nil {
		return
	}
	for _, j := range c.live {
		j.reset()
		j.err = s.intakeTx(j.ctx, l, &chained{live: []*intakeJob{j}}, false)
		metrics.IntakeBatch(false, 1, j.err)
	}
}

// firstTrip is the first round trip of a lane's batch: BEGIN, one call of
// whistle_intake_batch for them all (the rules, whistles, clues and risk
// counts), clue_attach for those that need it and the deadlines of their
// categories.
type firstTrip struct {
	b      *pgx.Batch
	cached *riskRulesCache // the risk rules that judge the batch
	pol    Policies        // the deadlines read, once its answers are read
}

// firstTrip is jobs' first round trip; alone, the transaction waits for
// locks as long as it takes (the session's lock_timeout), else at most
// batchLockTimeout.
func (s *Store) firstTrip(jobs []*intakeJob, alone bool) *firstTrip {
	t := &firstTrip{b: &pgx.Batch{}}
	b := t.b
	b.Queue("BEGIN")
	var lockTimeout *string
	if !alone {
		lockTimeout = new(batchLockTimeout)
	}
	b.Queue(`SELECT set_config('whistlegrid.notify', 'after_commit', true),
		set_config('lock_timeout', coalesce($1, current_setting('lock_timeout')), true)`, lockTimeout) // outbox.AfterCommit
	// the risk rules in memory now judge the whole batch; the call answers
	// the rules anew when they changed
	t.cached = s.riskRules.Load()
	version := ""
	if t.cached != nil {
		version = t.cached.version
	}
	b.Queue(intakeBatchQuery, intakeBatchArgs(jobs, version)...)
	for _, j := range jobs {
		if j.attach != nil {
			b.Queue(clueAttachQuery, j.attach...) // after the clues' insert
		}
	}
	// the deadlines a flag tightens to (flagRisks), read beside: a clue
	// raises or joins only whistles of its own category
	var cats []string
	for _, j := range jobs {
		if !slices.Contains(cats, j.row.category) {
			cats = append(cats, j.row.category)
		}
	}
	b.Queue(selectPolicies, strings.Join(cats, ",")).Query(func(rows pgx.Rows) (err error) {
		t.pol, err = scanPolicies(rows)
		return err
	})
	return t
}

// intakeTx runs the live jobs of c in one transaction, in two round trips:
// the first (firstTrip), sent already when c.br is set; then their events
// and COMMIT. The clues judged high-risk are flagged in between, in one
// more round trip in the same transaction (flagRisks). A clue stored
// meanwhile by a concurrent intake (unique_violation on its key) leaves a
// lone job stored; in a batch it fails the batch. With chain set, the
// clues waiting by the COMMIT have their first round trip sent right
// behind it (l.next).
//
// The events are written without the trigger's notification; once the
// commit is durable they are notified on their own (notifier), so that
// intake commits can share WAL flushes: PostgreSQL lets one notifying
// commit at a time wait for its flush.
func (s *Store) intakeTx(ctx context.Context, l *lane, c *chained, chain bool) (err error) {
	jobs := c.live
	defer func() {
		if err != nil {
			err = fmt.Errorf("whistle: intake: %w", err)
		}
	}()
	if l.conn == nil {
		if l.conn, err = s.pool.Acquire(ctx); err != nil {
			return err
		}
	}
	conn := l.conn
	defer func() {
		if l.next != nil {
			return // the next batch's transaction is under way on conn
		}
		if !conn.Conn().IsClosed() && conn.Conn().PgConn().TxStatus() != 'I' {
			// a failed step: end the transaction
			_, _ = conn.Exec(ctx, "ROLLBACK")
		}
		if conn.Conn().IsClosed() || conn.Conn().PgConn().TxStatus() != 'I' {
			conn.Release() // the pool drops it
			l.conn = nil
		}
	}()

	trip, br := c.trip, c.br
	if br == nil {
		trip = s.firstTrip(jobs, len(jobs) == 1)
		br = conn.SendBatch(ctx, trip.b)
	}
	err = s.readIntake(br, 2, jobs, trip.cached)
	var pe *pgconn.PgError
	if len(jobs) == 1 && errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "clues_source_external_id_key" {
		jobs[0].reset()
		jobs[0].stored = true
		return nil
	}
	if err != nil {
		return err
	}

	all := events{}
	var ats []time.Time
	var flagged []*intakeJob      // judged high-risk (flagRisks)
	latest := map[int64]Summary{} // each whistle after its last step of the batch
	for _, j := range jobs {
		if j.stored {
			continue
		}
		maps.Copy(latest, j.ev.summaries)
		j.clue["id"] = j.clueID
		clueEvent := map[string]any{"clue": j.clue}
		if j.whistleID != 0 {
			clueEvent["whistle_id"] = j.whistleID
		}
		j.ev.add("clue.received", j.township, clueEvent)
		if j.risk != nil {
			flagged = append(flagged, j)
		}
	}
	if len(flagged) > 0 {
		if err := flagRisks(ctx, conn, flagged, latest, trip.pol); err != nil {
			return err
		}
	}
	for _, j := range jobs {
		if j.stored {
			continue
		}
		all.rows = append(all.rows, j.ev.rows...)
		for range j.ev.rows {
			ats = append(ats, j.now)
		}
	}
	b := &pgx.Batch{}
	if len(flagged) > 0 {
		q, args := clueRisks(flagged)
		b.Queue(q, args...)
	}
	var top int64
	if len(all.rows) > 0 {
		q, args, err := all.insertAt(ats)
		if err != nil {
			return err
		}
		b.Queue(`WITH e AS (`+q+` RETURNING seq) SELECT coalesce(max(seq), 0) FROM e`, args...).QueryRow(func(row pgx.Row) error {
			return row.Scan(&top)
		})
	}
	b.Queue("COMMIT")
	if chain {
		l.next = l.chain(s) // should this panic on, runBatch fails them too
	}
	if l.next == nil {
		err = conn.SendBatch(ctx, b).Close()
	} else {
		err = commitChained(ctx, l, conn.Conn(), b)
	}
	if err != nil {
		return err
	}
	s.notifier.Notify(s.pool, top)
	return nil
}

// commitChained sends b, a batch's last round trip ending in its COMMIT,
// and right behind it the first round trip of l.next, on one pipeline, and
// reads b's answers. When b fails, l.next's round trip ran on a
// transaction that failed, or began after it: it is read (and rolled back
// by the caller), and its jobs wait again at the head of the queue.
func commitChained(ctx context.Context, l *lane, conn *pgx.Conn, b *pgx.Batch) error {
	next := l.next
	fail := func(err error) error {
		l.next = nil
		l.requeue(next.batch)
		return err
	}
	pl, err := startPipeline(context.WithoutCancel(ctx), conn, b, next.trip.b)
	if err != nil {
		return fail(err)
	}
	err = pl.send(b)
	if err == nil {
		err = pl.send(next.trip.b)
	}
	if err != nil {
		_ = pl.close()
		return fail(err)
	}
	next.br = pl.results(next.trip.b)
	if err := pl.results(b).Close(); err != nil {
		_ = next.br.Close()
		return fail(err)
	}
	return nil
}

// readIntake reads the answers of the first skip statements (BEGIN, SET),
// of whistle_intake_batch and of the clue_attach calls: it adds an event for
// each whistle step to its job's events, sets each job's clue and whistle
// ids, or stored, and judges its risk by the rules cached, or by those the
// call answered when they changed.
func (s *Store) readIntake(br pgx.BatchResults, skip int, jobs []*intakeJob, cached *riskRulesCache) (err error) {
	defer func() {
		if cerr := br.Close(); err == nil {
			err = cerr
		}
	}()
	for range skip {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	rows, err := br.Query()
	if err != nil {
		return err
	}
	if err := s.readBatch(rows, jobs, cached); err != nil {
		return err
	}
	for _, j := range jobs {
		if j.attach != nil {
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
	}
	return nil
}

// readBatch reads the rows of whistle_intake_batch for jobs.
func (s *Store) readBatch(rows pgx.Rows, jobs []*intakeJob, cached *riskRulesCache) error {
	defer rows.Close()
	seen := 0
	rules := cached
	for rows.Next() {
		var ord int
		var kind string
		var clue, wid *int64
		var count, caller, place *int
		var from, note, version *string
		var raw []byte
		dest := append([]any{&ord, &kind, &clue, &count, &from, &note, &wid}, make([]any, 17)...)
		if err := rows.Scan(append(dest, &caller, &place, &version, &raw)...); err != nil {
			return err
		}
		if ord < 1 || ord > len(jobs) {
			return fmt.Errorf("whistle_intake_batch answered clue %d of %d", ord, len(jobs))
		}
		j := jobs[ord-1]
		if kind != "clue" {
			if err := j.step(kind, clue, count, from, note, rows); err != nil {
				return err
			}
			continue
		}
		seen++
		if clue == nil {
			j.stored = true
			continue
		}
		j.clueID = *clue
		if wid != nil {
			j.whistleID = *wid
		}
		if version == nil || caller == nil || place == nil {
			return errors.New("whistle_intake_batch answered no risk counts")
		}
		if raw != nil || rules == nil || rules.version != *version {
			fresh := &riskRulesCache{version: *version}
			if err := json.Unmarshal(raw, &fresh.rules); err != nil {
				return fmt.Errorf("whistle: risk rules: %w", err)
			}
			s.riskRules.Store(fresh)
			rules = fresh
		}
		j.risk = j.check.judge(rules, *caller, *place)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if seen != len(jobs) {
		return fmt.Errorf("whistle_intake_batch answered %d clues of %d", seen, len(jobs))
	}
	return nil
}

// step adds the event of a whistle step whistle_intake_batch answered for
// j (its summary from the row's 7th column on).
func (j *intakeJob) step(kind string, clue *int64, count *int, from, note *string, row pgx.Row) error {
	if clue == nil || count == nil || note == nil {
		return fmt.Errorf("whistle_intake_batch answered a %s step without its clue", kind)
	}
	w, err := scanIntakeSummary(skipRow{row, 6, 4})
	if err != nil {
		return err
	}
	var extra map[string]any
	switch kind {
	case "whistle.raised":
		extra = map[string]any{"clue_ids": []int64{*clue}, "actor": "system"}
		j.outcome = metrics.OutcomeRaised
	case "whistle.joined":
		extra = map[string]any{"clue_id": *clue, "clue_count": *count}
		j.outcome = metrics.OutcomeJoined
	case "whistle.escalated":
		if from == nil {
			return errors.New("whistle_intake_batch answered an escalation without its grade")
		}
		extra = map[string]any{"from": Grade(*from), "to": Priority, "reason": *note, "actor": "system"}
		j.outcome = metrics.OutcomeEscalated
	default:
		return fmt.Errorf("whistle_intake_batch answered a step %q", kind)
	}
	j.ev.addWhistle(kind, w, extra)
	return nil
}

// skipRow scans a row from its n-th column on, leaving its last tail
// columns unread.
type skipRow struct {
	r       pgx.Row
	n, tail int
}

func (s skipRow) Scan(dest ...any) error {
	return s.r.Scan(append(append(make([]any, s.n), dest...), make([]any, s.tail)...)...)
}

// nullID is id, or NULL for 0.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullableString is s, or nil for "".
func nullableString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func linkAt(chain []grid.Link, l grid.Level) grid.Link {
	for _, c := range chain {
		if c.Level == l {
			return c
		}
	}
	return grid.Link{}
}

// events collects the outbox rows of one transaction.
type events struct {
	rows      []eventRow
	summaries map[int64]Summary // the latest summary of each whistle the events carry
}

type eventRow struct {
	kind, township string
	payload        map[string]any
}

func (e *events) add(kind, township string, payload map[string]any) {
	e.rows = append(e.rows, eventRow{kind, township, payload})
}

// whistle adds an event carrying the whistle's current summary, read in the
// transaction so it shows the change.
func (e *events) whistle(ctx context.Context, tx dbtx, kind string, id int64, extra map[string]any) error {
	w, err := summaryOf(ctx, tx, id)
	if err != nil {
		return err
	}
	e.addWhistle(kind, w, extra)
	return nil
}

// addWhistle adds an event carrying the summary w, the whistle as it is
// after the step, with extra beside it.
func (e *events) addWhistle(kind string, w Summary, extra map[string]any) {
	if e.summaries == nil {
		e.summaries = map[int64]Summary{}
	}
	e.summaries[w.ID] = w
	p := map[string]any{"whistle": w}
	for k, v := range extra {
		p[k] = v
	}
	e.add(kind, w.Township, p)
}

func (e *events) write(ctx context.Context, tx pgx.Tx, now time.Time) error {
	if len(e.rows) == 0 {
		return nil
	}
	q, args, err := e.insert(now)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, q, args...); err != nil {
		return fmt.Errorf("whistle: event: %w", err)
	}
	return nil
}

const insertEvents = `INSERT INTO events (at, kind, township, payload)
		SELECT a, k, t, p::jsonb FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS x(a, k, t, p, n) ORDER BY n`

// insert is the statement that writes the events, in order, at now.
func (e *events) insert(now time.Time) (string, []any, error) {
	ats := make([]time.Time, len(e.rows))
	for i := range ats {
		ats[i] = now
	}
	return e.insertAt(ats)
}

// insertAt is the statement that writes the events, in order, the i-th at
// ats[i].
func (e *events) insertAt(ats []time.Time) (string, []any, error) {
	kinds := make([]string, len(e.rows))
	towns := make([]*string, len(e.rows))
	payloads := make([]string, len(e.rows))
	for i, r := range e.rows {
		b, err := json.Marshal(r.payload)
		if err != nil {
			return "", nil, fmt.Errorf("whistle: event: %w", err)
		}
		kinds[i], payloads[i] = r.kind, string(b)
		if r.township != "" {
			towns[i] = &r.township
		}
	}
	return insertEvents, []any{ats, kinds, towns, payloads}, nil
}

// dbtx is a transaction: a pgx.Tx, or a connection in a transaction begun
// with a statement (the intake's lane).
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// trail appends a step to the whistle's trail.
func trail(ctx context.Context, tx dbtx, whistleID, actorID int64, actor, action string, unitID int64, note string, data map[string]any, now time.Time) error {
	args, err := trailArgs(whistleID, actorID, actor, action, unitID, note, data, now)
	if err != nil {
		return err
	}
	if _, err = tx.Exec(ctx, trailInsert, args...); err != nil {
		return fmt.Errorf("whistle: trail: %w", err)
	}
	return nil
}

// trailInsert appends a step to a whistle's trail, with trailArgs.
const trailInsert = `INSERT INTO whistle_events (whistle_id, at, actor_id, actor, action, unit_id, note, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`

// trailArgs are trailInsert's arguments (an actor or unit of 0 is none).
func trailArgs(whistleID, actorID int64, actor, action string, unitID int64, note string, data map[string]any, now time.Time) ([]any, error) {
	if data == nil {
		data = map[string]any{}
	}
	b, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("whistle: trail: %w", err)
	}
	var aid, uid any
	if actorID != 0 {
		aid = actorID
	}
	if unitID != 0 {
		uid = unitID
	}
	return []any{whistleID, now, aid, actor, action, uid, note, b}, nil
}

// raiseArgs is what raise needs.
type raiseArgs struct {
	townshipID, gridID int64
	category           string
	grade              Grade // "" for the category's default
	location           orb.Point
	units              []grid.UnitRef
	clueIDs            []int64
	actorID            int64
	actor, note        string
	now                time.Time
}

const insertWhistle = `
INSERT INTO whistles (township_id, grid_id, category_id, grade, status, location, note, raised_by, raised_at,
	report_in_due, resolve_due, clue_count, updated_at)
SELECT $1, $2, c.id, $10, $11, ST_SetSRID(ST_MakePoint($4, $5), 4326), $6, $7, $8::timestamptz, $12, $13, $9, $8::timestamptz
FROM categories c
WHERE c.code = $3
RETURNING id`

// raise opens a whistle and summons its units, with the deadlines of
// Policies.AtRaise.
func (s *Store) raise(ctx context.Context, tx pgx.Tx, ev *events, a raiseArgs) (int64, error) {
	pol, err := loadPolicies(ctx, tx, a.category)
	if err != nil {
		return 0, err
	}
	grade, p, ok := pol.AtRaise(a.category, a.grade)
	if !ok {
		return 0, fmt.Errorf("whistle: raise: no deadlines for category %q at grade %q", a.category, a.grade)
	}
	var raisedBy any
	if a.actorID != 0 {
		raisedBy = a.actorID
	}
	at := a.now.Truncate(time.Microsecond) // as PostgreSQL keeps it
	var id int64
	err = tx.QueryRow(ctx, insertWhistle, a.townshipID, a.gridID, a.category, a.location[0], a.location[1], a.note, raisedBy, at,
		len(a.clueIDs), string(grade), string(Next(StepRaise, &State{}, 0)), at.Add(p.ReportIn), at.Add(p.Resolve)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("whistle: raise: %w", err)
	}
	codes, roles := Summonable(a.units)
	if _, err := tx.Exec(ctx, `INSERT INTO summons (whistle_id, unit_id, role, summoned_at)
		SELECT $1, u.id, x.role, $4 FROM unnest($2::text[], $3::text[]) AS x(code, role) JOIN units u ON u.code = x.code`,
		id, codes, roles, a.now); err != nil {
		return 0, fmt.Errorf("whistle: summon: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE clues SET whistle_id = $1 WHERE id = ANY($2)`, id, a.clueIDs); err != nil {
		return 0, fmt.Errorf("whistle: raise: %w", err)
	}
	if err := trail(ctx, tx, id, a.actorID, a.actor, "raise", 0, a.note, map[string]any{"clue_ids": a.clueIDs}, a.now); err != nil {
		return 0, err
	}
	if err := ev.whistle(ctx, tx, "whistle.raised", id, map[string]any{"clue_ids": a.clueIDs, "actor": a.actor}); err != nil {
		return 0, err
	}
	return id, nil
}

// escalate raises a whistle's grade. By hand or on repeated clues the
// deadlines still ahead tighten to the new grade's, counted from now, never
// later than they were; a deadline already missed stays as it is. The
// sweep escalates with tighten false: a missed deadline raises the grade
// and keeps the deadlines, so one late report-in is not escalated twice.
func escalate(ctx context.Context, tx pgx.Tx, ev *events, id int64, to Grade, actor string, actorID int64, reason string, now time.Time, tighten bool) error {
	var from Grade
	var ri, rs time.Time
	var riMin, rsMin int
	err := tx.QueryRow(ctx, `SELECT w.grade, w.report_in_due, w.resolve_due, g.report_in_minutes, g.resolve_minutes
		FROM whistles w, grade_policies g WHERE w.id = $1 AND g.grade = $2`, id, string(to)).Scan(&from, &ri, &rs, &riMin, &rsMin)
	if err != nil {
		return fmt.Errorf("whistle: escalate: %w", err)
	}
	if tighten {
		p := Policy{ReportIn: time.Duration(riMin) * time.Minute, Resolve: time.Duration(rsMin) * time.Minute}
		ri, rs = Tighten(now.Truncate(time.Microsecond), ri, rs, p)
	}
	if _, err := tx.Exec(ctx, `UPDATE whistles SET grade = $2, escalations = escalations + 1, updated_at = $3, report_in_due = $4, resolve_due = $5 WHERE id = $1`,
		id, string(to), now, ri, rs); err != nil {
		return fmt.Errorf("whistle: escalate: %w", err)
	}
	if err := trail(ctx, tx, id, actorID, actor, "escalate", 0, reason, map[string]any{"from": from, "to": to}, now); err != nil {
		return err
	}
	return ev.whistle(ctx, tx, "whistle.escalated", id, map[string]any{"from": from, "to": to, "reason": reason, "actor": actor})
}

// round6 keeps 6 decimals (about 0.1 m) of a coordinate.
func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

package whistle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"

	"whistlegrid/geo"
	"whistlegrid/grid"
)

// Store runs clues and whistles against the database.
type Store struct {
	pool   *pgxpool.Pool
	placer *grid.Placer
	now    func() time.Time
}

// Options tunes a Store.
type Options struct {
	// Now is the clock; nil means time.Now. The demo history sets it to
	// replay a year.
	Now func() time.Time
}

// NewStore returns a Store that places clues with placer.
func NewStore(pool *pgxpool.Pool, placer *grid.Placer, opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{pool: pool, placer: placer, now: opts.Now}
}

// FieldError is an invalid input naming the field at fault; it wraps
// ErrInvalid.
type FieldError struct {
	Field, Reason string
}

func (e *FieldError) Error() string { return "whistle: " + e.Field + ": " + e.Reason }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func invalid(field, format string, a ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, a...)}
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
}

// validated is a ClueInput after validation and placement.
type validated struct {
	in         ClueInput
	datum      geo.Datum
	reportedAt time.Time
	wgs        orb.Point
	placement  grid.Placement
}

// validate checks every field and places the point. A clue reported more
// than 10 minutes in the future, or one outside the district, is refused.
func (s *Store) validate(in ClueInput) (*validated, error) {
	v := &validated{in: in}
	if !ValidSource(in.Source) {
		return nil, invalid("source", "source must be one of patrol, hotline, app, forum, hotspot, sensor")
	}
	in.ExternalID = strings.TrimSpace(in.ExternalID)
	v.in.ExternalID = in.ExternalID
	if in.ExternalID == "" || len(in.ExternalID) > 128 {
		return nil, invalid("external_id", "external_id is required, at most 128 characters")
	}
	if in.Category == "" {
		return nil, invalid("category", "category is required")
	}
	if !s.placer.KnownCategory(in.Category) {
		return nil, invalid("category", "unknown category %q (see GET /api/v1/categories)", in.Category)
	}
	if utf8.RuneCountInString(in.Text) > 4000 {
		return nil, invalid("text", "text is at most 4000 characters")
	}
	if in.Lon == nil || in.Lat == nil {
		return nil, invalid("lon", "lon and lat are required")
	}
	if err := geo.ValidLonLat(*in.Lon, *in.Lat); err != nil {
		return nil, invalid("lon", "%v", err)
	}
	d, err := geo.ParseDatum(in.Datum)
	if err != nil {
		return nil, invalid("datum", "%v", err)
	}
	v.datum = d
	if in.ReportedAt == "" {
		return nil, invalid("reported_at", "reported_at is required (RFC 3339)")
	}
	v.reportedAt, err = time.Parse(time.RFC3339, in.ReportedAt)
	if err != nil {
		return nil, invalid("reported_at", "reported_at must be an RFC 3339 time, e.g. 2026-11-25T09:30:00+08:00")
	}
	if v.reportedAt.After(s.now().Add(10 * time.Minute)) {
		return nil, invalid("reported_at", "reported_at is in the future")
	}
	if in.Reporter != nil && in.Reporter.Phone != "" && !validPhone(in.Reporter.Phone) {
		return nil, invalid("reporter.phone", "a phone has 7 to 20 digits, '+' or '-'")
	}
	v.wgs = geo.ToWGS84(orb.Point{*in.Lon, *in.Lat}, d)
	v.placement, err = s.placer.Place(v.wgs)
	if errors.Is(err, grid.ErrOutside) {
		return nil, invalid("lon", "the point %.6f,%.6f (WGS-84) is outside the district's grids", v.wgs[0], v.wgs[1])
	}
	if err != nil {
		return nil, err
	}
	return v, nil
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
func mayReport(sc grid.Scope, pl grid.Placement) error {
	switch sc.Role {
	case grid.RoleCommand:
		return nil
	case grid.RoleTownship, grid.RoleGridWorker:
		if sc.Covers(pl.Chain[0].Code) {
			return nil
		}
		return fmt.Errorf("%w: the point lies in %s, outside your jurisdiction", ErrForbidden, chainName(pl))
	}
	return fmt.Errorf("%w: a %s may not submit clues", ErrForbidden, sc.Role)
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

// rule is the rule that applies to a clue.
type rule struct {
	action        string
	radiusM       float64
	window        time.Duration
	escalateAfter int
}

const ruleQuery = `
WITH RECURSIVE cat AS (
	SELECT id, parent_id, depth FROM categories WHERE code = $1
	UNION ALL
	SELECT c.id, c.parent_id, c.depth FROM categories c JOIN cat ON c.id = cat.parent_id
)
SELECT r.action, r.join_radius_m, extract(epoch FROM r.join_window)::float8, r.escalate_after
FROM rules r
LEFT JOIN cat ON cat.id = r.category_id
WHERE (r.category_id IS NULL OR cat.id IS NOT NULL)
  AND (r.township_id IS NULL OR r.township_id = $2)
ORDER BY r.township_id IS NULL, cat.depth DESC NULLS LAST
LIMIT 1`

func loadRule(ctx context.Context, tx pgx.Tx, category string, townshipID int64) (rule, error) {
	var r rule
	var secs float64
	err := tx.QueryRow(ctx, ruleQuery, category, townshipID).Scan(&r.action, &r.radiusM, &secs, &r.escalateAfter)
	if errors.Is(err, pgx.ErrNoRows) {
		return rule{action: "village", radiusM: 100, window: 7 * 24 * time.Hour, escalateAfter: 3}, nil
	}
	r.window = time.Duration(secs * float64(time.Second))
	return r, err
}

const insertClue = `
INSERT INTO clues (source, external_id, category_id, text, received_lon, received_lat, datum, location, h3,
	grid_id, township_id, boundary_distance_m, near_edge, reported_at, received_at, reporter_name, reporter_phone)
SELECT $1, $2, c.id, $4, $5, $6, $7, ST_SetSRID(ST_MakePoint($8, $9), 4326), $10,
	$11, $12, $13, $14, $15, $16, $17, $18
FROM categories c WHERE c.code = $3
ON CONFLICT (source, external_id) DO NOTHING
RETURNING id`

// Intake places a clue, stores it and applies the rules: it stays in its
// village, joins an open whistle of the same category nearby (哨随事動), or
// makes its township raise a whistle summoning the units on the duty list.
// The same (source, external_id) again returns the stored clue with
// Existing set and changes nothing.
func (s *Store) Intake(ctx context.Context, sc grid.Scope, in ClueInput) (IntakeResult, error) {
	v, err := s.validate(in)
	if err != nil {
		return IntakeResult{}, err
	}
	if err := mayReport(sc, v.placement); err != nil {
		return IntakeResult{}, err
	}
	if sc.ReadOnly() {
		return IntakeResult{}, fmt.Errorf("%w: read-only", ErrForbidden)
	}
	chain := v.placement.Chain
	township := linkAt(chain, grid.LevelTownship)
	now := s.now().Round(time.Microsecond) // as PostgreSQL keeps it
	var rep Reporter
	if v.in.Reporter != nil {
		rep = *v.in.Reporter
	}

	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return IntakeResult{}, fmt.Errorf("whistle: intake: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()

	cell := geo.H3Cell(v.wgs, geo.DefaultH3Res) // about 1 µs of cgo: once
	var clueID int64
	err = tx.QueryRow(ctx, insertClue, v.in.Source, v.in.ExternalID, v.in.Category, v.in.Text, *v.in.Lon, *v.in.Lat, string(v.datum),
		v.wgs[0], v.wgs[1], cell, chain[0].ID, township.ID,
		v.placement.EdgeDistanceM, v.placement.NearEdge, v.reportedAt, now, nullable(rep.Name), nullable(rep.Phone)).Scan(&clueID)
	if errors.Is(err, pgx.ErrNoRows) {
		_ = tx.Rollback(ctx)
		c, err := s.clueByKey(ctx, sc, v.in.Source, v.in.ExternalID)
		if err != nil {
			return IntakeResult{}, err
		}
		res := IntakeResult{Clue: c, Existing: true}
		if c.WhistleID != nil {
			w, err := s.summary(ctx, *c.WhistleID)
			if err != nil {
				return IntakeResult{}, err
			}
			res.Whistle = &w
		}
		return res, nil
	}
	if err != nil {
		return IntakeResult{}, fmt.Errorf("whistle: intake: %w", err)
	}

	r, err := loadRule(ctx, tx, v.in.Category, township.ID)
	if err != nil {
		return IntakeResult{}, fmt.Errorf("whistle: intake: rule: %w", err)
	}
	// One clue at a time per category and township decides join-or-raise,
	// so two clues at the same spot cannot both raise a whistle.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, v.in.Category+"/"+township.Code); err != nil {
		return IntakeResult{}, fmt.Errorf("whistle: intake: %w", err)
	}
	ev := events{}
	clueEvent := map[string]any{
		"clue": map[string]any{"id": clueID, "source": v.in.Source, "category": v.in.Category, "lon": v.wgs[0], "lat": v.wgs[1],
			"grid": chain[0].Code, "near_edge": v.placement.NearEdge, "reporter_name": rep.Name, "reporter_phone": rep.Phone},
	}
	var whistleID int64
	joinID, err := s.findJoinable(ctx, tx, v, r)
	if err != nil {
		return IntakeResult{}, err
	}
	switch {
	case joinID != 0:
		whistleID = joinID
		if err := s.join(ctx, tx, &ev, joinID, clueID, r, now); err != nil {
			return IntakeResult{}, err
		}
	case r.action == "whistle":
		_, units, err := s.placer.Responsible(grid.Scope{Role: grid.RoleCommand}, v.placement, v.in.Category, now)
		if err != nil {
			return IntakeResult{}, err
		}
		if len(units) > 0 && units[0].Kind != "township" {
			whistleID, err = s.raise(ctx, tx, &ev, raiseArgs{
				townshipID: township.ID, gridID: chain[0].ID, category: v.in.Category, location: v.wgs,
				units: units, clueIDs: []int64{clueID}, actor: "system", note: fmt.Sprintf("线索 #%d 自动吹哨", clueID), now: now,
			})
			if err != nil {
				return IntakeResult{}, err
			}
		}
	}
	if whistleID != 0 {
		clueEvent["whistle_id"] = whistleID
	}
	ev.add("clue.received", township.Code, clueEvent)
	if err := ev.write(ctx, tx, now); err != nil {
		return IntakeResult{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return IntakeResult{}, fmt.Errorf("whistle: intake: %w", err)
	}

	c := Clue{
		ID: clueID, Source: v.in.Source, ExternalID: v.in.ExternalID, Category: v.in.Category, CategoryName: s.placer.CategoryName(v.in.Category),
		Text: v.in.Text, Lon: round6(v.wgs[0]), Lat: round6(v.wgs[1]), Received: [2]float64{*v.in.Lon, *v.in.Lat}, Datum: string(v.datum),
		H3: fmt.Sprintf("%x", cell), EdgeDistanceM: v.placement.EdgeDistanceM, NearEdge: v.placement.NearEdge,
		ReportedAt: v.reportedAt, ReceivedAt: now,
	}
	for _, l := range chain {
		c.Chain = append(c.Chain, Link{Level: string(l.Level), Code: l.Code, Name: l.Name})
	}
	if rep.Name != "" || rep.Phone != "" {
		if !seesReporter(sc) {
			rep.Name, rep.Phone = grid.MaskName(rep.Name), grid.MaskPhone(rep.Phone)
		}
		c.Reporter = &rep
	}
	res := IntakeResult{Clue: c}
	if whistleID != 0 {
		c.WhistleID = &whistleID
		res.Clue.WhistleID = &whistleID
		w := ev.summaries[whistleID]
		res.Whistle = &w
	}
	return res, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func linkAt(chain []grid.Link, l grid.Level) grid.Link {
	for _, c := range chain {
		if c.Level == l {
			return c
		}
	}
	return grid.Link{}
}

const joinableQuery = `
SELECT w.id FROM whistles w JOIN categories c ON c.id = w.category_id
WHERE c.code = $1 AND w.status <> 'closed'
  AND w.raised_at BETWEEN $4::timestamptz - $5 * interval '1 second' AND $4::timestamptz + $5 * interval '1 second'
  AND w.location && ST_Expand(ST_SetSRID(ST_MakePoint($2, $3), 4326), $7::float8)
  AND ST_DWithin(w.location::geography, ST_SetSRID(ST_MakePoint($2, $3), 4326)::geography, $6)
ORDER BY ST_Distance(w.location::geography, ST_SetSRID(ST_MakePoint($2, $3), 4326)::geography), w.id
LIMIT 1
FOR UPDATE OF w`

// findJoinable finds the open whistle of the same category within the
// rule's radius and window of the clue, the nearest first.
func (s *Store) findJoinable(ctx context.Context, tx pgx.Tx, v *validated, r rule) (int64, error) {
	if r.radiusM <= 0 || r.window <= 0 {
		return 0, nil
	}
	var id int64
	// the bounding box in degrees that surely holds the radius: a degree of
	// longitude is shortest, 111,320 m × cos(lat), and 40.8° is the north of
	// the district; the geography test after it is exact
	deg := r.radiusM / (111320 * math.Cos(v.wgs[1]*math.Pi/180)) * 1.01
	err := tx.QueryRow(ctx, joinableQuery, v.in.Category, v.wgs[0], v.wgs[1], v.reportedAt, r.window.Seconds(), r.radiusM, deg).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("whistle: join: %w", err)
	}
	return id, nil
}

// join attaches a clue to an open whistle and escalates a routine whistle
// to priority once it has gathered the rule's number of clues (the one
// that raised it included).
func (s *Store) join(ctx context.Context, tx pgx.Tx, ev *events, whistleID, clueID int64, r rule, now time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE clues SET whistle_id = $1 WHERE id = $2`, whistleID, clueID); err != nil {
		return fmt.Errorf("whistle: join: %w", err)
	}
	var count int
	var grade Grade
	if err := tx.QueryRow(ctx, `UPDATE whistles SET clue_count = clue_count + 1, updated_at = $2 WHERE id = $1 RETURNING clue_count, grade`, whistleID, now).Scan(&count, &grade); err != nil {
		return fmt.Errorf("whistle: join: %w", err)
	}
	if err := trail(ctx, tx, whistleID, 0, "system", "join", 0, fmt.Sprintf("线索 #%d 并入（第 %d 条）", clueID, count), map[string]any{"clue_id": clueID}, now); err != nil {
		return err
	}
	if err := ev.whistle(ctx, tx, "whistle.joined", whistleID, map[string]any{"clue_id": clueID, "clue_count": count}); err != nil {
		return err
	}
	if count >= r.escalateAfter && grade == Routine {
		if err := escalate(ctx, tx, ev, whistleID, Priority, "system", 0, fmt.Sprintf("同一处 %d 条线索，升级为重点哨", count), now, true); err != nil {
			return err
		}
	}
	return nil
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
func (e *events) whistle(ctx context.Context, tx pgx.Tx, kind string, id int64, extra map[string]any) error {
	w, err := summaryOf(ctx, tx, id)
	if err != nil {
		return err
	}
	if e.summaries == nil {
		e.summaries = map[int64]Summary{}
	}
	e.summaries[id] = w
	p := map[string]any{"whistle": w}
	for k, v := range extra {
		p[k] = v
	}
	e.add(kind, w.Township, p)
	return nil
}

func (e *events) write(ctx context.Context, tx pgx.Tx, now time.Time) error {
	if len(e.rows) == 0 {
		return nil
	}
	kinds := make([]string, len(e.rows))
	towns := make([]*string, len(e.rows))
	payloads := make([]string, len(e.rows))
	for i, r := range e.rows {
		b, err := json.Marshal(r.payload)
		if err != nil {
			return fmt.Errorf("whistle: event: %w", err)
		}
		kinds[i], payloads[i] = r.kind, string(b)
		if r.township != "" {
			towns[i] = &r.township
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO events (at, kind, township, payload)
		SELECT $1, k, t, p::jsonb FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS x(k, t, p, n) ORDER BY n`,
		now, kinds, towns, payloads)
	if err != nil {
		return fmt.Errorf("whistle: event: %w", err)
	}
	return nil
}

// trail appends a step to the whistle's trail.
func trail(ctx context.Context, tx pgx.Tx, whistleID, actorID int64, actor, action string, unitID int64, note string, data map[string]any, now time.Time) error {
	if data == nil {
		data = map[string]any{}
	}
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("whistle: trail: %w", err)
	}
	var aid, uid any
	if actorID != 0 {
		aid = actorID
	}
	if unitID != 0 {
		uid = unitID
	}
	_, err = tx.Exec(ctx, `INSERT INTO whistle_events (whistle_id, at, actor_id, actor, action, unit_id, note, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		whistleID, now, aid, actor, action, uid, note, b)
	if err != nil {
		return fmt.Errorf("whistle: trail: %w", err)
	}
	return nil
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
SELECT $1, $2, c.id, g.grade, 'raised', ST_SetSRID(ST_MakePoint($4, $5), 4326), $6, $7, $8::timestamptz,
	$8::timestamptz + make_interval(mins => CASE WHEN g.grade = c.default_grade THEN c.report_in_minutes ELSE g.report_in_minutes END),
	$8::timestamptz + make_interval(mins => CASE WHEN g.grade = c.default_grade THEN c.resolve_minutes ELSE g.resolve_minutes END),
	$9, $8::timestamptz
FROM categories c JOIN grade_policies g ON g.grade = coalesce($10::text, c.default_grade)
WHERE c.code = $3
RETURNING id`

// raise opens a whistle and summons its units.
func (s *Store) raise(ctx context.Context, tx pgx.Tx, ev *events, a raiseArgs) (int64, error) {
	var grade any
	if a.grade != "" {
		grade = string(a.grade)
	}
	var raisedBy any
	if a.actorID != 0 {
		raisedBy = a.actorID
	}
	var id int64
	err := tx.QueryRow(ctx, insertWhistle, a.townshipID, a.gridID, a.category, a.location[0], a.location[1], a.note, raisedBy, a.now,
		len(a.clueIDs), grade).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("whistle: raise: %w", err)
	}
	var codes, roles []string
	seen := map[string]bool{}
	for _, u := range a.units {
		if seen[u.Code] || u.Kind == "township" {
			continue
		}
		seen[u.Code] = true
		codes, roles = append(codes, u.Code), append(roles, u.Role)
	}
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
	err := tx.QueryRow(ctx, `
		UPDATE whistles w SET grade = $2, escalations = escalations + 1, updated_at = $3,
			report_in_due = CASE WHEN $4 AND w.report_in_due > $3 THEN LEAST(w.report_in_due, $3 + make_interval(mins => g.report_in_minutes)) ELSE w.report_in_due END,
			resolve_due = CASE WHEN $4 AND w.resolve_due > $3 THEN GREATEST(LEAST(w.resolve_due, $3 + make_interval(mins => g.resolve_minutes)), w.report_in_due) ELSE w.resolve_due END
		FROM grade_policies g, (SELECT grade FROM whistles WHERE id = $1) old
		WHERE w.id = $1 AND g.grade = $2
		RETURNING old.grade`, id, string(to), now, tighten).Scan(&from)
	if err != nil {
		return fmt.Errorf("whistle: escalate: %w", err)
	}
	if err := trail(ctx, tx, id, actorID, actor, "escalate", 0, reason, map[string]any{"from": from, "to": to}, now); err != nil {
		return err
	}
	return ev.whistle(ctx, tx, "whistle.escalated", id, map[string]any{"from": from, "to": to, "reason": reason, "actor": actor})
}

// round6 keeps 6 decimals (about 0.1 m) of a coordinate.
func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

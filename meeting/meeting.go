// Package meeting is 村民说事: a village's meeting where villagers raise
// matters, each taken in as a clue of source meeting through the whistle
// rules (whistle.Store.Intake), and each worked 说事 → 议事 (discussed, with
// a decision) → 办事 (done, or turned into a whistle) → 评事 (the
// villagers' verdict at the next meeting).
package meeting

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/access"
	"whistlegrid/fault"
	"whistlegrid/geo"
	"whistlegrid/whistle"
)

// Errors, as fault kinds.
var (
	ErrNotFound  = fault.New(fault.NotFound, "meeting: not found")
	ErrForbidden = fault.New(fault.Forbidden, "meeting: forbidden")
	ErrConflict  = fault.New(fault.Conflict, "meeting: not allowed now")
	ErrInvalid   = fault.New(fault.Invalid, "meeting: invalid")
)

// Limits.
const (
	MaxMatters   = 50
	MaxShortText = 128
	MaxAttendees = 100000
)

// Stage is where a matter is: raised (说事), discussed (议事), done (办事),
// judged (评事).
type Stage string

// The stages, in order.
const (
	Raised    Stage = "raised"
	Discussed Stage = "discussed"
	Done      Stage = "done"
	Judged    Stage = "judged"
)

// rank orders the stages; 0 for none.
func (s Stage) rank() int {
	switch s {
	case Raised:
		return 1
	case Discussed:
		return 2
	case Done:
		return 3
	case Judged:
		return 4
	}
	return 0
}

// MatterInput is one matter raised at a meeting.
type MatterInput struct {
	Text     string   `json:"text"`
	Category string   `json:"category"`
	Lon      *float64 `json:"lon"`
	Lat      *float64 `json:"lat"`
}

// Input is the body of POST /api/v1/villages/{code}/meetings.
type Input struct {
	HeldAt    string        `json:"held_at"`
	Place     string        `json:"place"`
	Host      string        `json:"host"`
	Attendees int           `json:"attendees"`
	Matters   []MatterInput `json:"matters"`
}

// Matter is a matter as read.
type Matter struct {
	N           int           `json:"n"`
	Text        string        `json:"text"`
	Category    string        `json:"category"`
	ClueID      int64         `json:"clue_id"`
	Stage       Stage         `json:"stage"`
	Decision    string        `json:"decision"`
	DoneNote    string        `json:"done_note"`
	WhistleID   *int64        `json:"whistle_id"`
	Verdict     *string       `json:"verdict"`
	VerdictNote string        `json:"verdict_note"`
	Lon         float64       `json:"lon"`
	Lat         float64       `json:"lat"`
	Risk        *whistle.Risk `json:"risk,omitempty"`
	UpdatedAt   time.Time     `json:"updated_at"`
}

// Meeting is a meeting with its matters.
type Meeting struct {
	ID        int64     `json:"id"`
	Village   string    `json:"village"`
	HeldAt    time.Time `json:"held_at"`
	Place     string    `json:"place"`
	Host      string    `json:"host"`
	Attendees int       `json:"attendees"`
	CreatedBy string    `json:"created_by"`
	Matters   []Matter  `json:"matters"`
}

// Store keeps meetings.
type Store struct {
	pool     *pgxpool.Pool
	whistles *whistle.Store
}

// NewStore returns a Store taking matters in through whistles.
func NewStore(pool *pgxpool.Pool, whistles *whistle.Store) *Store {
	return &Store{pool: pool, whistles: whistles}
}

func invalid(field, format string, a ...any) error {
	return fault.FieldErrorf(ErrInvalid, field, format, a...)
}

// mayWrite: the command center, the village's township, its grid worker.
func mayWrite(sc access.Scope) error {
	switch sc.Role {
	case access.RoleCommand, access.RoleTownship, access.RoleGridWorker:
		return nil
	}
	return fault.Errorf(ErrForbidden, "a %s may not record villagers' meetings", sc.Role)
}

// village finds the village in the caller's jurisdiction, and its
// representative point (on its first household grid), for a matter
// without a location.
func (s *Store) village(ctx context.Context, sc access.Scope, code string) (int64, [2]float64, error) {
	var id int64
	var pt [2]float64
	err := s.pool.QueryRow(ctx, `
		SELECT v.id, ST_X(p.pt), ST_Y(p.pt) FROM grids v
		CROSS JOIN LATERAL (SELECT ST_PointOnSurface(h.geom) AS pt FROM grids h WHERE h.parent_id = v.id AND h.level = 'household' ORDER BY h.code LIMIT 1) p
		WHERE v.code = $1 AND v.level = 'village'`, code).Scan(&id, &pt[0], &pt[1])
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && !sc.Covers(code)) {
		return 0, pt, fault.Errorf(ErrNotFound, "no village %s in your jurisdiction", code)
	}
	if err != nil {
		return 0, pt, fmt.Errorf("meeting: %w", err)
	}
	return id, pt, nil
}

func short(field, v string, required bool) error {
	if required && strings.TrimSpace(v) == "" {
		return invalid(field, "%s is required", field)
	}
	if utf8.RuneCountInString(v) > MaxShortText {
		return invalid(field, "%s is at most %d characters", field, MaxShortText)
	}
	return nil
}

// Create records a meeting and takes each matter in as a clue of source
// meeting in the village (placed at the village when it has no location).
func (s *Store) Create(ctx context.Context, sc access.Scope, village string, in Input) (Meeting, error) {
	if err := mayWrite(sc); err != nil {
		return Meeting{}, err
	}
	vid, vpt, err := s.village(ctx, sc, village)
	if err != nil {
		return Meeting{}, err
	}
	held, err := geo.ParseTime(in.HeldAt)
	if err != nil {
		return Meeting{}, invalid("held_at", "held_at must be an RFC 3339 time: %v", err)
	}
	if held.After(time.Now().Add(24 * time.Hour)) {
		return Meeting{}, invalid("held_at", "held_at is in the future")
	}
	for _, f := range []struct{ name, v string }{{"place", in.Place}, {"host", in.Host}} {
		if err := short(f.name, f.v, true); err != nil {
			return Meeting{}, err
		}
	}
	if in.Attendees < 0 || in.Attendees > MaxAttendees {
		return Meeting{}, invalid("attendees", "attendees is 0 to %d", MaxAttendees)
	}
	if len(in.Matters) == 0 || len(in.Matters) > MaxMatters {
		return Meeting{}, invalid("matters", "a meeting has 1 to %d matters", MaxMatters)
	}
	for i, m := range in.Matters {
		f := func(n string) string { return fmt.Sprintf("matters[%d].%s", i, n) }
		if strings.TrimSpace(m.Text) == "" || utf8.RuneCountInString(m.Text) > whistle.MaxText {
			return Meeting{}, invalid(f("text"), "text has 1 to %d characters", whistle.MaxText)
		}
		if (m.Lon == nil) != (m.Lat == nil) {
			return Meeting{}, invalid(f("lon"), "give both lon and lat, or neither")
		}
		if m.Category == "" {
			return Meeting{}, invalid(f("category"), "category is required")
		}
	}
	var id int64
	if err := s.pool.QueryRow(ctx, `SELECT nextval('meetings_id_seq')`).Scan(&id); err != nil {
		return Meeting{}, fmt.Errorf("meeting: %w", err)
	}
	// each matter a clue, before the meeting is stored: a refusal (a
	// point outside the district, an unknown category) stores nothing of
	// the meeting; a clue already taken in is found again by its key
	type taken struct {
		clue    int64
		whistle *int64
	}
	clues := make([]taken, len(in.Matters))
	for i, m := range in.Matters {
		lon, lat := vpt[0], vpt[1]
		if m.Lon != nil {
			lon, lat = *m.Lon, *m.Lat
		}
		res, err := s.whistles.Intake(ctx, sc, whistle.ClueInput{Source: "meeting", ExternalID: fmt.Sprintf("meeting-%d-%d", id, i+1),
			Category: m.Category, Text: m.Text, Lon: &lon, Lat: &lat, Datum: "wgs84", ReportedAt: held.Format(time.RFC3339)})
		if err != nil {
			var fe *fault.Error
			if errors.As(err, &fe) && fe.Field != "" {
				fe.Field = fmt.Sprintf("matters[%d].%s", i, fe.Field)
			}
			return Meeting{}, err
		}
		clues[i] = taken{res.Clue.ID, res.Clue.WhistleID}
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return Meeting{}, fmt.Errorf("meeting: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `INSERT INTO meetings (id, village_id, held_at, place, host, attendees, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		id, vid, held, in.Place, in.Host, in.Attendees, sc.Username); err != nil {
		return Meeting{}, fmt.Errorf("meeting: %w", err)
	}
	for i, m := range in.Matters {
		if _, err := tx.Exec(ctx, `INSERT INTO meeting_matters (meeting_id, n, text, category, clue_id, whistle_id) VALUES ($1, $2, $3, $4, $5, $6)`,
			id, i+1, m.Text, m.Category, clues[i].clue, clues[i].whistle); err != nil {
			return Meeting{}, fmt.Errorf("meeting: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return Meeting{}, fmt.Errorf("meeting: %w", err)
	}
	out, err := s.list(ctx, vid, id)
	if err != nil || len(out) == 0 {
		return Meeting{}, err
	}
	return out[0], nil
}

// List lists a village's meetings, newest first, with their matters.
func (s *Store) List(ctx context.Context, sc access.Scope, village string) ([]Meeting, error) {
	vid, _, err := s.village(ctx, sc, village)
	if err != nil {
		return nil, err
	}
	return s.list(ctx, vid, 0)
}

func (s *Store) list(ctx context.Context, vid, id int64) ([]Meeting, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT m.id, v.code, m.held_at, m.place, m.host, m.attendees, m.created_by,
			x.n, x.text, x.category, x.clue_id, x.stage, x.decision, x.done_note, coalesce(x.whistle_id, c.whistle_id), x.verdict, x.verdict_note,
			ST_X(c.location), ST_Y(c.location), c.risk, x.updated_at
		FROM meetings m JOIN grids v ON v.id = m.village_id
		LEFT JOIN meeting_matters x ON x.meeting_id = m.id LEFT JOIN clues c ON c.id = x.clue_id
		WHERE m.village_id = $1 AND ($2 = 0 OR m.id = $2)
		ORDER BY m.held_at DESC, m.id DESC, x.n`, vid, id)
	if err != nil {
		return nil, fmt.Errorf("meeting: %w", err)
	}
	defer rows.Close()
	out := []Meeting{}
	for rows.Next() {
		var m Meeting
		var x Matter
		// a meeting that raised nothing has one row of NULL matter columns
		var n *int
		var text, category, stage, decision, doneNote, verdictNote *string
		var clueID *int64
		var lon, lat *float64
		var updated *time.Time
		if err := rows.Scan(&m.ID, &m.Village, &m.HeldAt, &m.Place, &m.Host, &m.Attendees, &m.CreatedBy,
			&n, &text, &category, &clueID, &stage, &decision, &doneNote, &x.WhistleID, &x.Verdict, &verdictNote,
			&lon, &lat, &x.Risk, &updated); err != nil {
			return nil, fmt.Errorf("meeting: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].ID != m.ID {
			m.HeldAt = m.HeldAt.In(geo.Beijing)
			m.Matters = []Matter{}
			out = append(out, m)
		}
		if n == nil {
			continue
		}
		x.N, x.Text, x.Category, x.ClueID, x.Stage = *n, *text, *category, *clueID, Stage(*stage)
		x.Decision, x.DoneNote, x.VerdictNote, x.Lon, x.Lat, x.UpdatedAt = *decision, *doneNote, *verdictNote, *lon, *lat, *updated
		out[len(out)-1].Matters = append(out[len(out)-1].Matters, x)
	}
	return out, rows.Err()
}

// Step is the body of PATCH /api/v1/meetings/{id}/matters/{n}: the next
// stage, one at a time, with what it needs.
type Step struct {
	Stage       Stage  `json:"stage"`
	Decision    string `json:"decision"`     // discussed
	Note        string `json:"note"`         // done
	Whistle     bool   `json:"whistle"`      // done: turned into a whistle (raised now, unless its clue is in one)
	Verdict     string `json:"verdict"`      // judged: satisfied, basically_satisfied, unsatisfied
	VerdictNote string `json:"verdict_note"` // judged
}

// Advance moves a matter to its next stage.
func (s *Store) Advance(ctx context.Context, sc access.Scope, id int64, n int, in Step) (Meeting, error) {
	if err := mayWrite(sc); err != nil {
		return Meeting{}, err
	}
	var village string
	var vid, clue int64
	var stage Stage
	var wid *int64
	err := s.pool.QueryRow(ctx, `SELECT v.code, v.id, x.stage, x.clue_id, coalesce(x.whistle_id, c.whistle_id)
		FROM meeting_matters x JOIN meetings m ON m.id = x.meeting_id JOIN grids v ON v.id = m.village_id JOIN clues c ON c.id = x.clue_id
		WHERE x.meeting_id = $1 AND x.n = $2`, id, n).Scan(&village, &vid, &stage, &clue, &wid)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && !sc.Covers(village)) {
		return Meeting{}, fault.Errorf(ErrNotFound, "no matter %d of meeting %d in your jurisdiction", n, id)
	}
	if err != nil {
		return Meeting{}, fmt.Errorf("meeting: %w", err)
	}
	if in.Stage.rank() == 0 || in.Stage == Raised {
		return Meeting{}, invalid("stage", "stage must be discussed, done or judged")
	}
	for _, f := range []struct{ name, v string }{{"decision", in.Decision}, {"note", in.Note}, {"verdict_note", in.VerdictNote}} {
		if utf8.RuneCountInString(f.v) > whistle.MaxNote {
			return Meeting{}, invalid(f.name, "%s is at most %d characters", f.name, whistle.MaxNote)
		}
	}
	switch in.Stage {
	case Discussed:
		if strings.TrimSpace(in.Decision) == "" {
			return Meeting{}, invalid("decision", "议事 records the decision")
		}
	case Done:
		if strings.TrimSpace(in.Note) == "" && !in.Whistle {
			return Meeting{}, invalid("note", "办事 records what was done (note), or turns the matter into a whistle (whistle: true)")
		}
	case Judged:
		if !whistle.CallbackResult(in.Verdict).Valid() {
			return Meeting{}, invalid("verdict", "verdict must be satisfied, basically_satisfied or unsatisfied")
		}
	}
	if in.Stage.rank() != stage.rank()+1 {
		return Meeting{}, fault.Errorf(ErrConflict, "the matter is %s; the next stage is one step on (说事 → 议事 → 办事 → 评事)", stage)
	}
	if in.Stage == Done && in.Whistle && wid == nil {
		d, err := s.whistles.Raise(ctx, sc, whistle.RaiseInput{ClueIDs: []int64{clue}, Note: "村民说事 #" + fmt.Sprint(id) + " 第 " + fmt.Sprint(n) + " 项"})
		if err != nil {
			return Meeting{}, err
		}
		wid = &d.ID
	}
	if tag, err := s.pool.Exec(ctx, `UPDATE meeting_matters SET stage = $3, updated_at = now(),
		decision = CASE WHEN $3 = 'discussed' THEN $4 ELSE decision END,
		done_note = CASE WHEN $3 = 'done' THEN $5 ELSE done_note END,
		whistle_id = $6,
		verdict = CASE WHEN $3 = 'judged' THEN $7 ELSE verdict END,
		verdict_note = CASE WHEN $3 = 'judged' THEN $8 ELSE verdict_note END
		WHERE meeting_id = $1 AND n = $2 AND stage = $9`, id, n, string(in.Stage), in.Decision, in.Note, wid, nullable(in.Verdict), in.VerdictNote, string(stage)); err != nil {
		return Meeting{}, fmt.Errorf("meeting: %w", err)
	} else if tag.RowsAffected() == 0 {
		return Meeting{}, fault.Errorf(ErrConflict, "the matter moved on meanwhile; read it again")
	}
	out, err := s.list(ctx, vid, id)
	if err != nil || len(out) == 0 {
		return Meeting{}, err
	}
	return out[0], nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

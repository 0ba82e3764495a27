// Package board is 你说我办, the public message board: residents leave
// messages without logging in (Post, limited per client address in the
// table board_posts so every instance counts the same), the command
// center screens them (Accept: the message becomes a clue of source
// forum through whistle.Store.Intake, the same intake as POST
// /api/v1/clues; Reject: with a reason the writer sees by the receipt
// Post answered), and the township writes the public reply when the case
// closes (Reply). The public list (Public) shows accepted messages with
// their status and reply and no personal data: never the phone, the
// location or the client address.
package board

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/access"
	"whistlegrid/fault"
	"whistlegrid/geo"
	"whistlegrid/whistle"
)

// The sentinels of the package.
var (
	ErrInvalid   = fault.New(fault.Invalid, "board: invalid")
	ErrNotFound  = fault.New(fault.NotFound, "board: not found")
	ErrForbidden = fault.New(fault.Forbidden, "board: forbidden")
	ErrConflict  = fault.New(fault.Conflict, "board: conflict")
	ErrTooMany   = fault.New(fault.TooMany, "board: too many messages")
)

// MaxText is the longest message, in characters.
const MaxText = 1000

// MaxReason and MaxReply bound a rejection's reason and a public reply.
const (
	MaxReason = 500
	MaxReply  = 2000
)

// Limits are how many messages one client address may post: PerMinute in
// any minute and PerDay in any day (the defaults: 5 and 50).
type Limits struct {
	PerMinute, PerDay int
}

// DefaultLimits are the limits of a zero Limits.
var DefaultLimits = Limits{PerMinute: 5, PerDay: 50}

// Intaker takes a clue in: whistle.Store.Intake.
type Intaker interface {
	Intake(ctx context.Context, sc access.Scope, in whistle.ClueInput) (whistle.IntakeResult, error)
}

// Store runs the board against the database.
type Store struct {
	pool   *pgxpool.Pool
	limits Limits
	now    func() time.Time
}

// NewStore returns a Store on pool; zero fields of limits take
// DefaultLimits'; now is the clock (nil: time.Now).
func NewStore(pool *pgxpool.Pool, limits Limits, now func() time.Time) *Store {
	if limits.PerMinute <= 0 {
		limits.PerMinute = DefaultLimits.PerMinute
	}
	if limits.PerDay <= 0 {
		limits.PerDay = DefaultLimits.PerDay
	}
	if now == nil {
		now = time.Now
	}
	return &Store{pool: pool, limits: limits, now: now}
}

// PostInput is a message as it arrives at POST /api/v1/board/messages.
type PostInput struct {
	Text     string   `json:"text"`
	Category string   `json:"category"`
	Lon      *float64 `json:"lon"`
	Lat      *float64 `json:"lat"`
	Phone    string   `json:"phone"`
}

// Posted is what Post answers: the message's id, its status and the
// receipt the writer keeps to look it up (Status).
type Posted struct {
	ID      int64  `json:"id"`
	Status  string `json:"status"`
	Receipt string `json:"receipt"`
}

// markup finds HTML or script in a message: a tag, an entity, a
// javascript: URL or an event handler attribute. The board is read by
// the public, so such text is refused whole rather than cleaned.
var markup = regexp.MustCompile(`(?i)</?[a-z!?]|&#?[a-z0-9]+;|javascript\s*:|vbscript\s*:|data\s*:\s*text/html|\bon[a-z]+\s*=`)

// CheckText says what is wrong with a message's text, nil if nothing:
// empty (or only white space), over MaxText characters, not valid UTF-8,
// holding control characters, or holding markup.
func CheckText(s string) error {
	if !utf8.ValidString(s) {
		return fault.FieldErrorf(ErrInvalid, "text", "text is not valid UTF-8")
	}
	if strings.TrimSpace(s) == "" {
		return fault.FieldErrorf(ErrInvalid, "text", "text is required: say what the matter is")
	}
	if n := utf8.RuneCountInString(s); n > MaxText {
		return fault.FieldErrorf(ErrInvalid, "text", "text is %d characters, at most %d", n, MaxText)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			return fault.FieldErrorf(ErrInvalid, "text", "text holds a control character (U+%04X)", r)
		}
	}
	if markup.MatchString(s) {
		return fault.FieldErrorf(ErrInvalid, "text", "text may not hold HTML, script or links with javascript:; write plain text")
	}
	return nil
}

var phoneRe = regexp.MustCompile(`^[0-9+-]{7,20}$`)

func (in *PostInput) check() error {
	if err := CheckText(in.Text); err != nil {
		return err
	}
	in.Text = strings.TrimSpace(in.Text)
	if in.Category == "" {
		return fault.FieldErrorf(ErrInvalid, "category", "category is required (see the board's categories)")
	}
	if (in.Lon == nil) != (in.Lat == nil) {
		return fault.FieldErrorf(ErrInvalid, "lon", "give both lon and lat, or neither")
	}
	if in.Lon != nil {
		if err := geo.ValidLonLat(*in.Lon, *in.Lat); err != nil {
			return fault.FieldErrorf(ErrInvalid, "lon", "%v", err)
		}
	}
	if in.Phone != "" && !phoneRe.MatchString(in.Phone) {
		return fault.FieldErrorf(ErrInvalid, "phone", "a phone has 7 to 20 digits, '+' or '-'")
	}
	return nil
}

// Post stores a message from the client address addr, pending screening,
// if addr is under its limits; over them it refuses with ErrTooMany and
// the wait (fault.Error.RetryAfter) until the oldest post that counts
// leaves its window. Only a valid message counts. The check and the
// insert run in one transaction under a per-address advisory lock.
func (s *Store) Post(ctx context.Context, addr string, in PostInput) (Posted, error) {
	if err := in.check(); err != nil {
		return Posted{}, err
	}
	if len(addr) > 100 {
		addr = addr[:100]
	}
	now := s.now()
	var out Posted
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var known bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM categories WHERE code = $1)`, in.Category).Scan(&known); err != nil {
			return err
		}
		if !known {
			return fault.FieldErrorf(ErrInvalid, "category", "unknown category %q", in.Category)
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('board:' || $1, 0))`, addr); err != nil {
			return err
		}
		if wait, err := s.wait(ctx, tx, addr, now); err != nil {
			return err
		} else if wait > 0 {
			secs := int(math.Ceil(wait.Seconds()))
			e := fault.Errorf(ErrTooMany, "too many messages from your address: at most %d a minute and %d a day; try again in %d s",
				s.limits.PerMinute, s.limits.PerDay, secs)
			e.RetryAfter = time.Duration(secs) * time.Second
			return e
		}
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		out.Receipt, out.Status = hex.EncodeToString(b), "pending"
		if _, err := tx.Exec(ctx, `INSERT INTO board_posts (addr, at) VALUES ($1, $2)`, addr, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM board_posts WHERE addr = $1 AND at < $2`, addr, now.Add(-24*time.Hour)); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO board_messages (receipt, text, category, lon, lat, phone, created_at)
			VALUES ($1, $2, $3, $4, $5, nullif($6, ''), $7) RETURNING id`,
			out.Receipt, in.Text, in.Category, in.Lon, in.Lat, in.Phone, now).Scan(&out.ID)
	})
	if err != nil {
		var fe *fault.Error
		if errors.As(err, &fe) {
			return Posted{}, err
		}
		return Posted{}, fmt.Errorf("board: post: %w", err)
	}
	return out, nil
}

// wait is how long addr must wait before its next post: 0 under both
// limits, else until the post that fills the limit leaves its window.
func (s *Store) wait(ctx context.Context, tx pgx.Tx, addr string, now time.Time) (time.Duration, error) {
	var wait time.Duration
	for _, w := range []struct {
		n      int
		window time.Duration
	}{{s.limits.PerMinute, time.Minute}, {s.limits.PerDay, 24 * time.Hour}} {
		var at *time.Time
		// the n-th newest post in the window: while it exists, the limit is full
		err := tx.QueryRow(ctx, `SELECT at FROM board_posts WHERE addr = $1 AND at > $2 ORDER BY at DESC OFFSET $3 LIMIT 1`,
			addr, now.Add(-w.window), w.n-1).Scan(&at)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return 0, err
		}
		wait = max(wait, at.Add(w.window).Sub(now))
	}
	return wait, nil
}

// Public is a message as the public board shows it: no phone, no
// location, no address.
type Public struct {
	ID           int64      `json:"id"`
	Text         string     `json:"text"`
	Category     string     `json:"category"`
	CategoryName string     `json:"category_name"`
	Township     string     `json:"township"` // the township's name, "" until placed
	CreatedAt    time.Time  `json:"created_at"`
	Status       string     `json:"status"`      // accepted, in_progress, done, replied
	StatusName   string     `json:"status_name"` // in Chinese
	Reply        string     `json:"reply"`
	RepliedAt    *time.Time `json:"replied_at"`
}

// publicStatus is a message's status on the public board, from its own
// and its case's: pending, rejected, accepted (a clue not yet a case),
// in_progress (its whistle is open), done (closed), replied.
const publicStatus = `CASE
	WHEN b.status <> 'accepted' THEN b.status
	WHEN b.reply IS NOT NULL THEN 'replied'
	WHEN w.status = 'closed' THEN 'done'
	WHEN w.id IS NOT NULL THEN 'in_progress'
	ELSE 'accepted' END`

// StatusNames are the public statuses in Chinese.
var StatusNames = map[string]string{
	"pending": "待受理", "rejected": "不予受理", "accepted": "已受理", "in_progress": "办理中", "done": "已办结", "replied": "已答复",
}

const publicColumns = `b.id, b.text, b.category, cat.name, coalesce(t.name, ''), b.created_at, ` + publicStatus + `, coalesce(b.reply, ''), b.replied_at`

const publicFrom = `
FROM board_messages b
JOIN categories cat ON cat.code = b.category
LEFT JOIN clues c ON c.id = b.clue_id
LEFT JOIN grids t ON t.id = c.township_id
LEFT JOIN whistles w ON w.id = c.whistle_id`

func scanPublic(r pgx.CollectableRow) (Public, error) {
	var p Public
	err := r.Scan(&p.ID, &p.Text, &p.Category, &p.CategoryName, &p.Township, &p.CreatedAt, &p.Status, &p.Reply, &p.RepliedAt)
	p.StatusName = StatusNames[p.Status]
	return p, err
}

// PublicList answers the accepted messages, newest first (limit at most
// 100, default 20), and how many there are.
func (s *Store) PublicList(ctx context.Context, limit, offset int) ([]Public, int, error) {
	if limit <= 0 {
		limit = 20
	}
	if limit > 100 {
		return nil, 0, fault.FieldErrorf(ErrInvalid, "limit", "limit is at most 100")
	}
	var total int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM board_messages WHERE status = 'accepted'`).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("board: list: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+publicColumns+publicFrom+` WHERE b.status = 'accepted' ORDER BY b.created_at DESC, b.id DESC LIMIT $1 OFFSET $2`, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("board: list: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanPublic)
	if err != nil {
		return nil, 0, fmt.Errorf("board: list: %w", err)
	}
	if out == nil {
		out = []Public{}
	}
	return out, total, nil
}

// Receipt is what the writer sees of their own message by its receipt:
// its public fields and, when rejected, the reason.
type Receipt struct {
	Public
	Reason string `json:"reason"`
}

// Status answers the message with receipt r.
func (s *Store) Status(ctx context.Context, r string) (Receipt, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+publicColumns+`, coalesce(b.reason, '')`+publicFrom+` WHERE b.receipt = $1`, r)
	if err != nil {
		return Receipt{}, fmt.Errorf("board: receipt: %w", err)
	}
	out, err := pgx.CollectExactlyOneRow(rows, func(r pgx.CollectableRow) (Receipt, error) {
		var p Receipt
		err := r.Scan(&p.ID, &p.Text, &p.Category, &p.CategoryName, &p.Township, &p.CreatedAt, &p.Status, &p.Reply, &p.RepliedAt, &p.Reason)
		p.StatusName = StatusNames[p.Status]
		return p, err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Receipt{}, fault.Errorf(ErrNotFound, "no message with this receipt")
	}
	if err != nil {
		return Receipt{}, fmt.Errorf("board: receipt: %w", err)
	}
	return out, nil
}

// Message is a message as the command center and the townships see it.
// The phone is shown to the command center's callback desk (it calls
// back: access.Scope.SeesReporter) and masked for the rest.
type Message struct {
	Public
	Phone      string   `json:"phone"`
	Lon        *float64 `json:"lon"`
	Lat        *float64 `json:"lat"`
	Reason     string   `json:"reason"`
	ClueID     *int64   `json:"clue_id"`
	WhistleID  *int64   `json:"whistle_id"`
	TownshipID string   `json:"township_code"`
}

// Screening lists messages for the staff: the command center sees every
// message; a township the accepted ones placed in it (to reply); others
// none. status filters (pending, accepted, rejected; "" all).
func (s *Store) Screening(ctx context.Context, sc access.Scope, status string, limit, offset int) ([]Message, int, error) {
	if status != "" && status != "pending" && status != "accepted" && status != "rejected" {
		return nil, 0, fault.FieldErrorf(ErrInvalid, "status", "status must be pending, accepted or rejected")
	}
	if limit <= 0 {
		limit = 50
	}
	if limit > 500 {
		return nil, 0, fault.FieldErrorf(ErrInvalid, "limit", "limit is at most 500")
	}
	switch sc.Role {
	case access.RoleCommand, access.RoleTownship:
	default:
		return nil, 0, fault.Errorf(ErrForbidden, "a %s does not screen board messages", sc.Role)
	}
	where := ` WHERE ($1 = '' OR b.status = $1) AND ($2::text[] IS NULL OR coalesce(t.code, '') LIKE ANY ($2::text[]))`
	var total int
	if err := s.pool.QueryRow(ctx, `SELECT count(*)`+publicFrom+where, status, sc.Prefixes()).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("board: screening: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+publicColumns+`, coalesce(b.phone, ''), b.lon, b.lat, coalesce(b.reason, ''), b.clue_id, c.whistle_id, coalesce(t.code, '')`+
		publicFrom+where+` ORDER BY b.created_at DESC, b.id DESC LIMIT $3 OFFSET $4`, status, sc.Prefixes(), limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("board: screening: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Message, error) {
		var m Message
		err := r.Scan(&m.ID, &m.Text, &m.Category, &m.CategoryName, &m.Township, &m.CreatedAt, &m.Status, &m.Reply, &m.RepliedAt,
			&m.Phone, &m.Lon, &m.Lat, &m.Reason, &m.ClueID, &m.WhistleID, &m.TownshipID)
		m.StatusName = StatusNames[m.Status]
		if !sc.SeesReporter("") && m.Phone != "" {
			m.Phone = access.MaskPhone(m.Phone)
		}
		return m, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("board: screening: %w", err)
	}
	if out == nil {
		out = []Message{}
	}
	return out, total, nil
}

// AcceptInput is the command center's acceptance: a location and a
// category when the message has none or they need correcting.
type AcceptInput struct {
	Category string   `json:"category"`
	Lon      *float64 `json:"lon"`
	Lat      *float64 `json:"lat"`
}

// Accepted is what Accept answers.
type Accepted struct {
	ClueID    int64  `json:"clue_id"`
	WhistleID *int64 `json:"whistle_id"`
}

// ExternalID is the clue's external id of message id: the same message
// accepted twice is one clue.
func ExternalID(id int64) string { return "board-" + strconv.FormatInt(id, 10) }

// Accept makes a pending message a clue of source forum through intake
// (the same intake as POST /api/v1/clues), reported at the message's
// time by its writer's phone. Only the command center screens.
func (s *Store) Accept(ctx context.Context, sc access.Scope, id int64, in AcceptInput, intake Intaker) (Accepted, error) {
	if sc.Role != access.RoleCommand {
		return Accepted{}, fault.Errorf(ErrForbidden, "only the command center screens board messages")
	}
	if (in.Lon == nil) != (in.Lat == nil) {
		return Accepted{}, fault.FieldErrorf(ErrInvalid, "lon", "give both lon and lat, or neither")
	}
	var out Accepted
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var text, category, phone, status string
		var lon, lat *float64
		var at time.Time
		err := tx.QueryRow(ctx, `SELECT text, category, coalesce(phone, ''), lon, lat, created_at, status FROM board_messages WHERE id = $1 FOR UPDATE`, id).
			Scan(&text, &category, &phone, &lon, &lat, &at, &status)
		if errors.Is(err, pgx.ErrNoRows) {
			return fault.Errorf(ErrNotFound, "no board message %d", id)
		}
		if err != nil {
			return err
		}
		if status != "pending" {
			return fault.Errorf(ErrConflict, "message %d is already %s", id, status)
		}
		if in.Category != "" {
			category = in.Category
		}
		if in.Lon != nil {
			lon, lat = in.Lon, in.Lat
		}
		if lon == nil {
			return fault.FieldErrorf(ErrInvalid, "lon", "the message has no location: give lon and lat (WGS-84) to accept it")
		}
		ci := whistle.ClueInput{Source: "forum", ExternalID: ExternalID(id), Category: category, Text: text, Lon: lon, Lat: lat,
			Datum: "wgs84", ReportedAt: at.Format(time.RFC3339Nano)}
		if phone != "" {
			ci.Reporter = &whistle.Reporter{Phone: phone}
		}
		res, err := intake.Intake(ctx, sc, ci)
		if err != nil {
			return err
		}
		out.ClueID, out.WhistleID = res.Clue.ID, res.Clue.WhistleID
		_, err = tx.Exec(ctx, `UPDATE board_messages SET status = 'accepted', clue_id = $2, screened_by = nullif($3, 0), screened_at = $4 WHERE id = $1`,
			id, res.Clue.ID, sc.UserID, s.now())
		return err
	})
	if err != nil {
		var fe *fault.Error
		if errors.As(err, &fe) {
			return Accepted{}, err
		}
		return Accepted{}, fmt.Errorf("board: accept: %w", err)
	}
	return out, nil
}

// Reject refuses a pending message with a reason its writer sees.
func (s *Store) Reject(ctx context.Context, sc access.Scope, id int64, reason string) error {
	if sc.Role != access.RoleCommand {
		return fault.Errorf(ErrForbidden, "only the command center screens board messages")
	}
	reason = strings.TrimSpace(reason)
	if reason == "" || utf8.RuneCountInString(reason) > MaxReason {
		return fault.FieldErrorf(ErrInvalid, "reason", "a reason of 1 to %d characters is required", MaxReason)
	}
	return s.screened(ctx, id, `UPDATE board_messages SET status = 'rejected', reason = $2, screened_by = nullif($3, 0), screened_at = $4
		WHERE id = $1 AND status = 'pending'`, reason, sc.UserID, s.now())
}

func (s *Store) screened(ctx context.Context, id int64, q string, args ...any) error {
	tag, err := s.pool.Exec(ctx, q, append([]any{id}, args...)...)
	if err != nil {
		return fmt.Errorf("board: %w", err)
	}
	if tag.RowsAffected() == 0 {
		var status string
		err := s.pool.QueryRow(ctx, `SELECT status FROM board_messages WHERE id = $1`, id).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
			return fault.Errorf(ErrNotFound, "no board message %d", id)
		}
		if err != nil {
			return fmt.Errorf("board: %w", err)
		}
		return fault.Errorf(ErrConflict, "message %d is %s", id, status)
	}
	return nil
}

// Reply writes the public reply of an accepted message: by the township
// its clue lies in, once its case is closed (its whistle closed, or the
// clue raised none).
func (s *Store) Reply(ctx context.Context, sc access.Scope, id int64, reply string) error {
	if sc.Role != access.RoleTownship {
		return fault.Errorf(ErrForbidden, "the township of the case writes the public reply")
	}
	if err := CheckText(reply); err != nil {
		var fe *fault.Error
		if errors.As(err, &fe) {
			fe.Field = "reply"
		}
		return err
	}
	if utf8.RuneCountInString(reply) > MaxReply {
		return fault.FieldErrorf(ErrInvalid, "reply", "reply is at most %d characters", MaxReply)
	}
	var township, wstatus string
	var hasReply bool
	err := s.pool.QueryRow(ctx, `SELECT t.code, coalesce(w.status, ''), b.reply IS NOT NULL
		FROM board_messages b JOIN clues c ON c.id = b.clue_id JOIN grids t ON t.id = c.township_id LEFT JOIN whistles w ON w.id = c.whistle_id
		WHERE b.id = $1 AND b.status = 'accepted' AND `+access.PrefixClause("t.code", "$2"), id, sc.Prefixes()).Scan(&township, &wstatus, &hasReply)
	if errors.Is(err, pgx.ErrNoRows) {
		return fault.Errorf(ErrNotFound, "no accepted board message %d in your jurisdiction", id)
	}
	if err != nil {
		return fmt.Errorf("board: reply: %w", err)
	}
	if wstatus != "" && wstatus != "closed" {
		return fault.Errorf(ErrConflict, "the case of message %d is not closed yet: reply when it closes", id)
	}
	if hasReply {
		return fault.Errorf(ErrConflict, "message %d already has its public reply", id)
	}
	_, err = s.pool.Exec(ctx, `UPDATE board_messages SET reply = $2, replied_by = nullif($3, 0), replied_at = $4 WHERE id = $1`,
		id, strings.TrimSpace(reply), sc.UserID, s.now())
	if err != nil {
		return fmt.Errorf("board: reply: %w", err)
	}
	return nil
}

// Category is a category a resident may choose: a leaf of the tree,
// under its parent as the group.
type Category struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Group string `json:"group"`
}

// Categories answers the categories a message may take, for the public
// form.
func (s *Store) Categories(ctx context.Context) ([]Category, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.code, c.name, p.name FROM categories c JOIN categories p ON p.id = c.parent_id
		WHERE NOT EXISTS (SELECT 1 FROM categories k WHERE k.parent_id = c.id) ORDER BY c.code`)
	if err != nil {
		return nil, fmt.Errorf("board: categories: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Category, error) {
		var c Category
		err := r.Scan(&c.Code, &c.Name, &c.Group)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("board: categories: %w", err)
	}
	return out, nil
}

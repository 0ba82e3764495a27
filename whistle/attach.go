package whistle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"whistlegrid/access"
	"whistlegrid/fault"
)

// MaxAttachments is the most attachments one clue or one step takes.
const MaxAttachments = 20

// AttachmentRef is an attachment as a clue or a trail step shows it: where
// to fetch it and its thumbnail (a JPEG of at most 320 px a side). Both
// URLs take the bearer token or ?token=.
type AttachmentRef struct {
	ID          int64  `json:"id"`
	URL         string `json:"url"`
	ThumbURL    string `json:"thumb_url"`
	ContentType string `json:"content_type"`
}

// AttachmentURL is the path an attachment is served at; its thumbnail is
// the same plus "/thumb".
func AttachmentURL(id int64) string { return "/api/v1/attachments/" + strconv.FormatInt(id, 10) }

func attachmentRef(id int64, ct string) AttachmentRef {
	u := AttachmentURL(id)
	return AttachmentRef{ID: id, URL: u, ThumbURL: u + "/thumb", ContentType: ct}
}

// Attachment is a stored upload.
type Attachment struct {
	AttachmentRef
	SHA256     string    `json:"sha256"`
	Size       int64     `json:"size"`
	GPS        *LonLat   `json:"gps,omitempty"`
	UploadedAt time.Time `json:"uploaded_at"`
	ClueID     *int64    `json:"clue_id,omitempty"`
	WhistleID  *int64    `json:"whistle_id,omitempty"`
}

// LonLat is a WGS-84 position.
type LonLat struct {
	Lon float64 `json:"lon"`
	Lat float64 `json:"lat"`
}

// NewAttachment is an upload ready to record: its object is already in
// the store under SHA256.
type NewAttachment struct {
	SHA256, ContentType string
	Size                int64
	GPS                 *LonLat
}

// AddAttachment records an upload of the caller's, loose until a clue or
// a step takes it.
func (s *Store) AddAttachment(ctx context.Context, sc access.Scope, a NewAttachment) (Attachment, error) {
	if err := MayAttach(sc); err != nil {
		return Attachment{}, err
	}
	var lon, lat any
	if a.GPS != nil {
		lon, lat = a.GPS.Lon, a.GPS.Lat
	}
	out := Attachment{SHA256: a.SHA256, Size: a.Size, GPS: a.GPS}
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO attachments (sha256, content_type, size, uploaded_by, uploaded_at, gps)
		VALUES ($1, $2, $3, $4, $5, CASE WHEN $6::float8 IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint($6, $7::float8), 4326) END)
		RETURNING id, uploaded_at`,
		a.SHA256, a.ContentType, a.Size, sc.UserID, s.now(), lon, lat).Scan(&id, &out.UploadedAt)
	if err != nil {
		return Attachment{}, fmt.Errorf("whistle: attachment: %w", err)
	}
	out.AttachmentRef = attachmentRef(id, a.ContentType)
	return out, nil
}

// MayAttach says whether the caller may upload: those who report clues
// or take steps do; the wall screen and party members do not.
func MayAttach(sc access.Scope) error {
	switch {
	case sc.ReadOnly():
		return fault.Errorf(ErrForbidden, "the wall screen is read-only")
	case sc.UserID == 0:
		return fault.Errorf(ErrForbidden, "uploads need a user")
	case sc.Role == access.RolePartyMember:
		return fault.Errorf(ErrForbidden, "a party member does not upload attachments")
	}
	return nil
}

// Attachment returns the upload id if the caller may see it: its
// uploader always; once on a clue, whoever sees the clue (the rule of
// Clues); once on a whistle step, whoever sees the whistle (the rule of
// whistle_summaries). Else ErrNotFound, whether or not it exists.
func (s *Store) Attachment(ctx context.Context, sc access.Scope, id int64) (Attachment, error) {
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	q := `SELECT a.id, a.content_type, a.sha256, a.size, ST_X(a.gps), ST_Y(a.gps), a.uploaded_at, a.clue_id, e.whistle_id
		FROM attachments a LEFT JOIN whistle_events e ON e.id = a.event_id
		WHERE a.id = ` + arg(id) + ` AND (a.uploaded_by = ` + arg(sc.UserID) + `
		OR EXISTS (SELECT 1 FROM clues c JOIN grids hg ON hg.id = c.grid_id WHERE c.id = a.clue_id AND ` + clueScope(sc, arg) + `)
		OR EXISTS (SELECT 1` + summaries(arg(s.now()), sc, arg) + ` WHERE w.id = e.whistle_id))`
	var a Attachment
	var ct string
	var lon, lat *float64
	err := s.pool.QueryRow(ctx, q, args...).Scan(&a.ID, &ct, &a.SHA256, &a.Size, &lon, &lat, &a.UploadedAt, &a.ClueID, &a.WhistleID)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, fault.Errorf(ErrNotFound, "no attachment %d that you may see", id)
	}
	if err != nil {
		return a, fmt.Errorf("whistle: attachment: %w", err)
	}
	a.AttachmentRef = attachmentRef(a.ID, ct)
	if lon != nil && lat != nil {
		a.GPS = &LonLat{Lon: *lon, Lat: *lat}
	}
	return a, nil
}

// checkAttachmentIDs refuses more than MaxAttachments ids or an id that
// is not positive, and drops repeats.
func checkAttachmentIDs(ids []int64) ([]int64, error) {
	if len(ids) > MaxAttachments {
		return nil, invalid("attachments", "at most %d attachments", MaxAttachments)
	}
	out := make([]int64, 0, len(ids))
	for i, id := range ids {
		if id <= 0 {
			return nil, invalid(fmt.Sprintf("attachments[%d]", i), "an attachment id is a positive number from POST /api/v1/attachments")
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// attachErrCode is the SQLSTATE clue_attach raises for an attachment that
// is not the caller's to attach.
const attachErrCode = "WG001"

// attachError turns clue_attach's refusal into ErrInvalid on attachments.
func attachError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == attachErrCode {
		return invalid("attachments", "an attachment is unknown, not uploaded by you, or already attached elsewhere")
	}
	return err
}

const clueAttachQuery = `SELECT clue_attach($1, $2, $3, $4, $5)`

// attachToStep attaches the caller's loose uploads ids to the step just
// written to whistle id's trail (its last row), in the step's transaction.
func attachToStep(ctx context.Context, tx pgx.Tx, id, userID int64, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	tag, err := tx.Exec(ctx, `UPDATE attachments SET event_id = (SELECT max(e.id) FROM whistle_events e WHERE e.whistle_id = $1)
		WHERE id = ANY($2) AND uploaded_by = $3 AND clue_id IS NULL AND event_id IS NULL`, id, ids, userID)
	if err != nil {
		return fmt.Errorf("whistle: attach: %w", err)
	}
	if tag.RowsAffected() != int64(len(ids)) {
		return invalid("attachments", "an attachment is unknown, not uploaded by you, or already attached elsewhere")
	}
	return nil
}

// attachmentsOf reads the attachments of the clues (column clue_id) or
// trail rows (event_id) ids, by owner id, oldest first.
func (s *Store) attachmentsOf(ctx context.Context, column string, ids []int64) (map[int64][]AttachmentRef, error) {
	out := map[int64][]AttachmentRef{}
	if len(ids) == 0 {
		return out, nil
	}
	var q string
	switch column {
	case "clue_id":
		q = `SELECT clue_id, id, content_type FROM attachments WHERE clue_id = ANY($1) ORDER BY id`
	case "event_id":
		q = `SELECT event_id, id, content_type FROM attachments WHERE event_id = ANY($1) ORDER BY id`
	default:
		return nil, fmt.Errorf("whistle: attachments of %q", column)
	}
	rows, err := s.pool.Query(ctx, q, ids)
	if err != nil {
		return nil, fmt.Errorf("whistle: attachments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var owner, id int64
		var ct string
		if err := rows.Scan(&owner, &id, &ct); err != nil {
			return nil, fmt.Errorf("whistle: attachments: %w", err)
		}
		out[owner] = append(out[owner], attachmentRef(id, ct))
	}
	return out, rows.Err()
}

// withAttachments fills the Attachments of clues.
func (s *Store) withAttachments(ctx context.Context, clues []Clue) error {
	ids := make([]int64, len(clues))
	for i, c := range clues {
		ids[i] = c.ID
	}
	m, err := s.attachmentsOf(ctx, "clue_id", ids)
	if err != nil {
		return err
	}
	for i := range clues {
		clues[i].Attachments = m[clues[i].ID]
		if clues[i].Attachments == nil {
			clues[i].Attachments = []AttachmentRef{}
		}
	}
	return nil
}

// Report is a clue in a grid worker's own list (我的上报), with where it
// stands: kept in the village ("village"), in an open whistle
// ("whistle"), or its whistle closed ("closed").
type Report struct {
	ID           int64           `json:"id"`
	ExternalID   string          `json:"external_id"`
	Category     string          `json:"category"`
	CategoryName string          `json:"category_name"`
	Text         string          `json:"text"`
	ReportedAt   time.Time       `json:"reported_at"`
	Village      string          `json:"village"`
	Grid         string          `json:"grid"`
	GridName     string          `json:"grid_name"`
	State        string          `json:"state"`
	WhistleID    *int64          `json:"whistle_id"`
	Status       *Status         `json:"whistle_status"`
	Attachments  []AttachmentRef `json:"attachments"`
}

// Mine lists the clues the caller reported, newest first, at most limit
// (the API checks it).
func (s *Store) Mine(ctx context.Context, sc access.Scope, limit int) ([]Report, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT c.id, c.external_id, cat.code, cat.name, c.text, c.reported_at, v.name, hg.code, hg.name, c.whistle_id, w.status,
			CASE WHEN w.id IS NULL THEN 'village' WHEN w.status = 'closed' THEN 'closed' ELSE 'whistle' END
		FROM clues c
		JOIN categories cat ON cat.id = c.category_id
		JOIN grids hg ON hg.id = c.grid_id
		JOIN grids v ON v.id = hg.parent_id
		LEFT JOIN whistles w ON w.id = c.whistle_id
		WHERE c.reported_by = $1
		ORDER BY c.reported_at DESC, c.id DESC LIMIT $2`, sc.UserID, limit)
	if err != nil {
		return nil, fmt.Errorf("whistle: mine: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Report, error) {
		var m Report
		err := r.Scan(&m.ID, &m.ExternalID, &m.Category, &m.CategoryName, &m.Text, &m.ReportedAt, &m.Village, &m.Grid, &m.GridName,
			&m.WhistleID, &m.Status, &m.State)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("whistle: mine: %w", err)
	}
	ids := make([]int64, len(out))
	for i, m := range out {
		ids[i] = m.ID
	}
	att, err := s.attachmentsOf(ctx, "clue_id", ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Attachments = att[out[i].ID]
		if out[i].Attachments == nil {
			out[i].Attachments = []AttachmentRef{}
		}
	}
	if out == nil {
		out = []Report{}
	}
	return out, nil
}

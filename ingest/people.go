package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"whistlegrid/fault"
	"whistlegrid/geo"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/xuri/excelize/v2"
)

// ErrRoster is the error of a roster that cannot be read as a whole (not
// xlsx, a missing column, no rows); Invalid.
var ErrRoster = fault.New(fault.Invalid, "ingest: roster")

// RosterColumns are the roster's columns, by their header (any order).
var RosterColumns = []string{"姓名", "手机", "角色", "单位", "网格编码", "职责", "起始日期", "结束日期"}

// Duties of the roster (职责) and the grid level each needs.
var (
	dutyCodes  = map[string]string{"包片": "zone", "包村": "village", "包户": "household", "巡查": "patrol"}
	dutyLevels = map[string]string{"zone": "zone", "village": "village", "household": "household", "patrol": "village"}
	roleCodes  = map[string]string{
		"包片领导": "zone_leader", "领导": "zone_leader", "村干部": "village_cadre", "干部": "village_cadre",
		"党员": "party_member", "网格员": "grid_worker", "单位人员": "unit_staff", "部门人员": "unit_staff",
		"zone_leader": "zone_leader", "village_cadre": "village_cadre", "party_member": "party_member",
		"grid_worker": "grid_worker", "unit_staff": "unit_staff",
	}
)

// MaxRosterRows is the most rows below the header a roster may reach
// (blank ones included); a longer sheet is refused whole, not cut.
const MaxRosterRows = 100_000

// RosterRow is one data row of a roster, read and normalised.
type RosterRow struct {
	Row      int // the spreadsheet's row number (the header is row 1)
	Name     string
	Phone    string // 11 digits
	Role     string // people.role
	Unit     string // unit code or name; only for unit_staff
	GridCode string
	Duty     string // assignments.duty
	From     time.Time
	To       *time.Time
}

// RowError is why one row of a file is bad.
type RowError struct {
	Row    int    `json:"row"`
	Column string `json:"column"`
	Reason string `json:"reason"`
}

func (e RowError) String() string { return fmt.Sprintf("row %d, %s: %s", e.Row, e.Column, e.Reason) }

var mobileRe = regexp.MustCompile(`^1[3-9][0-9]{9}$`)

// NormalizeMobile returns the 11 digits of a mainland China mobile number
// written with spaces, dashes or a +86 / 0086 prefix, and whether it is one.
func NormalizeMobile(s string) (string, bool) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '\u00a0', '\u3000', '(', ')':
			return -1
		}
		return r
	}, s)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "+86"), "0086")
	return s, mobileRe.MatchString(s)
}

// ParseRoster reads the first sheet of an xlsx roster. A file-level
// problem is an ErrRoster; rows that are bad on their own are returned as
// RowErrors beside the good ones.
func ParseRoster(r io.Reader) ([]RosterRow, []RowError, error) {
	// limits against zip bombs: a roster is small
	f, err := excelize.OpenReader(r, excelize.Options{UnzipSizeLimit: 256 << 20, UnzipXMLSizeLimit: 64 << 20})
	if err != nil {
		return nil, nil, fault.Errorf(ErrRoster, "not an xlsx workbook: %v", err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, nil, fault.Errorf(ErrRoster, "the workbook has no sheet")
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		return nil, nil, fault.Errorf(ErrRoster, "sheet %s: %v", sheets[0], err)
	}
	defer rows.Close()
	col := map[string]int{}
	var out []RosterRow
	var bad []RowError
	n := 0
	for rows.Next() {
		n++
		// blank rows count too: a stray cell far down is refused, not walked to
		if n > MaxRosterRows+1 {
			return nil, nil, fault.Errorf(ErrRoster, "the sheet runs past row %d; a roster has at most %d rows", MaxRosterRows+1, MaxRosterRows)
		}
		cells, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, nil, fault.Errorf(ErrRoster, "row %d: %v", n, err)
		}
		if n == 1 {
			for i, h := range cells {
				col[strings.TrimSpace(h)] = i
			}
			var missing []string
			for _, c := range RosterColumns {
				if _, ok := col[c]; !ok {
					missing = append(missing, c)
				}
			}
			if len(missing) > 0 {
				return nil, nil, fault.Errorf(ErrRoster, "the header row lacks the columns %s", strings.Join(missing, ", "))
			}
			continue
		}
		get := func(c string) string {
			if i := col[c]; i < len(cells) {
				return strings.TrimSpace(cells[i])
			}
			return ""
		}
		blank := true
		for _, c := range cells {
			if strings.TrimSpace(c) != "" {
				blank = false
			}
		}
		if blank {
			continue
		}
		row, errs := parseRosterRow(n, get)
		if len(errs) > 0 {
			bad = append(bad, errs...)
			continue
		}
		out = append(out, row)
	}
	if err := rows.Error(); err != nil {
		return nil, nil, fault.Errorf(ErrRoster, "%v", err)
	}
	if n == 0 {
		return nil, nil, fault.Errorf(ErrRoster, "the sheet is empty")
	}
	if len(out)+len(bad) == 0 {
		return nil, nil, fault.Errorf(ErrRoster, "the roster has no data rows")
	}
	return out, bad, nil
}

func parseRosterRow(n int, get func(string) string) (RosterRow, []RowError) {
	row := RosterRow{Row: n}
	var errs []RowError
	bad := func(c, format string, a ...any) { errs = append(errs, RowError{n, c, fmt.Sprintf(format, a...)}) }
	if row.Name = get("姓名"); row.Name == "" {
		bad("姓名", "the name is empty")
	}
	phone, ok := NormalizeMobile(get("手机"))
	if !ok {
		bad("手机", "%q is not a mainland China mobile number (11 digits, 1[3-9]…)", get("手机"))
	}
	row.Phone = phone
	if row.Role, ok = roleCodes[get("角色")]; !ok {
		bad("角色", "unknown role %q: use 包片领导, 村干部, 党员, 网格员 or 单位人员", get("角色"))
	}
	row.Unit = get("单位")
	if row.Role == "unit_staff" && row.Unit == "" {
		bad("单位", "a 单位人员 needs a unit (code or name)")
	}
	if row.GridCode = get("网格编码"); row.GridCode == "" {
		bad("网格编码", "the grid code is empty")
	}
	if row.Duty, ok = dutyCodes[get("职责")]; !ok {
		bad("职责", "unknown duty %q: use 包片, 包村, 包户 or 巡查", get("职责"))
	}
	from, err := parseRosterDate(get("起始日期"))
	if err != nil {
		bad("起始日期", "%v", err)
	}
	row.From = from
	if s := get("结束日期"); s != "" {
		to, err := parseRosterDate(s)
		switch {
		case err != nil:
			bad("结束日期", "%v", err)
		case !from.IsZero() && !to.After(from):
			bad("结束日期", "the end %s is not after the start %s", s, get("起始日期"))
		default:
			row.To = &to
		}
	}
	return row, errs
}

// parseRosterDate reads a date cell: an Excel serial number, or
// 2006-01-02, 2006/1/2, 2006.1.2 or 2006年1月2日; midnight Beijing time.
func parseRosterDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("the date is empty")
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f < 1 || f > 2958465 {
			return time.Time{}, fmt.Errorf("%q is not a date", s)
		}
		t, err := excelize.ExcelDateToTime(f, false)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not a date", s)
		}
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, geo.Beijing), nil
	}
	norm := strings.NewReplacer("年", "-", "月", "-", "日", "", "/", "-", ".", "-").Replace(s)
	t, err := time.ParseInLocation("2006-1-2", norm, geo.Beijing)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date (write 2026-01-31)", s)
	}
	return t, nil
}

// PeopleOptions tune ImportPeople.
type PeopleOptions struct {
	DryRun bool // check and report, write nothing
	// Progress, when set, is called after each row checked, with how
	// many have been.
	Progress func(rows int64)
}

// PeopleReport is the answer of ImportPeople.
type PeopleReport struct {
	Rows      int        `json:"rows"`
	New       int        `json:"new"`       // assignments added
	Updated   int        `json:"updated"`   // assignments or people changed
	Unchanged int        `json:"unchanged"` // rows already in the database as they are
	Bad       []RowError `json:"bad"`
	Applied   bool       `json:"applied"`
}

// ImportPeople reads an xlsx roster (RosterColumns) and upserts its rows.
// The key of a row is (手机, 职责, 网格编码): the person is found by mobile
// number (and added when none has it), and that person's latest assignment
// of the duty on the grid gets the row's name, role, unit and dates. Rows
// are checked first: a mobile number, a current grid at the level the
// duty needs, the unit of a 单位人员, and no two people on one grid and
// duty at the same time (in the file or against the database). If any row
// is bad, nothing is written and every bad row is reported (row, column,
// reason); otherwise all rows are written in one transaction.
func ImportPeople(ctx context.Context, pool *pgxpool.Pool, r io.Reader, opts PeopleOptions) (*PeopleReport, error) {
	rows, bad, err := ParseRoster(r)
	if err != nil {
		return nil, err
	}
	rep := &PeopleReport{Rows: len(rows) + countRows(bad), Bad: bad}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("ingest: people: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// every row that passed parsing is checked against the database and
	// the file, and applied inside the transaction; a bad one rolls it all back
	checkOverlapsInFile(rows, &rep.Bad)
	flagged := map[int]bool{}
	for _, e := range rep.Bad {
		flagged[e.Row] = true
	}
	for k, row := range rows {
		if opts.Progress != nil {
			opts.Progress(int64(k + 1))
		}
		if flagged[row.Row] {
			continue
		}
		outcome, rerr, err := applyRosterRow(ctx, tx, row)
		if err != nil {
			return nil, err
		}
		if rerr != nil {
			rep.Bad = append(rep.Bad, *rerr)
			continue
		}
		switch outcome {
		case OutcomeNew:
			rep.New++
		case OutcomeChanged:
			rep.Updated++
		default:
			rep.Unchanged++
		}
	}
	sort.SliceStable(rep.Bad, func(i, j int) bool { return rep.Bad[i].Row < rep.Bad[j].Row })
	if rep.Bad == nil {
		rep.Bad = []RowError{}
	}
	if len(rep.Bad) > 0 || opts.DryRun || rep.New+rep.Updated == 0 {
		return rep, nil
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("ingest: people: %w", err)
	}
	rep.Applied = true
	return rep, nil
}

func countRows(errs []RowError) int {
	seen := map[int]bool{}
	for _, e := range errs {
		seen[e.Row] = true
	}
	return len(seen)
}

// checkOverlapsInFile reports rows that put two different people on the
// same grid and duty at once.
func checkOverlapsInFile(rows []RosterRow, bad *[]RowError) {
	type key struct{ grid, duty string }
	by := map[key][]RosterRow{}
	for _, r := range rows {
		k := key{r.GridCode, r.Duty}
		for _, o := range by[k] {
			if o.Phone != r.Phone && overlaps(o.From, o.To, r.From, r.To) {
				*bad = append(*bad, RowError{r.Row, "职责", fmt.Sprintf("row %d already puts %s on %s of grid %s at the same time", o.Row, o.Name, dutyName(r.Duty), r.GridCode)})
				break
			}
		}
		by[k] = append(by[k], r)
	}
}

func overlaps(af time.Time, at *time.Time, bf time.Time, bt *time.Time) bool {
	return (at == nil || bf.Before(*at)) && (bt == nil || af.Before(*bt))
}

func dutyName(d string) string {
	for k, v := range dutyCodes {
		if v == d {
			return k
		}
	}
	return d
}

const rosterGrid = `SELECT id, level FROM grids WHERE code = $1 AND valid_to IS NULL`

const rosterConflict = `
SELECT pe.name, coalesce(pe.phone, '')
FROM assignments a JOIN people pe ON pe.id = a.person_id
WHERE a.grid_id = $1 AND a.duty = $2 AND a.id <> $3
  AND tstzrange(a.valid_from, a.valid_to) && tstzrange($4, $5)
LIMIT 1`

// applyRosterRow checks row against the database and writes it in tx.
func applyRosterRow(ctx context.Context, tx pgx.Tx, row RosterRow) (string, *RowError, error) {
	bad := func(c, format string, a ...any) (string, *RowError, error) {
		return "", &RowError{row.Row, c, fmt.Sprintf(format, a...)}, nil
	}
	var gridID int64
	var level string
	err := tx.QueryRow(ctx, rosterGrid, row.GridCode).Scan(&gridID, &level)
	if errors.Is(err, pgx.ErrNoRows) {
		return bad("网格编码", "no current grid %s", row.GridCode)
	}
	if err != nil {
		return "", nil, fmt.Errorf("ingest: people: %w", err)
	}
	if want := dutyLevels[row.Duty]; level != want {
		return bad("网格编码", "%s needs a %s grid; %s is a %s grid", dutyName(row.Duty), want, row.GridCode, level)
	}
	var unitID *int64
	if row.Role == "unit_staff" {
		var id int64
		err := tx.QueryRow(ctx, `SELECT id FROM units WHERE code = $1 OR name = $1`, row.Unit).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return bad("单位", "no unit %q (give its code or name)", row.Unit)
		}
		if err != nil {
			return "", nil, fmt.Errorf("ingest: people: %w", err)
		}
		unitID = &id
	} else if row.Unit != "" {
		return bad("单位", "only a 单位人员 belongs to a unit")
	}
	// the person, by mobile number
	ids, err := queryIDs(ctx, tx, `SELECT id FROM people WHERE phone = $1 ORDER BY id`, row.Phone)
	if err != nil {
		return "", nil, err
	}
	if len(ids) > 1 {
		return bad("手机", "%d people already have this number; the roster cannot tell which", len(ids))
	}
	outcome := OutcomeUnchanged
	var personID, assignID int64
	if len(ids) == 1 {
		personID = ids[0]
		tag, err := tx.Exec(ctx, `UPDATE people SET name = $2, role = $3, unit_id = $4 WHERE id = $1 AND (name, role, unit_id) IS DISTINCT FROM ($2, $3, $4)`,
			personID, row.Name, row.Role, unitID)
		if err != nil {
			return "", nil, fmt.Errorf("ingest: people: %w", err)
		}
		if tag.RowsAffected() > 0 {
			outcome = OutcomeChanged
		}
		a, err := queryIDs(ctx, tx, `SELECT id FROM assignments WHERE person_id = $1 AND grid_id = $2 AND duty = $3 ORDER BY valid_from DESC LIMIT 1`, personID, gridID, row.Duty)
		if err != nil {
			return "", nil, err
		}
		if len(a) == 1 {
			assignID = a[0]
		}
	} else {
		if err := tx.QueryRow(ctx, `INSERT INTO people (name, role, phone, unit_id) VALUES ($1, $2, $3, $4) RETURNING id`,
			row.Name, row.Role, row.Phone, unitID).Scan(&personID); err != nil {
			return "", nil, fmt.Errorf("ingest: people: %w", err)
		}
	}
	var who, phone string
	err = tx.QueryRow(ctx, rosterConflict, gridID, row.Duty, assignID, row.From, row.To).Scan(&who, &phone)
	if err == nil {
		return bad("职责", "%s is already on %s of grid %s at that time", who, dutyName(row.Duty), row.GridCode)
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return "", nil, fmt.Errorf("ingest: people: %w", err)
	}
	if assignID == 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO assignments (grid_id, grid_level, person_id, duty, valid_from, valid_to) VALUES ($1, $2, $3, $4, $5, $6)`,
			gridID, level, personID, row.Duty, row.From, row.To); err != nil {
			return "", nil, fmt.Errorf("ingest: people: row %d: %w", row.Row, err)
		}
		return OutcomeNew, nil, nil
	}
	tag, err := tx.Exec(ctx, `UPDATE assignments SET valid_from = $2, valid_to = $3 WHERE id = $1 AND (valid_from, valid_to) IS DISTINCT FROM ($2, $3)`,
		assignID, row.From, row.To)
	if err != nil {
		return "", nil, fmt.Errorf("ingest: people: row %d: %w", row.Row, err)
	}
	if tag.RowsAffected() > 0 {
		outcome = OutcomeChanged
	}
	return outcome, nil, nil
}

func queryIDs(ctx context.Context, tx pgx.Tx, q string, args ...any) ([]int64, error) {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("ingest: people: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("ingest: people: %w", err)
	}
	return ids, nil
}

// WritePeopleReport prints rep for a terminal.
func WritePeopleReport(w io.Writer, rep *PeopleReport) {
	for _, e := range rep.Bad {
		fmt.Fprintln(w, e.String())
	}
	state := "written"
	switch {
	case len(rep.Bad) > 0:
		state = "nothing written: fix the bad rows and import the file again"
	case !rep.Applied:
		state = "nothing written"
	}
	fmt.Fprintf(w, "rows %d: new %d, updated %d, unchanged %d, bad %d (%s)\n", rep.Rows, rep.New, rep.Updated, rep.Unchanged, countRows(rep.Bad), state)
}

// People is ImportPeople on the importer's database: the browser's
// upload of a roster (POST /api/v1/imports, kind people).
func (im *Importer) People(ctx context.Context, r io.Reader, opts PeopleOptions) (*PeopleReport, error) {
	return ImportPeople(ctx, im.pool, r, opts)
}

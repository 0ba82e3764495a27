// Package ledger is 整改台账, the rectification ledger: the items the
// district keeps for townships and villages with problems, each with its
// measures and their deadlines, the responsible township or unit and the
// levels that supervise it (三级督办: township → district department →
// command center).
//
// The life of an item:
//
//	created (open, level township)
//	  → progress entries from the responsible party (text, attachment ids)
//	  → a measure passes its deadline: the sweep (Sweep) raises the item one
//	    level, once per level, with a notice to the responsible party and
//	    to the new level (ledger_notices, and a ledger.rose event on the
//	    live stream)
//	  → 销账: the responsible party asks with evidence (writeoff_requested)
//	  → the level above approves (closed) or rejects with a reason (open)
//
// Who may do what is Authorize (pure, one table in ledger_test.go); who
// may see an item is the SQL function ledger_visible (migration 00013),
// which every read selects through. Review answers the monthly and
// quarterly review (items due, closed, overdue, rejected in a period) and
// ReviewXLSX writes it as a spreadsheet.
package ledger

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"whistlegrid/access"
	"whistlegrid/fault"
	"whistlegrid/geo"
)

// The sentinels of the package, one per kind it returns.
var (
	ErrInvalid   = fault.New(fault.Invalid, "ledger: invalid")
	ErrNotFound  = fault.New(fault.NotFound, "ledger: not found")
	ErrForbidden = fault.New(fault.Forbidden, "ledger: forbidden")
	ErrConflict  = fault.New(fault.Conflict, "ledger: conflict")
)

// Sources of an item: where the problem was found.
var Sources = []string{"inspection", "assessment", "hotspot", "complaints", "person"}

// SourceNames are the sources in Chinese, for pages and the spreadsheet.
var SourceNames = map[string]string{
	"inspection": "督查检查", "assessment": "考核评价", "hotspot": "热点研判", "complaints": "反复投诉", "person": "个人反映",
}

// ValidSource reports whether s is one of Sources.
func ValidSource(s string) bool {
	_, ok := SourceNames[s]
	return ok
}

// Levels of supervision, lowest first.
const (
	LevelTownship   = "township"
	LevelDepartment = "department"
	LevelCommand    = "command"
)

// LevelNames are the levels in Chinese.
var LevelNames = map[string]string{LevelTownship: "乡镇督办", LevelDepartment: "区级部门督办", LevelCommand: "指挥中心督办"}

// NextLevel is the level above l, and false at the top.
func NextLevel(l string) (string, bool) {
	switch l {
	case LevelTownship:
		return LevelDepartment, true
	case LevelDepartment:
		return LevelCommand, true
	}
	return l, false
}

// Statuses of an item.
const (
	StatusOpen      = "open"
	StatusRequested = "writeoff_requested"
	StatusClosed    = "closed"
)

// StatusNames are the statuses in Chinese.
var StatusNames = map[string]string{StatusOpen: "整改中", StatusRequested: "申请销账", StatusClosed: "已销账"}

// LateAfter is how long after its deadline a measure still not done
// raises its item a second time (from the department to the command
// center), when no other measure has done so.
const LateAfter = 15 * 24 * time.Hour

// Limits of the fields, in characters.
const (
	MaxTitle    = 200
	MaxProblem  = 4000
	MaxMeasure  = 1000
	MaxNote     = 4000
	MaxMeasures = 20
	MaxAttach   = 20
)

// Action is a change to the ledger that Authorize decides on.
type Action string

// The actions.
const (
	ActCreate   Action = "create"   // record an item
	ActEdit     Action = "edit"     // change title, problem, add measures, supervising unit
	ActProgress Action = "progress" // add a progress entry, mark measures done
	ActWriteoff Action = "writeoff" // ask for 销账, with evidence
	ActReview   Action = "review"   // approve or reject a 销账
)

// Actions lists every action, for tests that walk them all.
func Actions() []Action {
	return []Action{ActCreate, ActEdit, ActProgress, ActWriteoff, ActReview}
}

// Party is who an item concerns, as Authorize needs it.
type Party struct {
	Grid                string // the item's grid code
	ResponsibleTownship string // township code, "" when a unit is responsible
	ResponsibleUnit     int64  // unit id, 0 when a township is
	SupervisingUnit     int64  // the district department that supervises it, 0 if none
}

// responsible reports whether the caller is the item's responsible party.
func (p Party) responsible(sc access.Scope) bool {
	switch sc.Role {
	case access.RoleTownship:
		return p.ResponsibleTownship != "" && p.ResponsibleTownship == sc.GridCode
	case access.RoleUnit:
		return p.ResponsibleUnit != 0 && p.ResponsibleUnit == sc.UnitID
	}
	return false
}

// Authorize decides whether the caller may take action a on an item that
// concerns p (for ActCreate, the item to be recorded). The command center
// records, edits and reviews anywhere, and may add progress; a township
// records items in its own jurisdiction that it or a unit is responsible
// for; the responsible party adds progress and asks for 销账; the level
// above it reviews: the command center, or the supervising department
// when it is not itself responsible. The wall screen, grid workers and
// party members only read.
func Authorize(sc access.Scope, a Action, p Party) error {
	if sc.ReadOnly() {
		return fault.Errorf(ErrForbidden, "the wall screen is read-only")
	}
	resp := p.responsible(sc)
	switch a {
	case ActCreate:
		switch {
		case sc.Role == access.RoleCommand:
			return nil
		case sc.Role == access.RoleTownship && sc.Covers(p.Grid) && (p.ResponsibleTownship == "" || p.ResponsibleTownship == sc.GridCode):
			return nil
		case sc.Role == access.RoleTownship:
			return fault.Errorf(ErrForbidden, "a township records items only in its own jurisdiction, for itself or a unit")
		}
	case ActEdit:
		if sc.Role == access.RoleCommand {
			return nil
		}
	case ActProgress:
		if sc.Role == access.RoleCommand || resp {
			return nil
		}
		return fault.Errorf(ErrForbidden, "only the responsible party (or the command center) adds progress")
	case ActWriteoff:
		if resp {
			return nil
		}
		return fault.Errorf(ErrForbidden, "only the responsible party asks for 销账")
	case ActReview:
		if resp {
			return fault.Errorf(ErrForbidden, "the responsible party may not review its own 销账")
		}
		if sc.Role == access.RoleCommand || (sc.Role == access.RoleUnit && p.SupervisingUnit != 0 && p.SupervisingUnit == sc.UnitID) {
			return nil
		}
		return fault.Errorf(ErrForbidden, "only the level above (the command center or the supervising department) reviews 销账")
	default:
		return fault.Errorf(ErrInvalid, "unknown action %q", a)
	}
	return fault.Errorf(ErrForbidden, "a %s may not %s ledger items", sc.Role, a)
}

// Period is a review period: a month (2026-11) or a quarter (2026-Q4),
// From inclusive, To exclusive, Beijing time.
type Period struct {
	Name     string
	From, To time.Time
}

var periodRe = regexp.MustCompile(`^([0-9]{4})-(?:([0-9]{2})|Q([1-4]))$`)

// ParsePeriod reads "2026-11" or "2026-Q4".
func ParsePeriod(s string) (Period, error) {
	m := periodRe.FindStringSubmatch(s)
	if m == nil {
		return Period{}, fault.FieldErrorf(ErrInvalid, "period", "period must be a month YYYY-MM or a quarter YYYY-Qn, e.g. 2026-11 or 2026-Q4")
	}
	y, _ := strconv.Atoi(m[1])
	if y < 2000 || y > 2100 {
		return Period{}, fault.FieldErrorf(ErrInvalid, "period", "period's year must be between 2000 and 2100")
	}
	var from time.Time
	months := 1
	if m[2] != "" {
		mo, _ := strconv.Atoi(m[2])
		if mo < 1 || mo > 12 {
			return Period{}, fault.FieldErrorf(ErrInvalid, "period", "period's month must be 01 to 12")
		}
		from = time.Date(y, time.Month(mo), 1, 0, 0, 0, 0, geo.Beijing)
	} else {
		q, _ := strconv.Atoi(m[3])
		from = time.Date(y, time.Month(3*(q-1)+1), 1, 0, 0, 0, 0, geo.Beijing)
		months = 3
	}
	return Period{Name: s, From: from, To: from.AddDate(0, months, 0)}, nil
}

// Title is the period in Chinese: 2026年11月, 2026年第四季度.
func (p Period) Title() string {
	if p.To.Sub(p.From) > 40*24*time.Hour {
		q := (int(p.From.Month())-1)/3 + 1
		return fmt.Sprintf("%d年第%s季度", p.From.Year(), []string{"一", "二", "三", "四"}[q-1])
	}
	return fmt.Sprintf("%d年%d月", p.From.Year(), p.From.Month())
}

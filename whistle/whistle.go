// Package whistle runs 吹哨 → 报到 → 办结 → 评价: clue intake and placement,
// the rules that keep a clue in its village or raise a whistle (or join an
// open one: 哨随事动), the whistle's lifecycle with the actor checked at every
// step, deadlines and their sweep, and the reads. The pure decisions (who may
// take which step, which step is allowed from which status, in steps.go;
// the status it leads to, the deadlines, the escalations, in rules.go) are
// tested without a database, and the demo history calls them too.
package whistle

import (
	"whistlegrid/fault"
)

// Errors: the sentinels of the fault.Errors the package returns, each
// with its reason (and, for ErrInvalid, the field at fault). The API maps
// their kinds to statuses: ErrNotFound 404, ErrForbidden 403, ErrConflict
// 409, ErrInvalid 422.
var (
	ErrNotFound  = fault.New(fault.NotFound, "whistle: not found")
	ErrForbidden = fault.New(fault.Forbidden, "whistle: forbidden")
	ErrConflict  = fault.New(fault.Conflict, "whistle: not allowed now")
	ErrInvalid   = fault.New(fault.Invalid, "whistle: invalid")
)

// Grade is a whistle's grade: 普通哨, 重点哨, 疑难哨.
type Grade string

// The grades, lowest first.
const (
	Routine  Grade = "routine"
	Priority Grade = "priority"
	Hard     Grade = "hard"
)

// Rank orders grades: 1 routine, 2 priority, 3 hard; 0 for an unknown grade.
func (g Grade) Rank() int {
	switch g {
	case Routine:
		return 1
	case Priority:
		return 2
	case Hard:
		return 3
	}
	return 0
}

// Next is the grade one step up; hard stays hard.
func (g Grade) Next() Grade {
	switch g {
	case Routine:
		return Priority
	default:
		return Hard
	}
}

// Status is where a whistle is in its lifecycle.
type Status string

// The statuses: raised → in_progress (a unit reported in) →
// awaiting_approval (every lead unit resolved) → closed; a return takes
// awaiting_approval back to in_progress.
const (
	Raised           Status = "raised"
	InProgress       Status = "in_progress"
	AwaitingApproval Status = "awaiting_approval"
	Closed           Status = "closed"
)

// Outcome is what a unit, or on close the whistle, achieved.
type Outcome string

// The outcomes.
const (
	Resolved   Outcome = "resolved"
	Partly     Outcome = "partly"
	Unresolved Outcome = "unresolved"
)

// Valid reports whether o is an outcome.
func (o Outcome) Valid() bool { return o == Resolved || o == Partly || o == Unresolved }

// ValidSource reports whether s is a clue source: patrol, hotline, app,
// forum, hotspot, sensor, meeting (a matter raised at a villagers' meeting).
func ValidSource(s string) bool {
	switch s {
	case "patrol", "hotline", "app", "forum", "hotspot", "sensor", "meeting":
		return true
	}
	return false
}

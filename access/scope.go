// Package access is who a caller is and what they may see: the roles, the
// jurisdiction as grid-code prefixes (one SQL clause scopes every query),
// and the masking of personal data. It holds no database and imports no
// project package.
package access

import "strings"

// Role is what a caller is to the platform. It decides the jurisdiction and
// which personal data the caller may see.
type Role string

// The roles, each with its jurisdiction (README: Jurisdiction).
const (
	RoleCommand     Role = "command"      // command center: the whole district
	RoleTownship    Role = "township"     // a township's operators: their township
	RoleUnit        Role = "unit"         // a department, station or utility: the whistles it is summoned to
	RoleGridWorker  Role = "grid_worker"  // a village's grid worker: their village
	RolePartyMember Role = "party_member" // a party member: their household grid
	RoleScreen      Role = "screen"       // the wall screen: read-only, the whole district, masked
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	switch r {
	case RoleCommand, RoleTownship, RoleUnit, RoleGridWorker, RolePartyMember, RoleScreen:
		return true
	}
	return false
}

// Duty is a task an account is given on top of its role.
type Duty string

// The duties.
const (
	// DutyCallback is the command center's callback desk (回访席): it calls
	// residents back after their cases close, and is the one command-center
	// account that sees their names and phones (SeesReporter).
	DutyCallback Duty = "callback"
)

// Valid reports whether d is a known duty for an account of role r: the
// callback desk is a command-center account.
func (d Duty) Valid(r Role) bool { return d == DutyCallback && r == RoleCommand }

// Scope is a caller's jurisdiction, the one mechanism every query uses to
// limit rows in SQL. Grid codes nest by prefix (a household grid's code
// starts with its village's, a village's and a zone's with their
// township's), so a jurisdiction is a set of code prefixes: nil means the
// whole district.
type Scope struct {
	UserID   int64
	Username string
	Role     Role
	GridCode string // the grid the user belongs to (district, township, village or household grid)
	UnitID   int64  // for unit users
	UnitCode string
	// Townships are the township codes a unit serves; nil for a
	// district-wide department.
	Townships []string
	// Duties are the account's duties beyond its role (DutyCallback).
	Duties []Duty
}

// Has reports whether the account has duty d.
func (s Scope) Has(d Duty) bool {
	for _, x := range s.Duties {
		if x == d {
			return true
		}
	}
	return false
}

// Prefixes returns the grid-code prefixes of the jurisdiction, nil for the
// whole district. Bind it as a text[] and filter with
// `($1::text[] IS NULL OR code LIKE ANY($1))`, see PrefixClause.
func (s Scope) Prefixes() []string {
	switch s.Role {
	case RoleCommand, RoleScreen:
		return nil
	case RoleUnit:
		if s.Townships == nil {
			return nil
		}
		out := make([]string, len(s.Townships))
		for i, t := range s.Townships {
			out[i] = CodePrefix(t)
		}
		return out
	default:
		if s.GridCode == "" {
			return []string{} // matches nothing
		}
		return []string{CodePrefix(s.GridCode)}
	}
}

// PrefixClause is the SQL condition limiting a grid-code column to the
// scope bound at placeholder n (a text[] from Prefixes).
func PrefixClause(column, placeholder string) string {
	return "(" + placeholder + "::text[] IS NULL OR " + column + " LIKE ANY(" + placeholder + "::text[]))"
}

// Covers reports whether a grid code lies in the jurisdiction, the same rule
// as the SQL clause over Prefixes (a LIKE of the escaped code and '%' is a
// prefix test on the code itself), for checks made in Go. It is the rule
// GET /grids/{code} refuses a grid by, and allocates nothing: /place asks
// it for every person on duty of every point of a batch.
func (s Scope) Covers(code string) bool {
	switch s.Role {
	case RoleCommand, RoleScreen:
		return true
	case RoleUnit:
		if s.Townships == nil {
			return true
		}
		for _, t := range s.Townships {
			if strings.HasPrefix(code, t) {
				return true
			}
		}
		return false
	}
	return s.GridCode != "" && strings.HasPrefix(code, s.GridCode)
}

// SeesWhistle is the jurisdiction rule over one whistle, or an event about
// one, for rows already in memory; whistle_summaries (migration 00005) is
// the same rule in SQL. The command center and the wall screen see every
// whistle, a township those of its township, a unit those it is summoned
// to (summoned), a grid worker or party member those whose grid lies in
// its grid. township and grid are the whistle's codes ("" when unknown).
func (s Scope) SeesWhistle(township, grid string, summoned bool) bool {
	switch s.Role {
	case RoleCommand, RoleScreen:
		return true
	case RoleTownship:
		return township != "" && s.GridCode != "" && strings.HasPrefix(township, s.GridCode)
	case RoleUnit:
		return summoned
	case RoleGridWorker, RolePartyMember:
		return grid != "" && s.GridCode != "" && strings.HasPrefix(grid, s.GridCode)
	}
	return false
}

// SeesDutyPhones reports whether the caller may see the phone numbers of
// the people on duty: those who dispatch or go on site do; the wall screen
// and party members see them masked.
func (s Scope) SeesDutyPhones() bool {
	switch s.Role {
	case RoleCommand, RoleTownship, RoleGridWorker, RoleUnit:
		return true
	}
	return false
}

// SeesResidents reports whether the caller may see residents' names and
// phones: only those who look after the households in their own grid.
func (s Scope) SeesResidents() bool {
	switch s.Role {
	case RoleTownship, RoleGridWorker, RolePartyMember:
		return true
	}
	return false
}

// SeesReporter reports whether the caller may see the name and phone of
// the person who reported a clue placed in the household grid grid, the
// one rule of REST (whistle), of the live stream (live) and of the board's
// screening (board) alike: those who call a reporter back see it, each
// inside their own grids — the command center's callback desk
// (DutyCallback) anywhere, a township operator in its township, a grid
// worker in its village (a whistle joins clues across villages; the
// reporters of the other villages stay masked). The command center's
// other accounts, party members, units and the wall screen see reporters
// masked (Reporter). An unknown grid ("") is seen by the callback desk
// only.
func (s Scope) SeesReporter(grid string) bool {
	switch s.Role {
	case RoleCommand:
		return s.Has(DutyCallback)
	case RoleTownship, RoleGridWorker:
		return grid != "" && s.Covers(grid)
	}
	return false
}

// Reporter returns a clue reporter's name and phone as the caller may see
// them: as they are when SeesReporter(grid), else masked (MaskName,
// MaskPhone: 李**, 139****4321).
func (s Scope) Reporter(grid, name, phone string) (string, string) {
	if s.SeesReporter(grid) {
		return name, phone
	}
	return MaskName(name), MaskPhone(phone)
}

// ReadOnly reports whether the caller may change nothing.
func (s Scope) ReadOnly() bool { return s.Role == RoleScreen }

// CodePrefix is the LIKE pattern matching code and every grid below it.
func CodePrefix(code string) string { return likeEscape(code) + "%" }

func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// MaskPhone shows the first 3 and last 4 digits of a phone: 138****5678.
func MaskPhone(p string) string {
	r := []rune(p)
	if len(r) <= 7 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:3]) + strings.Repeat("*", len(r)-7) + string(r[len(r)-4:])
}

// MaskName keeps a name's first character: 王** for 王小明.
func MaskName(n string) string {
	r := []rune(n)
	if len(r) == 0 {
		return ""
	}
	return string(r[:1]) + strings.Repeat("*", len(r)-1)
}

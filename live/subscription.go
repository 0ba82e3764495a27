package live

import (
	"context"
	"regexp"
	"slices"
	"strings"

	"whistlegrid/access"
	"whistlegrid/fault"
)

// FromNow is the Since of a client that wants only events written after it
// connects (no resume).
const FromNow int64 = -1

// ErrInvalid is returned by the parsers for a malformed subscription.
var ErrInvalid = fault.New(fault.Invalid, "live: invalid")

// Subscription is what one client asked for and may see.
//
// An event reaches the client when all of these hold:
//   - its kind matches Kinds (empty: every kind); an entry matches a kind
//     exactly or as a dotted prefix: "whistle." and "whistle" both match
//     "whistle.raised";
//   - its township is in Townships (empty: every township);
//   - it lies in the caller's jurisdiction (Visible).
type Subscription struct {
	Scope     access.Scope
	Since     int64 // resume after this seq; FromNow for no resume
	Townships []string
	Kinds     []string

	// Token is the SHA-256 of the bearer token the client connected with:
	// a revocation notified on TokenChannel with its hash closes the
	// session with CloseRevoked, on every instance. Zero: none.
	Token [32]byte
	// Check asks whether the token is still valid; the session calls it
	// every Options.TokenCheck and after the hub's listening connection
	// was lost (notifications may have been missed). An error of kind
	// fault.Unauthorized (revoked, expired, user disabled) closes the
	// session with CloseRevoked; any other error keeps it open (the
	// database may be away for a moment). nil: never checked.
	Check func(context.Context) error
}

// Match reports whether the event reaches a client with this subscription.
func (s *Subscription) Match(e *Event) bool {
	if len(s.Kinds) > 0 && !kindMatches(s.Kinds, e.Kind) {
		return false
	}
	if len(s.Townships) > 0 && !slices.Contains(s.Townships, e.Township) {
		return false
	}
	return Visible(s.Scope, e)
}

// Visible is the jurisdiction rule of the live stream:
//   - command and screen see every event;
//   - a township user the events of its own township (events.township);
//   - a unit user the events whose payload names its unit ("unit":{"code"})
//     or whose whistle (payload whistle.id, or the whistle of payload
//     clue.id) it is summoned to; summons are looked up when the hub reads
//     the event, in the same query;
//   - a grid worker or party member the events whose grid lies in its grid
//     (code prefix): the grid is the payload's whistle.grid if present, else
//     the grid of the event's whistle, else the grid of its clue. An event
//     with no grid is not shown to them: the township alone is not enough.
func Visible(sc access.Scope, e *Event) bool {
	unit := sc.Role == access.RoleUnit &&
		((sc.UnitCode != "" && e.unitCode == sc.UnitCode) || (sc.UnitID != 0 && slices.Contains(e.units, sc.UnitID)))
	return sc.SeesWhistle(e.Township, e.grid, unit)
}

func kindMatches(filters []string, kind string) bool {
	for _, f := range filters {
		if f == kind {
			return true
		}
		prefix := f
		if !strings.HasSuffix(prefix, ".") {
			prefix += "."
		}
		if strings.HasPrefix(kind, prefix) {
			return true
		}
	}
	return false
}

var (
	kindRe     = regexp.MustCompile(`^[a-z_]+(\.[a-z_]+)*\.?$`)
	townshipRe = regexp.MustCompile(`^[0-9]{9}$`)
)

// ParseKinds reads a comma-separated kinds list (kinds=whistle.,clue.received).
func ParseKinds(s string) ([]string, error) {
	out := splitList(s)
	for _, k := range out {
		if !kindRe.MatchString(k) {
			return nil, fault.FieldErrorf(ErrInvalid, "kinds", "kind %q is not a kind or a dotted prefix (e.g. \"whistle.\")", k)
		}
	}
	return out, nil
}

// ParseTownships reads a comma-separated list of 9-digit township codes.
func ParseTownships(s string) ([]string, error) {
	out := splitList(s)
	for _, t := range out {
		if !townshipRe.MatchString(t) {
			return nil, fault.FieldErrorf(ErrInvalid, "township", "township %q is not a 9-digit township code", t)
		}
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

package live

import (
	"bytes"
	"encoding/json"
	"sync"
	"time"

	"whistlegrid/access"
)

// Event is one row of the events outbox as the hub carries it. Events are
// immutable once read; the frames a client receives are built from them
// once per masking variant and shared by every client of that variant.
type Event struct {
	Seq      int64           // the outbox seq: the order of delivery and the resume point
	At       time.Time       // when the change was written
	Kind     string          // e.g. whistle.raised, clue.received
	Township string          // township code, "" when the change belongs to none
	Payload  json.RawMessage // the row's payload as written, unmasked

	// Jurisdiction keys, looked up once when the hub reads the row (see
	// readEvents): the grid code of the event's whistle or clue, the
	// payload's unit code, and the units summoned to the event's whistle at
	// read time.
	grid     string
	unitCode string
	units    []int64
	// reporterGrid is the household grid of the clue the payload carries
	// (payload clue.grid), "" when none: whose reporter_name and
	// reporter_phone are shown to whom is access.Scope.SeesReporter's rule
	// over this grid, the one REST applies (see variant).
	reporterGrid string

	once   [variants]sync.Once
	frames [variants][]byte
}

// The masking variants: which personal data a client may see.
const (
	seesDuty      = 1 << iota // the on-duty person's name and phone (person, phone)
	seesResidents             // residents' names and phones (contact_*)
	seesReporter              // the reporter of the event's clue (reporter_*), see Event.reporterGrid
	variants      = 8
)

// variantOf is the masking variant of a caller for the personal data that
// depends on its role alone: access.Scope decides who sees duty phones and
// residents; the wall screen sees neither. See variant for the reporter.
func variantOf(sc access.Scope) int {
	v := 0
	if sc.SeesDutyPhones() {
		v |= seesDuty
	}
	if sc.SeesResidents() {
		v |= seesResidents
	}
	return v
}

// variant is the masking variant of event e for a caller whose
// variantOf is base: base, and seesReporter when access.Scope.SeesReporter
// shows the caller the reporter of e's clue, the rule REST masks clues by
// (whistle), so that both show a reporter the same way.
func variant(sc access.Scope, base int, e *Event) int {
	if sc.SeesReporter(e.reporterGrid) {
		return base | seesReporter
	}
	return base
}

// wire is the JSON text frame a client receives, one per event.
type wire struct {
	Seq      int64           `json:"seq"`
	Kind     string          `json:"kind"`
	At       time.Time       `json:"at"`
	Township string          `json:"township"`
	Data     json.RawMessage `json:"data"`
}

// frame returns the event as the JSON text frame for masking variant v,
// built on first use.
func (e *Event) frame(v int) []byte {
	e.once[v].Do(func() {
		data := maskPayload(e.Payload, v, e.reporterGrid)
		b, err := json.Marshal(wire{Seq: e.Seq, Kind: e.Kind, At: e.At, Township: e.Township, Data: data})
		if err != nil { // a payload that is not JSON: send it as null rather than nothing
			b, _ = json.Marshal(wire{Seq: e.Seq, Kind: e.Kind, At: e.At, Township: e.Township, Data: json.RawMessage("null")})
		}
		e.frames[v] = b
	})
	return e.frames[v]
}

// personal names the payload keys that hold personal data, with the
// variant bit that may see them and whether they hold a phone.
func personal(key string) (bit int, phone, ok bool) {
	switch key {
	case "person":
		return seesDuty, false, true
	case "phone":
		return seesDuty, true, true
	case "contact_name":
		return seesResidents, false, true
	case "contact_phone":
		return seesResidents, true, true
	case "reporter_name":
		return seesReporter, false, true
	case "reporter_phone":
		return seesReporter, true, true
	}
	return 0, false, false
}

// maskPayload masks, at any depth of the payload, the string values of the
// personal keys variant v may not see: phones with access.MaskPhone
// (138****5678), names with access.MaskName (王**). A reporter is shown
// (seesReporter) only in an object whose grid is reporterGrid, the grid
// the variant was chosen for; any other reporter is masked. A payload
// without such keys is returned as it is.
func maskPayload(p json.RawMessage, v int, reporterGrid string) json.RawMessage {
	if v == seesDuty|seesResidents|seesReporter && !bytes.Contains(p, []byte(`"reporter_`)) {
		return p
	}
	found := false
	for _, k := range [...]string{`"person"`, `"phone"`, `"reporter_name"`, `"contact_name"`, `"reporter_phone"`, `"contact_phone"`} {
		if bytes.Contains(p, []byte(k)) {
			found = true
			break
		}
	}
	if !found {
		return p
	}
	d := json.NewDecoder(bytes.NewReader(p))
	d.UseNumber()
	var doc any
	if err := d.Decode(&doc); err != nil {
		return p
	}
	b, err := json.Marshal(maskValue(doc, v, reporterGrid))
	if err != nil {
		return p
	}
	return b
}

func maskValue(x any, v int, reporterGrid string) any {
	switch t := x.(type) {
	case map[string]any:
		ov := v // the bits that hold in this object
		if g, _ := t["grid"].(string); g != reporterGrid {
			ov &^= seesReporter
		}
		for k, val := range t {
			if s, isString := val.(string); isString {
				if bit, phone, ok := personal(k); ok && ov&bit == 0 {
					if phone {
						t[k] = access.MaskPhone(s)
					} else {
						t[k] = access.MaskName(s)
					}
				}
				continue
			}
			t[k] = maskValue(val, v, reporterGrid)
		}
	case []any:
		for i := range t {
			t[i] = maskValue(t[i], v, reporterGrid)
		}
	}
	return x
}

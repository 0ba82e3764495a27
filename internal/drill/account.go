package drill

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Result is what a drill measured. Times are seconds after the kill; -1
// when the thing never happened within Config.Timeout.
type Result struct {
	Acked       int            `json:"acked"`            // clues answered 201 or 200
	Acked201    int            `json:"acked_201"`        // of which 201: stored by that request
	Acked200    int            `json:"acked_200"`        // of which 200: stored by an earlier try whose answer was lost
	Lost        int            `json:"lost"`             // acknowledged and not in the database after the drill
	Duplicates  int            `json:"duplicates"`       // see intakeTally.duplicates
	WriteGapS   float64        `json:"write_gap_s"`      // from the kill to the first 201 of a request sent after it
	WSMissing   int            `json:"ws_missing_seq"`   // committed seqs a websocket client never received
	WSDuplicate int            `json:"ws_duplicate_seq"` // seqs a client received more than once
	WSPhantom   int            `json:"ws_phantom_seq"`   // seqs a client received that events lacks, or holds for another event
	WSDisorder  int            `json:"ws_out_of_order"`  // seqs received after a higher one
	FailoverS   float64        `json:"failover_s"`       // to the standby running as the leader
	RoutedS     float64        `json:"routed_s"`         // to HAProxy counting the new primary up and the old one down
	RejoinS     float64        `json:"rejoin_s"`         // to the old primary streaming from the new one
	SyncS       float64        `json:"sync_s"`           // to the old primary being the synchronous standby
	Requests    int            `json:"requests"`
	Status      map[string]int `json:"status"` // answers by HTTP status; "none": no answer
	Unacked     int            `json:"unacked"`
	Clients     int            `json:"clients"`
	Streams     int            `json:"ws_clients"`
	Replication string         `json:"replication"` // "sync", or "async" in a control run
	Targets     bool           `json:"targets_met"`
	Notes       []string       `json:"notes,omitempty"`

	// for the table
	runID, oldPrimary, newPrimary      string
	killedPID                          int
	rate                               float64
	syncState                          string
	perServer                          map[string]serverTally
	storedPrimary, storedStandby       int
	rows, dupRows, extra201, dupEvents int
	streams                            []streamTally
}

// targets are the drill's pass marks, in the order the table prints them.
func (r *Result) targets() []struct {
	name string
	ok   bool
} {
	return []struct {
		name string
		ok   bool
	}{
		{"lost 0", r.Lost == 0},
		{"duplicates 0", r.Duplicates == 0},
		{"write_gap_s ≤ 30", r.WriteGapS >= 0 && r.WriteGapS <= 30},
		{"ws_missing_seq 0", r.WSMissing == 0},
		{"ws_duplicate_seq 0", r.WSDuplicate == 0},
	}
}

// serverTally is one instance's share of the intake.
type serverTally struct {
	acked      int
	firstAfter float64 // first 201 after the kill, s; -1: none
}

// intakeTally is what the intake clients' attempts add up to.
type intakeTally struct {
	ackedBy   map[string]int // external_id -> the status that acknowledged it first (201 or 200)
	n201      map[string]int // external_id -> 201 answers
	begun     map[string]bool
	requests  int
	status    map[string]int
	writeGap  float64 // s; -1 when no request sent after the kill was answered 201
	perServer map[string]serverTally
}

// tallyIntake adds up attempts. The write gap counts only requests sent
// after the kill: an answer that arrives just after it for a request that
// committed before says nothing about whether writes work.
func tallyIntake(attempts []attempt, killAt time.Time) intakeTally {
	t := intakeTally{ackedBy: map[string]int{}, n201: map[string]int{}, begun: map[string]bool{}, status: map[string]int{},
		writeGap: -1, perServer: map[string]serverTally{}}
	for _, a := range attempts {
		t.requests++
		t.begun[a.id] = true
		key := "none"
		if a.status != 0 {
			key = strconv.Itoa(a.status)
		}
		t.status[key]++
		if a.status == 201 {
			t.n201[a.id]++
		}
		if acked(a.status) {
			if _, ok := t.ackedBy[a.id]; !ok {
				t.ackedBy[a.id] = a.status
			}
			s, ok := t.perServer[a.server]
			if !ok {
				s.firstAfter = -1
			}
			s.acked++
			if a.status == 201 && !killAt.IsZero() && a.sent.After(killAt) {
				gap := a.done.Sub(killAt).Seconds()
				if s.firstAfter < 0 || gap < s.firstAfter {
					s.firstAfter = gap
				}
				if t.writeGap < 0 || gap < t.writeGap {
					t.writeGap = gap
				}
			}
			t.perServer[a.server] = s
		}
	}
	return t
}

// extra201 counts 201 answers beyond the first for one external_id: the
// server stored a clue it already had.
func (t intakeTally) extra201() int {
	n := 0
	for _, c := range t.n201 {
		n += max(0, c-1)
	}
	return n
}

// lost counts the acknowledged ids that are not stored.
func lost(ackedBy map[string]int, stored map[string]int) []string {
	var out []string
	for id := range ackedBy {
		if stored[id] == 0 {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// streamTally is one websocket client's account over the window
// (since0, end]: committed are the seqs in events in that window.
type streamTally struct {
	name      string
	received  int
	connects  int
	closes    map[string]int
	missing   int
	duplicate int
	phantom   int
	disorder  int
}

func tallyStream(name string, since0, end int64, committed, received []event) streamTally {
	t := streamTally{name: name, received: len(received)}
	seen := make(map[int64]int, len(received))
	var top int64
	for _, e := range received {
		seen[e.Seq]++
		if seen[e.Seq] > 1 {
			t.duplicate++
		}
		if e.Seq < top && seen[e.Seq] == 1 {
			t.disorder++
		}
		top = max(top, e.Seq)
	}
	got := make(map[int64][]event, len(received))
	for _, e := range received {
		got[e.Seq] = append(got[e.Seq], e)
	}
	stored := make(map[int64]event, len(committed))
	for _, e := range committed {
		stored[e.Seq] = e
		if !slices.ContainsFunc(got[e.Seq], e.same) {
			t.missing++ // never received, or only another event under its seq
		}
	}
	counted := map[int64]bool{}
	for _, e := range received {
		if e.Seq <= since0 || e.Seq > end || counted[e.Seq] {
			continue
		}
		if db, ok := stored[e.Seq]; !ok || !db.same(e) {
			t.phantom++
			counted[e.Seq] = true
		}
	}
	return t
}

// Report prints the table and, as the last line, the JSON object.
func (r *Result) Report(w io.Writer) {
	secs := func(v float64) string {
		if v < 0 {
			return "never"
		}
		return fmt.Sprintf("%.1f", v)
	}
	repl := "synchronous"
	if r.Replication == "async" {
		repl = "ASYNCHRONOUS: a control run"
	}
	fmt.Fprintf(w, "\nfailover drill %s: Patroni pg1 + pg2 (%s), etcd, HAProxy, 2 whistlegrid instances;\n", r.runID, repl)
	fmt.Fprintf(w, "%d intake clients at %.0f clues/s through HAProxy, %d websocket clients\n\n", r.Clients, r.rate, r.Streams)
	fmt.Fprintf(w, "%-46s %12s\n", "timeline", "s after kill")
	fmt.Fprintf(w, "%-46s %12s\n", fmt.Sprintf("kill -9 %s's postmaster (pid %d)", r.oldPrimary, r.killedPID), "0.0")
	fmt.Fprintf(w, "%-46s %12s\n", fmt.Sprintf("%s leader (Patroni)", orDash(r.newPrimary)), secs(r.FailoverS))
	fmt.Fprintf(w, "%-46s %12s\n", "HAProxy routes to the new primary only", secs(r.RoutedS))
	fmt.Fprintf(w, "%-46s %12s\n", "first 201 after the kill (write_gap_s)", secs(r.WriteGapS))
	for _, name := range slices.Sorted(maps.Keys(r.perServer)) {
		if name == "" {
			continue
		}
		fmt.Fprintf(w, "%-46s %12s\n", "  "+name+": first 201", secs(r.perServer[name].firstAfter))
	}
	fmt.Fprintf(w, "%-46s %12s\n", fmt.Sprintf("%s streams from %s (rejoin_s)", r.oldPrimary, orDash(r.newPrimary)), secs(r.RejoinS))
	fmt.Fprintf(w, "%-46s %12s\n", fmt.Sprintf("%s is the synchronous standby again", r.oldPrimary), secs(r.SyncS))

	fmt.Fprintf(w, "\n%-46s %12s\n", "intake", "")
	fmt.Fprintf(w, "%-46s %12d\n", "requests", r.Requests)
	for _, k := range slices.Sorted(maps.Keys(r.Status)) {
		fmt.Fprintf(w, "%-46s %12d\n", "  answered "+k, r.Status[k])
	}
	fmt.Fprintf(w, "%-46s %12d\n", "acked (201 or 200)", r.Acked)
	for _, name := range slices.Sorted(maps.Keys(r.perServer)) {
		fmt.Fprintf(w, "%-46s %12d\n", "  by "+orDash(name), r.perServer[name].acked)
	}
	fmt.Fprintf(w, "%-46s %12d\n", "  of which 200 (stored by an earlier try)", r.Acked200)
	fmt.Fprintf(w, "%-46s %12d\n", "unacknowledged when the drill stopped", r.Unacked)
	fmt.Fprintf(w, "%-46s %12d\n", "stored (rows on the primary)", r.storedPrimary)
	fmt.Fprintf(w, "%-46s %12d\n", fmt.Sprintf("stored (rows on %s, the standby)", r.oldPrimary), r.storedStandby)
	fmt.Fprintf(w, "%-46s %12d\n", "lost (acked, not stored)", r.Lost)
	fmt.Fprintf(w, "%-46s %12d\n", "duplicates", r.Duplicates)
	fmt.Fprintf(w, "%-46s %12s\n", "  rows / 201s / clue.received beyond one", fmt.Sprintf("%d / %d / %d", r.dupRows, r.extra201, r.dupEvents))

	fmt.Fprintf(w, "\n%-10s %9s %9s %8s %9s %8s %9s  %s\n", "websocket", "received", "connects", "missing", "duplicate", "phantom", "disorder", "closes")
	for _, s := range r.streams {
		var cl []string
		for _, k := range slices.Sorted(maps.Keys(s.closes)) {
			cl = append(cl, fmt.Sprintf("%s ×%d", k, s.closes[k]))
		}
		fmt.Fprintf(w, "%-10s %9d %9d %8d %9d %8d %9d  %s\n", s.name, s.received, s.connects, s.missing, s.duplicate, s.phantom, s.disorder, strings.Join(cl, ", "))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	var ts []string
	for _, t := range r.targets() {
		ts = append(ts, fmt.Sprintf("%s %s", t.name, passFail(t.ok)))
	}
	fmt.Fprintf(w, "\ntargets: %s\n", strings.Join(ts, "; "))
	b, _ := json.Marshal(r)
	fmt.Fprintln(w, string(b))
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

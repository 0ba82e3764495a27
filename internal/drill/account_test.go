package drill

import (
	"maps"
	"slices"
	"testing"
	"time"
)

func TestTallyIntake(t *testing.T) {
	kill := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return kill.Add(time.Duration(s * float64(time.Second))) }
	attempts := []attempt{
		{id: "a", sent: at(-2), done: at(-1.9), status: 201, server: "app1"},
		// in flight at the kill, answered 201 just after it: not a write after the kill
		{id: "b", sent: at(-0.1), done: at(0.2), status: 201, server: "app2"},
		// refused while the database was down, then stored, then the answer lost, then 200
		{id: "c", sent: at(0.5), done: at(0.6), status: 503, server: "app1"},
		{id: "c", sent: at(1), done: at(1.1), err: "connection reset"},
		{id: "c", sent: at(2), done: at(2.1), status: 200, server: "app2"},
		{id: "d", sent: at(3), done: at(3.5), status: 201, server: "app1"},
		{id: "e", sent: at(4), done: at(4.2), status: 201, server: "app2"},
		// stored twice: a duplicate the server should never make
		{id: "e", sent: at(5), done: at(5.1), status: 201, server: "app2"},
		{id: "f", sent: at(6), done: at(6.1), status: 500, server: "app1"},
	}
	tl := tallyIntake(attempts, kill)
	if tl.requests != 9 {
		t.Errorf("requests %d, want 9", tl.requests)
	}
	if got, want := tl.status, map[string]int{"201": 5, "200": 1, "503": 1, "500": 1, "none": 1}; !maps.Equal(got, want) {
		t.Errorf("status %v, want %v", got, want)
	}
	if len(tl.ackedBy) != 5 || tl.ackedBy["c"] != 200 || tl.ackedBy["e"] != 201 {
		t.Errorf("acked %v, want a b d e by 201 and c by 200", tl.ackedBy)
	}
	if len(tl.begun)-len(tl.ackedBy) != 1 {
		t.Errorf("unacked %d, want 1 (f)", len(tl.begun)-len(tl.ackedBy))
	}
	if tl.writeGap != 3.5 {
		t.Errorf("write gap %v, want 3.5 (d; b was sent before the kill, c answered 200)", tl.writeGap)
	}
	if tl.perServer["app1"].firstAfter != 3.5 || tl.perServer["app2"].firstAfter != 4.2 {
		t.Errorf("first 201 after the kill per server %+v", tl.perServer)
	}
	if tl.perServer["app1"].acked != 2 || tl.perServer["app2"].acked != 4 {
		t.Errorf("acked per server %+v", tl.perServer)
	}
	if tl.extra201() != 1 {
		t.Errorf("extra 201s %d, want 1 (e)", tl.extra201())
	}
	if got := lost(tl.ackedBy, map[string]int{"a": 1, "c": 1, "e": 1, "f": 1}); !slices.Equal(got, []string{"b", "d"}) {
		t.Errorf("lost %v, want [b d]", got)
	}
	if none := tallyIntake(attempts[:1], kill); none.writeGap != -1 {
		t.Errorf("write gap with no 201 after the kill %v, want -1", none.writeGap)
	}
}

func TestTallyStream(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ev := func(seq int64) event {
		return event{Seq: seq, Kind: "clue.received", At: t0.Add(time.Duration(seq) * time.Millisecond)}
	}
	evs := func(seqs ...int64) []event {
		var out []event
		for _, s := range seqs {
			out = append(out, ev(s))
		}
		return out
	}
	reused := ev(13)
	reused.At = reused.At.Add(time.Second) // another event under seq 13, on the new primary
	nanos := ev(12)
	nanos.At = nanos.At.Add(300 * time.Nanosecond) // the wire has nanoseconds, the table microseconds
	tests := []struct {
		name                                  string
		committed, received                   []event
		missing, duplicate, phantom, disorder int
	}{
		{name: "every seq once, gaps where nothing committed", committed: evs(11, 12, 14, 15), received: evs(11, 12, 14, 15)},
		{name: "a missed seq", committed: evs(11, 12, 14, 15), received: evs(11, 14, 15), missing: 1},
		{name: "the tail never came", committed: evs(11, 12, 14, 15), received: evs(11, 12), missing: 2},
		{name: "a resume that repeats", committed: evs(11, 12, 14), received: evs(11, 12, 12, 14, 14, 14), duplicate: 3},
		{name: "a seq streamed that the database lost", committed: evs(11, 12), received: evs(11, 12, 13), phantom: 1},
		{name: "a seq streamed, then lost and given to another event", committed: []event{ev(11), ev(12), reused}, received: evs(11, 12, 13), phantom: 1, missing: 1},
		{name: "nanoseconds on the wire", committed: evs(11, 12), received: []event{ev(11), nanos}},
		{name: "out of order", committed: evs(11, 12, 14), received: evs(11, 14, 12), disorder: 1},
		{name: "seqs past the window count only as duplicates", committed: evs(11), received: evs(11, 30, 30), duplicate: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tallyStream("s", 10, 20, tt.committed, tt.received)
			if got.missing != tt.missing || got.duplicate != tt.duplicate || got.phantom != tt.phantom || got.disorder != tt.disorder {
				t.Errorf("missing %d duplicate %d phantom %d disorder %d; want %d %d %d %d",
					got.missing, got.duplicate, got.phantom, got.disorder, tt.missing, tt.duplicate, tt.phantom, tt.disorder)
			}
		})
	}
}

func TestTargets(t *testing.T) {
	ok := Result{WriteGapS: 3}
	for _, tg := range ok.targets() {
		if !tg.ok {
			t.Errorf("%s fails on a clean result", tg.name)
		}
	}
	bad := []Result{{Lost: 1, WriteGapS: 3}, {Duplicates: 1, WriteGapS: 3}, {WriteGapS: 31}, {WriteGapS: -1}, {WSMissing: 1, WriteGapS: 3}, {WSDuplicate: 1, WriteGapS: 3}}
	for _, r := range bad {
		failed := 0
		for _, tg := range r.targets() {
			if !tg.ok {
				failed++
			}
		}
		if failed != 1 {
			t.Errorf("%+v fails %d targets, want 1", r, failed)
		}
	}
}

func TestParseStat(t *testing.T) {
	// the head of HAProxy 2.6's `show stat`, trimmed to the columns read
	text := "# pxname,svname,qcur,status,weight\n" +
		"postgres,FRONTEND,,OPEN,\n" +
		"postgres,pg1,0,DOWN,1\n" +
		"postgres,pg2,0,UP,1\n" +
		"postgres,BACKEND,0,UP,1\n" +
		"web,app1,0,UP 1/2,1\n" +
		"web,app2,0,MAINT,1\n"
	got, err := parseStat(text, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]bool{"pg1": false, "pg2": true}; !maps.Equal(got, want) {
		t.Errorf("postgres %v, want %v", got, want)
	}
	got, _ = parseStat(text, "web")
	if want := map[string]bool{"app1": true, "app2": false}; !maps.Equal(got, want) {
		t.Errorf("web %v, want %v", got, want)
	}
}

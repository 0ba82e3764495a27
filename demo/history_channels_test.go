package demo_test

import (
	"context"
	"testing"
	"time"

	"whistlegrid/demo"
	"whistlegrid/internal/testenv"
	"whistlegrid/ledger"
)

// TestHistoryChannels loads a small year and checks the ledger and the
// board in it: the 83 items down every path (closed, rejected once,
// risen to each level, open, asked), every rise with its two notices,
// and consistent with the sweep (a sweep at End marks and
// raises nothing); the board's messages accepted (each a forum clue),
// rejected with a reason, pending, and replies only on closed cases.
func TestHistoryChannels(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: loads a year of history")
	}
	ctx := context.Background()
	pool := testenv.DemoDB(t)
	if _, err := demo.LoadHistory(ctx, pool, demo.HistoryOptions{End: historyEnd, Clues: 20_000}); err != nil {
		t.Fatal(err)
	}
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
		return n
	}
	if n := count(`SELECT count(*) FROM ledger_items`); n != demo.HistoryLedgerItems {
		t.Errorf("%d ledger items, want %d", n, demo.HistoryLedgerItems)
	}
	for name, q := range map[string]string{
		"closed":              `SELECT count(*) FROM ledger_items WHERE status = 'closed'`,
		"open":                `SELECT count(*) FROM ledger_items WHERE status = 'open'`,
		"rejected then kept":  `SELECT count(DISTINCT item_id) FROM ledger_entries WHERE kind = 'reject'`,
		"at the department":   `SELECT count(*) FROM ledger_rises WHERE level = 'department'`,
		"at the command":      `SELECT count(*) FROM ledger_rises WHERE level = 'command'`,
		"closed after rising": `SELECT count(*) FROM ledger_items i WHERE status = 'closed' AND EXISTS (SELECT 1 FROM ledger_rises r WHERE r.item_id = i.id)`,
		"from a hotspot":      `SELECT count(*) FROM ledger_items WHERE hotspot_cell IS NOT NULL`,
		"with progress":       `SELECT count(DISTINCT item_id) FROM ledger_entries WHERE kind = 'progress' AND cardinality(attachments) > 0`,
		"board accepted":      `SELECT count(*) FROM board_messages b JOIN clues c ON c.id = b.clue_id WHERE b.status = 'accepted' AND c.source = 'forum'`,
		"board rejected":      `SELECT count(*) FROM board_messages WHERE status = 'rejected' AND reason <> ''`,
		"board pending":       `SELECT count(*) FROM board_messages WHERE status = 'pending'`,
		"board replies":       `SELECT count(*) FROM board_messages WHERE reply IS NOT NULL`,
	} {
		if n := count(q); n == 0 {
			t.Errorf("no ledger item or message %s", name)
		}
	}
	if n := count(`SELECT count(*) FROM ledger_rises r WHERE (SELECT count(*) FROM ledger_notices n WHERE n.item_id = r.item_id AND n.level = r.level) <> 2`); n != 0 {
		t.Errorf("%d rises without their two notices", n)
	}
	// the outbox stays in time order with its sequence (the history writes no ledger.rose events)
	if n := count(`SELECT count(*) FROM (SELECT at < lag(at) OVER (ORDER BY seq) AS back FROM events) x WHERE back`); n != 0 {
		t.Errorf("%d events earlier than the one before them", n)
	}
	if n := count(`SELECT count(*) FROM ledger_items i WHERE level <> CASE (SELECT count(*) FROM ledger_rises r WHERE r.item_id = i.id)
		WHEN 0 THEN 'township' WHEN 1 THEN 'department' ELSE 'command' END`); n != 0 {
		t.Errorf("%d items whose level is not their rises'", n)
	}
	if n := count(`SELECT count(*) FROM board_messages b JOIN clues c ON c.id = b.clue_id LEFT JOIN whistles w ON w.id = c.whistle_id
		WHERE b.reply IS NOT NULL AND (w.status IS DISTINCT FROM 'closed' OR b.replied_at < w.closed_at)`); n != 0 {
		t.Errorf("%d replies before their case closed", n)
	}
	res, err := ledger.NewStore(pool, func() time.Time { return historyEnd }).Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Marked != 0 || res.Rose != 0 {
		t.Errorf("a sweep at End after the history marked %d and raised %d: the history does not follow the sweep", res.Marked, res.Rose)
	}
}

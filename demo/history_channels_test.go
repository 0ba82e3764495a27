package demo_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"whistlegrid/demo"
	"whistlegrid/ledger"
)

// checkHistoryChannels checks the ledger and the board in a loaded year
// (TestLoadHistory's): the 83 items down every path (closed, rejected
// once, risen to each level, open, asked), every rise with its two
// notices, and consistent with the sweep (a sweep at End marks and raises
// nothing); the board's messages accepted (each a forum clue), rejected
// with a reason, pending, and replies only on closed cases.
func checkHistoryChannels(t *testing.T, ctx context.Context, pool *pgxpool.Pool, sum demo.HistorySummary) {
	count := counter(t, ctx, pool)
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
	checkMeetingsCallbacksRisk(t, count, sum)
	res, err := ledger.NewStore(pool, func() time.Time { return historyEnd }).Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Marked != 0 || res.Rose != 0 {
		t.Errorf("a sweep at End after the history marked %d and raised %d: the history does not follow the sweep", res.Marked, res.Rose)
	}
}

// checkMeetingsCallbacksRisk checks the other three channels in the
// history: a villagers' meeting in each of 康庄镇's 34 villages every
// month, with matters that are meeting clues in their village through
// every stage, some in a whistle; callbacks on closed residents' cases,
// some unsatisfied and reopened within 7 days; flagged clues whose
// whistles are at least priority and carry the reasons.
func checkMeetingsCallbacksRisk(t *testing.T, count func(string, ...any) int, sum demo.HistorySummary) {
	t.Helper()
	if n := count(`SELECT count(DISTINCT m.village_id) FROM meetings m JOIN grids v ON v.id = m.village_id JOIN grids t ON t.code = left(v.code, 9)
		WHERE t.name = '康庄镇'`); n != 34 {
		t.Errorf("meetings in %d of 康庄镇's villages, want 34", n)
	}
	if n := count(`SELECT count(*) FROM (SELECT village_id, date_trunc('month', held_at AT TIME ZONE 'Asia/Shanghai') FROM meetings
		GROUP BY 1, 2 HAVING count(*) > 1) x`); n != 0 {
		t.Errorf("%d villages held two meetings in a month", n)
	}
	if n := count(`SELECT min(k) FROM (SELECT count(*) AS k FROM meetings GROUP BY village_id) x`); n < 11 {
		t.Errorf("a village held %d meetings in the year, want one a month", n)
	}
	if n := count(`SELECT count(*) FROM meetings`); n != sum.Meetings || n == 0 {
		t.Errorf("%d meetings (summary %d)", n, sum.Meetings)
	}
	if n := count(`SELECT count(*) FROM meeting_matters`); n != sum.Matters || n < sum.Meetings/2 {
		t.Errorf("%d matters (summary %d) for %d meetings", n, sum.Matters, sum.Meetings)
	}
	if n := count(`SELECT count(*) FROM clues WHERE source = 'meeting'`); n != sum.Matters || n != sum.BySource["meeting"] {
		t.Errorf("%d meeting clues for %d matters (summary %d)", n, sum.Matters, sum.BySource["meeting"])
	}
	for name, q := range map[string]string{
		"in another village":          `SELECT count(*) FROM meeting_matters x JOIN meetings m ON m.id = x.meeting_id JOIN grids v ON v.id = m.village_id JOIN clues c ON c.id = x.clue_id JOIN grids g ON g.id = c.grid_id WHERE left(g.code, 12) <> v.code OR c.source <> 'meeting'`,
		"before its meeting":          `SELECT count(*) FROM meeting_matters x JOIN meetings m ON m.id = x.meeting_id JOIN clues c ON c.id = x.clue_id WHERE c.reported_at < m.held_at OR x.updated_at < c.reported_at`,
		"in a whistle not its clue's": `SELECT count(*) FROM meeting_matters x JOIN clues c ON c.id = x.clue_id WHERE x.whistle_id IS DISTINCT FROM c.whistle_id AND x.whistle_id IS NOT NULL`,
		"judged without a verdict":    `SELECT count(*) FROM meeting_matters WHERE (stage = 'judged') <> (verdict IS NOT NULL) OR (stage <> 'raised' AND decision = '')`,
		"judged before done":          `SELECT count(*) FROM meeting_matters x JOIN whistles w ON w.id = x.whistle_id WHERE x.stage = 'judged' AND (w.closed_at IS NULL OR w.closed_at > x.updated_at)`,
		"an event of another source":  `SELECT count(*) FROM events e JOIN clues c ON c.id = (e.payload->'clue'->>'id')::bigint WHERE e.kind = 'clue.received' AND e.payload->'clue'->>'source' <> c.source`,
		"reopened without an unsatisfied callback within 7 days before": `SELECT count(*) FROM whistle_events r WHERE r.action = 'reopen' AND NOT EXISTS (SELECT 1 FROM whistle_callbacks cb
			WHERE cb.whistle_id = r.whistle_id AND cb.result = 'unsatisfied' AND cb.at < r.at AND cb.at >= r.at - interval '7 days')`,
		"a callback not after a close": `SELECT count(*) FROM whistle_callbacks cb WHERE NOT EXISTS (SELECT 1 FROM whistle_events e WHERE e.whistle_id = cb.whistle_id AND e.action = 'close' AND e.at < cb.at)`,
		"a flagged clue's whistle below priority or unflagged": `SELECT count(*) FROM clues c JOIN whistles w ON w.id = c.whistle_id WHERE c.risk IS NOT NULL AND (w.grade = 'routine' OR w.risk IS NULL
			OR NOT (w.risk->'reasons') @> (c.risk->'reasons'))`,
	} {
		if n := count(q); n != 0 {
			t.Errorf("%d matters, callbacks or clues %s", n, name)
		}
	}
	for name, q := range map[string]string{
		"discussed":                   `SELECT count(*) FROM meeting_matters WHERE stage = 'discussed'`,
		"done":                        `SELECT count(*) FROM meeting_matters WHERE stage = 'done'`,
		"judged":                      `SELECT count(*) FROM meeting_matters WHERE stage = 'judged'`,
		"judged unsatisfied":          `SELECT count(*) FROM meeting_matters WHERE verdict = 'unsatisfied'`,
		"done through a whistle":      `SELECT count(*) FROM meeting_matters WHERE whistle_id IS NOT NULL`,
		"called back":                 `SELECT count(*) FROM whistle_callbacks`,
		"called back unsatisfied":     `SELECT count(*) FROM whistle_callbacks WHERE result = 'unsatisfied'`,
		"called back on a board case": `SELECT count(*) FROM whistle_callbacks cb JOIN clues c ON c.whistle_id = cb.whistle_id JOIN board_messages b ON b.clue_id = c.id`,
		"reopened":                    `SELECT count(*) FROM whistle_events WHERE action = 'reopen'`,
		"reopened and closed again":   `SELECT count(*) FROM whistles w WHERE status = 'closed' AND EXISTS (SELECT 1 FROM whistle_events e WHERE e.whistle_id = w.id AND e.action = 'reopen')`,
		"flagged":                     `SELECT count(*) FROM clues WHERE risk IS NOT NULL`,
		"flagged whistles":            `SELECT count(*) FROM whistles WHERE risk IS NOT NULL`,
	} {
		if n := count(q); n == 0 {
			t.Errorf("no meeting matter, callback or clue %s", name)
		}
	}
	if n := count(`SELECT count(*) FROM whistle_callbacks`); n != sum.Callbacks {
		t.Errorf("%d callbacks (summary %d)", n, sum.Callbacks)
	}
	if n := count(`SELECT count(*) FROM whistle_callbacks WHERE result = 'unsatisfied'`); n != sum.CallbacksUnsatisfied {
		t.Errorf("%d unsatisfied callbacks (summary %d)", n, sum.CallbacksUnsatisfied)
	}
	if n := count(`SELECT count(*) FROM clues WHERE risk IS NOT NULL`); n != sum.RiskClues {
		t.Errorf("%d flagged clues (summary %d)", n, sum.RiskClues)
	}
	if sum.Paths.Reopened != count(`SELECT count(DISTINCT whistle_id) FROM whistle_events WHERE action = 'reopen'`) {
		t.Errorf("summary counts %d reopened whistles", sum.Paths.Reopened)
	}
}

// counter returns a count query on pool that fails t when it cannot run.
func counter(t *testing.T, ctx context.Context, pool *pgxpool.Pool) func(q string, args ...any) int {
	return func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
		return n
	}
}

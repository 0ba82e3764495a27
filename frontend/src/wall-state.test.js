// Run with `npm test` (node --test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WallState, beijingDay, isOverdue, normalise, overdueSince, tickerText } from './wall-state.js';

const H = 3600 * 1000;
const now = Date.parse('2026-03-03T04:00:00Z'); // 12:00 in Beijing

const whistle = (id, extra = {}) => ({
  id,
  lon: 116.0,
  lat: 40.4,
  grade: 'routine',
  status: 'raised',
  overdue: false,
  category: 'CM.01.03',
  category_name: '占道经营',
  township: '110119101',
  township_name: '康庄镇',
  raised_at: new Date(now - H).toISOString(),
  report_in_due: new Date(now + 23 * H).toISOString(),
  resolve_due: new Date(now + 167 * H).toISOString(),
  ...extra,
});

const snapshot = () => ({
  seq: 100,
  at: new Date(now).toISOString(),
  whistles: [whistle(1), whistle(2, { grade: 'hard', status: 'in_progress', report_in_due: new Date(now - 2 * H).toISOString() })],
  today: { clues_received: 5, whistles_raised: 2, whistles_closed: 1 },
  rates: { window_days: 30, report_in: { rate: 0.9, num: 9, den: 10 } },
});

test('a snapshot, then live events, without reloading', () => {
  const s = new WallState();
  s.loadSnapshot(snapshot(), now);
  assert.equal(s.counts(now).open, 2);
  assert.deepEqual(s.counts(now).by_grade, { routine: 1, priority: 0, hard: 1 });

  // a new whistle
  const raised = { seq: 101, kind: 'whistle.raised', at: new Date(now).toISOString(), township: '110119101', data: { whistle: whistle(3, { grid: '110119101001002' }) } };
  const c = s.apply(raised, now);
  assert.equal(c.added, true);
  assert.equal(s.counts(now).open, 3);
  assert.equal(s.today.whistles_raised, 3);
  assert.equal(s.whistles.get(3).grid, '110119101001002');
  assert.equal(s.isNew(s.whistles.get(3), now), true);

  // the same event again (a resume that overlaps) changes nothing
  assert.equal(s.apply(raised, now), null);
  assert.equal(s.today.whistles_raised, 3);

  // a step on an open whistle updates it in place
  s.apply({ seq: 102, kind: 'whistle.reported_in', at: raised.at, data: { whistle: whistle(1, { status: 'in_progress' }) } }, now);
  assert.equal(s.whistles.get(1).status, 'in_progress');
  assert.equal(s.counts(now).open, 3);

  // closing takes it off the map
  const closed = s.apply({ seq: 103, kind: 'whistle.closed', at: raised.at, data: { whistle: whistle(1, { status: 'closed' }) } }, now);
  assert.equal(closed.removed, true);
  assert.equal(s.counts(now).open, 2);
  assert.equal(s.today.whistles_closed, 2);

  // a clue counts today, without a whistle
  s.apply({ seq: 104, kind: 'clue.received', at: raised.at, township: '110119101', data: { clue: { id: 9, category: 'CM.01.03' } } }, now);
  assert.equal(s.today.clues_received, 6);
  assert.equal(s.seq, 104);

  assert.deepEqual([...s.loadBy((w) => w.township)], [['110119101', 2]]);
});

test('today starts again on a new day in Beijing', () => {
  const s = new WallState();
  s.loadSnapshot(snapshot(), now);
  const tomorrow = new Date(now + 13 * H).toISOString(); // 01:00 the next day in Beijing
  s.apply({ seq: 101, kind: 'clue.received', at: tomorrow, data: {} }, now + 13 * H);
  assert.deepEqual(s.today, { clues_received: 1, whistles_raised: 0, whistles_closed: 0 });
  assert.equal(beijingDay('2026-03-02T16:00:00Z'), beijingDay('2026-03-03T15:59:59Z'));
});

test('overdue: the deadline that passed first', () => {
  const s = new WallState();
  s.loadSnapshot(snapshot(), now);
  const w2 = s.whistles.get(2);
  // in progress: the report-in deadline no longer counts
  assert.equal(overdueSince(w2, now), null);
  const late = { ...w2, status: 'raised' };
  assert.equal(overdueSince(late, now), now - 2 * H);
  assert.equal(isOverdue({ ...w2, overdue: true }, now), true, 'marked by the sweep');
  s.apply({ seq: 101, kind: 'whistle.overdue', at: new Date(now).toISOString(), data: { whistle: whistle(2, { status: 'raised', report_in_due: new Date(now - 2 * H).toISOString(), grade: 'hard' }) } }, now);
  const worst = s.mostOverdue(now, 5);
  assert.equal(worst.length, 1);
  assert.equal(worst[0].whistle.id, 2);
  assert.equal(worst[0].for, 2 * H);
  assert.equal(s.counts(now).overdue, 1);
});

test('refreshFigures takes only a snapshot at least as recent as the stream', () => {
  const s = new WallState();
  s.loadSnapshot(snapshot(), now);
  s.apply({ seq: 150, kind: 'clue.received', at: new Date(now).toISOString(), data: {} }, now);
  assert.equal(s.refreshFigures({ seq: 120, today: { clues_received: 99 } }), false);
  assert.equal(s.today.clues_received, 6);
  assert.equal(s.refreshFigures({ seq: 150, at: new Date(now).toISOString(), today: { clues_received: 7 }, rates: { window_days: 30 } }), true);
  assert.equal(s.today.clues_received, 7);
});

test('tickerText', () => {
  const names = { township: (c) => ({ '110119101': '康庄镇' })[c], category: (c) => ({ 'CM.01.03': '占道经营' })[c] };
  const w = whistle(1);
  for (const [ev, want] of [
    [{ kind: 'whistle.raised', data: { whistle: w } }, '康庄镇 吹哨：占道经营'],
    [{ kind: 'whistle.joined', data: { whistle: w, clue_count: 2 } }, '康庄镇 并哨：占道经营（第2条线索）'],
    [{ kind: 'whistle.reported_in', data: { whistle: w, unit: { code: 'D001', name: '区城管执法局' } } }, '区城管执法局 报到：康庄镇 占道经营'],
    [{ kind: 'whistle.escalated', data: { whistle: w, to: 'priority' } }, '康庄镇 升级为重点哨：占道经营'],
    [{ kind: 'whistle.closed', data: { whistle: w } }, '康庄镇 结案：占道经营'],
    [{ kind: 'whistle.supervised', data: { whistle: w, unit: { name: '区水务局' } } }, '督办 区水务局：康庄镇 占道经营'],
    [{ kind: 'clue.received', township: '110119101', data: { clue: { source: 'hotline', category: 'CM.01.03' } } }, '康庄镇 12345热线线索：占道经营'],
    [{ kind: 'grid.edited', data: { code: '110119101001' } }, '网格调整：110119101001'],
    [{ kind: 'ledger.rose', township: '110119101', data: { ledger: { id: 3, title: '河道垃圾', level: 'department' } } }, '康庄镇 整改台账升级督办：河道垃圾'],
  ]) {
    assert.equal(tickerText(ev, names), want, ev.kind);
  }
});

test('a flagged whistle keeps its risk reasons; an unflagged one has none', () => {
  const base = { id: 1, lon: 116, lat: 40, grade: 'priority', status: 'raised', raised_at: '2026-11-01T00:00:00Z' };
  assert.deepEqual(normalise({ ...base, risk: { reasons: ['关键词：燃气泄漏'] } }).risk, ['关键词：燃气泄漏']);
  assert.equal(normalise(base).risk, null);
  assert.equal(normalise({ ...base, risk: { reasons: [] } }).risk, null);
});

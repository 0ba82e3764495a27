// Run with `npm test` (node --test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changesQueues, countdown, filtersFor, queueQuery, span, summonNotice, TAB_NAMES } from './work-state.js';

test('span and countdown', () => {
  assert.equal(span(30 * 1000), '不足1分');
  assert.equal(span(12 * 60 * 1000), '12分');
  assert.equal(span((3 * 60 + 12) * 60 * 1000), '3小时12分');
  assert.equal(span((26 * 60 + 5) * 60 * 1000), '1天2小时');
  const now = Date.parse('2026-06-01T12:00:00Z');
  assert.deepEqual(countdown('2026-06-01T15:12:00Z', now), { text: '剩 3小时12分', overdue: false });
  assert.deepEqual(countdown('2026-06-01T10:00:00Z', now), { text: '超期 2小时0分', overdue: true });
  assert.equal(countdown(null, now), null);
  assert.equal(countdown('not a time', now), null);
});

test('queueQuery leaves empty filters out', () => {
  assert.equal(queueQuery({ grade: 'hard', status: '', township: ' 110119101 ' }, { sort: 'deadline', after: 'abc' }), 'grade=hard&township=110119101&sort=deadline&after=abc');
  assert.equal(queueQuery(), '');
});

test('filters by role, tab names', () => {
  assert.deepEqual(filtersFor('command').slice(0, 2), ['township', 'unit']);
  assert.equal(filtersFor('unit').includes('township'), false);
  assert.equal(TAB_NAMES['report-in'], '待报到');
});

test('which events change the queues, and the notices of a unit', () => {
  assert.equal(changesQueues({ kind: 'clue.received' }), true);
  assert.equal(changesQueues({ kind: 'whistle.closed' }), true);
  assert.equal(changesQueues({ kind: 'hotspot.found' }), false);
  const unit = { role: 'unit', jurisdiction: { unit_code: 'S023' } };
  const raised = { kind: 'whistle.raised', data: { whistle: { id: 9, township_name: '康庄镇', category_name: '占道经营' } } };
  assert.deepEqual(summonNotice(raised, unit), { id: 9, text: '新哨单 #9：康庄镇 占道经营，请及时报到' });
  assert.equal(summonNotice(raised, { role: 'township' }), null);
  assert.equal(summonNotice({ kind: 'whistle.supervised', data: { whistle: { id: 9 }, unit: { code: 'D001' } } }, unit), null);
  assert.ok(summonNotice({ kind: 'whistle.supervised', data: { whistle: { id: 9 }, unit: { code: 'S023' } } }, unit));
});

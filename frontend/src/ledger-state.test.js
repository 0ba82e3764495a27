// Run with `npm test` (node --test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dueText, mayDo, monthOf, periodTitle, quarterOf, recentPeriods } from './ledger-state.js';

test('periods in Beijing time', () => {
  const d = new Date('2026-11-30T17:00:00Z'); // 2026-12-01 01:00 in Beijing
  assert.equal(monthOf(d), '2026-12');
  assert.equal(quarterOf(d), '2026-Q4');
  assert.equal(periodTitle('2026-11'), '2026年11月');
  assert.equal(periodTitle('2026-Q4'), '2026年第四季度');
  assert.equal(periodTitle('2026-13'), '');
  const p = recentPeriods(new Date('2026-02-10T00:00:00Z'), 3);
  assert.deepEqual(p, ['2026-02', '2026-01', '2025-12', '2026-Q1']);
});

test('mayDo', () => {
  const town = { role: 'township', jurisdiction: { grid_code: '110119101' } };
  const other = { role: 'township', jurisdiction: { grid_code: '110119102' } };
  const cmd = { role: 'command', jurisdiction: {} };
  const sup = { role: 'unit', jurisdiction: { unit_code: 'D001' } };
  const item = { status: 'open', responsible: { kind: 'township', code: '110119101' }, supervising_unit: { code: 'D001' } };
  assert.deepEqual([...mayDo(town, item)].sort(), ['done', 'progress', 'writeoff']);
  assert.deepEqual([...mayDo(other, item)], []);
  assert.deepEqual([...mayDo(cmd, item)].sort(), ['done', 'edit', 'progress']);
  const asked = { ...item, status: 'writeoff_requested' };
  assert.ok(mayDo(sup, asked).has('review'));
  assert.ok(mayDo(cmd, asked).has('review'));
  assert.ok(!mayDo(town, asked).has('review'));
  assert.deepEqual([...mayDo(cmd, { ...item, status: 'closed' })], []);
});

test('dueText', () => {
  assert.equal(dueText('2026-11-30T15:59:59Z', false), '2026-11-30');
  assert.equal(dueText('2026-11-30T16:00:00Z', true), '2026-12-01（已逾期）');
  assert.equal(dueText(null), '—');
});

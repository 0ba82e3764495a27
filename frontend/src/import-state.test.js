import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mayImport, mayReview, precisionRows, progressShare, summaryRows } from './import-state.js';

test('summaryRows lists the figures, unplaced for hotline only', () => {
  const r = { kind: 'hotline', read: 5, imported: 3, duplicates: 1, rejected: 1, unplaced: 2 };
  assert.deepEqual(summaryRows(r).map((x) => x[1]), [5, 3, 1, 1, 2]);
  assert.equal(summaryRows({ kind: 'places', read: 2 }).length, 4);
});

test('precisionRows gives counts and shares in order', () => {
  const rows = precisionRows({ precisions: { household: 3, none: 1 } });
  assert.deepEqual(rows.map((x) => x[3]), ['household', 'place', 'village', 'township', 'none']);
  assert.equal(rows[0][2], 0.75);
  assert.equal(precisionRows({})[0][2], 0);
});

test('progressShare is bounded and null when the total is unknown', () => {
  assert.equal(progressShare(50, 100), 0.5);
  assert.equal(progressShare(150, 100), 1);
  assert.equal(progressShare(5, 0), null);
});

test('who imports and who reviews', () => {
  assert.ok(mayImport({ role: 'command' }));
  assert.ok(!mayImport({ role: 'township' }));
  assert.ok(mayReview({ role: 'township' }));
  assert.ok(!mayReview({ role: 'grid_worker' }));
});

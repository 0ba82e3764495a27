import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expectedRows, mayImport, mayReview, outcomeName, precisionRows, progressShare, reportMessage, summaryRows, willWrite } from './import-state.js';

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

test('a grid report: figures by outcome, what confirming writes, the progress total', () => {
  const r = { features: [{}, {}, {}], totals: { new: 1, changed: 1, unchanged: 0, refused: 1 }, applied: false };
  assert.deepEqual(summaryRows(r, 'grids').map((x) => x[2]), ['features', 'new', 'changed', 'unchanged', 'refused']);
  assert.deepEqual(summaryRows(r, 'grids').map((x) => x[1]), [3, 1, 1, 0, 1]);
  assert.equal(willWrite('grids', r), 2);
  assert.equal(willWrite('grids', { totals: { new: 0, changed: 0, unchanged: 3, refused: 0 } }), 0);
  assert.equal(expectedRows('grids', r), 3);
  assert.match(reportMessage('grids', r, true), /拒收 1/);
  assert.equal(outcomeName('refused'), '拒收');
});

test('a roster with any bad row writes nothing', () => {
  const bad = { rows: 4, new: 3, bad: [{ row: 3, column: '手机', reason: 'x' }] };
  assert.equal(willWrite('people', bad), 0);
  assert.match(reportMessage('people', bad, true), /不会写入/);
  assert.equal(willWrite('people', { rows: 3, new: 2, updated: 1, bad: [] }), 3);
  assert.equal(summaryRows(bad, 'people').find((x) => x[2] === 'bad')[1], 1);
  assert.equal(expectedRows('people', bad), 4);
  assert.equal(willWrite('hotline', { imported: 5 }), 5);
});

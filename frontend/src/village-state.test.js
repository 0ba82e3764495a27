// Run with `npm test` (node --test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MEMBER_COLORS } from './palette.js';
import { memberColors, splitRows } from './village-state.js';

test('each party member keeps the colour of its place in the list', () => {
  const m = memberColors([{ person_id: 7 }, { person_id: 3 }]);
  assert.equal(m.get(7), MEMBER_COLORS[0]);
  assert.equal(m.get(3), MEMBER_COLORS[1]);
  assert.equal(memberColors(null).size, 0);
});

test('splitRows', () => {
  assert.deepEqual(splitRows([1, 2, 3]), [[1, 2, 3]]);
  const ten = Array.from({ length: 10 }, (_, i) => i);
  assert.equal(splitRows(ten).length, 1);
  assert.deepEqual(splitRows([...ten, 10]), [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]);
});

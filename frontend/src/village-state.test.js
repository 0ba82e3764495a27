// Run with `npm test` (node --test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MEMBER_COLORS } from './palette.js';
import { STAGE_COLORS, STAGES, matterFeatures, memberColors, splitRows } from './village-state.js';

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

test('matterFeatures: a point per located matter, coloured by its stage', () => {
  const fc = matterFeatures([
    { id: 1, held_at: '2026-11-01T19:00:00+08:00', matters: [
      { n: 1, stage: 'raised', text: 'a', lon: 116.1, lat: 40.4 },
      { n: 2, stage: 'judged', text: 'b', lon: 116.2, lat: 40.5, risk: { reasons: ['x'] } },
      { n: 3, stage: 'done', text: 'c', lon: null, lat: null },
    ] },
    { id: 2, held_at: '2026-10-01T19:00:00+08:00', matters: [] },
  ]);
  assert.equal(fc.features.length, 2);
  assert.deepEqual(fc.features[0].geometry.coordinates, [116.1, 40.4]);
  assert.equal(fc.features[0].properties.color, STAGE_COLORS.raised);
  assert.equal(fc.features[1].properties.risk, true);
  assert.equal(STAGES[fc.features[1].properties.stage], '评事');
  assert.equal(matterFeatures(null).features.length, 0);
});

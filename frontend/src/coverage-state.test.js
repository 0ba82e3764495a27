// Run with `npm test` (node --test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFECTS, levelOfCode, testId } from './coverage-state.js';

test('every defect list of the API has a tile', () => {
  assert.deepEqual(
    DEFECTS.map((d) => d.key),
    ['gaps', 'overlaps', 'outside_parent', 'unstaffed', 'households_outside', 'households_without_party_member'],
  );
  assert.equal(testId('households_without_party_member'), 'count-households-without-party-member');
});

test('items read in Chinese', () => {
  const by = Object.fromEntries(DEFECTS.map((d) => [d.key, d.item]));
  assert.deepEqual(by.gaps({ area_m2: 12345, point: [116, 40.5] }, 0), { title: '缺口 1', sub: '1.2 万m²', point: [116, 40.5] });
  assert.equal(by.overlaps({ a_name: '八达岭村委会', b_name: '湖南社区居委会', area_m2: 20, point: [0, 0] }).title, '八达岭村 × 湖南社区');
  assert.equal(by.unstaffed({ name: '一街村村委会', level: 'village', missing: ['village', 'patrol'] }).sub, '村/社区 · 缺包村干部、网格员');
  assert.match(by.households_outside({ address: 'x', grid_code: '110119101001001', distance_m: 12.4, covered_by: '110119101001002' }).sub, /距网格 12 m · 实际位于 110119101001002/);
});

test('levelOfCode', () => {
  assert.equal(levelOfCode('110119'), 'district');
  assert.equal(levelOfCode('110119101'), 'township');
  assert.equal(levelOfCode('110119101P01'), 'zone');
  assert.equal(levelOfCode('110119101001'), 'village');
  assert.equal(levelOfCode('110119101001001'), 'household');
  assert.equal(levelOfCode(''), 'district');
  assert.equal(levelOfCode(undefined), 'district');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  addMonths, apiQuery, categoryTreemap, change, filenameOf, filtersSearch, inTurn, lastMonth, monthName, monthRange, nextDay, parseFilters, validMonth,
} from './stats-state.js';

test('parseFilters and filtersSearch round-trip, dropping bad dates and defaults', () => {
  const f = parseFilters('?from=2026-01-01&to=bad&township=110119101&period=week&metric=nope&drill=110119101');
  assert.equal(f.from, '2026-01-01');
  assert.equal(f.to, '');
  assert.equal(f.period, 'week');
  assert.equal(f.metric, 'raised');
  assert.equal(f.drill, '110119101');
  assert.equal(filtersSearch(f), '?from=2026-01-01&township=110119101&period=week&drill=110119101');
  assert.equal(filtersSearch(parseFilters('')), '');
});

test('apiQuery sends the day after "to" and lets extras override', () => {
  const f = parseFilters('?from=2026-01-01&to=2026-12-31&grade=hard');
  assert.equal(apiQuery(f, 'month', { format: 'xlsx' }), 'from=2026-01-01&to=2027-01-01&grade=hard&by=month&format=xlsx');
  assert.equal(apiQuery(f, 'village', { township: '110119101', grade: '' }), 'from=2026-01-01&to=2027-01-01&by=village&township=110119101');
  assert.equal(nextDay('2028-02-28'), '2028-02-29');
});

test('categoryTreemap sums branches, leaves empty ones out and keeps unknown codes', () => {
  const tree = [
    { code: 'CM.01', name: '市容', children: [{ code: 'CM.01.01', name: 'a' }, { code: 'CM.01.02', name: 'b' }] },
    { code: 'CM.02', name: '空', children: [{ code: 'CM.02.01', name: 'c' }] },
  ];
  const groups = [{ key: 'CM.01.02', name: 'b', raised: 3 }, { key: 'X', name: '其他', raised: 1 }];
  assert.deepEqual(categoryTreemap(tree, groups), [
    { name: '市容', code: 'CM.01', value: 3, children: [{ name: 'b', code: 'CM.01.02', value: 3 }] },
    { name: '其他', code: 'X', value: 1 },
  ]);
});

test('months', () => {
  assert.equal(addMonths('2026-01', -1), '2025-12');
  assert.equal(addMonths('2026-12', 1), '2027-01');
  assert.equal(addMonths('2026-03', -12), '2025-03');
  assert.deepEqual(monthRange('2026-12'), { from: '2026-12-01', to: '2027-01-01' });
  assert.equal(monthName('2026-03'), '2026年3月');
  assert.ok(validMonth('2026-11') && !validMonth('2026-13') && !validMonth('2026-1'));
  // 2026-01-31 20:00 UTC is 1 February in Beijing
  assert.equal(lastMonth(new Date('2026-01-31T20:00:00Z')), '2026-01');
});

test('change', () => {
  assert.deepEqual(change(110, 100), { text: '+10 (+10.0%)', dir: 'up' });
  assert.deepEqual(change(0.9, 0.95, true), { text: '−5.0个百分点', dir: 'down' });
  assert.deepEqual(change(5, 0), { text: '+5', dir: 'up' });
  assert.deepEqual(change(null, 3), { text: '—', dir: 'flat' });
});

test('filenameOf prefers filename*', () => {
  assert.equal(filenameOf(`attachment; filename="a.xlsx"; filename*=UTF-8''%E5%90%B9%E5%93%A8.xlsx`, 'x'), '吹哨.xlsx');
  assert.equal(filenameOf('attachment; filename="a.xlsx"', 'x'), 'a.xlsx');
  assert.equal(filenameOf('', 'x.xlsx'), 'x.xlsx');
});

test('inTurn keeps the order and at most n running', async () => {
  let running = 0;
  let most = 0;
  const job = (v, ms) => async () => {
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, ms));
    running--;
    return v;
  };
  const got = await inTurn([job('a', 20), job('b', 1), job('c', 5), job('d', 1)], 2);
  assert.deepEqual(got, ['a', 'b', 'c', 'd']);
  assert.equal(most, 2);
});

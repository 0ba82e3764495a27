// Run with `npm test` (node --test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { area, chineseDate, clock, count, dateTime, duration, pct } from './format.js';

test('pct', () => {
  assert.equal(pct(0.9623), '96.2%');
  assert.equal(pct(1), '100.0%');
  assert.equal(pct(0), '0.0%');
  assert.equal(pct(null), '—');
  assert.equal(pct(undefined), '—');
});

test('times are shown in Beijing time', () => {
  // 2026-03-02T16:05:00Z is 3 March 00:05 in Beijing.
  assert.equal(clock('2026-03-02T16:05:00Z'), '00:05');
  assert.equal(dateTime('2026-03-02T16:05:00Z'), '03-03 00:05');
  assert.equal(chineseDate('2026-03-02T16:05:00Z'), '2026年3月3日');
  assert.equal(clock(null), '');
  assert.equal(clock('not a time'), '');
});

test('duration', () => {
  const min = 60000;
  for (const [ms, want] of [
    [-5, '不到1分钟'],
    [30000, '不到1分钟'],
    [12 * min, '12分钟'],
    [60 * min, '1小时'],
    [312 * min, '5小时12分'],
    [1440 * min, '1天'],
    [(3 * 1440 + 5 * 60 + 7) * min, '3天5小时'],
  ]) {
    assert.equal(duration(ms), want, String(ms));
  }
});

test('area and count', () => {
  assert.equal(area(350.4), '350 m²');
  assert.equal(area(12345), '1.2 万m²');
  assert.equal(area(3.456e6), '3.46 km²');
  assert.equal(count(12345), '12,345');
  assert.equal(count(undefined), '–');
});

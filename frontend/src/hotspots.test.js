// Run with `npm test` (node --test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COLD_COLOR, HOT_CLASSES, NONE_COLOR, className, colorExpression, hotspotColor, legendRows, windowText } from './hotspots.js';

const fc = (classes) => ({ type: 'FeatureCollection', features: classes.map((c) => ({ properties: { class: c } })) });

test('every hot class has its own colour and name; cold spots share one', () => {
  assert.equal(HOT_CLASSES.length, 8);
  assert.equal(new Set(HOT_CLASSES.map((c) => c.color)).size, 8);
  assert.equal(hotspotColor('new_hot_spot'), '#ff3b30');
  assert.equal(hotspotColor('persistent_cold_spot'), COLD_COLOR);
  assert.equal(hotspotColor('none'), NONE_COLOR);
  assert.equal(className('intensifying_hot_spot'), '加剧热点');
  assert.equal(className('new_cold_spot'), '冷点');
  assert.ok(!HOT_CLASSES.some((c) => c.color === COLD_COLOR || c.color === NONE_COLOR));
});

test('the colour expression matches every hot class', () => {
  const e = JSON.stringify(colorExpression());
  for (const c of HOT_CLASSES) assert.ok(e.includes(`"${c.cls}","${c.color}"`), c.cls);
  assert.ok(e.includes('_cold_spot'));
});

test('legend rows count hexagons by class', () => {
  const rows = legendRows(fc(['new_hot_spot', 'new_hot_spot', 'persistent_hot_spot', 'new_cold_spot', 'historical_cold_spot', 'none']));
  assert.deepEqual(rows.slice(0, 8).map((r) => r.count), [2, 0, 0, 1, 0, 0, 0, 0]);
  assert.deepEqual(rows.slice(8).map((r) => [r.cls, r.count]), [['cold', 2], ['none', 1]]);
  assert.equal(rows.filter((r) => r.act).length, 2);
  assert.equal(legendRows(fc([])).length, 8);
  assert.equal(legendRows(null).length, 8);
});

test('the window reads in Beijing dates', () => {
  const w = { window: { from: '2026-08-31T00:00:00+08:00', to: '2026-11-23T00:00:00+08:00', slices: new Array(12).fill({}) } };
  assert.equal(windowText(w), '近12周（8月31日–11月22日）');
  assert.equal(windowText({}), '');
});

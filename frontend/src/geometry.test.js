// Run with `npm test` (node --test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bboxOf, bboxOfGeometry, labelPoint, pointInPolygon, polygonsOf, ringArea } from './geometry.js';

const square = (x, y, s) => [
  [x, y],
  [x + s, y],
  [x + s, y + s],
  [x, y + s],
  [x, y],
];

test('ringArea is positive for either winding', () => {
  assert.equal(ringArea(square(0, 0, 2)), 4);
  assert.equal(ringArea([...square(0, 0, 2)].reverse()), 4);
});

test('polygonsOf', () => {
  assert.deepEqual(polygonsOf({ type: 'Polygon', coordinates: [square(0, 0, 1)] }), [[square(0, 0, 1)]]);
  assert.equal(polygonsOf({ type: 'MultiPolygon', coordinates: [[square(0, 0, 1)], [square(5, 5, 1)]] }).length, 2);
  assert.deepEqual(polygonsOf({ type: 'Point', coordinates: [0, 0] }), []);
  assert.deepEqual(polygonsOf(null), []);
});

test('labelPoint sits in the largest polygon', () => {
  const g = {
    type: 'MultiPolygon',
    coordinates: [[square(116.0, 40.5, 0.01)], [square(116.2, 40.5, 0.1)]],
  };
  const [x, y] = labelPoint(g);
  assert.ok(x > 116.2 && x < 116.3, `lon ${x}`);
  assert.ok(y > 40.5 && y < 40.6, `lat ${y}`);
});

test('labelPoint stays inside a U shape, where the bbox centre is outside', () => {
  // A U open to the north: the bbox centre (116.15, 40.55) is in the gap.
  const u = [
    [116.0, 40.5],
    [116.3, 40.5],
    [116.3, 40.6],
    [116.2, 40.6],
    [116.2, 40.52],
    [116.1, 40.52],
    [116.1, 40.6],
    [116.0, 40.6],
    [116.0, 40.5],
  ];
  const [x, y] = labelPoint({ type: 'Polygon', coordinates: [u] });
  const inGap = x > 116.1 && x < 116.2 && y > 40.52;
  assert.ok(!inGap, `label point ${x},${y} is in the gap`);
  assert.ok(x > 116.0 && x < 116.3 && y > 40.5 && y < 40.6);
});

test('labelPoint of nothing is null', () => {
  assert.equal(labelPoint({ type: 'MultiPolygon', coordinates: [] }), null);
  assert.equal(labelPoint(undefined), null);
});

test('bboxOf', () => {
  const fc = {
    type: 'FeatureCollection',
    features: [
      { type: 'Feature', geometry: { type: 'Polygon', coordinates: [square(116, 40, 1)] } },
      { type: 'Feature', geometry: { type: 'MultiPolygon', coordinates: [[square(115.5, 40.5, 0.2)]] } },
    ],
  };
  assert.deepEqual(bboxOf(fc), [115.5, 40, 117, 41]);
  assert.equal(bboxOf({ type: 'FeatureCollection', features: [] }), null);
});

test('pointInPolygon honours holes', () => {
  const poly = [square(0, 0, 10), square(4, 4, 2)];
  assert.equal(pointInPolygon(poly, [1, 1]), true);
  assert.equal(pointInPolygon(poly, [5, 5]), false, 'in the hole');
  assert.equal(pointInPolygon(poly, [11, 5]), false);
});

test('bboxOfGeometry', () => {
  assert.deepEqual(bboxOfGeometry({ type: 'Point', coordinates: [116, 40] }), [116, 40, 116, 40]);
  assert.deepEqual(bboxOfGeometry({ type: 'MultiPoint', coordinates: [[116, 40], [117, 39]] }), [116, 39, 117, 40]);
  assert.deepEqual(bboxOfGeometry({ type: 'MultiPolygon', coordinates: [[square(1, 2, 3)]] }), [1, 2, 4, 5]);
  assert.equal(bboxOfGeometry(null), null);
});

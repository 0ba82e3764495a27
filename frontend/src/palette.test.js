// Run with `npm test` (node --test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hatchLines } from './hatch.js';
import { LOAD_COLORS, MEMBER_COLORS, loadBreaks, loadClass, loadLabels, memberColor } from './palette.js';

test('member colours are distinct and stable', () => {
  const colours = Array.from({ length: 40 }, (_, i) => memberColor(i));
  assert.equal(new Set(colours).size, 40);
  assert.deepEqual(colours.slice(0, MEMBER_COLORS.length), MEMBER_COLORS);
});

// lab converts #rrggbb to CIE L*a*b* (D65).
function lab(hex) {
  const lin = (i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const [r, g, b] = [lin(1), lin(3), lin(5)];
  const f = (v) => (v > 0.008856 ? Math.cbrt(v) : 7.787 * v + 16 / 116);
  const x = f((r * 0.4124 + g * 0.3576 + b * 0.1805) / 0.95047);
  const y = f(r * 0.2126 + g * 0.7152 + b * 0.0722);
  const z = f((r * 0.0193 + g * 0.1192 + b * 0.9505) / 1.08883);
  return [116 * y - 16, 500 * (x - y), 200 * (y - z)];
}
const deltaE = (a, b) => Math.hypot(...lab(a).map((v, i) => v - lab(b)[i]));

test('member colours differ enough to tell apart, on screen and on paper', () => {
  for (let i = 0; i < MEMBER_COLORS.length; i++) {
    for (const bg of ['#070d1a', '#ffffff']) {
      assert.ok(deltaE(MEMBER_COLORS[i], bg) > 40, `${MEMBER_COLORS[i]} is too close to the background ${bg}`);
    }
    for (let j = i + 1; j < MEMBER_COLORS.length; j++) {
      const d = deltaE(MEMBER_COLORS[i], MEMBER_COLORS[j]);
      assert.ok(d >= 20, `${MEMBER_COLORS[i]} and ${MEMBER_COLORS[j]} are too close (ΔE ${d.toFixed(1)})`);
    }
  }
});

test('load classes follow the busiest grid', () => {
  assert.deepEqual(loadBreaks([]), [1, 2, 3, 4]);
  assert.deepEqual(loadBreaks([0, 2, 4]), [1, 2, 3, 4]);
  assert.deepEqual(loadBreaks([3, 40, 17]), [10, 20, 30, 40]);
  assert.deepEqual(loadBreaks([5]), [2, 3, 4, 5]);
  const b = loadBreaks([3, 40, 17]);
  assert.deepEqual([0, 1, 10, 11, 30, 31, 40, 99].map((n) => loadClass(n, b)), [0, 1, 1, 2, 3, 4, 4, 4]);
  assert.deepEqual(loadLabels(b), ['1–10', '11–20', '21–30', '31–40']);
  assert.deepEqual(loadLabels([1, 2, 3, 4]), ['1', '2', '3', '4']);
  assert.equal(LOAD_COLORS.length, 4);
});

test('hatch lines tile seamlessly', () => {
  const size = 12;
  const lines = hatchLines(size, 6);
  // every line is 45° and spans the square top to bottom
  for (const [x0, y0, x1, y1] of lines) {
    assert.equal(y0, 0);
    assert.equal(y1, size);
    assert.equal(x0 - x1, size);
  }
  // the pattern repeats: the lines crossing the left edge continue at the right
  const atTop = new Set(lines.map(([x0]) => ((x0 % size) + size) % size));
  assert.deepEqual([...atTop].sort((a, b) => a - b), [0, 6]);
});

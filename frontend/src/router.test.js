// Run with `npm test` (node --test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { coverageHref, ownVillage, parseRoute, villageHref } from './router.js';

test('parseRoute', () => {
  for (const [path, search, want] of [
    ['/', '', { name: 'wall' }],
    ['', '', { name: 'wall' }],
    ['/coverage', '', { name: 'coverage', parent: '' }],
    ['/coverage/', '?parent=110119101', { name: 'coverage', parent: '110119101' }],
    ['/village/110119101001', '', { name: 'village', code: '110119101001' }],
    ['/village/110119101001/', '', { name: 'village', code: '110119101001' }],
    ['/village/1101191010', '', { name: 'notfound', path: '/village/1101191010' }],
    ['/village/', '', { name: 'notfound', path: '/village' }],
    ['/village/110119101001/meetings', '', { name: 'meetings', code: '110119101001' }],
    ['/village/110119101001/meetings/', '', { name: 'meetings', code: '110119101001' }],
    ['/village/1101191010/meetings', '', { name: 'notfound', path: '/village/1101191010/meetings' }],
    ['/nope', '', { name: 'notfound', path: '/nope' }],
  ]) {
    assert.deepEqual(parseRoute(path, search), want, `${path}${search}`);
  }
});

test('hrefs round-trip through parseRoute', () => {
  const c = new URL(coverageHref('110119101P01'), 'http://x');
  assert.deepEqual(parseRoute(c.pathname, c.search), { name: 'coverage', parent: '110119101P01' });
  assert.equal(coverageHref(''), '/coverage');
  assert.deepEqual(parseRoute(villageHref('110119101001')), { name: 'village', code: '110119101001' });
});

test('ownVillage', () => {
  const u = (role, grid_code) => ({ role, jurisdiction: { grid_code } });
  assert.equal(ownVillage(u('grid_worker', '110119101001')), '110119101001');
  assert.equal(ownVillage(u('party_member', '110119101001003')), '110119101001');
  assert.equal(ownVillage(u('township', '110119101')), null);
  assert.equal(ownVillage(u('command', '110119')), null);
  assert.equal(ownVillage(null), null);
});

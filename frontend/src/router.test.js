// Run with `npm test` (node --test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { coverageHref, hasWorkbench, landing, ledgerHref, ledgerReviewHref, ownVillage, parseRoute, villageHref, whistleHref } from './router.js';

test('parseRoute', () => {
  for (const [path, search, want] of [
    ['/', '', { name: 'wall' }],
    ['', '', { name: 'wall' }],
    ['/coverage', '', { name: 'coverage', parent: '' }],
    ['/import', '', { name: 'import' }],
    ['/import/review/', '', { name: 'review' }],
    ['/import/other', '', { name: 'notfound', path: '/import/other' }],
    ['/coverage/', '?parent=110119101', { name: 'coverage', parent: '110119101' }],
    ['/report', '', { name: 'report' }],
    ['/report/', '?x=1', { name: 'report' }],
    ['/village/110119101001', '', { name: 'village', code: '110119101001' }],
    ['/village/110119101001/', '', { name: 'village', code: '110119101001' }],
    ['/village/1101191010', '', { name: 'notfound', path: '/village/1101191010' }],
    ['/village/', '', { name: 'notfound', path: '/village' }],
    ['/village/110119101001/meetings', '', { name: 'meetings', code: '110119101001' }],
    ['/village/110119101001/meetings/', '', { name: 'meetings', code: '110119101001' }],
    ['/village/1101191010/meetings', '', { name: 'notfound', path: '/village/1101191010/meetings' }],
    ['/nope', '', { name: 'notfound', path: '/nope' }],
    ['/board', '', { name: 'board' }],
    ['/board/', '', { name: 'board' }],
    ['/ledger', '?status=open', { name: 'ledger', view: 'list', status: 'open', level: '' }],
    ['/ledger/42', '', { name: 'ledger', view: 'item', id: 42 }],
    ['/ledger', '?whistle=7&cell=8a31aa6a1a5ffff', { name: 'ledger', view: 'list', status: '', level: '', whistle: '7', cell: '8a31aa6a1a5ffff' }],
    ['/ledger', '?whistle=x&cell=zz', { name: 'ledger', view: 'list', status: '', level: '' }],
    ['/ledger/review', '?period=2026-Q4', { name: 'ledger', view: 'review', period: '2026-Q4' }],
    ['/ledger/x1', '', { name: 'notfound', path: '/ledger/x1' }],
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

test('parseRoute: the workbench and one whistle', () => {
  assert.deepEqual(parseRoute('/work'), { name: 'work', tab: '' });
  assert.deepEqual(parseRoute('/work/', '?tab=report-in'), { name: 'work', tab: 'report-in' });
  assert.deepEqual(parseRoute('/whistles/42'), { name: 'whistle', id: '42' });
  assert.equal(parseRoute('/whistles/0').name, 'notfound');
  assert.equal(parseRoute('/whistles/abc').name, 'notfound');
  assert.equal(parseRoute('/whistles/1/2').name, 'notfound');
});

test('landing: each role starts on its own page', () => {
  assert.equal(landing({ role: 'township' }), '/work');
  assert.equal(landing({ role: 'unit' }), '/work');
  assert.equal(landing({ role: 'grid_worker', jurisdiction: { grid_code: '110119101001' } }), '/report');
  assert.equal(landing({ role: 'party_member', jurisdiction: { grid_code: '110119101001003' } }), '/village/110119101001');
  assert.equal(landing({ role: 'command' }), '/');
  assert.equal(landing({ role: 'screen' }), '/');
  assert.equal(landing(null), '/');
  assert.equal(whistleHref(7), '/whistles/7');
  assert.equal(hasWorkbench({ role: 'unit' }), true);
  assert.equal(hasWorkbench({ role: 'screen' }), false);
});

test('ledger hrefs round-trip through parseRoute', () => {
  assert.deepEqual(parseRoute(ledgerHref(7)), { name: 'ledger', view: 'item', id: 7 });
  const r = new URL(ledgerReviewHref('2026-11'), 'http://x');
  assert.deepEqual(parseRoute(r.pathname, r.search), { name: 'ledger', view: 'review', period: '2026-11' });
});

test('parseRoute: the statistics, the assessment and the monthly report', () => {
  assert.deepEqual(parseRoute('/stats', '?township=110119101&from=2026-01-01'), { name: 'stats', search: 'township=110119101&from=2026-01-01' });
  assert.deepEqual(parseRoute('/assessment', '?year=2025'), { name: 'assessment', year: 2025 });
  assert.deepEqual(parseRoute('/assessment', '?year=25'), { name: 'assessment', year: null });
  assert.deepEqual(parseRoute('/monthly', '?month=2026-03'), { name: 'monthly', month: '2026-03' });
  assert.deepEqual(parseRoute('/monthly/', '?month=2026-13'), { name: 'monthly', month: '' });
});

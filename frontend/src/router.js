// Client-side routes. The Go server answers index.html for every path
// without a file extension (frontend/embed.go), so these paths can be
// bookmarked and reloaded:
//
//   /                  the live wall map (指挥大屏)
//   /coverage[?parent=CODE]  the coverage review (网格覆盖核查)
//   /village/{code}    a village's party-member contact map (党员联系群众网格图)
//   /report            a grid worker's report from the field (网格员上报)
//   /work[?tab=NAME]   the workbench (工作台): the caller's queues
//   /whistles/{id}     one whistle (案件), with the steps the caller may take
//   /ledger[/{id}|/review?period=2026-11]  the rectification ledger (整改台账)
//   /board             the public message board (你说我办), no login
//   /stats?from=&to=&township=&unit=&category=&source=&grade=&period=&metric=&drill=
//                      the statistics (统计分析)
//   /assessment[?year=YYYY]  the two-way assessment (双向考核)
//   /monthly[?month=YYYY-MM] the printable monthly report (月报); /report is
//                      the grid workers' page
//   /village/{code}/meetings  a village's villagers' meetings (村民说事)

/** VILLAGE_CODE matches a 12-digit village division code. */
export const VILLAGE_CODE = /^[0-9]{12}$/;

/**
 * parseRoute turns a location's pathname and search string into
 * { name: 'wall' | 'coverage' | 'village' | 'meetings' | 'import' | 'review' | ... | 'notfound', ... }.
 */
export function parseRoute(pathname, search = '') {
  const path = ('/' + String(pathname || '').replace(/^\/+/, '')).replace(/\/+$/, '') || '/';
  const q = new URLSearchParams(search);
  if (path === '/') return { name: 'wall' };
  if (path === '/coverage') return { name: 'coverage', parent: q.get('parent') || '' };
  if (path === '/report') return { name: 'report' };
  if (path === '/work') return { name: 'work', tab: q.get('tab') || '' };
  const w = /^\/whistles\/([^/]+)$/.exec(path);
  if (w) return /^[1-9][0-9]{0,17}$/.test(w[1]) ? { name: 'whistle', id: w[1] } : { name: 'notfound', path };
  if (path === '/board') return { name: 'board' };
  if (path === '/ledger') {
    const r = { name: 'ledger', view: 'list', status: q.get('status') || '', level: q.get('level') || '' };
    // a whistle or a hotspot place to turn into an item: the form opens filled in
    if (/^[0-9]{1,18}$/.test(q.get('whistle') || '')) r.whistle = q.get('whistle');
    if (/^[0-9a-f]{15}$/.test(q.get('cell') || '')) r.cell = q.get('cell');
    return r;
  }
  if (path === '/ledger/review') return { name: 'ledger', view: 'review', period: q.get('period') || '' };
  const l = /^\/ledger\/([0-9]{1,18})$/.exec(path);
  if (l) return { name: 'ledger', view: 'item', id: Number(l[1]) };
  if (path === '/import') return { name: 'import' };
  if (path === '/import/review') return { name: 'review' };
  if (path === '/stats') return { name: 'stats', search: q.toString() };
  if (path === '/assessment') return { name: 'assessment', year: /^\d{4}$/.test(q.get('year') || '') ? Number(q.get('year')) : null };
  if (path === '/monthly') return { name: 'monthly', month: /^\d{4}-(0[1-9]|1[0-2])$/.test(q.get('month') || '') ? q.get('month') : '' };
  const m = /^\/village\/([^/]+)$/.exec(path);
  if (m) {
    const code = decodeURIComponent(m[1]);
    return VILLAGE_CODE.test(code) ? { name: 'village', code } : { name: 'notfound', path };
  }
  const mm = /^\/village\/([^/]+)\/meetings$/.exec(path);
  if (mm) {
    const code = decodeURIComponent(mm[1]);
    return VILLAGE_CODE.test(code) ? { name: 'meetings', code } : { name: 'notfound', path };
  }
  return { name: 'notfound', path };
}

/** coverageHref is the path of the coverage review of a parent grid ("" for the default). */
export function coverageHref(parent) {
  return parent ? `/coverage?parent=${encodeURIComponent(parent)}` : '/coverage';
}

/** villageHref is the path of a village's contact map. */
export function villageHref(code) {
  return `/village/${encodeURIComponent(code)}`;
}

/**
 * ownVillage returns the village a user belongs to, for the contact-map
 * link: a grid worker's grid is a village (12 digits), a party member's a
 * household grid whose first 12 digits are its village. Others: null.
 */
export function ownVillage(user) {
  const code = user?.jurisdiction?.grid_code || '';
  if (user?.role === 'grid_worker' && code.length === 12) return code;
  if (user?.role === 'party_member' && code.length === 15) return code.slice(0, 12);
  return null;
}

/** whistleHref is the path of one whistle's page. */
export function whistleHref(id) {
  return `/whistles/${encodeURIComponent(id)}`;
}

/**
 * landing is the path a user starts on after login: the workbench for a
 * township or a unit, /report for a grid worker, the village's contact
 * map for a party member, the wall map for the command center and the
 * wall screen.
 */
export function landing(user) {
  switch (user?.role) {
    case 'township':
    case 'unit':
      return '/work';
    case 'grid_worker':
      return '/report';
    case 'party_member': {
      const v = ownVillage(user);
      return v ? villageHref(v) : '/';
    }
  }
  return '/';
}

/** hasWorkbench: the roles with a workbench (工作台). */
export function hasWorkbench(user) {
  return ['command', 'township', 'unit'].includes(user?.role);
}

/** ledgerHref is the path of a ledger item (id), or of the review of a period. */
export function ledgerHref(id) {
  return id ? `/ledger/${encodeURIComponent(id)}` : '/ledger';
}

/** ledgerReviewHref is the path of the review of a period (2026-11 or 2026-Q4). */
export function ledgerReviewHref(period) {
  return period ? `/ledger/review?period=${encodeURIComponent(period)}` : '/ledger/review';
}

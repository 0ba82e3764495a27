// Client-side routes. The Go server answers index.html for every path
// without a file extension (frontend/embed.go), so these paths can be
// bookmarked and reloaded:
//
//   /                  the live wall map (指挥大屏)
//   /coverage[?parent=CODE]  the coverage review (网格覆盖核查)
//   /village/{code}    a village's party-member contact map (党员联系群众网格图)
//   /village/{code}/meetings  a village's villagers' meetings (村民说事)

/** VILLAGE_CODE matches a 12-digit village division code. */
export const VILLAGE_CODE = /^[0-9]{12}$/;

/**
 * parseRoute turns a location's pathname and search string into
 * { name: 'wall' | 'coverage' | 'village' | 'meetings' | 'notfound', ... }.
 */
export function parseRoute(pathname, search = '') {
  const path = ('/' + String(pathname || '').replace(/^\/+/, '')).replace(/\/+$/, '') || '/';
  const q = new URLSearchParams(search);
  if (path === '/') return { name: 'wall' };
  if (path === '/coverage') return { name: 'coverage', parent: q.get('parent') || '' };
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

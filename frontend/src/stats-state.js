// The statistics pages' logic without DOM (/stats, /assessment, /monthly):
// the filters held in the URL, the API queries they make, the category
// tree as a treemap, month arithmetic for the monthly report. Pure, so
// `npm test` checks it.

/** FILTERS are the /stats filters the URL holds, in order. */
export const FILTERS = ['from', 'to', 'township', 'unit', 'category', 'source', 'grade'];

/** PERIODS are the time groupings of the time charts. */
export const PERIODS = { day: '按日', week: '按周', month: '按月' };

/** SOURCES are the clue sources and their Chinese names. */
export const SOURCES = {
  patrol: '网格巡查', hotline: '12345热线', app: '你说我办', forum: '村民说事', hotspot: '未诉先办', sensor: '物联感知',
};

/** GRADES are the whistle grades and their Chinese names. */
export const GRADES = { routine: '普通哨', priority: '重点哨', hard: '疑难哨' };

/** METRICS are what the township map may colour, with their kind. */
export const METRICS = {
  raised: { name: '吹哨数', rate: false },
  ever_overdue: { name: '曾超期', rate: false },
  supervised: { name: '督办数', rate: false },
  report_in_rate: { name: '响应率', rate: true },
  resolution_rate: { name: '解决率', rate: true },
  satisfaction_rate: { name: '满意率', rate: true },
};

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * parseFilters reads the /stats state from a search string: the FILTERS
 * (dates must be YYYY-MM-DD, others are kept as given), period (day, week,
 * month; default month), metric (a METRICS key; default raised) and drill
 * (a township code the township chart is drilled into).
 */
export function parseFilters(search = '') {
  const q = new URLSearchParams(search);
  const out = {};
  for (const k of FILTERS) {
    const v = (q.get(k) || '').trim();
    out[k] = (k === 'from' || k === 'to') && v && !DATE.test(v) ? '' : v;
  }
  out.period = PERIODS[q.get('period')] ? q.get('period') : 'month';
  out.metric = METRICS[q.get('metric')] ? q.get('metric') : 'raised';
  out.drill = /^\d{9}$/.test(q.get('drill') || '') ? q.get('drill') : '';
  return out;
}

/** filtersSearch is the search string of a /stats state, empty values left out ("" for none). */
export function filtersSearch(f) {
  const q = new URLSearchParams();
  for (const k of [...FILTERS, 'period', 'metric', 'drill']) {
    if (!f[k]) continue;
    if (k === 'period' && f[k] === 'month') continue;
    if (k === 'metric' && f[k] === 'raised') continue;
    q.set(k, f[k]);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * apiQuery is the query string of a statistics API call for the filters,
 * grouped by by, with extra parameters (format, township...) overriding.
 * "to" is inclusive on the page (a day) and exclusive in the API: the day
 * after is sent.
 */
export function apiQuery(f, by, extra = {}) {
  const q = new URLSearchParams();
  for (const k of FILTERS) {
    if (!f[k]) continue;
    q.set(k, k === 'to' ? nextDay(f[k]) : f[k]);
  }
  q.set('by', by);
  for (const [k, v] of Object.entries(extra)) {
    if (v === '' || v === undefined || v === null) q.delete(k);
    else q.set(k, v);
  }
  return q.toString();
}

/** nextDay is the day after a YYYY-MM-DD date. */
export function nextDay(date) {
  const [y, m, d] = date.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1, d + 1));
  return t.toISOString().slice(0, 10);
}

/**
 * categoryTreemap turns the category tree ({code, name, children}) and the
 * by=category groups (leaf codes) into ECharts treemap nodes valued by
 * field: parents hold their children's sum, empty branches are left out.
 */
export function categoryTreemap(tree, groups, field = 'raised') {
  const byCode = new Map(groups.map((g) => [g.key, g[field] || 0]));
  const seen = new Set();
  const walk = (node) => {
    const kids = (node.children || []).map(walk).filter(Boolean);
    const own = byCode.get(node.code) || 0;
    if (byCode.has(node.code)) seen.add(node.code);
    const value = own + kids.reduce((s, k) => s + k.value, 0);
    if (!value) return null;
    const out = { name: node.name, code: node.code, value };
    if (kids.length) out.children = own ? [...kids, { name: `${node.name}（其他）`, code: node.code, value: own }] : kids;
    return out;
  };
  const roots = (tree || []).map(walk).filter(Boolean);
  // a group whose code is not in the tree is never dropped
  for (const g of groups) {
    if (!seen.has(g.key) && g[field]) roots.push({ name: g.name || g.key, code: g.key, value: g[field] });
  }
  return roots;
}

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** validMonth reports whether s is a month YYYY-MM. */
export function validMonth(s) {
  return MONTH.test(s || '');
}

/** addMonths moves a YYYY-MM month by n months. */
export function addMonths(month, n) {
  const [, y, m] = MONTH.exec(month);
  const t = Number(y) * 12 + Number(m) - 1 + n;
  return `${Math.floor(t / 12)}-${String((t % 12) + 1).padStart(2, '0')}`;
}

/** monthRange is the API period of a month: from its first day to the next month's. */
export function monthRange(month) {
  return { from: `${month}-01`, to: `${addMonths(month, 1)}-01` };
}

/** monthName is 2026年3月. */
export function monthName(month) {
  const [, y, m] = MONTH.exec(month);
  return `${y}年${Number(m)}月`;
}

/** lastMonth is the month before the one a date falls in (Beijing time), the default report. */
export function lastMonth(now = new Date()) {
  const p = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit' }).format(now);
  return addMonths(p.slice(0, 7), -1);
}

/**
 * change compares a figure with an earlier one: {text, dir} where text is
 * "+12 (+8.3%)" for counts or "+2.1个百分点" for rates, dir up, down or
 * flat; "—" when either is missing.
 */
export function change(cur, prev, rate = false) {
  if (cur === null || cur === undefined || prev === null || prev === undefined) return { text: '—', dir: 'flat' };
  const d = cur - prev;
  const dir = d > 0 ? 'up' : d < 0 ? 'down' : 'flat';
  const sign = d > 0 ? '+' : d < 0 ? '−' : '±';
  if (rate) return { text: `${sign}${Math.abs(d * 100).toFixed(1)}个百分点`, dir };
  const rel = prev ? ` (${sign}${Math.abs((d / prev) * 100).toFixed(1)}%)` : '';
  return { text: `${sign}${Math.abs(d)}${rel}`, dir };
}

/** filenameOf reads a download's name from Content-Disposition (filename* first), else fallback. */
export function filenameOf(header, fallback) {
  const star = /filename\*=UTF-8''([^;]+)/i.exec(header || '');
  if (star) {
    try {
      return decodeURIComponent(star[1]);
    } catch {
      // a broken encoding: the plain name below
    }
  }
  const plain = /filename="([^"]+)"/i.exec(header || '');
  return plain ? plain[1] : fallback;
}

/**
 * inTurn runs the async functions at most n at a time and resolves to
 * their results in order: the statistics pages make many heavy API calls,
 * and the server gives heavy reads few slots (a burst past its queue is
 * refused with 503).
 */
export async function inTurn(fns, n = 2) {
  const out = new Array(fns.length);
  let next = 0;
  const worker = async () => {
    while (next < fns.length) {
      const i = next++;
      out[i] = await fns[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, fns.length) }, worker));
  return out;
}

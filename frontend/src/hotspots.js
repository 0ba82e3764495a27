// The 未诉先办 hotspot layer of the wall map: the emerging hot spot classes
// GET /api/v1/hotspots gives each H3 cell, their Chinese names, colours and
// legend. Pure.

/**
 * HOT_CLASSES are Esri's eight emerging hot spot classes, the ones to act
 * on first: warm colours, the brightest for what is new or growing.
 */
export const HOT_CLASSES = [
  { cls: 'new_hot_spot', name: '新增热点', color: '#ff3b30', act: true },
  { cls: 'intensifying_hot_spot', name: '加剧热点', color: '#ff7a00', act: true },
  { cls: 'consecutive_hot_spot', name: '连续热点', color: '#ff9f43' },
  { cls: 'persistent_hot_spot', name: '持续热点', color: '#c0392b' },
  { cls: 'sporadic_hot_spot', name: '零星热点', color: '#f6c453' },
  { cls: 'oscillating_hot_spot', name: '振荡热点', color: '#e84393' },
  { cls: 'diminishing_hot_spot', name: '减弱热点', color: '#b07a5a' },
  { cls: 'historical_hot_spot', name: '历史热点', color: '#7f6a5d' },
];

/** COLD_COLOR is every cold spot class: few, and shown as one legend row. */
export const COLD_COLOR = '#4aa3df';

/** NONE_COLOR is a cell significant over the window with no trend class. */
export const NONE_COLOR = '#a78bfa';

/** hotspotColor is the fill colour of a cell of class cls. */
export function hotspotColor(cls) {
  const c = HOT_CLASSES.find((x) => x.cls === cls);
  if (c) return c.color;
  if (typeof cls === 'string' && cls.endsWith('_cold_spot')) return COLD_COLOR;
  return NONE_COLOR;
}

/**
 * colorExpression is the MapLibre expression colouring a hexagon by its
 * `class` property.
 */
export function colorExpression() {
  const e = ['match', ['get', 'class']];
  for (const c of HOT_CLASSES) e.push(c.cls, c.color);
  e.push(NONE_COLOR);
  return ['case', ['in', '_cold_spot', ['get', 'class']], COLD_COLOR, e];
}

/**
 * legendRows counts the answer's hexagons by class: a row per hot class
 * (in HOT_CLASSES order, zero counts included), then one for cold spots
 * and one for cells hot over the window without a trend class when there
 * are any.
 */
export function legendRows(fc) {
  const counts = new Map();
  for (const f of fc?.features || []) {
    const cls = f.properties?.class || 'none';
    counts.set(cls, (counts.get(cls) || 0) + 1);
  }
  const rows = HOT_CLASSES.map((c) => ({ cls: c.cls, name: c.name, color: c.color, count: counts.get(c.cls) || 0, act: Boolean(c.act) }));
  let cold = 0;
  for (const [cls, n] of counts) if (cls.endsWith('_cold_spot')) cold += n;
  if (cold) rows.push({ cls: 'cold', name: '冷点', color: COLD_COLOR, count: cold, act: false });
  if (counts.get('none')) rows.push({ cls: 'none', name: '显著（无趋势）', color: NONE_COLOR, count: counts.get('none'), act: false });
  return rows;
}

/** className is the Chinese name of a class. */
export function className(cls) {
  const c = HOT_CLASSES.find((x) => x.cls === cls);
  if (c) return c.name;
  if (typeof cls === 'string' && cls.endsWith('_cold_spot')) return '冷点';
  return '显著聚集';
}

/** windowText describes the answer's window, e.g. "近12周（9月1日–11月24日）". */
export function windowText(fc) {
  const w = fc?.window;
  if (!w?.from || !w?.to) return '';
  const md = (s) => {
    const d = new Date(new Date(s).getTime() + 8 * 3600 * 1000); // Beijing time
    return `${d.getUTCMonth() + 1}月${d.getUTCDate()}日`;
  };
  const last = new Date(new Date(w.to).getTime() - 1);
  return `近${w.slices?.length || ''}周（${md(w.from)}–${md(last)}）`;
}

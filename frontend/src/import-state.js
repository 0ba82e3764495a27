// Pure helpers of the import pages (/import, /import/review): no DOM.

/** KINDS are the kinds of file the command center imports, with their names. */
export const KINDS = [
  { kind: 'hotline', name: '12345 热线工单（xlsx / CSV）' },
  { kind: 'places', name: '地名（小区、道路、地标；CSV / GeoJSON）' },
];

/** PRECISIONS are the placement precisions, finest first, with their names. */
export const PRECISIONS = [
  { key: 'household', name: '户' },
  { key: 'place', name: '地名' },
  { key: 'village', name: '村/社区' },
  { key: 'township', name: '仅街乡' },
  { key: 'none', name: '未定位' },
];

/** summaryRows are the figures of a report as [label, value, testid] rows. */
export function summaryRows(report) {
  const r = report || {};
  const rows = [
    ['读取行数', r.read ?? 0, 'read'],
    ['导入', r.imported ?? 0, 'imported'],
    ['重复（已导入）', r.duplicates ?? 0, 'duplicates'],
    ['拒收', r.rejected ?? 0, 'rejected'],
  ];
  if (r.kind === 'hotline') rows.push(['待人工定位', r.unplaced ?? 0, 'unplaced']);
  return rows;
}

/** precisionRows is the precision histogram as [name, count, share 0..1, key] rows. */
export function precisionRows(report) {
  const p = report?.precisions || {};
  const total = PRECISIONS.reduce((n, x) => n + (p[x.key] || 0), 0);
  return PRECISIONS.map((x) => [x.name, p[x.key] || 0, total ? (p[x.key] || 0) / total : 0, x.key]);
}

/** progressShare is how far an import is, 0..1, from its rows read and the dry run's count (null when unknown). */
export function progressShare(rowsRead, expected) {
  if (!expected || expected <= 0) return null;
  return Math.max(0, Math.min(1, (rowsRead || 0) / expected));
}

/** mayImport: only the command center imports files. */
export function mayImport(user) {
  return user?.role === 'command';
}

/** mayReview: the command center and township operators have a review queue. */
export function mayReview(user) {
  return user?.role === 'command' || user?.role === 'township';
}

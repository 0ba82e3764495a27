// Pure helpers of the import pages (/import, /import/review): no DOM.

/** KINDS are the kinds of file the command center imports, with their names. */
export const KINDS = [
  { kind: 'hotline', name: '12345 热线工单（xlsx / CSV）', accept: '.csv,.xlsx' },
  { kind: 'places', name: '地名（小区、道路、地标；CSV / GeoJSON）', accept: '.csv,.geojson,.json' },
  { kind: 'grids', name: '网格边界（GeoJSON / 压缩的 Shapefile）', accept: '.geojson,.json,.zip' },
  { kind: 'people', name: '人员名册（xlsx）', accept: '.xlsx' },
];

/** OUTCOMES are what an imported grid feature does, with their names. */
export const OUTCOMES = [
  { key: 'new', name: '新增' },
  { key: 'changed', name: '变更' },
  { key: 'unchanged', name: '未变' },
  { key: 'refused', name: '拒收' },
];

/** outcomeName is the Chinese name of a grid feature's outcome. */
export function outcomeName(key) {
  return OUTCOMES.find((x) => x.key === key)?.name ?? key;
}

/** willWrite is how many rows or features confirming would write (0: nothing to confirm). */
export function willWrite(kind, report) {
  const r = report || {};
  if (kind === 'grids') return (r.totals?.new ?? 0) + (r.totals?.changed ?? 0);
  if (kind === 'people') return r.bad?.length ? 0 : (r.new ?? 0) + (r.updated ?? 0);
  return r.imported ?? 0;
}

/** expectedRows is what an import's rows_read counts up to, from its dry run. */
export function expectedRows(kind, report) {
  if (kind === 'grids') return report?.features?.length ?? 0;
  if (kind === 'people') return report?.rows ?? 0;
  return report?.read ?? 0;
}

/** reportMessage says in a sentence what a grids or people report means (hotline and places carry their own). */
export function reportMessage(kind, report, dryRun) {
  const r = report || {};
  if (kind === 'grids') {
    const t = r.totals || {};
    const head = `${r.features?.length ?? 0} 个要素：新增 ${t.new ?? 0}，变更 ${t.changed ?? 0}，未变 ${t.unchanged ?? 0}，拒收 ${t.refused ?? 0}`;
    if (dryRun) return `${head}。尚未写入${willWrite(kind, r) ? '，确认后写入新增和变更的网格（拒收的不写入）' : '，没有需要写入的网格'}。`;
    return `${head}。${r.applied ? '已写入网格历史' : '没有写入任何网格'}。`;
  }
  if (kind === 'people') {
    if (r.bad?.length) return `${r.rows ?? 0} 行中有 ${r.bad.length} 处错误，整份名册不会写入；请改正后重新上传。`;
    const head = `${r.rows ?? 0} 行：新增 ${r.new ?? 0}，更新 ${r.updated ?? 0}，未变 ${r.unchanged ?? 0}`;
    if (dryRun) return `${head}。尚未写入。`;
    return `${head}。${r.applied ? '已写入' : '没有需要写入的变化'}。`;
  }
  return r.message ?? '';
}

/** PRECISIONS are the placement precisions, finest first, with their names. */
export const PRECISIONS = [
  { key: 'household', name: '户' },
  { key: 'place', name: '地名' },
  { key: 'village', name: '村/社区' },
  { key: 'township', name: '仅街乡' },
  { key: 'none', name: '未定位' },
];

/** summaryRows are the figures of a report as [label, value, testid] rows; kind defaults to the report's. */
export function summaryRows(report, kind = report?.kind) {
  const r = report || {};
  if (kind === 'grids') {
    return [['要素', r.features?.length ?? 0, 'features'], ...OUTCOMES.map((x) => [x.name, r.totals?.[x.key] ?? 0, x.key])];
  }
  if (kind === 'people') {
    return [['读取行数', r.rows ?? 0, 'read'], ['新增', r.new ?? 0, 'new'], ['更新', r.updated ?? 0, 'updated'],
      ['未变', r.unchanged ?? 0, 'unchanged'], ['错误', r.bad?.length ?? 0, 'bad']];
  }
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

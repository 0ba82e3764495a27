// The rectification ledger's logic without DOM (ledger.js draws it):
// names of levels, statuses and sources, periods, and who may act on an
// item (a hint for the buttons; the server decides).

export const LEVEL_NAMES = { township: '乡镇督办', department: '区级部门督办', command: '指挥中心督办' };
export const STATUS_NAMES = { open: '整改中', writeoff_requested: '申请销账', closed: '已销账' };
export const SOURCE_NAMES = {
  inspection: '督查检查',
  assessment: '考核评价',
  hotspot: '热点研判',
  complaints: '反复投诉',
  person: '个人反映',
};
export const ENTRY_NAMES = {
  created: '建立台账',
  progress: '整改进展',
  writeoff: '申请销账',
  approve: '同意销账',
  reject: '驳回销账',
  rise: '升级督办',
  edit: '修改',
};

/** PERIOD matches a review period: a month 2026-11 or a quarter 2026-Q4. */
export const PERIOD = /^[0-9]{4}-(0[1-9]|1[0-2]|Q[1-4])$/;

/** monthOf is the month period (YYYY-MM) of a date, in Beijing time. */
export function monthOf(date) {
  const b = new Date(date.getTime() + 8 * 3600e3);
  return `${b.getUTCFullYear()}-${String(b.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** quarterOf is the quarter period (YYYY-Qn) of a date, in Beijing time. */
export function quarterOf(date) {
  const b = new Date(date.getTime() + 8 * 3600e3);
  return `${b.getUTCFullYear()}-Q${Math.floor(b.getUTCMonth() / 3) + 1}`;
}

/** periodTitle is a period in Chinese: 2026年11月, 2026年第四季度. */
export function periodTitle(p) {
  if (!PERIOD.test(p || '')) return '';
  const [y, rest] = p.split('-');
  if (rest.startsWith('Q')) return `${y}年第${'一二三四'[Number(rest[1]) - 1]}季度`;
  return `${y}年${Number(rest)}月`;
}

/** recentPeriods lists the last n months and the last quarters before now, newest first. */
export function recentPeriods(now, n = 12) {
  const out = [];
  const b = new Date(now.getTime() + 8 * 3600e3);
  let y = b.getUTCFullYear();
  let m = b.getUTCMonth();
  for (let i = 0; i < n; i++) {
    out.push(`${y}-${String(m + 1).padStart(2, '0')}`);
    if (--m < 0) {
      m = 11;
      y--;
    }
  }
  let qy = b.getUTCFullYear();
  let q = Math.floor(b.getUTCMonth() / 3);
  for (let i = 0; i < Math.ceil(n / 3); i++) {
    out.push(`${qy}-Q${q + 1}`);
    if (--q < 0) {
      q = 3;
      qy--;
    }
  }
  return out;
}

/** isResponsible: the user is the item's responsible township or unit. */
export function isResponsible(user, item) {
  const r = item?.responsible;
  if (!user || !r) return false;
  if (r.kind === 'township') return user.role === 'township' && user.jurisdiction?.grid_code === r.code;
  return user.role === 'unit' && user.jurisdiction?.unit_code === r.code;
}

/**
 * mayDo lists the actions the user may try on an item: progress, done,
 * writeoff, review, edit. A hint for the buttons; the server decides.
 */
export function mayDo(user, item) {
  const out = new Set();
  if (!user || !item || item.status === 'closed' || user.role === 'screen') return out;
  const resp = isResponsible(user, item);
  const command = user.role === 'command';
  if (resp || command) {
    out.add('progress');
    out.add('done');
  }
  if (command) out.add('edit');
  if (resp && item.status === 'open') out.add('writeoff');
  const supervises = user.role === 'unit' && item.supervising_unit && user.jurisdiction?.unit_code === item.supervising_unit.code;
  if (!resp && (command || supervises) && item.status === 'writeoff_requested') out.add('review');
  return out;
}

/** dueText is a deadline for a list: 2026-11-30, with 已逾期 when past and not done. */
export function dueText(iso, overdue) {
  if (!iso) return '—';
  const b = new Date(new Date(iso).getTime() + 8 * 3600e3);
  const d = `${b.getUTCFullYear()}-${String(b.getUTCMonth() + 1).padStart(2, '0')}-${String(b.getUTCDate()).padStart(2, '0')}`;
  return overdue ? `${d}（已逾期）` : d;
}

// The workbench's logic without DOM (work.js draws it): tab names, the
// countdown text of a deadline, the query of a queue page, which stream
// events change the lists, and the notice a summoned unit gets.

/** TAB_NAMES are the Chinese names of the workbench tabs (whistle.Tabs). */
export const TAB_NAMES = {
  clues: '待处理线索',
  open: '在办',
  approval: '待审核',
  rate: '待评价',
  done: '已办结',
  'report-in': '待报到',
  resolving: '办理中',
  contest: '待复议',
  overdue: '超期督办',
  rule: '疑难待定责',
  all: '全部',
};

/** DEADLINE_TABS count down to a deadline on each item. */
export const DEADLINE_TABS = new Set(['open', 'report-in', 'resolving', 'contest', 'overdue', 'rule', 'all']);

/** FILTERS are the filters each role's queues take; the command center's add township and unit. */
export function filtersFor(role) {
  const base = ['grade', 'status', 'category', 'from', 'to'];
  return role === 'command' ? ['township', 'unit', ...base] : base;
}

const MINUTE = 60 * 1000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** span formats a positive duration in ms as 2天3小时, 3小时12分 or 12分 (under a minute: 不足1分). */
export function span(ms) {
  const d = Math.floor(ms / DAY);
  const hr = Math.floor((ms % DAY) / HOUR);
  const m = Math.floor((ms % HOUR) / MINUTE);
  if (d > 0) return `${d}天${hr}小时`;
  if (hr > 0) return `${hr}小时${m}分`;
  if (m > 0) return `${m}分`;
  return '不足1分';
}

/**
 * countdown is what a deadline shows at now (ms): {text, overdue}: "剩 3小时12分"
 * before it, "超期 2小时" after it; null for no deadline.
 */
export function countdown(due, now) {
  const t = due ? new Date(due).getTime() : NaN;
  if (!Number.isFinite(t)) return null;
  const left = t - now;
  return left >= 0 ? { text: `剩 ${span(left)}`, overdue: false } : { text: `超期 ${span(-left)}`, overdue: true };
}

/**
 * queueQuery builds the query string of a queue page from the filters
 * (empty values left out), the sort and after (the next cursor of the
 * page before, as every list of the API pages).
 */
export function queueQuery(filters = {}, { sort = '', after = '', limit = 0 } = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) {
    if (v !== undefined && v !== null && String(v).trim() !== '') q.set(k, String(v).trim());
  }
  if (sort) q.set('sort', sort);
  if (after) q.set('after', after);
  if (limit) q.set('limit', String(limit));
  return q.toString();
}

/** changesQueues reports whether a stream event may change a queue or a count. */
export function changesQueues(ev) {
  const kind = String(ev?.kind || '');
  return kind.startsWith('whistle.') || kind.startsWith('clue.');
}

/**
 * summonNotice is the in-page notice a unit gets for a stream event, or
 * null: a whistle raised or joined that summons it (the stream sends a
 * unit only its own whistles), a ruling that names it, a supervision
 * notice to it.
 */
export function summonNotice(ev, user) {
  if (user?.role !== 'unit') return null;
  const d = ev?.data || {};
  const w = d.whistle || d;
  const id = w?.id ?? d.id;
  const what = [w?.township_name, w?.category_name].filter(Boolean).join(' ');
  const mine = (u) => u && user?.jurisdiction?.unit_code && u.code === user.jurisdiction.unit_code;
  switch (ev?.kind) {
    case 'whistle.raised':
      return { id, text: `新哨单 #${id ?? ''}${what ? `：${what}` : ''}，请及时报到` };
    case 'whistle.ruled':
      return mine(d.unit) ? { id, text: `哨单 #${id ?? ''} 定责由本单位牵头办理` } : null;
    case 'whistle.supervised':
      return mine(d.unit) ? { id, text: `哨单 #${id ?? ''} 被督办，请尽快处理` } : null;
  }
  return null;
}

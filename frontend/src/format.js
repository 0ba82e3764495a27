// Formatting for the screen: rates, times (always Beijing time, whatever the
// browser's zone: the wall map and its users are in 延庆区), durations and
// areas. Pure, so `npm test` checks them.

/** TIME_ZONE is the zone every time on the page is shown in. */
export const TIME_ZONE = 'Asia/Shanghai';

const parts = (d, opts) => {
  const out = {};
  for (const p of new Intl.DateTimeFormat('en-GB', { timeZone: TIME_ZONE, hourCycle: 'h23', ...opts }).formatToParts(d)) {
    out[p.type] = p.value;
  }
  return out;
};

function toDate(v) {
  if (v instanceof Date) return v;
  if (v === null || v === undefined || v === '') return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** pct formats a rate in [0, 1] as "96.2%", and a missing rate (null) as "—". */
export function pct(rate, digits = 1) {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return '—';
  return `${(rate * 100).toFixed(digits)}%`;
}

/** clock formats a time as HH:MM in Beijing time. */
export function clock(v) {
  const d = toDate(v);
  if (!d) return '';
  const p = parts(d, { hour: '2-digit', minute: '2-digit' });
  return `${p.hour}:${p.minute}`;
}

/** dateTime formats a time as MM-DD HH:MM in Beijing time. */
export function dateTime(v) {
  const d = toDate(v);
  if (!d) return '';
  const p = parts(d, { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
  return `${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

/** chineseDate formats a date as 2026年3月3日 in Beijing time. */
export function chineseDate(v) {
  const d = toDate(v);
  if (!d) return '';
  const p = parts(d, { year: 'numeric', month: 'numeric', day: 'numeric' });
  return `${p.year}年${Number(p.month)}月${Number(p.day)}日`;
}

/**
 * duration formats a span in milliseconds the way a dispatcher says it:
 * "3天5小时", "5小时12分", "12分钟", "不到1分钟". Negative spans count as 0.
 */
export function duration(ms) {
  const min = Math.floor(Math.max(0, ms) / 60000);
  if (min < 1) return '不到1分钟';
  const days = Math.floor(min / 1440);
  const hours = Math.floor((min % 1440) / 60);
  const mins = min % 60;
  if (days > 0) return hours ? `${days}天${hours}小时` : `${days}天`;
  if (hours > 0) return mins ? `${hours}小时${mins}分` : `${hours}小时`;
  return `${mins}分钟`;
}

/** area formats square metres: "350 m²", "1.2 万m²", "3.45 km²". */
export function area(m2) {
  if (!Number.isFinite(m2)) return '';
  if (m2 >= 1e6) return `${(m2 / 1e6).toFixed(2)} km²`;
  if (m2 >= 1e4) return `${(m2 / 1e4).toFixed(1)} 万m²`;
  return `${Math.round(m2)} m²`;
}

/** count formats a whole number with thousands separators, "–" when missing. */
export function count(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  return n.toLocaleString('zh-CN');
}

// The wall map's state: the open whistles, today's figures and the rates,
// loaded from a snapshot (GET /api/v1/snapshot) and moved forward by the
// live events (GET /api/v1/live) without reloading. Pure: no DOM, no map,
// so `npm test` checks it with made-up events.
import { GRADE_NAMES, SOURCE_NAMES } from './names.js';

/** GRADES are the whistle grades, mildest first. */
export const GRADES = ['routine', 'priority', 'hard'];
/** OPEN_STATUSES are the statuses of a whistle that is not closed. */
export const OPEN_STATUSES = ['raised', 'in_progress', 'awaiting_approval'];
/** NEW_MS is how long a whistle counts as new (it pulses on the map): 10 minutes. */
export const NEW_MS = 10 * 60 * 1000;

const DAY_MS = 24 * 3600 * 1000;
const BEIJING_OFFSET_MS = 8 * 3600 * 1000; // Asia/Shanghai has no daylight saving

/** beijingDay is the number of the calendar day (in Beijing) a time falls on. */
export function beijingDay(t) {
  return Math.floor((new Date(t).getTime() + BEIJING_OFFSET_MS) / DAY_MS);
}

const time = (v) => (v ? new Date(v).getTime() : NaN);

/**
 * normalise turns a snapshot whistle or an event's whistle summary into the
 * one shape the page uses; times become epoch milliseconds.
 */
export function normalise(w) {
  return {
    id: w.id,
    lon: Number.isFinite(w.lon) ? w.lon : null,
    lat: Number.isFinite(w.lat) ? w.lat : null,
    grade: w.grade,
    status: w.status,
    overdue: Boolean(w.overdue),
    category: w.category,
    categoryName: w.category_name || w.category || '',
    township: w.township,
    townshipName: w.township_name || '',
    grid: w.grid || '',
    raisedAt: time(w.raised_at),
    reportInDue: time(w.report_in_due),
    resolveDue: time(w.resolve_due),
    clueCount: w.clue_count ?? null,
    // 风险研判: the reasons a clue of it was flagged high-risk, or null
    risk: w.risk?.reasons?.length ? w.risk.reasons : null,
  };
}

/**
 * overdueSince is when an open whistle became overdue (epoch ms), or null:
 * the report-in deadline while nobody has reported in, else the resolve
 * deadline; a whistle the server marked overdue counts from its report-in
 * deadline when neither has passed by the local clock.
 */
export function overdueSince(w, now) {
  const passed = [];
  if (w.status === 'raised' && w.reportInDue < now) passed.push(w.reportInDue);
  if (w.resolveDue < now) passed.push(w.resolveDue);
  if (passed.length) return Math.min(...passed);
  return w.overdue ? w.reportInDue : null;
}

/** isOverdue reports whether an open whistle is overdue at now. */
export function isOverdue(w, now) {
  return overdueSince(w, now) !== null;
}

export class WallState {
  constructor() {
    this.reset();
  }

  reset() {
    /** @type {Map<number, ReturnType<typeof normalise>>} */
    this.whistles = new Map();
    this.seq = 0;
    this.at = null;
    this.today = { clues_received: 0, whistles_raised: 0, whistles_closed: 0 };
    this.todayDay = null;
    this.rates = null;
    this.arrived = new Map(); // whistle id → when it arrived live (epoch ms)
  }

  /** loadSnapshot replaces the state with a snapshot's. */
  loadSnapshot(snap, now = Date.now()) {
    this.reset();
    this.seq = snap.seq || 0;
    this.at = snap.at ? time(snap.at) : now;
    for (const w of snap.whistles || []) this.whistles.set(w.id, normalise(w));
    this.today = { ...this.today, ...(snap.today || {}) };
    this.todayDay = beijingDay(this.at);
    this.rates = snap.rates || null;
  }

  /**
   * refreshFigures takes today's figures and the rates of a later snapshot,
   * when it is at least as recent as the events already applied; the
   * whistles stay as the events left them.
   */
  refreshFigures(snap) {
    if ((snap.seq || 0) < this.seq) return false;
    this.today = { ...this.today, ...(snap.today || {}) };
    this.todayDay = beijingDay(snap.at ? time(snap.at) : Date.now());
    this.rates = snap.rates || this.rates;
    return true;
  }

  /**
   * apply moves the state forward by one live event
   * ({seq, kind, at, township, data}). It returns null for an event already
   * applied (seq not above the last), else what changed: {kind, whistle,
   * added, removed}.
   */
  apply(ev, now = Date.now()) {
    if (!ev || !(ev.seq > this.seq)) return null;
    this.seq = ev.seq;
    const data = ev.data || {};
    const change = { kind: ev.kind, whistle: null, added: false, removed: false };
    if (data.whistle && data.whistle.id !== undefined) {
      const w = normalise(data.whistle);
      const had = this.whistles.has(w.id);
      if (w.status === 'closed') {
        this.whistles.delete(w.id);
        this.arrived.delete(w.id);
        change.removed = had;
      } else {
        this.whistles.set(w.id, w);
        if (!had) this.arrived.set(w.id, now);
        change.added = !had;
      }
      change.whistle = w;
    }
    const day = beijingDay(ev.at ? time(ev.at) : now);
    if (this.todayDay === null || day > this.todayDay) {
      if (this.todayDay !== null) this.today = { clues_received: 0, whistles_raised: 0, whistles_closed: 0 };
      this.todayDay = day;
    }
    if (day === this.todayDay) {
      if (ev.kind === 'whistle.raised') this.today.whistles_raised++;
      else if (ev.kind === 'whistle.closed') this.today.whistles_closed++;
      else if (ev.kind === 'clue.received') this.today.clues_received++;
    }
    return change;
  }

  /** counts counts the open whistles: open, overdue, by grade and by status. */
  counts(now = Date.now()) {
    const c = {
      open: 0,
      overdue: 0,
      by_grade: Object.fromEntries(GRADES.map((g) => [g, 0])),
      by_status: Object.fromEntries(OPEN_STATUSES.map((s) => [s, 0])),
    };
    for (const w of this.whistles.values()) {
      c.open++;
      if (isOverdue(w, now)) c.overdue++;
      if (w.grade in c.by_grade) c.by_grade[w.grade]++;
      if (w.status in c.by_status) c.by_status[w.status]++;
    }
    return c;
  }

  /** loadBy counts the open whistles per key (key(w) → string, skipped when falsy). */
  loadBy(key) {
    const out = new Map();
    for (const w of this.whistles.values()) {
      const k = key(w);
      if (k) out.set(k, (out.get(k) || 0) + 1);
    }
    return out;
  }

  /** isNew reports whether a whistle was raised, or arrived live, in the last NEW_MS. */
  isNew(w, now = Date.now()) {
    const arrived = this.arrived.get(w.id);
    return now - w.raisedAt < NEW_MS || (arrived !== undefined && now - arrived < NEW_MS);
  }

  /** mostOverdue returns up to n overdue whistles, longest overdue first, with {since, for}. */
  mostOverdue(now = Date.now(), n = 5) {
    const out = [];
    for (const w of this.whistles.values()) {
      const since = overdueSince(w, now);
      if (since !== null) out.push({ whistle: w, since, for: now - since });
    }
    out.sort((a, b) => a.since - b.since || a.whistle.id - b.whistle.id);
    return out.slice(0, n);
  }
}

/**
 * tickerText is the one-line Chinese text of an event for the ticker, e.g.
 * "康庄镇 吹哨：占道经营". names.township(code) and names.category(code)
 * fill in what an event carries only as a code.
 */
export function tickerText(ev, names = {}) {
  const d = ev?.data || {};
  const w = d.whistle || {};
  const place = w.township_name || names.township?.(ev.township) || '';
  const cat = w.category_name || names.category?.(d.clue?.category) || d.clue?.category || w.category || '';
  const unit = d.unit?.name || d.unit?.code || '';
  const at = (s) => [place, s].filter(Boolean).join(' ');
  const pc = [place, cat].filter(Boolean).join(' ');
  switch (ev?.kind) {
    case 'whistle.raised':
      return at(`吹哨：${cat}`);
    case 'whistle.joined':
      return at(`并哨：${cat}${d.clue_count ? `（第${d.clue_count}条线索）` : ''}`);
    case 'whistle.reported_in':
      return `${unit || '部门'} 报到：${pc}`;
    case 'whistle.resolved':
      return `${unit || '部门'} 办结：${pc}`;
    case 'whistle.closed':
      return at(`结案：${cat}`);
    case 'whistle.returned':
      return at(`退回：${cat}`);
    case 'whistle.rated':
      return at(`评价${unit ? ` ${unit}` : ''}：${cat}`);
    case 'whistle.escalated':
      return at(`升级为${GRADE_NAMES[d.to] || '更高等级'}：${cat}`);
    case 'whistle.overdue':
      return at(`超期：${cat}`);
    case 'whistle.supervised':
      return `督办${unit ? ` ${unit}` : ''}：${pc}`;
    case 'whistle.consulted':
      return at(`二次会商：${cat}`);
    case 'whistle.ruled':
      return `疑难定责${unit ? ` ${unit}` : ''}：${pc}`;
    case 'whistle.contested':
      return `${unit || '部门'} 复议定责：${pc}`;
    case 'clue.received':
      return at(`${SOURCE_NAMES[d.clue?.source] || ''}线索：${cat}`);
    case 'grid.edited':
      return `网格调整：${names.grid?.(d.code) || d.code || ''}`;
    case 'ledger.rose':
      return at(`整改台账升级督办：${d.ledger?.title || ''}`);
    default:
      return at(ev?.kind || '');
  }
}

/** tickerTone is the ticker colour class of an event kind. */
export function tickerTone(kind) {
  switch (kind) {
    case 'whistle.raised':
    case 'whistle.escalated':
      return 'tone-raise';
    case 'whistle.overdue':
    case 'whistle.supervised':
    case 'whistle.returned':
      return 'tone-alarm';
    case 'whistle.closed':
    case 'whistle.resolved':
    case 'whistle.reported_in':
      return 'tone-good';
    default:
      return 'tone-info';
  }
}

// The live wall map at "/" (指挥大屏): the grid map with the open whistles,
// a side panel with today's figures, the three rates, a ticker of the
// latest events and the most overdue whistles, a township filter, and the
// connection state. It loads a snapshot, then applies the live events
// without reloading; see live.js for how it reconnects.
//
// Test hooks: [data-testid=open-whistles] (the number of open whistles),
// [data-testid=event-ticker] (the ticker), [data-testid=live-state]
// (data-state: connecting | open | reconnecting | unavailable),
// [data-testid=township-filter], [data-testid=whistle-drawer],
// [data-testid=hotspot-toggle] (the 未诉先办 layer's switch),
// [data-testid=hotspot-category] (its category picker) and
// [data-testid=hotspot-legend] (data-state: loading | loaded | error;
// data-features: hexagons in the answer; data-rendered: hexagons the map
// drew; a row per class with data-class and its count).
import * as api from './api.js';
import { clear, h } from './dom.js';
import { chineseDate, clock, count, dateTime, duration, pct } from './format.js';
import { GridMap } from './wall-map.js';
import { LiveClient, backoffDelay } from './live.js';
import { ACTION_NAMES, GRADE_NAMES, OUTCOME_NAMES, SOURCE_NAMES, STATUS_NAMES, SUMMONS_ROLE_NAMES } from './names.js';
import { GRADE_COLORS, LOAD_COLORS, OVERDUE_COLOR, loadLabels } from './palette.js';
import { legendRows, windowText } from './hotspots.js';
import { GRADES, WallState, isOverdue, tickerText, tickerTone } from './wall-state.js';
import { whistleHref } from './router.js';
// Last, so the page's rules win ties with maplibre-gl.css.
import './wall.css';

/** TICKER_SIZE is how many events the ticker keeps. */
const TICKER_SIZE = 40;
/** BACKLOG is how many events before the snapshot the ticker starts with. */
const BACKLOG = 40;
/** FIGURES_EVERY is how often today's figures and the rates are re-read (ms). */
const FIGURES_EVERY = 5 * 60 * 1000;

const STATE_TEXT = {
  connecting: '连接中…',
  open: '已连接',
  reconnecting: '重连中…',
  reload: '重新加载…',
  unavailable: '实时服务不可用',
  revoked: '登录已失效',
};

/** HOTSPOT_ROLES may see the hotspot analysis. */
const HOTSPOT_ROLES = new Set(['command', 'screen', 'township', 'unit']);

/** WALL_ROLES may switch the township the wall follows. */
const FILTER_ROLES = new Set(['command', 'screen', 'unit']);

function flattenCategories(nodes, out = new Map()) {
  for (const n of nodes || []) {
    out.set(n.code, n.name);
    flattenCategories(n.children, out);
  }
  return out;
}

export class WallPage {
  /**
   * view is the element the page fills; ctx: {user, setStatus, setReady,
   * setCounts, onUnauthorized}.
   */
  constructor(view, ctx) {
    this.view = view;
    this.ctx = ctx;
    this.state = new WallState();
    this.township = '';
    this.categories = new Map();
    this.villageOfWhistle = new Map();
    this.timers = [];
    this.retry = null;
    this.retries = 0;
    this.renderQueued = false;
    this.destroyed = false;
    this.backlogDone = false;
    this.#build();
    this.live = new LiveClient({
      url: (since) => api.liveURL({ since, township: this.township }),
      onEvent: (ev) => this.#onEvent(ev),
      onState: (s, info) => this.#setLiveState(s, info),
      onReload: () => this.#loadSnapshot(),
      onTrouble: () => this.#checkSession(),
    });
  }

  #build() {
    const ui = (this.ui = {});
    ui.map = h('div', { id: 'map', class: 'wall-map', 'aria-label': '延庆区网格地图' });
    ui.open = h('span', { class: 'kpi-value', 'data-testid': 'open-whistles', text: '–' });
    ui.overdue = h('span', { class: 'kpi-value', 'data-testid': 'overdue-whistles', text: '–' });
    ui.grades = {};
    for (const g of GRADES) ui.grades[g] = h('b', { 'data-testid': `grade-${g}`, text: '–' });
    ui.statuses = {};
    for (const s of ['raised', 'in_progress', 'awaiting_approval']) ui.statuses[s] = h('b', { text: '–' });
    ui.today = {
      clues_received: h('b', { 'data-testid': 'today-clues', text: '–' }),
      whistles_raised: h('b', { 'data-testid': 'today-raised', text: '–' }),
      whistles_closed: h('b', { 'data-testid': 'today-closed', text: '–' }),
    };
    ui.rates = {};
    const rate = (key, label, title, into = ui.rates) => {
      const value = h('span', { class: 'rate-value', 'data-testid': `rate-${key}`, text: '—' });
      const bar = h('span', { class: 'rate-bar-fill' });
      const frac = h('span', { class: 'rate-frac' });
      into[key] = { value, bar, frac };
      return h('div', { class: 'rate', title }, h('span', { class: 'rate-label', text: label }), value, h('span', { class: 'rate-bar' }, bar), frac);
    };
    // the residents' own answer at the callback (回访), beside the
    // township's rating of the units: two figures, each named
    ui.resident = {};
    ui.liveState = h('span', { class: 'live-state', 'data-testid': 'live-state', 'data-state': 'connecting', role: 'status' },
      h('span', { class: 'live-dot' }), h('span', { class: 'live-text', text: STATE_TEXT.connecting }));
    ui.filter = h('select', { class: 'township-filter', 'data-testid': 'township-filter', 'aria-label': '选择街乡镇', onchange: () => this.#setTownship(ui.filter.value) },
      h('option', { value: '', text: '全区' }));
    ui.clock = h('time', { class: 'wall-clock' });
    ui.ticker = h('ol', { class: 'ticker', 'data-testid': 'event-ticker', 'aria-live': 'polite' });
    ui.tickerEmpty = h('p', { class: 'empty', text: '暂无动态' });
    ui.overdueList = h('ol', { class: 'overdue-list', 'data-testid': 'overdue-list' });
    ui.rateWindow = h('span', { class: 'section-note', text: '近30日' });
    ui.scope = h('span', { class: 'panel-scope', text: '全区' });

    ui.panel = h('aside', { class: 'wall-panel', 'aria-label': '实时态势' },
      h('div', { class: 'panel-head' }, h('h2', { text: '实时态势' }), ui.scope, ui.liveState),
      h('div', { class: 'panel-row' }, ui.filter, ui.clock),
      h('section', { class: 'kpis' },
        h('div', { class: 'kpi kpi-main' }, ui.open, h('span', { class: 'kpi-label', text: '在办哨单' })),
        h('div', { class: 'kpi kpi-danger' }, ui.overdue, h('span', { class: 'kpi-label', text: '超期' })),
        h('div', { class: 'kpi-grades' }, GRADES.map((g) =>
          h('span', { class: `grade-chip grade-${g}` }, h('i', { style: { background: GRADE_COLORS[g] } }), GRADE_NAMES[g], ui.grades[g]))),
        h('div', { class: 'kpi-statuses' },
          h('span', {}, '待报到 ', ui.statuses.raised), h('span', {}, '办理中 ', ui.statuses.in_progress), h('span', {}, '待审核 ', ui.statuses.awaiting_approval))),
      h('section', { class: 'today' },
        h('h3', {}, '今日'),
        h('div', { class: 'today-grid' },
          h('span', {}, '收到线索', ui.today.clues_received), h('span', {}, '吹哨', ui.today.whistles_raised), h('span', {}, '结案', ui.today.whistles_closed))),
      h('section', { class: 'rates' }, h('h3', {}, '一哨三评 ', ui.rateWindow),
        rate('report_in', '响应率'), rate('resolution', '解决率'),
        rate('satisfaction', '街乡评价', '街乡对承办单位的满意度评价：评4分、5分的占比'),
        rate('resident', '居民满意率', '指挥中心回访居民：满意和基本满意的占比（近30日立哨、已回访的哨单）', ui.resident)),
      h('section', { class: 'ticker-box' }, h('h3', {}, '最新动态'), ui.tickerEmpty, ui.ticker),
      h('section', { class: 'overdue-box' }, h('h3', {}, '超期最久'), ui.overdueList),
    );

    ui.legend = h('div', { class: 'map-legend', 'aria-label': '图例' },
      h('div', { class: 'legend-title', text: '哨单' }),
      GRADES.map((g) => h('div', { class: 'legend-row' }, h('i', { class: 'dot', style: { background: GRADE_COLORS[g] } }), GRADE_NAMES[g])),
      h('div', { class: 'legend-row' }, h('i', { class: 'dot ring', style: { borderColor: OVERDUE_COLOR } }), '超期（闪烁）'),
      (ui.legendLoadTitle = h('div', { class: 'legend-title', text: '街乡镇在办哨单' })),
      (ui.legendRamp = h('div', { class: 'legend-ramp' })),
      (ui.hotspotSwitch = h('label', { class: 'legend-title legend-switch', hidden: !HOTSPOT_ROLES.has(this.ctx.user?.role) },
        (ui.hotspotToggle = h('input', { type: 'checkbox', 'data-testid': 'hotspot-toggle', onchange: () => this.#showHotspots(ui.hotspotToggle.checked) })),
        '未诉先办热点')),
      (ui.hotspotCategory = h('select', { class: 'hotspot-category', 'data-testid': 'hotspot-category', 'aria-label': '热点类别', hidden: true,
        onchange: () => this.#loadHotspots() }, h('option', { value: '', text: '全部类别' }))),
      (ui.hotspotLegend = h('div', { class: 'hotspot-legend', 'data-testid': 'hotspot-legend', hidden: true })),
    );
    this.#setLegend('townships', [1, 2, 3, 4]);

    ui.drawer = h('section', { class: 'whistle-drawer', 'data-testid': 'whistle-drawer', hidden: true, 'aria-label': '哨单详情' });
    clear(this.view).append(h('div', { class: 'wall' }, ui.map, ui.legend, ui.panel, ui.drawer));
    this.keydown = (e) => {
      if (e.key === 'Escape') this.#closeDrawer();
    };
    document.addEventListener('keydown', this.keydown);
  }

  #setLegend(level, breaks) {
    this.ui.legendLoadTitle.textContent = level === 'villages' ? '村/社区在办哨单' : '街乡镇在办哨单';
    clear(this.ui.legendRamp).append(...loadLabels(breaks).map((text, i) => h('span', { style: { background: LOAD_COLORS[i] }, text })));
  }

  /** start draws the grids, then loads the snapshot and opens the stream. */
  async start() {
    const { ctx } = this;
    try {
      this.map = new GridMap(this.ui.map, { onWhistleClick: (id) => this.openWhistle(id), onLegend: (level, breaks) => this.#setLegend(level, breaks) });
    } catch (err) {
      console.error(err);
      ctx.setStatus('地图无法初始化：浏览器不支持 WebGL', true);
      return;
    }
    this.#tickClock();
    this.timers.push(setInterval(() => this.#tickClock(), 1000));
    this.timers.push(setInterval(() => this.#render(), 30 * 1000));
    this.timers.push(setInterval(() => this.#refreshFigures(), FIGURES_EVERY));
    this.timers.push(setInterval(() => this.hotspotsOn && this.#loadHotspots(), FIGURES_EVERY));

    ctx.setStatus('正在加载网格…');
    api.categories().then((res) => {
      this.categories = flattenCategories(res?.categories);
      this.#fillHotspotCategories(res?.categories);
    }, () => {});
    let drawn;
    try {
      const [district, townships, villages] = await Promise.all([api.grids('district'), api.grids('township'), api.grids('village')]);
      if (this.destroyed) return;
      this.#fillFilter(townships);
      drawn = await this.map.draw({ district, townships, villages });
    } catch (err) {
      if (this.destroyed || (err instanceof api.ApiError && err.status === 401)) return;
      console.error(err);
      ctx.setStatus(`网格加载失败：${err.message}`, true);
      return;
    }
    if (this.destroyed) return;
    ctx.setCounts(drawn);
    ctx.setStatus('');
    ctx.setReady(true);
    this.#loadSnapshot();
    this.#loadResident();
  }

  #fillFilter(townships) {
    const user = this.ctx.user;
    const features = [...(townships?.features || [])].sort((a, b) => String(a.properties.code).localeCompare(String(b.properties.code)));
    this.townshipNames = new Map(features.map((f) => [f.properties.code, f.properties.name]));
    for (const f of features) this.ui.filter.append(h('option', { value: f.properties.code, text: f.properties.name }));
    const canFilter = FILTER_ROLES.has(user?.role) && features.length > 1;
    this.ui.filter.hidden = !canFilter;
    const own = user?.jurisdiction?.grid_name;
    this.ui.scope.textContent = canFilter ? '全区' : own || features[0]?.properties.name || '';
  }

  #setTownship(code) {
    this.township = code;
    this.ui.scope.textContent = code ? this.townshipNames.get(code) || code : '全区';
    this.map?.fitTownship(code);
    if (this.hotspotsOn) this.#loadHotspots();
    this.live.stop();
    this.#clearTicker();
    this.backlogDone = false;
    this.#loadSnapshot();
    this.#loadResident();
  }

  async #loadSnapshot() {
    if (this.destroyed) return;
    clearTimeout(this.retry);
    this.retry = null;
    let snap;
    try {
      snap = await api.snapshot(this.township);
    } catch (err) {
      if (this.destroyed || (err instanceof api.ApiError && err.status === 401)) return;
      const delay = backoffDelay(this.retries++);
      this.#setLiveState(err instanceof api.ApiError && err.status === 503 ? 'unavailable' : 'reconnecting', { delay });
      this.retry = setTimeout(() => this.#loadSnapshot(), delay);
      return;
    }
    if (this.destroyed) return;
    this.retries = 0;
    this.state.loadSnapshot(snap);
    this.villageOfWhistle.clear();
    this.#render();
    // The first stream after a snapshot starts a little before it, so the
    // ticker opens with the latest events (already in the snapshot: shown,
    // not applied again). After a 4009 it starts exactly at the snapshot.
    const since = this.backlogDone ? snap.seq : Math.max(0, snap.seq - BACKLOG);
    this.backlogDone = true;
    this.live.start(since);
  }

  // The category picker: the top-level categories, each with its own below.
  #fillHotspotCategories(tree) {
    for (const top of tree || []) {
      const group = h('optgroup', { label: top.name });
      group.append(h('option', { value: top.code, text: `${top.name}（全部）` }));
      for (const c of top.children || []) group.append(h('option', { value: c.code, text: c.name }));
      this.ui.hotspotCategory.append(group);
    }
  }

  async #showHotspots(on) {
    this.hotspotsOn = on;
    this.ui.hotspotLegend.hidden = !on;
    this.ui.hotspotCategory.hidden = !on;
    if (on) this.#loadHotspots();
    const n = await this.map?.showHotspots(on);
    if (!this.destroyed && this.hotspotsOn === on && this.ui.hotspotLegend.dataset.state === 'loaded') this.ui.hotspotLegend.dataset.rendered = String(n ?? 0);
  }

  async #loadHotspots() {
    const el = this.ui.hotspotLegend;
    const seq = (this.hotspotSeq = (this.hotspotSeq || 0) + 1);
    el.dataset.state = 'loading';
    if (!el.firstChild) el.append(h('div', { class: 'legend-note', text: '正在研判…' }));
    let fc;
    try {
      fc = await api.hotspots({ township: this.township, category: this.ui.hotspotCategory.value });
    } catch (err) {
      if (seq !== this.hotspotSeq || this.destroyed) return;
      el.dataset.state = 'error';
      clear(el).append(h('div', { class: 'legend-note error', text: `热点研判失败：${err.message}` }));
      return;
    }
    if (seq !== this.hotspotSeq || this.destroyed) return;
    const rows = legendRows(fc);
    clear(el).append(
      h('div', { class: 'legend-note', text: `${windowText(fc)} · ${count(fc.clues)}条线索` }),
      ...rows.map((r) => h('div', { class: `legend-row${r.act ? ' act' : ''}${r.count ? '' : ' zero'}`, 'data-class': r.cls },
        h('i', { class: 'hex', style: { background: r.color } }), h('span', { text: r.name }), h('b', { text: String(r.count) }))),
    );
    el.dataset.features = String(fc.features.length);
    delete el.dataset.rendered;
    const n = await this.map?.setHotspots(fc);
    if (seq !== this.hotspotSeq || this.destroyed) return;
    el.dataset.state = 'loaded';
    el.dataset.rendered = String(n ?? 0);
  }

  async #refreshFigures() {
    this.#loadResident();
    try {
      const snap = await api.snapshot(this.township);
      if (!this.destroyed && this.state.refreshFigures(snap)) this.#render();
    } catch {
      // the stream's state already shows trouble
    }
  }

  /**
   * loadResident reads the residents' satisfaction rate (居民满意率) of
   * the whistles raised in the last 30 days from the statistics, the one
   * definition of it (whistle.Figures.ResidentSatisfactionRate).
   */
  async #loadResident() {
    const seq = (this.residentSeq = (this.residentSeq || 0) + 1);
    const from = new Date(Date.now() - 30 * 24 * 3600 * 1000).toISOString();
    const q = new URLSearchParams({ from, by: 'township' });
    if (this.township) q.set('township', this.township);
    let total;
    try {
      total = (await api.get(`stats?${q}`)).total;
    } catch {
      return; // the stream's state already shows trouble
    }
    if (seq !== this.residentSeq || this.destroyed) return;
    const r = this.ui.resident.resident;
    const v = total?.resident_satisfaction_rate;
    const known = v !== null && v !== undefined;
    r.value.textContent = pct(v);
    r.bar.style.width = known ? `${Math.round(v * 100)}%` : '0';
    r.bar.classList.toggle('low', known && v < 0.8);
    r.frac.textContent = total?.callbacks ? `回访${total.callbacks}件` : '无回访';
  }

  async #checkSession() {
    try {
      await api.me();
    } catch {
      // a 401 has shown the login form; anything else: keep retrying
    }
  }

  #setLiveState(s, info = {}) {
    if (this.destroyed) return;
    const el = this.ui.liveState;
    el.dataset.state = s;
    let text = STATE_TEXT[s] || s;
    if (s === 'reconnecting' && info.attempt > 1) text = `重连中…（第${info.attempt}次）`;
    el.querySelector('.live-text').textContent = text;
    el.title = s === 'open' ? `已同步至事件 #${this.state.seq}` : '';
  }

  #onEvent(ev) {
    if (this.destroyed || typeof ev.kind !== 'string') return;
    const change = this.state.apply(ev);
    this.#tick(ev);
    if (change) {
      if (change.whistle && ev.kind === 'whistle.raised') this.villageOfWhistle.delete(change.whistle.id);
      this.#scheduleRender();
    }
  }

  #tick(ev) {
    const names = {
      township: (code) => this.townshipNames?.get(code) || '',
      category: (code) => this.categories.get(code) || '',
      grid: (code) => this.map?.names.get(code) || '',
    };
    const id = ev.data?.whistle?.id ?? ev.data?.whistle_id;
    const li = h('li', { class: `tick ${tickerTone(ev.kind)}${id ? ' clickable' : ''}`, 'data-seq': ev.seq, 'data-kind': ev.kind },
      h('time', { datetime: ev.at, text: clock(ev.at) }), h('span', { class: 'tick-text', text: tickerText(ev, names) }));
    if (id) li.addEventListener('click', () => this.openWhistle(id));
    // Backlog events arrive oldest first; every one goes on top.
    this.ui.ticker.prepend(li);
    while (this.ui.ticker.children.length > TICKER_SIZE) this.ui.ticker.lastChild.remove();
    this.ui.tickerEmpty.hidden = true;
  }

  #clearTicker() {
    clear(this.ui.ticker);
    this.ui.tickerEmpty.hidden = false;
  }

  #scheduleRender() {
    if (this.renderQueued) return;
    this.renderQueued = true;
    requestAnimationFrame(() => {
      this.renderQueued = false;
      this.#render();
    });
  }

  #villageOf(w) {
    if (w.grid && w.grid.length >= 12) return w.grid.slice(0, 12);
    if (!this.villageOfWhistle.has(w.id)) this.villageOfWhistle.set(w.id, this.map?.villageOf(w.lon, w.lat) || null);
    return this.villageOfWhistle.get(w.id);
  }

  #render() {
    if (this.destroyed) return;
    const now = Date.now();
    const { ui, state } = this;
    const c = state.counts(now);
    ui.open.textContent = String(c.open);
    ui.overdue.textContent = String(c.overdue);
    ui.overdue.parentElement.classList.toggle('alarm', c.overdue > 0);
    for (const g of GRADES) ui.grades[g].textContent = String(c.by_grade[g]);
    for (const s of Object.keys(ui.statuses)) ui.statuses[s].textContent = String(c.by_status[s]);
    for (const [k, el] of Object.entries(ui.today)) el.textContent = count(state.today[k]);
    const rates = state.rates || {};
    if (rates.window_days) ui.rateWindow.textContent = `近${rates.window_days}日`;
    for (const [k, r] of Object.entries(ui.rates)) {
      const v = rates[k];
      r.value.textContent = pct(v?.rate);
      r.bar.style.width = v?.rate !== null && v?.rate !== undefined ? `${Math.round(v.rate * 100)}%` : '0';
      r.bar.classList.toggle('low', v?.rate !== null && v?.rate !== undefined && v.rate < 0.8);
      r.frac.textContent = v && v.den ? `${v.num}/${v.den}` : '无数据';
    }

    const list = [];
    for (const w of state.whistles.values()) {
      const overdue = isOverdue(w, now);
      list.push({ ...w, overdue, pulse: overdue || state.isNew(w, now) });
    }
    this.map?.setWhistles(list);
    this.map?.setLoads({ townships: state.loadBy((w) => w.township), villages: state.loadBy((w) => this.#villageOf(w)) });

    clear(ui.overdueList);
    const worst = state.mostOverdue(now, 4);
    if (!worst.length) ui.overdueList.append(h('li', { class: 'empty', text: '无超期哨单' }));
    for (const o of worst) {
      const w = o.whistle;
      ui.overdueList.append(h('li', { class: 'clickable', onclick: () => this.openWhistle(w.id) },
        h('span', { class: `grade-dot grade-${w.grade}`, style: { background: GRADE_COLORS[w.grade] } }),
        h('span', { class: 'overdue-what', text: `${w.townshipName} · ${w.categoryName}` }),
        w.risk ? h('span', { class: 'risk-mark', title: w.risk.join('；'), text: '高风险' }) : null,
        h('span', { class: 'overdue-for', text: `超期${duration(o.for)}` })));
    }
  }

  #tickClock() {
    const now = new Date();
    this.ui.clock.textContent = `${chineseDate(now)} ${clock(now)}`;
    this.ui.clock.dateTime = now.toISOString();
  }

  /** openWhistle shows a whistle's trail in the drawer and flies to it. */
  async openWhistle(id) {
    const drawer = this.ui.drawer;
    const seq = (this.drawerSeq = (this.drawerSeq || 0) + 1);
    clear(drawer).append(this.#drawerHead(`哨单 #${id}`), h('p', { class: 'drawer-loading', text: '正在加载…' }));
    drawer.hidden = false;
    drawer.dataset.whistleId = String(id);
    const w = this.state.whistles.get(id);
    this.map?.select(id);
    if (w && w.lon !== null) this.map?.flyTo(w.lon, w.lat);
    let d;
    try {
      d = await api.whistle(id);
    } catch (err) {
      if (seq !== this.drawerSeq) return;
      drawer.querySelector('.drawer-loading').textContent =
        err instanceof api.ApiError && err.status === 404 ? '该哨单不在您的辖区内或已不存在' : `加载失败：${err.message}`;
      return;
    }
    if (seq !== this.drawerSeq || this.destroyed) return;
    if (!w && d.lon) this.map?.flyTo(d.lon, d.lat);
    this.#renderDrawer(d);
  }

  #drawerHead(title, grade) {
    return h('header', { class: 'drawer-head' },
      h('h2', { text: title }),
      grade ? h('span', { class: `grade-chip grade-${grade}` }, h('i', { style: { background: GRADE_COLORS[grade] } }), GRADE_NAMES[grade]) : null,
      h('button', { type: 'button', class: 'drawer-close', 'aria-label': '关闭', onclick: () => this.#closeDrawer() }, '×'));
  }

  #renderDrawer(d) {
    const now = Date.now();
    const overdue = d.overdue;
    const facts = [
      ['状态', `${STATUS_NAMES[d.status] || d.status}${d.outcome ? `（${OUTCOME_NAMES[d.outcome] || d.outcome}）` : ''}`],
      ['吹哨时间', dateTime(d.raised_at)],
      ['报到时限', dateTime(d.deadlines?.report_in || d.report_in_due)],
      ['办结时限', dateTime(d.deadlines?.resolve || d.resolve_due)],
      ['线索', `${d.clue_count ?? d.clues?.length ?? 0} 条`],
    ];
    if (d.escalations) facts.push(['升级', `${d.escalations} 次`]);
    if (d.closed_at) facts.push(['结案时间', dateTime(d.closed_at)]);
    const resolveDue = new Date(d.deadlines?.resolve || d.resolve_due).getTime();
    const body = [
      h('div', { class: 'drawer-title', text: `${d.township_name || ''} · ${d.category_name || d.category}` }),
      h('a', { class: 'drawer-case', href: whistleHref(d.id), 'data-link': '', 'data-testid': 'drawer-case-link', text: '打开案件办理 →' }),
      d.risk?.reasons?.length ? h('div', { class: 'drawer-alarm risk-mark', 'data-testid': 'risk', text: `高风险：${d.risk.reasons.join('；')}` }) : null,
      overdue ? h('div', { class: 'drawer-alarm', text: `已超期${resolveDue < now ? ` ${duration(now - resolveDue)}` : ''}` }) : null,
      d.note ? h('p', { class: 'drawer-note', text: d.note }) : null,
      h('dl', { class: 'drawer-facts' }, facts.map(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })])),
      h('h3', { text: '召集单位' }),
      h('ul', { class: 'summons' }, (d.summons || []).map((s) => h('li', { class: s.report_in_overdue || s.resolve_overdue ? 'late' : '' },
        h('div', { class: 'summons-unit' }, h('b', { text: s.unit?.name || s.unit?.code }), h('span', { class: `role role-${s.role}`, text: SUMMONS_ROLE_NAMES[s.role] || s.role })),
        h('div', { class: 'summons-steps' },
          s.reported_in_at ? `报到 ${dateTime(s.reported_in_at)}${s.person ? ` · ${s.person}` : ''}${s.phone ? ` ${s.phone}` : ''}` : s.report_in_overdue ? '未报到（超期）' : '待报到',
          s.resolved_at ? ` · 办结 ${dateTime(s.resolved_at)}` : ''),
        s.ratings ? h('div', { class: 'summons-ratings', text: `评价：报到 ${s.ratings.reported_in} · 解决 ${s.ratings.resolved} · 满意 ${s.ratings.satisfied}` }) : null))),
      (d.clues || []).length ? h('h3', { text: '线索' }) : null,
      (d.clues || []).length ? h('ul', { class: 'drawer-clues' }, d.clues.slice(0, 8).map((c) =>
        h('li', {}, h('time', { text: dateTime(c.reported_at) }), ` ${SOURCE_NAMES[c.source] || c.source} `, h('span', { text: c.text || '' })))) : null,
      h('h3', { text: '流转记录' }),
      h('ol', { class: 'trail', 'data-testid': 'whistle-trail' }, (d.trail || []).map((t) =>
        h('li', {}, h('time', { text: dateTime(t.at) }), h('b', { text: ACTION_NAMES[t.action] || t.action }),
          h('span', { class: 'trail-actor', text: t.actor === 'system' ? '系统' : t.actor || '' }),
          t.note ? h('span', { class: 'trail-note', text: t.note }) : null))),
    ];
    const drawer = this.ui.drawer;
    clear(drawer).append(this.#drawerHead(`哨单 #${d.id}`, d.grade), h('div', { class: 'drawer-body' }, body));
  }

  #closeDrawer() {
    this.drawerSeq = (this.drawerSeq || 0) + 1;
    this.ui.drawer.hidden = true;
    this.map?.select(null);
  }

  /** destroy stops the stream and the timers and removes the map. */
  destroy() {
    this.destroyed = true;
    this.live.stop();
    clearTimeout(this.retry);
    for (const t of this.timers) clearInterval(t);
    document.removeEventListener('keydown', this.keydown);
    this.map?.remove();
    clear(this.view);
  }
}

// The workbench at /work (工作台): the caller's queues as tabs (the server
// names them per role: GET /api/v1/work/counts), each a keyset-paged list
// (GET /api/v1/work/{tab}) with filters, a sort by deadline and a live
// countdown on each whistle; the lists and counts follow the event stream
// without a reload, and a summoned unit gets a notice at once. On the
// township's 待处理线索 the clues are selectable and 吹哨 raises a whistle
// from them (grade defaulting from the category, a note, the units from the
// responsibility list, editable); their map loads MapLibre lazily.
//
// Test hooks: [data-testid=work-tab][data-tab], [data-testid=work-item]
// [data-whistle-id | data-clue-id], [data-testid=clue-select],
// [data-testid=raise-whistle], [data-testid=raise-grade],
// [data-testid=raise-submit], [data-testid=raise-error],
// [data-testid=work-notice], body[data-map-ready="1"] once the first page is drawn,
// .work-map[data-drawn="1"] once the clue map has drawn its points.
import * as api from './api.js';
import { addClueLayers, fitPoints } from './case-map.js';
import { clear, h } from './dom.js';
import { dateTime } from './format.js';
import { LiveClient } from './live.js';
import { GRADE_NAMES, SOURCE_NAMES, STATUS_NAMES, SUMMONS_ROLE_NAMES } from './names.js';
import { whistleHref } from './router.js';
import { changesQueues, countdown, DEADLINE_TABS, filtersFor, queueQuery, summonNotice, TAB_NAMES } from './work-state.js';
// Last, so the page's rules win ties.
import './work.css';

const FILTER_LABELS = { township: '街乡镇', unit: '单位', grade: '等级', status: '状态', category: '类别', from: '起始日期', to: '截止日期' };

export class WorkPage {
  /** ctx: {user, route: {tab}, setStatus, setReady, navigate}. */
  constructor(view, ctx) {
    this.view = view;
    this.ctx = ctx;
    this.user = ctx.user;
    this.tabs = [];
    this.tab = '';
    this.filters = {};
    this.sort = '';
    this.next = '';
    this.selected = new Map(); // clue id -> clue
    this.loadSeq = 0;
    this.destroyed = false;
    this.map = null;
    this.refreshTimer = null;
    this.clueCache = new Map(); // clue id -> clue, of the clues listed
  }

  async start() {
    const ui = (this.ui = {});
    ui.tabs = h('div', { class: 'work-tabs', role: 'tablist', 'aria-label': '工作队列' });
    ui.notices = h('div', { class: 'work-notices', role: 'status', 'aria-live': 'polite' });
    ui.filters = h('form', { class: 'work-filters', 'aria-label': '筛选', onsubmit: (e) => e.preventDefault() });
    ui.list = h('ul', { class: 'work-list', 'aria-label': '列表' });
    ui.more = h('button', { type: 'button', class: 'work-more', hidden: true, onclick: () => this.#load(true) }, '加载更多');
    ui.empty = h('p', { class: 'work-empty', hidden: true, text: '暂无事项' });
    ui.raiseBar = h('div', { class: 'raise-bar', hidden: true });
    ui.raisePanel = h('section', { class: 'raise-panel', hidden: true, 'aria-label': '吹哨' });
    ui.map = h('div', { class: 'work-map', hidden: true, 'aria-label': '线索分布图', role: 'region' });
    ui.main = h('div', { class: 'work-main' }, ui.raiseBar, ui.raisePanel, ui.list, ui.empty, ui.more);
    clear(this.view).append(h('div', { class: 'work' },
      h('h2', { class: 'sr-only', text: '工作台' }),
      ui.tabs, ui.notices, ui.filters, h('div', { class: 'work-body' }, ui.main, ui.map)));
    this.#buildFilters();
    const counts = await api.workCounts();
    if (this.destroyed) return;
    this.tabs = counts.tabs || [];
    this.#drawTabs(counts.counts || {});
    await this.#selectTab(this.ctx.route.tab);
    this.#startLive();
    this.ticker = setInterval(() => this.#tick(), 1000);
    this.ctx.setReady(true);
  }

  update(route) {
    this.ctx.route = route;
    this.#selectTab(route.tab);
  }

  destroy() {
    this.destroyed = true;
    this.live?.stop();
    clearInterval(this.ticker);
    clearTimeout(this.refreshTimer);
    this.map?.remove();
    this.map = null;
  }

  #buildFilters() {
    const f = this.ui.filters;
    const fields = filtersFor(this.user?.role);
    const ctl = {};
    for (const name of fields) {
      let input;
      if (name === 'grade') {
        input = h('select', { name }, h('option', { value: '', text: '全部' }), Object.entries(GRADE_NAMES).map(([v, t]) => h('option', { value: v, text: t })));
      } else if (name === 'status') {
        input = h('select', { name }, h('option', { value: '', text: '全部' }), Object.entries(STATUS_NAMES).map(([v, t]) => h('option', { value: v, text: t })));
      } else if (name === 'from' || name === 'to') {
        input = h('input', { name, type: 'date' });
      } else {
        input = h('input', { name, type: 'text', placeholder: name === 'category' ? '类别编码，如 CM.01' : name === 'township' ? '街乡镇编码' : '单位编码', size: 12 });
      }
      input.addEventListener('change', () => {
        this.filters[name] = input.value;
        this.#load(false);
      });
      ctl[name] = input;
      f.append(h('label', { class: 'work-filter' }, h('span', { text: FILTER_LABELS[name] }), input));
    }
    this.ui.sort = h('select', { name: 'sort' }, h('option', { value: 'deadline', text: '按时限' }), h('option', { value: 'newest', text: '最新在前' }));
    this.ui.sort.addEventListener('change', () => {
      this.sort = this.ui.sort.value;
      this.#load(false);
    });
    this.ui.sortLabel = h('label', { class: 'work-filter' }, h('span', { text: '排序' }), this.ui.sort);
    f.append(this.ui.sortLabel);
    this.ui.filterControls = ctl;
  }

  #drawTabs(counts) {
    clear(this.ui.tabs);
    for (const t of this.tabs) {
      const b = h('button', {
        type: 'button', role: 'tab', class: 'work-tab', 'data-testid': 'work-tab', 'data-tab': t,
        'aria-selected': t === this.tab ? 'true' : 'false',
        onclick: () => this.ctx.navigate(`/work?tab=${encodeURIComponent(t)}`),
      }, h('span', { text: TAB_NAMES[t] || t }), h('span', { class: 'work-count', 'data-testid': 'work-count', text: String(counts[t] ?? 0) }));
      this.ui.tabs.append(b);
    }
  }

  async #refreshCounts() {
    const counts = await api.workCounts();
    if (this.destroyed) return;
    for (const b of this.ui.tabs.querySelectorAll('[data-tab]')) {
      b.querySelector('.work-count').textContent = String(counts.counts?.[b.dataset.tab] ?? 0);
    }
  }

  async #selectTab(tab) {
    const t = this.tabs.includes(tab) ? tab : this.tabs[0];
    if (!t) {
      this.ui.empty.hidden = false;
      this.ui.empty.textContent = '您的角色没有工作队列';
      return;
    }
    if (t === this.tab) return;
    this.tab = t;
    this.sort = '';
    for (const b of this.ui.tabs.querySelectorAll('[data-tab]')) b.setAttribute('aria-selected', b.dataset.tab === t ? 'true' : 'false');
    const clues = t === 'clues';
    this.ui.sortLabel.hidden = clues;
    for (const name of ['status', 'unit']) {
      const c = this.ui.filterControls[name];
      if (c) c.closest('label').hidden = clues;
    }
    this.ui.raiseBar.hidden = !clues;
    this.ui.raisePanel.hidden = true;
    this.ui.map.hidden = !clues;
    if (clues) this.#drawRaiseBar();
    await this.#load(false);
  }

  /** #load reads the first page (more: the next page) of the tab. */
  async #load(more) {
    const seq = ++this.loadSeq;
    const filters = { ...this.filters };
    if (this.tab === 'clues') {
      delete filters.status;
      delete filters.unit;
    }
    const q = queueQuery(filters, { sort: this.tab === 'clues' ? '' : this.sort, after: more ? this.next : '' });
    let page;
    try {
      page = await api.workQueue(this.tab, q);
    } catch (err) {
      if (seq !== this.loadSeq || this.destroyed) return;
      this.ctx.setStatus(`加载失败：${err.message}`, true);
      return;
    }
    if (seq !== this.loadSeq || this.destroyed) return;
    this.ctx.setStatus('');
    if (!this.sort && page.sort) {
      this.sort = page.sort;
      this.ui.sort.value = page.sort;
    }
    if (!more) {
      clear(this.ui.list);
      this.clueCache.clear();
    }
    const items = page.clues || page.whistles || [];
    for (const it of items) this.ui.list.append(page.clues ? this.#clueItem(it) : this.#whistleItem(it));
    this.next = page.next || '';
    this.ui.more.hidden = !this.next;
    this.ui.empty.hidden = this.ui.list.children.length > 0;
    this.#tick();
    if (page.clues) {
      if (!more) {
        // keep a selection that is still listed
        const listed = new Set(items.map((c) => c.id));
        for (const id of [...this.selected.keys()]) if (!listed.has(id)) this.selected.delete(id);
        for (const box of this.ui.list.querySelectorAll('[data-testid="clue-select"]')) box.checked = this.selected.has(Number(box.value));
        this.#updateRaiseBar();
      }
      this.#drawClueMap();
    }
  }

  #whistleItem(w) {
    const dueTab = DEADLINE_TABS.has(this.tab) && w.status !== 'closed';
    return h('li', { class: 'work-item', 'data-testid': 'work-item', 'data-whistle-id': String(w.id) },
      h('a', { class: 'work-link', href: whistleHref(w.id), 'data-link': '' },
        h('span', { class: 'wi-id', text: `#${w.id}` }),
        h('span', { class: `grade-tag grade-${w.grade}`, text: GRADE_NAMES[w.grade] || w.grade }),
        h('span', { class: `status-tag status-${w.status}`, text: STATUS_NAMES[w.status] || w.status }),
        h('span', { class: 'wi-title', text: `${w.township_name || ''} · ${w.category_name || w.category}` }),
        h('span', { class: 'wi-units', text: (w.units || []).join('、') }),
        h('time', { class: 'wi-time', text: dateTime(w.raised_at) }),
        dueTab ? h('span', { class: 'countdown', 'data-due': w.due || w.resolve_due, 'data-testid': 'countdown' }) : null));
  }

  #clueItem(c) {
    const village = (c.chain || []).find((l) => l.level === 'village');
    const box = h('input', { type: 'checkbox', value: String(c.id), 'data-testid': 'clue-select', 'aria-label': `选择线索 #${c.id}` });
    box.checked = this.selected.has(c.id);
    this.clueCache.set(c.id, c);
    box.addEventListener('change', () => {
      if (box.checked) this.selected.set(c.id, c);
      else this.selected.delete(c.id);
      this.#updateRaiseBar();
    });
    return h('li', { class: 'work-item clue-item', 'data-testid': 'work-item', 'data-clue-id': String(c.id) },
      h('label', { class: 'clue-line' }, box,
        h('span', { class: 'wi-id', text: `#${c.id}` }),
        h('span', { class: 'source-tag', text: SOURCE_NAMES[c.source] || c.source }),
        h('span', { class: 'wi-title', text: `${c.category_name || c.category}${village ? ` · ${village.name}` : ''}` }),
        h('time', { class: 'wi-time', text: dateTime(c.reported_at) })),
      c.text ? h('p', { class: 'clue-text', text: c.text }) : null);
  }

  /** #tick updates every countdown: red once overdue. */
  #tick() {
    const now = Date.now();
    for (const el of this.view.querySelectorAll('[data-due]')) {
      const c = countdown(el.dataset.due, now);
      if (!c) continue;
      el.textContent = c.text;
      el.classList.toggle('overdue', c.overdue);
    }
  }

  #drawRaiseBar() {
    this.ui.raiseButton = h('button', { type: 'button', class: 'raise-button', 'data-testid': 'raise-whistle', disabled: true, onclick: () => this.#openRaise() }, '吹哨');
    this.ui.selCount = h('span', { class: 'raise-count', text: '未选择线索' });
    clear(this.ui.raiseBar).append(this.ui.selCount, this.ui.raiseButton);
  }

  #updateRaiseBar() {
    if (!this.ui.raiseButton) return;
    const n = this.selected.size;
    this.ui.raiseButton.disabled = n === 0;
    this.ui.selCount.textContent = n ? `已选 ${n} 条线索` : '未选择线索';
  }

  async #categoryGrade(code) {
    if (!this.categoryGrades) {
      this.categoryGrades = new Map();
      try {
        const tree = await api.categories();
        const walk = (nodes) => {
          for (const n of nodes || []) {
            if (n.default_grade) this.categoryGrades.set(n.code, n.default_grade);
            walk(n.children);
          }
        };
        walk(tree.categories);
      } catch {
        // the grade then defaults to routine
      }
    }
    return this.categoryGrades.get(code) || 'routine';
  }

  async #openRaise() {
    const clues = [...this.selected.values()];
    if (!clues.length) return;
    const first = clues[0];
    const panel = this.ui.raisePanel;
    panel.hidden = false;
    clear(panel).append(h('p', { text: '正在读取责任清单…' }));
    const [grade, placed, all] = await Promise.all([
      this.#categoryGrade(first.category),
      api.place(first.lon, first.lat, { category: first.category }).catch(() => ({ units: [] })),
      this.allUnits || api.units().then((r) => (this.allUnits = r.units || [])).catch(() => []),
    ]);
    if (this.destroyed) return;
    const gradeSel = h('select', { name: 'grade', 'data-testid': 'raise-grade', id: 'raise-grade' },
      Object.entries(GRADE_NAMES).map(([v, t]) => h('option', { value: v, text: t })));
    gradeSel.value = grade;
    const note = h('textarea', { name: 'note', id: 'raise-note', rows: 2, maxlength: 4000, 'data-testid': 'raise-note' });
    const unitRows = h('ul', { class: 'raise-units', 'aria-label': '召集单位' });
    const nameOf = new Map((all || []).map((u) => [u.code, u.name]));
    const addRow = (code, role) => {
      const roleSel = h('select', { 'aria-label': `${nameOf.get(code) || code} 的职责` },
        Object.entries(SUMMONS_ROLE_NAMES).map(([v, t]) => h('option', { value: v, text: t })));
      roleSel.value = role === 'lead' ? 'lead' : 'assist';
      const li = h('li', { 'data-unit': code }, h('span', { class: 'unit-name', text: `${nameOf.get(code) || code}（${code}）` }), roleSel,
        h('button', { type: 'button', class: 'unit-remove', 'aria-label': `移除 ${nameOf.get(code) || code}`, onclick: () => li.remove() }, '移除'));
      unitRows.append(li);
    };
    for (const u of placed.units || []) if (u.kind !== 'township') addRow(u.code, u.role);
    const pick = h('select', { 'aria-label': '添加单位' }, h('option', { value: '', text: '添加单位…' }),
      (all || []).map((u) => h('option', { value: u.code, text: `${u.name}（${u.code}）` })));
    pick.addEventListener('change', () => {
      if (pick.value && !unitRows.querySelector(`[data-unit="${CSS.escape(pick.value)}"]`)) addRow(pick.value, 'assist');
      pick.value = '';
    });
    const err = h('p', { class: 'act-error', 'data-testid': 'raise-error', role: 'alert', hidden: true });
    const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'raise-submit' }, '吹哨');
    const form = h('form', { class: 'raise-form' },
      h('h3', { text: `吹哨：${clues.length} 条线索（${first.category_name || first.category}）` }),
      h('label', { for: 'raise-grade' }, '等级'), gradeSel,
      h('label', { for: 'raise-note' }, '说明'), note,
      h('span', { class: 'form-label', text: '召集单位（来自责任清单，可修改）' }), unitRows, pick,
      err,
      h('div', { class: 'form-actions' }, submit, h('button', { type: 'button', onclick: () => { panel.hidden = true; } }, '取消')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      submit.disabled = true;
      err.hidden = true;
      const units = [...unitRows.querySelectorAll('li')].map((li) => ({ code: li.dataset.unit, role: li.querySelector('select').value }));
      try {
        const w = await api.raiseWhistle({ clue_ids: clues.map((c) => c.id), grade: gradeSel.value, note: note.value, units });
        this.selected.clear();
        this.ctx.navigate(whistleHref(w.id));
      } catch (ex) {
        err.textContent = ex.message || '吹哨失败';
        err.hidden = false;
        submit.disabled = false;
      }
    });
    clear(panel).append(form);
    gradeSel.focus();
  }

  async #drawClueMap() {
    const points = {
      type: 'FeatureCollection',
      features: [...this.ui.list.querySelectorAll('[data-clue-id]')].map((li) => li.dataset.clueId).map(Number).map((id) => this.#clueById(id)).filter(Boolean)
        .map((c) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [c.lon, c.lat] }, properties: { id: c.id } })),
    };
    if (!this.map) {
      const { createMap, loaded, idle } = await import('./basemap.js');
      this.idle = idle;
      if (this.destroyed || this.map) return;
      this.map = createMap(this.ui.map);
      await loaded(this.map);
      if (this.destroyed) return;
      addClueLayers(this.map, points);
    } else {
      this.map.getSource('clues')?.setData(points);
    }
    fitPoints(this.map, points);
    delete this.ui.map.dataset.drawn;
    this.idle(this.map).then(() => {
      if (!this.destroyed) this.ui.map.dataset.drawn = '1';
    });
  }

  #clueById(id) {
    return this.clueCache?.get(id);
  }

  #startLive() {
    this.live = new LiveClient({
      url: (since) => api.liveURL({ since }),
      onEvent: (ev) => this.#onEvent(ev),
      onReload: () => {
        this.live.start(null);
        this.#scheduleRefresh();
      },
    });
    this.live.start(null);
  }

  #onEvent(ev) {
    const n = summonNotice(ev, this.user);
    if (n) this.#notice(n);
    if (changesQueues(ev)) this.#scheduleRefresh();
  }

  #notice({ id, text }) {
    const li = h('div', { class: 'work-notice', 'data-testid': 'work-notice' },
      id ? h('a', { href: whistleHref(id), 'data-link': '', text }) : h('span', { text }),
      h('button', { type: 'button', class: 'notice-close', 'aria-label': '关闭提醒', onclick: () => li.remove() }, '×'));
    this.ui.notices.prepend(li);
  }

  #scheduleRefresh() {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      if (this.destroyed) return;
      this.#refreshCounts().catch(() => {});
      this.#load(false);
    }, 250);
  }
}

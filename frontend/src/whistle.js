// One case at /whistles/{id} (案件办理): grade, status, category, the grid
// chain, the deadlines counting down, a map of its clues (MapLibre loaded
// lazily), the clues with their photos, the summons (masked per role by the
// API), supervision notices and the trail as a timeline; and the steps the
// caller may take now (GET /api/v1/whistles/{id}/actions: the server's
// rules, never decided here), each a form. A refusal shows inline with the
// server's message; a 409 (someone acted first) reloads the case and keeps
// what was typed. A whistle outside the caller's jurisdiction shows the
// not-found page. The case follows the event stream: a step taken
// elsewhere reloads it, or, while a form holds typed text, says so in the
// form (data-testid=case-stale) and leaves the text alone.
//
// Test hooks: [data-testid=whistle-status][data-status], [data-testid=trail-item],
// [data-testid=act-<step>] (each opens its form), the fields' test ids
// (whistle-state.js), [data-testid=act-submit], [data-testid=act-error],
// [data-testid=act-kept], [data-testid=not-found], [data-testid=case-photo],
// .case-map[data-drawn="1"] once the map has drawn the clues.
import * as api from './api.js';
import { addClueLayers, fitPoints } from './case-map.js';
import { clear, h } from './dom.js';
import { dateTime } from './format.js';
import { LiveClient } from './live.js';
import { ACTION_NAMES, GRADE_NAMES, OUTCOME_NAMES, SOURCE_NAMES, STATUS_NAMES, SUMMONS_ROLE_NAMES } from './names.js';
import { actionLabel, actionTestId, bodyOf, fieldsOf } from './whistle-state.js';
import { countdown } from './work-state.js';
// Last, so the page's rules win ties.
import './work.css';

/**
 * withToken adds the token to an attachment's URL on this origin: an <img>
 * or a link cannot send the bearer header, and the API takes ?token= there.
 */
function withToken(url) {
  if (!url) return url;
  const u = new URL(url, location.href);
  if (u.origin !== location.origin) return url;
  u.searchParams.set('token', api.getToken() || '');
  return u.pathname + u.search;
}

const NOTICE_KINDS = { report_in: '报到超期', resolve: '办结超期' };

export class WhistlePage {
  /** ctx: {user, route: {id}, setStatus, setReady, navigate}. */
  constructor(view, ctx) {
    this.view = view;
    this.ctx = ctx;
    this.user = ctx.user;
    this.id = ctx.route.id;
    this.destroyed = false;
    this.map = null;
    this.open = null; // the step whose form is open
  }

  async start() {
    await this.#reload();
    if (this.destroyed) return;
    this.ticker = setInterval(() => this.#tick(), 1000);
    this.ctx.setReady(true);
    if (this.detail) this.#startLive();
  }

  update(route) {
    if (route.id === this.id) return;
    this.destroy();
    this.destroyed = false;
    this.id = route.id;
    this.open = null;
    this.detail = null;
    this.start();
  }

  destroy() {
    this.destroyed = true;
    this.live?.stop();
    this.live = null;
    clearInterval(this.ticker);
    this.map?.remove();
    this.map = null;
  }

  /** #reload reads the case and its actions and draws them, keeping an open form's values. */
  async #reload({ error = '' } = {}) {
    const kept = this.#formValues();
    let d;
    let acts;
    try {
      [d, acts] = await Promise.all([api.whistle(this.id), api.whistleActions(this.id)]);
    } catch (err) {
      if (this.destroyed) return;
      if (err instanceof api.ApiError && err.status === 404) {
        this.#notFound();
        return;
      }
      this.ctx.setStatus(`加载失败：${err.message}`, true);
      return;
    }
    if (this.destroyed) return;
    this.detail = d;
    this.actions = acts.actions || [];
    this.#draw();
    if (this.open) {
      const action = this.actions.find((a) => a.step === this.open);
      if (action) {
        this.#openForm(action, kept);
        if (error) this.#showError(error);
      } else {
        this.#keptOnly(this.open, kept, error);
        this.open = null;
      }
    }
  }

  #notFound() {
    this.detail = null;
    clear(this.view).append(h('div', { class: 'not-found', 'data-testid': 'not-found' },
      h('h2', { text: '页面不存在' }),
      h('p', { text: `哨单 #${this.id} 不存在，或不在您的辖区内。` }),
      h('a', { href: '/work', 'data-link': '', text: '返回工作台' })));
  }

  #draw() {
    const d = this.detail;
    const chain = (d.clues?.[0]?.chain || []).slice().reverse().map((l) => l.name).join(' › ') || [d.township_name, d.grid].filter(Boolean).join(' › ');
    const open = d.status !== 'closed';
    const facts = [
      ['类别', d.category_name || d.category],
      ['网格', chain],
      ['吹哨时间', dateTime(d.raised_at)],
      ['报到时限', [dateTime(d.deadlines?.report_in), open ? h('span', { class: 'countdown', 'data-due': d.deadlines?.report_in }) : null]],
      ['办结时限', [dateTime(d.deadlines?.resolve), open ? h('span', { class: 'countdown', 'data-due': d.deadlines?.resolve }) : null]],
    ];
    if (d.closed_at) facts.push(['结案时间', dateTime(d.closed_at)]);
    if (d.outcome) facts.push(['结果', OUTCOME_NAMES[d.outcome] || d.outcome]);
    if (d.escalations) facts.push(['升级', `${d.escalations} 次`]);
    if (d.ruled_unit) facts.push(['定责单位', `${d.ruled_unit}${d.contested ? '（已申请复议）' : ''}`]);
    if (d.note) facts.push(['说明', d.note]);
    this.ui = {};
    this.ui.actions = h('div', { class: 'case-actions' });
    this.ui.form = h('div', { class: 'case-form' });
    this.ui.map = h('div', { class: 'case-map', role: 'region', 'aria-label': '线索位置图' });
    const names = this.#unitNames();
    const left = h('section', { 'aria-label': '案件信息' },
      h('dl', { class: 'case-facts' }, facts.map(([k, v]) => [h('dt', { text: k }), h('dd', {}, v)])),
      h('h3', { text: '办理操作' }),
      this.actions.length ? this.ui.actions : h('p', { class: 'muted', text: '当前没有您可以办理的操作' }),
      this.ui.form,
      h('h3', { text: '召集单位' }),
      h('ul', { class: 'case-list', 'data-testid': 'summons' }, (d.summons || []).map((s) => h('li', { class: s.report_in_overdue || s.resolve_overdue ? 'late' : '' },
        h('div', {}, h('b', { text: `${s.unit?.name || s.unit?.code}` }), ' ', h('span', { class: 'role-tag', text: SUMMONS_ROLE_NAMES[s.role] || s.role })),
        h('div', { class: 'muted' },
          s.reported_in_at ? `报到 ${dateTime(s.reported_in_at)}${s.person ? ` · ${s.person}` : ''}${s.phone ? ` ${s.phone}` : ''}` : s.report_in_overdue ? '未报到（超期）' : '待报到',
          s.resolved_at ? ` · 办结 ${dateTime(s.resolved_at)}${s.outcome ? `（${OUTCOME_NAMES[s.outcome] || s.outcome}）` : ''}` : ''),
        s.ratings ? h('div', { class: 'muted', text: `评价：报到 ${s.ratings.reported_in} · 解决 ${s.ratings.resolved} · 满意 ${s.ratings.satisfied}` }) : null))),
      (d.supervision_notices || []).length ? [
        h('h3', { text: '督办' }),
        h('ul', { class: 'case-list', 'data-testid': 'notices' }, d.supervision_notices.map((n) =>
          h('li', {}, h('time', { class: 'muted', text: dateTime(n.at) }), ` ${names[n.unit] || n.unit} · ${NOTICE_KINDS[n.kind] || n.kind}`))),
      ] : null,
      this.#photos(d.attachments, '办结照片'));
    const right = h('section', { 'aria-label': '线索与流转' },
      this.ui.map,
      h('h3', { text: `线索（${(d.clues || []).length}）` }),
      h('ul', { class: 'case-list' }, (d.clues || []).map((c) => h('li', {},
        h('div', {}, h('time', { class: 'muted', text: dateTime(c.reported_at) }), ` ${SOURCE_NAMES[c.source] || c.source} · ${c.category_name || c.category}`),
        c.text ? h('div', { text: c.text }) : null,
        c.reporter ? h('div', { class: 'muted', text: `反映人：${c.reporter.name || ''} ${c.reporter.phone || ''}` }) : null,
        this.#photos(c.attachments)))),
      h('h3', { text: '流转记录' }),
      h('ol', { class: 'trail-list', 'data-testid': 'trail' }, (d.trail || []).map((t) =>
        h('li', { 'data-testid': 'trail-item', 'data-action': t.action },
          h('time', { text: dateTime(t.at) }), ' ', h('b', { text: ACTION_NAMES[t.action] || t.action }),
          ` ${t.actor === 'system' ? '系统' : t.actor || ''}${t.unit ? ` · ${names[t.unit] || t.unit}` : ''}`,
          t.note ? h('div', { class: 'muted', text: t.note }) : null,
          this.#photos(t.attachments)))));
    for (const a of this.actions) {
      this.ui.actions.append(h('button', {
        type: 'button', 'data-testid': actionTestId(a.step), 'data-step': a.step, 'aria-expanded': 'false',
        onclick: () => this.#openForm(a, {}),
      }, actionLabel(a.step, this.user?.role)));
    }
    clear(this.view).append(h('div', { class: 'case' },
      h('header', { class: 'case-head' },
        h('h2', { text: `哨单 #${d.id}` }),
        h('span', { class: `grade-tag grade-${d.grade}`, 'data-testid': 'whistle-grade', text: GRADE_NAMES[d.grade] || d.grade }),
        h('span', { class: `status-tag status-${d.status}`, 'data-testid': 'whistle-status', 'data-status': d.status, text: STATUS_NAMES[d.status] || d.status }),
        d.overdue_now ? h('span', { class: 'countdown overdue', text: '超期中' }) : null,
        h('span', { class: 'muted', text: `${d.township_name || ''} · ${d.category_name || d.category}` }),
        h('a', { href: '/work', 'data-link': '', text: '返回工作台' })),
      h('div', { class: 'case-grid' }, left, right)));
    this.#tick();
    this.#drawMap();
  }

  #photos(list, title) {
    if (!Array.isArray(list) || !list.length) return null;
    return [title ? h('h3', { text: title }) : null,
      h('div', { class: 'case-photos' }, list.map((a, i) => h('a', { href: withToken(a.url), target: '_blank', rel: 'noopener', 'data-testid': 'case-photo' },
        String(a.content_type || '').startsWith('image/')
          ? h('img', { src: withToken(a.thumb_url || a.url), alt: `照片 ${i + 1}`, loading: 'lazy' })
          : `附件 ${i + 1}`)))];
  }

  #unitNames() {
    const out = {};
    for (const s of this.detail?.summons || []) out[s.unit?.code] = s.unit?.name;
    return out;
  }

  async #openForm(action, values) {
    // a second press while the form opens, or on the open form, keeps it as it is
    if (this.open === action.step && (this.opening === this.ui || this.ui.form.querySelector('form'))) return;
    this.opening = this.ui;
    try {
      await this.#renderForm(action, values);
    } finally {
      if (this.opening === this.ui) this.opening = null;
    }
  }

  async #renderForm(action, values) {
    this.open = action.step;
    for (const b of this.ui.actions.querySelectorAll('button')) b.setAttribute('aria-expanded', b.dataset.step === action.step ? 'true' : 'false');
    let allUnits = [];
    if (action.step === 'rule') {
      this.allUnits = this.allUnits || (await api.units().then((r) => r.units || []).catch(() => []));
      allUnits = this.allUnits.map((u) => u.code);
    }
    const names = { ...Object.fromEntries((this.allUnits || []).map((u) => [u.code, u.name])), ...this.#unitNames() };
    let fields = fieldsOf(action, this.user?.role, names, allUnits);
    if (fields.some((f) => f.kind === 'file') && !(await this.#attachmentsAvailable())) fields = fields.filter((f) => f.kind !== 'file');
    if (this.destroyed || this.open !== action.step) return;
    const form = h('form', { class: 'act-form', 'data-step': action.step, 'aria-label': actionLabel(action.step, this.user?.role), novalidate: true });
    for (const f of fields) {
      const id = `act-${action.step}-${f.name}`;
      let input;
      if (f.kind === 'select') {
        input = h('select', { id, name: f.name, 'data-testid': f.testid }, f.options.map(([v, t]) => h('option', { value: v, text: t })));
      } else if (f.kind === 'textarea') {
        input = h('textarea', { id, name: f.name, rows: 3, maxlength: 4000, 'data-testid': f.testid });
      } else if (f.kind === 'file') {
        input = h('input', { id, name: f.name, type: 'file', accept: 'image/jpeg,image/png,image/webp', multiple: true, 'data-testid': f.testid });
      } else {
        input = h('input', { id, name: f.name, type: f.kind === 'tel' ? 'tel' : 'text', maxlength: 128, 'data-testid': f.testid });
      }
      if (f.required) input.setAttribute('aria-required', 'true');
      if (f.kind !== 'file' && values[f.name] !== undefined) {
        input.value = values[f.name];
        if (f.kind === 'select' && input.value !== values[f.name]) input.selectedIndex = 0;
      }
      form.append(h('label', { for: id, text: f.label + (f.required ? ' *' : '') }), input);
    }
    const err = h('p', { class: 'act-error', 'data-testid': 'act-error', role: 'alert', hidden: true });
    const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'act-submit' }, `提交${actionLabel(action.step, this.user?.role)}`);
    form.append(err, h('div', { class: 'form-actions' }, submit,
      h('button', { type: 'button', onclick: () => this.#closeForm() }, '取消')));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.#submit(action, form, submit);
    });
    clear(this.ui.form).append(form);
    form.querySelector('input, select, textarea')?.focus();
  }

  #closeForm() {
    this.open = null;
    clear(this.ui.form);
    for (const b of this.ui.actions.querySelectorAll('button')) b.setAttribute('aria-expanded', 'false');
  }

  /** #formValues are the open form's values by field name ({} when none is open). */
  #formValues() {
    const form = this.ui?.form?.querySelector('form');
    const out = {};
    if (!form) return out;
    for (const el of form.elements) {
      if (el.name && el.type !== 'file') out[el.name] = el.value;
    }
    return out;
  }

  /** #shown reports whether the case drawn already holds the event's step (its trail reaches the event's time). */
  #shown(ev) {
    const at = Date.parse(ev?.at);
    const trail = this.detail?.trail || [];
    return Number.isFinite(at) && trail.some((t) => Date.parse(t.at) >= at);
  }

  /** #typed reports whether the open form holds typed text. */
  #typed() {
    return [...(this.ui?.form?.querySelectorAll('textarea, input[type="text"], input[type="tel"]') || [])].some((el) => el.value.trim());
  }

  #stale() {
    const form = this.ui.form.querySelector('form');
    if (!form || form.querySelector('[data-testid="case-stale"]')) return;
    form.prepend(h('p', { class: 'act-error', 'data-testid': 'case-stale', role: 'status', text: '此案件刚被他人更新；提交时将以最新状态为准' }));
  }

  #showError(message) {
    const err = this.ui.form.querySelector('[data-testid="act-error"]');
    if (!err) return;
    err.textContent = message;
    err.hidden = false;
  }

  /** #keptOnly shows what was typed into a form whose step is no longer offered. */
  #keptOnly(step, values, error) {
    const text = Object.values(values).filter(Boolean).join('\n');
    clear(this.ui.form).append(h('div', { class: 'act-form' },
      h('p', { class: 'act-error', 'data-testid': 'act-error', role: 'alert', text: error || `${actionLabel(step, this.user?.role)}已不可办理` }),
      text ? h('label', { class: 'act-kept' }, '您填写的内容（已保留）', h('textarea', { readonly: true, rows: 3, 'data-testid': 'act-kept', value: text })) : null));
  }

  async #attachmentsAvailable() {
    if (this.attachments === undefined) {
      // A server with the attachments route answers a GET of it 405 (or
      // 200); one without it, 404: then the photo field is left out.
      try {
        const res = await fetch('/api/v1/attachments', { headers: { Authorization: `Bearer ${api.getToken() || ''}` } });
        this.attachments = res.status !== 404;
      } catch {
        this.attachments = false;
      }
    }
    return this.attachments;
  }

  async #submit(action, form, submit) {
    const values = this.#formValues();
    submit.disabled = true;
    const err = form.querySelector('[data-testid="act-error"]');
    err.hidden = true;
    try {
      const ids = [];
      const file = form.querySelector('input[type="file"]');
      for (const f of file?.files || []) ids.push((await api.uploadAttachment(f, f.name || 'photo.jpg')).id);
      const d = await api.whistleStep(this.id, action.step, bodyOf(action.step, values, ids));
      if (this.destroyed) return;
      this.open = null;
      this.detail = d;
      await this.#reload();
    } catch (ex) {
      if (this.destroyed) return;
      if (ex instanceof api.ApiError && ex.status === 409) {
        // someone acted first: show the case as it is now, keep the text
        await this.#reload({ error: `${ex.message}（案件已更新，请核对后再提交）` });
        return;
      }
      if (ex instanceof api.ApiError && ex.status === 404) {
        this.#notFound();
        return;
      }
      err.textContent = ex.message || '提交失败';
      err.hidden = false;
      submit.disabled = false;
    }
  }

  #tick() {
    const now = Date.now();
    for (const el of this.view.querySelectorAll('[data-due]')) {
      const c = countdown(el.dataset.due, now);
      if (!c) continue;
      el.textContent = c.text;
      el.classList.toggle('overdue', c.overdue);
    }
  }

  async #drawMap() {
    const pts = (this.detail?.clues || []).filter((c) => Number.isFinite(c.lon) && Number.isFinite(c.lat) && (c.lon || c.lat));
    if (!pts.length) {
      this.ui.map.hidden = true;
      return;
    }
    const container = this.ui.map;
    this.map?.remove();
    this.map = null;
    const { createMap, loaded, idle } = await import('./basemap.js');
    if (this.destroyed || this.ui.map !== container) return;
    const map = (this.map = createMap(container, { center: [pts[0].lon, pts[0].lat], zoom: 14 }));
    await loaded(map);
    if (this.destroyed || this.map !== map) return;
    const points = { type: 'FeatureCollection', features: pts.map((c) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [c.lon, c.lat] }, properties: { id: c.id } })) };
    addClueLayers(map, points);
    fitPoints(map, points);
    await idle(map);
    if (this.map === map) container.dataset.drawn = '1';
  }

  #startLive() {
    this.live = new LiveClient({
      url: (since) => api.liveURL({ since }),
      onEvent: (ev) => {
        const w = ev?.data?.whistle;
        if (String(w?.id) !== String(this.id) || this.#shown(ev)) return;
        // an open form with text in it is not swept away: it says the case
        // changed, and its submit answers (a 409 reloads and keeps the text)
        if (this.open && this.#typed()) this.#stale();
        else this.#reload();
      },
      onReload: () => {
        this.live.start(null);
        this.#reload();
      },
    });
    this.live.start(null);
  }
}

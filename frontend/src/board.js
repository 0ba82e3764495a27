// The public message board (你说我办) at /board, phone-first and with no
// login: a form to leave a message (category, text, an optional location
// from the phone, a phone for the callback that is never shown), the
// receipt to look its status up, and the accepted messages with their
// status and public reply. Signed in, the command center screens the
// pending messages here (accept into a clue, reject with a reason) and a
// township writes the public reply of its closed cases. Every text from
// the server is set as text, never parsed as HTML.
//
// Test hooks: [data-testid=board-form], [data-testid=board-text],
// [data-testid=board-category], [data-testid=board-submit],
// [data-testid=board-receipt] (the receipt after posting),
// [data-testid=board-list] with [data-testid=board-message] (data-id),
// [data-testid=board-screening] with [data-testid=screen-message] (data-id),
// body[data-map-ready="1"] once drawn.
import * as api from './api.js';
import { clear, h } from './dom.js';
import { MAX_TEXT, STATUS_NAMES, charCount, groupCategories, phoneProblem, textProblem } from './board-state.js';
import './board.css';

const fmtDate = (iso) => (iso ? new Date(iso).toLocaleDateString('zh-CN', { timeZone: 'Asia/Shanghai' }) : '');
const PAGE = 20;

export class BoardPage {
  constructor(view, ctx) {
    this.view = view;
    this.ctx = ctx;
    this.user = api.getToken() ? ctx.user : null;
    this.abort = new AbortController();
    this.offset = 0;
  }

  async start() {
    this.ctx.setReady(false);
    try {
      const cats = await api.call('GET', '/api/v1/board/categories', { auth: false, signal: this.abort.signal });
      this.#build(cats.categories);
      await this.#loadList(true);
      if (this.user?.role === 'command' || this.user?.role === 'township') await this.#loadScreening();
      this.ctx.setReady(true);
    } catch (err) {
      if (err.name === 'AbortError') return;
      this.ctx.setStatus(`加载失败：${err.message}`, true);
    }
  }

  destroy() {
    this.abort.abort();
    clear(this.view);
  }

  #build(categories) {
    const ui = (this.ui = {});
    const groups = groupCategories(categories);
    ui.category = h('select', { id: 'bf-category', 'data-testid': 'board-category', required: true },
      h('option', { value: '', text: '请选择' }),
      [...groups].map(([g, cs]) => h('optgroup', { label: g }, cs.map((c) => h('option', { value: c.code, text: c.name })))));
    ui.text = h('textarea', { id: 'bf-text', 'data-testid': 'board-text', rows: 5, maxlength: MAX_TEXT, required: true,
      'aria-describedby': 'bf-count', oninput: () => { ui.count.textContent = charCount(ui.text.value); } });
    ui.count = h('span', { id: 'bf-count', class: 'board-hint', text: charCount('') });
    ui.phone = h('input', { id: 'bf-phone', type: 'tel', inputmode: 'tel', autocomplete: 'tel', 'aria-describedby': 'bf-phone-hint' });
    ui.where = h('span', { class: 'board-hint', role: 'status', text: '未提供位置' });
    ui.locate = h('button', { type: 'button', class: 'secondary', text: '使用我的位置', onclick: () => this.#locate() });
    ui.error = h('p', { class: 'board-error', role: 'alert', 'data-testid': 'board-error', hidden: true });
    ui.receipt = h('div', { class: 'board-receipt', 'data-testid': 'board-receipt', hidden: true, tabindex: '-1' });
    ui.submit = h('button', { type: 'submit', 'data-testid': 'board-submit', text: '提交留言' });
    const form = h('form', { class: 'board-form', 'data-testid': 'board-form', novalidate: true, onsubmit: (e) => this.#post(e) },
      h('label', { for: 'bf-category' }, '留言类别'), ui.category,
      h('label', { for: 'bf-text' }, '留言内容'), ui.text, ui.count,
      h('div', { class: 'board-row' }, ui.locate, ui.where),
      h('label', { for: 'bf-phone' }, '联系电话（选填）'), ui.phone,
      h('span', { id: 'bf-phone-hint', class: 'board-hint', text: '仅用于工作人员回访，不会公开' }),
      ui.error, ui.submit, ui.receipt);
    ui.lookup = h('input', { id: 'bf-lookup', autocomplete: 'off', placeholder: '32 位回执号' });
    ui.lookupOut = h('div', { class: 'board-receipt', 'data-testid': 'board-lookup-result', role: 'status' });
    const lookup = h('form', { class: 'board-form', onsubmit: (e) => this.#lookup(e) },
      h('label', { for: 'bf-lookup' }, '回执号'), ui.lookup, h('button', { type: 'submit', text: '查询' }), ui.lookupOut);
    ui.list = h('ol', { class: 'board-list', 'data-testid': 'board-list' });
    ui.total = h('span', { 'data-testid': 'board-total', text: '–' });
    ui.more = h('button', { type: 'button', class: 'secondary', hidden: true, text: '加载更多', onclick: () => this.#loadList(false) });
    ui.screening = h('section', { class: 'board-card', 'data-testid': 'board-screening', hidden: true, 'aria-labelledby': 'bs-title' });
    this.view.replaceChildren(h('div', { class: 'board-page' },
      h('header', { class: 'board-head' }, h('h2', { text: '你说我办' }),
        h('p', { text: '北京延庆 · 您的留言经指挥中心受理后派单办理，办结后在此公开答复。' })),
      ui.screening,
      h('section', { class: 'board-card', 'aria-labelledby': 'bf-title' }, h('h3', { id: 'bf-title', text: '我要留言' }), form),
      h('section', { class: 'board-card', 'aria-labelledby': 'bl-title' }, h('h3', { id: 'bl-title', text: '查询我的留言' }), lookup),
      h('section', { class: 'board-card', 'aria-labelledby': 'bm-title' },
        h('h3', { id: 'bm-title' }, '留言公开 ', h('small', {}, '共 ', ui.total, ' 条')), ui.list, ui.more)));
  }

  #locate() {
    const ui = this.ui;
    if (!navigator.geolocation) {
      ui.where.textContent = '此设备无法定位';
      return;
    }
    ui.where.textContent = '正在定位…';
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        this.location = { lon: Number(pos.coords.longitude.toFixed(6)), lat: Number(pos.coords.latitude.toFixed(6)) };
        ui.where.textContent = `已定位：${this.location.lon}, ${this.location.lat}`;
      },
      () => {
        ui.where.textContent = '定位失败，可不提供位置';
      },
      { timeout: 10000 },
    );
  }

  async #post(e) {
    e.preventDefault();
    const ui = this.ui;
    const problem = !ui.category.value ? '请选择留言类别' : textProblem(ui.text.value) || phoneProblem(ui.phone.value);
    ui.error.hidden = !problem;
    ui.error.textContent = problem;
    if (problem) return;
    const body = { text: ui.text.value.trim(), category: ui.category.value };
    if (ui.phone.value.trim()) body.phone = ui.phone.value.trim();
    if (this.location) Object.assign(body, this.location);
    ui.submit.disabled = true;
    try {
      const res = await api.call('POST', '/api/v1/board/messages', { body, auth: false });
      ui.text.value = '';
      ui.count.textContent = charCount('');
      ui.receipt.hidden = false;
      ui.receipt.replaceChildren(h('p', { text: `留言已提交（编号 ${res.id}），等待受理。请保存回执号查询进度：` }),
        h('code', { 'data-testid': 'board-receipt-code', text: res.receipt }));
      ui.lookup.value = res.receipt;
      ui.receipt.focus();
    } catch (err) {
      ui.error.hidden = false;
      ui.error.textContent = err.status === 429 ? `提交太频繁：${err.message}` : `未能提交：${err.message}`;
    } finally {
      ui.submit.disabled = false;
    }
  }

  async #lookup(e) {
    e.preventDefault();
    const r = this.ui.lookup.value.trim();
    const out = this.ui.lookupOut;
    if (!/^[0-9a-f]{32}$/.test(r)) {
      out.textContent = '回执号为 32 位数字和字母';
      return;
    }
    try {
      const m = await api.call('GET', `/api/v1/board/receipts/${r}`, { auth: false });
      out.replaceChildren(h('p', {}, '状态：', h('strong', { 'data-testid': 'lookup-status', text: m.status_name || STATUS_NAMES[m.status] })),
        m.reason ? h('p', { text: `不予受理的原因：${m.reason}` }) : null,
        m.reply ? h('p', { text: `答复：${m.reply}` }) : null);
    } catch (err) {
      out.textContent = err.status === 404 ? '没有这个回执号的留言' : `查询失败：${err.message}`;
    }
  }

  #card(m) {
    return h('li', { class: 'board-message', 'data-testid': 'board-message', 'data-id': m.id },
      h('div', { class: 'board-meta' },
        h('span', { class: `board-status s-${m.status}`, text: m.status_name || STATUS_NAMES[m.status] }),
        h('span', { text: m.category_name }), m.township ? h('span', { text: m.township }) : null, h('span', { text: fmtDate(m.created_at) })),
      h('p', { class: 'board-text', text: m.text }),
      m.reply ? h('div', { class: 'board-reply' }, h('strong', { text: '答复：' }), h('span', { 'data-testid': 'board-reply', text: m.reply })) : null);
  }

  async #loadList(reset) {
    if (reset) {
      this.offset = 0;
      clear(this.ui.list);
    }
    const res = await api.call('GET', `/api/v1/board/messages?limit=${PAGE}&offset=${this.offset}`, { auth: false, signal: this.abort.signal });
    this.offset += res.messages.length;
    this.ui.list.append(...res.messages.map((m) => this.#card(m)));
    this.ui.total.textContent = String(res.total);
    this.ui.more.hidden = this.offset >= res.total;
  }

  async #loadScreening() {
    const command = this.user.role === 'command';
    const res = await api.call('GET', `/api/v1/board/screening?status=${command ? 'pending' : 'accepted'}&limit=50`, { signal: this.abort.signal });
    const items = res.messages.map((m) => {
      const msg = h('p', { class: 'board-error', role: 'status' });
      const act = async (path, body) => {
        try {
          await api.call('POST', `/api/v1/board/messages/${m.id}/${path}`, { body });
          await this.#loadScreening();
          await this.#loadList(true);
        } catch (err) {
          msg.textContent = `未能完成：${err.message}`;
        }
      };
      const id = `sm-${m.id}`;
      let controls;
      if (command) {
        const lon = h('input', { id: `${id}-lon`, inputmode: 'decimal', value: m.lon ?? '', size: 10 });
        const lat = h('input', { id: `${id}-lat`, inputmode: 'decimal', value: m.lat ?? '', size: 10 });
        const reason = h('input', { id: `${id}-reason`, placeholder: '不予受理的原因' });
        controls = h('div', { class: 'board-controls' },
          h('label', { for: `${id}-lon` }, '经度'), lon, h('label', { for: `${id}-lat` }, '纬度'), lat,
          h('button', { type: 'button', 'data-testid': 'screen-accept', text: '受理', onclick: () => {
            const body = lon.value && lat.value ? { lon: Number(lon.value), lat: Number(lat.value) } : {};
            act('accept', body);
          } }),
          h('label', { for: `${id}-reason` }, '原因'), reason,
          h('button', { type: 'button', class: 'danger', 'data-testid': 'screen-reject', text: '不予受理', onclick: () => act('reject', { reason: reason.value }) }));
      } else if (!m.reply && m.status === 'done') {
        const reply = h('textarea', { id: `${id}-reply`, rows: 2 });
        controls = h('div', { class: 'board-controls' }, h('label', { for: `${id}-reply` }, '公开答复'), reply,
          h('button', { type: 'button', 'data-testid': 'screen-reply', text: '发布答复', onclick: () => act('reply', { reply: reply.value }) }));
      }
      return h('li', { class: 'board-message', 'data-testid': 'screen-message', 'data-id': m.id },
        h('div', { class: 'board-meta' }, h('span', { class: `board-status s-${m.status}`, text: m.status_name }), h('span', { text: m.category_name }),
          m.phone ? h('span', { text: `电话 ${m.phone}` }) : null, h('span', { text: fmtDate(m.created_at) })),
        h('p', { class: 'board-text', text: m.text }), controls, msg);
    });
    this.ui.screening.hidden = false;
    this.ui.screening.replaceChildren(h('h3', { id: 'bs-title', text: command ? `待筛选留言（${res.total}）` : `本乡镇受理的留言（${res.total}）` }),
      h('ol', { class: 'board-list' }, items));
  }
}

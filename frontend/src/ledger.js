// The rectification ledger (整改台账) at /ledger: the list of items with
// filters and a form to record one; /ledger/{id}: an item's measures,
// trail and notices, with the actions the caller may take (progress,
// measure done, 销账 asked, approved or rejected); /ledger/review?period=:
// the monthly or quarterly review with its xlsx download.
//
// Test hooks: [data-testid=ledger-list] rows [data-testid=ledger-row]
// (data-id), [data-testid=ledger-total], [data-testid=ledger-status],
// [data-testid=ledger-level], the action forms [data-testid=ledger-progress],
// [data-testid=ledger-writeoff], [data-testid=ledger-review], the review
// counts [data-testid=review-<due|closed|overdue|rejected>], and
// body[data-map-ready="1"] once the view is drawn.
import * as api from './api.js';
import { clear, h } from './dom.js';
import {
  ENTRY_NAMES,
  LEVEL_NAMES,
  PERIOD,
  SOURCE_NAMES,
  STATUS_NAMES,
  dueText,
  mayDo,
  monthOf,
  periodTitle,
  recentPeriods,
} from './ledger-state.js';
import { ledgerHref, ledgerReviewHref } from './router.js';
import { downloadExport } from './stats-download.js';
import './ledger.css';

const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false }) : '—');

function select(attrs, options, value = '') {
  const s = h('select', attrs, ...options.map(([v, label]) => h('option', { value: v, text: label })));
  s.value = value;
  return s;
}

export class LedgerPage {
  constructor(view, ctx) {
    this.view = view;
    this.ctx = ctx;
    this.user = ctx.user;
    this.abort = new AbortController();
    this.root = h('div', { class: 'ledger-page' });
    view.replaceChildren(this.root);
  }

  async start() {
    await this.update(this.ctx.route);
  }

  destroy() {
    this.abort.abort();
    clear(this.view);
  }

  async update(route) {
    this.route = route;
    this.ctx.setReady(false);
    this.ctx.setStatus('');
    try {
      if (route.view === 'item') await this.#item(route.id);
      else if (route.view === 'review') await this.#review(route.period);
      else await this.#list(route);
      this.ctx.setReady(true);
    } catch (err) {
      if (err.name === 'AbortError') return;
      if (err instanceof api.ApiError && err.status === 401) return;
      this.ctx.setStatus(`加载失败：${err.message}`, true);
    }
  }

  #tabs(current) {
    const tab = (name, href, label) =>
      h('a', { href, 'data-link': '', class: current === name ? 'current' : '', 'aria-current': current === name ? 'page' : null, text: label });
    return h('nav', { class: 'ledger-tabs', 'aria-label': '整改台账' },
      tab('list', ledgerHref(), '台账列表'), tab('review', ledgerReviewHref(monthOf(new Date())), '月度/季度审核'));
  }

  async #list(route) {
    const q = new URLSearchParams();
    const f = this.filters || { status: route.status || '', level: route.level || '', source: '', overdue: false, q: '' };
    this.filters = f;
    for (const k of ['status', 'level', 'source', 'q']) if (f[k]) q.set(k, f[k]);
    if (f.overdue) q.set('overdue', 'true');
    q.set('limit', '200');
    const res = await api.call('GET', `/api/v1/ledger?${q}`, { signal: this.abort.signal });
    const status = select({ 'data-testid': 'ledger-status', id: 'lf-status' }, [['', '全部'], ...Object.entries(STATUS_NAMES)], f.status);
    const level = select({ 'data-testid': 'ledger-level', id: 'lf-level' }, [['', '全部'], ...Object.entries(LEVEL_NAMES)], f.level);
    const source = select({ id: 'lf-source' }, [['', '全部'], ...Object.entries(SOURCE_NAMES)], f.source);
    const overdue = h('input', { type: 'checkbox', id: 'lf-overdue' });
    overdue.checked = f.overdue;
    const search = h('input', { type: 'search', id: 'lf-q', value: f.q, placeholder: '事项或问题' });
    const apply = (e) => {
      e?.preventDefault();
      this.filters = { status: status.value, level: level.value, source: source.value, overdue: overdue.checked, q: search.value.trim() };
      this.update(this.route);
    };
    for (const el of [status, level, source, overdue]) el.addEventListener('change', apply);
    const filters = h('form', { class: 'ledger-filters', onsubmit: apply, role: 'search' },
      h('label', { for: 'lf-status' }, '状态'), status,
      h('label', { for: 'lf-level' }, '督办层级'), level,
      h('label', { for: 'lf-source' }, '来源'), source,
      h('label', { class: 'check', for: 'lf-overdue' }, overdue, '仅逾期'),
      h('label', { for: 'lf-q' }, '搜索'), search,
      h('button', { type: 'submit', text: '查询' }));
    const rows = res.items.map((it) =>
      h('tr', { 'data-testid': 'ledger-row', 'data-id': it.id, class: it.overdue ? 'overdue' : '' },
        h('td', {}, h('a', { href: ledgerHref(it.id), 'data-link': '', text: `#${it.id}` })),
        h('td', {}, h('a', { href: ledgerHref(it.id), 'data-link': '', text: it.title })),
        h('td', { text: it.grid.name }),
        h('td', { text: it.responsible.name }),
        h('td', { text: it.level_name }),
        h('td', { text: it.status_name }),
        h('td', { text: dueText(it.next_due, it.overdue) })));
    const table = h('table', { class: 'ledger-table', 'data-testid': 'ledger-list' },
      h('caption', { class: 'sr-only', text: '整改台账事项' }),
      h('thead', {}, h('tr', {}, ...['编号', '事项', '网格', '责任主体', '督办层级', '状态', '最近期限'].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, rows));
    const parts = [this.#tabs('list'), filters,
      h('p', { class: 'ledger-meta' }, '共 ', h('strong', { 'data-testid': 'ledger-total', text: String(res.total) }), ' 项',
        res.total > res.items.length ? `（显示前 ${res.items.length} 项，请用筛选缩小范围）` : ''),
      table];
    if (this.user?.role === 'command' || this.user?.role === 'township') parts.push(this.#createForm());
    this.root.replaceChildren(h('section', { class: 'ledger-section', 'aria-label': '台账列表' }, ...parts));
  }

  #createForm() {
    const own = this.user?.role === 'township' ? this.user.jurisdiction?.grid_code || '' : '';
    const title = h('input', { id: 'lc-title', maxlength: 200 });
    const grid = h('input', { id: 'lc-grid', value: own, inputmode: 'numeric', placeholder: '网格编码（乡镇/村/户网格）' });
    const source = select({ id: 'lc-source' }, Object.entries(SOURCE_NAMES), 'inspection');
    const town = h('input', { id: 'lc-town', value: own, inputmode: 'numeric', placeholder: '乡镇编码' });
    const unit = h('input', { id: 'lc-unit', placeholder: '单位编码（如 D001）' });
    const sup = h('input', { id: 'lc-sup', placeholder: '督办部门编码（可选）' });
    const whistle = h('input', { id: 'lc-whistle', inputmode: 'numeric', value: this.route.whistle || '', placeholder: '由哨转入（哨号，可选）' });
    const cell = h('input', { id: 'lc-cell', value: this.route.cell || '', placeholder: '热点位置 H3 编码（可选）' });
    const measure = h('input', { id: 'lc-measure', required: true });
    const due = h('input', { id: 'lc-due', type: 'date', required: true });
    const msg = h('p', { class: 'form-msg', role: 'status' });
    const submit = async (e) => {
      e.preventDefault();
      const body = { title: title.value.trim(), grid: grid.value.trim(), source: source.value,
        measures: [{ text: measure.value.trim(), due: due.value }] };
      if (unit.value.trim()) body.responsible_unit = unit.value.trim();
      else body.responsible_township = town.value.trim();
      if (sup.value.trim()) body.supervising_unit = sup.value.trim();
      if (whistle.value.trim()) body.whistle_id = Number(whistle.value.trim());
      if (cell.value.trim()) body.hotspot_cell = cell.value.trim();
      if (!body.title) delete body.title;
      if (!body.grid) delete body.grid;
      try {
        const it = await api.call('POST', '/api/v1/ledger', { body });
        this.ctx.navigate(ledgerHref(it.id));
      } catch (err) {
        msg.textContent = `未能建立：${err.message}`;
      }
    };
    if (this.route.whistle) source.value = 'complaints';
    if (this.route.cell) source.value = 'hotspot';
    return h('details', { class: 'ledger-create', open: Boolean(this.route.whistle || this.route.cell) },
      h('summary', { text: '新建台账事项' }),
      h('form', { class: 'ledger-form', 'data-testid': 'ledger-create', onsubmit: submit },
        h('label', { for: 'lc-title' }, '事项'), title,
        h('label', { for: 'lc-grid' }, '网格编码'), grid,
        h('label', { for: 'lc-source' }, '来源'), source,
        h('label', { for: 'lc-town' }, '责任乡镇'), town,
        h('label', { for: 'lc-unit' }, '或责任单位'), unit,
        h('label', { for: 'lc-sup' }, '督办部门'), sup,
        h('label', { for: 'lc-whistle' }, '由哨转入'), whistle,
        h('label', { for: 'lc-cell' }, '由热点转入'), cell,
        h('label', { for: 'lc-measure' }, '整改措施'), measure,
        h('label', { for: 'lc-due' }, '完成期限'), due,
        h('button', { type: 'submit', text: '建立台账' }), msg));
  }

  async #item(id) {
    const it = await api.call('GET', `/api/v1/ledger/${id}`, { signal: this.abort.signal });
    const can = mayDo(this.user, it);
    const act = async (method, path, body, msg) => {
      try {
        await api.call(method, `/api/v1/ledger/${id}${path}`, { body });
        await this.update(this.route);
      } catch (err) {
        msg.textContent = `未能完成：${err.message}`;
      }
    };
    const dl = (pairs) => h('dl', { class: 'ledger-facts' }, pairs.map(([k, v]) => [h('dt', { text: k }), h('dd', { text: v || '—' })]));
    const measures = h('ol', { class: 'ledger-measures' }, it.measures.map((m) => {
      const msg = h('span', { class: 'form-msg', role: 'status' });
      return h('li', { class: m.overdue ? 'overdue' : '' },
        h('span', { text: m.text }),
        h('span', { class: 'due', text: `期限 ${dueText(m.due, m.overdue)}` }),
        m.done_at ? h('span', { class: 'done', text: `已完成 ${fmtTime(m.done_at)}` }) :
          can.has('done') ? h('button', { type: 'button', text: '标记完成', onclick: () => act('PATCH', '', { done: [m.n] }, msg) }) : null,
        msg);
    }));
    const note = (testid, label, path, button) => {
      const ta = h('textarea', { id: `${testid}-note`, rows: 3, maxlength: 4000, required: true });
      const att = h('input', { id: `${testid}-att`, placeholder: '附件编号，用逗号分隔（可选）' });
      const msg = h('p', { class: 'form-msg', role: 'status' });
      return h('form', { class: 'ledger-form', 'data-testid': testid, onsubmit: (e) => {
        e.preventDefault();
        const attachments = att.value.split(/[,，\s]+/).filter(Boolean);
        act('POST', path, { note: ta.value, attachments }, msg);
      } },
      h('label', { for: `${testid}-note` }, label), ta, h('label', { for: `${testid}-att` }, '附件'), att,
      h('button', { type: 'submit', text: button }), msg);
    };
    const actions = [];
    if (can.has('progress')) actions.push(note('ledger-progress', '整改进展', '/progress', '提交进展'));
    if (can.has('writeoff')) actions.push(note('ledger-writeoff', '销账申请（说明与证据）', '/writeoff', '申请销账'));
    if (can.has('review')) {
      const reason = h('textarea', { id: 'lr-reason', rows: 2, maxlength: 4000 });
      const msg = h('p', { class: 'form-msg', role: 'status' });
      const decide = (decision) => act('POST', '/review', { decision, reason: reason.value }, msg);
      actions.push(h('form', { class: 'ledger-form', 'data-testid': 'ledger-review', onsubmit: (e) => e.preventDefault() },
        h('label', { for: 'lr-reason' }, '审核意见（驳回必填）'), reason,
        h('div', { class: 'buttons' },
          h('button', { type: 'button', 'data-testid': 'review-approve', text: '同意销账', onclick: () => decide('approve') }),
          h('button', { type: 'button', class: 'danger', 'data-testid': 'review-reject', text: '驳回', onclick: () => decide('reject') })),
        msg));
    }
    const entries = h('ol', { class: 'ledger-trail' }, it.entries.map((e) =>
      h('li', {}, h('time', { text: fmtTime(e.at) }), h('strong', { text: ENTRY_NAMES[e.kind] || e.kind }), h('span', { text: e.actor }),
        e.note ? h('p', { text: e.note }) : null,
        e.attachments?.length ? h('p', { class: 'att', text: `附件：${e.attachments.join('、')}` }) : null)));
    const notices = it.notices.length
      ? h('ul', { class: 'ledger-notices' }, it.notices.map((n) => h('li', { text: `${fmtTime(n.at)} ${LEVEL_NAMES[n.level] || n.level} → ${n.recipient}：${n.note}` })))
      : h('p', { class: 'ledger-meta', text: '暂无督办通知' });
    this.root.replaceChildren(h('article', { class: 'ledger-section ledger-item', 'data-testid': 'ledger-item', 'data-id': it.id },
      this.#tabs('item'),
      h('h2', {}, `#${it.id} `, it.title),
      h('p', { class: 'ledger-badges' },
        h('span', { class: `badge status-${it.status}`, 'data-testid': 'item-status', text: it.status_name }),
        h('span', { class: `badge level-${it.level}`, 'data-testid': 'item-level', text: it.level_name }),
        it.overdue ? h('span', { class: 'badge overdue', text: '有逾期措施' }) : null),
      dl([['问题', it.problem], ['网格', `${it.grid.name}（${it.grid.code}）`], ['乡镇', it.township.name], ['来源', it.source_name],
        ['责任主体', it.responsible.name], ['督办部门', it.supervising_unit?.name], ['关联哨', it.whistle_id ? `#${it.whistle_id}` : ''],
        ['热点位置', it.hotspot_cell], ['建立时间', fmtTime(it.created_at)], ['销账时间', it.closed_at ? fmtTime(it.closed_at) : ''],
        ['最近驳回理由', it.last_reject]]),
      h('h3', { text: '整改措施' }), measures,
      actions.length ? h('section', { class: 'ledger-actions', 'aria-label': '操作' }, h('h3', { text: '操作' }), actions) : null,
      h('h3', { text: '督办通知' }), notices,
      h('h3', { text: '办理记录' }), entries));
  }

  async #review(period) {
    if (!PERIOD.test(period || '')) period = monthOf(new Date());
    const r = await api.call('GET', `/api/v1/ledger/review?period=${encodeURIComponent(period)}`, { signal: this.abort.signal });
    const pick = select({ id: 'rv-period', 'data-testid': 'review-period' },
      recentPeriods(new Date()).map((p) => [p, periodTitle(p)]), period);
    if (pick.value !== period) pick.append(h('option', { value: period, text: periodTitle(period) }));
    pick.value = period;
    pick.addEventListener('change', () => this.ctx.navigate(ledgerReviewHref(pick.value)));
    const msg = h('span', { class: 'form-msg', role: 'status' });
    const download = h('button', { type: 'button', 'data-testid': 'review-download', text: '导出 Excel', onclick: async () => {
      try {
        const name = await downloadExport(`ledger/review?format=xlsx&period=${encodeURIComponent(period)}`, `整改台账审核_${period}.xlsx`);
        msg.textContent = `已导出 ${name}`;
      } catch (err) {
        msg.textContent = `导出失败：${err.message}`;
      }
    } });
    const count = (key, label) => h('div', { class: `review-count ${key}` },
      h('span', { class: 'value', 'data-testid': `review-${key}`, text: String(r.counts[key]) }), h('span', { text: label }));
    const yes = (b) => (b ? '是' : '');
    const table = h('table', { class: 'ledger-table', 'data-testid': 'review-list' },
      h('caption', { class: 'sr-only', text: `${r.title}审核事项` }),
      h('thead', {}, h('tr', {}, ...['编号', '事项', '责任主体', '状态', '本期到期', '本期销账', '本期逾期', '本期驳回', '驳回理由'].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, r.items.map((it) => h('tr', {},
        h('td', {}, h('a', { href: ledgerHref(it.id), 'data-link': '', text: `#${it.id}` })),
        h('td', { text: it.title }), h('td', { text: it.responsible.name }), h('td', { text: it.status_name }),
        h('td', { text: yes(it.due) }), h('td', { text: yes(it.closed) }), h('td', { text: yes(it.overdue_in_period) }),
        h('td', { text: yes(it.rejected) }), h('td', { text: it.reject_reason })))));
    this.root.replaceChildren(h('section', { class: 'ledger-section', 'aria-label': '月度/季度审核' },
      this.#tabs('review'),
      h('div', { class: 'ledger-filters' }, h('label', { for: 'rv-period' }, '审核期间'), pick, download, msg),
      h('h2', { 'data-testid': 'review-title', text: `${r.title} 整改台账审核` }),
      h('div', { class: 'review-counts' }, count('due', '本期到期'), count('closed', '本期销账'), count('overdue', '逾期'), count('rejected', '驳回')),
      table));
  }
}

// The two-way assessment at /assessment[?year=YYYY] (双向考核): the units
// scored by the townships and the townships scored by the units, over
// GET /api/v1/assessment, with the formulas shown (whistle.ScoreUnit and
// whistle.ScoreTownship define them). Each row opens the whistles behind
// its score (GET /api/v1/whistles with the unit or township and the year),
// and each of those its summons and ratings. Downloads: the assessment as
// xlsx or CSV, a row's whistles as xlsx.
//
// Test hooks: [data-testid=assessment-year], [data-testid=units-table],
// [data-testid=townships-table] (rows [data-testid=row-<code>]),
// [data-testid=assessment-detail], [data-testid=assessment-xlsx],
// body[data-map-ready="1"] once the tables are drawn.
import * as api from './api.js';
import { clear, h } from './dom.js';
import { count, dateTime, pct } from './format.js';
import { downloadExport } from './stats-download.js';
import './assessment.css';

const KINDS = { department: '职能部门', station: '派驻机构', utility: '公共服务企业' };
const STATUS = { raised: '已吹哨', in_progress: '办理中', awaiting_approval: '待审核', closed: '已结案' };
const num = (v) => (v === null || v === undefined ? '—' : String(v));

export class AssessmentPage {
  constructor(view, ctx) {
    this.view = view;
    this.ctx = ctx;
    this.thisYear = Number(new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric' }).format(new Date()));
    this.year = ctx.route.year || this.thisYear;
    this.seq = 0;
    this.destroyed = false;
    this.#build();
  }

  #build() {
    const ui = (this.ui = {});
    ui.year = h('select', { 'data-testid': 'assessment-year', 'aria-label': '考核年度', onchange: () => this.ctx.navigate(`/assessment?year=${ui.year.value}`) });
    ui.units = h('table', { class: 'as-table', 'data-testid': 'units-table' });
    ui.towns = h('table', { class: 'as-table', 'data-testid': 'townships-table' });
    ui.detail = h('section', { class: 'as-detail', 'data-testid': 'assessment-detail', hidden: true, 'aria-live': 'polite' });
    const dl = (format, text) => h('button', { type: 'button', 'data-testid': `assessment-${format}`, text,
      onclick: () => this.#download(`assessment?year=${this.year}&format=${format}`) });
    this.root = h('div', { class: 'assessment-page' },
      h('div', { class: 'as-bar' }, h('h2', { text: '双向考核' }), ui.year, dl('xlsx', '下载Excel'), dl('csv', '下载CSV')),
      h('details', { class: 'as-formula', open: true, 'data-testid': 'assessment-formula' },
        h('summary', { text: '计分公式' }),
        h('p', {}, h('b', { text: '街乡镇评单位（满分100）：' }),
          '评价 60 分 = 20 × (报到评分均值 + 解决评分均值 + 满意评分均值) ÷ 5；按时报到 20 分 = 20 × 按时报到率（按时报到的召集 ÷ 已报到或报到时限已过的召集）；',
          '解决 20 分 = 20 × (已解决 + ½ × 部分解决) ÷ 已结案哨中本单位的办理结果；每次督办扣 2 分。'),
        h('p', {}, h('b', { text: '单位评街乡镇（满分100）：' }),
          '未退回 40 分 = 40 × 未经退回结案 ÷ 已结案；按时审核 30 分 = 30 × 主办单位办结后 48 小时内结案 ÷ (已结案 + 待审核超过 48 小时)；',
          '按时评价 30 分 = 30 × 结案后 72 小时内评价的召集 ÷ (已评价或结案超过 72 小时的召集)。'),
        h('p', { class: 'as-note', text: '某项无数据时不计入，其余各项按比例折算为 100 分后再扣分，最低 0 分；得分保留两位小数。' })),
      h('section', { class: 'as-section' }, h('h3', { text: '街乡镇评单位' }), h('div', { class: 'as-scroll' }, ui.units)),
      h('section', { class: 'as-section' }, h('h3', { text: '单位评街乡镇' }), h('div', { class: 'as-scroll' }, ui.towns)),
      ui.detail);
    clear(this.view).appendChild(this.root);
  }

  async start() {
    await this.#load();
  }

  update(route) {
    this.year = route.year || this.thisYear;
    this.#load().catch((err) => this.ctx.setStatus(`考核加载失败：${err.message}`, true));
  }

  destroy() {
    this.destroyed = true;
  }

  async #load() {
    const seq = ++this.seq;
    this.ctx.setReady(false);
    this.ctx.setStatus('正在加载考核…');
    clear(this.ui.year);
    for (let y = Math.max(this.thisYear, this.year); y >= Math.min(this.thisYear - 4, this.year); y--) {
      this.ui.year.appendChild(h('option', { value: y, text: `${y}年` }));
    }
    this.ui.year.value = String(this.year);
    const a = await api.get(`assessment?year=${this.year}`);
    if (seq !== this.seq || this.destroyed) return;
    this.ui.detail.hidden = true;
    this.#table(this.ui.units, ['排名', '单位', '类型', '吹哨数', '得分', '评价(60)', '按时报到(20)', '解决(20)', '督办扣分', ''],
      a.units.map((u, i) => ({
        code: u.code,
        cells: [i + 1, u.name, KINDS[u.kind] || u.kind, count(u.whistles), num(u.score), num(u.parts.ratings),
          `${num(u.parts.report_in)}（${pct(u.parts.report_in_rate)}）`, `${num(u.parts.resolution)}（${pct(u.parts.resolution_rate)}）`,
          u.parts.deduction ? `−${u.parts.deduction}（${u.parts.notices}次）` : '0'],
        open: () => this.#detail('unit', u.code, u.name),
      })));
    this.#table(this.ui.towns, ['排名', '街乡镇', '吹哨数', '得分', '未退回(40)', '按时审核(30)', '按时评价(30)', ''],
      a.townships.map((t, i) => ({
        code: t.code,
        cells: [i + 1, t.name, count(t.whistles), num(t.score), `${num(t.parts.no_return)}（${pct(t.parts.no_return_rate)}）`,
          `${num(t.parts.approval)}（${pct(t.parts.approval_rate)}）`, `${num(t.parts.rating)}（${pct(t.parts.rating_rate)}）`],
        open: () => this.#detail('township', t.code, t.name),
      })));
    this.ctx.setStatus('');
    this.ctx.setReady(true);
  }

  #table(table, head, rows) {
    clear(table).append(
      h('thead', {}, h('tr', {}, head.map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, rows.length
        ? rows.map((r) => h('tr', { 'data-testid': `row-${r.code}` }, r.cells.map((c) => h('td', { text: String(c) })),
          h('td', {}, h('button', { type: 'button', class: 'as-open', text: '明细', 'aria-label': `${r.cells[1]} 得分明细`, onclick: r.open }))))
        : h('tr', {}, h('td', { colspan: head.length, class: 'as-empty', text: '本年度暂无数据' }))));
  }

  /** #detail lists the whistles behind a row's score: the unit's summons or the township's whistles of the year. */
  async #detail(kind, code, name) {
    const q = new URLSearchParams({ [kind]: code, from: `${this.year}-01-01`, to: `${this.year + 1}-01-01`, limit: '100' });
    const d = this.ui.detail;
    clear(d).append(h('p', { text: `正在加载 ${name} 的吹哨…` }));
    d.hidden = false;
    const res = await api.get(`whistles?${q}`);
    const list = h('tbody');
    for (const w of res.whistles) {
      const ratings = h('td', { class: 'as-ratings' },
        h('button', { type: 'button', class: 'as-open', text: '查看评价', 'aria-label': `查看评价（吹哨 ${w.id}）`, onclick: () => this.#ratings(w.id, ratings, kind === 'unit' ? code : '') }));
      list.appendChild(h('tr', {}, h('td', { text: String(w.id) }), h('td', { text: w.township_name }), h('td', { text: w.category_name }),
        h('td', { text: dateTime(w.raised_at) }), h('td', { text: STATUS[w.status] || w.status }), h('td', { text: w.ever_overdue ? '是' : '否' }), ratings));
    }
    const xq = new URLSearchParams(q);
    xq.delete('limit');
    xq.set('format', 'xlsx');
    clear(d).append(
      h('header', { class: 'as-bar' }, h('h3', { 'data-testid': 'detail-title', text: `${name} · ${this.year}年 吹哨 ${count(res.total)} 件` }),
        h('button', { type: 'button', 'data-testid': 'detail-xlsx', text: '下载全部Excel', onclick: () => this.#download(`whistles?${xq}`) }),
        h('button', { type: 'button', text: '关闭', onclick: () => { d.hidden = true; } })),
      res.total > res.whistles.length ? h('p', { class: 'as-note', text: `列出最近 ${res.whistles.length} 件，共 ${res.total} 件，全部请下载 Excel。` }) : null,
      h('div', { class: 'as-scroll' }, h('table', { class: 'as-table' },
        h('thead', {}, h('tr', {}, ['编号', '街乡镇', '类别', '吹哨时间', '状态', '曾超期', '评价（报到/解决/满意）'].map((t) => h('th', { scope: 'col', text: t })))),
        list)));
    d.scrollIntoView({ block: 'start' });
  }

  async #ratings(id, cell, unit) {
    const w = await api.whistle(id);
    const rows = (w.summons || []).filter((s) => !unit || s.unit.code === unit)
      .map((s) => `${s.unit.name}${s.role === 'lead' ? '（主办）' : ''}：${s.ratings ? `${s.ratings.reported_in}/${s.ratings.resolved}/${s.ratings.satisfied}` : '未评价'}`);
    clear(cell).append(...rows.flatMap((r, i) => (i ? [h('br'), r] : [r])));
  }

  #download(path) {
    this.ctx.setStatus('正在导出…');
    downloadExport(path, 'export.xlsx')
      .then(() => this.ctx.setStatus(''))
      .catch((err) => this.ctx.setStatus(`导出失败：${err.message}`, true));
  }
}

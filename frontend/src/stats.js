// The statistics at /stats (统计分析): filters (date range, township, unit,
// category, source, grade, and the time grouping) held in the URL, and
// eight ECharts charts over GET /api/v1/stats and /api/v1/stats/clues:
// clues and whistles over time; clues by source; whistles by township (a
// click drills into its villages and units); the category tree as a
// treemap; the three rates over time; the turnaround distribution with
// its mean and p90; overdue and supervised whistles over time; and a
// township choropleth of a chosen count or rate. Each chart downloads its
// data as xlsx (the server's export with the same filters) and saves as
// PNG. ECharts is imported here only (echarts/core with the charts used),
// so only this page's chunk carries it.
//
// Test hooks: [data-testid=stats-filters] and its fields
// [data-testid=filter-<name>], [data-testid=chart-<name>] (each card, with
// [data-testid=xlsx-<name>] and [data-testid=png-<name>]),
// [data-testid=stats-total] (whistles raised), body[data-map-ready="1"]
// once every chart is drawn.
import { BarChart, LineChart, MapChart, PieChart, TreemapChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent, VisualMapComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import * as api from './api.js';
import { clear, h } from './dom.js';
import { count, pct } from './format.js';
import { downloadDataURL, downloadExport } from './stats-download.js';
import { GRADES, METRICS, PERIODS, SOURCES, apiQuery, categoryTreemap, filtersSearch, inTurn, parseFilters } from './stats-state.js';
import './stats.css';

echarts.use([BarChart, LineChart, MapChart, PieChart, TreemapChart, GridComponent, LegendComponent, TooltipComponent, VisualMapComponent, CanvasRenderer]);

const TEXT = '#e2e8f0';
const MUTED = '#94a3b8';
const LINE = 'rgba(125, 211, 252, 0.25)';
const COLORS = ['#38bdf8', '#f59e0b', '#34d399', '#f472b6', '#a78bfa', '#f87171', '#facc15', '#2dd4bf'];
const BG = '#0b1324';

/** base is what every chart shares: dark theme, no animation (drawn at once), canvas tooltips (no inline styles). */
const base = () => ({
  animation: false,
  color: COLORS,
  textStyle: { color: TEXT, fontFamily: 'system-ui, "PingFang SC", "Microsoft YaHei", sans-serif' },
  tooltip: { trigger: 'item', renderMode: 'richText', backgroundColor: '#0f1e36', borderColor: LINE, textStyle: { color: TEXT } },
  legend: { top: 0, textStyle: { color: MUTED } },
  grid: { left: 48, right: 16, top: 36, bottom: 40, containLabel: true },
});

const axis = (data) => ({
  type: 'category',
  data,
  axisLine: { lineStyle: { color: LINE } },
  axisLabel: { color: MUTED, hideOverlap: true },
});
const valueAxis = (extra = {}) => ({ type: 'value', splitLine: { lineStyle: { color: LINE } }, axisLabel: { color: MUTED }, ...extra });
const rateAxis = () => valueAxis({ min: 0, max: 1, axisLabel: { color: MUTED, formatter: (v) => `${Math.round(v * 100)}%` } });

/** CHARTS: each card's name, title and the API grouping its xlsx exports. */
const CHARTS = [
  { name: 'trend', title: '线索与吹哨数量' },
  { name: 'source', title: '线索来源' },
  { name: 'township', title: '各街乡镇吹哨（点击下钻）' },
  { name: 'category', title: '问题类别' },
  { name: 'rates', title: '响应率 · 解决率 · 满意率' },
  { name: 'turnaround', title: '办理时长分布' },
  { name: 'overdue', title: '超期与督办' },
  { name: 'map', title: '街乡镇分布图' },
];

export class StatsPage {
  /** ctx: {user, route, setStatus, setReady, navigate}. */
  constructor(view, ctx) {
    this.view = view;
    this.ctx = ctx;
    this.f = parseFilters(ctx.route.search);
    this.charts = {};
    this.seq = 0;
    this.destroyed = false;
    this.mapRegistered = false;
    this.resize = () => Object.values(this.charts).forEach((c) => c.resize());
    this.#build();
  }

  #build() {
    const ui = (this.ui = {});
    const field = (name, label, el) => h('label', { class: 'st-field' }, h('span', { text: label }), el);
    const select = (name, options) =>
      h('select', { name, 'data-testid': `filter-${name}` }, h('option', { value: '', text: '全部' }),
        Object.entries(options).map(([v, t]) => h('option', { value: v, text: t })));
    ui.from = h('input', { type: 'date', name: 'from', 'data-testid': 'filter-from' });
    ui.to = h('input', { type: 'date', name: 'to', 'data-testid': 'filter-to' });
    ui.township = select('township', {});
    ui.unit = select('unit', {});
    ui.category = select('category', {});
    ui.source = select('source', SOURCES);
    ui.grade = select('grade', GRADES);
    ui.period = h('select', { name: 'period', 'data-testid': 'filter-period' }, Object.entries(PERIODS).map(([v, t]) => h('option', { value: v, text: t })));
    ui.form = h('form', { class: 'st-filters', 'data-testid': 'stats-filters', 'aria-label': '筛选条件', onchange: () => this.#apply(), onsubmit: (e) => { e.preventDefault(); this.#apply(); } },
      field('from', '开始日期', ui.from), field('to', '结束日期', ui.to), field('township', '街乡镇', ui.township), field('unit', '单位', ui.unit),
      field('category', '类别', ui.category), field('source', '来源', ui.source), field('grade', '等级', ui.grade), field('period', '时间粒度', ui.period),
      h('button', { type: 'button', class: 'st-reset', 'data-testid': 'filter-reset', text: '重置', onclick: () => this.ctx.navigate('/stats') }));
    ui.total = h('p', { class: 'st-total', 'data-testid': 'stats-total', 'aria-live': 'polite' });
    ui.cards = {};
    ui.grid = h('div', { class: 'st-grid' });
    for (const c of CHARTS) {
      const box = h('div', { class: 'st-chart', role: 'img', 'aria-label': c.title });
      const extra = h('div', { class: 'st-extra' });
      const card = h('section', { class: `st-card st-card-${c.name}`, 'data-testid': `chart-${c.name}`, 'aria-label': c.title },
        h('header', { class: 'st-card-head' }, h('h2', { text: c.title }), extra,
          h('div', { class: 'st-actions' },
            h('button', { type: 'button', 'data-testid': `xlsx-${c.name}`, text: '下载Excel', onclick: () => this.#xlsx(c.name) }),
            h('button', { type: 'button', 'data-testid': `png-${c.name}`, text: '保存图片', onclick: () => this.#png(c.name, c.title) }))),
        box);
      ui.cards[c.name] = { card, box, extra };
      ui.grid.appendChild(card);
    }
    ui.metric = h('select', { name: 'metric', 'data-testid': 'filter-metric', 'aria-label': '地图指标', onchange: () => this.#apply() },
      Object.entries(METRICS).map(([v, m]) => h('option', { value: v, text: m.name })));
    ui.cards.map.extra.appendChild(ui.metric);
    ui.drill = h('section', { class: 'st-drill', 'data-testid': 'stats-drill', hidden: true, 'aria-label': '下钻' });
    this.root = h('div', { class: 'stats-page' }, ui.form, ui.total, ui.drill, ui.grid);
    clear(this.view).appendChild(this.root);
    window.addEventListener('resize', this.resize);
  }

  async start() {
    this.ctx.setStatus('正在加载统计…');
    const [towns, units, cats] = await Promise.all([api.grids('township'), api.get('units'), api.categories()]);
    if (this.destroyed) return;
    this.towns = towns;
    this.tree = cats.categories || [];
    for (const f of towns.features || []) this.ui.township.appendChild(h('option', { value: f.properties.code, text: f.properties.name }));
    for (const u of units.units || units || []) this.ui.unit.appendChild(h('option', { value: u.code, text: u.name }));
    for (const top of this.tree) {
      this.ui.category.appendChild(h('option', { value: top.code, text: top.name }));
      for (const c of top.children || []) this.ui.category.appendChild(h('option', { value: c.code, text: `　${c.name}` }));
    }
    this.ctx.setCounts({ townships: towns.features?.length, villages: undefined });
    await this.#load();
  }

  update(route) {
    this.f = parseFilters(route.search);
    this.#load().catch((err) => this.ctx.setStatus(`统计加载失败：${err.message}`, true));
  }

  destroy() {
    this.destroyed = true;
    window.removeEventListener('resize', this.resize);
    for (const c of Object.values(this.charts)) c.dispose();
    this.charts = {};
  }

  /** #apply puts the form's values in the URL, which reloads the charts. */
  #apply() {
    const f = { ...this.f };
    for (const k of ['from', 'to', 'township', 'unit', 'category', 'source', 'grade', 'period']) f[k] = this.ui[k].value;
    f.metric = this.ui.metric.value;
    if (f.drill && f.township && f.drill !== f.township) f.drill = '';
    this.ctx.navigate(`/stats${filtersSearch(f)}`);
  }

  #fill() {
    for (const k of ['from', 'to', 'township', 'unit', 'category', 'source', 'grade', 'period']) this.ui[k].value = this.f[k] || '';
    this.ui.metric.value = this.f.metric;
  }

  async #load() {
    const seq = ++this.seq;
    this.ctx.setReady(false);
    this.#fill();
    const f = this.f;
    const stats = (by, extra) => api.get(`stats?${apiQuery(f, by, extra)}`);
    const clues = (by) => api.get(`stats/clues?${apiQuery(f, by, { grade: '', unit: f.unit })}`);
    const [period, township, category, turnaround, cluePeriod, clueSource] = await inTurn([
      () => stats(f.period), () => stats('township'), () => stats('category'), () => stats('turnaround'), () => clues(f.period), () => clues('source'),
    ]);
    if (seq !== this.seq || this.destroyed) return;
    this.data = { period, township, category, turnaround, cluePeriod, clueSource };
    const t = period.total;
    this.ui.total.textContent = `吹哨 ${count(t.raised)} 件 · 线索 ${count(cluePeriod.total.clues)} 条 · 响应率 ${pct(t.report_in_rate)} · 解决率 ${pct(t.resolution_rate)} · 满意率 ${pct(t.satisfaction_rate)}`;
    this.#trend();
    this.#source();
    this.#township();
    this.#category();
    this.#rates();
    this.#turnaround();
    this.#overdue();
    this.#map();
    await this.#drill(seq);
    if (seq !== this.seq || this.destroyed) return;
    this.ctx.setStatus('');
    this.ctx.setReady(true);
  }

  #chart(name, option) {
    let c = this.charts[name];
    if (!c) {
      c = this.charts[name] = echarts.init(this.ui.cards[name]?.box || this.ui[`drill_${name}`], null, { renderer: 'canvas' });
    }
    c.setOption({ ...base(), ...option }, true);
    return c;
  }

  #trend() {
    const { period, cluePeriod } = this.data;
    const keys = [...new Set([...cluePeriod.groups.map((g) => g.key), ...period.groups.map((g) => g.key)])].sort();
    const clueBy = new Map(cluePeriod.groups.map((g) => [g.key, g.clues]));
    const whistleBy = new Map(period.groups.map((g) => [g.key, g.raised]));
    this.#chart('trend', {
      tooltip: { ...base().tooltip, trigger: 'axis' },
      xAxis: axis(keys),
      yAxis: [valueAxis({ name: '线索', nameTextStyle: { color: MUTED } }), valueAxis({ name: '吹哨', nameTextStyle: { color: MUTED }, splitLine: { show: false } })],
      series: [
        { name: '线索', type: 'bar', data: keys.map((k) => clueBy.get(k) || 0) },
        { name: '吹哨', type: 'line', yAxisIndex: 1, data: keys.map((k) => whistleBy.get(k) || 0) },
      ],
    });
  }

  #source() {
    const { clueSource } = this.data;
    this.#chart('source', {
      series: [{
        type: 'pie', radius: ['35%', '65%'], label: { color: TEXT, formatter: '{b} {d}%' },
        data: clueSource.groups.map((g) => ({ name: g.name, value: g.clues })),
      }],
    });
  }

  #township() {
    const groups = this.data.township.groups;
    const c = this.#chart('township', {
      xAxis: axis(groups.map((g) => g.name)),
      yAxis: valueAxis(),
      series: [{ name: '吹哨', type: 'bar', data: groups.map((g) => ({ value: g.raised, code: g.key })), cursor: 'pointer' }],
    });
    c.off('click');
    c.on('click', (p) => {
      const code = p.data?.code;
      if (code) this.ctx.navigate(`/stats${filtersSearch({ ...this.f, drill: code })}`);
    });
  }

  async #drill(seq) {
    const d = this.ui.drill;
    for (const n of ['village', 'unit']) {
      this.charts[n]?.dispose();
      delete this.charts[n];
    }
    if (!this.f.drill) {
      d.hidden = true;
      clear(d);
      return;
    }
    const name = this.towns.features.find((f) => f.properties.code === this.f.drill)?.properties.name || this.f.drill;
    const q = (by) => apiQuery(this.f, by, { township: this.f.drill });
    const [villages, units] = await inTurn([() => api.get(`stats?${q('village')}`), () => api.get(`stats?${q('unit')}`)]);
    if (seq !== this.seq || this.destroyed) return;
    this.ui.drill_village = h('div', { class: 'st-chart', role: 'img', 'aria-label': `${name}各村/社区吹哨` });
    this.ui.drill_unit = h('div', { class: 'st-chart', role: 'img', 'aria-label': `${name}各单位吹哨` });
    clear(d).append(
      h('header', { class: 'st-card-head' }, h('h2', { 'data-testid': 'drill-title', text: `${name} · 下钻` }),
        h('div', { class: 'st-actions' },
          h('button', { type: 'button', 'data-testid': 'xlsx-village', text: '村/社区Excel', onclick: () => this.#download(`stats?${q('village')}&format=xlsx`) }),
          h('button', { type: 'button', 'data-testid': 'xlsx-unit', text: '单位Excel', onclick: () => this.#download(`stats?${q('unit')}&format=xlsx`) }),
          h('button', { type: 'button', 'data-testid': 'drill-close', text: '返回全区', onclick: () => this.ctx.navigate(`/stats${filtersSearch({ ...this.f, drill: '' })}`) }))),
      h('div', { class: 'st-drill-charts' }, this.ui.drill_village, this.ui.drill_unit));
    d.hidden = false;
    const bars = (groups, label) => ({
      grid: { left: 8, right: 16, top: 8, bottom: 8, containLabel: true },
      yAxis: { ...axis(groups.map((g) => g.name)), inverse: true },
      xAxis: valueAxis(),
      series: [{ name: label, type: 'bar', data: groups.map((g) => g.raised) }],
    });
    this.#chart('village', bars(villages.groups, '吹哨'));
    this.#chart('unit', bars(units.groups, '被召集'));
  }

  #category() {
    const nodes = categoryTreemap(this.tree, this.data.category.groups);
    this.#chart('category', {
      series: [{
        type: 'treemap', data: nodes, roam: false, nodeClick: 'zoomToNode', leafDepth: 2,
        breadcrumb: { itemStyle: { color: '#12233f', textStyle: { color: TEXT } } },
        label: { color: '#fff' }, upperLabel: { show: true, height: 20, color: '#fff' },
        levels: [{ itemStyle: { borderColor: BG, borderWidth: 2, gapWidth: 2 } }, { itemStyle: { borderColor: '#1e293b', gapWidth: 1 } }],
      }],
    });
  }

  #rates() {
    const g = this.data.period.groups;
    this.#chart('rates', {
      tooltip: { ...base().tooltip, trigger: 'axis', valueFormatter: (v) => pct(v) },
      xAxis: axis(g.map((x) => x.key)),
      yAxis: rateAxis(),
      series: [
        { name: '响应率', type: 'line', data: g.map((x) => x.report_in_rate), connectNulls: true },
        { name: '解决率', type: 'line', data: g.map((x) => x.resolution_rate), connectNulls: true },
        { name: '满意率', type: 'line', data: g.map((x) => x.satisfaction_rate), connectNulls: true },
      ],
    });
  }

  #turnaround() {
    const { groups, total } = this.data.turnaround;
    const hours = (v) => (v === null || v === undefined ? '—' : `${v.toFixed(1)}小时`);
    this.ui.cards.turnaround.extra.textContent = `平均 ${hours(total.turnaround_mean_h)} · P90 ${hours(total.turnaround_p90_h)}`;
    this.ui.cards.turnaround.extra.dataset.testid = 'turnaround-summary';
    this.#chart('turnaround', {
      xAxis: axis(groups.map((g) => g.name)),
      yAxis: valueAxis(),
      series: [{ name: '吹哨', type: 'bar', data: groups.map((g) => g.raised) }],
    });
  }

  #overdue() {
    const { groups, total } = this.data.period;
    this.ui.cards.overdue.extra.textContent = `曾超期 ${count(total.ever_overdue)} · 超期中 ${count(total.overdue_now)} · 督办 ${count(total.supervised)}`;
    this.#chart('overdue', {
      tooltip: { ...base().tooltip, trigger: 'axis' },
      xAxis: axis(groups.map((g) => g.key)),
      yAxis: valueAxis(),
      series: [
        { name: '曾超期', type: 'bar', data: groups.map((g) => g.ever_overdue) },
        { name: '超期中', type: 'bar', data: groups.map((g) => g.overdue_now) },
        { name: '督办', type: 'line', data: groups.map((g) => g.supervised) },
      ],
    });
  }

  #map() {
    if (!this.mapRegistered) {
      echarts.registerMap('yanqing-townships', this.towns);
      this.mapRegistered = true;
    }
    const m = METRICS[this.f.metric];
    const by = new Map(this.data.township.groups.map((g) => [g.key, g[this.f.metric]]));
    const data = (this.towns.features || []).map((f) => ({ name: f.properties.code, value: by.get(f.properties.code) ?? (m.rate ? null : 0), label: f.properties.name }));
    const values = data.map((d) => d.value).filter((v) => v !== null && v !== undefined);
    this.#chart('map', {
      tooltip: { ...base().tooltip, formatter: (p) => `${p.data?.label || p.name}\n${m.name} ${m.rate ? pct(p.value) : count(p.value)}` },
      visualMap: {
        min: m.rate ? 0 : 0, max: m.rate ? 1 : Math.max(1, ...values), left: 8, bottom: 8, calculable: false,
        inRange: { color: ['#0c4a6e', '#38bdf8', '#fde68a', '#f97316'] }, textStyle: { color: MUTED },
        formatter: (v) => (m.rate ? pct(v, 0) : String(Math.round(v))),
      },
      series: [{
        type: 'map', map: 'yanqing-townships', nameProperty: 'code', roam: false, data,
        label: { show: true, color: '#fff', fontSize: 10, formatter: (p) => p.data?.label || '' },
        itemStyle: { borderColor: BG, areaColor: '#1e293b' },
        emphasis: { label: { color: '#fff' }, itemStyle: { areaColor: '#f59e0b' } },
      }],
    });
  }

  /** #xlsx downloads a chart's data as the server's xlsx export, with the page's filters. */
  #xlsx(name) {
    const f = this.f;
    const q = (by, extra = {}) => apiQuery(f, by, { ...extra, format: 'xlsx' });
    const path = {
      trend: `stats/clues?${q(f.period, { grade: '', unit: f.unit })}`,
      source: `stats/clues?${q('source', { grade: '', unit: f.unit })}`,
      township: `stats?${q('township')}`,
      category: `stats?${q('category')}`,
      rates: `stats?${q(f.period)}`,
      turnaround: `stats?${q('turnaround')}`,
      overdue: `stats?${q(f.period)}`,
      map: `stats?${q('township')}`,
    }[name];
    this.#download(path);
  }

  #download(path) {
    this.ctx.setStatus('正在导出…');
    downloadExport(path, 'export.xlsx')
      .then(() => this.ctx.setStatus(''))
      .catch((err) => this.ctx.setStatus(`导出失败：${err.message}`, true));
  }

  #png(name, title) {
    const c = this.charts[name];
    if (!c) return;
    downloadDataURL(c.getDataURL({ type: 'png', pixelRatio: 2, backgroundColor: BG }), `${title.replace(/[（）\s·]/g, '')}.png`);
  }
}

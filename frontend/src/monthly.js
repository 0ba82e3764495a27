// The monthly report at /monthly[?month=YYYY-MM] (月报), for the district
// leaders, printable on A4 (monthly.css: each .mr-page starts a sheet,
// table rows never split, headers repeat). Default: last month. Over
// GET /api/v1/stats and /stats/clues, /whistles and /clues, all scoped
// to the caller's jurisdiction:
//   1. headline figures against last month (环比) and the same month last
//      year (同比); the three rates by township;
//   2. the three rates by unit;
//   3. the top categories; overdue and supervised cases;
//   4. the hotspots filed by 未诉先办 (clues of source hotspot); the
//      rectification ledger's progress: the month's review (整改台账,
//      GET /api/v1/ledger/review?period=YYYY-MM).
// (The route is /monthly: /report is the grid workers' page.)
//
// Test hooks: [data-testid=monthly-month], [data-testid=headline-table],
// [data-testid=rates-township], [data-testid=rates-unit],
// [data-testid=top-categories], [data-testid=overdue-cases],
// [data-testid=hotspot-cases], [data-testid=ledger-progress],
// body[data-map-ready="1"] once the report is drawn.
import * as api from './api.js';
import { clear, h } from './dom.js';
import { count, dateTime, pct } from './format.js';
import { addMonths, change, inTurn, lastMonth, monthName, monthRange, validMonth } from './stats-state.js';
import './monthly.css';

/** LIST_ROWS is how many cases a list shows; the total is always said. */
const LIST_ROWS = 30;
const TOP_CATEGORIES = 10;

const hours = (v) => (v === null || v === undefined ? '—' : `${v.toFixed(1)}小时`);

export class MonthlyPage {
  constructor(view, ctx) {
    this.view = view;
    this.ctx = ctx;
    this.month = validMonth(ctx.route.month) ? ctx.route.month : lastMonth();
    this.seq = 0;
    this.destroyed = false;
    this.root = h('div', { class: 'monthly-page' });
    clear(this.view).appendChild(this.root);
  }

  async start() {
    await this.#load();
  }

  update(route) {
    this.month = validMonth(route.month) ? route.month : lastMonth();
    this.#load().catch((err) => this.ctx.setStatus(`月报加载失败：${err.message}`, true));
  }

  destroy() {
    this.destroyed = true;
  }

  async #load() {
    const seq = ++this.seq;
    this.ctx.setReady(false);
    this.ctx.setStatus('正在生成月报…');
    const m = this.month;
    const prev = addMonths(m, -1);
    const lastYear = addMonths(m, -12);
    const stats = (month, by) => api.get(`stats?${new URLSearchParams({ ...monthRange(month), by })}`);
    const clues = (month, extra = {}) => api.get(`stats/clues?${new URLSearchParams({ ...monthRange(month), by: 'source', ...extra })}`);
    const r = monthRange(m);
    const [cur, before, yearAgo, cCur, cBefore, cYearAgo, units, cats, overdue, hotspots, ledger] = await inTurn([
      () => stats(m, 'township'), () => stats(prev, 'township'), () => stats(lastYear, 'township'),
      () => clues(m), () => clues(prev), () => clues(lastYear),
      () => stats(m, 'unit'), () => stats(m, 'category'),
      () => api.get(`whistles?${new URLSearchParams({ ...r, ever_overdue: 'true', limit: String(LIST_ROWS) })}`),
      () => api.get(`clues?${new URLSearchParams({ ...r, source: 'hotspot', limit: String(LIST_ROWS) })}`),
      () => api.get(`ledger/review?${new URLSearchParams({ period: m })}`),
    ]);
    if (seq !== this.seq || this.destroyed) return;
    const user = this.ctx.user;
    const scope = user?.jurisdiction?.grid_name || user?.jurisdiction?.unit_name || '延庆区';
    const picker = h('input', { type: 'month', value: m, 'data-testid': 'monthly-month', 'aria-label': '月份', onchange: (e) => validMonth(e.target.value) && this.ctx.navigate(`/monthly?month=${e.target.value}`) });
    const bar = h('div', { class: 'mr-bar no-print' }, h('label', {}, '月份 ', picker),
      h('button', { type: 'button', 'data-testid': 'monthly-print', text: '打印 / 存为PDF', onclick: () => window.print() }));

    const t = cur.total;
    const p = before.total;
    const y = yearAgo.total;
    const rows = [
      ['吹哨数', t.raised, p.raised, y.raised],
      ['线索数', cCur.total.clues, cBefore.total.clues, cYearAgo.total.clues],
      ['已结案', t.closed, p.closed, y.closed],
      ['曾超期', t.ever_overdue, p.ever_overdue, y.ever_overdue],
      ['督办数', t.supervised, p.supervised, y.supervised],
      ['响应率', t.report_in_rate, p.report_in_rate, y.report_in_rate, true],
      ['解决率', t.resolution_rate, p.resolution_rate, y.resolution_rate, true],
      ['满意率', t.satisfaction_rate, p.satisfaction_rate, y.satisfaction_rate, true],
      ['平均办理时长', t.turnaround_mean_h, p.turnaround_mean_h, y.turnaround_mean_h, 'h'],
    ];
    const fmt = (v, kind) => (kind === true ? pct(v) : kind === 'h' ? hours(v) : count(v));
    const cmp = (a, b, kind) => {
      const c = kind === 'h' ? change(a === null ? null : Math.round(a * 10) / 10, b === null ? null : Math.round(b * 10) / 10) : change(a, b, kind === true);
      return h('td', { class: `mr-${c.dir}`, text: c.text });
    };
    const headline = table('headline-table', ['指标', monthName(m), `上月（${monthName(prev)}）`, '环比', `去年同月（${monthName(lastYear)}）`, '同比'],
      rows.map(([name, a, b, c, kind]) => [name, fmt(a, kind), fmt(b, kind), cmp(a, b, kind), fmt(c, kind), cmp(a, c, kind)]));
    const rates = (id, groups, label) => table(id, [label, '吹哨数', '响应率', '解决率', '满意率', '曾超期', '督办'],
      groups.map((g) => [g.name, count(g.raised), pct(g.report_in_rate), pct(g.resolution_rate), pct(g.satisfaction_rate), count(g.ever_overdue), count(g.supervised)]),
      `${monthName(m)}暂无吹哨`);
    const topCats = [...cats.groups].sort((a, b) => b.raised - a.raised || a.key.localeCompare(b.key)).slice(0, TOP_CATEGORIES);
    const said = (shown, total, what) => h('p', { class: 'mr-note', text: total > shown ? `共 ${total} ${what}，列出最近 ${shown} ${what}。` : `共 ${total} ${what}。` });

    clear(this.root).append(
      bar,
      h('section', { class: 'mr-page', 'aria-label': '第一页' },
        h('header', { class: 'mr-head' },
          h('h2', { class: 'mr-title', 'data-testid': 'monthly-title', text: `${scope} 吹哨报到工作月报` }),
          h('p', { class: 'mr-sub', text: `${monthName(m)} · 统计口径：当月吹哨（北京时间）` })),
        h('h3', { text: '一、主要指标' }), headline,
        h('h3', { text: '二、各街乡镇三率' }), rates('rates-township', cur.groups, '街乡镇')),
      h('section', { class: 'mr-page', 'aria-label': '第二页' },
        h('h3', { text: '三、各单位三率' }), rates('rates-unit', units.groups, '单位')),
      h('section', { class: 'mr-page', 'aria-label': '第三页' },
        h('h3', { text: '四、问题类别前十' }),
        table('top-categories', ['类别', '吹哨数', '线索数', '解决率', '满意率'],
          topCats.map((g) => [g.name, count(g.raised), count(g.clues), pct(g.resolution_rate), pct(g.satisfaction_rate)]), '暂无'),
        h('h3', { text: '五、超期与督办' }),
        h('p', { class: 'mr-note', text: `本月吹哨中曾超期 ${count(t.ever_overdue)} 件，仍超期 ${count(t.overdue_now)} 件，督办 ${count(t.supervised)} 件。` }),
        table('overdue-cases', ['编号', '街乡镇', '类别', '吹哨时间', '状态', '超期中'],
          overdue.whistles.map((w) => [String(w.id), w.township_name, w.category_name, dateTime(w.raised_at), STATUS[w.status] || w.status, w.overdue_now ? '是' : '否']), '本月无超期'),
        said(overdue.whistles.length, overdue.total ?? overdue.total_estimate, '件')),
      h('section', { class: 'mr-page', 'aria-label': '第四页' },
        h('h3', { text: '六、未诉先办发现的热点' }),
        table('hotspot-cases', ['线索', '街乡镇', '村/社区', '类别', '发现时间', '吹哨'],
          hotspots.clues.map((c) => [String(c.id), link(c, 'township'), link(c, 'village'), c.category_name, dateTime(c.reported_at), c.whistle_id ? String(c.whistle_id) : '—']), '本月未发现热点'),
        said(hotspots.clues.length, hotspots.total ?? hotspots.total_estimate, '条'),
        h('h3', { text: '七、整改台账进展' }),
        h('p', { class: 'mr-note', 'data-testid': 'ledger-progress',
          text: `本月到期 ${count(ledger.counts.due)} 项，销账 ${count(ledger.counts.closed)} 项，超期 ${count(ledger.counts.overdue)} 项，销账被退回 ${count(ledger.counts.rejected)} 项。` }),
        table('ledger-items', ['编号', '事项', '街乡镇', '责任方', '督办层级', '状态', '本月'],
          ledger.items.slice(0, LIST_ROWS).map((i) => [String(i.id), i.title, i.township?.name || '', i.responsible?.name || '', i.level_name, i.status_name,
            [i.due && '到期', i.closed && '销账', i.overdue_in_period && '超期', i.rejected && '退回'].filter(Boolean).join('、')]), '本月无台账事项'),
        said(Math.min(ledger.items.length, LIST_ROWS), ledger.items.length, '项')),
    );
    this.ctx.setStatus('');
    this.ctx.setReady(true);
  }
}

const STATUS = { raised: '已吹哨', in_progress: '办理中', awaiting_approval: '待审核', closed: '已结案' };

function link(clue, level) {
  return clue.chain?.find((l) => l.level === level)?.name || '';
}

/** table builds a report table: head texts, rows of texts or cells, a line when empty. */
function table(testid, head, rows, empty = '暂无') {
  return h('table', { class: 'mr-table', 'data-testid': testid },
    h('thead', {}, h('tr', {}, head.map((t) => h('th', { scope: 'col', text: t })))),
    h('tbody', {}, rows.length
      ? rows.map((r) => h('tr', {}, r.map((c) => (c instanceof Node ? c : h('td', { text: String(c) })))))
      : h('tr', {}, h('td', { colspan: head.length, class: 'mr-empty', text: empty }))));
}

// The command center's import page at /import (数据导入): choose a kind of
// file (12345 hotline orders, places, grid outlines, rosters of people),
// upload it for a dry run, read the report, confirm, and watch the import
// run. The server runs the same ingest code as `whistlegrid import`.
//
// Test hooks: [data-testid=import-form], [data-testid=import-file],
// [data-testid=import-dry-run], [data-testid=import-confirm],
// [data-testid=import-report] (data-state="dry-run" | "done"),
// [data-testid=figure-<read|imported|duplicates|rejected|unplaced>],
// [data-testid=import-progress]; grids: [data-testid=figure-<features|new|changed|unchanged|refused>],
// [data-testid=grid-feature] (data-outcome), [data-testid=grid-parent]; people:
// [data-testid=figure-<read|new|updated|unchanged|bad>], [data-testid=roster-bad].
import * as api from './api.js';
import { clear, h } from './dom.js';
import { expectedRows, KINDS, mayImport, outcomeName, precisionRows, progressShare, reportMessage, summaryRows, willWrite } from './import-state.js';
import { downloadExport } from './stats-download.js';
import './import.css';

export class ImportPage {
  /** ctx: {user, route, setStatus, setReady, navigate}. */
  constructor(view, ctx) {
    this.view = view;
    this.ctx = ctx;
    this.destroyed = false;
    this.dry = null;
    this.#build();
  }

  #build() {
    const ui = (this.ui = {});
    ui.kind = h('select', { id: 'import-kind', 'data-testid': 'import-kind' },
      KINDS.map((k) => h('option', { value: k.kind, text: k.name })));
    ui.mode = h('select', { id: 'import-mode', 'data-testid': 'import-mode' },
      h('option', { value: 'history', text: '历史工单（已办结，不触发规则）' }),
      h('option', { value: 'live', text: '实时工单（逐条进入吹哨流程）' }));
    ui.level = h('select', { id: 'import-level', 'data-testid': 'import-level' },
      h('option', { value: '', text: '按编码判断' }),
      [['district', '区'], ['township', '街乡'], ['zone', '片区'], ['village', '村/社区'], ['household', '户网格']].map(([v, t]) => h('option', { value: v, text: `只收${t}级` })));
    ui.datum = h('select', { id: 'import-datum', 'data-testid': 'import-datum' },
      h('option', { value: '', text: '按文件（.prj / crs），缺省 WGS-84' }),
      h('option', { value: 'wgs84', text: 'WGS-84' }), h('option', { value: 'cgcs2000', text: 'CGCS2000（EPSG:4490）' }),
      h('option', { value: 'gcj02', text: 'GCJ-02（火星坐标）' }));
    ui.encoding = h('select', { id: 'import-encoding' },
      h('option', { value: '', text: '自动识别' }), h('option', { value: 'utf8', text: 'UTF-8' }), h('option', { value: 'gbk', text: 'GBK' }));
    ui.file = h('input', { id: 'import-file', type: 'file', 'data-testid': 'import-file', accept: '.csv,.xlsx,.geojson,.json', required: true });
    ui.mapping = h('input', { id: 'import-mapping', type: 'file', accept: '.json' });
    ui.dryRun = h('button', { type: 'submit', class: 'btn', 'data-testid': 'import-dry-run', text: '检查文件（试导入）' });
    ui.confirm = h('button', { type: 'button', class: 'btn primary', 'data-testid': 'import-confirm', text: '确认导入', disabled: true, onclick: () => this.#run() });
    ui.form = h('form', { class: 'import-form', 'data-testid': 'import-form', onsubmit: (e) => { e.preventDefault(); this.#dryRun(); } },
      h('label', { for: 'import-kind', text: '数据类型' }), ui.kind,
      h('label', { for: 'import-mode', text: '导入方式' }), ui.mode,
      h('label', { for: 'import-level', text: '网格层级' }), ui.level,
      h('label', { for: 'import-datum', text: '坐标系' }), ui.datum,
      h('label', { for: 'import-encoding', text: '文本编码' }), ui.encoding,
      h('label', { for: 'import-file', text: '文件' }), ui.file,
      h('label', { for: 'import-mapping', text: '映射文件（可选）' }), ui.mapping,
      h('div', { class: 'import-actions' }, ui.dryRun, ui.confirm));
    ui.message = h('p', { class: 'import-message', role: 'status', 'aria-live': 'polite' });
    ui.progress = h('progress', { 'data-testid': 'import-progress', max: '1', hidden: true, 'aria-label': '导入进度' });
    ui.report = h('section', { class: 'import-report', 'data-testid': 'import-report', 'aria-label': '导入报告', hidden: true });
    ui.kind.addEventListener('change', () => { this.#fitKind(); this.#reset(); });
    ui.file.addEventListener('change', () => this.#reset());
    clear(this.view).append(h('main', { class: 'import-page' },
      h('h2', { text: '数据导入' }),
      h('p', { class: 'import-hint', text: '先检查文件：系统读出每一行、匹配地址并给出报告，不写入任何数据；确认后再正式导入。同一工单编号重复导入不会产生重复数据。' }),
      ui.form, ui.message, ui.progress, ui.report,
      h('p', {}, h('a', { href: '/import/review', 'data-link': '', class: 'toolbar-link', text: '待人工定位的工单 →' }))));
  }

  // Only the choices the kind reads are enabled; the file picker offers its formats.
  #fitKind() {
    const kind = this.ui.kind.value;
    this.ui.mode.disabled = kind !== 'hotline';
    this.ui.mapping.disabled = kind !== 'hotline';
    this.ui.level.disabled = this.ui.datum.disabled = kind !== 'grids';
    this.ui.encoding.disabled = kind === 'people';
    this.ui.file.accept = KINDS.find((k) => k.kind === kind)?.accept ?? '';
  }

  async start() {
    this.#fitKind();
    if (!mayImport(this.ctx.user)) {
      this.ui.form.hidden = true;
      this.ui.message.textContent = '只有指挥中心可以导入数据。';
    }
    this.ctx.setReady(true);
  }

  destroy() {
    this.destroyed = true;
    clearTimeout(this.timer);
  }

  #reset() {
    this.dry = null;
    this.ui.confirm.disabled = true;
    this.ui.report.hidden = true;
    this.ui.message.textContent = '';
  }

  #formData(dryRun) {
    const fd = new FormData();
    fd.set('kind', this.ui.kind.value);
    fd.set('dry_run', dryRun ? 'true' : 'false');
    const kind = this.ui.kind.value;
    if (kind === 'hotline') fd.set('mode', this.ui.mode.value);
    if (kind === 'grids' && this.ui.level.value) fd.set('level', this.ui.level.value);
    if (kind === 'grids' && this.ui.datum.value) fd.set('datum', this.ui.datum.value);
    if (kind !== 'people' && this.ui.encoding.value) fd.set('encoding', this.ui.encoding.value);
    fd.set('file', this.ui.file.files[0]);
    if (kind === 'hotline' && this.ui.mapping.files[0]) fd.set('mapping', this.ui.mapping.files[0]);
    return fd;
  }

  async #dryRun() {
    if (!this.ui.file.files[0]) {
      this.ui.message.textContent = '请选择文件';
      return;
    }
    this.#reset();
    this.ui.dryRun.disabled = true;
    this.ui.message.textContent = '正在检查文件…';
    const kind = this.ui.kind.value;
    try {
      const rep = await api.importFile(this.#formData(true));
      if (this.destroyed) return;
      this.dry = { kind, rep };
      this.#showReport(rep, 'dry-run', kind);
      this.ui.message.textContent = reportMessage(kind, rep, true);
      this.ui.confirm.disabled = willWrite(kind, rep) === 0;
      if (!this.ui.confirm.disabled) this.ui.confirm.focus();
    } catch (err) {
      this.ui.message.textContent = `文件无法导入：${err.message}`;
    } finally {
      this.ui.dryRun.disabled = false;
    }
  }

  async #run() {
    this.ui.confirm.disabled = true;
    this.ui.dryRun.disabled = true;
    this.ui.message.textContent = '正在导入…';
    this.ui.progress.hidden = false;
    this.ui.progress.removeAttribute('value');
    try {
      const job = await api.importFile(this.#formData(false));
      await this.#follow(job.id);
    } catch (err) {
      this.ui.message.textContent = `导入失败：${err.message}`;
    } finally {
      this.ui.dryRun.disabled = false;
    }
  }

  async #follow(id) {
    for (;;) {
      const st = await api.importStatus(id);
      if (this.destroyed) return;
      const share = progressShare(st.rows_read, expectedRows(this.dry?.kind, this.dry?.rep));
      if (share !== null) this.ui.progress.value = share;
      if (st.status !== 'running') {
        this.ui.progress.hidden = true;
        if (st.status === 'failed') {
          this.ui.message.textContent = `导入失败：${st.report?.error || ''}`;
          return;
        }
        this.#showReport(st.report, 'done', st.kind);
        this.ui.message.textContent = reportMessage(st.kind, st.report, false);
        return;
      }
      this.ui.message.textContent = `正在导入… 已处理 ${st.rows_read} ${st.kind === 'grids' ? '个要素' : '行'}`;
      await new Promise((resolve) => { this.timer = setTimeout(resolve, 500); });
    }
  }

  #showReport(rep, state, kind = rep.kind) {
    const r = this.ui.report;
    r.dataset.state = state;
    const figures = h('dl', { class: 'import-figures' },
      summaryRows(rep, kind).map(([label, value, key]) => h('div', {}, h('dt', { text: label }), h('dd', { 'data-testid': `figure-${key}`, text: String(value) }))));
    const parts = [h('h3', { text: state === 'dry-run' ? '检查结果（尚未写入）' : '导入结果' }), figures];
    if (rep.kind === 'hotline') {
      parts.push(h('table', { class: 'import-table' },
        h('caption', { text: '定位精度' }),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: '精度' }), h('th', { scope: 'col', class: 'num', text: '工单' }), h('th', { scope: 'col', class: 'num', text: '占比' }))),
        h('tbody', {}, precisionRows(rep).map(([name, n, share, key]) =>
          h('tr', { 'data-testid': `precision-${key}` }, h('td', { text: name }), h('td', { class: 'num', text: String(n) }), h('td', { class: 'num', text: `${(100 * share).toFixed(1)}%` }))))));
    }
    if (kind === 'grids') parts.push(...this.#gridTables(rep));
    if (kind === 'people' && rep.bad?.length) {
      parts.push(h('table', { class: 'import-table' },
        h('caption', { text: '名册中的错误（整份名册不写入）' }),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col', class: 'num', text: '行' }), h('th', { scope: 'col', text: '列' }), h('th', { scope: 'col', text: '原因' }))),
        h('tbody', {}, rep.bad.map((x) => h('tr', { 'data-testid': 'roster-bad' }, h('td', { class: 'num', text: String(x.row) }), h('td', { text: x.column }), h('td', { text: x.reason }))))));
    }
    if (rep.rejects?.length) {
      parts.push(h('table', { class: 'import-table' },
        h('caption', { text: rep.rejected > rep.rejects.length ? `拒收的行（前 ${rep.rejects.length} 条，共 ${rep.rejected} 条）` : '拒收的行' }),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col', class: 'num', text: '行' }), h('th', { scope: 'col', text: '列' }), h('th', { scope: 'col', text: '原因' }))),
        h('tbody', {}, rep.rejects.map((x) => h('tr', {}, h('td', { class: 'num', text: String(x.row) }), h('td', { text: x.column }), h('td', { text: x.reason }))))));
      if (state === 'done' && rep.id) {
        parts.push(h('p', {}, h('a', { class: 'toolbar-link', href: `/api/v1/imports/${rep.id}/rejects`, download: '', text: '下载全部拒收行（CSV）', onclick: (e) => this.#download(e, rep.id) })));
      }
    }
    clear(r).append(...parts);
    r.hidden = false;
  }

  // A grid file's report: each feature's outcome (and why it is refused), then each touched parent's gaps and overlaps.
  #gridTables(rep) {
    const km2 = (m2) => (m2 / 1e6).toFixed(3);
    const pct = (x) => `${(100 * x).toFixed(2)}%`;
    const out = [h('table', { class: 'import-table' },
      h('caption', { text: `逐个要素（坐标系 ${rep.datum}）` }),
      h('thead', {}, h('tr', {}, ['序号', '编码', '名称', '层级', '结果', '面积 km²', '说明'].map((t, i) => h('th', { scope: 'col', class: i === 0 || i === 5 ? 'num' : '', text: t })))),
      h('tbody', {}, (rep.features || []).map((f) => h('tr', { 'data-testid': 'grid-feature', 'data-outcome': f.outcome, class: `outcome-${f.outcome}` },
        h('td', { class: 'num', text: String(f.n) }), h('td', { text: f.code }), h('td', { text: f.name }), h('td', { text: f.level || '—' }),
        h('td', { text: outcomeName(f.outcome) }), h('td', { class: 'num', text: km2(f.area_m2 || 0) }),
        h('td', { text: f.reason || (f.repaired ? `几何已修复（面积变化 ${pct(f.repair_area_change)}）` : '') })))))];
    if (rep.parents?.length) {
      out.push(h('table', { class: 'import-table' },
        h('caption', { text: '上级网格的缝隙与重叠（导入后）' }),
        h('thead', {}, h('tr', {}, ['上级编码', '面积 km²', '缝隙 km²', '缝隙占比', '重叠 km²', '重叠占比'].map((t, i) => h('th', { scope: 'col', class: i ? 'num' : '', text: t })))),
        h('tbody', {}, rep.parents.map((p) => h('tr', { 'data-testid': 'grid-parent' },
          h('td', { text: p.code }), h('td', { class: 'num', text: km2(p.area_m2) }), h('td', { class: 'num', text: km2(p.gap_m2) }),
          h('td', { class: 'num', text: pct(p.gap_share) }), h('td', { class: 'num', text: km2(p.overlap_m2) }), h('td', { class: 'num', text: pct(p.overlap_share) }))))));
    }
    return out;
  }

  // The rejects file needs the bearer token: fetched and saved as a blob.
  #download(e, id) {
    e.preventDefault();
    downloadExport(`imports/${id}/rejects`, `import-${id}-rejects.csv`).catch((err) => this.ctx.setStatus(`下载失败：${err.message}`, true));
  }
}

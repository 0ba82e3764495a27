// The command center's import page at /import (数据导入): choose a kind of
// file (12345 hotline orders, places, and the kinds other importers add),
// upload it for a dry run, read the report, confirm, and watch the import
// run. The server runs the same ingest code as `whistlegrid import`.
//
// Test hooks: [data-testid=import-form], [data-testid=import-file],
// [data-testid=import-dry-run], [data-testid=import-confirm],
// [data-testid=import-report] (data-state="dry-run" | "done"),
// [data-testid=figure-<read|imported|duplicates|rejected|unplaced>],
// [data-testid=import-progress].
import * as api from './api.js';
import { clear, h } from './dom.js';
import { KINDS, mayImport, precisionRows, progressShare, summaryRows } from './import-state.js';
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
    ui.encoding = h('select', { id: 'import-encoding' },
      h('option', { value: '', text: '自动识别' }), h('option', { value: 'utf8', text: 'UTF-8' }), h('option', { value: 'gbk', text: 'GBK' }));
    ui.file = h('input', { id: 'import-file', type: 'file', 'data-testid': 'import-file', accept: '.csv,.xlsx,.geojson,.json', required: true });
    ui.mapping = h('input', { id: 'import-mapping', type: 'file', accept: '.json' });
    ui.dryRun = h('button', { type: 'submit', class: 'btn', 'data-testid': 'import-dry-run', text: '检查文件（试导入）' });
    ui.confirm = h('button', { type: 'button', class: 'btn primary', 'data-testid': 'import-confirm', text: '确认导入', disabled: true, onclick: () => this.#run() });
    ui.form = h('form', { class: 'import-form', 'data-testid': 'import-form', onsubmit: (e) => { e.preventDefault(); this.#dryRun(); } },
      h('label', { for: 'import-kind', text: '数据类型' }), ui.kind,
      h('label', { for: 'import-mode', text: '导入方式' }), ui.mode,
      h('label', { for: 'import-encoding', text: 'CSV 编码' }), ui.encoding,
      h('label', { for: 'import-file', text: '文件' }), ui.file,
      h('label', { for: 'import-mapping', text: '映射文件（可选）' }), ui.mapping,
      h('div', { class: 'import-actions' }, ui.dryRun, ui.confirm));
    ui.message = h('p', { class: 'import-message', role: 'status', 'aria-live': 'polite' });
    ui.progress = h('progress', { 'data-testid': 'import-progress', max: '1', hidden: true, 'aria-label': '导入进度' });
    ui.report = h('section', { class: 'import-report', 'data-testid': 'import-report', 'aria-label': '导入报告', hidden: true });
    ui.kind.addEventListener('change', () => { ui.mode.disabled = ui.kind.value !== 'hotline'; this.#reset(); });
    ui.file.addEventListener('change', () => this.#reset());
    clear(this.view).append(h('main', { class: 'import-page' },
      h('h2', { text: '数据导入' }),
      h('p', { class: 'import-hint', text: '先检查文件：系统读出每一行、匹配地址并给出报告，不写入任何数据；确认后再正式导入。同一工单编号重复导入不会产生重复数据。' }),
      ui.form, ui.message, ui.progress, ui.report,
      h('p', {}, h('a', { href: '/import/review', 'data-link': '', class: 'toolbar-link', text: '待人工定位的工单 →' }))));
  }

  async start() {
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
    if (this.ui.kind.value === 'hotline') fd.set('mode', this.ui.mode.value);
    if (this.ui.encoding.value) fd.set('encoding', this.ui.encoding.value);
    fd.set('file', this.ui.file.files[0]);
    if (this.ui.mapping.files[0]) fd.set('mapping', this.ui.mapping.files[0]);
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
    try {
      const rep = await api.importFile(this.#formData(true));
      if (this.destroyed) return;
      this.dry = rep;
      this.#showReport(rep, 'dry-run');
      this.ui.message.textContent = rep.message;
      this.ui.confirm.disabled = rep.imported === 0;
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
      const share = progressShare(st.rows_read, this.dry?.read);
      if (share !== null) this.ui.progress.value = share;
      if (st.status !== 'running') {
        this.ui.progress.hidden = true;
        if (st.status === 'failed') {
          this.ui.message.textContent = `导入失败：${st.report?.error || ''}`;
          return;
        }
        this.#showReport(st.report, 'done');
        this.ui.message.textContent = st.report.message;
        return;
      }
      this.ui.message.textContent = `正在导入… 已读取 ${st.rows_read} 行`;
      await new Promise((resolve) => { this.timer = setTimeout(resolve, 500); });
    }
  }

  #showReport(rep, state) {
    const r = this.ui.report;
    r.dataset.state = state;
    const figures = h('dl', { class: 'import-figures' },
      summaryRows(rep).map(([label, value, key]) => h('div', {}, h('dt', { text: label }), h('dd', { 'data-testid': `figure-${key}`, text: String(value) }))));
    const parts = [h('h3', { text: state === 'dry-run' ? '检查结果（尚未写入）' : '导入结果' }), figures];
    if (rep.kind === 'hotline') {
      parts.push(h('table', { class: 'import-table' },
        h('caption', { text: '定位精度' }),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: '精度' }), h('th', { scope: 'col', class: 'num', text: '工单' }), h('th', { scope: 'col', class: 'num', text: '占比' }))),
        h('tbody', {}, precisionRows(rep).map(([name, n, share, key]) =>
          h('tr', { 'data-testid': `precision-${key}` }, h('td', { text: name }), h('td', { class: 'num', text: String(n) }), h('td', { class: 'num', text: `${(100 * share).toFixed(1)}%` }))))));
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

  // The rejects file needs the bearer token: fetched and saved as a blob.
  #download(e, id) {
    e.preventDefault();
    downloadExport(`imports/${id}/rejects`, `import-${id}-rejects.csv`).catch((err) => this.ctx.setStatus(`下载失败：${err.message}`, true));
  }
}

// A grid worker's report from the field at /report (网格员上报), phone
// first (390×844) and on a desk too: where (the phone's position, or a
// pin placed on the map, with the village and household grid it falls
// in shown before sending), what (a category searched in the tree, the
// text, up to six photos resized on the device to at most 1600 px JPEG),
// and 我的上报, the worker's reports with their states. A report goes into
// the device's outbox (outbox.js) first, under an external_id the device
// made, and is sent from there, now or when the network returns: the
// server takes a report once per external_id, so nothing is lost and
// nothing doubled. MapLibre loads only when the map is opened.
//
// Test hooks: report-location, report-place, report-locate, report-map-open,
// report-map, report-map-use-center, report-category (with
// report-category-option items, data-code), report-text, report-photo,
// report-photo-item, report-submit, report-error, report-result
// (data-clue-id), report-queued (data-count), my-report-item
// (data-clue-id, data-state).
import * as api from './api.js';
import { clear, h } from './dom.js';
import * as outbox from './outbox.js';
import {
  MAX_PHOTOS,
  filterCategories,
  fitSize,
  flattenCategories,
  isNetworkError,
  newExternalID,
  placeText,
  sendReport,
  stateText,
} from './report-state.js';
// Last, so the page's rules win.
import './report.css';

/** RETRY_MS is how often waiting reports are tried while the page is open. */
const RETRY_MS = 15000;

export class ReportPage {
  /** ctx: {user, setStatus, setReady}. */
  constructor(view, ctx) {
    this.view = view;
    this.ctx = ctx;
    this.user = ctx.user?.username || '';
    this.point = null; // [lon, lat] WGS-84
    this.category = null; // {code, name, path}
    this.leaves = [];
    this.photos = []; // [{blob, url}]
    this.map = null;
    this.marker = null;
    this.flushing = false;
    this.destroyed = false;
    this.abort = new AbortController();
    this.onOnline = () => this.flush();
    this.timer = null;
  }

  async start() {
    this.#render();
    window.addEventListener('online', this.onOnline);
    this.timer = setInterval(() => this.flush(), RETRY_MS);
    this.locate();
    const signal = this.abort.signal;
    await Promise.all([
      api
        .categories({ signal })
        .then((d) => {
          this.leaves = flattenCategories(d.categories || d);
          this.#renderOptions();
        })
        .catch((err) => this.#error(`类别加载失败：${err.message}`)),
      this.loadMine(),
      this.flush(),
    ]);
    if (!this.destroyed) this.ctx.setReady(true);
  }

  destroy() {
    this.destroyed = true;
    this.abort.abort();
    window.removeEventListener('online', this.onOnline);
    clearInterval(this.timer);
    this.map?.remove();
    for (const p of this.photos) URL.revokeObjectURL(p.url);
  }

  #render() {
    const e = (this.el = {});
    e.location = h('p', { class: 'report-location', 'data-testid': 'report-location', text: '正在定位…' });
    e.place = h('p', { class: 'report-place', 'data-testid': 'report-place', 'aria-live': 'polite' });
    e.mapBox = h('div', { class: 'report-map-box', hidden: true });
    e.category = h('input', {
      id: 'report-category',
      type: 'search',
      'data-testid': 'report-category',
      placeholder: '输入关键字搜索，如“占道”',
      autocomplete: 'off',
      'aria-controls': 'report-category-list',
      oninput: () => this.#renderOptions(),
    });
    e.chosen = h('p', { class: 'report-chosen', 'aria-live': 'polite', text: '未选择类别' });
    e.options = h('div', { id: 'report-category-list', class: 'report-options', role: 'group', 'aria-label': '问题类别' });
    e.text = h('textarea', { id: 'report-text', 'data-testid': 'report-text', rows: '4', maxlength: '4000', placeholder: '发生了什么？在哪个位置？' });
    e.photo = h('input', {
      id: 'report-photo',
      type: 'file',
      accept: 'image/*',
      capture: 'environment',
      multiple: true,
      'data-testid': 'report-photo',
      onchange: () => this.#addPhotos(),
    });
    e.photos = h('ul', { class: 'report-photos', 'aria-label': '已选照片' });
    e.error = h('p', { class: 'report-error', 'data-testid': 'report-error', role: 'alert', hidden: true });
    e.result = h('p', { class: 'report-result', 'data-testid': 'report-result', role: 'status', hidden: true });
    e.queued = h('p', { class: 'report-queued', 'data-testid': 'report-queued', role: 'status', hidden: true });
    e.submit = h('button', { type: 'submit', class: 'report-submit', 'data-testid': 'report-submit', text: '提交上报' });
    e.mine = h('ul', { class: 'report-mine' });
    const form = h(
      'form',
      { class: 'report-form', novalidate: true, onsubmit: (ev) => (ev.preventDefault(), this.submit()) },
      h(
        'fieldset',
        {},
        h('legend', { text: '位置' }),
        e.location,
        e.place,
        h(
          'div',
          { class: 'report-row' },
          h('button', { type: 'button', class: 'report-button', 'data-testid': 'report-locate', text: '重新定位', onclick: () => this.locate() }),
          h('button', { type: 'button', class: 'report-button', 'data-testid': 'report-map-open', text: '在地图上选点', onclick: () => this.openMap() }),
        ),
        e.mapBox,
      ),
      h('fieldset', {}, h('legend', { text: '问题类别' }), h('label', { for: 'report-category', class: 'report-label', text: '搜索类别' }), e.category, e.chosen, e.options),
      h('fieldset', {}, h('legend', { text: '情况描述' }), h('label', { for: 'report-text', class: 'report-label', text: '描述' }), e.text),
      h(
        'fieldset',
        {},
        h('legend', { text: `照片（最多 ${MAX_PHOTOS} 张）` }),
        h('label', { for: 'report-photo', class: 'report-button report-photo-label', text: '拍照 / 选择照片' }),
        e.photo,
        e.photos,
      ),
      e.error,
      e.submit,
      e.result,
      e.queued,
    );
    this.view.replaceChildren(
      h(
        'div',
        { class: 'report-page' },
        h('section', { class: 'report-new', 'aria-labelledby': 'report-new-title' }, h('h2', { id: 'report-new-title', text: '网格员上报' }), form),
        h('section', { class: 'report-list', 'aria-labelledby': 'report-mine-title' }, h('h2', { id: 'report-mine-title', text: '我的上报' }), e.mine),
      ),
    );
  }

  #error(text) {
    this.el.error.textContent = text || '';
    this.el.error.hidden = !text;
  }

  /** locate asks the phone for its position (WGS-84). */
  locate() {
    if (!navigator.geolocation) {
      this.el.location.textContent = '此设备不能定位，请在地图上选点';
      return;
    }
    this.el.location.textContent = '正在定位…';
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        if (this.destroyed) return;
        this.setPoint([pos.coords.longitude, pos.coords.latitude], `已定位（精度约 ${Math.round(pos.coords.accuracy)} 米）`);
      },
      () => {
        if (this.destroyed) return;
        this.el.location.textContent = '未能定位，请在地图上选点';
        this.openMap();
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
    );
  }

  /** setPoint takes a position and shows the village and grid it falls in. */
  async setPoint(pt, how) {
    this.point = [Number(pt[0].toFixed(7)), Number(pt[1].toFixed(7))];
    this.el.location.textContent = `${how}：${this.point[0].toFixed(5)}, ${this.point[1].toFixed(5)}`;
    this.el.place.textContent = '正在查询所在网格…';
    this.marker?.setLngLat(this.point);
    try {
      const place = await api.place(this.point[0], this.point[1], { signal: this.abort.signal });
      const village = place.chain?.find((l) => l.level === 'village');
      const own = this.ctx.user?.jurisdiction?.grid_code;
      const note = own && village && !village.code.startsWith(own) ? '（不在您负责的村，无法上报）' : '';
      this.el.place.textContent = `所在网格：${placeText(place)}${note}`;
    } catch (err) {
      if (isNetworkError(err)) this.el.place.textContent = '离线：网格将在发送时确定';
      else this.el.place.textContent = `此位置无法上报：${err.message}`;
    }
  }

  /** openMap loads MapLibre (only now) and shows a map to place the pin. */
  async openMap() {
    this.el.mapBox.hidden = false;
    if (this.map) return;
    const container = h('div', { class: 'report-map', 'data-testid': 'report-map', role: 'application', 'aria-label': '选点地图：点击地图放置位置，方向键移动地图' });
    const useCenter = h('button', {
      type: 'button',
      class: 'report-button',
      'data-testid': 'report-map-use-center',
      text: '使用地图中心位置',
      onclick: () => {
        const c = this.map.getCenter();
        this.setPoint([c.lng, c.lat], '地图选点');
      },
    });
    this.el.mapBox.replaceChildren(container, useCenter);
    const [{ createMap, loaded }, { Marker }] = await Promise.all([import('./basemap.js'), import('maplibre-gl')]);
    if (this.destroyed) return;
    this.map = createMap(container, { center: this.point || [115.985, 40.465], zoom: this.point ? 16 : 11 });
    this.marker = new Marker({ draggable: true, color: '#f87171' }).setLngLat(this.point || this.map.getCenter()).addTo(this.map);
    this.marker.on('dragend', () => {
      const p = this.marker.getLngLat();
      this.setPoint([p.lng, p.lat], '地图选点');
    });
    this.map.on('click', (ev) => this.setPoint([ev.lngLat.lng, ev.lngLat.lat], '地图选点'));
    await loaded(this.map);
    if (this.destroyed) return;
    for (const layer of ['village', 'household']) {
      this.map.addSource(layer, { type: 'vector', tiles: [`${location.origin}/tiles/${layer}/{z}/{x}/{y}.mvt`], minzoom: 8, maxzoom: 16 });
      this.map.addLayer({
        id: `${layer}-line`,
        type: 'line',
        source: layer,
        'source-layer': layer,
        paint: { 'line-color': layer === 'village' ? '#bae6fd' : '#334155', 'line-width': layer === 'village' ? 1.5 : 0.6 },
      });
    }
  }

  #renderOptions() {
    const list = filterCategories(this.leaves, this.el.category.value, 40);
    const items = list.map((c) =>
      h(
        'button',
        {
          type: 'button',
          class: 'report-option',
          'data-testid': 'report-category-option',
          'data-code': c.code,
          'aria-pressed': String(this.category?.code === c.code),
          onclick: () => this.#choose(c),
        },
        h('span', { class: 'report-option-name', text: c.name }),
        h('span', { class: 'report-option-path', text: c.path }),
      ),
    );
    this.el.options.replaceChildren(...(items.length ? items : [h('p', { class: 'report-none', text: '没有匹配的类别' })]));
  }

  #choose(c) {
    this.category = c;
    this.el.chosen.textContent = `已选：${c.path}`;
    for (const b of this.el.options.querySelectorAll('[data-code]')) b.setAttribute('aria-pressed', String(b.dataset.code === c.code));
  }

  async #addPhotos() {
    const files = [...(this.el.photo.files || [])];
    this.el.photo.value = '';
    const room = MAX_PHOTOS - this.photos.length;
    if (files.length > room) this.#error(`最多 ${MAX_PHOTOS} 张照片，多出的 ${files.length - room} 张未加入`);
    for (const f of files.slice(0, Math.max(0, room))) {
      try {
        const blob = await resize(f);
        this.photos.push({ blob, url: URL.createObjectURL(blob) });
      } catch {
        this.#error(`无法读取照片 ${f.name}`);
      }
    }
    this.#renderPhotos();
  }

  #renderPhotos() {
    clear(this.el.photos);
    this.photos.forEach((p, i) => {
      this.el.photos.append(
        h(
          'li',
          { class: 'report-photo-item', 'data-testid': 'report-photo-item' },
          h('img', { src: p.url, alt: `照片 ${i + 1}` }),
          h('button', {
            type: 'button',
            class: 'report-photo-remove',
            'aria-label': `移除照片 ${i + 1}`,
            text: '×',
            onclick: () => {
              URL.revokeObjectURL(p.url);
              this.photos.splice(i, 1);
              this.#renderPhotos();
            },
          }),
        ),
      );
    });
  }

  /** submit puts the report in the outbox, then sends what waits there. */
  async submit() {
    this.#error('');
    this.el.result.hidden = true;
    if (!this.point) return this.#error('请先定位，或在地图上选点');
    if (!this.category) return this.#error('请选择问题类别');
    const text = this.el.text.value.trim();
    if (!text && !this.photos.length) return this.#error('请填写描述或拍照');
    const item = {
      external_id: newExternalID(),
      user: this.user,
      created: Date.now(),
      body: {
        source: 'patrol',
        category: this.category.code,
        text,
        lon: this.point[0],
        lat: this.point[1],
        datum: 'wgs84',
        reported_at: new Date().toISOString(),
      },
      photos: this.photos.map((p) => p.blob),
      attachment_ids: this.photos.map(() => null),
      summary: `${this.category.name} · ${text.slice(0, 30)}`,
    };
    this.el.submit.disabled = true;
    try {
      await outbox.put(item);
    } catch (err) {
      this.el.submit.disabled = false;
      return this.#error(`无法保存上报：${err.message}`);
    }
    for (const p of this.photos) URL.revokeObjectURL(p.url);
    this.photos = [];
    this.#renderPhotos();
    this.el.text.value = '';
    this.el.submit.disabled = false;
    await this.flush();
  }

  /** flush sends the waiting reports of this user, oldest first, one at a time. */
  async flush() {
    if (this.flushing || this.destroyed || !this.user) return;
    this.flushing = true;
    let sent = false;
    try {
      const items = await outbox.pending(this.user);
      for (const item of items) {
        if (item.error) continue;
        try {
          const res = await sendReport(item, {
            upload: (blob) => api.uploadAttachment(blob, 'photo.jpg'),
            postClue: (body) => api.postClue(body),
            save: (it) => outbox.put(it),
          });
          await outbox.remove(item.external_id);
          sent = true;
          this.el.result.dataset.clueId = String(res.clue.id);
          this.el.result.textContent = `上报成功：线索 ${res.clue.id} 号${res.whistle ? `，已进入 ${res.whistle.id} 号哨` : '，由村内处置'}`;
          this.el.result.hidden = false;
        } catch (err) {
          if (isNetworkError(err) || err.status >= 500 || err.status === 429 || err.status === 408) break;
          if (err.status === 401) break;
          item.error = err.message;
          await outbox.put(item);
          this.#error(`上报被拒绝：${err.message}`);
        }
      }
    } catch (err) {
      this.#error(`无法读取待发送的上报：${err.message}`);
    } finally {
      this.flushing = false;
    }
    await this.#showQueue();
    if (sent) await this.loadMine();
  }

  async #showQueue() {
    if (this.destroyed) return;
    const items = (await outbox.pending(this.user).catch(() => [])).filter((i) => !i.error);
    this.el.queued.dataset.count = String(items.length);
    this.el.queued.hidden = items.length === 0;
    this.el.queued.textContent = items.length ? `${items.length} 条上报已保存在本机，等待网络恢复后自动发送` : '';
  }

  /** loadMine shows 我的上报. */
  async loadMine() {
    let data;
    try {
      data = await api.myReports({ signal: this.abort.signal });
    } catch (err) {
      if (!this.destroyed && !isNetworkError(err)) this.#error(`我的上报加载失败：${err.message}`);
      return;
    }
    if (this.destroyed) return;
    const items = (data.reports || []).map((r) =>
      h(
        'li',
        { class: `my-report state-${r.state}`, 'data-testid': 'my-report-item', 'data-clue-id': String(r.id), 'data-state': r.state, tabindex: '0' },
        h('div', { class: 'my-report-head' }, h('strong', { text: r.category_name }), h('span', { class: 'my-report-state', text: stateText(r) })),
        h('p', { class: 'my-report-text', text: r.text || '（无描述）' }),
        h('p', { class: 'my-report-meta', text: `${new Date(r.reported_at).toLocaleString('zh-CN', { hour12: false })} · ${r.village} · 线索 ${r.id} 号` }),
        r.attachments?.length
          ? h(
              'div',
              { class: 'my-report-photos' },
              r.attachments.map((a, i) => h('img', { src: api.attachmentSrc(a.thumb_url), alt: `${r.category_name} 照片 ${i + 1}`, loading: 'lazy' })),
            )
          : null,
        r.whistle_id ? h('a', { href: `/whistles/${r.whistle_id}`, 'data-link': '', class: 'my-report-link', text: `查看 ${r.whistle_id} 号哨` }) : null,
      ),
    );
    this.el.mine.replaceChildren(...(items.length ? items : [h('li', { class: 'report-none', text: '还没有上报' })]));
  }
}

/** resize draws a photo at most 1600 px a side into a JPEG (dropping its EXIF). */
async function resize(file) {
  const bmp = await createImageBitmap(file);
  const { width, height } = fitSize(bmp.width, bmp.height);
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  canvas.getContext('2d').drawImage(bmp, 0, 0, width, height);
  bmp.close();
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('toBlob'))), 'image/jpeg', 0.85));
}

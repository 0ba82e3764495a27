// The review queue at /import/review (待定位工单): hotline orders the
// gazetteer could not place finer than a township wait here. A township
// operator sees their township's, the command center all. Choose an order,
// drop a pin on the map (or type the point), confirm: the order goes on
// through intake.
//
// Test hooks: [data-testid=review-list] with rows [data-testid=review-order]
// (data-id), [data-testid=review-total], [data-testid=pin-lon],
// [data-testid=pin-lat], [data-testid=pin-confirm], [data-testid=review-map],
// body[data-map-ready="1"] once the map is drawn.
import { Marker } from 'maplibre-gl';
import * as api from './api.js';
import { createMap, loaded } from './basemap.js';
import { clear, h } from './dom.js';
import { mayReview, PRECISIONS } from './import-state.js';
import './import.css';

const PRECISION_NAMES = Object.fromEntries(PRECISIONS.map((p) => [p.key, p.name]));

export class ReviewPage {
  constructor(view, ctx) {
    this.view = view;
    this.ctx = ctx;
    this.destroyed = false;
    this.selected = null;
    this.#build();
  }

  #build() {
    const ui = (this.ui = {});
    ui.total = h('span', { 'data-testid': 'review-total', text: '–' });
    ui.list = h('ol', { class: 'review-list', 'data-testid': 'review-list', 'aria-label': '待定位工单' });
    ui.detail = h('div', { class: 'review-detail', 'aria-live': 'polite' });
    ui.lon = h('input', { id: 'pin-lon', type: 'number', step: 'any', 'data-testid': 'pin-lon', inputmode: 'decimal' });
    ui.lat = h('input', { id: 'pin-lat', type: 'number', step: 'any', 'data-testid': 'pin-lat', inputmode: 'decimal' });
    ui.confirm = h('button', { type: 'submit', class: 'btn primary', 'data-testid': 'pin-confirm', text: '确认位置', disabled: true });
    ui.pin = h('form', { class: 'review-pin', onsubmit: (e) => { e.preventDefault(); this.#place(); } },
      h('p', { class: 'import-hint', text: '在地图上点击落点，或输入经纬度（WGS-84）。' }),
      h('label', { for: 'pin-lon', text: '经度' }), ui.lon, h('label', { for: 'pin-lat', text: '纬度' }), ui.lat, ui.confirm);
    ui.message = h('p', { class: 'import-message', role: 'status', 'aria-live': 'polite' });
    ui.map = h('div', { class: 'review-map', 'data-testid': 'review-map', 'aria-label': '落点地图' });
    for (const input of [ui.lon, ui.lat]) input.addEventListener('input', () => this.#fromInputs());
    clear(this.view).append(h('div', { class: 'review-page' },
      h('aside', { class: 'review-panel' },
        h('h2', {}, '待定位工单 ', h('small', {}, '共 ', ui.total, ' 条')),
        ui.list, ui.detail, ui.pin, ui.message),
      ui.map));
  }

  async start() {
    if (!mayReview(this.ctx.user)) {
      this.ui.message.textContent = '只有指挥中心和街乡镇可以定位工单。';
      this.ctx.setReady(true);
      return;
    }
    await this.#load();
    try {
      this.map = createMap(this.ui.map);
      await loaded(this.map);
      if (this.destroyed) return;
      const fc = await api.grids('township');
      this.map.addSource('townships', { type: 'geojson', data: fc });
      this.map.addLayer({ id: 'townships-line', type: 'line', source: 'townships', paint: { 'line-color': '#38bdf8', 'line-width': 1.2 } });
      this.map.on('click', (e) => this.#setPin(e.lngLat.lng, e.lngLat.lat));
      document.body.dataset.mapReady = '1';
    } catch (err) {
      console.error(err);
      this.ui.message.textContent = '地图无法显示；可直接输入经纬度。';
    }
    this.ctx.setReady(true);
  }

  destroy() {
    this.destroyed = true;
    delete document.body.dataset.mapReady;
    this.marker?.remove();
    this.map?.remove();
  }

  async #load() {
    const q = await api.unplacedOrders({ limit: 200 });
    if (this.destroyed) return;
    this.ui.total.textContent = String(q.total);
    clear(this.ui.list).append(...q.orders.map((o) => {
      const b = h('button', { type: 'button', class: 'review-order', 'data-testid': 'review-order', 'data-id': String(o.id), onclick: () => this.#select(o, b) },
        h('strong', { text: o.order_no }), ' ', h('span', { text: o.address || '（无地址）' }),
        h('small', { text: ` · ${o.township_name || '街乡不明'} · ${PRECISION_NAMES[o.precision] || o.precision}` }));
      return h('li', {}, b);
    }));
    if (!q.orders.length) this.ui.list.append(h('li', { class: 'import-hint', text: '没有待定位的工单。' }));
  }

  #select(o, button) {
    this.selected = o;
    for (const b of this.ui.list.querySelectorAll('.review-order')) b.setAttribute('aria-pressed', String(b === button));
    clear(this.ui.detail).append(
      h('h3', { text: `工单 ${o.order_no}` }),
      h('p', { text: `地址：${o.address || '（无）'}` }),
      h('p', { text: `内容：${o.content}` }),
      h('p', { text: `分类：${o.category_name}` }),
      h('p', { class: 'import-hint', text: `未能定位的原因：${o.reason}` }));
    this.#fromInputs();
    this.ui.lon.focus();
  }

  #fromInputs() {
    const lon = Number(this.ui.lon.value);
    const lat = Number(this.ui.lat.value);
    const ok = this.ui.lon.value !== '' && this.ui.lat.value !== '' && Number.isFinite(lon) && Number.isFinite(lat);
    this.ui.confirm.disabled = !(ok && this.selected);
    if (ok && this.map) this.#marker(lon, lat);
  }

  #setPin(lon, lat) {
    this.ui.lon.value = lon.toFixed(6);
    this.ui.lat.value = lat.toFixed(6);
    this.#fromInputs();
  }

  #marker(lon, lat) {
    if (!this.marker) this.marker = new Marker({ color: '#f87171' }).setLngLat([lon, lat]).addTo(this.map);
    else this.marker.setLngLat([lon, lat]);
  }

  async #place() {
    const o = this.selected;
    if (!o) return;
    this.ui.confirm.disabled = true;
    try {
      const res = await api.placeOrder(o.id, Number(this.ui.lon.value), Number(this.ui.lat.value));
      if (this.destroyed) return;
      this.ui.message.textContent = `工单 ${o.order_no} 已定位，线索 ${res.clue_id}${res.whistle ? `，已进入吹哨 ${res.whistle.id}` : ''}`;
      this.selected = null;
      clear(this.ui.detail);
      await this.#load();
    } catch (err) {
      this.ui.message.textContent = `定位失败：${err.message}`;
      this.ui.confirm.disabled = false;
    }
  }
}

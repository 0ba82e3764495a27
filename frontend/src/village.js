// A village's party-member contact map at /village/{code} (党员联系群众网格图):
// the households coloured by the party member who looks after them, the
// household grids outlined, a legend with each member's name and phone (as
// the caller may see them), and the member list with their households and
// contact details. It prints on one A4 sheet: a title "XX村 党员联系群众网格图"
// and the date, the map and the member table, on white (see the print
// rules in village.css); the households' details may follow on further
// pages.
//
// Test hooks: [data-testid=village-title], [data-testid=legend] with one
// .legend-item[data-person-id] per party member, [data-testid=print-button],
// body[data-map-ready="1"] once drawn, body[data-print-ready="1"] once the
// map has been redrawn for print media.
import { Marker, Popup } from 'maplibre-gl';
import * as api from './api.js';
import { createMap, idle, loaded } from './basemap.js';
import { clear, escapeHTML, h } from './dom.js';
import { chineseDate, count, dateTime } from './format.js';
import { bboxOfGeometry, labelPoint, polygonsOf, ringArea } from './geometry.js';
import { KIND_NAMES, shortName } from './names.js';
import { STAGE_COLORS, STAGES, matterFeatures, memberColors, splitRows } from './village-state.js';
import { coverageHref, whistleHref } from './router.js';
// Last, so the page's rules win ties with maplibre-gl.css.
import './village.css';

const NO_MEMBER = '#9ca3af';

/** Map paint for the screen (dark) and for paper (light). */
const THEMES = {
  screen: {
    background: '#070d1a',
    villageFill: '#0d1a30',
    villageLine: '#bae6fd',
    gridOpacity: 0.18,
    householdStroke: '#0b1220',
  },
  print: {
    background: '#ffffff',
    villageFill: '#ffffff',
    villageLine: '#111827',
    gridOpacity: 0.12,
    householdStroke: '#ffffff',
  },
};

export class VillagePage {
  /** ctx: {user, route: {code}, setStatus, setReady}. */
  constructor(view, ctx) {
    this.view = view;
    this.ctx = ctx;
    this.code = ctx.route.code;
    this.markers = [];
    this.focus = null;
    this.destroyed = false;
    this.theme = 'screen';
    this.print = matchMedia('print');
    this.onPrintChange = () => this.#setTheme(this.print.matches ? 'print' : 'screen');
    this.onBeforePrint = () => this.#setTheme('print');
    this.onAfterPrint = () => this.#setTheme(this.print.matches ? 'print' : 'screen');
  }

  async start() {
    const { ctx } = this;
    ctx.setStatus('正在加载联系图…');
    clear(this.view).append(h('div', { class: 'village village-loading' }));
    try {
      this.cm = await api.contactMap(this.code);
    } catch (err) {
      if (this.destroyed || (err instanceof api.ApiError && err.status === 401)) return;
      ctx.setStatus('');
      clear(this.view).append(h('div', { class: 'page-message' },
        h('h2', { text: err instanceof api.ApiError && err.status === 404 ? '未找到该村/社区，或不在您的辖区内' : `联系图加载失败：${err.message}` }),
        h('a', { href: '/coverage', 'data-link': '', text: '返回网格核查' })));
      return;
    }
    if (this.destroyed) return;
    this.colors = memberColors(this.cm.party_members);
    this.#build();
    this.meetingsLoaded = this.#loadMeetings();
    try {
      this.map = createMap(this.ui.map, { printable: true, maxZoom: 19 });
    } catch (err) {
      console.error(err);
      ctx.setStatus('地图无法初始化：浏览器不支持 WebGL', true);
      return;
    }
    await loaded(this.map);
    if (this.destroyed) return;
    this.#addLayers();
    await this.meetingsLoaded;
    if (this.destroyed) return;
    this.#addMatters();
    this.print.addEventListener('change', this.onPrintChange);
    window.addEventListener('beforeprint', this.onBeforePrint);
    window.addEventListener('afterprint', this.onAfterPrint);
    await this.#setTheme(this.print.matches ? 'print' : 'screen', true);
    if (this.destroyed) return;
    ctx.setStatus('');
    ctx.setReady(true);
  }

  #build() {
    const { cm } = this;
    const v = cm.village;
    const ui = (this.ui = {});
    const name = shortName(v.name);
    const title = `${name} 党员联系群众网格图`;
    document.title = `${title} · 延庆区 吹哨报到`;
    const duty = [
      ['包片领导', cm.zone_leader],
      ['包村干部', cm.cadre],
      ['网格员', cm.grid_worker],
    ].filter(([, p]) => p);
    const households = cm.households.length;
    const people = cm.households.reduce((s, x) => s + (x.size || 0), 0);
    const today = chineseDate(new Date());

    ui.map = h('div', { class: 'village-map', 'aria-label': `${name}网格图` });
    ui.legend = h('ol', { class: 'legend', 'data-testid': 'legend' });
    cm.party_members.forEach((m, i) => ui.legend.append(this.#legendItem(m, i)));
    const unassigned = cm.households.filter((x) => x.party_member_id === null).length;
    if (unassigned) {
      ui.legend.append(h('li', { class: 'legend-none' }, h('i', { class: 'swatch', style: { background: NO_MEMBER } }), `无联系党员 ${unassigned} 户`));
    }
    ui.details = h('input', { type: 'checkbox', onchange: () => document.body.classList.toggle('print-details', ui.details.checked) });
    document.body.classList.remove('print-details');

    const tables = splitRows(cm.party_members.map((m, i) => ({ m, i })));
    const memberTables = tables.map((rows) =>
      h('table', { class: 'member-table' },
        h('thead', {}, h('tr', {}, h('th', { text: '序号' }), h('th', { text: '党员' }), h('th', { text: '联系电话' }), h('th', { text: '联系网格' }), h('th', { class: 'num', text: '户数' }))),
        h('tbody', {}, rows.map(({ m, i }) => h('tr', {},
          h('td', { class: 'num' }, h('i', { class: 'swatch', style: { background: this.colors.get(m.person_id) } }), String(i + 1)),
          h('td', { text: m.name }),
          h('td', { class: 'phone', text: m.phone || '' }),
          h('td', { text: (m.grid_codes || []).map((c) => c.slice(-3)).join('、') || '—' }),
          h('td', { class: 'num', text: String(m.households) }))))));

    this.root = h('div', { class: 'village', 'data-testid': 'village-page' },
      h('div', { class: 'village-toolbar no-print' },
        h('a', { href: coverageHref(v.code), 'data-link': '', class: 'toolbar-link', text: '← 网格核查' }),
        h('span', { class: 'toolbar-note', text: cm.residents_masked ? '住户联系方式已按权限脱敏' : '' }),
        h('label', { class: 'toolbar-check' }, ui.details, '打印附联系户明细'),
        h('button', { type: 'button', class: 'print-button', 'data-testid': 'print-button', onclick: () => this.printNow() }, '打印 A4')),
      h('article', { class: 'print-sheet' },
        h('header', { class: 'sheet-head' },
          h('h1', { class: 'sheet-title', 'data-testid': 'village-title', text: title }),
          h('div', { class: 'sheet-meta' },
            h('span', { text: `延庆区 ${v.township_name} · ${v.zone_name}` }),
            h('span', { text: `${KIND_NAMES[v.kind] || ''}编码 ${v.code}` }),
            h('span', { text: `户网格 ${cm.grids.length} 个 · 住户 ${count(households)} 户 ${count(people)} 人 · 党员 ${cm.party_members.length} 名` })),
          h('div', { class: 'sheet-duty' }, duty.map(([k, p]) => h('span', {}, `${k} `, h('b', { text: p.name }), p.phone ? ` ${p.phone}` : ''))),
          h('div', { class: 'sheet-date', 'data-testid': 'print-date', text: `制图日期：${today}` })),
        h('div', { class: 'sheet-body' },
          ui.map,
          h('aside', { class: 'village-side' }, h('h2', {}, '党员联系情况', h('small', { text: ' 点击党员查看联系户' })), ui.legend)),
        h('section', { class: 'member-tables' }, memberTables),
        h('footer', { class: 'sheet-foot' },
          h('span', { text: '说明：图中圆点为住户，颜色对应联系党员；细线为户网格，粗线为村/社区边界。' }),
          h('span', { text: `延庆区 吹哨报到 指挥平台 · ${today}` }))),
      (ui.meetings = h('section', { class: 'village-meetings no-print', 'data-testid': 'village-meetings', 'aria-labelledby': 'village-meetings-title' },
        h('h2', { id: 'village-meetings-title' }, '村民说事',
          h('a', { href: `/village/${encodeURIComponent(v.code)}/meetings`, 'data-link': '', class: 'toolbar-link', 'data-testid': 'meetings-link', text: '全部村民说事 →' })),
        h('p', { class: 'empty', text: '正在加载…' }))),
      h('section', { class: 'household-detail' },
        h('h2', { text: `${name} 党员联系户明细` }),
        cm.party_members.map((m) => this.#detailTable(m))));
    clear(this.view).append(this.root);
  }

  /**
   * loadMeetings reads the village's villagers' meetings (村民说事) and
   * lists the latest with their matters; the matters with a location are
   * drawn on the map (#addMatters). An error leaves the contact map as it is.
   */
  async #loadMeetings() {
    let data;
    try {
      data = await api.meetings(this.code);
    } catch (err) {
      if (this.destroyed) return;
      this.ui.meetings.lastElementChild.textContent = err instanceof api.ApiError && err.status === 403 ? '无权查看村民说事' : `村民说事加载失败：${err.message}`;
      return;
    }
    if (this.destroyed) return;
    this.meetings = data.meetings || [];
    const recent = this.meetings.slice(0, 3);
    const total = this.meetings.reduce((n, mt) => n + mt.matters.length, 0);
    const box = this.ui.meetings;
    box.lastElementChild.remove();
    box.append(h('p', { class: 'meetings-summary', text: this.meetings.length ? `共 ${this.meetings.length} 次会议、${total} 件事项；地图上彩色方点为事项位置（颜色表示阶段）` : '尚无村民说事记录' }),
      h('ul', { class: 'stage-legend', 'aria-label': '事项阶段' }, Object.entries(STAGES).map(([k, name]) =>
        h('li', {}, h('i', { class: 'swatch', style: { background: STAGE_COLORS[k] } }), name))),
      recent.map((mt) => h('article', { class: 'village-meeting', 'data-id': String(mt.id) },
        h('h3', { text: `${dateTime(mt.held_at)} · ${mt.place} · 参会 ${mt.attendees} 人` }),
        mt.matters.length ? h('ol', {}, mt.matters.map((m) => h('li', { class: 'village-matter', 'data-stage': m.stage },
          h('span', { class: `stage stage-${m.stage}`, text: STAGES[m.stage] || m.stage }),
          m.risk ? h('span', { class: 'risk-mark', title: m.risk.reasons.join('；'), text: '高风险' }) : null,
          h('span', { text: m.text }),
          m.whistle_id ? h('a', { href: whistleHref(m.whistle_id), 'data-link': '', class: 'matter-whistle', text: `哨单 #${m.whistle_id}` }) : null)))
          : h('p', { class: 'empty', text: '本次会议未提出事项' }))));
  }

  /** addMatters draws the located matters of the village's meetings, coloured by stage. */
  #addMatters() {
    const m = this.map;
    if (!this.meetings?.length) return;
    m.addSource('matters', { type: 'geojson', data: matterFeatures(this.meetings) });
    m.addLayer({
      id: 'matters',
      type: 'circle',
      source: 'matters',
      paint: {
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 13, 4, 17, 8],
        'circle-color': ['get', 'color'],
        'circle-stroke-color': ['case', ['get', 'risk'], '#ef4444', '#0b1220'],
        'circle-stroke-width': ['case', ['get', 'risk'], 2.5, 1.2],
      },
    });
    m.on('click', 'matters', (e) => {
      const p = e.features[0].properties;
      new Popup({ maxWidth: '300px' })
        .setLngLat(e.lngLat)
        .setHTML(`<div class="grid-popup"><div class="grid-popup-name">村民说事 · ${escapeHTML(STAGES[p.stage] || p.stage)}</div>
          <p>${escapeHTML(p.text)}</p><dl><dt>会议</dt><dd>${escapeHTML(dateTime(p.held_at))}</dd></dl></div>`)
        .addTo(m);
    });
    m.on('mouseenter', 'matters', () => (m.getCanvas().style.cursor = 'pointer'));
    m.on('mouseleave', 'matters', () => (m.getCanvas().style.cursor = ''));
  }

  #legendItem(m, i) {
    const colour = this.colors.get(m.person_id);
    const mine = this.cm.households.filter((x) => x.party_member_id === m.person_id);
    const list = h('ol', { class: 'legend-households', hidden: true },
      mine.map((x) => h('li', {}, h('span', { class: 'hh-address', text: x.address }), h('span', { class: 'hh-size', text: `${x.size}人` }),
        h('span', { class: 'hh-contact', text: [x.contact_name, x.contact_phone].filter(Boolean).join(' ') }))));
    const item = h('li', { class: 'legend-item', 'data-person-id': m.person_id, style: { '--member': colour } },
      h('button', { type: 'button', class: 'legend-head', onclick: () => this.#focus(m.person_id, item, list) },
        h('i', { class: 'swatch', style: { background: colour } }),
        h('span', { class: 'legend-index', text: String(i + 1) }),
        h('b', { class: 'legend-name', text: m.name }),
        h('span', { class: 'legend-phone', text: m.phone || '' }),
        h('span', { class: 'legend-count', text: `${m.households}户` })),
      h('div', { class: 'legend-grids', text: `户网格 ${(m.grid_codes || []).map((c) => c.slice(-3)).join('、') || '—'}` }),
      list);
    return item;
  }

  #detailTable(m) {
    const mine = this.cm.households.filter((x) => x.party_member_id === m.person_id);
    return h('div', { class: 'detail-block' },
      h('h3', {}, h('i', { class: 'swatch', style: { background: this.colors.get(m.person_id) } }), `${m.name} ${m.phone || ''} · ${mine.length} 户`),
      h('table', { class: 'detail-table' },
        h('thead', {}, h('tr', {}, h('th', { text: '住址' }), h('th', { class: 'num', text: '人口' }), h('th', { text: '联系人' }), h('th', { text: '电话' }))),
        h('tbody', {}, mine.map((x) => h('tr', {}, h('td', { text: x.address }), h('td', { class: 'num', text: String(x.size) }),
          h('td', { text: x.contact_name || '' }), h('td', { class: 'phone', text: x.contact_phone || '' }))))));
  }

  #focus(personId, item, list) {
    const same = this.focus === personId;
    this.focus = same ? null : personId;
    for (const el of this.ui.legend.querySelectorAll('.legend-item')) {
      el.classList.toggle('focused', !same && el === item);
      el.querySelector('.legend-households').hidden = same || el !== item;
    }
    this.ui.legend.classList.toggle('has-focus', !same);
    const m = this.map;
    const filter = same ? null : ['==', ['get', 'member'], personId];
    m.setPaintProperty('households', 'circle-opacity', filter ? ['case', filter, 1, 0.15] : 1);
    m.setPaintProperty('grid-fill', 'fill-opacity', filter ? ['case', filter, 0.35, 0.05] : THEMES[this.theme].gridOpacity);
    if (!same) {
      const pts = this.cm.households.filter((x) => x.party_member_id === personId).map((x) => [x.lon, x.lat]);
      const box = bboxOfGeometry({ type: 'MultiPoint', coordinates: pts });
      if (box) m.fitBounds(box, { padding: 80, maxZoom: 18, duration: 700 });
      list.hidden = false;
    } else {
      this.#fit(700);
    }
  }

  #addLayers() {
    const { cm, map: m } = this;
    const colour = (id) => (id === null || id === undefined ? NO_MEMBER : this.colors.get(id) || NO_MEMBER);
    m.addSource('village', { type: 'geojson', data: { type: 'Feature', geometry: cm.village.geometry, properties: {} } });
    m.addSource('grids', {
      type: 'geojson',
      data: {
        type: 'FeatureCollection',
        features: cm.grids.map((g) => ({ type: 'Feature', geometry: g.geometry, properties: { code: g.code, color: colour(g.party_member_id) } })),
      },
    });
    m.addSource('households', {
      type: 'geojson',
      data: {
        type: 'FeatureCollection',
        features: cm.households.map((x) => ({
          type: 'Feature',
          geometry: { type: 'Point', coordinates: [x.lon, x.lat] },
          properties: { id: x.id, member: x.party_member_id ?? -1, color: colour(x.party_member_id), address: x.address, size: x.size, contact: [x.contact_name, x.contact_phone].filter(Boolean).join(' ') },
        })),
      },
    });
    m.addLayer({ id: 'village-fill', type: 'fill', source: 'village', paint: { 'fill-color': THEMES.screen.villageFill } });
    m.addLayer({ id: 'grid-fill', type: 'fill', source: 'grids', paint: { 'fill-color': ['get', 'color'], 'fill-opacity': THEMES.screen.gridOpacity } });
    m.addLayer({ id: 'grid-line', type: 'line', source: 'grids', paint: { 'line-color': ['get', 'color'], 'line-width': 1.4 } });
    m.addLayer({ id: 'village-line', type: 'line', source: 'village', paint: { 'line-color': THEMES.screen.villageLine, 'line-width': 3 } });
    m.addLayer({
      id: 'households',
      type: 'circle',
      source: 'households',
      paint: {
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 13, 2.5, 16, 5, 18, 8],
        'circle-color': ['get', 'color'],
        'circle-stroke-color': THEMES.screen.householdStroke,
        'circle-stroke-width': 0.8,
      },
    });
    // One label per household grid: the party member who looks after it,
    // the largest grids first so that a crowded centre hides the small ones.
    const names = new Map(cm.party_members.map((p) => [p.person_id, p.name]));
    const bySize = cm.grids
      .map((g) => ({ g, size: polygonsOf(g.geometry).reduce((sum, p) => sum + ringArea(p[0]), 0) }))
      .sort((a, b) => b.size - a.size);
    for (const { g } of bySize) {
      const at = labelPoint(g.geometry);
      if (!at) continue;
      const el = h('div', { class: 'grid-label label-member', style: { '--member': colour(g.party_member_id) } },
        h('span', { class: 'label-code', text: g.code.slice(-3) }), names.get(g.party_member_id) || '无');
      this.markers.push(new Marker({ element: el, anchor: 'center' }).setLngLat(at).addTo(m));
    }
    m.on('moveend', () => this.#declutter());
    m.on('click', 'households', (e) => {
      const p = e.features[0].properties;
      const member = names.get(Number(p.member));
      new Popup({ maxWidth: '280px' })
        .setLngLat(e.lngLat)
        .setHTML(`<div class="grid-popup"><div class="grid-popup-name">${escapeHTML(p.address)}</div><dl>
          <dt>人口</dt><dd>${escapeHTML(p.size)} 人</dd>
          ${p.contact ? `<dt>联系人</dt><dd>${escapeHTML(p.contact)}</dd>` : ''}
          <dt>联系党员</dt><dd>${escapeHTML(member || '无')}</dd></dl></div>`)
        .addTo(m);
    });
    m.on('mouseenter', 'households', () => (m.getCanvas().style.cursor = 'pointer'));
    m.on('mouseleave', 'households', () => (m.getCanvas().style.cursor = ''));
  }

  // Hide a label that would overlap one placed before it (a larger grid's).
  #declutter() {
    const placed = [];
    for (const mk of this.markers) {
      const el = mk.getElement();
      const p = this.map.project(mk.getLngLat());
      const w = el.offsetWidth / 2 + 2;
      const hh = el.offsetHeight / 2 + 1;
      const box = [p.x - w, p.y - hh, p.x + w, p.y + hh];
      const hit = placed.some((b) => box[0] < b[2] && box[2] > b[0] && box[1] < b[3] && box[3] > b[1]);
      el.classList.toggle('label-hidden', hit);
      if (!hit) placed.push(box);
    }
  }

  #fit(duration = 0) {
    const box = bboxOfGeometry(this.cm.village.geometry);
    if (box) this.map.fitBounds(box, { padding: this.theme === 'print' ? 14 : 40, duration });
  }

  /**
   * setTheme switches the map between the dark screen and white paper,
   * refits it to the container (whose size the print rules change) and
   * marks body[data-print-ready] once it is drawn for print.
   */
  async #setTheme(theme, force = false) {
    if (!this.map || (!force && theme === this.theme)) return;
    this.theme = theme;
    delete document.body.dataset.printReady;
    const t = THEMES[theme];
    const m = this.map;
    m.setPaintProperty('background', 'background-color', t.background);
    m.setPaintProperty('village-fill', 'fill-color', t.villageFill);
    m.setPaintProperty('village-line', 'line-color', t.villageLine);
    m.setPaintProperty('households', 'circle-stroke-color', t.householdStroke);
    if (this.focus === null) m.setPaintProperty('grid-fill', 'fill-opacity', t.gridOpacity);
    m.resize();
    this.#fit(0);
    this.#declutter();
    await idle(m);
    if (!this.destroyed && theme === 'print' && this.theme === 'print') document.body.dataset.printReady = '1';
  }

  /** printNow redraws the map for paper, waits until it is drawn, then opens the print dialog. */
  async printNow() {
    document.body.classList.add('printing');
    await this.#setTheme('print');
    window.print();
    document.body.classList.remove('printing');
    await this.#setTheme(this.print.matches ? 'print' : 'screen');
  }

  destroy() {
    this.destroyed = true;
    this.print.removeEventListener('change', this.onPrintChange);
    window.removeEventListener('beforeprint', this.onBeforePrint);
    window.removeEventListener('afterprint', this.onAfterPrint);
    document.body.classList.remove('print-details', 'printing');
    delete document.body.dataset.printReady;
    for (const mk of this.markers) mk.remove();
    this.map?.remove();
    clear(this.view);
  }
}


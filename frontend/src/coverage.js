// The coverage review at /coverage[?parent=CODE] (网格覆盖核查), for grid
// supervisors: a map of the chosen parent grid with its gaps and overlaps
// in red, unstaffed grids hatched, households outside their grid and
// households without a party member as points; a side panel with the count
// of each defect, its list (a click flies to the item), and the
// party-member load table with the outliers highlighted. A picker drills
// down township → zone → village.
//
// Test hooks: [data-testid=coverage-parent] (data-code), the counts
// [data-testid=count-<defect>] (see DEFECTS), [data-testid=count-party-members],
// [data-testid=count-load-outliers], [data-testid=load-table],
// body[data-map-ready="1"] once the review is drawn.
import { Marker, Popup } from 'maplibre-gl';
import * as api from './api.js';
import { EMPTY, createMap, idle, loaded } from './basemap.js';
import { clear, escapeHTML, h } from './dom.js';
import { area, clock, count } from './format.js';
import { DEFECTS, levelOfCode, testId } from './coverage-state.js';
import { bboxOf, bboxOfGeometry, labelPoint } from './geometry.js';
import { addHatch } from './hatch.js';
import { DUTY_NAMES, KIND_NAMES, LEVEL_NAMES, shortName } from './names.js';
import { coverageHref, villageHref } from './router.js';
// Last, so the page's rules win ties with maplibre-gl.css.
import './coverage.css';

const DEFECT_RED = '#ef4444';
const ASTRAY = '#f43f5e';
const NO_MEMBER = '#fbbf24';
const OUTLIER = '#e879f9';
const HATCH = '#fb923c';
/** LOAD_ROWS is how many load-table rows are shown before "显示全部". */
const LOAD_ROWS = 60;

export class CoveragePage {
  /** ctx: {user, route, setStatus, setReady, navigate}. */
  constructor(view, ctx) {
    this.view = view;
    this.ctx = ctx;
    this.parent = ctx.route.parent || ctx.user?.jurisdiction?.grid_code || '';
    this.selected = null;
    this.markers = [];
    this.loadSeq = 0;
    this.destroyed = false;
    this.#build();
  }

  #build() {
    const ui = (this.ui = {});
    ui.map = h('div', { class: 'cov-map', 'aria-label': '网格覆盖核查地图' });
    ui.township = h('select', { 'data-testid': 'pick-township', onchange: () => this.#pick('township') });
    ui.zone = h('select', { 'data-testid': 'pick-zone', onchange: () => this.#pick('zone') });
    ui.village = h('select', { 'data-testid': 'pick-village', onchange: () => this.#pick('village') });
    ui.picker = h('div', { class: 'cov-picker' },
      h('label', {}, '街乡镇', ui.township), h('label', {}, '片区', ui.zone), h('label', {}, '村/社区', ui.village));
    ui.title = h('h2', { class: 'cov-title', 'data-testid': 'coverage-parent', text: '—' });
    ui.meta = h('div', { class: 'cov-meta' });
    ui.links = h('div', { class: 'cov-links' });
    ui.counts = h('div', { class: 'cov-counts', 'data-testid': 'coverage-counts' });
    ui.countEls = {};
    for (const d of DEFECTS) {
      const value = h('span', { class: 'cov-count-value', 'data-testid': testId(d.key), text: '–' });
      const tile = h('button', { type: 'button', class: `cov-count cov-${d.key}`, title: d.hint, onclick: () => this.#select(d.key) },
        value, h('span', { class: 'cov-count-label', text: d.label }));
      ui.countEls[d.key] = { value, tile };
      ui.counts.append(tile);
    }
    ui.listTitle = h('h3', { class: 'cov-list-title' });
    ui.list = h('ol', { class: 'cov-list', 'data-testid': 'defect-list' });
    ui.loadStats = h('div', { class: 'load-stats' });
    ui.loadBody = h('tbody');
    ui.loadMore = h('button', { type: 'button', class: 'link-button', hidden: true, onclick: () => this.#renderLoad(true) });
    ui.members = h('span', { 'data-testid': 'count-party-members', text: '–' });
    ui.outliers = h('span', { 'data-testid': 'count-load-outliers', text: '–' });
    ui.panel = h('aside', { class: 'cov-panel' },
      ui.picker,
      h('header', { class: 'cov-head' }, ui.title, ui.meta, ui.links),
      ui.counts,
      h('section', { class: 'cov-list-box' }, ui.listTitle, ui.list),
      h('section', { class: 'cov-load' },
        h('h3', {}, '党员联系户负荷 ', h('small', {}, '党员 ', ui.members, ' 名 · 异常 ', ui.outliers, ' 名')),
        ui.loadStats,
        h('table', { class: 'load-table', 'data-testid': 'load-table' },
          h('thead', {}, h('tr', {}, h('th', { text: '党员' }), h('th', { text: '电话' }), h('th', { class: 'num', text: '联系户' }), h('th', { class: 'num', text: '偏离' }), h('th', { text: '户网格' }))),
          ui.loadBody),
        ui.loadMore));
    ui.legend = h('div', { class: 'map-legend cov-legend' },
      h('div', { class: 'legend-row' }, h('i', { class: 'swatch', style: { background: DEFECT_RED } }), '缺口 / 重叠 / 超出上级'),
      h('div', { class: 'legend-row' }, h('i', { class: 'swatch hatch' }), '无人值守'),
      h('div', { class: 'legend-row' }, h('i', { class: 'dot', style: { background: ASTRAY } }), '户在网格外'),
      h('div', { class: 'legend-row' }, h('i', { class: 'dot', style: { background: NO_MEMBER } }), '无党员联系户'),
      h('div', { class: 'legend-row' }, h('i', { class: 'dot', style: { background: OUTLIER } }), '负荷异常党员的联系户'));
    clear(this.view).append(h('div', { class: 'coverage' }, ui.map, ui.legend, ui.panel));
  }

  async start() {
    try {
      this.map = createMap(this.ui.map);
    } catch (err) {
      console.error(err);
      this.ctx.setStatus('地图无法初始化：浏览器不支持 WebGL', true);
      return;
    }
    await loaded(this.map);
    if (this.destroyed) return;
    this.#addLayers();
    if (!this.parent) this.parent = await this.#defaultParent();
    await this.load(this.parent);
  }

  // A unit has no grid of its own: review the district when it may see it,
  // else the first township it serves.
  async #defaultParent() {
    for (const level of ['district', 'township']) {
      try {
        const fc = await api.grids(level);
        const codes = fc.features.map((f) => f.properties.code).sort();
        if (codes.length) return codes[0];
      } catch {
        // try the next level
      }
    }
    return '';
  }

  /** update follows a new route of the same page (back/forward). */
  async update(route) {
    const parent = route.parent || this.ctx.user?.jurisdiction?.grid_code || (await this.#defaultParent());
    if (parent !== this.parent && !this.destroyed) this.load(parent);
  }

  #addLayers() {
    const m = this.map;
    addHatch(m, 'hatch', { color: HATCH });
    for (const id of ['parent', 'children', 'gaps', 'overlaps', 'outside_parent', 'unstaffed', 'households_outside',
      'households_without_party_member', 'party_member_load', 'focus']) {
      m.addSource(id, { type: 'geojson', data: EMPTY });
    }
    m.addLayer({ id: 'parent-fill', type: 'fill', source: 'parent', paint: { 'fill-color': '#0d1a30' } });
    m.addLayer({ id: 'children-fill', type: 'fill', source: 'children', paint: { 'fill-color': '#1e293b', 'fill-opacity': 0.6 } });
    m.addLayer({ id: 'unstaffed-fill', type: 'fill', source: 'unstaffed', paint: { 'fill-pattern': 'hatch' } });
    m.addLayer({ id: 'unstaffed-line', type: 'line', source: 'unstaffed', paint: { 'line-color': HATCH, 'line-width': 1.5, 'line-dasharray': [2, 1] } });
    m.addLayer({ id: 'children-line', type: 'line', source: 'children', paint: { 'line-color': 'rgba(148, 197, 255, 0.75)', 'line-width': 1.2 } });
    m.addLayer({ id: 'parent-line', type: 'line', source: 'parent', paint: { 'line-color': '#bae6fd', 'line-width': 3 } });
    for (const id of ['gaps', 'overlaps', 'outside_parent']) {
      m.addLayer({ id: `${id}-fill`, type: 'fill', source: id, paint: { 'fill-color': DEFECT_RED, 'fill-opacity': 0.6 } });
      m.addLayer({ id: `${id}-line`, type: 'line', source: id, paint: { 'line-color': '#fecaca', 'line-width': 2 } });
    }
    m.addLayer({
      id: 'load-points', type: 'circle', source: 'party_member_load',
      paint: { 'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 1.8, 16, 4], 'circle-color': OUTLIER, 'circle-opacity': 0.75 },
    });
    m.addLayer({
      id: 'no-member-points', type: 'circle', source: 'households_without_party_member',
      paint: { 'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 3, 16, 7], 'circle-color': NO_MEMBER, 'circle-stroke-color': '#1f2937', 'circle-stroke-width': 1 },
    });
    m.addLayer({
      id: 'outside-points', type: 'circle', source: 'households_outside',
      paint: { 'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 4, 16, 8], 'circle-color': ASTRAY, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 },
    });
    m.addLayer({ id: 'focus-line', type: 'line', source: 'focus', filter: ['!=', ['geometry-type'], 'Point'], paint: { 'line-color': '#22d3ee', 'line-width': 4 } });
    m.addLayer({
      id: 'focus-point', type: 'circle', source: 'focus', filter: ['==', ['geometry-type'], 'Point'],
      paint: { 'circle-radius': 12, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': '#22d3ee', 'circle-stroke-width': 3 },
    });
    m.on('click', (e) => this.#click(e));
    m.on('movestart', () => this.ui.map.classList.add('moving'));
    m.on('moveend', () => this.ui.map.classList.remove('moving'));
  }

  #click(e) {
    const layers = ['outside-points', 'no-member-points', 'gaps-fill', 'overlaps-fill', 'outside_parent-fill', 'unstaffed-fill', 'children-fill'];
    const f = this.map.queryRenderedFeatures(e.point, { layers })[0];
    if (!f) return;
    const p = f.properties || {};
    let html;
    switch (f.layer.id) {
      case 'outside-points':
      case 'no-member-points':
        html = `<b>${escapeHTML(p.address)}</b><br>户网格 ${escapeHTML(p.grid_code)}${f.layer.id === 'outside-points' ? '<br>不在所属网格内' : '<br>无联系党员'}`;
        break;
      case 'children-fill':
        html = `<b>${escapeHTML(p.name)}</b><br>${escapeHTML(KIND_NAMES[p.kind] || LEVEL_NAMES[p.level] || '')} ${escapeHTML(p.code)}`;
        break;
      case 'unstaffed-fill': {
        let missing = p.missing;
        try {
          missing = JSON.parse(missing);
        } catch {
          // already an array
        }
        html = `<b>${escapeHTML(p.name)}</b><br>无人值守：缺${escapeHTML([].concat(missing || []).map((d) => DUTY_NAMES[d] || d).join('、'))}`;
        break;
      }
      default:
        html = `<b>${escapeHTML(DEFECTS.find((d) => `${d.key}-fill` === f.layer.id)?.label || '')}</b><br>${escapeHTML(area(Number(p.area_m2)))}`;
    }
    new Popup({ maxWidth: '300px' }).setLngLat(e.lngLat).setHTML(`<div class="grid-popup">${html}</div>`).addTo(this.map);
  }

  /** load reviews a parent grid ("" for the caller's own) and draws it. */
  async load(parent) {
    const seq = ++this.loadSeq;
    const { ctx, ui } = this;
    ctx.setReady(false);
    ctx.setStatus('正在核查网格覆盖…');
    ui.list.replaceChildren();
    let cv, parentFeature, children;
    try {
      [cv, parentFeature, children] = await Promise.all([
        api.coverage(parent),
        parent ? api.grid(parent) : Promise.resolve(null),
        parent ? api.grids('', { parent }) : Promise.resolve(null),
      ]);
      if (!parent) {
        parent = cv.parent.code;
        [parentFeature, children] = await Promise.all([api.grid(parent), api.grids('', { parent })]);
      }
    } catch (err) {
      if (seq !== this.loadSeq || this.destroyed || (err instanceof api.ApiError && err.status === 401)) return;
      ctx.setStatus(err instanceof api.ApiError && err.status === 404 ? '该网格不存在或不在您的辖区内' : `核查失败：${err.message}`, true);
      return;
    }
    if (seq !== this.loadSeq || this.destroyed) return;
    this.parent = parent;
    this.cv = cv;
    this.parentFeature = parentFeature;
    if (location.pathname === '/coverage' && new URLSearchParams(location.search).get('parent') !== parent) {
      history.replaceState(null, '', coverageHref(parent));
    }
    await this.#fillPicker(parentFeature);
    if (seq !== this.loadSeq || this.destroyed) return;
    this.#renderHead(cv, parentFeature);
    this.#renderCounts(cv);
    this.#renderLoad(false);
    const first = DEFECTS.find((d) => (cv[d.key] || []).length > 0);
    this.#select(first ? first.key : null);
    await this.#draw(cv, parentFeature, children);
    if (seq !== this.loadSeq || this.destroyed) return;
    ctx.setStatus('');
    ctx.setReady(true);
  }

  async #fillPicker(pf) {
    const { ui } = this;
    const user = this.ctx.user;
    const own = user?.jurisdiction?.grid_code || '';
    const code = pf.properties.code;
    const level = pf.properties.level;
    const township = code.length >= 9 ? code.slice(0, 9) : '';
    let zone = '';
    if (level === 'zone') zone = code;
    else if (level === 'village') zone = pf.properties.parent_code || '';
    else if (level === 'household') {
      try {
        zone = (await api.grid(code.slice(0, 12))).properties.parent_code || '';
      } catch {
        zone = '';
      }
    }
    const village = code.length >= 12 ? code.slice(0, 12) : '';
    const ownLevel = levelOfCode(own);
    const option = (value, text) => h('option', { value, text });

    const fill = async (select, level, parentCode, value, anyText, locked) => {
      select.replaceChildren();
      if (!parentCode) {
        select.append(option('', '—'));
        select.disabled = true;
        return;
      }
      const fc = await api.grids(level, { parent: parentCode }).catch(() => EMPTY);
      if (!locked) select.append(option('', anyText));
      const features = [...fc.features].sort((a, b) => String(a.properties.code).localeCompare(String(b.properties.code)));
      for (const f of features) select.append(option(f.properties.code, shortName(f.properties.name)));
      select.value = value;
      select.disabled = locked || features.length === 0;
    };
    const townshipLocked = ownLevel !== 'district';
    if (townshipLocked) {
      ui.township.replaceChildren(option(township, user?.jurisdiction?.grid_name || township));
      ui.township.disabled = true;
    } else {
      const fc = await api.grids('township').catch(() => EMPTY);
      ui.township.replaceChildren(option('', '（全区）'));
      for (const f of [...fc.features].sort((a, b) => String(a.properties.code).localeCompare(String(b.properties.code)))) {
        ui.township.append(option(f.properties.code, f.properties.name));
      }
      ui.township.value = township;
      ui.township.disabled = false;
    }
    const belowVillage = ownLevel === 'village' || ownLevel === 'household';
    await fill(ui.zone, 'zone', township, zone, '（全镇）', belowVillage);
    if (belowVillage) {
      ui.zone.replaceChildren(option(zone, zone ? '本片区' : '—'));
      ui.zone.disabled = true;
    }
    await fill(ui.village, 'village', zone, village, '（全片）', belowVillage);
    if (belowVillage) {
      ui.village.replaceChildren(option(village, user?.jurisdiction?.grid_name || village));
      ui.village.disabled = true;
    }
    ui.picker.hidden = ownLevel === 'household';
  }

  #pick(level) {
    const { ui } = this;
    let parent;
    if (level === 'township') parent = ui.township.value || this.ctx.user?.jurisdiction?.grid_code || '';
    else if (level === 'zone') parent = ui.zone.value || ui.township.value;
    else parent = ui.village.value || ui.zone.value || ui.township.value;
    if (!parent || parent === this.parent) return;
    history.pushState(null, '', coverageHref(parent));
    this.load(parent);
  }

  #renderHead(cv, pf) {
    const { ui } = this;
    const p = pf.properties;
    ui.title.textContent = p.name;
    ui.title.dataset.code = p.code;
    const duty = (p.on_duty || []).filter((d) => d.duty !== 'household').map((d) => `${DUTY_NAMES[d.duty] || d.duty} ${d.name}`);
    ui.meta.replaceChildren(
      ...[
        h('span', { text: `${KIND_NAMES[p.kind] || LEVEL_NAMES[p.level] || p.level} · ${p.code}` }),
        h('span', { text: `下级网格 ${cv.children} 个` }),
        p.households ? h('span', { text: `住户 ${count(p.households)} 户` }) : null,
        duty.length ? h('span', { text: duty.join(' · ') }) : null,
        h('span', { class: 'cov-checked', text: `核查于 ${clock(cv.checked_at)}` }),
      ].filter(Boolean),
    );
    ui.links.replaceChildren();
    const village = p.level === 'village' ? p.code : p.level === 'household' ? p.code.slice(0, 12) : null;
    if (village) {
      ui.links.append(h('a', { href: villageHref(village), 'data-link': '', 'data-testid': 'contact-map-link', text: '党员联系群众网格图 →' }));
    }
  }

  #renderCounts(cv) {
    let total = 0;
    for (const d of DEFECTS) {
      const n = (cv[d.key] || []).length;
      total += n;
      const { value, tile } = this.ui.countEls[d.key];
      value.textContent = String(n);
      tile.classList.toggle('has-defects', n > 0);
      tile.disabled = n === 0;
    }
    this.ui.counts.classList.toggle('all-clear', total === 0);
    const load = cv.party_member_load || {};
    this.ui.members.textContent = String(load.members ?? 0);
    this.ui.outliers.textContent = String((load.outliers || []).length);
  }

  #select(key) {
    this.selected = key;
    const { ui, cv } = this;
    for (const d of DEFECTS) ui.countEls[d.key].tile.classList.toggle('selected', d.key === key);
    ui.list.replaceChildren();
    if (!key) {
      ui.listTitle.textContent = '未发现覆盖问题';
      ui.list.append(h('li', { class: 'empty', text: '无缺口、重叠、超界，责任人在岗，住户均在网格内并有党员联系。' }));
      return;
    }
    const d = DEFECTS.find((x) => x.key === key);
    const items = cv[key] || [];
    const features = cv.layers?.[key]?.features || [];
    ui.listTitle.textContent = `${d.label}（${items.length}）`;
    items.slice(0, 500).forEach((it, i) => {
      const v = d.item(it, i);
      ui.list.append(h('li', { class: 'clickable', onclick: () => this.#flyTo(features[i]?.geometry, v.point, `${key}:${i}`) },
        h('span', { class: 'cov-item-title', text: v.title }), h('span', { class: 'cov-item-sub', text: v.sub || '' })));
    });
    if (items.length > 500) ui.list.append(h('li', { class: 'empty', text: `另有 ${items.length - 500} 项未列出` }));
  }

  // flyTo shows a geometry (or a point) on the map and outlines it; the map
  // element's data-focus names what is shown, for tests.
  #flyTo(geometry, point, what = '') {
    if (!this.map) return;
    this.ui.map.dataset.focus = what;
    this.map.getSource('focus').setData(geometry ? { type: 'Feature', geometry, properties: {} } : EMPTY);
    if (geometry?.type === 'Point') {
      this.map.flyTo({ center: geometry.coordinates, zoom: Math.max(this.map.getZoom(), 16), duration: 800 });
      return;
    }
    const box = geometry ? bboxOfGeometry(geometry) : null;
    if (box) this.map.fitBounds(box, { padding: 80, maxZoom: 17, duration: 800 });
    else if (point) this.map.flyTo({ center: point, zoom: Math.max(this.map.getZoom(), 15), duration: 800 });
  }

  #renderLoad(all) {
    const { ui } = this;
    const load = this.cv?.party_member_load || {};
    const loads = load.loads || [];
    ui.loadStats.replaceChildren();
    if (loads.length) {
      ui.loadStats.append(
        h('span', { text: `联系户 ${count(load.households)} 户` }),
        h('span', { text: `人均 ${load.mean.toFixed(1)} 户` }),
        h('span', { text: `标准差 ${load.sd.toFixed(1)}` }),
        h('span', { text: `正常范围 ${Math.max(0, load.low).toFixed(1)}–${load.high.toFixed(1)} 户` }));
    }
    ui.loadBody.replaceChildren();
    // The outliers first, then the rest, most households first.
    const isOutlier = (m) => load.sd > 0 && Math.abs(m.z) > 2;
    const rows = [...loads.filter(isOutlier), ...loads.filter((m) => !isOutlier(m))];
    const shown = all ? rows : rows.slice(0, LOAD_ROWS);
    for (const m of shown) {
      const out = isOutlier(m);
      ui.loadBody.append(h('tr', { class: out ? `outlier ${m.z > 0 ? 'high' : 'low'}` : '', 'data-person-id': m.person_id, onclick: () => this.#flyToGrids(m.grid_codes) },
        h('td', { text: m.name }), h('td', { class: 'phone', text: m.phone || '' }), h('td', { class: 'num', text: String(m.households) }),
        h('td', { class: 'num', text: load.sd > 0 ? `${m.z > 0 ? '+' : ''}${m.z.toFixed(1)}σ` : '—' }),
        h('td', { class: 'codes', title: (m.grid_codes || []).join(' '), text: (m.grid_codes || []).map((c) => c.slice(-3)).join(' ') || '—' })));
    }
    if (!loads.length) ui.loadBody.append(h('tr', {}, h('td', { colspan: 5, class: 'empty', text: '没有党员' })));
    ui.loadMore.hidden = all || rows.length <= LOAD_ROWS;
    ui.loadMore.textContent = `显示全部 ${rows.length} 名党员`;
  }

  async #flyToGrids(codes) {
    if (!codes?.length) return;
    try {
      const f = await api.grid(codes[0]);
      this.#flyTo(f.geometry, null, `grid:${codes[0]}`);
    } catch {
      // out of reach: nothing to show
    }
  }

  async #draw(cv, pf, children) {
    const m = this.map;
    const L = cv.layers || {};
    m.getSource('parent').setData({ type: 'FeatureCollection', features: [pf] });
    m.getSource('children').setData(children || EMPTY);
    for (const key of ['gaps', 'overlaps', 'outside_parent', 'unstaffed', 'households_outside', 'households_without_party_member']) {
      m.getSource(key).setData(L[key] || EMPTY);
    }
    const load = L.party_member_load || EMPTY;
    m.getSource('party_member_load').setData({ ...load, features: (load.features || []).filter((f) => f.geometry) });
    m.getSource('focus').setData(EMPTY);
    for (const mk of this.markers) mk.remove();
    this.markers = [];
    const kids = children?.features || [];
    if (kids.length <= 120) {
      for (const f of kids) {
        const at = labelPoint(f.geometry);
        if (!at) continue;
        const el = h('div', { class: 'grid-label label-child', text: shortName(f.properties.name) });
        this.markers.push(new Marker({ element: el, anchor: 'center' }).setLngLat(at).addTo(m));
      }
    }
    const box = bboxOf({ features: [pf] });
    if (box) m.fitBounds(box, { padding: 40, duration: 0 });
    await idle(m);
  }

  destroy() {
    this.destroyed = true;
    this.loadSeq++;
    for (const mk of this.markers) mk.remove();
    this.map?.remove();
    clear(this.view);
  }
}

// GridMap is the wall map: the grid hierarchy (district > townships >
// villages from the API, household grids from this server's vector tiles
// as you zoom in), every grid shaded by its open-whistle load, and the open
// whistles as dots coloured by grade, with a pulsing ring on the new and
// the overdue ones; on demand the 未诉先办 hot spots as H3 hexagons
// coloured by their emerging class. Labels and rings are HTML markers: there is no glyph
// server and no sprite.
import { Marker, Popup } from 'maplibre-gl';
import { EMPTY, createMap, idle, loaded } from './basemap.js';
import { escapeHTML } from './dom.js';
import { className, colorExpression as hotspotColors } from './hotspots.js';
import { bboxOf, labelPoint, pointInPolygon, polygonsOf, ringArea } from './geometry.js';
import { GRADE_NAMES, KIND_NAMES, LEVEL_NAMES, STATUS_NAMES, shortName } from './names.js';
import { GRADE_COLORS, LOAD_COLORS, OVERDUE_COLOR, loadBreaks, loadClass } from './palette.js';

/** VILLAGE_MINZOOM is the zoom from which village outlines (and their load) are drawn. */
export const VILLAGE_MINZOOM = 10.5;
/** VILLAGE_LABEL_MINZOOM is the zoom from which village names are shown. */
export const VILLAGE_LABEL_MINZOOM = 11.8;
/** HOUSEHOLD_MINZOOM is the zoom from which household grids come from the tiles. */
export const HOUSEHOLD_MINZOOM = 13;
/** MAX_PULSES caps the HTML rings, so a backlog of overdue whistles cannot stall the page. */
export const MAX_PULSES = 300;

/**
 * townshipColors gives each township a fill (muted) and an outline (bright)
 * colour of the same hue; hues step by the golden angle in code order, so
 * neighbours in the code list never look alike and colours stay stable.
 */
function townshipColors(index) {
  const hue = Math.round((index * 137.508 + 200) % 360);
  return {
    fill: `hsl(${hue}, 32%, 24%)`,
    outline: `hsl(${hue}, 90%, 70%)`,
  };
}

// The fill of a grid by its feature-state cls (the load class, 1 to 4).
const loadRamp = (fallback) => {
  const expr = ['match', ['coalesce', ['feature-state', 'cls'], 0]];
  LOAD_COLORS.forEach((c, i) => expr.push(i + 1, c));
  expr.push(fallback);
  return expr;
};

function labelElement(text, cls) {
  const el = document.createElement('div');
  el.className = `grid-label ${cls}`;
  el.textContent = text;
  return el;
}

export class GridMap {
  /**
   * container is the element the map fills; onWhistleClick(id) is called
   * when a whistle is clicked.
   */
  constructor(container, { onWhistleClick = () => {}, onLegend = () => {} } = {}) {
    this.container = container;
    this.onWhistleClick = onWhistleClick;
    this.onLegend = onLegend; // (level, breaks): the load classes of the level in view
    this.map = createMap(container);
    this.townshipMarkers = []; // {marker, area}, largest township first
    this.villageLabels = []; // {code, lngLat, name, marker|null}
    this.hovered = null;
    this.names = new Map(); // grid code → name, for the popup's parent
    this.boxes = new Map(); // township code → bbox
    this.districtBox = null;
    this.loads = { townships: new Map(), villages: new Map() };
    this.pulses = new Map(); // whistle id → {marker, key}
    this.loaded = loaded(this.map).then(() => this.#addLayers());
  }

  #addLayers() {
    const m = this.map;
    m.addSource('district', { type: 'geojson', data: EMPTY });
    m.addSource('townships', { type: 'geojson', data: EMPTY, promoteId: 'code' });
    m.addSource('villages', { type: 'geojson', data: EMPTY, promoteId: 'code' });
    m.addSource('households', {
      type: 'vector',
      tiles: [`${location.origin}/tiles/household/{z}/{x}/{y}.mvt`],
      minzoom: 12,
      maxzoom: 16,
    });
    m.addSource('whistles', { type: 'geojson', data: EMPTY, promoteId: 'id' });
    m.addSource('hotspots', { type: 'geojson', data: EMPTY, promoteId: 'cell' });

    m.addLayer({
      id: 'district-fill',
      type: 'fill',
      source: 'district',
      paint: { 'fill-color': '#0d1a30', 'fill-opacity': 1 },
    });
    m.addLayer({
      id: 'township-fill',
      type: 'fill',
      source: 'townships',
      paint: {
        'fill-color': loadRamp(['get', 'fill']),
        'fill-opacity': [
          'interpolate',
          ['linear'],
          ['zoom'],
          VILLAGE_MINZOOM,
          ['case', ['boolean', ['feature-state', 'hover'], false], 0.95, 0.75],
          VILLAGE_MINZOOM + 1,
          0.3,
        ],
      },
    });
    m.addLayer({
      id: 'village-fill',
      type: 'fill',
      source: 'villages',
      minzoom: VILLAGE_MINZOOM,
      paint: {
        'fill-color': loadRamp('#e2e8f0'),
        'fill-opacity': [
          'case',
          ['>', ['coalesce', ['feature-state', 'cls'], 0], 0],
          0.7,
          ['boolean', ['feature-state', 'hover'], false],
          0.16,
          0,
        ],
      },
    });
    m.addLayer({
      id: 'household-line',
      type: 'line',
      source: 'households',
      'source-layer': 'household',
      minzoom: HOUSEHOLD_MINZOOM,
      paint: {
        'line-color': 'rgba(148, 163, 184, 0.55)',
        'line-width': ['interpolate', ['linear'], ['zoom'], HOUSEHOLD_MINZOOM, 0.4, 16, 1.2],
        'line-dasharray': [3, 2],
      },
    });
    m.addLayer({
      id: 'village-line',
      type: 'line',
      source: 'villages',
      minzoom: VILLAGE_MINZOOM,
      paint: {
        'line-color': 'rgba(203, 213, 225, 0.5)',
        'line-width': ['interpolate', ['linear'], ['zoom'], VILLAGE_MINZOOM, 0.4, 14, 1.4],
      },
    });
    m.addLayer({
      id: 'township-line',
      type: 'line',
      source: 'townships',
      layout: { 'line-join': 'round' },
      paint: {
        'line-color': ['get', 'outline'],
        'line-width': ['interpolate', ['linear'], ['zoom'], 8, 1, 12, 2.2, 15, 3],
      },
    });
    m.addLayer({
      id: 'district-glow',
      type: 'line',
      source: 'district',
      layout: { 'line-join': 'round' },
      paint: { 'line-color': '#38bdf8', 'line-width': 10, 'line-blur': 8, 'line-opacity': 0.55 },
    });
    m.addLayer({
      id: 'district-line',
      type: 'line',
      source: 'district',
      layout: { 'line-join': 'round' },
      paint: { 'line-color': '#bae6fd', 'line-width': 2.5 },
    });
    m.addLayer({
      id: 'hotspot-fill',
      type: 'fill',
      source: 'hotspots',
      layout: { visibility: 'none' },
      paint: {
        'fill-color': hotspotColors(),
        'fill-opacity': ['case', ['boolean', ['feature-state', 'hover'], false], 0.85, 0.6],
      },
    });
    m.addLayer({
      id: 'hotspot-line',
      type: 'line',
      source: 'hotspots',
      layout: { visibility: 'none' },
      paint: { 'line-color': hotspotColors(), 'line-width': ['interpolate', ['linear'], ['zoom'], 9, 0.5, 14, 1.5] },
    });
    m.addLayer({
      id: 'whistle-dot',
      type: 'circle',
      source: 'whistles',
      paint: {
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 8, 5, 12, 8, 16, 11],
        'circle-color': ['match', ['get', 'grade'], 'hard', GRADE_COLORS.hard, 'priority', GRADE_COLORS.priority, GRADE_COLORS.routine],
        'circle-stroke-color': [
          'case',
          ['boolean', ['feature-state', 'selected'], false],
          '#ffffff',
          ['get', 'overdue'],
          OVERDUE_COLOR,
          '#0b1220',
        ],
        'circle-stroke-width': ['case', ['boolean', ['feature-state', 'selected'], false], 4, ['get', 'overdue'], 3, 1.5],
      },
    });

    m.on('mousemove', (e) => this.#hover(e));
    m.on('mouseout', () => this.#setHover(null));
    m.on('click', (e) => this.#click(e));
    m.on('zoom', () => {
      this.#toggleVillageLabelClass();
      this.#legend();
    });
    m.on('moveend', () => {
      this.#updateVillageLabels();
      this.#declutterTownshipLabels();
    });
  }

  #pickWhistle(point) {
    const [x, y] = [point.x, point.y];
    const box = [
      [x - 6, y - 6],
      [x + 6, y + 6],
    ];
    return this.map.queryRenderedFeatures(box, { layers: ['whistle-dot'] })[0] || null;
  }

  #pickHotspot(point) {
    if (!this.hotspotsShown) return null;
    return this.map.queryRenderedFeatures(point, { layers: ['hotspot-fill'] })[0] || null;
  }

  #pick(point) {
    const layers = this.map.getZoom() >= VILLAGE_MINZOOM ? ['village-fill', 'township-fill'] : ['township-fill'];
    return this.map.queryRenderedFeatures(point, { layers })[0] || null;
  }

  #setHover(f) {
    const key = f ? `${f.source}/${f.id}` : null;
    if (this.hovered?.key === key) return;
    if (this.hovered) this.map.setFeatureState(this.hovered, { hover: false });
    this.hovered = f ? { source: f.source, id: f.id, key } : null;
    if (this.hovered) this.map.setFeatureState(this.hovered, { hover: true });
  }

  #hover(e) {
    const w = this.#pickWhistle(e.point);
    this.#setHover(w ? null : this.#pickHotspot(e.point) || this.#pick(e.point));
    this.map.getCanvas().style.cursor = w || this.hovered ? 'pointer' : '';
  }

  #click(e) {
    const w = this.#pickWhistle(e.point);
    if (w) {
      this.onWhistleClick(Number(w.properties.id));
      return;
    }
    const hs = this.#pickHotspot(e.point);
    if (hs) {
      this.#hotspotPopup(e.lngLat, hs.properties || {});
      return;
    }
    const f = this.#pick(e.point);
    if (!f) return;
    const p = f.properties || {};
    const parent = p.parent_code ? this.names.get(p.parent_code) : '';
    const load = f.state?.load || (f.source === 'townships' ? this.loads.townships.get(p.code) : this.loads.villages.get(p.code)) || 0;
    const html = `
      <div class="grid-popup">
        <div class="grid-popup-name">${escapeHTML(p.name)}</div>
        <dl>
          <dt>类型</dt><dd>${escapeHTML(KIND_NAMES[p.kind] || LEVEL_NAMES[p.level] || p.kind || p.level)}</dd>
          <dt>编码</dt><dd>${escapeHTML(p.code)}</dd>
          ${parent ? `<dt>上级</dt><dd>${escapeHTML(parent)}</dd>` : ''}
          <dt>在办哨单</dt><dd>${load}</dd>
        </dl>
      </div>`;
    new Popup({ closeButton: true, maxWidth: '280px' }).setLngLat(e.lngLat).setHTML(html).addTo(this.map);
  }

  #hotspotPopup(lngLat, p) {
    const village = this.villageOf(lngLat.lng, lngLat.lat);
    const html = `
      <div class="grid-popup hotspot-popup">
        <div class="grid-popup-name">${escapeHTML(className(p.class))}</div>
        <dl>
          ${village ? `<dt>位置</dt><dd>${escapeHTML(this.names.get(village) || village)}</dd>` : ''}
          <dt>线索</dt><dd>${Number(p.count) || 0} 条</dd>
          <dt>热点周数</dt><dd>${Number(p.weeks_hot) || 0}</dd>
          <dt>Gi* z</dt><dd>${Number(p.z).toFixed(1)}</dd>
          <dt>p 值</dt><dd>${Number(p.p).toPrecision(2)}</dd>
          <dt>H3</dt><dd>${escapeHTML(p.cell)}</dd>
        </dl>
      </div>`;
    new Popup({ closeButton: true, maxWidth: '280px' }).setLngLat(lngLat).setHTML(html).addTo(this.map);
  }

  /**
   * setHotspots draws the hotspot analysis (GeoJSON hexagons with a class
   * property; null clears it) and resolves with how many hexagons the map
   * rendered once it has drawn them (0 while the layer is hidden).
   */
  async setHotspots(fc) {
    await this.loaded;
    const src = this.map.getSource('hotspots');
    if (!src) return 0;
    src.setData(fc || EMPTY);
    return this.#renderedHotspots();
  }

  /** showHotspots shows or hides the hotspot layer; it resolves like setHotspots. */
  async showHotspots(on) {
    await this.loaded;
    this.hotspotsShown = Boolean(on);
    for (const id of ['hotspot-fill', 'hotspot-line']) this.map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none');
    return this.#renderedHotspots();
  }

  async #renderedHotspots() {
    await idle(this.map);
    return this.hotspotsShown ? this.map.queryRenderedFeatures({ layers: ['hotspot-fill'] }).length : 0;
  }

  #toggleVillageLabelClass() {
    this.container.classList.toggle('show-village-labels', this.map.getZoom() >= VILLAGE_LABEL_MINZOOM);
  }

  // Village names are many (431 in 延庆区): only those in or near the view
  // get a marker, so panning a zoomed-in map moves a few dozen elements.
  #updateVillageLabels() {
    const show = this.map.getZoom() >= VILLAGE_LABEL_MINZOOM;
    let bounds = null;
    if (show) {
      const b = this.map.getBounds();
      const padX = (b.getEast() - b.getWest()) * 0.25;
      const padY = (b.getNorth() - b.getSouth()) * 0.25;
      bounds = [b.getWest() - padX, b.getSouth() - padY, b.getEast() + padX, b.getNorth() + padY];
    }
    for (const v of this.villageLabels) {
      const inView =
        show && v.lngLat[0] >= bounds[0] && v.lngLat[0] <= bounds[2] && v.lngLat[1] >= bounds[1] && v.lngLat[1] <= bounds[3];
      if (inView && !v.marker) {
        v.marker = new Marker({ element: labelElement(v.name, 'label-village'), anchor: 'center' })
          .setLngLat(v.lngLat)
          .addTo(this.map);
      } else if (!inView && v.marker) {
        v.marker.remove();
        v.marker = null;
      }
    }
    this.#toggleVillageLabelClass();
  }

  // At the district view the three small subdistricts in the town centre
  // would print their names on top of each other: hide a township's name
  // when it would overlap the name of a larger township. Zooming in shows it.
  #declutterTownshipLabels() {
    const placed = [];
    for (const { marker } of this.townshipMarkers) {
      const el = marker.getElement();
      const p = this.map.project(marker.getLngLat());
      const w = el.offsetWidth / 2 + 4;
      const h = el.offsetHeight / 2 + 2;
      const box = [p.x - w, p.y - h, p.x + w, p.y + h];
      const hit = placed.some((b) => box[0] < b[2] && box[2] > b[0] && box[1] < b[3] && box[3] > b[1]);
      el.classList.toggle('label-hidden', hit);
      if (!hit) placed.push(box);
    }
  }

  #clearLabels() {
    for (const { marker: mk } of this.townshipMarkers) mk.remove();
    for (const v of this.villageLabels) v.marker?.remove();
    this.townshipMarkers = [];
    this.villageLabels = [];
  }

  /**
   * draw replaces the grids on the map with the given FeatureCollections,
   * fits the view to the district (or to the townships when the caller's
   * jurisdiction holds no district), and resolves once the map has rendered
   * them. It returns the number of township and village features drawn.
   */
  async draw({ district, townships, villages }) {
    await this.loaded;
    this.#setHover(null);
    this.#clearLabels();
    district = district || EMPTY;
    townships = townships || EMPTY;
    villages = villages || EMPTY;

    this.names = new Map();
    for (const fc of [district, townships, villages]) {
      for (const f of fc.features) this.names.set(f.properties?.code ?? f.id, f.properties?.name);
    }
    this.villageFeatures = villages.features;

    const sorted = [...townships.features].sort((a, b) =>
      String(a.properties?.code).localeCompare(String(b.properties?.code)),
    );
    const coloured = {
      type: 'FeatureCollection',
      features: sorted.map((f, i) => ({ ...f, properties: { ...f.properties, ...townshipColors(i) } })),
    };
    this.boxes = new Map();
    for (const f of sorted) {
      const box = bboxOf({ features: [f] });
      if (box) this.boxes.set(f.properties.code, box);
    }

    this.map.getSource('district').setData(district);
    this.map.getSource('townships').setData(coloured);
    this.map.getSource('villages').setData(villages);

    for (const f of coloured.features) {
      const at = labelPoint(f.geometry);
      if (!at) continue;
      const el = labelElement(f.properties.name, 'label-township');
      el.style.setProperty('--accent', f.properties.outline);
      const marker = new Marker({ element: el, anchor: 'center' }).setLngLat(at).addTo(this.map);
      const area = polygonsOf(f.geometry).reduce((sum, p) => sum + ringArea(p[0]), 0);
      this.townshipMarkers.push({ marker, area });
    }
    for (const f of villages.features) {
      const at = labelPoint(f.geometry);
      if (at) this.villageLabels.push({ code: f.properties?.code, name: shortName(f.properties?.name), lngLat: at, marker: null });
    }

    this.districtBox = bboxOf(district.features.length ? district : townships.features.length ? townships : villages);
    this.fitAll();
    this.townshipMarkers.sort((a, b) => b.area - a.area);
    this.#updateVillageLabels();
    this.#declutterTownshipLabels();
    this.#applyLoads();
    await idle(this.map);
    return { townships: townships.features.length, villages: villages.features.length };
  }

  /** fitAll fits the view to everything drawn. */
  fitAll({ animate = false } = {}) {
    if (this.districtBox) this.map.fitBounds(this.districtBox, { padding: 32, duration: animate ? 800 : 0 });
  }

  /** fitTownship fits the view to one township ("" for the whole map). */
  fitTownship(code) {
    const box = code ? this.boxes.get(code) : null;
    if (box) this.map.fitBounds(box, { padding: 48, duration: 800 });
    else this.fitAll({ animate: true });
  }

  /** flyTo centres the map on a point at a street-level zoom. */
  flyTo(lon, lat, zoom = 14) {
    this.map.flyTo({ center: [lon, lat], zoom: Math.max(this.map.getZoom(), zoom), duration: 900 });
  }

  /** setLoads shades townships and villages by their open whistles (Map code → count). */
  setLoads({ townships, villages }) {
    this.loads = { townships: townships || new Map(), villages: villages || new Map() };
    this.#applyLoads();
  }

  #applyLoads() {
    if (!this.map.getSource('townships')) return;
    this.breaks = {};
    for (const [source, loads] of [
      ['townships', this.loads.townships],
      ['villages', this.loads.villages],
    ]) {
      const breaks = loadBreaks(loads.values());
      this.breaks[source] = breaks;
      this.map.removeFeatureState({ source });
      for (const [code, n] of loads) this.map.setFeatureState({ source, id: code }, { load: n, cls: loadClass(n, breaks) });
    }
    if (this.hovered) this.map.setFeatureState(this.hovered, { hover: true });
    this.legendKey = null;
    this.#legend();
  }

  // Tell the page which load classes the map shows: the villages' from
  // VILLAGE_MINZOOM, else the townships'.
  #legend() {
    if (!this.breaks) return;
    const level = this.map.getZoom() >= VILLAGE_MINZOOM ? 'villages' : 'townships';
    const key = `${level}:${this.breaks[level].join(',')}`;
    if (key === this.legendKey) return;
    this.legendKey = key;
    this.onLegend(level, this.breaks[level]);
  }

  /**
   * villageOf returns the code of the drawn village that covers a point,
   * or null: how a snapshot whistle, which carries only its township, is
   * counted in its village.
   */
  villageOf(lon, lat) {
    if (!this.villageFeatures || lon === null || lat === null) return null;
    if (!this.villageIndex) {
      this.villageIndex = this.villageFeatures.map((f) => ({ code: f.properties?.code, box: bboxOf({ features: [f] }), polys: polygonsOf(f.geometry) }));
    }
    for (const v of this.villageIndex) {
      const b = v.box;
      if (!b || lon < b[0] || lon > b[2] || lat < b[1] || lat > b[3]) continue;
      if (v.polys.some((p) => pointInPolygon(p, [lon, lat]))) return v.code;
    }
    return null;
  }

  /**
   * setWhistles draws the open whistles ({id, lon, lat, grade, status,
   * overdue, pulse}); those with pulse get a pulsing ring (new: the grade's
   * colour; overdue: red).
   */
  setWhistles(list) {
    if (!this.map.getSource('whistles')) return;
    const features = [];
    const want = new Map();
    for (const w of list) {
      if (w.lon === null || w.lat === null) continue;
      features.push({
        type: 'Feature',
        id: w.id,
        geometry: { type: 'Point', coordinates: [w.lon, w.lat] },
        properties: { id: w.id, grade: w.grade, status: w.status, overdue: Boolean(w.overdue) },
      });
      if (w.pulse && want.size < MAX_PULSES) want.set(w.id, w);
    }
    this.map.getSource('whistles').setData({ type: 'FeatureCollection', features });
    for (const [id, p] of this.pulses) {
      if (!want.has(id)) {
        p.marker.remove();
        this.pulses.delete(id);
      }
    }
    for (const [id, w] of want) {
      const cls = `whistle-pulse grade-${w.grade}${w.overdue ? ' is-overdue' : ''}`;
      const have = this.pulses.get(id);
      if (have) {
        if (have.cls !== cls) have.marker.getElement().className = cls;
        have.cls = cls;
        have.marker.setLngLat([w.lon, w.lat]);
        continue;
      }
      const el = document.createElement('div');
      el.className = cls;
      el.title = `${GRADE_NAMES[w.grade] || ''} ${STATUS_NAMES[w.status] || ''}`;
      el.dataset.whistleId = String(id);
      const marker = new Marker({ element: el, anchor: 'center' }).setLngLat([w.lon, w.lat]).addTo(this.map);
      this.pulses.set(id, { marker, cls });
    }
  }

  /** select marks one whistle (null: none) with a white ring, e.g. while its trail is open. */
  select(id) {
    if (!this.map.getSource('whistles')) return;
    if (this.selected !== undefined && this.selected !== null) this.map.setFeatureState({ source: 'whistles', id: this.selected }, { selected: false });
    this.selected = id;
    if (id !== null && id !== undefined) this.map.setFeatureState({ source: 'whistles', id }, { selected: true });
  }

  /** clear removes all grids, whistles and labels, e.g. after logout. */
  clear() {
    this.#clearLabels();
    for (const p of this.pulses.values()) p.marker.remove();
    this.pulses.clear();
    if (!this.map.getSource('district')) return;
    for (const id of ['district', 'townships', 'villages', 'whistles', 'hotspots']) this.map.getSource(id).setData(EMPTY);
  }

  resize() {
    this.map.resize();
  }

  /** remove destroys the map. */
  remove() {
    this.clear();
    this.map.remove();
  }
}

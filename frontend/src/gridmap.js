// GridMap draws the grid hierarchy (district > townships > villages) on a
// MapLibre map with a blank style: no tile server, no glyphs, no sprite. The
// polygons from the API are the whole map, and labels are HTML markers because
// MapLibre's symbol layers would need a glyph server.
import { Map as MapLibreMap, Marker, NavigationControl, Popup, ScaleControl, setWorkerUrl } from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
// MapLibre 6 finds its worker next to its own module, which a bundle moves;
// Vite's ?worker&url bundles the worker (and its shared chunk) and names it.
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?worker&url';
import { bboxOf, labelPoint, polygonsOf, ringArea } from './geometry.js';
import { KIND_NAMES, LEVEL_NAMES, shortName } from './names.js';

setWorkerUrl(workerUrl);

/** VILLAGE_MINZOOM is the zoom from which village outlines are drawn. */
export const VILLAGE_MINZOOM = 10.5;
/** VILLAGE_LABEL_MINZOOM is the zoom from which village names are shown. */
export const VILLAGE_LABEL_MINZOOM = 11.8;

const EMPTY = { type: 'FeatureCollection', features: [] };

const BLANK_STYLE = {
  version: 8,
  name: 'whistlegrid-blank',
  sources: {},
  layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#070d1a' } }],
};

/**
 * townshipColors gives each township a fill (muted) and an outline (bright)
 * colour of the same hue; hues step by the golden angle in code order, so
 * neighbours in the code list never look alike and colours stay stable.
 */
function townshipColors(index) {
  const hue = Math.round((index * 137.508 + 200) % 360);
  return {
    fill: `hsl(${hue}, 32%, 26%)`,
    outline: `hsl(${hue}, 90%, 70%)`,
  };
}

function labelElement(text, cls) {
  const el = document.createElement('div');
  el.className = `grid-label ${cls}`;
  el.textContent = text;
  return el;
}

function escapeHTML(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export class GridMap {
  /** container is the element the map fills. */
  constructor(container) {
    this.container = container;
    this.map = new MapLibreMap({
      container,
      style: BLANK_STYLE,
      center: [116.1, 40.52],
      zoom: 9,
      minZoom: 7,
      maxZoom: 17,
      attributionControl: false,
      dragRotate: false,
      pitchWithRotate: false,
      fadeDuration: 0,
    });
    this.map.touchZoomRotate.disableRotation();
    this.map.addControl(new NavigationControl({ showCompass: false }), 'bottom-right');
    this.map.addControl(new ScaleControl({ unit: 'metric' }), 'bottom-left');
    this.townshipMarkers = []; // {marker, area}, largest township first
    this.villageLabels = []; // {code, lngLat, name, marker|null}
    this.hovered = null;
    this.names = new Map(); // grid code → name, for the popup's parent
    this.loaded = new Promise((resolve) =>
      this.map.once('load', () => {
        this.#addLayers();
        resolve();
      }),
    );
  }

  #addLayers() {
    const m = this.map;
    m.addSource('district', { type: 'geojson', data: EMPTY });
    m.addSource('townships', { type: 'geojson', data: EMPTY, promoteId: 'code' });
    m.addSource('villages', { type: 'geojson', data: EMPTY, promoteId: 'code' });

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
        'fill-color': ['get', 'fill'],
        'fill-opacity': ['case', ['boolean', ['feature-state', 'hover'], false], 0.95, 0.7],
      },
    });
    m.addLayer({
      id: 'village-fill',
      type: 'fill',
      source: 'villages',
      minzoom: VILLAGE_MINZOOM,
      paint: {
        'fill-color': '#e2e8f0',
        'fill-opacity': ['case', ['boolean', ['feature-state', 'hover'], false], 0.16, 0],
      },
    });
    m.addLayer({
      id: 'village-line',
      type: 'line',
      source: 'villages',
      minzoom: VILLAGE_MINZOOM,
      paint: {
        'line-color': 'rgba(203, 213, 225, 0.45)',
        'line-width': ['interpolate', ['linear'], ['zoom'], VILLAGE_MINZOOM, 0.4, 14, 1.2],
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

    m.on('mousemove', (e) => this.#hover(e));
    m.on('mouseout', () => this.#setHover(null));
    m.on('click', (e) => this.#click(e));
    m.on('zoom', () => this.#toggleVillageLabelClass());
    m.on('moveend', () => {
      this.#updateVillageLabels();
      this.#declutterTownshipLabels();
    });
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
    this.map.getCanvas().style.cursor = f ? 'pointer' : '';
  }

  #hover(e) {
    this.#setHover(this.#pick(e.point));
  }

  #click(e) {
    const f = this.#pick(e.point);
    if (!f) return;
    const p = f.properties || {};
    const parent = p.parent_code ? this.names.get(p.parent_code) : '';
    const html = `
      <div class="grid-popup">
        <div class="grid-popup-name">${escapeHTML(p.name)}</div>
        <dl>
          <dt>类型</dt><dd>${escapeHTML(KIND_NAMES[p.kind] || LEVEL_NAMES[p.level] || p.kind || p.level)}</dd>
          <dt>编码</dt><dd>${escapeHTML(p.code)}</dd>
          ${parent ? `<dt>上级</dt><dd>${escapeHTML(parent)}</dd>` : ''}
        </dl>
      </div>`;
    new Popup({ closeButton: true, maxWidth: '280px' }).setLngLat(e.lngLat).setHTML(html).addTo(this.map);
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
        show &&
        v.lngLat[0] >= bounds[0] &&
        v.lngLat[0] <= bounds[2] &&
        v.lngLat[1] >= bounds[1] &&
        v.lngLat[1] <= bounds[3];
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
   * draw replaces what is on the map with the given FeatureCollections, fits
   * the view to the district (or to the townships when the caller's
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

    const sorted = [...townships.features].sort((a, b) =>
      String(a.properties?.code).localeCompare(String(b.properties?.code)),
    );
    const coloured = {
      type: 'FeatureCollection',
      features: sorted.map((f, i) => ({ ...f, properties: { ...f.properties, ...townshipColors(i) } })),
    };

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

    const box = bboxOf(district.features.length ? district : townships.features.length ? townships : villages);
    if (box) this.map.fitBounds(box, { padding: 32, duration: 0 });
    this.townshipMarkers.sort((a, b) => b.area - a.area);
    this.#updateVillageLabels();
    this.#declutterTownshipLabels();

    // setData makes the sources load again, so the next idle comes after
    // they are parsed and drawn; the repaint makes sure there is a next frame.
    await new Promise((resolve) => {
      this.map.once('idle', resolve);
      this.map.triggerRepaint();
    });
    return { townships: townships.features.length, villages: villages.features.length };
  }

  /** clear removes all grids and labels, e.g. after logout. */
  clear() {
    this.#clearLabels();
    if (!this.map.getSource('district')) return;
    for (const id of ['district', 'townships', 'villages']) this.map.getSource(id).setData(EMPTY);
  }

  resize() {
    this.map.resize();
  }
}

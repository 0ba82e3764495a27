// The one way the pages make a MapLibre map: a blank style (there is no
// tile server, glyph server or sprite; the grids are the map and labels
// are HTML markers), the worker bundled by Vite, the bearer token on this
// origin's vector tiles, and the controls every page has.
import { Map as MapLibreMap, NavigationControl, ScaleControl, setWorkerUrl } from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
// MapLibre 6 finds its worker next to its own module, which a bundle moves;
// Vite's ?worker&url bundles the worker (and its shared chunk) and names it.
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?worker&url';
import { authorizeTiles } from './api.js';

setWorkerUrl(workerUrl);

/** BACKGROUND is the colour of the blank map (the dark wall theme). */
export const BACKGROUND = '#070d1a';

/** EMPTY is an empty GeoJSON FeatureCollection. */
export const EMPTY = Object.freeze({ type: 'FeatureCollection', features: [] });

/**
 * createMap makes a map in container over 延庆区 with the blank style.
 * Options: background (colour), printable (keep the drawing buffer so the
 * canvas prints), and any MapLibre MapOptions.
 */
export function createMap(container, { background = BACKGROUND, printable = false, ...opts } = {}) {
  const map = new MapLibreMap({
    container,
    style: {
      version: 8,
      name: 'whistlegrid-blank',
      sources: {},
      layers: [{ id: 'background', type: 'background', paint: { 'background-color': background } }],
    },
    center: [116.1, 40.52],
    zoom: 9,
    minZoom: 7,
    maxZoom: 18,
    attributionControl: false,
    dragRotate: false,
    pitchWithRotate: false,
    fadeDuration: 0,
    transformRequest: (url) => authorizeTiles(url),
    canvasContextAttributes: printable ? { preserveDrawingBuffer: true, antialias: true } : undefined,
    ...opts,
  });
  map.touchZoomRotate.disableRotation();
  map.addControl(new NavigationControl({ showCompass: false }), 'bottom-right');
  map.addControl(new ScaleControl({ unit: 'metric' }), 'bottom-left');
  // A tile that fails (the server restarting, say) is retried on the next
  // move; it must not fill the console of a wall screen.
  map.on('error', (e) => {
    if (e?.sourceId || /tiles\//.test(String(e?.error?.url || e?.error?.message || ''))) return;
    console.error(e?.error || e);
  });
  return map;
}

/** loaded resolves when the map's style has loaded. */
export function loaded(map) {
  return map.loaded() || map.isStyleLoaded() ? Promise.resolve() : new Promise((resolve) => map.once('load', resolve));
}

/**
 * idle resolves once the map has drawn what it was given: the next idle
 * after a forced repaint (setData parses in the worker, so the first idle
 * comes after it is drawn).
 */
export function idle(map) {
  return new Promise((resolve) => {
    map.once('idle', resolve);
    map.triggerRepaint();
  });
}

// The small map of clues on the workbench and on one case: the village and
// household outlines from this origin's vector tiles (the bearer token is
// added by basemap.js) under the clue points. Called with a map that
// basemap.js made, once its style has loaded.

/** CLUE_COLOR is the colour of a clue point. */
export const CLUE_COLOR = '#fbbf24';

/** addClueLayers adds the outlines and the clue points (a GeoJSON FeatureCollection). */
export function addClueLayers(map, points) {
  const origin = location.origin;
  map.addSource('villages', { type: 'vector', tiles: [`${origin}/tiles/village/{z}/{x}/{y}.mvt`], minzoom: 9, maxzoom: 16 });
  map.addSource('households', { type: 'vector', tiles: [`${origin}/tiles/household/{z}/{x}/{y}.mvt`], minzoom: 12, maxzoom: 16 });
  map.addLayer({ id: 'village-fill', type: 'fill', source: 'villages', 'source-layer': 'village', paint: { 'fill-color': '#0d1a30', 'fill-opacity': 0.9 } });
  map.addLayer({ id: 'village-line', type: 'line', source: 'villages', 'source-layer': 'village', paint: { 'line-color': '#7dd3fc', 'line-width': 1.2 } });
  map.addLayer({
    id: 'household-line', type: 'line', source: 'households', 'source-layer': 'household', minzoom: 13,
    paint: { 'line-color': 'rgba(148, 163, 184, 0.55)', 'line-width': 0.8, 'line-dasharray': [3, 2] },
  });
  map.addSource('clues', { type: 'geojson', data: points });
  map.addLayer({
    id: 'clues', type: 'circle', source: 'clues',
    paint: { 'circle-radius': 7, 'circle-color': CLUE_COLOR, 'circle-stroke-color': '#0b1220', 'circle-stroke-width': 2 },
  });
}

/** fitPoints frames the points (one point: zoom 15 around it). */
export function fitPoints(map, points) {
  const cs = points.features.map((f) => f.geometry.coordinates);
  if (!cs.length) return;
  if (cs.length === 1) {
    map.jumpTo({ center: cs[0], zoom: 15 });
    return;
  }
  const xs = cs.map((c) => c[0]);
  const ys = cs.map((c) => c[1]);
  map.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], { padding: 40, maxZoom: 16, duration: 0 });
}

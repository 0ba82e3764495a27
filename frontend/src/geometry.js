// Pure geometry on GeoJSON (WGS-84 lon/lat, RFC 7946): label points and
// bounding boxes. No map, no DOM, so it can be reasoned about on its own.
import polylabel from 'polylabel';

/** polygonsOf returns the polygons (arrays of rings) of a Polygon or MultiPolygon. */
export function polygonsOf(geometry) {
  if (!geometry) return [];
  if (geometry.type === 'Polygon') return [geometry.coordinates];
  if (geometry.type === 'MultiPolygon') return geometry.coordinates;
  return [];
}

/** ringArea is the planar area of a ring in square degrees, always >= 0. */
export function ringArea(ring) {
  let sum = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    sum += (ring[j][0] - ring[i][0]) * (ring[j][1] + ring[i][1]);
  }
  return Math.abs(sum) / 2;
}

/**
 * labelPoint returns [lon, lat] for a feature's label: the pole of
 * inaccessibility (the inside point farthest from any edge) of its largest
 * polygon, so the label sits inside even a crescent-shaped village.
 * Longitudes are scaled by cos(latitude) first so "farthest" is measured on
 * the ground, not in degrees. Precision is about 20 m.
 */
export function labelPoint(geometry) {
  const polys = polygonsOf(geometry).filter((p) => p.length && p[0].length >= 4);
  if (!polys.length) return null;
  let best = polys[0];
  let bestArea = -1;
  for (const p of polys) {
    const a = ringArea(p[0]);
    if (a > bestArea) {
      best = p;
      bestArea = a;
    }
  }
  const [minX, minY, maxX, maxY] = bboxOfRings(best);
  const k = Math.cos((((minY + maxY) / 2) * Math.PI) / 180);
  const scaled = best.map((ring) => ring.map(([x, y]) => [x * k, y]));
  const p = polylabel(scaled, 0.0002);
  if (!Number.isFinite(p[0]) || !Number.isFinite(p[1])) {
    return [(minX + maxX) / 2, (minY + maxY) / 2];
  }
  return [p[0] / k, p[1]];
}

function bboxOfRings(rings, box = [Infinity, Infinity, -Infinity, -Infinity]) {
  for (const ring of rings) {
    for (const [x, y] of ring) {
      if (x < box[0]) box[0] = x;
      if (y < box[1]) box[1] = y;
      if (x > box[2]) box[2] = x;
      if (y > box[3]) box[3] = y;
    }
  }
  return box;
}

/** bboxOf returns [minLon, minLat, maxLon, maxLat] of a FeatureCollection, or null if empty. */
export function bboxOf(fc) {
  const box = [Infinity, Infinity, -Infinity, -Infinity];
  for (const f of fc?.features || []) {
    for (const p of polygonsOf(f.geometry)) bboxOfRings(p, box);
  }
  return Number.isFinite(box[0]) ? box : null;
}

/**
 * pointInPolygon reports whether [lon, lat] lies inside a polygon (an array
 * of rings, the first the outline, the others holes), by the even-odd rule.
 * Points exactly on an edge may fall either way; the page uses it only to
 * count whistles per village for shading.
 */
export function pointInPolygon(rings, [x, y]) {
  let inside = false;
  for (const ring of rings) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i];
      const [xj, yj] = ring[j];
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
  }
  return inside;
}

/** bboxOfGeometry returns [minLon, minLat, maxLon, maxLat] of any GeoJSON geometry, or null. */
export function bboxOfGeometry(geometry) {
  const box = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      if (c[0] < box[0]) box[0] = c[0];
      if (c[1] < box[1]) box[1] = c[1];
      if (c[0] > box[2]) box[2] = c[0];
      if (c[1] > box[3]) box[3] = c[1];
      return;
    }
    for (const x of c) walk(x);
  };
  if (geometry?.type === 'GeometryCollection') {
    for (const g of geometry.geometries || []) {
      const b = bboxOfGeometry(g);
      if (b) walk([b.slice(0, 2), b.slice(2)]);
    }
  } else if (geometry?.coordinates) {
    walk(geometry.coordinates);
  }
  return Number.isFinite(box[0]) ? box : null;
}

// Checks GeoJSON files as a client would: @placemarkio/check-geojson for
// the RFC 7946 structure, @turf/boolean-clockwise for the right-hand rule
// (exterior rings counter-clockwise, holes clockwise), and at most 6
// decimals in every coordinate. Run by the Go tests (api/geojson_test.go):
//   node scripts/check-geojson.mjs FILE...
// prints one JSON object {FILE: {features, polygons, issues, winding,
// precision}} and exits 1 when any file has a problem.
import { readFileSync } from 'node:fs';
import { getIssues } from '@placemarkio/check-geojson';
import booleanClockwise from '@turf/boolean-clockwise';

function* geometries(g) {
  if (!g) return;
  if (g.type === 'FeatureCollection') for (const f of g.features) yield* geometries(f);
  else if (g.type === 'Feature') yield* geometries(g.geometry);
  else if (g.type === 'GeometryCollection') for (const x of g.geometries) yield* geometries(x);
  else yield g;
}

function* positions(c) {
  if (typeof c[0] === 'number') yield c;
  else for (const x of c) yield* positions(x);
}

const decimals = (v) => (String(v).split('.')[1] || '').replace(/e.*$/, '').length;

const out = {};
let bad = false;
for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, 'utf8');
  const r = { features: 0, polygons: 0, issues: getIssues(text).map((i) => i.message), winding: 0, precision: 0 };
  const doc = JSON.parse(text);
  r.features = doc.type === 'FeatureCollection' ? doc.features.length : 1;
  for (const g of geometries(doc)) {
    const polys = g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : [];
    for (const rings of polys) {
      r.polygons++;
      rings.forEach((ring, i) => {
        if (booleanClockwise(ring) !== (i > 0)) r.winding++;
      });
    }
    for (const p of positions(g.coordinates)) {
      if (p.some((v) => decimals(v) > 6)) r.precision++;
    }
  }
  if (r.issues.length || r.winding || r.precision) bad = true;
  out[file] = r;
}
console.log(JSON.stringify(out));
process.exit(bad ? 1 : 0);

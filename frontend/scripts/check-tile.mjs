// Decodes Mapbox Vector Tiles as a map client does, with @mapbox/vector-tile
// and pbf. Run by the Go tests (api/tilejson_test.go):
//   node scripts/check-tile.mjs FILE:Z:X:Y...
// prints one JSON object {FILE: {LAYER: {features, with_id, ids_unique,
// geometries, properties: {name: count}}}}; a tile that does not decode
// exits 1.
import { readFileSync } from 'node:fs';
import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader as Pbf } from 'pbf';

const out = {};
for (const arg of process.argv.slice(2)) {
  const [file, z, x, y] = arg.split(':');
  const tile = new VectorTile(new Pbf(readFileSync(file)));
  const layers = {};
  for (const [name, layer] of Object.entries(tile.layers)) {
    const l = { features: layer.length, with_id: 0, ids_unique: true, geometries: 0, properties: {} };
    const ids = new Set();
    for (let i = 0; i < layer.length; i++) {
      const f = layer.feature(i);
      if (f.id !== undefined) {
        l.with_id++;
        if (ids.has(f.id)) l.ids_unique = false;
        ids.add(f.id);
      }
      const gj = f.toGeoJSON(Number(x), Number(y), Number(z));
      if (gj.geometry && gj.geometry.coordinates.length) l.geometries++;
      for (const k of Object.keys(f.properties)) l.properties[k] = (l.properties[k] || 0) + 1;
    }
    layers[name] = l;
  }
  out[file] = layers;
}
console.log(JSON.stringify(out));

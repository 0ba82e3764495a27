// Pure helpers of the contact map (village.js), so `npm test` checks them.
import { memberColor } from './palette.js';

/** memberColors maps each party member's person id to its colour, in the order of the list. */
export function memberColors(members) {
  const out = new Map();
  (members || []).forEach((m, i) => out.set(m.person_id, memberColor(i)));
  return out;
}

/** splitRows cuts rows into two columns when there are more than max (for the A4 table). */
export function splitRows(rows, max = 10) {
  if (rows.length <= max) return [rows];
  const half = Math.ceil(rows.length / 2);
  return [rows.slice(0, half), rows.slice(half)];
}

/** STAGES names a villagers' meeting matter's stages (说事 → 议事 → 办事 → 评事). */
export const STAGES = { raised: '说事', discussed: '议事', done: '办事', judged: '评事' };

/** STAGE_COLORS colours a matter's point on the contact map by its stage. */
export const STAGE_COLORS = { raised: '#f59e0b', discussed: '#38bdf8', done: '#22c55e', judged: '#a78bfa' };

/**
 * matterFeatures makes the GeoJSON points of the meetings' matters that
 * have a location, each with its meeting, number, stage, colour and text.
 */
export function matterFeatures(meetings) {
  const features = [];
  for (const mt of meetings || []) {
    for (const m of mt.matters || []) {
      if (!Number.isFinite(m.lon) || !Number.isFinite(m.lat) || (m.lon === 0 && m.lat === 0)) continue;
      features.push({
        type: 'Feature',
        geometry: { type: 'Point', coordinates: [m.lon, m.lat] },
        properties: { meeting: mt.id, n: m.n, stage: m.stage, color: STAGE_COLORS[m.stage] || '#9ca3af', text: m.text, held_at: mt.held_at, risk: !!m.risk },
      });
    }
  }
  return { type: 'FeatureCollection', features };
}

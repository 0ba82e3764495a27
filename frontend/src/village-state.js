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

// Colours that carry meaning: one per party member on the contact map, the
// whistle grades, and the ramp of open-whistle load. Pure.

/**
 * MEMBER_COLORS are 20 colours told apart on a dark screen and on white
 * paper alike (mid lightness, high saturation), ordered so that neighbours
 * in the list differ in hue as much as possible.
 */
export const MEMBER_COLORS = [
  '#e6194b', // red
  '#3cb44b', // green
  '#4363d8', // blue
  '#f58231', // orange
  '#911eb4', // purple
  '#0fa3b1', // teal
  '#d6a300', // mustard
  '#f032e6', // magenta
  '#6b8e23', // olive
  '#9a6324', // brown
  '#1e90ff', // sky
  '#c71585', // plum
  '#2e8b57', // sea green
  '#ff6f61', // coral
  '#5b4bdb', // indigo
  '#b8860b', // dark gold
  '#008080', // dark teal
  '#d2691e', // chocolate
  '#7b68ee', // slate blue
  '#dc143c', // crimson
];

/**
 * memberColor is the colour of the i-th party member (0-based): the list
 * above, then golden-angle hues for villages with more than 20 members.
 */
export function memberColor(i) {
  if (i < MEMBER_COLORS.length) return MEMBER_COLORS[i];
  const hue = Math.round((i * 137.508) % 360);
  return `hsl(${hue}, 70%, 45%)`;
}

/** GRADE_COLORS colour whistles by grade: routine, priority, hard. */
export const GRADE_COLORS = {
  routine: '#38bdf8',
  priority: '#fbbf24',
  hard: '#f43f5e',
};

/** OVERDUE_COLOR rings an overdue whistle. */
export const OVERDUE_COLOR = '#ff2d2d';

/**
 * LOAD_STEPS are the open-whistle counts at which a grid's shading steps
 * up, with the colour from that count on (dark violet to magenta, apart
 * from the grade colours of the whistles drawn on top).
 */
export const LOAD_STEPS = [
  [1, '#4c1d95'],
  [3, '#7e22ce'],
  [6, '#a21caf'],
  [10, '#db2777'],
];

/** loadColor is the shading of a grid with n open whistles, null for none. */
export function loadColor(n) {
  let c = null;
  for (const [from, colour] of LOAD_STEPS) if (n >= from) c = colour;
  return c;
}

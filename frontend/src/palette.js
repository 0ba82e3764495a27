// Colours that carry meaning: one per party member on the contact map, the
// whistle grades, and the ramp of open-whistle load. Pure.

/**
 * MEMBER_COLORS are 20 colours told apart on a dark screen and on white
 * paper alike: mid lightness, and at least ΔE 20 (CIE Lab) between any
 * two, the common ones first.
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
  '#4e10f9', // violet
  '#0f598a', // ink blue
  '#913044', // wine
  '#f92f10', // vermilion
  '#104ef9', // royal blue
  '#23a5e7', // azure
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
 * LOAD_COLORS shade a grid by its class of open-whistle load, classes 1 to
 * 4 (0, no open whistle, keeps the grid's own colour): muted violets, so
 * the whistles' grade colours stay the brightest thing on the map.
 */
export const LOAD_COLORS = ['#2e3375', '#4a2f8f', '#6b2a98', '#8e2584'];

/**
 * loadBreaks returns the upper bounds of the four load classes for the
 * counts of one level (townships, or villages): equal quarters of the
 * largest count, so the busiest grid is always in the top class and a
 * quiet day still shows where the work is. With at most 4 whistles in any
 * grid the classes are 1, 2, 3 and 4.
 */
export function loadBreaks(counts) {
  let max = 0;
  for (const n of counts) if (n > max) max = n;
  if (max <= 4) return [1, 2, 3, 4];
  const out = [1, 2, 3].map((k) => Math.ceil((max * k) / 4));
  out.push(max);
  return out;
}

/** loadClass is the class (0 to 4) of a count under breaks. */
export function loadClass(n, breaks) {
  if (!(n > 0)) return 0;
  for (let k = 0; k < breaks.length; k++) if (n <= breaks[k]) return k + 1;
  return breaks.length;
}

/** loadLabels are the legend's texts of the classes: "1–3", "4–6", …. */
export function loadLabels(breaks) {
  return breaks.map((b, i) => {
    const from = i === 0 ? 1 : breaks[i - 1] + 1;
    return from >= b ? String(b) : `${from}–${b}`;
  });
}

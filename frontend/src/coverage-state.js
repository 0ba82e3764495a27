// The coverage review's vocabulary, pure so `npm test` checks it: the
// defect lists in the order of the panel, how each item reads, and the
// level of a user's own grid.
import { area } from './format.js';
import { DUTY_NAMES, LEVEL_NAMES, shortName } from './names.js';

/**
 * DEFECTS are the lists of a review, in the order of the panel: the key in
 * the answer (and in its layers), the Chinese label, the test id of the
 * count, and how one item reads.
 */
export const DEFECTS = [
  {
    key: 'gaps',
    label: '覆盖缺口',
    hint: '上级网格中没有下级网格覆盖的区域',
    item: (g, i) => ({ title: `缺口 ${i + 1}`, sub: area(g.area_m2), point: g.point }),
  },
  {
    key: 'overlaps',
    label: '网格重叠',
    hint: '两个同级网格重复覆盖的区域',
    item: (o) => ({ title: `${shortName(o.a_name)} × ${shortName(o.b_name)}`, sub: area(o.area_m2), point: o.point }),
  },
  {
    key: 'outside_parent',
    label: '超出上级',
    hint: '下级网格超出上级边界的部分',
    item: (o) => ({ title: shortName(o.name), sub: `超出 ${area(o.area_m2)}`, point: o.point }),
  },
  {
    key: 'unstaffed',
    label: '无人值守',
    hint: '缺少在岗责任人的网格（斜线填充）',
    item: (u) => ({
      title: shortName(u.name),
      sub: `${LEVEL_NAMES[u.level] || u.level} · 缺${(u.missing || []).map((d) => DUTY_NAMES[d] || d).join('、')}`,
    }),
  },
  {
    key: 'households_outside',
    label: '户在网格外',
    hint: '住户位置不在其所属户网格内',
    item: (x) => ({
      title: x.address,
      sub: `属 ${x.grid_code} · 距网格 ${Math.round(x.distance_m)} m${x.covered_by ? ` · 实际位于 ${x.covered_by}` : ''}`,
    }),
  },
  {
    key: 'households_without_party_member',
    label: '无党员联系',
    hint: '没有联系党员的住户',
    item: (x) => ({ title: x.address, sub: `户网格 ${x.grid_code}` }),
  },
];

/** testId is the test id of a defect's count: count-households-outside. */
export const testId = (key) => `count-${key.replace(/_/g, '-')}`;

/**
 * levelOfCode is the level of a user's own grid code by its length; no
 * code (a unit) counts as the district, whose picker shows every township
 * the unit may see.
 */
export function levelOfCode(code) {
  switch ((code || '').length) {
    case 9:
      return 'township';
    case 12:
      return /P/.test(code) ? 'zone' : 'village';
    case 15:
      return 'household';
    default:
      return 'district';
  }
}


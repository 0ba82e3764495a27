// Chinese names for the codes the API speaks in (GLOSSARY.md).

/** LEVEL_NAMES are the Chinese names of the grid levels. */
export const LEVEL_NAMES = {
  district: '区',
  township: '街乡镇',
  zone: '片区',
  village: '村/社区',
  household: '户网格',
};
/** KIND_NAMES are the Chinese names of the kinds of grid. */
export const KIND_NAMES = {
  district: '区',
  subdistrict: '街道',
  town: '镇',
  township: '乡',
  village: '村',
  community: '社区',
};

/**
 * ROLE_NAMES are the Chinese names of the user roles shown in the title bar;
 * a role not listed is shown as the server sent it.
 */
export const ROLE_NAMES = {
  command: '指挥中心',
  township: '街乡镇',
  unit: '部门',
  grid_worker: '网格员',
  party_member: '党员',
  screen: '指挥大屏',
};

/**
 * shortName drops the committee suffix of a village's official name for its
 * label: 八达岭村委会 → 八达岭村, 湖南社区居委会 → 湖南社区. The popup keeps the
 * full name.
 */
export function shortName(name) {
  return String(name ?? '')
    .replace(/村民委员会$|村委会$/, '村')
    .replace(/社区居民委员会$|社区居委会$/, '社区');
}

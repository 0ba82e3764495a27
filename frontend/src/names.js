// Chinese names for the codes the API speaks in: one English code per idea, shown in Chinese.

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

/** GRADE_NAMES are the Chinese names of the whistle grades. */
export const GRADE_NAMES = {
  routine: '普通哨',
  priority: '重点哨',
  hard: '疑难哨',
};

/** STATUS_NAMES are the Chinese names of the whistle statuses. */
export const STATUS_NAMES = {
  raised: '已吹哨',
  in_progress: '办理中',
  awaiting_approval: '待审核',
  closed: '已结案',
};

/** OUTCOME_NAMES name how a closed whistle ended. */
export const OUTCOME_NAMES = {
  resolved: '已解决',
  partly: '部分解决',
  unresolved: '未解决',
};

/** SOURCE_NAMES are the Chinese names of the clue sources. */
export const SOURCE_NAMES = {
  patrol: '网格巡查',
  hotline: '12345热线',
  app: '你说我办',
  forum: '村民说事',
  hotspot: '未诉先办',
  sensor: '物联感知',
};

/** ACTION_NAMES name the steps of a whistle's trail. */
export const ACTION_NAMES = {
  raise: '吹哨',
  join: '并哨',
  report_in: '报到',
  resolve: '办结',
  close: '结案',
  return: '退回',
  rate: '评价',
  escalate: '升级',
  consult: '二次会商',
  rule: '疑难定责',
  contest: '复议定责',
  supervise: '督办',
  overdue: '超期',
};

/** SUMMONS_ROLE_NAMES name a summoned unit's part. */
export const SUMMONS_ROLE_NAMES = {
  lead: '牵头',
  assist: '协办',
};

/** DUTY_NAMES name the duties of the people on duty. */
export const DUTY_NAMES = {
  zone: '包片领导',
  village: '包村干部',
  patrol: '网格员',
  household: '包户党员',
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

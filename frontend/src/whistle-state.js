// One case's actions without DOM (whistle.js draws them): each step's
// label, test id, the fields of its form and the body the API takes. The
// steps offered are the server's (GET /api/v1/whistles/{id}/actions, from
// whistle/rules.go and steps.go): this module never decides who may act.
import { GRADE_NAMES, OUTCOME_NAMES } from './names.js';

/** actionLabel is a step's button text; the command center's escalation is 改级. */
export function actionLabel(step, role) {
  const labels = {
    report_in: '报到',
    resolve: '办结',
    close: '审核通过结案',
    return: '退回',
    rate: '评价',
    escalate: role === 'command' ? '改级' : '升级',
    consult: '二次会商',
    rule: '定责',
    contest: '复议',
    supervise: '督办',
    callback: '回访',
    reopen: '重新办理',
  };
  return labels[step] || step;
}

/** actionTestId is a step's button test id: act-report-in, act-resolve, ... */
export function actionTestId(step) {
  return `act-${String(step).replace(/_/g, '-')}`;
}

/** CALLBACK_RESULTS are the resident's answers at the callback (回访). */
export const CALLBACK_RESULTS = { satisfied: '满意', basically_satisfied: '基本满意', unsatisfied: '不满意' };

const RATINGS = [5, 4, 3, 2, 1].map((n) => [String(n), `${n} 分`]);

/**
 * fieldsOf lists the fields of an action's form: {name, kind (text,
 * textarea, select, file), label, testid, options ([value, text]),
 * required}. unitNames maps unit codes to names; allUnits lists every
 * unit for a ruling.
 */
export function fieldsOf(action, role, unitNames = {}, allUnits = []) {
  const unitOpts = (codes) => codes.map((c) => [c, unitNames[c] ? `${unitNames[c]}（${c}）` : c]);
  const unit = (label) => ({ name: 'unit', kind: 'select', label, testid: 'act-unit', options: unitOpts(action.units || []), required: true });
  const note = (label = '说明', required = false, name = 'note') => ({ name, kind: 'textarea', label, testid: 'act-note', required });
  switch (action.step) {
    case 'report_in':
      return [
        role === 'command' ? unit('代报到单位') : null,
        { name: 'person', kind: 'text', label: '到场人员', testid: 'act-person', required: true },
        { name: 'phone', kind: 'tel', label: '联系电话', testid: 'act-phone' },
        note(),
      ].filter(Boolean);
    case 'resolve':
      return [
        role === 'command' ? unit('代办结单位') : null,
        { name: 'outcome', kind: 'select', label: '办理结果', testid: 'act-outcome', options: Object.entries(OUTCOME_NAMES), required: true },
        note('办理情况'),
        { name: 'photos', kind: 'file', label: '现场照片', testid: 'act-photo' },
      ].filter(Boolean);
    case 'close':
      return [note('审核意见')];
    case 'return':
      return [note('退回原因', true, 'reason')];
    case 'rate':
      return [
        unit('评价单位'),
        { name: 'reported_in', kind: 'select', label: '报到', testid: 'rate-reported-in', options: RATINGS, required: true },
        { name: 'resolved', kind: 'select', label: '解决', testid: 'rate-resolved', options: RATINGS, required: true },
        { name: 'satisfied', kind: 'select', label: '满意', testid: 'rate-satisfied', options: RATINGS, required: true },
        note('评价说明'),
      ];
    case 'escalate':
      return [
        { name: 'grade', kind: 'select', label: '调整为', testid: 'act-grade', options: (action.grades || []).map((g) => [g, GRADE_NAMES[g] || g]), required: true },
        note('原因', true, 'reason'),
      ];
    case 'consult':
      return [
        { name: 'attendees', kind: 'text', label: '参会人员（以逗号或顿号分隔）', testid: 'act-attendees', required: true },
        note('会商纪要', true, 'minutes'),
      ];
    case 'rule':
      return [
        { name: 'lead_unit', kind: 'select', label: '定责牵头单位', testid: 'act-unit', options: unitOpts(allUnits), required: true },
        note('定责理由', true, 'reason'),
      ];
    case 'contest':
      return [note('复议理由', true, 'reason')];
    case 'supervise':
      return [unit('督办单位'), note('督办要求')];
    case 'callback':
      return [
        { name: 'result', kind: 'select', label: '群众评价', testid: 'act-result', options: Object.entries(CALLBACK_RESULTS), required: true },
        note('回访记录'),
      ];
    case 'reopen':
      return [note('重新办理原因', true, 'reason')];
  }
  return [note()];
}

/** bodyOf is the JSON body of a step from its form's values (by field name; files left out). */
export function bodyOf(step, values, attachments = []) {
  const body = {};
  for (const [k, v] of Object.entries(values)) {
    if (k === 'photos' || v === undefined || v === null || v === '') continue;
    if (k === 'reported_in' || k === 'resolved' || k === 'satisfied') body[k] = Number(v);
    else if (k === 'attendees') body[k] = String(v).split(/[,，、;；\s]+/).map((s) => s.trim()).filter(Boolean);
    else body[k] = v;
  }
  if (step === 'resolve' && attachments.length) body.attachments = attachments;
  return body;
}

// Run with `npm test` (node --test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { actionLabel, actionTestId, bodyOf, fieldsOf } from './whistle-state.js';

test('labels and test ids', () => {
  assert.equal(actionTestId('report_in'), 'act-report-in');
  assert.equal(actionLabel('escalate', 'command'), '改级');
  assert.equal(actionLabel('escalate', 'township'), '升级');
  assert.equal(actionLabel('close'), '审核通过结案');
});

test('fields: the command center names the unit it acts for; rate takes three ratings', () => {
  const ri = fieldsOf({ step: 'report_in', units: ['S023'] }, 'command', { S023: '城管执法队' });
  assert.deepEqual(ri.map((f) => f.testid), ['act-unit', 'act-person', 'act-phone', 'act-note']);
  assert.deepEqual(ri[0].options, [['S023', '城管执法队（S023）']]);
  assert.deepEqual(fieldsOf({ step: 'report_in' }, 'unit').map((f) => f.testid), ['act-person', 'act-phone', 'act-note']);
  assert.deepEqual(fieldsOf({ step: 'rate', units: ['S023'] }, 'township').map((f) => f.testid),
    ['act-unit', 'rate-reported-in', 'rate-resolved', 'rate-satisfied', 'act-note']);
  assert.ok(fieldsOf({ step: 'resolve' }, 'unit').some((f) => f.kind === 'file' && f.testid === 'act-photo'));
  assert.deepEqual(fieldsOf({ step: 'escalate', grades: ['hard'] }, 'township')[0].options, [['hard', '疑难哨']]);
});

test('bodyOf', () => {
  assert.deepEqual(bodyOf('rate', { unit: 'S023', reported_in: '5', resolved: '4', satisfied: '3', note: '' }),
    { unit: 'S023', reported_in: 5, resolved: 4, satisfied: 3 });
  assert.deepEqual(bodyOf('consult', { attendees: '张三，李四、 王五', minutes: '纪要' }), { attendees: ['张三', '李四', '王五'], minutes: '纪要' });
  assert.deepEqual(bodyOf('resolve', { outcome: 'resolved', photos: 'x' }, [3, 4]), { outcome: 'resolved', attachments: [3, 4] });
  assert.deepEqual(bodyOf('resolve', { outcome: 'resolved' }), { outcome: 'resolved' });
});

test('fieldsOf: the callback asks for the answer of the resident, a reopen for its reason', () => {
  const cb = fieldsOf({ step: 'callback' }, 'command');
  assert.deepEqual(cb.map((f) => f.name), ['result', 'note']);
  assert.deepEqual(cb[0].options.map(([v]) => v), ['satisfied', 'basically_satisfied', 'unsatisfied']);
  assert.deepEqual(fieldsOf({ step: 'reopen' }, 'township').map((f) => [f.name, f.required]), [['reason', true]]);
  assert.deepEqual(bodyOf('callback', { result: 'unsatisfied', note: '未解决' }), { result: 'unsatisfied', note: '未解决' });
});

// Run with `npm test` (node --test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { charCount, groupCategories, phoneProblem, textProblem } from './board-state.js';

test('textProblem', () => {
  assert.equal(textProblem('路灯坏了'), '');
  assert.notEqual(textProblem(''), '');
  assert.notEqual(textProblem('  \n'), '');
  assert.equal(textProblem('路'.repeat(1000)), '');
  assert.match(textProblem('路'.repeat(1001)), /1001/);
  for (const bad of ['<script>alert(1)</script>', '<img src=x onerror=alert(1)>', 'javascript:alert(1)', '&#60;b&#62;', 'a\u0000b']) {
    assert.notEqual(textProblem(bad), '', bad);
  }
  assert.equal(textProblem('温度 3<5 度，a < b'), '');
});

test('phone and counter', () => {
  assert.equal(phoneProblem(''), '');
  assert.equal(phoneProblem('13912345678'), '');
  assert.notEqual(phoneProblem('call me'), '');
  assert.equal(charCount('路灯'), '2/1000');
});

test('groupCategories', () => {
  const g = groupCategories([{ code: 'A.1', name: 'a', group: '甲' }, { code: 'B.1', name: 'b', group: '乙' }, { code: 'A.2', name: 'c', group: '甲' }]);
  assert.deepEqual([...g.keys()], ['甲', '乙']);
  assert.equal(g.get('甲').length, 2);
});

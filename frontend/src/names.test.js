// Run with `npm test` (node --test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shortName } from './names.js';

test('shortName', () => {
  for (const [name, want] of [
    ['八达岭村委会', '八达岭村'],
    ['湖南社区居委会', '湖南社区'],
    ['格兰山水二期南区社区居委会', '格兰山水二期南区社区'],
    ['康庄镇', '康庄镇'],
    ['', ''],
    [undefined, ''],
  ]) {
    assert.equal(shortName(name), want, name);
  }
});

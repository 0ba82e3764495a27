import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  filterCategories,
  fitSize,
  flattenCategories,
  isNetworkError,
  newExternalID,
  placeText,
  sendReport,
  stateText,
} from './report-state.js';

const TREE = [
  {
    code: 'CM',
    name: '城市管理',
    children: [
      { code: 'CM.01', name: '市容环境', children: [{ code: 'CM.01.03', name: '占道经营' }, { code: 'CM.01.04', name: '乱堆物料' }] },
    ],
  },
  { code: 'WS', name: '水务', children: [{ code: 'WS.01', name: '管道漏水' }] },
];

test('flattenCategories keeps the leaves with their branch', () => {
  const leaves = flattenCategories(TREE);
  assert.deepEqual(
    leaves.map((l) => l.code),
    ['CM.01.03', 'CM.01.04', 'WS.01'],
  );
  assert.equal(leaves[0].path, '城市管理 › 市容环境 › 占道经营');
});

test('filterCategories matches every word in path or code', () => {
  const leaves = flattenCategories(TREE);
  assert.deepEqual(filterCategories(leaves, '占道').map((l) => l.code), ['CM.01.03']);
  assert.deepEqual(filterCategories(leaves, '市容 乱堆').map((l) => l.code), ['CM.01.04']);
  assert.deepEqual(filterCategories(leaves, 'ws').map((l) => l.code), ['WS.01']);
  assert.equal(filterCategories(leaves, '').length, 3);
  assert.equal(filterCategories(leaves, '', 2).length, 2);
  assert.equal(filterCategories(leaves, '没有').length, 0);
});

test('fitSize scales down to 1600 and never up', () => {
  assert.deepEqual(fitSize(4032, 3024), { width: 1600, height: 1200 });
  assert.deepEqual(fitSize(3024, 4032), { width: 1200, height: 1600 });
  assert.deepEqual(fitSize(800, 600), { width: 800, height: 600 });
});

test('newExternalID is unique and falls back without randomUUID', () => {
  const a = newExternalID();
  assert.match(a, /^report-[0-9a-f-]{36}$/);
  assert.notEqual(a, newExternalID());
  const b = newExternalID({ getRandomValues: (x) => x.fill(171) });
  assert.equal(b, `report-${'ab'.repeat(16)}`);
});

test('stateText and placeText', () => {
  assert.equal(stateText({ state: 'village' }), '村内处置');
  assert.equal(stateText({ state: 'whistle', whistle_id: 7 }), '已吹哨：7 号哨办理中');
  assert.equal(stateText({ state: 'closed', whistle_id: 7 }), '已办结（7 号哨）');
  const place = { chain: [{ level: 'household', name: '第1户网格' }, { level: 'village', name: '小丰营村' }] };
  assert.equal(placeText(place), '小丰营村 · 第1户网格');
  assert.equal(placeText(null), '');
});

test('isNetworkError tells a refusal from a lost connection', () => {
  assert.equal(isNetworkError(new TypeError('Failed to fetch')), true);
  assert.equal(isNetworkError({ status: 422 }), false);
});

test('sendReport uploads each photo once across retries, then posts once with their ids', async () => {
  const uploads = [];
  const posts = [];
  const saves = [];
  let failUploadAt = 1; // the second upload fails the first time (offline)
  const deps = {
    upload: async (blob) => {
      if (uploads.length === failUploadAt) {
        failUploadAt = -1;
        throw new TypeError('Failed to fetch');
      }
      uploads.push(blob);
      return { id: 100 + uploads.length };
    },
    postClue: async (body) => {
      posts.push(body);
      return { clue: { id: 9 } };
    },
    save: async (item) => saves.push([...item.attachment_ids]),
  };
  const item = { external_id: 'report-x', body: { category: 'CM.01.03', text: 't' }, photos: ['p1', 'p2'] };
  await assert.rejects(sendReport(item, deps), TypeError);
  assert.deepEqual(item.attachment_ids, [101, null]);
  assert.equal(posts.length, 0);
  const res = await sendReport(item, deps);
  assert.equal(res.clue.id, 9);
  assert.deepEqual(uploads, ['p1', 'p2']);
  assert.deepEqual(posts, [{ category: 'CM.01.03', text: 't', external_id: 'report-x', attachments: [101, 102] }]);
  assert.deepEqual(saves, [[101, null], [101, 102]]);
});

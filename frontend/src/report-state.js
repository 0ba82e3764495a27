// The logic of the /report page without the DOM (report.js): the category
// tree flattened and searched, the photo size, the device-made external_id,
// the states of 我的上报, and sending a report from the device's outbox
// exactly once (sendReport), with the network calls passed in so that it
// is tested without a browser.

/** MAX_PHOTOS is the most photos one report takes. */
export const MAX_PHOTOS = 6;
/** MAX_SIDE is the longest side of a photo after resizing, in pixels. */
export const MAX_SIDE = 1600;

/**
 * flattenCategories turns the tree of GET /api/v1/categories into its
 * leaves, in order, each with the names of its branch:
 * [{code, name, path: '城市管理 › 市容环境 › 占道经营'}].
 */
export function flattenCategories(tree) {
  const out = [];
  const walk = (nodes, names) => {
    for (const n of nodes || []) {
      const path = [...names, n.name];
      if (n.children?.length) walk(n.children, path);
      else out.push({ code: n.code, name: n.name, path: path.join(' › ') });
    }
  };
  walk(tree, []);
  return out;
}

/**
 * filterCategories keeps the leaves whose path or code holds every word
 * of query (spaces separate words; case is ignored), at most limit.
 */
export function filterCategories(leaves, query, limit = 50) {
  const words = String(query || '')
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean);
  const out = [];
  for (const c of leaves) {
    const hay = `${c.path} ${c.code}`.toLowerCase();
    if (words.every((w) => hay.includes(w))) out.push(c);
    if (out.length >= limit) break;
  }
  return out;
}

/** fitSize scales w×h down (never up) so its longest side is at most max. */
export function fitSize(w, h, max = MAX_SIDE) {
  const s = Math.min(1, max / Math.max(w, h));
  return { width: Math.max(1, Math.round(w * s)), height: Math.max(1, Math.round(h * s)) };
}

/**
 * newExternalID makes the report's id on the device, once per report: the
 * server takes a report once per (source, external_id), so a report sent
 * again after a lost answer is not doubled. cryptoObj: window.crypto.
 */
export function newExternalID(cryptoObj = globalThis.crypto) {
  if (cryptoObj?.randomUUID) return `report-${cryptoObj.randomUUID()}`;
  const b = new Uint8Array(16);
  cryptoObj.getRandomValues(b);
  return `report-${Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')}`;
}

/** stateText is a report's state in 我的上报, in Chinese. */
export function stateText(r) {
  if (r.state === 'closed') return `已办结（${r.whistle_id} 号哨）`;
  if (r.state === 'whistle') return `已吹哨：${r.whistle_id} 号哨办理中`;
  return '村内处置';
}

/**
 * placeText names where a point falls from GET /api/v1/place: the village
 * and the household grid, e.g. '康庄镇社区 · 康庄镇社区第1户网格'.
 */
export function placeText(place) {
  const at = (level) => place?.chain?.find((l) => l.level === level);
  const v = at('village');
  const g = at('household');
  return [v?.name, g?.name].filter(Boolean).join(' · ');
}

/** isNetworkError tells a failed connection (retry later) from an answer. */
export function isNetworkError(err) {
  return !(err && typeof err.status === 'number');
}

/**
 * sendReport sends one report of the outbox: its photos first (each
 * upload's id is saved at once, so a photo is uploaded once however often
 * the sending is cut off), then the clue with the photos' ids under the
 * report's external_id. item: {external_id, body, photos: [Blob],
 * attachment_ids: [id|null]}. deps: {upload(blob) -> {id}, postClue(body)
 * -> {clue}, save(item)}. Returns the clue answer; throws what the calls
 * throw (a network error: keep the item and try again later).
 */
export async function sendReport(item, { upload, postClue, save }) {
  const ids = item.attachment_ids ? [...item.attachment_ids] : item.photos.map(() => null);
  for (let i = 0; i < item.photos.length; i++) {
    if (ids[i]) continue;
    const up = await upload(item.photos[i]);
    ids[i] = up.id;
    item.attachment_ids = [...ids];
    await save(item);
  }
  return postClue({ ...item.body, external_id: item.external_id, attachments: ids });
}

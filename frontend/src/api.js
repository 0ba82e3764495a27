// The whistlegrid HTTP API on the same origin: login, logout and grids.
// Every /api/v1 call carries the bearer token kept in localStorage; a 401 from
// any call clears it and tells the page (onUnauthorized) to show the login form.

export const TOKEN_KEY = 'whistlegrid.token';
const USER_KEY = 'whistlegrid.user';

/** ApiError is a non-2xx answer: status, the API's error code and message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export function getToken() {
  return localStorage.getItem(TOKEN_KEY);
}

/** getUser returns the user saved at login, or null. */
export function getUser() {
  try {
    return JSON.parse(localStorage.getItem(USER_KEY) || 'null');
  } catch {
    return null;
  }
}

export function clearSession() {
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(USER_KEY);
}

let unauthorizedHandler = () => {};

/** onUnauthorized sets what happens after any call answers 401. */
export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
}

async function request(method, path, { body, form, auth = true, signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth) {
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
  }
  const res = await fetch(path, {
    method,
    headers,
    body: form ?? (body === undefined ? undefined : JSON.stringify(body)),
    signal,
  });
  if (res.ok) {
    return res.status === 204 ? null : res.json();
  }
  let code = '';
  let message = '';
  try {
    const data = await res.json();
    code = data?.error?.code || '';
    message = data?.error?.message || '';
  } catch {
    // Not JSON (a proxy's page, say): keep the status only.
  }
  const err = new ApiError(res.status, code, message);
  if (res.status === 401 && auth) {
    clearSession();
    unauthorizedHandler(err);
  }
  throw err;
}

/**
 * login posts the credentials; on success it saves the token and the user and
 * returns the user. A wrong password throws an ApiError with status 401.
 */
export async function login(username, password) {
  const data = await request('POST', '/api/v1/auth/login', {
    body: { username, password },
    auth: false,
  });
  localStorage.setItem(TOKEN_KEY, data.token);
  localStorage.setItem(USER_KEY, JSON.stringify(data.user || null));
  return data.user;
}

/** logout ends the session on the server (best effort) and forgets it here. */
export async function logout() {
  try {
    if (getToken()) await request('POST', '/api/v1/auth/logout', { auth: true });
  } catch {
    // A network error or an already expired token: forget the session anyway.
  } finally {
    clearSession();
  }
}

/**
 * grids fetches one level of the grid hierarchy as an RFC 7946
 * FeatureCollection (WGS-84 lon/lat). Options: parent (a grid code) and bbox
 * ([minLon, minLat, maxLon, maxLat]). The server scopes it to the caller's
 * jurisdiction.
 */
export function grids(level, { parent, bbox, signal } = {}) {
  const q = new URLSearchParams({ level });
  if (parent) q.set('parent', parent);
  if (bbox) q.set('bbox', bbox.join(','));
  return request('GET', `/api/v1/grids?${q}`, { signal });
}

/** me returns the caller as the server knows it (a 401 shows the login form). */
export function me({ signal } = {}) {
  return request('GET', '/api/v1/auth/me', { signal });
}

/** grid fetches one grid as a GeoJSON Feature with the people on duty now. */
export function grid(code, { signal } = {}) {
  return request('GET', `/api/v1/grids/${encodeURIComponent(code)}`, { signal });
}

/** categories fetches the category tree: {categories: [{code, name, children}, ...]}. */
export function categories({ signal } = {}) {
  return request('GET', '/api/v1/categories', { signal });
}

/**
 * snapshot fetches the wall map's starting state: open whistles, counts,
 * today's figures, the three rates and the events seq it is true at. A
 * township code limits it to that township.
 */
export function snapshot(township = '', { signal } = {}) {
  const q = township ? `?township=${encodeURIComponent(township)}` : '';
  return request('GET', `/api/v1/snapshot${q}`, { signal });
}

/** whistle fetches one whistle with its summons, clues and trail. */
export function whistle(id, { signal } = {}) {
  return request('GET', `/api/v1/whistles/${encodeURIComponent(id)}`, { signal });
}

/**
 * coverage fetches the coverage review of a parent grid ("" for the
 * caller's own grid): lists of defects and the same as GeoJSON layers.
 */
export function coverage(parent = '', { signal } = {}) {
  const q = parent ? `?parent=${encodeURIComponent(parent)}` : '';
  return request('GET', `/api/v1/coverage${q}`, { signal });
}

/**
 * hotspots fetches the 未诉先办 analysis as GeoJSON hexagons with
 * properties cell, z, p, class, count: the last twelve weeks by default.
 * Options: township, category (a code; its subtree is included), weeks.
 */
export function hotspots({ township, category, weeks, signal } = {}) {
  const q = new URLSearchParams();
  if (township) q.set('township', township);
  if (category) q.set('category', category);
  if (weeks) q.set('weeks', String(weeks));
  const qs = q.toString();
  return request('GET', `/api/v1/hotspots${qs ? `?${qs}` : ''}`, { signal });
}

/** contactMap fetches a village's party-member contact map. */
export function contactMap(code, { signal } = {}) {
  return request('GET', `/api/v1/villages/${encodeURIComponent(code)}/contact-map`, { signal });
}

/**
 * workCounts fetches the caller's workbench tabs in order and the size of
 * each: {tabs: [...], counts: {tab: n}}.
 */
export function workCounts({ signal } = {}) {
  return request('GET', '/api/v1/work/counts', { signal });
}

/**
 * workQueue fetches one keyset page of a workbench tab: query is a
 * URLSearchParams (or its string) of filters, sort, after (the next cursor) and limit.
 * Answers {tab, sort, whistles | clues, next}.
 */
export function workQueue(tab, query = '', { signal } = {}) {
  const qs = String(query);
  return request('GET', `/api/v1/work/${encodeURIComponent(tab)}${qs ? `?${qs}` : ''}`, { signal });
}

/** whistleActions fetches the steps the caller may take now: {actions: [{step, units?, grades?}]}. */
export function whistleActions(id, { signal } = {}) {
  return request('GET', `/api/v1/whistles/${encodeURIComponent(id)}/actions`, { signal });
}

/** whistleStep takes a step (its code, e.g. report_in) with its body; answers the whistle after it. */
export function whistleStep(id, step, body) {
  return request('POST', `/api/v1/whistles/${encodeURIComponent(id)}/${String(step).replace(/_/g, '-')}`, { body });
}

/** raiseWhistle raises a whistle from clues: {clue_ids, grade, note, units}; answers the whistle. */
export function raiseWhistle(body) {
  return request('POST', '/api/v1/whistles', { body });
}

/** units fetches the departments, field stations and utilities. */
export function units({ signal } = {}) {
  return request('GET', '/api/v1/units', { signal });
}

/**
 * liveURL is the websocket URL of the event stream on this origin, with
 * the token (browsers cannot set headers on a websocket), the seq to
 * resume after, and the townships to follow ("" for the jurisdiction).
 */
export function liveURL({ since, township } = {}) {
  const q = new URLSearchParams({ token: getToken() || '' });
  if (since !== undefined && since !== null) q.set('since', String(since));
  if (township) q.set('township', township);
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/api/v1/live?${q}`;
}

/**
 * authorizeTiles is a MapLibre transformRequest: requests for this origin's
 * /tiles/ get the bearer token, everything else is left alone.
 */
export function authorizeTiles(url) {
  if (url.startsWith(`${location.origin}/tiles/`)) {
    const token = getToken();
    if (token) return { url, headers: { Authorization: `Bearer ${token}` } };
  }
  return { url };
}

/**
 * place places a WGS-84 point: the chain household grid → village → … →
 * district ({chain: [{level, code, name}], near_edge, …}); with a
 * category, also the units on its responsibility list.
 */
export function place(lon, lat, { category, signal } = {}) {
  const q = new URLSearchParams({ lon: String(lon), lat: String(lat), datum: 'wgs84' });
  if (category) q.set('category', category);
  return request('GET', `/api/v1/place?${q}`, { signal });
}

/** postClue posts a clue: 201 (new) or 200 (the same external_id again) {clue, whistle}. */
export function postClue(body, { signal } = {}) {
  return request('POST', '/api/v1/clues', { body, signal });
}

/**
 * uploadAttachment uploads a photo or PDF (a Blob) as multipart field file:
 * {id, sha256, content_type, size, url, thumb_url, gps?}.
 */
export function uploadAttachment(blob, name = 'photo.jpg', { signal } = {}) {
  const form = new FormData();
  form.append('file', blob, name);
  return request('POST', '/api/v1/attachments', { form, signal });
}

/** attachmentSrc is an attachment URL an <img> can load: with the token in the query. */
export function attachmentSrc(url) {
  return `${url}?token=${encodeURIComponent(getToken() || '')}`;
}

/** myReports fetches the caller's own reports (我的上报) with their states. */
export function myReports({ signal } = {}) {
  return request('GET', '/api/v1/clues/mine', { signal });
}

/**
 * call is a request to any /api/v1 route, for pages whose routes have no
 * helper above: call('POST', '/api/v1/ledger', { body }). auth: false
 * sends no token (the public board).
 */
export function call(method, path, { body, auth = true, signal } = {}) {
  return request(method, path, { body, auth, signal });
}

/**
 * importFile uploads a file to POST /api/v1/imports (a FormData with kind,
 * file, dry_run, mode, encoding, mapping): a dry run answers its report,
 * an import {id, status} to follow with importStatus.
 */
export function importFile(form, { signal } = {}) {
  return request('POST', '/api/v1/imports', { form, signal });
}

/** importStatus fetches an import: {id, kind, status, rows_read, report, ...}. */
export function importStatus(id, { signal } = {}) {
  return request('GET', `/api/v1/imports/${encodeURIComponent(id)}`, { signal });
}

/** unplacedOrders fetches the hotline review queue: {orders, total}. */
export function unplacedOrders({ limit = 50, offset = 0, signal } = {}) {
  return request('GET', `/api/v1/hotline/unplaced?limit=${limit}&offset=${offset}`, { signal });
}

/** placeOrder drops a pin (WGS-84) on an unplaced order: {id, clue_id, whistle}. */
export function placeOrder(id, lon, lat, { signal } = {}) {
  return request('POST', `/api/v1/hotline/unplaced/${encodeURIComponent(id)}/place`, { body: { lon, lat }, signal });
}

/** get fetches an /api/v1 path (with its query string) as JSON. */
export function get(path, { signal } = {}) {
  return request('GET', `/api/v1/${path}`, { signal });
}

/**
 * fetchFile fetches an /api/v1 export with the token and returns
 * {blob, disposition}; a non-2xx answer throws an ApiError.
 */
export async function fetchFile(path, { signal } = {}) {
  const token = getToken();
  const res = await fetch(`/api/v1/${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {}, signal });
  if (!res.ok) {
    let code = '';
    let message = '';
    try {
      const data = await res.json();
      code = data?.error?.code || '';
      message = data?.error?.message || '';
    } catch {
      // not JSON
    }
    const err = new ApiError(res.status, code, message);
    if (res.status === 401) {
      clearSession();
      unauthorizedHandler(err);
    }
    throw err;
  }
  return { blob: await res.blob(), disposition: res.headers.get('Content-Disposition') || '' };
}

/** meetings fetches a village's villagers' meetings (村民说事): {meetings: [...]}, newest first. */
export function meetings(code, { signal } = {}) {
  return request('GET', `/api/v1/villages/${encodeURIComponent(code)}/meetings`, { signal });
}

/** postMeeting records a meeting; each matter becomes a clue of source meeting. */
export function postMeeting(code, body) {
  return request('POST', `/api/v1/villages/${encodeURIComponent(code)}/meetings`, { body });
}

/** advanceMatter moves a meeting's matter n one stage on. */
export function advanceMatter(id, n, body) {
  return request('PATCH', `/api/v1/meetings/${encodeURIComponent(id)}/matters/${encodeURIComponent(n)}`, { body });
}

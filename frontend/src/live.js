// LiveClient keeps one websocket to GET /api/v1/live open and resumes it
// without losing or repeating an event: every reconnect asks for the events
// after the last seq received (since). Close code 4008 (this client was too
// slow) reconnects at once; 4009 (since is older than the history the
// server keeps) asks the owner to reload the snapshot and start again from
// its seq; 4001 (the token was revoked or expired) stops and reports
// trouble, so the owner checks the session and shows the login; anything else (a server restart, a dropped network) reconnects
// with exponential backoff and jitter.

/** CLOSE_TOO_SLOW: the server dropped a client whose queue overflowed; resume with since. */
export const CLOSE_TOO_SLOW = 4008;
/** CLOSE_RELOAD: since is outside the kept history; reload the snapshot. */
export const CLOSE_RELOAD = 4009;
/** CLOSE_REVOKED: the token was revoked (logout) or expired; log in again. */
export const CLOSE_REVOKED = 4001;
/** BACKOFF_MIN and BACKOFF_MAX bound the wait before a reconnect, in ms. */
export const BACKOFF_MIN = 500;
export const BACKOFF_MAX = 10000;

/**
 * backoffDelay is the wait before reconnect attempt n (0-based): the base
 * doubles from BACKOFF_MIN up to BACKOFF_MAX, and the wait is drawn from
 * [base/2, base] so that many wall screens do not reconnect in step.
 */
export function backoffDelay(attempt, random = Math.random) {
  const base = Math.min(BACKOFF_MAX, BACKOFF_MIN * 2 ** Math.max(0, attempt));
  return Math.round(base / 2 + (random() * base) / 2);
}

export class LiveClient {
  /**
   * url(since) builds the websocket URL; onEvent(frame) gets every event
   * frame once, in seq order; onState(state, info) hears 'connecting',
   * 'open', 'reconnecting' ({attempt, delay}) and 'reload'; onReload() must
   * load a snapshot and call start(snapshot.seq); onTrouble() hears of
   * repeated failures to connect (the owner may check the token).
   */
  constructor({ url, onEvent, onState = () => {}, onReload, onTrouble = () => {}, WebSocketImpl, timers, random }) {
    this.url = url;
    this.onEvent = onEvent;
    this.onState = onState;
    this.onReload = onReload;
    this.onTrouble = onTrouble;
    this.WebSocket = WebSocketImpl || globalThis.WebSocket;
    this.timers = timers || { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (id) => clearTimeout(id) };
    this.random = random || Math.random;
    this.ws = null;
    this.timer = null;
    this.stopped = true;
    this.since = null;
    this.attempt = 0;
    this.failures = 0;
  }

  /** start connects, asking for the events after since. */
  start(since) {
    this.stop();
    this.stopped = false;
    this.since = since;
    this.attempt = 0;
    this.failures = 0;
    this.#connect();
  }

  /** stop closes the connection and cancels any reconnect. */
  stop() {
    this.stopped = true;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(1000, 'bye');
      } catch {
        // already closing
      }
    }
  }

  #schedule(delay) {
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      if (!this.stopped) this.#connect();
    }, delay);
  }

  #connect() {
    this.onState(this.attempt === 0 ? 'connecting' : 'reconnecting', { attempt: this.attempt });
    let ws;
    try {
      ws = new this.WebSocket(this.url(this.since));
    } catch (err) {
      this.#closed(null, { code: 1006, reason: String(err) }, false);
      return;
    }
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      opened = true;
      this.attempt = 0;
      this.failures = 0;
      this.onState('open', {});
    };
    ws.onmessage = (m) => {
      if (this.ws !== ws) return;
      let ev;
      try {
        ev = JSON.parse(m.data);
      } catch {
        return;
      }
      if (typeof ev?.seq !== 'number') return;
      if (this.since !== null && ev.seq <= this.since) return;
      this.since = ev.seq;
      this.onEvent(ev);
    };
    ws.onerror = () => {
      // a close event follows
    };
    ws.onclose = (e) => this.#closed(ws, e, opened);
  }

  #closed(ws, e, opened) {
    if (ws && this.ws !== ws) return;
    this.ws = null;
    if (this.stopped) return;
    if (e.code === CLOSE_RELOAD) {
      this.onState('reload', {});
      this.stopped = true;
      this.onReload();
      return;
    }
    if (e.code === CLOSE_REVOKED) {
      this.stopped = true;
      this.onState('revoked', {});
      this.onTrouble();
      return;
    }
    if (e.code === CLOSE_TOO_SLOW) {
      this.attempt = 0;
      this.onState('reconnecting', { attempt: 1, delay: 0 });
      this.#schedule(0);
      return;
    }
    if (!opened) {
      this.failures++;
      if (this.failures >= 2) this.onTrouble();
    }
    const delay = backoffDelay(this.attempt, this.random);
    this.attempt++;
    this.onState('reconnecting', { attempt: this.attempt, delay });
    this.#schedule(delay);
  }
}

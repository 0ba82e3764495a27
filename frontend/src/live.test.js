// Run with `npm test` (node --test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKOFF_MAX, BACKOFF_MIN, LiveClient, backoffDelay } from './live.js';

// FakeSocket records what the client opens and lets the test play the server.
class FakeSocket {
  static all = [];
  constructor(url) {
    this.url = url;
    this.closed = null;
    FakeSocket.all.push(this);
  }
  close(code) {
    this.closed = code;
  }
  open() {
    this.onopen?.({});
  }
  send(frame) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop(code) {
    this.onclose?.({ code });
  }
}

function harness() {
  FakeSocket.all = [];
  const timers = [];
  const events = [];
  const states = [];
  let reloads = 0;
  let troubles = 0;
  const client = new LiveClient({
    url: (since) => `ws://x/live?since=${since}`,
    onEvent: (ev) => events.push(ev.seq),
    onState: (s, info) => states.push([s, info.delay]),
    onReload: () => reloads++,
    onTrouble: () => troubles++,
    WebSocketImpl: FakeSocket,
    timers: { setTimeout: (f, ms) => timers.push({ f, ms }) && timers.length, clearTimeout: () => {} },
    random: () => 1,
  });
  const fire = () => timers.shift().f();
  return { client, timers, events, states, fire, get reloads() { return reloads; }, get troubles() { return troubles; }, sock: () => FakeSocket.all.at(-1) };
}

test('backoffDelay doubles up to the cap, with jitter in [base/2, base]', () => {
  assert.equal(backoffDelay(0, () => 1), BACKOFF_MIN);
  assert.equal(backoffDelay(0, () => 0), BACKOFF_MIN / 2);
  assert.equal(backoffDelay(3, () => 1), BACKOFF_MIN * 8);
  assert.equal(backoffDelay(30, () => 1), BACKOFF_MAX);
});

test('resumes after a drop with since = the last seq, once each', () => {
  const t = harness();
  t.client.start(10);
  assert.equal(t.sock().url, 'ws://x/live?since=10');
  t.sock().open();
  t.sock().send({ seq: 11, kind: 'a' });
  t.sock().send({ seq: 12, kind: 'a' });
  t.sock().send({ seq: 12, kind: 'a' }); // a repeat is dropped
  t.sock().drop(1001); // the server restarts
  assert.deepEqual(t.states.at(-1), ['reconnecting', BACKOFF_MIN]);
  t.fire();
  assert.equal(t.sock().url, 'ws://x/live?since=12');
  t.sock().drop(1006); // still down: the wait doubles
  assert.deepEqual(t.states.at(-1), ['reconnecting', BACKOFF_MIN * 2]);
  t.fire();
  t.sock().open();
  assert.equal(t.states.at(-1)[0], 'open');
  t.sock().send({ seq: 13, kind: 'a' });
  assert.deepEqual(t.events, [11, 12, 13]);
  t.sock().drop(1006); // after an open the backoff starts again
  assert.deepEqual(t.states.at(-1), ['reconnecting', BACKOFF_MIN]);
  assert.equal(t.troubles, 0);
});

test('4008 reconnects at once; 4009 asks for the snapshot', () => {
  const t = harness();
  t.client.start(5);
  t.sock().open();
  t.sock().send({ seq: 6 });
  t.sock().drop(4008);
  assert.equal(t.timers[0].ms, 0);
  t.fire();
  assert.equal(t.sock().url, 'ws://x/live?since=6');
  t.sock().open();
  t.sock().drop(4009);
  assert.equal(t.reloads, 1);
  assert.equal(t.timers.length, 0, 'no reconnect before the snapshot');
  t.client.start(50);
  assert.equal(t.sock().url, 'ws://x/live?since=50');
});

test('repeated failures to connect are reported; stop cancels everything', () => {
  const t = harness();
  t.client.start(1);
  t.sock().drop(1006);
  t.fire();
  t.sock().drop(1006);
  assert.equal(t.troubles, 1);
  t.fire();
  const s = t.sock();
  t.client.stop();
  assert.equal(s.closed, 1000);
  s.onclose?.({ code: 1006 });
  assert.equal(t.timers.length, 0);
});

test('4001 (token revoked or expired) stops and reports trouble, no reconnect', () => {
  const t = harness();
  t.client.start(3);
  t.sock().open();
  t.sock().drop(4001);
  assert.equal(t.troubles, 1);
  assert.equal(t.timers.length, 0, 'no reconnect with a revoked token');
  assert.equal(t.states.at(-1)[0], 'revoked');
});

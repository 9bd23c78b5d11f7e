// Proves anti-entropy costs one small round trip when in sync, moves 100k keys to an empty node in bounded batches, survives link loss, timeouts and crossing starts, and rejects malformed messages.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AE_BUSY_IDLE_MS,
  AE_BUSY_RETRY_MS,
  AE_LINK_UP_ANSWER_GRACE_MS,
  AE_NODES_PARENTS_PER_MESSAGE_MAX,
  AE_RESPONDER_INTERVAL_FACTOR,
  AE_SESSION_IDLE_TIMEOUT_MS,
  isAntiEntropyMessage,
} from '../../src/core/antientropy.js';
import { utf8 } from '../../src/core/bytes.js';
import { rowKey, RowKind } from '../../src/core/rows.js';
import { DEFAULT_CORE_CONFIG } from '../../src/core/config.js';
import type { Effect } from '../../src/core/io.js';
import type { VersionedRecord } from '../../src/core/types.js';
import { describeRecords, Pump, Replica } from '../support/antientropy-pump.js';
import { countRecords } from '../support/records.js';

const ID_A = '0a'.repeat(16);
const ID_B = 'b0'.repeat(16);
const INTERVAL_MS = DEFAULT_CORE_CONFIG.antiEntropyIntervalMs;

function makeRecords(count: number, prefix = 'key', wallMs = 1_000): VersionedRecord[] {
  const records: VersionedRecord[] = [];
  for (let index = 0; index < count; index++) {
    records.push({ key: utf8(`${prefix}:${index}`), value: utf8(`value-${index}`), hlc: { wallMs, logical: 0 }, origin: ID_A, expiresAtMs: 0 });
  }
  return records;
}

function sends(effects: Effect[]): Extract<Effect, { kind: 'send' }>[] {
  return effects.filter((effect): effect is Extract<Effect, { kind: 'send' }> => effect.kind === 'send');
}

test('in sync: one round trip of two messages under 256 bytes', () => {
  const records = makeRecords(1_000);
  const a = new Replica(ID_A, records);
  const b = new Replica(ID_B, records);
  const pump = new Pump([a, b]);
  pump.linkUp(a, b, 0);
  pump.run(1);
  assert.deepEqual(pump.delivered.map((delivery) => [delivery.from, delivery.message.type]), [[ID_A, 'aeRoot'], [ID_B, 'aeInSync']]);
  const bytes = pump.delivered.reduce((sum, delivery) => sum + delivery.packedBytes, 0);
  assert.ok(bytes < 256, `in-sync round took ${bytes} bytes`);
  for (const replica of [a, b]) assert.equal(replica.antiEntropy.counters().rounds_in_sync, 1);
});

test('the higher id starts its own round if none arrives after link-up', () => {
  const b = new Replica(ID_B, makeRecords(3));
  const out: Effect[] = [];
  b.antiEntropy.onLinkUp(ID_A, 0, out);
  assert.deepEqual(out, []);
  assert.equal(b.antiEntropy.nextDeadlineMs(), AE_LINK_UP_ANSWER_GRACE_MS);
  b.antiEntropy.onTick(AE_LINK_UP_ANSWER_GRACE_MS, out);
  assert.deepEqual(sends(out).map((effect) => effect.message.type), ['aeRoot']);
});

test('crossing starts run a single round: the lower id wins', () => {
  const records = makeRecords(50);
  const a = new Replica(ID_A, records);
  const b = new Replica(ID_B, records.slice(10));
  const pump = new Pump([a, b]);
  pump.linkUp(a, b, 0);
  pump.run(0);
  const outA: Effect[] = [];
  const outB: Effect[] = [];
  // Both due at once (b, the responder of the link-up round, waits longer by itself).
  const bothDueMs = INTERVAL_MS * AE_RESPONDER_INTERVAL_FACTOR;
  a.antiEntropy.onTick(bothDueMs, outA);
  b.antiEntropy.onTick(bothDueMs, outB);
  pump.take(ID_A, outA);
  pump.take(ID_B, outB);
  pump.run(bothDueMs);
  assert.deepEqual(pump.delivered.filter((delivery) => delivery.message.type === 'aeRoot').map((delivery) => delivery.from), [ID_A, ID_A, ID_B]);
  assert.equal(pump.delivered.filter((delivery) => delivery.message.type === 'aeInSync').length, 1);
  for (const replica of [a, b]) assert.deepEqual(replica.antiEntropy.status().map((status) => [status.rounds, status.inProgress]), [[2, false]]);
});

test('a link-up round repairs a difference both ways counted in status', () => {
  const records = makeRecords(50);
  const a = new Replica(ID_A, records);
  const b = new Replica(ID_B, [...records.slice(10), ...makeRecords(5, 'b-only')]);
  const pump = new Pump([a, b]);
  pump.linkUp(a, b, 0);
  pump.run(1);
  assert.equal(pump.delivered.filter((delivery) => delivery.message.type === 'aeDiff').length, 1);
  assert.deepEqual(describeRecords(b.view.all()), describeRecords(a.view.all()));
  assert.equal(countRecords(a.view), 55);
  for (const replica of [a, b]) assert.deepEqual(replica.antiEntropy.status().map((status) => [status.rounds, status.inProgress]), [[1, false]]);
  assert.equal(b.antiEntropy.status()[0]!.keysReceived, 10);
  assert.equal(a.antiEntropy.status()[0]!.keysSent, 10);
  assert.equal(a.antiEntropy.status()[0]!.keysReceived, 5);
});

test('an empty node receives 100k keys in bounded batches with progress logs', () => {
  const records = makeRecords(100_000);
  const a = new Replica(ID_A, records);
  const b = new Replica(ID_B, []);
  const pump = new Pump([a, b], false);
  pump.linkUp(a, b, 0);
  pump.run(1);
  assert.equal(countRecords(b.view), 100_000);
  assert.deepEqual(b.tree.root(), a.tree.root());
  let recordsPerMessageMax = 0;
  let parentsPerMessageMax = 0;
  for (const { message } of pump.delivered) {
    if (message.type === 'aeRecords') recordsPerMessageMax = Math.max(recordsPerMessageMax, message.records.length);
    if (message.type === 'aeNodes') parentsPerMessageMax = Math.max(parentsPerMessageMax, message.parents.length);
  }
  assert.equal(recordsPerMessageMax, DEFAULT_CORE_CONFIG.antiEntropyBatchRecordsMax);
  assert.ok(parentsPerMessageMax <= AE_NODES_PARENTS_PER_MESSAGE_MAX);
  assert.ok(pump.inFlightMax <= 2, 'backpressure keeps at most two batches unacknowledged');
  const messages = a.logs.map((log) => log.message);
  assert.ok(messages.includes('anti-entropy sync in progress'));
  assert.ok(messages.includes('anti-entropy round complete'));
  assert.equal(a.antiEntropy.counters().records_sent, 100_000);
  assert.equal(b.antiEntropy.counters().records_received, 100_000);
});

test('large values are batched by bytes', () => {
  const value = new Uint8Array(300_000);
  const records = makeRecords(20).map((record) => ({ ...record, value }));
  const a = new Replica(ID_A, records);
  const b = new Replica(ID_B, []);
  const pump = new Pump([a, b], false);
  pump.linkUp(a, b, 0);
  pump.run(1);
  assert.equal(countRecords(b.view), 20);
  for (const { message } of pump.delivered) if (message.type === 'aeRecords') assert.ok(message.records.length <= 3);
});

test('link down mid-round abandons the round; the next link-up completes it', () => {
  const a = new Replica(ID_A, makeRecords(5_000));
  const b = new Replica(ID_B, makeRecords(100, 'other'));
  const pump = new Pump([a, b], false);
  pump.linkUp(a, b, 0);
  while (!pump.delivered.some((delivery) => delivery.message.type === 'aeRecords')) pump.step(1);
  a.antiEntropy.onLinkDown(ID_B);
  b.antiEntropy.onLinkDown(ID_A);
  for (const replica of [a, b]) {
    assert.deepEqual(replica.antiEntropy.status(), []);
    assert.equal(replica.antiEntropy.nextDeadlineMs(), Number.POSITIVE_INFINITY);
  }
  const countBefore = countRecords(b.view);
  const queued = pump.queue.length;
  pump.run(2); // late messages of the dead link
  assert.equal(pump.delivered.length > 0 && pump.queue.length, 0);
  assert.equal(countRecords(b.view), countBefore, 'nothing from a dead session is merged');
  assert.ok(a.antiEntropy.counters().messages_ignored + b.antiEntropy.counters().messages_ignored >= queued);
  pump.linkUp(a, b, 3);
  pump.run(4);
  assert.equal(countRecords(b.view), 5_100);
  assert.deepEqual(a.tree.root(), b.tree.root());
});

test('a stuck round times out, tells the peer, and a new round starts one interval later', () => {
  const a = new Replica(ID_A, makeRecords(10));
  const out: Effect[] = [];
  a.antiEntropy.onLinkUp(ID_B, 0, out);
  assert.equal(sends(out)[0]!.message.type, 'aeRoot');
  assert.equal(a.antiEntropy.nextDeadlineMs(), AE_SESSION_IDLE_TIMEOUT_MS);
  const early: Effect[] = [];
  a.antiEntropy.onTick(AE_SESSION_IDLE_TIMEOUT_MS - 1, early);
  assert.deepEqual(early, []);
  const late: Effect[] = [];
  a.antiEntropy.onTick(AE_SESSION_IDLE_TIMEOUT_MS, late);
  assert.deepEqual(sends(late).map((effect) => effect.message.type), ['aeAbort']);
  assert.ok(late.some((effect) => effect.kind === 'log' && effect.level === 'warn'));
  assert.equal(a.antiEntropy.counters().sessions_timed_out, 1);
  assert.equal(a.antiEntropy.nextDeadlineMs(), AE_SESSION_IDLE_TIMEOUT_MS + INTERVAL_MS);
  const next: Effect[] = [];
  a.antiEntropy.onTick(AE_SESSION_IDLE_TIMEOUT_MS + INTERVAL_MS, next);
  assert.deepEqual(sends(next).map((effect) => effect.message.type), ['aeRoot']);
});

test('periodic rounds: one per interval per pair, the initiator keeps the role', () => {
  const records = makeRecords(20);
  const a = new Replica(ID_A, records);
  const b = new Replica(ID_B, records);
  const pump = new Pump([a, b]);
  pump.linkUp(a, b, 0);
  pump.run(0);
  assert.equal(a.antiEntropy.nextDeadlineMs(), INTERVAL_MS);
  assert.equal(b.antiEntropy.nextDeadlineMs(), INTERVAL_MS * AE_RESPONDER_INTERVAL_FACTOR);
  for (let round = 1; round <= 3; round++) {
    const nowMs = round * INTERVAL_MS;
    const outA: Effect[] = [];
    a.antiEntropy.onTick(nowMs, outA);
    pump.take(ID_A, outA);
    pump.run(nowMs);
    const outB: Effect[] = [];
    b.antiEntropy.onTick(nowMs, outB);
    assert.deepEqual(outB, [], 'b took part in a\'s round, so it is not due');
  }
  assert.equal(a.antiEntropy.status()[0]!.rounds, 4);
  assert.equal(b.antiEntropy.status()[0]!.rounds, 4);
});

test('periodic rounds with link latency never cross: two messages per round', () => {
  const records = makeRecords(20);
  const a = new Replica(ID_A, records);
  const b = new Replica(ID_B, records);
  const replicas = new Map([[ID_A, a], [ID_B, b]]);
  const LATENCY_MS = 1;
  // Deliver every message LATENCY_MS after it was sent; tick both sides every millisecond.
  let inFlight: { atMs: number; from: string; to: string; message: Extract<Effect, { kind: 'send' }>['message'] }[] = [];
  const send = (from: string, effects: Effect[], nowMs: number) => {
    for (const effect of sends(effects)) inFlight.push({ atMs: nowMs + LATENCY_MS, from, to: effect.to, message: effect.message });
  };
  const initial: Effect[] = [];
  a.antiEntropy.onLinkUp(ID_B, 0, initial);
  send(ID_A, initial, 0);
  const quiet: Effect[] = [];
  b.antiEntropy.onLinkUp(ID_A, 0, quiet);
  send(ID_B, quiet, 0);
  let messages = initial.length + quiet.length;
  const endMs = INTERVAL_MS * 6 + 100;
  // Timers first, then the messages of the same millisecond: a timer that fires just before
  // the peer's aeRoot is read starts a crossing round, as a real event loop may.
  for (let nowMs = 1; nowMs <= endMs; nowMs++) {
    for (const [id, replica] of replicas) {
      if (replica.antiEntropy.nextDeadlineMs() > nowMs) continue;
      const out: Effect[] = [];
      replica.antiEntropy.onTick(nowMs, out);
      messages += sends(out).length;
      send(id, out, nowMs);
    }
    const due = inFlight.filter((entry) => entry.atMs <= nowMs);
    inFlight = inFlight.filter((entry) => entry.atMs > nowMs);
    for (const entry of due) {
      const out: Effect[] = [];
      replicas.get(entry.to)!.antiEntropy.onMessage(entry.from, entry.message as never, nowMs, out);
      messages += sends(out).length;
      send(entry.to, out, nowMs);
    }
  }
  const rounds = a.antiEntropy.status()[0]!.rounds;
  assert.equal(rounds, 7, 'one round at link-up and one per interval');
  assert.equal(messages, rounds * 2, `${messages} messages for ${rounds} rounds`);
});

test('an abort from the peer ends the session', () => {
  const a = new Replica(ID_A, makeRecords(10));
  const out: Effect[] = [];
  a.antiEntropy.onLinkUp(ID_B, 0, out);
  const root = sends(out)[0]!.message;
  assert.ok(root.type === 'aeRoot');
  a.antiEntropy.onMessage(ID_B, { type: 'aeAbort', session: root.session }, 5, []);
  assert.equal(a.antiEntropy.status()[0]!.inProgress, false);
  assert.equal(a.antiEntropy.nextDeadlineMs(), 5 + INTERVAL_MS);
});

test('malformed messages are rejected', () => {
  const record = { key: utf8('k'), value: null, hlc: { wallMs: 1, logical: 0 }, origin: ID_A, expiresAtMs: 0 };
  const valid = [
    { type: 'aeRoot', session: 1, hash: new Uint8Array(8) },
    { type: 'aeInSync', session: 1 },
    { type: 'aeNodes', session: 1, level: 2, parents: [0, 15], hashes: new Uint8Array(256), done: true },
    { type: 'aeDiff', session: 1, ranges: [0, 3, 3, 65_536] },
    { type: 'aeDiff', session: 1, ranges: [] },
    { type: 'aeRecords', session: 1, seq: 0, records: [record], done: false },
    { type: 'aeAck', session: 1, seq: 0 },
    { type: 'aeAbort', session: 1 },
  ];
  for (const message of valid) assert.ok(isAntiEntropyMessage(message), JSON.stringify(message));
  const invalid: unknown[] = [
    null, 7, 'aeRoot', [], {}, { type: 'aeRoot' },
    { type: 'aeWhat', session: 1 },
    { type: 'aeRoot', session: -1, hash: new Uint8Array(8) },
    { type: 'aeRoot', session: 1.5, hash: new Uint8Array(8) },
    { type: 'aeRoot', session: 1, hash: new Uint8Array(7) },
    { type: 'aeRoot', session: 1, hash: [0, 0, 0, 0, 0, 0, 0, 0] },
    { type: 'aeNodes', session: 1, level: 0, parents: [], hashes: new Uint8Array(0), done: true },
    { type: 'aeNodes', session: 1, level: 5, parents: [], hashes: new Uint8Array(0), done: true },
    { type: 'aeNodes', session: 1, level: 2, parents: [16], hashes: new Uint8Array(128), done: true },
    { type: 'aeNodes', session: 1, level: 2, parents: [3, 3], hashes: new Uint8Array(256), done: true },
    { type: 'aeNodes', session: 1, level: 2, parents: [4, 3], hashes: new Uint8Array(256), done: true },
    { type: 'aeNodes', session: 1, level: 2, parents: [3], hashes: new Uint8Array(127), done: true },
    { type: 'aeNodes', session: 1, level: 2, parents: [3], hashes: new Uint8Array(128), done: 'yes' },
    { type: 'aeNodes', session: 1, level: 4, parents: Array.from({ length: 257 }, (_, index) => index), hashes: new Uint8Array(257 * 128), done: true },
    { type: 'aeDiff', session: 1, ranges: [0] },
    { type: 'aeDiff', session: 1, ranges: [3, 3] },
    { type: 'aeDiff', session: 1, ranges: [5, 9, 2, 4] },
    { type: 'aeDiff', session: 1, ranges: [0, 65_537] },
    { type: 'aeDiff', session: 1, ranges: new Array(65_538).fill(0) },
    { type: 'aeRecords', session: 1, seq: 0, records: [{ ...record, origin: 'x' }], done: false },
    { type: 'aeRecords', session: 1, seq: 0, records: [record], done: 1 },
    { type: 'aeRecords', session: 1, seq: 0, records: new Array(10_001).fill(record), done: false },
    { type: 'aeAck', session: 1 },
  ];
  for (const message of invalid) assert.equal(isAntiEntropyMessage(message), false, String(JSON.stringify(message)).slice(0, 120));
});

test('messages from unlinked peers and for unknown sessions are ignored', () => {
  const a = new Replica(ID_A, makeRecords(10));
  const out: Effect[] = [];
  assert.deepEqual(a.antiEntropy.onMessage(ID_B, { type: 'aeRoot', session: 3, hash: new Uint8Array(8) }, 0, out), []);
  a.antiEntropy.onLinkUp(ID_B, 0, out);
  out.length = 0;
  const stray = a.antiEntropy.onMessage(ID_B, { type: 'aeRecords', session: 999, seq: 0, records: makeRecords(1), done: true }, 0, out);
  assert.deepEqual(stray, []);
  assert.deepEqual(out, []);
  assert.equal(a.antiEntropy.counters().messages_ignored, 2);
});

/** An empty node freshId linked at time 0 to A and to otherId, both holding records; link-up rounds run. */
function joinEmpty(freshId: string, otherId: string, records: VersionedRecord[]): { fresh: Replica; a: Replica; pump: Pump } {
  const fresh = new Replica(freshId, []);
  const a = new Replica(ID_A, records);
  const other = new Replica(otherId, records);
  const pump = new Pump([fresh, a, other]);
  pump.linkUp(fresh, a, 0);
  pump.linkUp(fresh, other, 0);
  pump.run(0);
  return { fresh, a, pump };
}

test('an empty node joining two full peers pulls every record once, one round at a time', () => {
  const records = makeRecords(2_000);
  const ID_NEW = '01'.repeat(16); // lowest id: it starts the link-up rounds itself
  const { fresh, a, pump } = joinEmpty(ID_NEW, 'c0'.repeat(16), records);
  assert.equal(fresh.antiEntropy.counters().records_received, records.length, 'the second round waits for the first');
  assert.equal(fresh.antiEntropy.counters().rounds_deferred_busy, 1);
  // The deferred round runs once the first is over, and finds the pair in sync.
  const retryMs = AE_BUSY_RETRY_MS;
  const out: Effect[] = [];
  fresh.antiEntropy.onTick(retryMs, out);
  pump.take(ID_NEW, out);
  pump.run(retryMs);
  assert.equal(fresh.antiEntropy.counters().records_received, records.length);
  assert.deepEqual(fresh.antiEntropy.status().map((status) => status.rounds), [1, 1]);
  assert.equal(fresh.antiEntropy.counters().rounds_in_sync, 1);
  assert.deepEqual(describeRecords(fresh.view.all()), describeRecords(a.view.all()));
});

test('a round arriving while another runs is refused with an abort and repairs later', () => {
  const records = makeRecords(500);
  const { fresh, a } = joinEmpty('f0'.repeat(16), ID_B, records); // highest id: the peers start the rounds
  assert.equal(fresh.antiEntropy.counters().rounds_refused_busy, 1);
  assert.equal(fresh.antiEntropy.counters().records_received, records.length);
  assert.deepEqual(describeRecords(fresh.view.all()), describeRecords(a.view.all()));
});

test('a round stuck on a silent peer holds up rounds with others for AE_BUSY_IDLE_MS only', () => {
  const ID_NEW = '01'.repeat(16);
  const ID_C = 'c0'.repeat(16);
  const fresh = new Replica(ID_NEW, makeRecords(10));
  const out: Effect[] = [];
  fresh.antiEntropy.onLinkUp(ID_A, 0, out); // A never answers (its frames are dropped, say)
  assert.deepEqual(sends(out).map((effect) => [effect.to, effect.message.type]), [[ID_A, 'aeRoot']]);
  out.length = 0;
  fresh.antiEntropy.onLinkUp(ID_C, 10, out);
  assert.deepEqual(out, [], 'the round with A just started: C waits');
  assert.equal(fresh.antiEntropy.counters().rounds_deferred_busy, 1);
  fresh.antiEntropy.onTick(AE_BUSY_IDLE_MS - 1, out);
  assert.deepEqual(out, [], 'still within the idle allowance');
  fresh.antiEntropy.onTick(AE_BUSY_IDLE_MS + AE_BUSY_RETRY_MS, out);
  assert.deepEqual(sends(out).map((effect) => [effect.to, effect.message.type]), [[ID_C, 'aeRoot']], 'A went quiet: C gets its round');
});

test('a big bucket is compared by sub-digests: one changed field of a 20,000-field hash moves a few rows, both ways', () => {
  const key = utf8('big-hash');
  const fields = (count: number, wallMs: number) =>
    Array.from({ length: count }, (_, index): VersionedRecord => ({ key: rowKey(key, RowKind.Field, utf8(`f${index}`)), value: utf8('v'), hlc: { wallMs, logical: index }, origin: ID_A, expiresAtMs: 0 }));
  const shared = fields(20_000, 1_000);
  const onlyA: VersionedRecord = { key: rowKey(key, RowKind.Field, utf8('new-on-a')), value: utf8('a'), hlc: { wallMs: 5_000, logical: 0 }, origin: ID_A, expiresAtMs: 0 };
  const changedOnB: VersionedRecord = { ...shared[7]!, value: utf8('b'), hlc: { wallMs: 6_000, logical: 0 }, origin: ID_B };
  const a = new Replica(ID_A, [...shared, onlyA]);
  const b = new Replica(ID_B, [...shared.filter((_, index) => index !== 7), changedOnB]);
  const pump = new Pump([a, b]);
  pump.linkUp(a, b, 0);
  pump.run(0);
  assert.deepEqual(describeRecords(a.view.all()), describeRecords(b.view.all()));
  const moved = pump.delivered.filter((delivery) => delivery.message.type === 'aeRecords').reduce((sum, delivery) => sum + (delivery.message as unknown as { records: unknown[] }).records.length, 0);
  assert.ok(moved > 0 && moved < 200, `moved ${moved} rows, expected a few sub-ranges' worth`);
  assert.equal(pump.delivered.filter((delivery) => delivery.message.type === 'aeBucketDigest').length, 2);
});

test('a big bucket whose peer has it small (or no digest arrives) is still exchanged whole', () => {
  const key = utf8('big-hash');
  const fields = Array.from({ length: 3_000 }, (_, index): VersionedRecord => ({ key: rowKey(key, RowKind.Field, utf8(`f${index}`)), value: utf8('v'), hlc: { wallMs: 1_000, logical: index }, origin: ID_A, expiresAtMs: 0 }));
  const a = new Replica(ID_A, fields);
  const b = new Replica(ID_B, fields.slice(0, 10));
  const pump = new Pump([a, b]);
  pump.linkUp(a, b, 0);
  pump.run(0);
  assert.deepEqual(describeRecords(a.view.all()), describeRecords(b.view.all()));
});

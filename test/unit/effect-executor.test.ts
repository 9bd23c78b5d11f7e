// Proves the effect executor reports each commit once (its tokens to the core, one promise to every client write in it, after the commit only), fails its writes without reporting, and keeps one wake timer at the newest deadline.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Effect, Input } from '../../src/core/io.js';
import { Commit, EffectExecutor, WAKE_DELAY_MS_MAX, type EffectIo, type PersistEffect } from '../../src/runtime/effects.js';

/** An I/O that puts every persist into the commit the test names. */
function setup() {
  const fed: Input[] = [];
  const timers: (number | undefined)[] = [];
  let current = new Commit();
  let nowMs = 1_000;
  const io: EffectIo = {
    nowMs: () => nowMs,
    feed: (input) => fed.push(input),
    send: () => undefined,
    connect: () => undefined,
    disconnect: () => undefined,
    announce: () => undefined,
    persist: () => current,
    saveMeta: () => undefined,
    applied: () => undefined,
    published: () => undefined,
    waitDone: () => undefined,
    quorumReadDone: () => undefined,
    setWakeTimer: (delayMs) => timers.push(delayMs),
    log: () => undefined,
  };
  const executor = new EffectExecutor(io);
  return {
    executor, fed, timers,
    nextCommit: () => (current = new Commit()),
    setNow: (ms: number) => (nowMs = ms),
  };
}

const tick: Input = { kind: 'tick', nowMs: 0 };
const persist = (token: number, requestId: number, writeSeq: number): PersistEffect => ({ kind: 'persist', token, requestId, writeSeq, records: [], purgeKeys: [] });
const settledState = async (promise: Promise<unknown>) => Promise.race([promise.then(() => 'resolved', () => 'rejected'), new Promise((resolve) => setImmediate(() => resolve('pending')))]);

test('the persists of one commit are reported once, and their client writes share one promise resolved after the commit', async () => {
  const { executor, fed, nextCommit } = setup();
  const commit = nextCommit();
  executor.execute([persist(1, 7, 3)], tick);
  const first = executor.clientCommit().acknowledged();
  executor.execute([persist(2, 0, 0), persist(3, 8, 4)], tick);
  const second = executor.clientCommit().acknowledged();
  assert.equal(first, second, 'one promise per commit');
  assert.equal(await settledState(first), 'pending', 'nothing acknowledged before its commit');
  assert.deepEqual(fed, []);
  executor.committed(commit);
  executor.committed(commit);
  assert.equal(await first, 4, 'the newest write sequence of the commit');
  assert.deepEqual(fed, [{ kind: 'persisted', nowMs: 1_000, tokens: [1, 2, 3] }], 'reported once');
});

test('a failed commit rejects its client writes and is never reported to the core', async () => {
  const { executor, fed, nextCommit } = setup();
  const commit = nextCommit();
  executor.execute([persist(1, 7, 1)], tick);
  const write = executor.clientCommit().acknowledged();
  executor.failed(commit, new Error('disk full'));
  await assert.rejects(write, /disk full/);
  executor.committed(commit);
  assert.deepEqual(fed, []);
});

test('one wake timer, at the newest deadline; an unchanged deadline keeps it', () => {
  const { executor, fed, timers, setNow } = setup();
  const wake = (deadlineMs: number): Effect[] => [{ kind: 'wakeAt', deadlineMs }];
  executor.execute(wake(1_500), tick);
  executor.execute(wake(1_500), tick);
  assert.deepEqual(timers, [500]);
  executor.execute(wake(Infinity), tick);
  executor.execute(wake(1_000 + 10 * WAKE_DELAY_MS_MAX), tick);
  executor.execute(wake(900), tick);
  assert.deepEqual(timers, [500, undefined, WAKE_DELAY_MS_MAX, 0]);
  setNow(2_000);
  executor.woke();
  assert.deepEqual(fed, [{ kind: 'tick', nowMs: 2_000 }]);
  executor.execute(wake(900), tick);
  assert.deepEqual(timers, [500, undefined, WAKE_DELAY_MS_MAX, 0, 0], 'after waking, the same deadline sets a timer again');
});

test('whenSettled calls back once the commit settles, before its promise reactions, and at once when it already has', async () => {
  const { executor, nextCommit } = setup();
  const commit = nextCommit();
  executor.execute([persist(1, 7, 5)], tick);
  const order: string[] = [];
  void executor.clientCommit().acknowledged().then(() => order.push('promise'));
  commit.whenSettled((writeSeq, error) => order.push(`callback ${writeSeq} ${String(error)}`));
  assert.equal(order.length, 0);
  executor.committed(commit);
  commit.whenSettled((writeSeq) => order.push(`late ${writeSeq}`));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(order, ['callback 5 undefined', 'late 5', 'promise']);
  const failing = nextCommit();
  executor.execute([persist(2, 8, 6)], tick);
  void executor.clientCommit().acknowledged(); // nobody awaits it: its failure must not go unhandled
  const errors: unknown[] = [];
  failing.whenSettled((_writeSeq, error) => errors.push(error));
  executor.failed(failing, new Error('disk full'));
  assert.match(String(errors[0]), /disk full/);
  await new Promise((resolve) => setImmediate(resolve));
});

// Proves the runtime's persistence groups the persists of one LMDB transaction into one Commit reported once when it commits, saves the clock bound only when stamps reach it (in the same transaction), and logs and reports a failed commit once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utf8 } from '../../src/core/bytes.js';
import type { Hlc, VersionedRecord } from '../../src/core/types.js';
import { decodeHlc, META_HLC } from '../../src/runtime/identity.js';
import type { Logger } from '../../src/runtime/logger.js';
import type { Commit } from '../../src/runtime/effects.js';
import { HLC_SAVE_LEASE_MS, Persistence } from '../../src/runtime/persistence.js';
import type { Store, WriteBatch } from '../../src/storage/store.js';
import { recordingLogger } from '../support/memory-engine.js';

/** A store whose writes of one "transaction" share one promise, settled by the test. */
class FakeStore {
  readonly writes: WriteBatch[] = [];
  readonly meta: { name: string; value: Uint8Array; transaction: number }[] = [];
  transaction = 0;
  private current: { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } | undefined;

  write(batch: WriteBatch): Promise<void> {
    this.writes.push(batch);
    return this.open().promise;
  }

  putMeta(name: string, value: Uint8Array): Promise<void> {
    this.meta.push({ name, value, transaction: this.transaction });
    return this.open().promise;
  }

  /** End the current transaction: it commits (or fails) and the next write starts another. */
  commit(error?: Error): void {
    const current = this.current!;
    this.current = undefined;
    this.transaction++;
    if (error === undefined) current.resolve();
    else current.reject(error);
  }

  private open() {
    if (this.current === undefined) {
      let resolve!: () => void;
      let reject!: (error: Error) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      promise.catch(() => undefined);
      this.current = { promise, resolve, reject };
    }
    return this.current;
  }
}

function record(key: string, wallMs: number): VersionedRecord {
  return { key: utf8(key), value: utf8('v'), hlc: { wallMs, logical: 0 }, origin: '0a'.repeat(16), expiresAtMs: 0 };
}

function setup(savedClockMs: number) {
  const store = new FakeStore();
  const { logger, lines } = recordingLogger();
  let clock: Hlc = { wallMs: savedClockMs, logical: 0 };
  const reported: Commit[] = [];
  const failed: Commit[] = [];
  const persistence = new Persistence({
    store: store as unknown as Store,
    logger: logger as unknown as Logger,
    savedClockMs,
    lastStamp: () => clock,
    onCommitted: (commit) => reported.push(commit),
    onFailed: (commit) => failed.push(commit),
  });
  return { store, lines, persistence, reported, failed, stamp: (wallMs: number) => (clock = { wallMs, logical: 0 }) };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

test('the writes of one transaction share one commit, reported once after it commits', async () => {
  const { store, persistence, reported, stamp } = setup(1_000);
  stamp(900);
  const first = persistence.persist([record('a', 900)], []);
  const second = persistence.persist([record('b', 900)], []);
  assert.equal(first, second, 'one commit for the whole transaction');
  assert.deepEqual(reported, [], 'not before it commits');
  store.commit();
  await nextTurn();
  assert.deepEqual(reported, [first]);
  const third = persistence.persist([record('c', 900)], []);
  assert.notEqual(third, first, 'a new transaction, a new commit');
  const empty = persistence.persist([], []);
  assert.equal(empty, third, 'nothing to write: it waits with the transaction being filled');
  store.commit();
  await nextTurn();
  assert.deepEqual(reported, [first, third]);
});

test('the clock bound is saved only when stamps reach it, in the transaction of those records', async () => {
  const { store, persistence, stamp } = setup(1_000);
  stamp(999);
  void persistence.persist([record('a', 999)], []);
  assert.equal(store.meta.length, 0, 'the saved bound still covers 999');
  stamp(1_000);
  void persistence.persist([record('b', 1_000)], []);
  assert.equal(store.meta.length, 1);
  assert.equal(store.meta[0]!.name, META_HLC);
  assert.deepEqual(decodeHlc(store.meta[0]!.value), { wallMs: 1_000 + HLC_SAVE_LEASE_MS, logical: 0 });
  assert.equal(store.meta[0]!.transaction, 0, 'same transaction as record b');
  stamp(1_000 + HLC_SAVE_LEASE_MS - 1);
  void persistence.persist([record('c', 1_050)], []);
  assert.equal(store.meta.length, 1, 'covered until the bound');
  void persistence.persist([], [utf8('gone')]);
  assert.equal(store.meta.length, 1, 'a purge stamps nothing');
  store.commit();
  await persistence.settled();
});

test('a failed commit is logged once and reported failed, not committed', async () => {
  const { store, persistence, reported, failed, lines } = setup(10_000);
  const first = persistence.persist([record('a', 1)], []);
  const second = persistence.persist([record('b', 1)], []);
  store.commit(new Error('disk full'));
  await nextTurn();
  assert.deepEqual(failed, [first]);
  assert.equal(second, first);
  assert.deepEqual(reported, [], 'nothing reported as persisted');
  assert.equal(lines.filter((line) => line.level === 'error' && line.msg === 'storage write failed').length, 1);
  await persistence.settled();
});

// Proves a transaction's reads see its collected writes exactly as the core applies them: after any prefix of random row writes (headers with and without expiry, clears, fields, counter slots, FLUSHALL) over any stored state, every get, scanRows page, scan and keyCount through the TransactionEngine equals the same read of a node that committed that prefix as one client write.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { utf8 } from '../../src/core/bytes.js';
import type { ClientWrite } from '../../src/core/io.js';
import {
  clearRowKey,
  encodeSlotTotal,
  encodeStringHeader,
  FLUSH_ROW_KEY,
  headerRowKey,
  keyPrefix,
  rowKey,
  RowKind,
  slotElement,
  slotPrefix,
} from '../../src/core/rows.js';
import type { VersionedRecord } from '../../src/core/types.js';
import { TransactionEngine } from '../../src/server/transaction-engine.js';
import type { Engine } from '../../src/server/engine.js';
import { MemoryEngine } from '../support/memory-engine.js';

const START_MS = 1_800_000_000_000;
const USER_KEYS = ['a', 'b', 'c'].map(utf8);
const FIELDS = ['f', 'g'].map(utf8);
const ORIGINS = ['1'.repeat(32), '2'.repeat(32)];
const EMPTY = new Uint8Array(0);

/** Every row key the writes below can touch. */
const ROWS: Uint8Array[] = USER_KEYS.flatMap((key) => [
  clearRowKey(key),
  headerRowKey(key),
  ...FIELDS.map((field) => rowKey(key, RowKind.Field, field)),
  ...ORIGINS.map((origin) => rowKey(key, RowKind.Slot, slotElement(EMPTY, origin))),
]);

const write: fc.Arbitrary<ClientWrite> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ key: fc.nat(2), value: fc.string({ maxLength: 3 }), expiry: fc.constantFrom(0, 0, -5, 5, 1_000) }).map(({ key, value, expiry }) => ({ key: headerRowKey(USER_KEYS[key]!), value: encodeStringHeader(utf8(value)), expiresAtMs: expiry === 0 ? 0 : START_MS + expiry })) },
  { weight: 2, arbitrary: fc.nat(2).map((key) => ({ key: clearRowKey(USER_KEYS[key]!), value: null, expiresAtMs: 0 })) },
  { weight: 3, arbitrary: fc.record({ key: fc.nat(2), field: fc.nat(1), value: fc.option(fc.string({ maxLength: 3 }), { nil: null }) }).map(({ key, field, value }) => ({ key: rowKey(USER_KEYS[key]!, RowKind.Field, FIELDS[field]!), value: value === null ? null : utf8(value), expiresAtMs: 0 })) },
  { weight: 3, arbitrary: fc.record({ key: fc.nat(2), origin: fc.nat(1), total: fc.integer({ min: -5, max: 5 }) }).map(({ key, origin, total }) => ({ key: rowKey(USER_KEYS[key]!, RowKind.Slot, slotElement(EMPTY, ORIGINS[origin]!)), value: encodeSlotTotal({ integer: BigInt(total), float: 0 }), expiresAtMs: 0 })) },
  { weight: 1, arbitrary: fc.constant({ key: FLUSH_ROW_KEY, value: null, expiresAtMs: 0 }) },
);

/** A row as a reader sees it: its value and expiry, or absent (missing or tombstone). */
function seen(record: VersionedRecord | undefined): string {
  if (record === undefined || record.value === null) return 'absent';
  return `${Buffer.from(record.value).toString('hex')}@${record.expiresAtMs}`;
}

function scanAll(engine: Engine, prefix: Uint8Array, limit: number): string[] {
  const rows: string[] = [];
  let after: Uint8Array | undefined;
  for (;;) {
    const page = engine.scanRows(prefix, after, limit);
    for (const record of page.records) if (record.value !== null) rows.push(`${Buffer.from(record.key).toString('hex')}=${seen(record)}`);
    if (page.done || page.records.length === 0) return rows;
    after = page.records[page.records.length - 1]!.key;
  }
}

function liveKeys(engine: Engine): string[] {
  const keys: string[] = [];
  let cursor = 0;
  do {
    const page = engine.scan(cursor, 1);
    for (const key of page.keys) keys.push(Buffer.from(key).toString('latin1'));
    cursor = page.cursor;
  } while (cursor !== 0);
  return keys.sort();
}

/** A node at `nowMs` that committed `setup` (one write each, the clock moving on between) and then `batch` as one write. */
function node(setup: readonly ClientWrite[][], batch: readonly ClientWrite[], nowMs: number): MemoryEngine {
  let clockMs = START_MS - 100;
  const engine = new MemoryEngine({ nowMs: () => clockMs });
  for (const writes of setup) {
    void engine.write(writes);
    clockMs += 7;
  }
  clockMs = nowMs;
  if (batch.length > 0) void engine.write(batch);
  return engine;
}

test('reads through a transaction equal reads of a node that committed its writes as one batch', () => {
  fc.assert(
    fc.property(fc.array(fc.array(write, { minLength: 1, maxLength: 3 }), { maxLength: 8 }), fc.array(write, { minLength: 1, maxLength: 12 }), (setup, transaction) => {
      const base = node(setup, [], START_MS);
      const overlay = new TransactionEngine(base);
      for (let count = 1; count <= transaction.length; count++) {
        void overlay.write([transaction[count - 1]!]);
        const committed = node(setup, transaction.slice(0, count), START_MS);
        const context = `after ${count} of the transaction's writes`;
        for (const row of ROWS) assert.equal(seen(overlay.get(row)), seen(committed.get(row)), `${context}: row ${Buffer.from(row).toString('hex')}`);
        for (const key of USER_KEYS) {
          assert.deepEqual(scanAll(overlay, keyPrefix(key), 2), scanAll(committed, keyPrefix(key), 2), `${context}: rows of ${Buffer.from(key).toString()}`);
          assert.deepEqual(scanAll(overlay, slotPrefix(key, EMPTY), 1), scanAll(committed, slotPrefix(key, EMPTY), 1), `${context}: slots`);
          if (committed.mayHaveSlots(key) && scanAll(committed, slotPrefix(key, EMPTY), 10).length > 0) assert.ok(overlay.mayHaveSlots(key), `${context}: slots known`);
        }
        assert.deepEqual(liveKeys(overlay), liveKeys(committed), `${context}: scan`);
        assert.equal(overlay.keyCount(), committed.keyCount(), `${context}: key count`);
      }
      assert.equal(overlay.collected().length, transaction.length);
    }),
    { numRuns: 400 },
  );
});

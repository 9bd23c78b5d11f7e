// The core's typed-row semantics (DESIGN.md 6): clears remove the rows of their key stamped
// at or below them, in any arrival order; SET replaces a key of another type and observes
// counter slots; an expired key is cleared by the version its expiry implies; FLUSHALL; the
// list ends it remembers hold copies of their row keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesToMapKey, utf8 } from '../../src/core/bytes.js';
import { DEFAULT_CORE_CONFIG } from '../../src/core/config.js';
import { counterValue, readSlotTotals } from '../../src/core/counters.js';
import { createHlcClock, HLC_ZERO } from '../../src/core/hlc.js';
import type { ClientWrite } from '../../src/core/io.js';
import { Keyspace } from '../../src/core/keyspace.js';
import { MerkleTree } from '../../src/core/merkle.js';
import {
  clearRowKey,
  decodeHeader,
  encodeFieldValue,
  encodeHeader,
  encodeSlotTotal,
  encodeStringHeader,
  FLUSH_ROW_KEY,
  headerRowKey,
  KeyType,
  rowKey,
  RowKind,
  slotElement,
} from '../../src/core/rows.js';
import { TombstoneTracker } from '../../src/core/tombstones.js';
import type { VersionedRecord } from '../../src/core/types.js';
import { MemoryStore } from '../../src/storage/memory-store.js';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const KEY = utf8('k');
const NO_OBSERVED = new Map();

function replica(origin: string) {
  const store = new MemoryStore();
  const counters = new Proxy({} as Record<string, number>, { get: (target, name: string) => target[name] ?? 0 });
  const keyspace = new Keyspace(store, new MerkleTree(), new TombstoneTracker(origin, DEFAULT_CORE_CONFIG.tombstoneGraceMs), DEFAULT_CORE_CONFIG, counters);
  const clock = createHlcClock(HLC_ZERO, DEFAULT_CORE_CONFIG.hlcMaxOffsetMs);
  return {
    store,
    keyspace,
    write(writes: ClientWrite[], nowMs = 1_000): VersionedRecord[] {
      const changes = keyspace.stamp(writes, clock, origin, nowMs);
      void store.write({ records: changes.records, purgeKeys: changes.purgeKeys });
      return changes.records;
    },
    merge(records: VersionedRecord[], nowMs = 1_000): void {
      const changes = keyspace.merge(records, nowMs);
      void store.write({ records: changes.records, purgeKeys: changes.purgeKeys });
    },
    rows(): string[] {
      return store.scanBuckets(0, 65_536, 1_000_000).records.map((record) => `${Buffer.from(record.key).toString('hex')}@${record.hlc.wallMs}.${record.hlc.logical}`);
    },
  };
}

const hashHeader = (): ClientWrite => ({ key: headerRowKey(KEY), value: encodeHeader({ type: KeyType.Hash, base: undefined }), expiresAtMs: 0 });
const field = (name: string, value: string): ClientWrite => ({ key: rowKey(KEY, RowKind.Field, utf8(name)), value: encodeFieldValue({ bytes: utf8(value), observed: NO_OBSERVED }), expiresAtMs: 0 });
const clear = (): ClientWrite => ({ key: clearRowKey(KEY), value: null, expiresAtMs: 0 });

test('a clear removes the rows stamped before it, and a later row survives, whatever the arrival order', () => {
  const a = replica(A);
  const created = a.write([hashHeader(), field('f1', 'x'), field('f2', 'y')]);
  const cleared = a.write([clear()]);
  assert.equal(a.store.get(headerRowKey(KEY)), undefined);
  assert.equal(a.store.get(rowKey(KEY, RowKind.Field, utf8('f1'))), undefined);
  const b = replica(B);
  const recreated = b.write([hashHeader(), field('f3', 'z')], 2_000);
  for (const order of [[...created, ...cleared, ...recreated], [...recreated, ...cleared, ...created], [...cleared, ...recreated, ...created]]) {
    const c = replica('c'.repeat(32));
    for (const record of order) c.merge([record], 2_000);
    const d = replica('d'.repeat(32));
    d.merge([...order].reverse(), 2_000);
    assert.deepEqual(c.rows(), d.rows());
    assert.ok(c.store.get(rowKey(KEY, RowKind.Field, utf8('f3'))) !== undefined, 'the field stamped after the clear survives');
    assert.equal(c.store.get(rowKey(KEY, RowKind.Field, utf8('f1'))), undefined, 'no cleared field returns');
    assert.deepEqual(c.keyspace.tree.root(), d.keyspace.tree.root());
  }
});

test('SET over a hash clears it first; SET over a counter records the slots it observed', () => {
  const a = replica(A);
  a.write([hashHeader(), field('f1', 'x')]);
  a.write([{ key: headerRowKey(KEY), value: encodeStringHeader(utf8('v')), expiresAtMs: 0, replacesKey: true }]);
  assert.equal(a.store.get(rowKey(KEY, RowKind.Field, utf8('f1'))), undefined);
  assert.equal(decodeHeader(a.store.get(headerRowKey(KEY))!.value!)!.type, KeyType.String);
  const counter = utf8('n');
  const slotRow = (origin: string, total: bigint): ClientWrite => ({ key: rowKey(counter, RowKind.Slot, slotElement(new Uint8Array(0), origin)), value: encodeSlotTotal({ integer: total, float: 0 }), expiresAtMs: 0 });
  a.write([{ key: headerRowKey(counter), value: encodeStringHeader(utf8('0')), expiresAtMs: 0 }, slotRow(A, 5n)]);
  const b = replica(B);
  const fromB = b.write([slotRow(B, 3n)], 1_500);
  a.write([{ key: headerRowKey(counter), value: encodeStringHeader(utf8('10')), expiresAtMs: 0, replacesKey: true }]);
  const value = () => counterValue(decodeHeader(a.store.get(headerRowKey(counter))!.value!)!.base!, readSlotTotals(a.store, counter, new Uint8Array(0)));
  assert.deepEqual(value(), { kind: 'integer', value: 10n }, 'SET resets what it observed');
  a.merge(fromB, 1_500);
  assert.deepEqual(value(), { kind: 'integer', value: 13n }, 'an increment the SET did not observe still counts');
});

test('an expired key is cleared by its expiry, and a key created after it starts empty', () => {
  const a = replica(A);
  a.write([{ ...hashHeader(), expiresAtMs: 5_000 }, field('old', 'x')], 1_000);
  a.write([hashHeader(), field('new', 'y')], 6_000);
  assert.equal(a.store.get(rowKey(KEY, RowKind.Field, utf8('old'))), undefined);
  assert.ok(a.store.get(rowKey(KEY, RowKind.Field, utf8('new'))) !== undefined);
  assert.equal(a.store.get(clearRowKey(KEY))!.hlc.wallMs, 5_000);
});

test('FLUSHALL removes every row before it here and on a replica, later rows survive', () => {
  const a = replica(A);
  const before = a.write([hashHeader(), field('f', 'x'), { key: headerRowKey(utf8('s')), value: encodeStringHeader(utf8('v')), expiresAtMs: 0 }]);
  const flush = a.write([{ key: FLUSH_ROW_KEY, value: null, expiresAtMs: 0 }]);
  const after = a.write([{ key: headerRowKey(utf8('t')), value: encodeStringHeader(utf8('w')), expiresAtMs: 0 }]);
  assert.equal(a.keyspace.liveKeys, 1);
  const b = replica(B);
  b.merge([...after, ...flush, ...before]);
  assert.deepEqual(b.rows(), a.rows());
  assert.equal(b.keyspace.liveKeys, 1);
});

test('after a clear row is purged, a late copy of a row it removed is still refused', () => {
  const tracker = new TombstoneTracker(A, DEFAULT_CORE_CONFIG.tombstoneGraceMs);
  const field: VersionedRecord = { key: rowKey(KEY, RowKind.Field, utf8('f')), value: utf8('x'), hlc: { wallMs: 100, logical: 0 }, origin: B, expiresAtMs: 0 };
  const cleared: VersionedRecord = { key: clearRowKey(KEY), value: null, hlc: { wallMs: 200, logical: 0 }, origin: A, expiresAtMs: 0 };
  tracker.rememberPurged([cleared], 1_000);
  assert.equal(tracker.wasPurged(field, 2_000, bytesToMapKey(field.key)), true);
  assert.equal(tracker.wasPurged({ ...field, hlc: { wallMs: 300, logical: 0 } }, 2_000, bytesToMapKey(field.key)), false, 'a row written after the clear is welcome');
});

test('the server builds header row keys exactly as rows.ts does, short and long keys alike', async () => {
  const { headerRow } = await import('../../src/server/typed-keys.js');
  for (const length of [0, 1, 16, 254, 255, 256, 70_000]) {
    const key = new Uint8Array(length).fill(7);
    assert.deepEqual(new Uint8Array(headerRow(key)), headerRowKey(key));
  }
});

test('known list ends keep copies of the row keys they are given, not views into the reader\'s buffer', () => {
  const { keyspace } = replica('a'.repeat(32));
  const shared = new ArrayBuffer(64 * 1024);
  const viewOf = (text: string, at: number) => {
    const bytes = utf8(text);
    const view = new Uint8Array(shared, at, bytes.length);
    view.set(bytes);
    return view;
  };
  keyspace.setListEnds(utf8('queue'), { head: viewOf('head-row', 0), headNext: [viewOf('next-row', 64)] });
  const known = keyspace.listEnds(utf8('queue'))!;
  assert.deepEqual([known.head, ...known.headNext!], [utf8('head-row'), utf8('next-row')]);
  assert.ok([known.head!, ...known.headNext!].every((row) => row.buffer !== shared));
});

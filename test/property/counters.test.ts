// Proves counter rows converge: any history of increments (integer and float) from several origins and SET resets (each with the slots it observed), delivered in any order with duplicates and in any batches to two replicas, leaves both with identical rows and the value base + every increment the winning reset did not observe; and the counter helpers keep int64 exactness across wrapped slots.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { utf8 } from '../../src/core/bytes.js';
import { DEFAULT_CORE_CONFIG } from '../../src/core/config.js';
import { addInteger64, countedBytes, counterValue, formatFloat, incrementSlot, incrementSlotByFloat, INT64_MAX, INT64_MIN, observedSlots, parseInteger64, parseLongDouble } from '../../src/core/counters.js';
import { Keyspace } from '../../src/core/keyspace.js';
import { MerkleTree } from '../../src/core/merkle.js';
import { compareVersions } from '../../src/core/record.js';
import {
  decodeHeader,
  decodeSlotTotal,
  encodeHeader,
  encodeSlotTotal,
  headerRowKey,
  KeyType,
  OBSERVED_ORIGINS_MAX,
  parseRow,
  parseSlotElement,
  rowKey,
  RowKind,
  slotElement,
  slotPrefix,
  ZERO_SLOT,
  type SlotTotal,
} from '../../src/core/rows.js';
import { TombstoneTracker } from '../../src/core/tombstones.js';
import type { NodeId, VersionedRecord } from '../../src/core/types.js';
import { KEY_BUCKET_COUNT } from '../../src/core/bytes.js';
import { MemoryStore } from '../../src/storage/memory-store.js';

const KEY = utf8('counter');
const EMPTY = new Uint8Array(0);
const ORIGINS: readonly NodeId[] = ['1'.repeat(32), '2'.repeat(32), '3'.repeat(32), '4'.repeat(32)];
const NOW_MS = 10_000_000;

interface Replica {
  readonly store: MemoryStore;
  readonly keyspace: Keyspace;
}

function replica(id: NodeId): Replica {
  const store = new MemoryStore();
  const counters = new Proxy<Record<string, number>>({}, { get: (target, name: string) => target[name] ?? 0 });
  const keyspace = new Keyspace(store, new MerkleTree(), new TombstoneTracker(id, DEFAULT_CORE_CONFIG.tombstoneGraceMs), DEFAULT_CORE_CONFIG, counters);
  return { store, keyspace };
}

function deliver(target: Replica, records: readonly VersionedRecord[]): void {
  const merged = target.keyspace.merge(records, NOW_MS);
  void target.store.write({ records: merged.records, purgeKeys: merged.purgeKeys });
}

function allRows(target: Replica): string[] {
  const rows: string[] = [];
  let bucket = 0;
  while (bucket < KEY_BUCKET_COUNT) {
    const page = target.store.scanBuckets(bucket, KEY_BUCKET_COUNT, 1024);
    for (const row of page.records) {
      rows.push(`${Buffer.from(row.key).toString('hex')}=${row.value === null ? '-' : Buffer.from(row.value).toString('hex')}@${row.hlc.wallMs}.${row.hlc.logical}.${row.origin}`);
    }
    bucket = page.nextBucket;
  }
  return rows.sort();
}

/** The counter as a reader on this replica computes it from its rows. */
function readCounter(target: Replica): ReturnType<typeof counterValue> {
  const header = target.store.get(headerRowKey(KEY));
  assert.ok(header !== undefined && header.value !== null);
  const base = decodeHeader(header.value)!.base!;
  const slots = new Map<NodeId, SlotTotal>();
  const page = target.store.scanRows(slotPrefix(KEY, EMPTY), undefined, 1024);
  for (const row of page.records) slots.set(parseSlotElement(parseRow(row.key)!.element)!.origin, decodeSlotTotal(row.value!)!);
  return counterValue(base, slots);
}

type Operation =
  | { readonly kind: 'increment'; readonly origin: number; readonly step: number; readonly integer: bigint; readonly float: number }
  | { readonly kind: 'reset'; readonly origin: number; readonly step: number; readonly base: bigint; readonly seen: readonly number[] };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({
    kind: fc.constant('increment' as const),
    origin: fc.nat({ max: ORIGINS.length - 1 }),
    step: fc.integer({ min: 0, max: 3 }),
    integer: fc.bigInt({ min: -(2n ** 40n), max: 2n ** 40n }),
    // Quarters add up exactly in any order, so the expected float sum is exact.
    float: fc.oneof(fc.constant(0), fc.integer({ min: -400, max: 400 }).map((quarters) => quarters / 4)),
  }),
  fc.record({
    kind: fc.constant('reset' as const),
    origin: fc.nat({ max: ORIGINS.length - 1 }),
    step: fc.integer({ min: 0, max: 3 }),
    base: fc.bigInt({ min: -1000n, max: 1000n }),
    // Per other origin: how far back in its history the reset's view is (0 = its latest known total).
    seen: fc.array(fc.nat({ max: 4 }), { minLength: ORIGINS.length, maxLength: ORIGINS.length }),
  }),
);

interface History {
  readonly records: VersionedRecord[];
  /** Each origin's final running total. */
  readonly finals: SlotTotal[];
  /** The base and observation of every reset, with its header record. */
  readonly resets: { readonly record: VersionedRecord; readonly base: bigint; readonly observed: Map<NodeId, SlotTotal> }[];
}

/**
 * Rows as the origins would write them: each origin stamps with its own clock (steps of
 * 0-3 ms, so origins' writes are concurrent and ties break by origin); a reset observes its
 * own latest slot and, of every other origin, a total from that origin's past.
 */
function buildHistory(operations: readonly Operation[]): History {
  const clocks = ORIGINS.map(() => ({ wallMs: NOW_MS - 100_000, logical: 0 }));
  const totals: SlotTotal[][] = ORIGINS.map(() => [ZERO_SLOT]);
  const records: VersionedRecord[] = [];
  const resets: History['resets'] = [];
  const stamp = (origin: number, step: number) => {
    const clock = clocks[origin]!;
    if (step > 0) clock.wallMs += step;
    else clock.logical++;
    return { wallMs: clock.wallMs, logical: clock.logical };
  };
  const reset = (origin: number, step: number, base: bigint, seen: readonly number[]) => {
    const observed = new Map<NodeId, SlotTotal>();
    ORIGINS.forEach((id, index) => {
      const history = totals[index]!;
      const back = index === origin ? 0 : seen[index]!;
      const total = history[Math.max(0, history.length - 1 - back)]!;
      if (total !== ZERO_SLOT) observed.set(id, total);
    });
    const value = encodeHeader({ type: KeyType.String, base: { bytes: utf8(base.toString()), observed } });
    const record: VersionedRecord = { key: headerRowKey(KEY), value, hlc: stamp(origin, step), origin: ORIGINS[origin]!, expiresAtMs: 0 };
    records.push(record);
    resets.push({ record, base, observed });
  };
  reset(0, 1, 0n, [0, 0, 0, 0]);
  for (const op of operations) {
    if (op.kind === 'reset') {
      reset(op.origin, op.step, op.base, op.seen);
      continue;
    }
    const history = totals[op.origin]!;
    const total = incrementSlot(history[history.length - 1]!, op.integer, op.float);
    history.push(total);
    const key = rowKey(KEY, RowKind.Slot, slotElement(EMPTY, ORIGINS[op.origin]!));
    records.push({ key, value: encodeSlotTotal(total), hlc: stamp(op.origin, op.step), origin: ORIGINS[op.origin]!, expiresAtMs: 0 });
  }
  return { records, finals: totals.map((history) => history[history.length - 1]!), resets };
}

/** A delivery: the records in some order, some twice, cut into batches. */
const delivery = fc.record({
  order: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 64, maxLength: 64 }),
  duplicates: fc.array(fc.nat({ max: 63 }), { maxLength: 8 }),
  batchSize: fc.integer({ min: 1, max: 8 }),
});

function deliverAll(target: Replica, records: readonly VersionedRecord[], plan: { order: number[]; duplicates: number[]; batchSize: number }): void {
  const copies = [...records, ...plan.duplicates.filter((index) => index < records.length).map((index) => records[index]!)];
  const sorted = copies.map((record, index) => ({ record, rank: plan.order[index % plan.order.length]! + index * 1e-9 })).sort((a, b) => a.rank - b.rank);
  for (let index = 0; index < sorted.length; index += plan.batchSize) deliver(target, sorted.slice(index, index + plan.batchSize).map((entry) => entry.record));
}

test('two replicas, any delivery: identical rows, value = base + increments the winning reset did not observe', () => {
  fc.assert(
    fc.property(fc.array(operation, { maxLength: 40 }), delivery, delivery, (operations, first, second) => {
      const history = buildHistory(operations);
      const a = replica('a'.repeat(32));
      const b = replica('b'.repeat(32));
      deliverAll(a, history.records, first);
      deliverAll(b, history.records, second);
      assert.deepEqual(allRows(a), allRows(b));
      const winner = history.resets.reduce((best, reset) => (compareVersions(reset.record, best.record) > 0 ? reset : best));
      let integer = 0n;
      let float = 0;
      ORIGINS.forEach((id, index) => {
        const seen = winner.observed.get(id) ?? ZERO_SLOT;
        integer += history.finals[index]!.integer - seen.integer;
        float += history.finals[index]!.float - seen.float;
      });
      const expected = float === 0 ? { kind: 'integer', value: winner.base + integer } : { kind: 'float', value: Number(winner.base) + Number(integer) + float };
      assert.deepEqual(readCounter(a), expected);
      assert.deepEqual(readCounter(b), expected);
    }),
    { numRuns: 300 },
  );
});

test('slots wrap as int64 and values stay exact: resets between huge increments', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.bigInt({ min: 0n, max: INT64_MAX }), fc.boolean()), { minLength: 1, maxLength: 20 }), (steps) => {
      // One origin adds, and a reset to 0 observes its slot every other time: the value is
      // what was added since the last reset, whatever the slot's running total did.
      let slot: SlotTotal = ZERO_SLOT;
      let observed = new Map<NodeId, SlotTotal>();
      let sinceReset = 0n;
      for (const [amount, resetAfter] of steps) {
        const counted = counterValue({ bytes: utf8('0'), observed }, new Map([[ORIGINS[0]!, slot]]));
        assert.ok(counted?.kind === 'integer');
        const next = addInteger64(counted.value, amount);
        if (next === undefined) {
          assert.ok(sinceReset + amount > INT64_MAX);
          continue;
        }
        slot = incrementSlot(slot, amount, 0);
        sinceReset += amount;
        assert.deepEqual(counterValue({ bytes: utf8('0'), observed }, new Map([[ORIGINS[0]!, slot]])), { kind: 'integer', value: sinceReset });
        // The slot as stored survives the round trip through its row encoding.
        assert.deepEqual(decodeSlotTotal(encodeSlotTotal(slot)), slot);
        if (resetAfter) {
          observed = new Map([[ORIGINS[0]!, slot]]);
          sinceReset = 0n;
        }
      }
    }),
  );
  // The whole int64 range from one base: -2^63 + (2^63-1) + (2^63-1) = 2^63-2.
  const slot = incrementSlot(incrementSlot(ZERO_SLOT, INT64_MAX, 0), INT64_MAX, 0);
  assert.deepEqual(counterValue({ bytes: utf8(INT64_MIN.toString()), observed: new Map() }, new Map([[ORIGINS[0]!, slot]])), { kind: 'integer', value: INT64_MAX - 1n });
});

test('counted bytes: the base as written until an unobserved increment counts', () => {
  const slots = new Map([[ORIGINS[0]!, { integer: 5n, float: 0 }]]);
  assert.equal(Buffer.from(countedBytes({ bytes: utf8('1.50'), observed: new Map(slots) }, slots)).toString(), '1.50');
  assert.equal(Buffer.from(countedBytes({ bytes: utf8('1e3'), observed: new Map() }, slots)).toString(), '1005');
  assert.equal(Buffer.from(countedBytes({ bytes: utf8('abc'), observed: new Map() }, slots)).toString(), 'abc');
  assert.equal(Buffer.from(countedBytes({ bytes: utf8('7'), observed: new Map() }, new Map())).toString(), '7');
});

test('parsers read what Redis reads: string2ll and string2ld', () => {
  for (const text of ['0', '-1', '9223372036854775807', '-9223372036854775808']) assert.equal(parseInteger64(utf8(text)), BigInt(text));
  for (const text of ['', ' 1', '1 ', '01', '-0', '+1', '1.0', '9223372036854775808', '-9223372036854775809']) assert.equal(parseInteger64(utf8(text)), undefined, text);
  const floats = [
    ['1.5', 1.5], ['+.5', 0.5], ['5.', 5], ['1e3', 1000], ['-inf', -Infinity], ['+Infinity', Infinity], ['0', 0], ['-0.000e5', -0],
    ['0x10', 16], ['-0X1.8p1', -3], ['0x.8', 0.5], ['0x0', 0],
    // Within long double's range, past a double's.
    ['1e400', Infinity], ['-1e400', -Infinity], ['1e-400', 0], ['0.0001e-4940', 0],
  ] as const;
  for (const [text, value] of floats) assert.equal(parseLongDouble(utf8(text)), value, text);
  for (const text of ['', ' 1', '1 ', 'nan', '1e', '0x', '0xg', '1e5000', '1e-5000', '1\x002']) assert.equal(parseLongDouble(utf8(text)), undefined, text);
  assert.equal(formatFloat(-0), '0');
  assert.equal(formatFloat(2 ** 63), '9223372036854775808');
  assert.equal(formatFloat(0.1 + 0.2), '0.3');
  assert.equal(formatFloat(1 - 1.1), '-0.1');
  assert.equal(formatFloat(1.25), '1.25');
  assert.equal(formatFloat(17179869185.5), '17179869185.5');
  assert.equal(formatFloat(1 / 3), '0.333333333333333');
  assert.equal(formatFloat(1e-20), '0');
  assert.equal(formatFloat(-1e-20), '0');
  assert.equal(formatFloat(0.001), '0.001');
  assert.equal(formatFloat(-1234567.5), '-1234567.5');
});

test('INCRBYFLOAT slots: integral parts exact, the float total a fraction, so small increments survive large ones', () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: -1e15, max: 1e15, noNaN: true }), { maxLength: 30 }), (deltas) => {
      let slot: SlotTotal = ZERO_SLOT;
      for (const delta of deltas) {
        slot = incrementSlotByFloat(slot, delta);
        assert.ok(Math.abs(slot.float) < 1, `float total ${slot.float}`);
      }
    }),
  );
  // Multiples of 1/1024 add exactly in doubles: the slot's total is the exact sum.
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }).map((units) => units / 1024), { maxLength: 30 }), (deltas) => {
      let slot: SlotTotal = ZERO_SLOT;
      for (const delta of deltas) slot = incrementSlotByFloat(slot, delta);
      assert.equal(Number(slot.integer) + slot.float, deltas.reduce((sum, delta) => sum + delta, 0));
    }),
  );
  // After 1e20 a running float total cannot hold 0.1; the integer total can hold 1e18.
  let slot = incrementSlotByFloat(ZERO_SLOT, 1e18);
  const observed = new Map([[ORIGINS[0]!, slot]]);
  slot = incrementSlotByFloat(slot, 0.1);
  assert.deepEqual(counterValue({ bytes: utf8('0'), observed }, new Map([[ORIGINS[0]!, slot]])), { kind: 'float', value: 0.1 });
  // A delta past the integer range goes whole to the float total.
  assert.deepEqual(incrementSlotByFloat({ integer: 5n, float: 0.5 }, 1e20), { integer: 5n, float: 1e20 + 0.5 });
});

test('a reset observes at most OBSERVED_ORIGINS_MAX slots, the largest ones', () => {
  const slots = new Map<NodeId, SlotTotal>();
  for (let index = 0; index < OBSERVED_ORIGINS_MAX + 10; index++) slots.set(index.toString(16).padStart(32, '0'), { integer: BigInt(index), float: 0 });
  const observed = observedSlots(slots);
  assert.equal(observed.size, OBSERVED_ORIGINS_MAX);
  assert.ok(!observed.has((0).toString(16).padStart(32, '0')));
  assert.ok(observed.has((OBSERVED_ORIGINS_MAX + 9).toString(16).padStart(32, '0')));
  const header = decodeHeader(encodeHeader({ type: KeyType.String, base: { bytes: utf8('0'), observed } }))!;
  assert.equal(header.base!.observed.size, OBSERVED_ORIGINS_MAX);
});

// Proves an anti-entropy round between any two record sets leaves both sides with the same records and Merkle root, and finds exactly the differing buckets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { KEY_BUCKET_COUNT, bytesToMapKey } from '../../src/core/bytes.js';
import { rowBucket } from '../../src/core/rows.js';
import { AE_LINK_UP_ANSWER_GRACE_MS } from '../../src/core/antientropy.js';
import { DEFAULT_CORE_CONFIG } from '../../src/core/config.js';
import type { Effect } from '../../src/core/io.js';
import { compareHlc } from '../../src/core/hlc.js';
import { mergeRecords } from '../../src/core/record.js';
import type { VersionedRecord } from '../../src/core/types.js';
import { describeRecords, Pump, Replica } from '../support/antientropy-pump.js';
import { countRecords } from '../support/records.js';

const ID_A = '1'.repeat(32);
const ID_B = 'e'.repeat(32);
const ORIGINS = [ID_A, ID_B, 'a'.repeat(32)];

/** A pool of distinct versions (unique key, hlc, origin), each version with one value. */
const versionPool = fc
  .array(
    fc.record({
      key: fc.integer({ min: 0, max: 60 }),
      wallMs: fc.integer({ min: 1, max: 4 }),
      logical: fc.integer({ min: 0, max: 2 }),
      origin: fc.constantFrom(...ORIGINS),
      value: fc.option(fc.uint8Array({ maxLength: 6 }), { nil: null, freq: 4 }),
      expiresAtMs: fc.constantFrom(0, 0, 1_000),
      onA: fc.boolean(),
      onB: fc.boolean(),
    }),
    { maxLength: 80 },
  )
  .map((items) => {
    const seen = new Set<string>();
    return items.filter((item) => {
      const id = `${item.key}.${item.wallMs}.${item.logical}.${item.origin}`;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
  });

function toRecord(item: { key: number; wallMs: number; logical: number; origin: string; value: Uint8Array | null; expiresAtMs: number }): VersionedRecord {
  return {
    key: new TextEncoder().encode(`key-${item.key}`),
    value: item.value,
    hlc: { wallMs: item.wallMs, logical: item.logical },
    origin: item.origin,
    expiresAtMs: item.value === null ? 0 : item.expiresAtMs,
  };
}

/** The newest version per key among records. */
function newestPerKey(records: VersionedRecord[]): Map<string, VersionedRecord> {
  const byKey = new Map<string, VersionedRecord>();
  for (const record of records) {
    const mapKey = bytesToMapKey(record.key);
    byKey.set(mapKey, mergeRecords(byKey.get(mapKey), record));
  }
  return byKey;
}

function sameVersion(a: VersionedRecord | undefined, b: VersionedRecord | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return compareHlc(a.hlc, b.hlc) === 0 && a.origin === b.origin;
}

/** Buckets where the two sides hold different versions, by plain comparison. */
function naiveDifferingBuckets(a: Map<string, VersionedRecord>, b: Map<string, VersionedRecord>): number[] {
  const buckets = new Set<number>();
  for (const mapKey of new Set([...a.keys(), ...b.keys()])) {
    const left = a.get(mapKey);
    const right = b.get(mapKey);
    if (!sameVersion(left, right)) buckets.add(rowBucket((left ?? right)!.key));
  }
  return [...buckets].sort((x, y) => x - y);
}

function rangesToList(ranges: readonly number[]): number[] {
  const list: number[] = [];
  for (let pair = 0; pair < ranges.length; pair += 2) for (let bucket = ranges[pair]!; bucket < ranges[pair + 1]!; bucket++) list.push(bucket);
  return list;
}

test('a round converges both sides to the LWW union and equal roots, diffing exactly the differing buckets', () => {
  fc.assert(
    fc.property(versionPool, fc.integer({ min: 1, max: 7 }), fc.boolean(), (pool, batchRecordsMax, crossing) => {
      const recordsA = pool.filter((item) => item.onA).map(toRecord);
      const recordsB = pool.filter((item) => item.onB).map(toRecord);
      const config = { ...DEFAULT_CORE_CONFIG, antiEntropyBatchRecordsMax: batchRecordsMax };
      const a = new Replica(ID_A, recordsA, config);
      const b = new Replica(ID_B, recordsB, config);
      const expectedDiff = naiveDifferingBuckets(newestPerKey(recordsA), newestPerKey(recordsB));
      const pump = new Pump([a, b]);
      pump.linkUp(a, b, 0); // only a, the lower id, starts
      if (crossing) {
        // b's grace runs out before a's aeRoot arrives: both rounds cross on the wire.
        const out: Effect[] = [];
        b.antiEntropy.onTick(AE_LINK_UP_ANSWER_GRACE_MS, out);
        pump.take(ID_B, out);
      }
      pump.run(AE_LINK_UP_ANSWER_GRACE_MS);

      const diffs = pump.delivered.filter((delivery) => delivery.message.type === 'aeDiff');
      if (expectedDiff.length === 0) assert.equal(diffs.length, 0, 'equal trees need no diff');
      else {
        assert.equal(diffs.length, 1, 'one round runs even when both sides start one');
        const diff = diffs[0]!.message;
        assert.ok(diff.type === 'aeDiff');
        assert.deepEqual(rangesToList(diff.ranges), expectedDiff);
      }
      const expected = describeRecords([...newestPerKey([...recordsA, ...recordsB]).values()]);
      assert.deepEqual(describeRecords(a.view.all()), expected);
      assert.deepEqual(describeRecords(b.view.all()), expected);
      assert.deepEqual(a.tree.root(), b.tree.root());
      for (const replica of [a, b]) {
        const [status] = replica.antiEntropy.status();
        assert.equal(status!.inProgress, false);
        assert.equal(status!.rounds, 1);
        assert.ok(pump.inFlightMax <= 2);
      }
      for (const delivery of pump.delivered) {
        if (delivery.message.type === 'aeRecords') assert.ok(delivery.message.records.length <= batchRecordsMax);
      }
    }),
    { numRuns: 300, seed: 0x5eed },
  );
});

test('records written on either side while a round runs are repaired by the next round', () => {
  fc.assert(
    fc.property(versionPool, versionPool, fc.integer({ min: 0, max: 40 }), (pool, laterPool, writeAfterSteps) => {
      const a = new Replica(ID_A, pool.filter((item) => item.onA).map(toRecord));
      const b = new Replica(ID_B, pool.filter((item) => item.onB).map(toRecord));
      const pump = new Pump([a, b], false);
      pump.linkUp(a, b, 0);
      for (let step = 0; step < writeAfterSteps && pump.step(1); step++);
      // Writes keep flowing during the round.
      for (const item of laterPool) (item.onA ? a : b).merge(toRecord({ ...item, wallMs: item.wallMs + 10 }));
      pump.run(1);
      const out: Effect[] = [];
      a.antiEntropy.onTick(1 + DEFAULT_CORE_CONFIG.antiEntropyIntervalMs, out);
      pump.take(ID_A, out);
      pump.run(2 + DEFAULT_CORE_CONFIG.antiEntropyIntervalMs);
      assert.deepEqual(describeRecords(a.view.all()), describeRecords(b.view.all()));
      assert.deepEqual(a.tree.root(), b.tree.root());
    }),
    { numRuns: 150, seed: 0xbeef },
  );
});

test('the diff of many scattered buckets still streams every differing record', () => {
  // Only even buckets differ: thousands of separate runs to scan.
  const records: VersionedRecord[] = [];
  for (let index = 0; records.length < 3_000; index++) {
    const key = new TextEncoder().encode(`k${index}`);
    if (rowBucket(key) % 2 === 0) records.push({ key, value: key, hlc: { wallMs: 1, logical: 0 }, origin: ID_A, expiresAtMs: 0 });
  }
  const a = new Replica(ID_A, records);
  const b = new Replica(ID_B, []);
  const pump = new Pump([a, b]);
  pump.linkUp(a, b, 0);
  pump.run(1);
  assert.equal(countRecords(b.view), records.length);
  assert.deepEqual(a.tree.root(), b.tree.root());
  const diff = pump.delivered.find((delivery) => delivery.message.type === 'aeDiff')!.message;
  assert.ok(diff.type === 'aeDiff' && diff.ranges.length > 2_000 && diff.ranges.length <= KEY_BUCKET_COUNT);
});

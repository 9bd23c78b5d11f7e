// Proves the last-writer-wins merge is commutative, associative and idempotent, and picks
// the same winner for any delivery order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compareVersions, expiredToTombstone, mergeRecords } from '../../src/core/record.js';
import type { VersionedRecord } from '../../src/core/types.js';

const key = new Uint8Array([1, 2, 3]);
const record: fc.Arbitrary<VersionedRecord> = fc
  .record({
    wallMs: fc.integer({ min: 0, max: 5 }),
    logical: fc.integer({ min: 0, max: 3 }),
    origin: fc.constantFrom('0'.repeat(32), 'a'.repeat(32), 'f'.repeat(32)),
    value: fc.option(fc.uint8Array({ maxLength: 4 }), { nil: null }),
    expiresAtMs: fc.constantFrom(0, 10),
    tombstoneOfExpiry: fc.boolean(),
  })
  .map((fields) => {
    const base: VersionedRecord = {
      key,
      value: fields.value,
      hlc: { wallMs: fields.wallMs, logical: fields.logical },
      origin: fields.origin,
      expiresAtMs: fields.value === null ? 0 : fields.expiresAtMs,
    };
    return fields.tombstoneOfExpiry ? expiredToTombstone(base) : base;
  });

/** Same version = same (hlc, origin): value bytes of one version are equal cluster-wide. */
function canonical(records: VersionedRecord[]): VersionedRecord[] {
  const byVersion = new Map<string, VersionedRecord>();
  return records.map((item) => {
    const id = `${item.hlc.wallMs}.${item.hlc.logical}.${item.origin}.${item.value === null}`;
    const seen = byVersion.get(id);
    if (seen !== undefined) return seen;
    byVersion.set(id, item);
    return item;
  });
}

test('merge is commutative', () => {
  fc.assert(
    fc.property(record, record, (a, b) => {
      [a, b] = canonical([a, b]) as [VersionedRecord, VersionedRecord];
      assert.equal(mergeRecords(a, b), mergeRecords(b, a));
    }),
  );
});

test('merge is associative and idempotent', () => {
  fc.assert(
    fc.property(record, record, record, (a, b, c) => {
      [a, b, c] = canonical([a, b, c]) as [VersionedRecord, VersionedRecord, VersionedRecord];
      assert.equal(mergeRecords(mergeRecords(a, b), c), mergeRecords(a, mergeRecords(b, c)));
      assert.equal(mergeRecords(a, a), a);
    }),
  );
});

test('any delivery order, with duplicates, converges on the maximum version', () => {
  fc.assert(
    fc.property(fc.array(record, { minLength: 1, maxLength: 12 }), fc.integer(), (items, seed) => {
      items = canonical(items);
      const shuffled = [...items, ...items.slice(0, 3)].sort((a, b) => ((items.indexOf(a) * 31 + seed) % 7) - ((items.indexOf(b) * 31 + seed) % 7));
      const forward = items.reduce<VersionedRecord | undefined>((acc, item) => mergeRecords(acc, item), undefined);
      const mixed = shuffled.reduce<VersionedRecord | undefined>((acc, item) => mergeRecords(acc, item), undefined);
      assert.equal(mixed, forward);
      for (const item of items) assert.ok(compareVersions(forward!, item) >= 0);
    }),
  );
});

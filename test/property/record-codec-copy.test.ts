// Proves the copying record decoder (used on lmdb-js's reused read buffer) gives the same records as the plain one, and that they survive the buffer being overwritten.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { VersionedRecord } from '../../src/core/types.js';
import { decodeRecordValue, decodeRecordValueCopy, encodeRecordValue, INLINE_KEY_BYTES_MAX } from '../../src/storage/record-codec.js';
import { plainRecord } from '../support/records.js';

const NUM_RUNS = 300;

const recordArbitrary: fc.Arbitrary<VersionedRecord> = fc.record({
  key: fc.oneof(
    { weight: 8, arbitrary: fc.uint8Array({ maxLength: 40 }) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: INLINE_KEY_BYTES_MAX + 1, maxLength: INLINE_KEY_BYTES_MAX + 300 }) },
  ),
  value: fc.option(fc.uint8Array({ maxLength: 6000 }), { nil: null }),
  hlc: fc.record({ wallMs: fc.maxSafeNat(), logical: fc.nat({ max: 0xffff_ffff }) }),
  // Few distinct origins, as in a cluster: exercises the origin cache hits and misses.
  origin: fc.constantFrom('0123456789abcdef0123456789abcdef', 'ffffffffffffffffffffffffffffffff', '00000000000000000000000000000001'),
  expiresAtMs: fc.oneof(fc.constant(0), fc.maxSafeNat()),
});

test('copying decoder equals the view decoder, and its records outlive the source buffer', () => {
  fc.assert(
    fc.property(fc.array(recordArbitrary, { minLength: 1, maxLength: 20 }), (records) => {
      const shared = Buffer.alloc(16 * 1024); // lmdb-js hands out a Buffer
      const decoded: VersionedRecord[] = [];
      for (const record of records) {
        const stored = encodeRecordValue(record);
        const inlineKey = record.key.length <= INLINE_KEY_BYTES_MAX ? record.key : undefined;
        shared.set(stored);
        const copy = decodeRecordValueCopy(inlineKey, shared.subarray(0, stored.length));
        assert.deepEqual(plainRecord(copy), plainRecord(decodeRecordValue(inlineKey, stored)));
        assert.ok(copy !== undefined && (copy.value === null || !(copy.value instanceof Buffer)), 'values are plain Uint8Arrays');
        decoded.push(copy);
        shared.fill(0xee); // lmdb-js reuses its buffer for the next read
      }
      assert.deepEqual(decoded.map(plainRecord), records.map(plainRecord));
    }),
    { numRuns: NUM_RUNS },
  );
});

test('copying decoder rejects what the view decoder rejects', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      assert.equal(decodeRecordValueCopy(undefined, bytes) === undefined, decodeRecordValue(undefined, bytes) === undefined);
    }),
    { numRuns: NUM_RUNS },
  );
});

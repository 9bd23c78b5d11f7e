// Proves the stored record codec round-trips every record, orders stored keys by (bucket, key), and never throws on bad bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compareBytes } from '../../src/core/bytes.js';
import { rowBucket } from '../../src/core/rows.js';
import type { VersionedRecord } from '../../src/core/types.js';
import {
  decodeRecordValue,
  decodeStoredKey,
  decodeStoredRecord,
  encodeRecordValue,
  encodeStoredKey,
  INLINE_KEY_BYTES_MAX,
  RECORD_HEADER_BYTES,
  RECORD_FORMAT_VERSION,
} from '../../src/storage/record-codec.js';
import { plainRecord } from '../support/records.js';

const NUM_RUNS = 500;

const keyArbitrary = fc.oneof(
  { weight: 8, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: INLINE_KEY_BYTES_MAX - 2, maxLength: INLINE_KEY_BYTES_MAX + 600 }) },
);

const recordArbitrary: fc.Arbitrary<VersionedRecord> = fc.record({
  key: keyArbitrary,
  value: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null }),
  hlc: fc.record({ wallMs: fc.maxSafeNat(), logical: fc.nat({ max: 0xffff_ffff }) }),
  origin: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((bytes) => Buffer.from(bytes).toString('hex')),
  expiresAtMs: fc.oneof(fc.constant(0), fc.maxSafeNat()),
});

test('stored key and value decode back to the same record', () => {
  fc.assert(
    fc.property(recordArbitrary, (record) => {
      const storedKey = encodeStoredKey(record.key);
      const storedValue = encodeRecordValue(record);
      assert.deepEqual(plainRecord(decodeStoredRecord(storedKey, storedValue)), plainRecord(record));
      assert.equal(decodeStoredKey(storedKey)?.bucket, rowBucket(record.key));
      const inline = record.key.length <= INLINE_KEY_BYTES_MAX;
      assert.equal(decodeStoredKey(storedKey)?.key === undefined, !inline);
      const decoded = decodeRecordValue(inline ? record.key : undefined, storedValue);
      assert.ok(decoded === undefined || decoded.value === null || !(decoded.value instanceof Buffer), 'values are plain Uint8Array views');
    }),
    { numRuns: NUM_RUNS },
  );
});

test('stored key order is (bucket, key) order', () => {
  const inlineKey = fc.uint8Array({ maxLength: 24 });
  fc.assert(
    fc.property(inlineKey, inlineKey, (a, b) => {
      const expected = Math.sign(rowBucket(a) - rowBucket(b) || compareBytes(a, b));
      assert.equal(Math.sign(Buffer.compare(encodeStoredKey(a), encodeStoredKey(b))), expected);
    }),
    { numRuns: NUM_RUNS },
  );
  // Keys in one bucket order by their bytes, also between an inline and a long key.
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: INLINE_KEY_BYTES_MAX }), fc.uint8Array({ minLength: INLINE_KEY_BYTES_MAX + 1, maxLength: 1_200 }), (a, b) => {
      const storedA = encodeStoredKey(a).subarray(2);
      const storedB = encodeStoredKey(b).subarray(2);
      assert.equal(Math.sign(Buffer.compare(storedA, storedB)), Math.sign(compareBytes(a, b)));
    }),
    { numRuns: NUM_RUNS },
  );
});

test('decoding arbitrary, truncated or flipped bytes never throws', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2_000 }), fc.uint8Array({ maxLength: 200 }), (key, value) => {
      decodeStoredKey(key);
      decodeStoredRecord(key, value);
      decodeRecordValue(undefined, value);
    }),
    { numRuns: NUM_RUNS },
  );
  fc.assert(
    fc.property(recordArbitrary, fc.nat(), fc.nat({ max: 255 }), (record, position, byte) => {
      const bytes = encodeRecordValue(record);
      const cut = bytes.subarray(0, position % (bytes.length + 1));
      const decodedCut = decodeRecordValue(record.key, cut);
      if (cut.length < RECORD_HEADER_BYTES) assert.equal(decodedCut, undefined);
      const flipped = Buffer.from(bytes);
      flipped[position % flipped.length] = byte;
      decodeRecordValue(record.key, flipped);
    }),
    { numRuns: NUM_RUNS },
  );
});

test('a version byte this code does not know is refused', () => {
  const record: VersionedRecord = { key: new Uint8Array([1]), value: new Uint8Array([2]), hlc: { wallMs: 1, logical: 2 }, origin: 'ab'.repeat(16), expiresAtMs: 0 };
  const bytes = encodeRecordValue(record);
  bytes[0] = RECORD_FORMAT_VERSION + 1;
  assert.equal(decodeRecordValue(record.key, bytes), undefined);
  assert.throws(() => encodeRecordValue({ ...record, origin: 'not-hex' }), /origin/);
});

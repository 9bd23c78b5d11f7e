// Proves the peer frame codec round-trips any envelope across any chunk split, and that its decoders (frames and record batches) never throw on arbitrary or damaged bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { splitAtPoints } from '../support/chunks.js';
import { PEER_PROTOCOL_VERSION, type PeerMessage } from '../../src/core/messages.js';
import { encodeFrame, FrameDecoder, isFrameError, type PeerEnvelope } from '../../src/wire/peer-frame.js';
import { decodeRecordBatch, encodeRecordBatch } from '../../src/wire/record-batch-codec.js';
import { isRecordArray, isVersionedRecord, ROW_KEY_BYTES_MAX, VALUE_BYTES_MAX } from '../../src/core/validate.js';

const hlcArbitrary = fc.record({ wallMs: fc.nat({ max: Number.MAX_SAFE_INTEGER }), logical: fc.nat({ max: 2 ** 32 }) });
const recordArbitrary = fc.record({
  key: fc.uint8Array({ maxLength: 64 }),
  value: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null }),
  hlc: hlcArbitrary,
  origin: fc.stringMatching(/^[0-9a-f]{32}$/),
  expiresAtMs: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
});
const messageArbitrary: fc.Arbitrary<PeerMessage> = fc.oneof(
  fc.record({ type: fc.constant('replicate' as const), seq: fc.nat({ max: Number.MAX_SAFE_INTEGER }), records: fc.array(recordArbitrary, { maxLength: 8 }) }),
  fc.record({ type: fc.constant('replicateAck' as const), seq: fc.nat({ max: Number.MAX_SAFE_INTEGER }) }),
  fc.record({ type: fc.constant('repair' as const), records: fc.array(recordArbitrary, { maxLength: 4 }) }),
  fc.record({
    type: fc.constant('aeRecords' as const),
    session: fc.nat({ max: 2 ** 31 }),
    seq: fc.nat({ max: 2 ** 31 }),
    records: fc.array(recordArbitrary, { maxLength: 8 }),
    done: fc.boolean(),
  }),
);
const envelopeArbitrary: fc.Arbitrary<PeerEnvelope> = fc.record({ v: fc.constant(PEER_PROTOCOL_VERSION), hlc: hlcArbitrary, message: messageArbitrary });

/** Byte strings as hex so Buffer and Uint8Array compare equal. */
function normalize(value: unknown): unknown {
  if (value instanceof Uint8Array) return `bytes:${Buffer.from(value).toString('hex')}`;
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, normalize(item)]));
  }
  return value;
}

function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  return splitAtPoints(bytes, [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))]);
}

test('any envelopes survive encode, any chunking, decode', () => {
  fc.assert(
    fc.property(fc.array(envelopeArbitrary, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 20 }), (envelopes, cuts) => {
      const stream = Buffer.concat(envelopes.map(encodeFrame));
      const decoder = new FrameDecoder();
      const decoded = splitAt(stream, cuts).flatMap((chunk) => decoder.feed(chunk));
      assert.deepEqual(normalize(decoded), normalize(envelopes));
    }),
    { numRuns: 300 },
  );
});

test('the decoder never throws on random bytes, however they are chunked', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2048 }), fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => {
      const decoder = new FrameDecoder();
      for (const chunk of splitAt(Buffer.from(bytes), cuts)) {
        for (const result of decoder.feed(chunk)) if (!isFrameError(result)) assert.equal(result.v, PEER_PROTOCOL_VERSION);
      }
    }),
    { numRuns: 1000 },
  );
});

test('the decoder never throws on random payloads behind a plausible length', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 512 }), (payload) => {
      const frame = Buffer.alloc(4 + payload.length);
      frame.writeUInt32BE(payload.length, 0);
      frame.set(payload, 4);
      const results = new FrameDecoder().feed(frame);
      assert.equal(results.length, 1);
    }),
    { numRuns: 2000 },
  );
});

test('a valid frame prefix followed by flipped bytes yields values, not exceptions', () => {
  fc.assert(
    fc.property(envelopeArbitrary, fc.nat(), fc.integer({ min: 1, max: 255 }), (envelope, position, flip) => {
      const frame = Buffer.from(encodeFrame(envelope));
      const index = 4 + (position % (frame.length - 4));
      frame[index] = frame[index]! ^ flip;
      new FrameDecoder().feed(frame);
    }),
    { numRuns: 1000 },
  );
});

test('a record batch decodes to what was encoded; damaged batches are refused, never thrown', () => {
  fc.assert(
    fc.property(fc.array(recordArbitrary, { maxLength: 10 }), fc.nat(), fc.nat({ max: 255 }), (records, at, byte) => {
      const bytes = encodeRecordBatch(records);
      assert.deepEqual(normalize(decodeRecordBatch(bytes, 100)), normalize(records));
      assert.equal(decodeRecordBatch(bytes.subarray(0, bytes.length - 1 - (at % Math.max(1, bytes.length))), 100), undefined, 'truncated');
      const extended = new Uint8Array(bytes.length + 1);
      extended.set(bytes);
      assert.equal(decodeRecordBatch(extended, 100), undefined, 'trailing bytes');
      const flipped = Uint8Array.from(bytes);
      flipped[at % flipped.length] = byte;
      // Any outcome but an exception, and what decodes is valid: the decoder vouches for it.
      const decoded = decodeRecordBatch(flipped, 100);
      if (decoded !== undefined) for (const record of decoded) assert.ok(isVersionedRecord(record), 'a decoded record passes isVersionedRecord');
      if (records.length > 0) assert.equal(decodeRecordBatch(bytes, records.length - 1), undefined, 'over the record bound');
    }),
    { numRuns: 500 },
  );
  fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => void decodeRecordBatch(bytes, 1_000)), { numRuns: 2000 });
});

test('a record batch with a clock, expiry or length isVersionedRecord refuses is refused whole; others are not checked again', () => {
  const record = { key: Uint8Array.of(1, 2, 3), value: Uint8Array.of(4), hlc: { wallMs: 5, logical: 6 }, origin: 'ab'.repeat(16), expiresAtMs: 0 };
  const good = encodeRecordBatch([record, record]);
  const decoded = decodeRecordBatch(good, 10);
  assert.ok(decoded !== undefined && isRecordArray(decoded, 10));
  assert.equal(isRecordArray(decoded, 1), false, 'the length bound still applies');
  // A look-alike array nobody decoded is checked record by record.
  assert.equal(isRecordArray([{ ...record, hlc: { wallMs: -1, logical: 0 } }], 10), false);
  const recordStart = 4;
  for (const [offset, number] of [[8, -1], [8, 1.5], [8, Number.NaN], [16, 2 ** 53], [24, -0.5], [24, Number.POSITIVE_INFINITY]] as const) {
    const bad = Uint8Array.from(good);
    // The second record's field: the first one decodes fine before it.
    new DataView(bad.buffer).setFloat64(recordStart + 48 + 3 + 1 + offset, number, true);
    assert.equal(decodeRecordBatch(bad, 10), undefined, `field at ${offset} = ${number}`);
  }
  const longKey = encodeRecordBatch([{ ...record, key: new Uint8Array(ROW_KEY_BYTES_MAX + 1) }]);
  assert.equal(decodeRecordBatch(longKey, 10), undefined, 'key over ROW_KEY_BYTES_MAX');
  // Every byte there, so only the limit refuses it.
  const longValue = new Uint8Array(4 + 48 + VALUE_BYTES_MAX + 1);
  const view = new DataView(longValue.buffer);
  view.setUint32(0, 1, true);
  view.setUint32(4 + 4, VALUE_BYTES_MAX + 1, true);
  assert.equal(decodeRecordBatch(longValue, 10), undefined, 'value over VALUE_BYTES_MAX');
  view.setUint32(4 + 4, VALUE_BYTES_MAX, true);
  assert.equal(decodeRecordBatch(longValue.subarray(0, longValue.length - 1), 10)?.length, 1, 'a value of VALUE_BYTES_MAX decodes');
});

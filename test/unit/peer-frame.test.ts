// Proves the peer frame decoder's error values (oversize, undecodable, unknown message), its hostile-msgpack safety, big frames in small chunks, sealed frames refusing replay, and a replicate frame's `more` mark surviving the wire.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Packr } from 'msgpackr';
import { PEER_PROTOCOL_VERSION } from '../../src/core/messages.js';
import { DIRECTION_FROM_DIALER, FrameOpener, FrameSealer } from '../../src/net/cluster-crypto.js';
import {
  decodeEnvelope,
  encodeFrame,
  encodePayload,
  frameFromPayload,
  FrameDecoder,
  FrameSplitter,
  isFrameError,
  PEER_FRAME_BYTES_MAX,
  type FrameError,
  type PeerEnvelope,
} from '../../src/wire/peer-frame.js';

const hlc = { wallMs: 1_700_000_000_000, logical: 3 };
const ack = (seq: number): PeerEnvelope => ({ v: PEER_PROTOCOL_VERSION, hlc, message: { type: 'replicateAck', seq } });

test('a declared length above PEER_FRAME_BYTES_MAX is fatal before any payload arrives', () => {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(PEER_FRAME_BYTES_MAX + 1, 0);
  const [result] = new FrameDecoder().feed(header);
  assert.ok(isFrameError(result));
  assert.equal(result.code, 'frame_too_large');
  assert.equal(result.fatal, true);
});

test('an HTTP request on the peer port is refused as an oversize frame', () => {
  const [result] = new FrameDecoder().feed(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  assert.equal((result as FrameError).code, 'frame_too_large');
});

test('an unknown message is a non-fatal bad_message and later frames still decode', () => {
  const unknown = frameFromPayload(encodePayload({ v: PEER_PROTOCOL_VERSION, hlc, message: { type: 'fromTheFuture', x: 1 } }));
  const results = new FrameDecoder().feed(Buffer.concat([encodeFrame(ack(1)), unknown, encodeFrame(ack(2))]));
  assert.equal(results.length, 3);
  assert.equal((results[1] as FrameError).code, 'bad_message');
  assert.equal((results[1] as FrameError).fatal, false);
  assert.deepEqual(results[2], ack(2));
});

test('a wrong protocol version or missing hlc is a fatal bad_frame', () => {
  const wrongVersion = decodeEnvelope(encodePayload({ v: PEER_PROTOCOL_VERSION + 1, hlc, message: { type: 'replicateAck', seq: 1 } }));
  assert.equal((wrongVersion as FrameError).code, 'bad_frame');
  const noHlc = decodeEnvelope(encodePayload({ v: PEER_PROTOCOL_VERSION, message: { type: 'replicateAck', seq: 1 } }));
  assert.equal((noHlc as FrameError).code, 'bad_frame');
  assert.equal((decodeEnvelope(Buffer.from([0xc1])) as FrameError).code, 'bad_frame');
  assert.equal((decodeEnvelope(Buffer.alloc(0)) as FrameError).code, 'bad_frame');
});

test('after a fatal error the decoder stays quiet', () => {
  const decoder = new FrameDecoder();
  assert.equal(decoder.feed(Buffer.from([0xff, 0xff, 0xff, 0xff])).length, 1);
  assert.deepEqual(decoder.feed(encodeFrame(ack(1))), []);
});

test('hostile msgpack: record definitions, cyclic clones, __proto__ keys, huge array headers', () => {
  const recordPackr = new Packr({ useRecords: true });
  const withRecords = decodeEnvelope(recordPackr.pack({ v: PEER_PROTOCOL_VERSION, hlc, message: { type: 'replicateAck', seq: 5 } }));
  // Record extensions decode as plain objects and must not leak structures into later frames.
  assert.deepEqual(withRecords, { ...ack(5) });
  assert.deepEqual(decodeEnvelope(encodePayload(ack(64))), ack(64));
  const cyclic = new Packr({ structuredClone: true }).pack((() => { const a: Record<string, unknown> = {}; a.self = a; return a; })());
  assert.ok(isFrameError(decodeEnvelope(cyclic)));
  const proto = decodeEnvelope(Buffer.from('81a95f5f70726f746f5f5f81a17801', 'hex'));
  assert.ok(isFrameError(proto));
  assert.equal(({} as Record<string, unknown>).x, undefined);
  const hugeArray = Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0x01]);
  assert.equal((decodeEnvelope(hugeArray) as FrameError).code, 'bad_frame');
});

test('a 20 MiB frame fed in 64 KiB chunks decodes once, with its bytes intact', () => {
  const value = Buffer.alloc(20 * 1024 * 1024, 7);
  const envelope: PeerEnvelope = {
    v: PEER_PROTOCOL_VERSION,
    hlc,
    message: { type: 'replicate', seq: 9, records: [{ key: Buffer.from('big'), value, hlc, origin: 'a'.repeat(32), expiresAtMs: 0 }] },
  };
  const frame = encodeFrame(envelope);
  const decoder = new FrameDecoder();
  const results: unknown[] = [];
  const started = performance.now();
  for (let offset = 0; offset < frame.length; offset += 64 * 1024) results.push(...decoder.feed(frame.subarray(offset, offset + 64 * 1024)));
  assert.ok(performance.now() - started < 2_000, 'chunked decoding is linear');
  assert.equal(results.length, 1);
  const decoded = results[0] as PeerEnvelope;
  assert.equal(decoded.message.type, 'replicate');
  const record = (decoded.message as unknown as { records: Array<{ value: Uint8Array }> }).records[0]!;
  assert.ok(Buffer.from(record.value).equals(value));
});

test('the splitter handles headers split across chunks, byte by byte', () => {
  const stream = Buffer.concat([encodeFrame(ack(1)), encodeFrame(ack(2))]);
  const splitter = new FrameSplitter();
  const payloads: Buffer[] = [];
  for (const byte of stream) {
    splitter.push(Buffer.from([byte]));
    for (let next = splitter.next(); next !== null; next = splitter.next()) payloads.push(next as Buffer);
  }
  assert.deepEqual(payloads.map((payload) => decodeEnvelope(payload)), [ack(1), ack(2)]);
  assert.equal(splitter.pendingBytes, 0);
});

test('sealed frames open in order; a replayed or tampered frame does not', () => {
  const key = Buffer.alloc(32, 9);
  const sealer = new FrameSealer(key, DIRECTION_FROM_DIALER);
  const opener = new FrameOpener(key, DIRECTION_FROM_DIALER);
  const first = frameFromPayload(sealer.seal(encodePayload(ack(1))));
  const second = frameFromPayload(sealer.seal(encodePayload(ack(2))));
  const decoder = new FrameDecoder({ open: (payload) => opener.open(payload) });
  assert.deepEqual(decoder.feed(Buffer.concat([first, second])), [ack(1), ack(2)]);
  const [replayed] = decoder.feed(first);
  assert.equal((replayed as FrameError).code, 'bad_frame');
  const wrongDirection = new FrameOpener(key, 1);
  assert.equal(wrongDirection.open(first.subarray(4)), null);
  const tampered = Buffer.from(second.subarray(4));
  tampered[0] = tampered[0]! ^ 1;
  assert.equal(new FrameOpener(key, DIRECTION_FROM_DIALER).open(tampered), null);
});

test('a replicate frame marked more decodes with the mark; a mark other than true is a bad_message', () => {
  const records = [{ key: Buffer.from('k'), value: Buffer.from('v'), hlc, origin: 'a'.repeat(32), expiresAtMs: 0 }];
  const marked: PeerEnvelope = { v: PEER_PROTOCOL_VERSION, hlc, message: { type: 'replicate', seq: 4, records, more: true } };
  const [decoded] = new FrameDecoder().feed(encodeFrame(marked));
  assert.ok(!isFrameError(decoded) && decoded!.message.type === 'replicate');
  assert.equal(decoded.message.more, true);
  const [plain] = new FrameDecoder().feed(encodeFrame({ ...marked, message: { type: 'replicate', seq: 4, records } }));
  assert.ok(!isFrameError(plain) && plain!.message.type === 'replicate' && plain.message.more === undefined);
  const [wrong] = new FrameDecoder().feed(frameFromPayload(encodePayload({ v: PEER_PROTOCOL_VERSION, hlc, message: { type: 'replicate', seq: 4, records: [], more: false } })));
  assert.equal((wrong as FrameError).code, 'bad_message');
});

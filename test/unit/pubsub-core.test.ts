// Proves the node core relays a PUBLISH once to each linked peer (one shared message, no wake-up), turns a peer's publish into a local `published` effect without forwarding it, and that the peer frame codec carries publish messages byte-exact while dropping malformed ones as non-fatal bad_message.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_CORE_CONFIG } from '../../src/core/config.js';
import type { Effect, Input } from '../../src/core/io.js';
import { isPeerMessage, PEER_PROTOCOL_VERSION, type PeerMessage } from '../../src/core/messages.js';
import { NodeCore } from '../../src/core/node.js';
import { PUBLISH_CHANNEL_BYTES_MAX } from '../../src/core/pubsub-messages.js';
import { MemoryStore } from '../../src/storage/memory-store.js';
import { encodeFrame, encodePayload, frameFromPayload, FrameDecoder, isFrameError, type FrameError, type PeerEnvelope } from '../../src/wire/peer-frame.js';

const START_MS = 1_800_000_000_000;
const SELF = { id: 'a'.repeat(32), name: 'a', addr: '127.0.0.1:1', incarnation: 1 };
const PEER_B = { id: 'b'.repeat(32), name: 'b', addr: '127.0.0.1:2', incarnation: 1 };
const PEER_C = { id: 'c'.repeat(32), name: 'c', addr: '127.0.0.1:3', incarnation: 1 };
const BINARY_CHANNEL = Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0x2a]);
const BINARY_MESSAGE = Buffer.from([0xc1, 0x00, 0x80, 0x0a]);

function newCore(): NodeCore {
  return new NodeCore({ self: SELF, config: DEFAULT_CORE_CONFIG, lastHlc: { wallMs: 0, logical: 0 }, seed: 1, view: new MemoryStore(), nowMs: START_MS });
}

function publishSends(out: Effect[]): Array<Extract<Effect, { kind: 'send' }>> {
  return out.filter((effect): effect is Extract<Effect, { kind: 'send' }> => effect.kind === 'send' && effect.message.type === 'publish');
}

function fromPeer(core: NodeCore, message: PeerMessage, hlcWallMs = START_MS): Effect[] {
  const input: Input = { kind: 'peerMessage', nowMs: START_MS + 1, from: PEER_B.id, hlc: { wallMs: hlcWallMs, logical: 0 }, message };
  return core.step(input);
}

test('a local publish goes once to each linked peer, as one shared message, with no wake-up', () => {
  const core = newCore();
  core.step({ kind: 'linkUp', nowMs: START_MS, peer: PEER_B });
  core.step({ kind: 'linkUp', nowMs: START_MS, peer: PEER_C });
  const out = core.step({ kind: 'publish', nowMs: START_MS + 1, channel: BINARY_CHANNEL, message: BINARY_MESSAGE });
  const sends = publishSends(out);
  assert.deepEqual(sends.map((effect) => effect.to), [PEER_B.id, PEER_C.id]);
  assert.equal(sends[0]!.message, sends[1]!.message, 'the same object: the runtime encodes the frame once');
  assert.deepEqual(sends[0]!.message, { type: 'publish', channel: BINARY_CHANNEL, message: BINARY_MESSAGE });
  assert.equal(out.length, 2, 'nothing but the sends: no persist, no wakeAt, no local delivery (the server did that)');
  assert.equal(core.counters.publish_relayed_out, 2);
});

test('a publish with no linked peer sends nothing', () => {
  const core = newCore();
  assert.deepEqual(core.step({ kind: 'publish', nowMs: START_MS, channel: BINARY_CHANNEL, message: BINARY_MESSAGE }), []);
});

test("a peer's publish becomes a local `published` effect and is never forwarded", () => {
  const core = newCore();
  core.step({ kind: 'linkUp', nowMs: START_MS, peer: PEER_B });
  core.step({ kind: 'linkUp', nowMs: START_MS, peer: PEER_C });
  const out = fromPeer(core, { type: 'publish', channel: BINARY_CHANNEL, message: BINARY_MESSAGE });
  assert.deepEqual(
    out.filter((effect) => effect.kind === 'published'),
    [{ kind: 'published', channel: BINARY_CHANNEL, message: BINARY_MESSAGE }],
  );
  assert.deepEqual(publishSends(out), [], 'not sent on to C (full mesh: A sent it to C itself)');
  assert.equal(core.counters.publish_relayed_in, 1);
});

test('a publish stamped beyond the max clock offset is dropped like any other peer message', () => {
  const core = newCore();
  core.step({ kind: 'linkUp', nowMs: START_MS, peer: PEER_B });
  const out = fromPeer(core, { type: 'publish', channel: BINARY_CHANNEL, message: BINARY_MESSAGE }, START_MS + DEFAULT_CORE_CONFIG.hlcMaxOffsetMs + 1_000);
  assert.equal(out.some((effect) => effect.kind === 'published'), false);
  assert.equal(core.counters.clock_offset_drops, 1);
});

const hlc = { wallMs: START_MS, logical: 0 };
const ack = (seq: number): PeerEnvelope => ({ v: PEER_PROTOCOL_VERSION, hlc, message: { type: 'replicateAck', seq } });

test('a publish frame round-trips binary channel and message byte-exact', () => {
  const envelope: PeerEnvelope = { v: PEER_PROTOCOL_VERSION, hlc, message: { type: 'publish', channel: BINARY_CHANNEL, message: Buffer.alloc(0) } };
  const [decoded] = new FrameDecoder().feed(encodeFrame(envelope));
  assert.ok(!isFrameError(decoded));
  const message = decoded!.message as Extract<PeerMessage, { type: 'publish' }>;
  assert.equal(message.type, 'publish');
  assert.deepEqual(Buffer.from(message.channel), BINARY_CHANNEL);
  assert.equal(message.message.length, 0, 'an empty message is a message');
});

test('malformed publish messages are non-fatal bad_message drops; the frames after them still decode', () => {
  const malformed: unknown[] = [
    { type: 'publish', channel: 'text, not bytes', message: BINARY_MESSAGE },
    { type: 'publish', channel: BINARY_CHANNEL, message: 42 },
    { type: 'publish', channel: BINARY_CHANNEL },
    { type: 'publish', message: BINARY_MESSAGE },
    { type: 'publish', channel: null, message: null },
    { type: 'publish', channel: [1, 2, 3], message: { nested: true } },
    { type: 'publish', channel: Buffer.alloc(PUBLISH_CHANNEL_BYTES_MAX + 1), message: BINARY_MESSAGE },
    ['publish', BINARY_CHANNEL, BINARY_MESSAGE],
  ];
  for (const message of malformed) assert.equal(isPeerMessage(message), false, JSON.stringify(message));
  const frames = malformed.map((message) => frameFromPayload(encodePayload({ v: PEER_PROTOCOL_VERSION, hlc, message })));
  const results = new FrameDecoder().feed(Buffer.concat([encodeFrame(ack(1)), ...frames, encodeFrame(ack(2))]));
  assert.equal(results.length, malformed.length + 2);
  for (const result of results.slice(1, -1)) {
    assert.equal((result as FrameError).code, 'bad_message');
    assert.equal((result as FrameError).fatal, false);
  }
  assert.deepEqual(results.at(-1), ack(2));
});

test('the longest channel allowed passes validation', () => {
  assert.equal(isPeerMessage({ type: 'publish', channel: Buffer.alloc(PUBLISH_CHANNEL_BYTES_MAX), message: BINARY_MESSAGE }), true);
});

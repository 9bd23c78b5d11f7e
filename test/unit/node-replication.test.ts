// Proves the node core asks to be woken when a replication hold ends (records held for a peer that stopped acking leave REPLICATE_HOLD_MAX_MS later, not at some later tick), answers a purged tombstone offered again with a purge message, and replicates one client write of any size so that a peer applies it in one persist (one transaction) and acks it once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utf8 } from '../../src/core/bytes.js';
import { DEFAULT_CORE_CONFIG } from '../../src/core/config.js';
import type { Effect, Input } from '../../src/core/io.js';
import type { PeerMessage } from '../../src/core/messages.js';
import { NodeCore } from '../../src/core/node.js';
import { REPLICATE_FLUSHES_IN_FLIGHT_MAX, REPLICATE_HOLD_MAX_MS } from '../../src/core/replication-links.js';
import { REPLICATE_RECORDS_MAX } from '../../src/core/replication.js';
import { MemoryStore } from '../../src/storage/memory-store.js';

const START_MS = 1_800_000_000_000;
const SELF = { id: 'a'.repeat(32), name: 'a', addr: '127.0.0.1:1', incarnation: 1 };
const PEER = { id: 'b'.repeat(32), name: 'b', addr: '127.0.0.1:2', incarnation: 1 };

/** A core over a memory store; persist effects are written and reported committed at once. */
function harness(self = SELF) {
  const store = new MemoryStore();
  const core = new NodeCore({ self, config: DEFAULT_CORE_CONFIG, lastHlc: { wallMs: 0, logical: 0 }, seed: 1, view: store, nowMs: START_MS, savedWatchers: undefined, lastUpMs: undefined });
  const step = (input: Input): Effect[] => {
    const out = core.step(input);
    const tokens: number[] = [];
    for (const effect of out) {
      if (effect.kind !== 'persist') continue;
      void store.write({ records: effect.records, purgeKeys: effect.purgeKeys });
      tokens.push(effect.token);
    }
    return tokens.length === 0 ? out : [...out, ...core.step({ kind: 'persisted', nowMs: input.nowMs, tokens })];
  };
  const write = (key: string, nowMs: number) => step({ kind: 'clientWrite', nowMs, requestId: 1, writes: [{ key: utf8(key), value: utf8('v'), expiresAtMs: 0 }] });
  return { step, write };
}

function replicatedKeys(out: Effect[]): string[] {
  return out.flatMap((effect) =>
    effect.kind === 'send' && effect.message.type === 'replicate' ? effect.message.records.map((record) => new TextDecoder().decode(record.key)) : [],
  );
}

function wakeDeadlines(out: Effect[]): number[] {
  return out.flatMap((effect) => (effect.kind === 'wakeAt' ? [effect.deadlineMs] : []));
}

test('records held behind unacknowledged frames leave when the hold ends, at a deadline the core asked for', () => {
  const node = harness();
  node.step({ kind: 'linkUp', nowMs: START_MS, peer: PEER });
  assert.deepEqual(replicatedKeys(node.write('w1', START_MS + 1)), ['w1'], 'an idle link sends at once');
  for (let index = 2; index <= REPLICATE_FLUSHES_IN_FLIGHT_MAX; index++) {
    assert.deepEqual(replicatedKeys(node.write(`w${index}`, START_MS + 1)), [`w${index}`], `${index - 1} frames in flight: the next still goes at once`);
  }
  node.step({ kind: 'tick', nowMs: START_MS + 2 }); // start-up timers (probes, anti-entropy) move past the hold
  const held = node.write('held', START_MS + 3);
  assert.deepEqual(replicatedKeys(held), [], `${REPLICATE_FLUSHES_IN_FLIGHT_MAX} frames are not acknowledged: the next record waits`);
  assert.deepEqual(wakeDeadlines(held), [START_MS + 1 + REPLICATE_HOLD_MAX_MS], 'wake at the end of the hold');
  assert.deepEqual(replicatedKeys(node.step({ kind: 'tick', nowMs: START_MS + 1 + REPLICATE_HOLD_MAX_MS })), ['held'], 'the hold ended: sent without an ack');
});

test('a tombstone this node purged, offered again by a peer, is refused and answered with a purge message', () => {
  const node = harness();
  node.step({ kind: 'linkUp', nowMs: START_MS, peer: PEER });
  const tombstone = { key: utf8('gone'), value: null, hlc: { wallMs: START_MS - 60_000, logical: 0 }, origin: PEER.id, expiresAtMs: 0 };
  const fromPeer = (nowMs: number, message: PeerMessage) => node.step({ kind: 'peerMessage', nowMs, from: PEER.id, hlc: { wallMs: nowMs, logical: 0 }, message });
  fromPeer(START_MS + 1, { type: 'purge', records: [tombstone] }); // purged everywhere, as far as this node knows
  const out = fromPeer(START_MS + 2, { type: 'repair', records: [tombstone] }); // the peer missed that purge and offers it back
  assert.equal(out.some((effect) => effect.kind === 'persist' && effect.records.length > 0), false, 'not stored again');
  const purges = out.filter((effect) => effect.kind === 'send' && effect.to === PEER.id && effect.message.type === 'purge');
  assert.equal(purges.length, 1, 'the peer is told to purge it too');
});

test('a client write of more rows than one frame carries is applied by the peer in one persist, acked once', () => {
  const sender = harness(SELF);
  const receiver = harness(PEER);
  sender.step({ kind: 'linkUp', nowMs: START_MS, peer: PEER });
  receiver.step({ kind: 'linkUp', nowMs: START_MS, peer: SELF });
  const writes = Array.from({ length: REPLICATE_RECORDS_MAX * 2 + 7 }, (_, index) => ({ key: utf8(`k${index}`), value: utf8('v'), expiresAtMs: 0 }));
  const out = sender.step({ kind: 'clientWrite', nowMs: START_MS + 1, requestId: 1, writes });
  const frames = out.flatMap((effect) => (effect.kind === 'send' && effect.to === PEER.id && effect.message.type === 'replicate' ? [effect] : []));
  assert.ok(frames.length >= 3, 'more rows than a frame carries: several frames');
  const persisted: number[] = [];
  const acks: number[] = [];
  for (const frame of frames) {
    const effects = receiver.step({ kind: 'peerMessage', nowMs: START_MS + 2, from: SELF.id, hlc: frame.hlc, message: frame.message });
    for (const effect of effects) {
      if (effect.kind === 'persist' && effect.records.length > 0) persisted.push(effect.records.length);
      if (effect.kind === 'send' && effect.message.type === 'replicateAck') acks.push(effect.message.seq);
    }
  }
  assert.deepEqual(persisted, [writes.length], 'every row in one persist effect: one LMDB transaction');
  assert.deepEqual(acks, [1], 'acknowledged once, after the last frame');
});

test('client writes queued together travel in frames that each hold whole writes', () => {
  const sender = harness(SELF);
  sender.step({ kind: 'linkUp', nowMs: START_MS, peer: PEER });
  sender.write('first', START_MS + 1); // in flight: the next writes are held together
  const held: Effect[] = [];
  for (let write = 0; write < 40; write++) {
    const rows = Array.from({ length: 7 }, (_, index) => ({ key: utf8(`w${write}:${index}`), value: new Uint8Array(9_000), expiresAtMs: 0 }));
    held.push(...sender.step({ kind: 'clientWrite', nowMs: START_MS + 2, requestId: 2 + write, writes: rows }));
  }
  const out = sender.step({ kind: 'tick', nowMs: START_MS + 2 + REPLICATE_HOLD_MAX_MS });
  const frames = [...held, ...out].flatMap((effect) => (effect.kind === 'send' && effect.message.type === 'replicate' ? [effect.message] : []));
  assert.ok(frames.length > 2, 'more than one frame');
  for (const frame of frames) {
    const byWrite = new Map<string, number>();
    for (const record of frame.records) {
      const name = new TextDecoder().decode(record.key).split(':')[0]!;
      byWrite.set(name, (byWrite.get(name) ?? 0) + 1);
    }
    for (const [name, count] of byWrite) if (name !== 'first') assert.equal(count, 7, `write ${name} whole in one frame`);
    assert.equal(frame.more, undefined);
  }
});

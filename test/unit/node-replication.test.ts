// Proves the node core asks to be woken when a replication hold ends (records held for a peer that stopped acking leave REPLICATE_HOLD_MAX_MS later, not at some later tick), and answers a purged tombstone offered again with a purge message.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utf8 } from '../../src/core/bytes.js';
import { DEFAULT_CORE_CONFIG } from '../../src/core/config.js';
import type { Effect, Input } from '../../src/core/io.js';
import type { PeerMessage } from '../../src/core/messages.js';
import { NodeCore } from '../../src/core/node.js';
import { REPLICATE_HOLD_MAX_MS } from '../../src/core/replication-links.js';
import { MemoryStore } from '../../src/storage/memory-store.js';

const START_MS = 1_800_000_000_000;
const SELF = { id: 'a'.repeat(32), name: 'a', addr: '127.0.0.1:1', incarnation: 1 };
const PEER = { id: 'b'.repeat(32), name: 'b', addr: '127.0.0.1:2', incarnation: 1 };

/** A core over a memory store; persist effects are written and reported committed at once. */
function harness() {
  const store = new MemoryStore();
  const core = new NodeCore({ self: SELF, config: DEFAULT_CORE_CONFIG, lastHlc: { wallMs: 0, logical: 0 }, seed: 1, view: store, nowMs: START_MS, savedWatchers: undefined, lastUpMs: undefined });
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

test('records held behind an unacknowledged frame leave when the hold ends, at a deadline the core asked for', () => {
  const node = harness();
  node.step({ kind: 'linkUp', nowMs: START_MS, peer: PEER });
  assert.deepEqual(replicatedKeys(node.write('first', START_MS + 1)), ['first'], 'an idle link sends at once');
  node.step({ kind: 'tick', nowMs: START_MS + 2 }); // start-up timers (probes, anti-entropy) move past the hold
  const held = node.write('second', START_MS + 3);
  assert.deepEqual(replicatedKeys(held), [], 'the first frame is not acknowledged: the second record waits');
  assert.deepEqual(wakeDeadlines(held), [START_MS + 1 + REPLICATE_HOLD_MAX_MS], 'wake at the end of the hold');
  assert.deepEqual(replicatedKeys(node.step({ kind: 'tick', nowMs: START_MS + 1 + REPLICATE_HOLD_MAX_MS })), ['second'], 'the hold ended: sent without an ack');
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

// Proves a restarted core stamps above every row it stores, even one stamped above the clock bound it saved (a batch committed apart from its bound), unless that row is further ahead than peers would accept.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_CORE_CONFIG } from '../../src/core/config.js';
import { utf8 } from '../../src/core/bytes.js';
import { compareHlc } from '../../src/core/hlc.js';
import { NodeCore } from '../../src/core/node.js';
import { headerRowKey } from '../../src/core/rows.js';
import type { Hlc } from '../../src/core/types.js';
import { MemoryStore } from '../../src/storage/memory-store.js';

const NOW_MS = 1_800_000_000_000;
const SELF = { id: 'a'.repeat(32), name: 'a', addr: '127.0.0.1:1', incarnation: 2 };
const PEER = 'b'.repeat(32);
const SAVED_BOUND: Hlc = { wallMs: NOW_MS - 10_000, logical: 0 };

async function storeHolding(stamp: Hlc): Promise<MemoryStore> {
  const store = new MemoryStore();
  await store.write({ records: [{ key: headerRowKey(utf8('k')), value: utf8('from a peer'), hlc: stamp, origin: PEER, expiresAtMs: 0 }], purgeKeys: [] });
  return store;
}

/** The stamp of the first write a core restarted on `store` makes, at NOW_MS. */
function firstStamp(store: MemoryStore): Hlc {
  const core = new NodeCore({ self: SELF, config: DEFAULT_CORE_CONFIG, lastHlc: SAVED_BOUND, seed: 1, view: store, nowMs: NOW_MS, savedWatchers: undefined, lastUpMs: undefined });
  const effects = core.step({ kind: 'clientWrite', nowMs: NOW_MS, requestId: 1, writes: [{ key: utf8('other'), value: utf8('v'), expiresAtMs: 0, replacesKey: true }] });
  const persist = effects.find((effect) => effect.kind === 'persist');
  assert.ok(persist !== undefined && persist.kind === 'persist');
  return persist.records[0]!.hlc;
}

test('a restarted core stamps above a stored row stamped ahead of its wall clock and of its saved bound', async () => {
  // A peer's clock ran 300 ms ahead (within the max offset): the row came in, the bound did not make it to disk.
  const ahead: Hlc = { wallMs: NOW_MS + 300, logical: 7 };
  assert.ok(compareHlc(firstStamp(await storeHolding(ahead)), ahead) > 0);
});

test('a stored row further ahead than the max offset does not drag the clock along', async () => {
  const farAhead: Hlc = { wallMs: NOW_MS + DEFAULT_CORE_CONFIG.hlcMaxOffsetMs + 60_000, logical: 0 };
  const stamp = firstStamp(await storeHolding(farAhead));
  assert.ok(stamp.wallMs <= NOW_MS + 1, `stamped ${stamp.wallMs}, the wall clock is ${NOW_MS}`);
});

// Proves when a node resyncs after an absence: only if it was away longer than the
// tombstone grace AND it ever had peers (a lone node serves its data at once).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_CORE_CONFIG } from '../../src/core/config.js';
import { utf8 } from '../../src/core/bytes.js';
import { NodeCore } from '../../src/core/node.js';
import { MemoryStore } from '../../src/storage/memory-store.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const NOW_MS = 1_800_000_000_000;
const SELF = { id: 'a'.repeat(32), name: 'a', addr: '127.0.0.1:1', incarnation: 2 };
const PEER = 'b'.repeat(32);

function coreWith(lastUpMs: number | undefined, savedWatchers: Uint8Array | undefined): NodeCore {
  return new NodeCore({ self: SELF, config: DEFAULT_CORE_CONFIG, lastHlc: { wallMs: 0, logical: 0 }, seed: 1, view: new MemoryStore(), nowMs: NOW_MS, savedWatchers, lastUpMs });
}

test('a node that had peers and was away longer than the grace resyncs', () => {
  const watchers = utf8(JSON.stringify({ [PEER]: NOW_MS - 3 * DAY_MS }));
  assert.equal(coreWith(NOW_MS - 2 * DAY_MS, watchers).resync.active(), true);
});

test('a short absence, a first start, or a node that never had peers: no resync', () => {
  const watchers = utf8(JSON.stringify({ [PEER]: NOW_MS - 60_000 }));
  assert.equal(coreWith(NOW_MS - 60_000, watchers).resync.active(), false);
  assert.equal(coreWith(undefined, watchers).resync.active(), false);
  assert.equal(coreWith(NOW_MS - 2 * DAY_MS, undefined).resync.active(), false);
  assert.equal(coreWith(NOW_MS - 2 * DAY_MS, utf8('{"garbage": true}')).resync.active(), false);
});

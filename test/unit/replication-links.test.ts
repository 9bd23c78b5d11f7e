// Proves a replication link sends at once when idle, holds new records while its last frame is unacknowledged, and never holds past a full batch or REPLICATE_HOLD_MAX_MS (a deadline the node wakes for).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utf8 } from '../../src/core/bytes.js';
import type { Effect } from '../../src/core/io.js';
import { REPLICATE_HOLD_MAX_MS, ReplicationLinks } from '../../src/core/replication-links.js';
import type { VersionedRecord } from '../../src/core/types.js';

const PEER = 'b0'.repeat(16);
const ORIGIN = '0a'.repeat(16);
const BATCH_BYTES_MAX = 64 * 1024;

function record(index: number, valueBytes = 10): VersionedRecord {
  return { key: utf8(`key:${index}`), value: new Uint8Array(valueBytes), hlc: { wallMs: 1_000, logical: index }, origin: ORIGIN, expiresAtMs: 0 };
}

/** The replicate frames of a flush, as [seq, record count]. */
function frames(out: Effect[]): [number, number][] {
  return out.flatMap((effect) => (effect.kind === 'send' && effect.message.type === 'replicate' ? [[effect.message.seq, effect.message.records.length] as [number, number]] : []));
}

function flushAt(links: ReplicationLinks, nowMs: number): [number, number][] {
  const out: Effect[] = [];
  links.flush(nowMs, out);
  return frames(out);
}

/** A link to PEER whose first frame (record 1, seq 1) left at nowMs and is not acknowledged yet. */
function linkWithFrameInFlight(nowMs: number): ReplicationLinks {
  const links = new ReplicationLinks(BATCH_BYTES_MAX);
  links.open(PEER, 0);
  links.queueLocal([record(1)], 1);
  assert.deepEqual(flushAt(links, nowMs), [[1, 1]], 'an idle link sends at once');
  return links;
}

test('an idle link sends at once; later records wait for the ack and then leave together', () => {
  const links = linkWithFrameInFlight(0);
  links.queueLocal([record(2)], 2);
  assert.deepEqual(flushAt(links, 1), [], 'frame 1 is in flight');
  links.queueLocal([record(3), record(4)], 3);
  assert.deepEqual(flushAt(links, 2), []);
  assert.equal(links.acknowledge(PEER, 1, 3), true);
  assert.deepEqual(flushAt(links, 3), [[3, 3]], 'the ack releases everything held, in one frame');
  assert.equal(links.acknowledge(PEER, 3, 3), true);
  links.queueLocal([record(5)], 4);
  assert.deepEqual(flushAt(links, 4), [[4, 1]], 'idle again: no wait');
});

test('a hold ends after REPLICATE_HOLD_MAX_MS without an ack', () => {
  const links = linkWithFrameInFlight(100);
  links.queueLocal([record(2)], 2);
  assert.deepEqual(flushAt(links, 100 + REPLICATE_HOLD_MAX_MS - 1), []);
  assert.deepEqual(flushAt(links, 100 + REPLICATE_HOLD_MAX_MS), [[2, 1]]);
});

test('a held queue has a deadline at the end of its hold, so the node wakes to send it', () => {
  const links = linkWithFrameInFlight(100);
  assert.equal(links.nextHoldDeadlineMs(), Infinity, 'nothing queued: nothing to wake for');
  links.queueLocal([record(2)], 2);
  assert.equal(links.nextHoldDeadlineMs(), 100 + REPLICATE_HOLD_MAX_MS);
  assert.equal(links.acknowledge(PEER, 1, 2), true);
  assert.equal(links.nextHoldDeadlineMs(), Infinity, 'acknowledged: the queue goes with the next flush, no hold');
  assert.deepEqual(flushAt(links, 101), [[2, 1]]);
});

test('a full batch goes without waiting for the ack', () => {
  const links = linkWithFrameInFlight(0);
  const big = Array.from({ length: 8 }, (_, index) => record(10 + index, 10_000));
  links.queueLocal(big, 2);
  assert.deepEqual(flushAt(links, 1), [[2, 7], [2, 1]], 'past the batch bound: split, and sent at once');
  assert.equal(links.recordsSent, 9);
});

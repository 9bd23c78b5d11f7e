// Proves a replication link sends at once while fewer than REPLICATE_FLUSHES_IN_FLIGHT_MAX frames are unacknowledged, holds new records while that many are, never holds past a full batch or REPLICATE_HOLD_MAX_MS (a deadline the node wakes for), cuts frames only between client writes (a write too big for one frame goes in frames marked `more` that the receiver merges as one), never acks a write still in a later frame, and tells which rows their origin will push on a live link (anti-entropy leaves those to replication).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utf8 } from '../../src/core/bytes.js';
import type { Effect } from '../../src/core/io.js';
import fc from 'fast-check';
import type { PeerMessage } from '../../src/core/messages.js';
import { recordBytes, REPLICATE_FLUSHES_IN_FLIGHT_MAX, REPLICATE_HOLD_MAX_MS, ReplicationLinks, REPLICATION_PRIORITY_WINDOW_MS } from '../../src/core/replication-links.js';
import { REPLICATE_RECORDS_MAX } from '../../src/core/replication.js';
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

/** The window: sends that may await their ack before a link holds. */
const WINDOW = REPLICATE_FLUSHES_IN_FLIGHT_MAX;
/** The record index and seq of the first write after a full window (linkWithFrameInFlight). */
const NEXT = WINDOW + 1;

/**
 * A link to PEER whose first WINDOW frames (records 1..WINDOW, seqs 1..WINDOW; the last
 * at nowMs) are in flight: REPLICATE_FLUSHES_IN_FLIGHT_MAX, so it holds what comes next.
 */
function linkWithFrameInFlight(nowMs: number): ReplicationLinks {
  assert.ok(WINDOW >= 2);
  const links = new ReplicationLinks(BATCH_BYTES_MAX);
  links.open(PEER, 0);
  links.queueLocal([record(1)], 1);
  assert.deepEqual(flushAt(links, nowMs), [[1, 1]], 'an idle link sends at once');
  for (let seq = 2; seq <= WINDOW; seq++) {
    links.queueLocal([record(seq)], seq);
    assert.deepEqual(flushAt(links, nowMs), [[seq, 1]], `${seq - 1} frames in flight: the next goes at once too`);
  }
  return links;
}

test('a link sends at once until a window of frames is in flight; later records wait for an ack and then leave together', () => {
  const links = linkWithFrameInFlight(0);
  links.queueLocal([record(NEXT)], NEXT);
  assert.deepEqual(flushAt(links, 1), [], `frames 1..${WINDOW} are in flight`);
  links.queueLocal([record(NEXT + 1), record(NEXT + 2)], NEXT + 1);
  assert.deepEqual(flushAt(links, 2), []);
  assert.equal(links.acknowledge(PEER, 1, NEXT + 1), true);
  assert.deepEqual(flushAt(links, 3), [[NEXT + 1, 3]], 'an ack opens the window: everything held leaves in one frame');
  links.queueLocal([record(NEXT + 3)], NEXT + 2);
  assert.deepEqual(flushAt(links, 3), [], `frames 2..${WINDOW} and ${NEXT + 1} are in flight`);
  assert.equal(links.acknowledge(PEER, NEXT + 1, NEXT + 2), true);
  assert.deepEqual(flushAt(links, 4), [[NEXT + 2, 1]], 'a cumulative ack releases it');
  assert.equal(links.acknowledge(PEER, NEXT + 2, NEXT + 2), true);
  links.queueLocal([record(NEXT + 4)], NEXT + 3);
  assert.deepEqual(flushAt(links, 5), [[NEXT + 3, 1]], 'idle again: no wait');
});

test('a hold ends after REPLICATE_HOLD_MAX_MS without an ack', () => {
  const links = linkWithFrameInFlight(100);
  links.queueLocal([record(NEXT)], NEXT);
  assert.deepEqual(flushAt(links, 100 + REPLICATE_HOLD_MAX_MS - 1), []);
  assert.deepEqual(flushAt(links, 100 + REPLICATE_HOLD_MAX_MS), [[NEXT, 1]]);
});

test('a held queue has a deadline at the end of its hold, so the node wakes to send it', () => {
  const links = linkWithFrameInFlight(100);
  assert.equal(links.nextHoldDeadlineMs(), Infinity, 'nothing queued: nothing to wake for');
  links.queueLocal([record(NEXT)], NEXT);
  assert.equal(links.nextHoldDeadlineMs(), 100 + REPLICATE_HOLD_MAX_MS);
  assert.equal(links.acknowledge(PEER, 1, NEXT), true);
  assert.equal(links.nextHoldDeadlineMs(), Infinity, 'frame 1 acknowledged: the queue goes with the next flush, no hold');
  assert.deepEqual(flushAt(links, 101), [[NEXT, 1]]);
});

test('a full batch goes without waiting for the ack', () => {
  const links = linkWithFrameInFlight(0);
  const big = Array.from({ length: 8 }, (_, index) => record(10 + index, 10_000));
  links.queueLocal(big, NEXT);
  const out: Effect[] = [];
  links.flush(1, out);
  assert.deepEqual(frames(out), [[NEXT, 6], [NEXT, 2]], 'past the batch bound: split, and sent at once');
  assert.deepEqual(moreFlags(out), [true, false], 'one client write: the first frame says more follows');
  assert.equal(links.recordsSent, WINDOW + 8);
});

function moreFlags(out: Effect[]): boolean[] {
  return out.flatMap((effect) => (effect.kind === 'send' && effect.message.type === 'replicate' ? [effect.message.more === true] : []));
}

function replicateMessages(out: Effect[]): Extract<PeerMessage, { type: 'replicate' }>[] {
  return out.flatMap((effect) => (effect.kind === 'send' && effect.message.type === 'replicate' ? [effect.message] : []));
}

test('frames are cut only between client writes, each acked at the seq of the last write it ends', () => {
  const links = new ReplicationLinks(BATCH_BYTES_MAX);
  links.open(PEER, 0);
  // Writes of 3 records of ~10 KB: two fit in a 64 KiB frame, a third does not.
  for (let write = 0; write < 5; write++) links.queueLocal([0, 1, 2].map((index) => record(write * 3 + index, 10_000)), write + 1);
  const out: Effect[] = [];
  links.flush(0, out);
  assert.deepEqual(frames(out), [[2, 6], [4, 6], [5, 3]], 'whole writes per frame; seq of the last write in it');
  assert.deepEqual(moreFlags(out), [false, false, false]);
});

test('a client write of more records than a frame may carry goes in frames marked more, merged as one by the receiver', () => {
  const sender = new ReplicationLinks(64 * 1024 * 1024); // the record bound cuts here, not the byte bound
  sender.open(PEER, 0);
  const before = [record(0)];
  const huge = Array.from({ length: REPLICATE_RECORDS_MAX * 2 + 5 }, (_, index) => record(100 + index, 0));
  const after = [record(1)];
  sender.queueLocal(before, 1);
  sender.queueLocal(huge, 2);
  sender.queueLocal(after, 3);
  const out: Effect[] = [];
  sender.flush(0, out);
  const messages = replicateMessages(out);
  assert.deepEqual(messages.map((message) => [message.records.length, message.more === true]), [[1, false], [REPLICATE_RECORDS_MAX, true], [REPLICATE_RECORDS_MAX, true], [5, false], [1, false]]);
  assert.deepEqual(messages[0]!.records, before, 'the write before stays whole in its own frame');
  assert.deepEqual(messages.at(-1)!.records, after, 'the write after starts a frame of its own');
  const receiver = new ReplicationLinks(BATCH_BYTES_MAX);
  receiver.open(ORIGIN, 0);
  const merged = messages.map((message) => receiver.receive(ORIGIN, message));
  assert.deepEqual(merged[0], before);
  for (const held of merged.slice(1, -2)) assert.equal(held, undefined, 'frames marked more are held');
  assert.deepEqual(merged.at(-2), huge, 'the last frame of the write hands over all of it, in order');
  assert.deepEqual(merged.at(-1), after);
});

test('a receiver that drops a frame of a split client write drops the rest of that write, then resumes', () => {
  const sender = new ReplicationLinks(16 * 1024);
  sender.open(PEER, 0);
  sender.queueLocal(Array.from({ length: 5 }, (_, index) => record(index, 10_000)), 1);
  sender.queueLocal([record(9)], 2);
  const out: Effect[] = [];
  sender.flush(0, out);
  const messages = replicateMessages(out);
  assert.deepEqual(messages.map((message) => [message.records.length, message.more === true]), [[1, true], [1, true], [1, true], [1, true], [1, false], [1, false]]);
  const receiver = new ReplicationLinks(16 * 1024);
  receiver.open(ORIGIN, 0);
  assert.equal(receiver.receive(ORIGIN, messages[0]!), undefined);
  receiver.dropped(ORIGIN, messages[1]!); // e.g. its clock was too far ahead
  assert.equal(receiver.get(ORIGIN)!.receiveGap, true, 'acks stop: they would vouch for the dropped frame');
  for (const message of messages.slice(2, 5)) assert.equal(receiver.receive(ORIGIN, message), undefined, 'never half of the write');
  assert.deepEqual(receiver.receive(ORIGIN, messages[5]!), [record(9)], 'the next write arrives whole');
});

test('any mix of client writes: frames within bounds, cut between writes unless marked more, received as whole writes', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2_000, max: 40_000 }),
      fc.array(fc.array(fc.integer({ min: 0, max: 12_000 }), { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 30 }),
      (batchBytesMax, writes) => {
        const sender = new ReplicationLinks(batchBytesMax);
        sender.open(PEER, 0);
        let next = 0;
        const written: VersionedRecord[][] = writes.map((sizes, index) => {
          const records = sizes.map((size) => record(next++, size));
          sender.queueLocal(records, index + 1);
          return records;
        });
        const out: Effect[] = [];
        sender.flush(0, out);
        const messages = replicateMessages(out);
        const writeOf = new Map<VersionedRecord, number>();
        written.forEach((records, index) => records.forEach((item) => writeOf.set(item, index)));
        const lastOf = (index: number) => written[index]!.at(-1)!;
        for (const message of messages) {
          const bytes = message.records.reduce((sum, item) => sum + recordBytes(item), 0);
          assert.ok(message.records.length === 1 || bytes <= batchBytesMax, 'within the byte bound (or one record)');
          const last = message.records.at(-1)!;
          const endsWrite = lastOf(writeOf.get(last)!) === last;
          assert.equal(message.more === true, !endsWrite, 'a frame is marked more exactly when it ends inside a write');
          if (endsWrite) assert.equal(message.seq, writeOf.get(last)! + 1, 'acked at the seq of the last write it ends');
        }
        const receiver = new ReplicationLinks(batchBytesMax);
        receiver.open(ORIGIN, 0);
        const applied: VersionedRecord[][] = [];
        for (const message of messages) {
          const ready = receiver.receive(ORIGIN, message);
          if (ready !== undefined) applied.push([...ready]);
        }
        assert.deepEqual(applied.flat(), written.flat(), 'every record, in order');
        for (const batch of applied) {
          assert.equal(written[writeOf.get(batch[0]!)!]![0], batch[0], 'each applied batch starts a write');
          assert.equal(lastOf(writeOf.get(batch.at(-1)!)!), batch.at(-1), 'and ends one: writes are never applied in parts');
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('rows their origin stamped after the link came up on its side arrive by replication; older ones, or any after a lost frame, do not', () => {
  const NOW_MS = 5_500;
  const links = new ReplicationLinks(BATCH_BYTES_MAX);
  links.open(ORIGIN, 0);
  const stamped = (wallMs: number, logical = 0, origin = ORIGIN): VersionedRecord => ({ ...record(1), hlc: { wallMs, logical }, origin });
  assert.equal(links.arrivesByReplication(stamped(5_000), NOW_MS), false, 'no syncHello yet: unknown');
  links.notePushedAfter(ORIGIN, { wallMs: 1_000, logical: 3 });
  assert.equal(links.arrivesByReplication(stamped(1_000, 4), NOW_MS), true, 'stamped after the link came up: pushed to us');
  assert.equal(links.arrivesByReplication(stamped(1_000, 3), NOW_MS), false, 'stamped before');
  assert.equal(links.arrivesByReplication(stamped(5_000, 0, PEER), NOW_MS), false, 'no link to its origin');
  links.dropped(ORIGIN, { type: 'replicate', seq: 1, records: [] });
  assert.equal(links.arrivesByReplication(stamped(5_000), NOW_MS), false, 'a frame was lost on this link: anti-entropy must bring it');
  links.close(ORIGIN);
  links.open(ORIGIN, 0);
  links.notePushedAfter(ORIGIN, { wallMs: 9_000, logical: 0 });
  assert.equal(links.arrivesByReplication(stamped(5_000), NOW_MS), false, 'stamped before the new link came up');
  assert.equal(links.arrivesByReplication(stamped(9_001), NOW_MS), true);
  assert.equal(links.arrivesByReplication(stamped(9_001), 9_001 + REPLICATION_PRIORITY_WINDOW_MS + 1), false, 'too old to wait for: a lost frame gets repaired');
});

// Proves the write-ahead log: frames round-trip, torn or damaged tails are cut cleanly, replay restores records, purges and meta, and applied segments are deleted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { utf8 } from '../../src/core/bytes.js';
import type { VersionedRecord } from '../../src/core/types.js';
import { openLmdbStore } from '../../src/storage/lmdb-store.js';
import { encodeRecordValue, encodeStoredKey } from '../../src/storage/record-codec.js';
import {
  decodeSegment,
  GroupEncoder,
  LOG_ENTRY_META,
  LOG_ENTRY_PURGE,
  LOG_ENTRY_RECORD,
  listSegments,
  WriteAheadLog,
  type LogEntryKind,
} from '../../src/storage/write-ahead-log.js';

const ORIGIN = '00112233445566778899aabbccddeeff';
const MAGIC_BYTES = 8;

function makeRecord(key: string, value: string | null, wallMs = 1_000): VersionedRecord {
  return { key: utf8(key), value: value === null ? null : utf8(value), hlc: { wallMs, logical: 0 }, origin: ORIGIN, expiresAtMs: 0 };
}

async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'peerkv-wal-test-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface PlainEntry {
  readonly kind: LogEntryKind;
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

function frameOf(entries: readonly PlainEntry[]): Buffer {
  const encoder = new GroupEncoder();
  for (const entry of entries) encoder.append(entry.kind, entry.key, entry.kind === LOG_ENTRY_PURGE ? undefined : entry.value);
  return Buffer.from(encoder.finish());
}

function segmentOf(frames: readonly Buffer[]): Buffer {
  return Buffer.concat([Buffer.from([0x50, 0x4b, 0x56, 0x57, 0x41, 0x4c, 0x00, 0x01]), ...frames]);
}

const entryArbitrary = fc.record({
  kind: fc.constantFrom<LogEntryKind>(LOG_ENTRY_RECORD, LOG_ENTRY_PURGE, LOG_ENTRY_META),
  key: fc.uint8Array({ maxLength: 40 }),
  value: fc.uint8Array({ maxLength: 300 }),
});

function plain(entries: readonly PlainEntry[]): PlainEntry[] {
  return entries.map((entry) => ({ kind: entry.kind, key: new Uint8Array(entry.key), value: entry.kind === LOG_ENTRY_PURGE ? new Uint8Array(0) : new Uint8Array(entry.value) }));
}

test('frames round-trip, and any truncation keeps exactly the whole frames before it', () => {
  fc.assert(
    fc.property(fc.array(fc.array(entryArbitrary, { maxLength: 5 }), { maxLength: 5 }), fc.nat(), (groups, cutSeed) => {
      const frames = groups.map(frameOf);
      const bytes = segmentOf(frames);
      const whole = decodeSegment(bytes);
      assert.equal(whole.problem, undefined);
      assert.deepEqual(whole.groups.map(plain), groups.map(plain));
      const cut = MAGIC_BYTES + (cutSeed % (bytes.length - MAGIC_BYTES + 1));
      const truncated = decodeSegment(bytes.subarray(0, cut));
      let end = MAGIC_BYTES;
      let complete = 0;
      while (complete < frames.length && end + frames[complete]!.length <= cut) end += frames[complete++]!.length;
      assert.equal(truncated.groups.length, complete);
      assert.equal(truncated.problem, end === cut ? undefined : 'torn_frame');
    }),
    { numRuns: 200, seed: 7 },
  );
});

test('a flipped byte inside a frame stops decoding at that frame', () => {
  const frames = [0, 1, 2].map((index) => frameOf([{ kind: LOG_ENTRY_RECORD, key: utf8(`k${index}`), value: utf8('value') }]));
  const bytes = segmentOf(frames);
  bytes[MAGIC_BYTES + frames[0]!.length + 12]! ^= 0x40;
  const decoded = decodeSegment(bytes);
  assert.equal(decoded.groups.length, 1);
  assert.equal(decoded.problem, 'checksum_mismatch');
  assert.equal(decodeSegment(Buffer.from('not a log at all')).problem, 'bad_magic');
});

/** Write groups to log segments in dir as a crashed store would leave them (nothing applied). */
async function writeCrashedLog(dir: string, groups: readonly PlainEntry[][], segmentBytesTarget?: number): Promise<void> {
  const log = new WriteAheadLog({
    dir,
    fsync: 'no',
    firstSequence: 1,
    syncStore: async () => undefined,
    onError: (error) => assert.fail(error),
    ...(segmentBytesTarget !== undefined ? { segmentBytesTarget } : {}),
  });
  for (const group of groups) log.append(frameOf(group));
  await log.close(false);
}

function recordEntry(record: VersionedRecord): PlainEntry {
  return { kind: LOG_ENTRY_RECORD, key: encodeStoredKey(record.key), value: encodeRecordValue(record) };
}

test('open replays the log: records, purges and meta in order; a torn last frame is ignored; the log is then deleted', () =>
  withTempDir(async (dir) => {
    const before = await openLmdbStore({ dir, fsync: 'no' });
    await before.write({ records: [makeRecord('old', 'in-lmdb')], purgeKeys: [] });
    await before.close();
    await writeCrashedLog(dir, [
      [recordEntry(makeRecord('a', '1')), recordEntry(makeRecord('b', '1')), recordEntry(makeRecord('gone', 'x'))],
      [{ kind: LOG_ENTRY_PURGE, key: encodeStoredKey(utf8('gone')), value: new Uint8Array(0) }, { kind: LOG_ENTRY_PURGE, key: encodeStoredKey(utf8('old')), value: new Uint8Array(0) }],
      [recordEntry(makeRecord('a', '2', 2_000)), { kind: LOG_ENTRY_META, key: utf8('incarnation'), value: utf8('9') }],
    ]);
    const segments = listSegments(dir);
    assert.equal(segments.length, 1);
    const torn = frameOf([recordEntry(makeRecord('torn', 'never-acknowledged'))]);
    appendFileSync(segments[0]!.path, torn.subarray(0, torn.length - 3));

    const store = await openLmdbStore({ dir, fsync: 'no', onLogDamage: (message) => assert.fail(`a torn last frame is not damage: ${message}`) });
    try {
      assert.deepEqual(store.get(utf8('a')), makeRecord('a', '2', 2_000));
      assert.deepEqual(store.get(utf8('b')), makeRecord('b', '1'));
      assert.equal(store.get(utf8('gone')), undefined);
      assert.equal(store.get(utf8('old')), undefined, 'a replayed purge removes what LMDB held');
      assert.equal(store.get(utf8('torn')), undefined);
      assert.deepEqual(store.getMeta('incarnation'), utf8('9'));
      assert.equal(store.countRecords(), 2);
      assert.deepEqual(listSegments(dir).map((segment) => segment.sequence), [2], 'replayed segments deleted, a fresh one opened');
    } finally {
      await store.close();
    }
    assert.deepEqual(listSegments(dir), [], 'close deletes the applied log');
  }));

test('damage in an earlier segment is reported and skipped; later segments still replay', () =>
  withTempDir(async (dir) => {
    const groups = Array.from({ length: 6 }, (_, index) => [recordEntry(makeRecord(`key:${index}`, 'v'.repeat(100)))]);
    await writeCrashedLog(dir, groups, 300);
    const segments = listSegments(dir);
    assert.ok(segments.length >= 3, `small segments rotate (${segments.length})`);
    const first = readFileSync(segments[0]!.path);
    first[first.length - 5]! ^= 0xff;
    writeFileSync(segments[0]!.path, first);
    const damage: string[] = [];
    const store = await openLmdbStore({ dir, fsync: 'no', onLogDamage: (message) => damage.push(message) });
    try {
      assert.equal(damage.length, 1);
      assert.match(damage[0]!, /checksum_mismatch/);
      assert.equal(store.get(utf8('key:5'))?.value?.length, 100, 'the last segment replayed');
      assert.ok(store.countRecords() < 6 && store.countRecords() >= 4);
    } finally {
      await store.close();
    }
  }));

test('segments are deleted once LMDB has applied them; writes under backpressure still resolve in order', () =>
  withTempDir(async (dir) => {
    const store = await openLmdbStore({ dir, fsync: 'everysec', logSegmentBytesTarget: 4 * 1024, unappliedRecordsMax: 10 });
    try {
      const order: number[] = [];
      const writes: Promise<void>[] = [];
      for (let round = 0; round < 40; round++) {
        const records = Array.from({ length: 25 }, (_, index) => makeRecord(`key:${round}:${index}`, 'x'.repeat(50)));
        writes.push(store.write({ records, purgeKeys: [] }).then(() => void order.push(round)));
        await new Promise((resolve) => setImmediate(resolve)); // one group per turn
      }
      await Promise.all(writes);
      assert.deepEqual(order, Array.from({ length: 40 }, (_, index) => index));
      assert.equal(store.countRecords(), 1_000);
      for (let attempt = 0; attempt < 200 && store.logSegmentCount() > 1; attempt++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(store.logSegmentCount(), 1, 'only the current segment stays');
      assert.equal(readdirSync(dir).filter((name) => name.startsWith('wal-')).length, 1);
    } finally {
      await store.close();
    }
    const reopened = await openLmdbStore({ dir, fsync: 'no' });
    try {
      assert.equal(reopened.countRecords(), 1_000);
    } finally {
      await reopened.close();
    }
  }));

// Proves scanRowsReverse on both stores returns exactly the rows scanRows returns, last first, and that paging either way never stops early, page by page from any `before`: committed and pending rows, tombstones, neighbours sharing a prefix, and long row keys whose stored order is by digest.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { utf8 } from '../../src/core/bytes.js';
import { kindPrefix, rowKey, RowKind } from '../../src/core/rows.js';
import type { VersionedRecord } from '../../src/core/types.js';
import { MemoryStore } from '../../src/storage/memory-store.js';
import { openLmdbStore } from '../../src/storage/lmdb-store.js';
import type { Store } from '../../src/storage/store.js';

const ORIGIN = 'a'.repeat(32);

function record(key: Uint8Array, index: number, tombstone = false): VersionedRecord {
  return { key, value: tombstone ? null : utf8(`v${index}`), hlc: { wallMs: 1_000 + index, logical: 0 }, origin: ORIGIN, expiresAtMs: 0 };
}

/** Rows of two neighbouring keys ("list" and "lis"), items with short and long (over 1 KiB) positions. */
function rows(): VersionedRecord[] {
  const records: VersionedRecord[] = [];
  let index = 0;
  for (const name of ['list', 'lis', 'list2']) {
    const key = utf8(name);
    records.push(record(rowKey(key, RowKind.Header), index++));
    for (let item = 0; item < 40; item++) {
      const short = utf8(`p${String(item).padStart(3, '0')}`);
      records.push(record(rowKey(key, RowKind.Item, short), index++, item % 7 === 3));
    }
    for (let item = 0; item < 12; item++) {
      const long = new Uint8Array(1100 + item).fill(0x70);
      long[1099] = 0x30 + (item % 5); // several long keys share their stored prefix
      records.push(record(rowKey(key, RowKind.Item, long), index++));
    }
  }
  return records;
}

function forward(store: Store, prefix: Uint8Array): VersionedRecord[] {
  return store.scanRows(prefix, undefined, 1_000_000).records;
}

function backward(store: Store, prefix: Uint8Array, pageRows: number, before?: Uint8Array): VersionedRecord[] {
  const all: VersionedRecord[] = [];
  let last = before;
  for (;;) {
    const page = store.scanRowsReverse(prefix, last, pageRows);
    assert.ok(page.records.length <= pageRows);
    all.push(...page.records);
    if (page.done || page.records.length === 0) return all;
    last = page.records[page.records.length - 1]!.key;
  }
}

/** A forward walk by pages of pageRows (a page emptied by pending purges must not read as the end). */
function forwardPaged(store: Store, prefix: Uint8Array, pageRows: number): VersionedRecord[] {
  const all: VersionedRecord[] = [];
  let last: Uint8Array | undefined;
  for (;;) {
    const page = store.scanRows(prefix, last, pageRows);
    all.push(...page.records);
    if (page.done || page.records.length === 0) return all;
    last = page.records[page.records.length - 1]!.key;
  }
}

function check(store: Store, label: string): void {
  for (const name of ['list', 'lis']) {
    for (const kind of [RowKind.Item, RowKind.Header]) {
      const prefix = kindPrefix(utf8(name), kind);
      assert.deepEqual(forwardPaged(store, prefix, 1).map((row) => row.key), forward(store, prefix).map((row) => row.key), `${label} ${name} forward by single rows`);
      const expected = forward(store, prefix).reverse();
      assert.ok(expected.length > 0);
      for (const pageRows of [1, 3, 7, 100]) {
        assert.deepEqual(backward(store, prefix, pageRows).map((row) => row.key), expected.map((row) => row.key), `${label} ${name} kind ${kind} page ${pageRows}`);
      }
      for (let at = 0; at < expected.length; at += 5) {
        const before = expected[at]!.key;
        assert.deepEqual(backward(store, prefix, 4, before).map((row) => row.key), expected.slice(at + 1).map((row) => row.key), `${label} ${name} before #${at}`);
      }
    }
  }
}

test('MemoryStore: reverse row scans are forward scans backwards, committed and pending', async () => {
  const store = new MemoryStore({ autoCommit: false });
  const all = rows();
  void store.write({ records: all.filter((_, index) => index % 2 === 0), purgeKeys: [] });
  store.commitPending();
  void store.write({ records: all.filter((_, index) => index % 2 === 1), purgeKeys: [] });
  check(store, 'memory');
  store.commitPending();
  check(store, 'memory committed');
});

test('LmdbStore: reverse row scans are forward scans backwards, committed and pending, long keys included', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peerkv-reverse-'));
  try {
    const store = await openLmdbStore({ dir, fsync: 'no' });
    const all = rows();
    await store.write({ records: all.filter((_, index) => index % 2 === 0), purgeKeys: [] });
    const pending = store.write({ records: all.filter((_, index) => index % 2 === 1), purgeKeys: [all[4]!.key] });
    check(store, 'lmdb pending');
    await pending;
    check(store, 'lmdb committed');
    await store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

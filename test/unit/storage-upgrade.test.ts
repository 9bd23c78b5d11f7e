// A data directory written by the string-only release (record format 1) opens with this
// release and reads as before: strings become header rows, deletes clear rows, versions kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { utf8 } from '../../src/core/bytes.js';
import { clearRowKey, decodeHeader, headerRowKey, KeyType, rowKindOf, RowKind } from '../../src/core/rows.js';
import { openLmdbStore } from '../../src/storage/lmdb-store.js';
import { STORE_FORMAT_META } from '../../src/storage/format-upgrade.js';
import { countRecords } from '../support/records.js';

const FIXTURE = join(process.cwd(), 'test', 'fixtures', 'datadir-format1', 'peerkv.mdb');

function stringOf(store: Awaited<ReturnType<typeof openLmdbStore>>, key: string): string | undefined {
  const header = store.get(headerRowKey(utf8(key)));
  if (header === undefined || header.value === null) return undefined;
  const decoded = decodeHeader(header.value);
  assert.equal(decoded?.type, KeyType.String);
  return Buffer.from(decoded!.base!.bytes).toString('latin1');
}

test('a format-1 data directory is upgraded in place and keeps every value, expiry and delete', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerkv-upgrade-'));
  try {
    const data = join(dir, 'data');
    mkdirSync(data, { mode: 0o700 });
    copyFileSync(FIXTURE, join(data, 'peerkv.mdb'));
    const store = await openLmdbStore({ dir: data, fsync: 'no' });
    assert.equal(stringOf(store, 'plain'), 'hello');
    assert.equal(stringOf(store, 'counter'), '41');
    assert.equal(stringOf(store, 'bin'), 'a\x01b');
    assert.equal(stringOf(store, 'withttl'), 'v');
    assert.ok(store.get(headerRowKey(utf8('withttl')))!.expiresAtMs > Date.now() + 50_000_000_000);
    assert.equal(store.get(headerRowKey(utf8('deleted'))), undefined);
    const tombstone = store.get(clearRowKey(utf8('deleted')));
    assert.ok(tombstone !== undefined && tombstone.value === null, 'the delete survives as the key clear row');
    assert.equal(countRecords(store), 5);
    const page = store.scanBuckets(0, 65_536, 100);
    assert.ok(page.records.every((record) => rowKindOf(record.key) === RowKind.Header || rowKindOf(record.key) === RowKind.Clear));
    assert.deepEqual([...store.getMeta(STORE_FORMAT_META)!], [2]);
    await store.close();
    // A second open finds the current format and changes nothing.
    const again = await openLmdbStore({ dir: data, fsync: 'no' });
    assert.equal(stringOf(again, 'plain'), 'hello');
    assert.equal(countRecords(again), 5);
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Proves one client write is applied by the core as one step in order: a clear or FLUSHALL later in the batch removes the rows written before it in the same batch (MULTI; SET k; DEL k; EXEC leaves nothing), and rows after it survive.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utf8 } from '../../src/core/bytes.js';
import { clearRowKey, encodeStringHeader, FLUSH_ROW_KEY, headerRowKey, rowKey, RowKind } from '../../src/core/rows.js';
import { MemoryEngine } from '../support/memory-engine.js';

const key = utf8('k');
const header = (value: string) => ({ key: headerRowKey(key), value: encodeStringHeader(utf8(value)), expiresAtMs: 0 });
const field = (name: string) => ({ key: rowKey(key, RowKind.Field, utf8(name)), value: utf8('v'), expiresAtMs: 0 });
const clear = { key: clearRowKey(key), value: null, expiresAtMs: 0 };
const flush = { key: FLUSH_ROW_KEY, value: null, expiresAtMs: 0 };

test('a clear removes the rows of its key written before it in the same batch, not those after', async () => {
  const engine = new MemoryEngine();
  await engine.write([header('1'), field('a'), clear, field('b')]);
  assert.equal(engine.get(headerRowKey(key)), undefined);
  assert.equal(engine.get(rowKey(key, RowKind.Field, utf8('a'))), undefined);
  assert.ok(engine.get(rowKey(key, RowKind.Field, utf8('b')))?.value);
  // The field written after the clear outlives the header: the key reads as a hash of it.
  assert.equal(engine.keyCount(), 1);
});

test('FLUSHALL in a batch removes what the batch wrote before it; a key written after it stays', async () => {
  const engine = new MemoryEngine();
  await engine.write([header('old')]);
  await engine.write([field('a'), header('2'), flush, { key: headerRowKey(utf8('after')), value: encodeStringHeader(utf8('x')), expiresAtMs: 0 }]);
  assert.equal(engine.get(headerRowKey(key)), undefined);
  assert.equal(engine.get(rowKey(key, RowKind.Field, utf8('a'))), undefined);
  assert.ok(engine.get(headerRowKey(utf8('after')))?.value);
  assert.equal(engine.keyCount(), 1);
});

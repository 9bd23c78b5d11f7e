// Proves an operation's reads (RowWrites) see every change its step noted before it began, and its own changes, without indexing the notes it made itself (StepView.mark / getNotedBefore).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytesToMapKey, utf8 } from '../../src/core/bytes.js';
import { RowWrites } from '../../src/core/row-writes.js';
import { StepView } from '../../src/core/step-view.js';
import type { VersionedRecord } from '../../src/core/types.js';
import { MemoryStore } from '../../src/storage/memory-store.js';

const ORIGIN = 'a'.repeat(32);

function row(name: string, value: string | null, wallMs: number): VersionedRecord {
  return { key: utf8(name), value: value === null ? null : utf8(value), hlc: { wallMs, logical: 0 }, origin: ORIGIN, expiresAtMs: 0 };
}

/** A step view over a store holding `stored`, whose store reads are counted. */
async function viewOver(stored: VersionedRecord[]): Promise<{ view: StepView; storeReads: () => number }> {
  const store = new MemoryStore();
  await store.write({ records: stored, purgeKeys: [] });
  let reads = 0;
  const counting = new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'get') return (key: Uint8Array) => (reads++, target.get(key));
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
  return { view: new StepView(counting), storeReads: () => reads };
}

test('an operation reads the changes noted before it began, then the store', async () => {
  const { view } = await viewOver([row('x', 'stored', 1), row('y', 'stored', 1)]);
  view.note(utf8('x'), row('x', 'earlier op', 2));
  view.note(utf8('y'), undefined);
  const rows = new RowWrites(view);
  assert.equal(Buffer.from(rows.get(utf8('x'))!.value!).toString(), 'earlier op');
  assert.equal(rows.get(utf8('y')), undefined, 'removed earlier in the step');
  assert.equal(rows.get(utf8('z')), undefined);
});

test('its own changes are read from its slots; a later operation of the step sees them through the view', async () => {
  const { view, storeReads } = await viewOver([row('x', 'stored', 1)]);
  const first = new RowWrites(view);
  const before = first.get(utf8('x'));
  const written = row('x', 'first op', 3);
  first.put(written, before);
  view.note(written.key, written, bytesToMapKey(written.key)); // as keyspace.track does after each put
  assert.equal(first.get(utf8('x')), written);
  const readsBefore = storeReads();
  assert.equal(first.get(utf8('w')), undefined);
  assert.equal(storeReads(), readsBefore + 1, 'a row it does not hold is read from the store');
  const second = new RowWrites(view);
  assert.equal(second.get(utf8('x')), written, 'the next operation sees the first one\'s write');
  assert.equal(view.get(utf8('x')), written, 'as does any other reader of the step');
  view.settle();
  assert.equal(Buffer.from(new RowWrites(view).get(utf8('x'))!.value!).toString(), 'stored', 'after settle the store answers (the persist was not carried out here)');
});

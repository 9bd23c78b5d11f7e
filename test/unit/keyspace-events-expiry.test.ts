// Proves keyspace notifications name an expiry marker (core/expiry.ts) as Redis names the expiry, and a key written again over one as created (`new`) without a `del` for the clear of that expiry.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utf8 } from '../../src/core/bytes.js';
import { expiryClear } from '../../src/core/expiry.js';
import { encodeStringHeader, headerRowKey } from '../../src/core/rows.js';
import type { VersionedRecord } from '../../src/core/types.js';
import { KeyspaceEvents } from '../../src/runtime/keyspace-events.js';

const A = 'a'.repeat(32);
const KEY = utf8('k');
const NOW_MS = 1_700_000_000_000;

function eventsOf(records: VersionedRecord[], previous: (VersionedRecord | undefined)[], expired: boolean): string[] {
  const events = new KeyspaceEvents();
  const seen: string[] = [];
  events.subscribe((event) => seen.push(event.event));
  events.publish(records, previous, expired, NOW_MS);
  return seen;
}

const header: VersionedRecord = { key: headerRowKey(KEY), value: encodeStringHeader(utf8('v')), hlc: { wallMs: NOW_MS - 5_000, logical: 0 }, origin: A, expiresAtMs: NOW_MS - 1_000 };
const marker: VersionedRecord = { ...header, value: null };

test('the sweep turning an expired header into its marker is `expired`', () => {
  assert.deepEqual(eventsOf([marker], [header], true), ['expired']);
});

test('a SET over an expiry marker is `new` then `set`, with no `del` for the clear of that expiry', () => {
  const written: VersionedRecord = { key: headerRowKey(KEY), value: encodeStringHeader(utf8('w')), hlc: { wallMs: NOW_MS, logical: 0 }, origin: A, expiresAtMs: 0 };
  assert.deepEqual(eventsOf([expiryClear(marker), written], [undefined, marker], false), ['new', 'set']);
});

// The reads the simulated commands make before they write, as src/server/typed-keys.ts
// makes them: a key's live header (a collection lives by its elements; one whose header a
// clear removed while a later element survived reads with the type its elements imply),
// its element count, a counted element's slots and a live field's base value.
import { counterValue, parseCounterBase } from '../../src/core/counters.js';
import { headerlessHeader } from '../../src/core/keyspace.js';
import { decodeFieldValue, decodeSlotTotal, headerRowKey, KeyType, kindPrefix, parseRow, parseSlotElement, rowKey, RowKind, slotPrefix, type BaseValue, type SlotTotal } from '../../src/core/rows.js';
import type { NodeId, VersionedRecord } from '../../src/core/types.js';
import type { BatchView } from './batch-view.js';

export const SCAN_ALL = 1 << 30;

/** Live element rows (hash fields, set and sorted-set members, list items) of key: the engine's fieldCount. */
export function elementCount(view: BatchView, key: Uint8Array): number {
  let count = 0;
  for (const kind of [RowKind.Field, RowKind.Item]) {
    for (const row of view.scanRows(kindPrefix(key, kind), undefined, SCAN_ALL).records) if (row.value !== null) count++;
  }
  return count;
}

function firstElement(view: BatchView, key: Uint8Array): VersionedRecord | undefined {
  for (const kind of [RowKind.Field, RowKind.Item]) {
    for (const row of view.scanRows(kindPrefix(key, kind), undefined, SCAN_ALL).records) if (row.value !== null) return row;
  }
  return undefined;
}

/** typed-keys.ts liveHeader: not expired, a collection only with an element, a headerless collection by its elements. */
export function liveHeader(view: BatchView, key: Uint8Array): VersionedRecord | undefined {
  const header = view.get(headerRowKey(key));
  if (header === undefined || header.value === null) {
    const element = firstElement(view, key);
    return element === undefined ? undefined : headerlessHeader(key, element);
  }
  if (header.expiresAtMs !== 0 && header.expiresAtMs <= view.nowMs) return undefined;
  if (header.value[0] !== KeyType.String && elementCount(view, key) === 0) return undefined;
  return header;
}

/** The stored header of key has expired (a write that creates the key clears it first). */
export function expiredHeader(view: BatchView, key: Uint8Array): boolean {
  const stored = view.get(headerRowKey(key));
  return stored !== undefined && stored.value !== null && stored.expiresAtMs !== 0 && stored.expiresAtMs <= view.nowMs;
}

export interface SlotRead {
  readonly totals: Map<NodeId, SlotTotal>;
  readonly records: Map<NodeId, VersionedRecord>;
}

export function readSlots(view: BatchView, key: Uint8Array, counted: Uint8Array): SlotRead {
  const totals = new Map<NodeId, SlotTotal>();
  const records = new Map<NodeId, VersionedRecord>();
  for (const row of view.scanRows(slotPrefix(key, counted), undefined, SCAN_ALL).records) {
    if (row.value === null) continue;
    const slot = parseSlotElement(parseRow(row.key)!.element);
    const total = decodeSlotTotal(row.value);
    if (slot === undefined || total === undefined || slot.counted.length !== counted.length) continue;
    totals.set(slot.origin, total);
    records.set(slot.origin, row);
  }
  return { totals, records };
}

/** A live field row's base value, or undefined when the field is absent. */
export function liveField(view: BatchView, key: Uint8Array, field: Uint8Array): BaseValue | undefined {
  const row = view.get(rowKey(key, RowKind.Field, field));
  if (row === undefined || row.value === null) return undefined;
  return decodeFieldValue(row.value);
}

/** The integer a base reads as with its slots applied, or undefined (not an integer). */
export function integerValue(base: BaseValue, totals: ReadonlyMap<NodeId, SlotTotal>): bigint | undefined {
  if (totals.size === 0) {
    const parsed = parseCounterBase(base.bytes);
    return parsed?.kind === 'integer' ? parsed.value : undefined;
  }
  const value = counterValue(base, totals);
  return value?.kind === 'integer' ? value.value : undefined;
}

/** The live Item rows of a list in list order (row order). */
export function listItems(view: BatchView, key: Uint8Array): VersionedRecord[] {
  return view.scanRows(kindPrefix(key, RowKind.Item), undefined, SCAN_ALL).records.filter((row) => row.value !== null);
}

// The run's trace: one readable line per input, effect and fault, folded into a hash so
// that two runs of a seed can be compared cheaply (equal hash = identical runs).
import { equalBytes, fromUtf8, toHex } from '../../src/core/bytes.js';
import type { Effect, Input } from '../../src/core/io.js';
import type { PeerMessage } from '../../src/core/messages.js';
import { decodeFieldValue, decodeHeader, decodeSlotTotal, FLUSH_ROW_KEY, KEY_TYPE_NAMES, parseRow, parseSlotElement, RowKind, type BaseValue } from '../../src/core/rows.js';
import type { VersionedRecord } from '../../src/core/types.js';

/** Trace lines kept in memory when tracing; beyond this only the hash continues. */
export const TRACE_LINES_MAX = 2_000_000;

export class Trace {
  readonly lines: string[] = [];
  private hashHigh = 0x811c9dc5;
  private hashLow = 0x01000193;
  count = 0;

  constructor(private readonly keep: boolean) {}

  add(virtualMs: number, line: string): void {
    const text = `${virtualMs} ${line}`;
    this.count++;
    // Two FNV-1a streams with different offsets give a 64-bit fingerprint.
    let high = this.hashHigh;
    let low = this.hashLow;
    for (let index = 0; index < text.length; index++) {
      const code = text.charCodeAt(index);
      high = Math.imul(high ^ code, 0x01000193);
      low = Math.imul(low ^ code, 0x01000193) ^ (low >>> 15);
    }
    high = Math.imul(high ^ 10, 0x01000193);
    this.hashHigh = high;
    this.hashLow = low;
    if (this.keep && this.lines.length < TRACE_LINES_MAX) this.lines.push(`${(virtualMs / 1000).toFixed(3).padStart(8)} ${line}`);
  }

  hash(): string {
    return (this.hashHigh >>> 0).toString(16).padStart(8, '0') + (this.hashLow >>> 0).toString(16).padStart(8, '0');
  }
}

export function shortId(id: string): string {
  return id.slice(0, 6);
}

/** Descriptions by byte array: a record's key and value travel as the same arrays through many messages. */
const keyTexts = new WeakMap<Uint8Array, string>();
const valueTexts = new WeakMap<Uint8Array, string>();

/** A row key as text: `k1:H` header, `k1:C` clear, `k1:F:f0` field, `k1:S:f0/abcdef` slot, `FLUSH`. */
export function describeRowKey(key: Uint8Array, fullIds = false): string {
  if (fullIds) return rowKeyText(key, true);
  let text = keyTexts.get(key);
  if (text === undefined) keyTexts.set(key, (text = rowKeyText(key, false)));
  return text;
}

function rowKeyText(key: Uint8Array, fullIds: boolean): string {
  if (equalBytes(key, FLUSH_ROW_KEY)) return 'FLUSH';
  const row = parseRow(key);
  if (row === undefined) return fromUtf8(key);
  const name = fromUtf8(row.key);
  switch (row.kind) {
    case RowKind.Clear:
      return `${name}:C`;
    case RowKind.Header:
      return `${name}:H`;
    case RowKind.Field:
      return `${name}:F:${fromUtf8(row.element)}`;
    case RowKind.Slot: {
      const slot = parseSlotElement(row.element);
      return slot === undefined ? `${name}:S?${toHex(row.element)}` : `${name}:S:${fromUtf8(slot.counted)}/${fullIds ? slot.origin : shortId(slot.origin)}`;
    }
    case RowKind.Item:
      return `${name}:I:${toHex(row.element)}`;
  }
}

function describeBase(base: BaseValue): string {
  const observed = [...base.observed].map(([origin, total]) => `${shortId(origin)}=${total.integer}`).join(',');
  return `${fromUtf8(base.bytes)}${observed === '' ? '' : `{${observed}}`}`;
}

/** A row value as text, decoded by the row's kind. */
export function describeValue(key: Uint8Array, value: Uint8Array): string {
  let text = valueTexts.get(value);
  if (text === undefined) valueTexts.set(value, (text = valueText(key, value)));
  return text;
}

function valueText(key: Uint8Array, value: Uint8Array): string {
  const kind = parseRow(key)?.kind;
  if (kind === RowKind.Header) {
    const header = decodeHeader(value);
    if (header === undefined) return `?${toHex(value)}`;
    return header.base === undefined ? (KEY_TYPE_NAMES[header.type] ?? '?') : describeBase(header.base);
  }
  if (kind === RowKind.Field) {
    if (value.length === 0) return 'member'; // a set member
    const base = decodeFieldValue(value);
    return base === undefined ? `?${toHex(value)}` : describeBase(base);
  }
  if (kind === RowKind.Slot) {
    const total = decodeSlotTotal(value);
    return total === undefined ? `?${toHex(value)}` : total.float !== 0 ? `+${total.integer}+${total.float}f` : `+${total.integer}`;
  }
  return fromUtf8(value);
}

export function describeRecord(record: VersionedRecord): string {
  const value = record.value === null ? 'DEL' : JSON.stringify(describeValue(record.key, record.value));
  const expiry = record.expiresAtMs !== 0 ? ` exp=${record.expiresAtMs}` : '';
  return `${describeRowKey(record.key)}=${value}@${record.hlc.wallMs}.${record.hlc.logical}/${shortId(record.origin)}${expiry}`;
}

function describeRecords(records: readonly VersionedRecord[]): string {
  return records.length <= 4 ? `[${records.map(describeRecord).join(' ')}]` : `[${records.length} records: ${records.slice(0, 3).map(describeRecord).join(' ')} ...]`;
}

export function describeMessage(message: PeerMessage): string {
  const fields: string[] = [message.type];
  for (const [name, value] of Object.entries(message)) {
    if (name === 'type') continue;
    if (name === 'records') fields.push(describeRecords(value as VersionedRecord[]));
    else if (value instanceof Uint8Array) fields.push(`${name}=${value.length}B`);
    else if (Array.isArray(value)) fields.push(`${name}=${value.length > 8 ? `${value.length} items` : JSON.stringify(value)}`);
    else if (typeof value === 'object' && value !== null) fields.push(`${name}=${JSON.stringify(value).slice(0, 200)}`);
    else fields.push(`${name}=${String(value)}`);
  }
  return fields.join(' ');
}

export function describeInput(input: Input): string {
  switch (input.kind) {
    case 'tick':
      return `tick now=${input.nowMs}`;
    case 'clientWrite':
      return `clientWrite req=${input.requestId} ${input.writes.map((write) => `${describeRowKey(write.key)}=${write.value === null ? 'DEL' : describeValue(write.key, write.value)}${write.expiresAtMs ? ` exp=${write.expiresAtMs}` : ''}`).join(' ')}`;
    case 'persisted':
      return `persisted ${input.tokens.join(',')}`;
    case 'discovered':
      return `discovered ${shortId(input.peer.id)}#${input.peer.incarnation}`;
    case 'linkUp':
      return `linkUp ${shortId(input.peer.id)}#${input.peer.incarnation}`;
    case 'linkDown':
      return `linkDown ${shortId(input.peer)}`;
    case 'peerMessage':
      return `from ${shortId(input.from)} hlc=${input.hlc.wallMs}.${input.hlc.logical} ${describeMessage(input.message)}`;
    case 'wait':
      return `wait req=${input.requestId} seq=${input.writeSeq} replicas=${input.replicas} deadline=${input.deadlineMs}`;
    default:
      // Kinds added to the core later still show up, if tersely.
      return JSON.stringify(input, (_name, value: unknown) => (value instanceof Uint8Array ? fromUtf8(value) : value));
  }
}

export function describeEffect(effect: Effect): string {
  switch (effect.kind) {
    case 'send':
      return `  -> send ${shortId(effect.to)} ${describeMessage(effect.message)}`;
    case 'connect':
      return `  -> connect ${shortId(effect.peer)}`;
    case 'disconnect':
      return `  -> disconnect ${shortId(effect.peer)}`;
    case 'announce':
      return '  -> announce';
    case 'persist':
      return `  -> persist token=${effect.token} req=${effect.requestId} seq=${effect.writeSeq} ${describeRecords(effect.records)}${effect.purgeKeys.length ? ` purge=${effect.purgeKeys.map((key) => describeRowKey(key)).join(',')}` : ''}`;
    case 'applied':
      return `  -> applied${effect.expired ? ' expired' : ''} ${effect.records.length}`;
    case 'waitDone':
      return `  -> waitDone req=${effect.requestId} replicas=${effect.replicas}`;
    case 'wakeAt':
      return `  -> wakeAt ${effect.deadlineMs}`;
    case 'log':
      return `  -> log ${effect.level} ${effect.message} ${JSON.stringify(effect.fields)}`;
    default:
      return `  -> ${JSON.stringify(effect, (_name, value: unknown) => (value instanceof Uint8Array ? fromUtf8(value) : value))}`;
  }
}

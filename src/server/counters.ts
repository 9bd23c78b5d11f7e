// INCR DECR INCRBY DECRBY INCRBYFLOAT on counter rows (DESIGN.md section 6). The value is
// the header's base plus the unobserved slot increments (core/counters.ts); an increment
// writes only this node's own slot row (its running total), so increments made at the
// same time on other nodes all count, and the key's expiry is left alone as in Redis. An
// absent key gets a header for base "0" in the same write. Redis's overflow and
// not-a-number checks are made against the value this node sees.
import type { Buffer } from 'node:buffer';
import { utf8 } from '../core/bytes.js';
import { addInteger64, countedBytes, formatCounter, counterValue, incrementSlot, incrementSlotByFloat, INT64_MIN, parseInteger64, parseLongDouble } from '../core/counters.js';
import type { ClientWrite } from '../core/io.js';
import { decodeHeader, decodeSlotTotal, encodeSlotTotal, headerRowKey, keyPrefix, KeyType, parseRow, parseSlotElement, rowKey, rowKindOf, RowKind, slotElement, ZERO_SLOT, type BaseValue, type SlotTotal } from '../core/rows.js';
import type { NodeId, VersionedRecord } from '../core/types.js';
import { appendBulkText, appendError, type RespOutput } from '../wire/resp.js';
import { CommandFlag, NOT_INTEGER_ERROR, ONE_KEY, checkKeyLength, command } from './common.js';
import type { Engine } from './engine.js';
import type { CommandContext } from './context.js';
import type { CommandSpec } from './command-spec.js';
import { headerRow, liveHeader, readSlots, stringHeader, typeOf, WRONGTYPE_ERROR } from './typed-keys.js';

export const OVERFLOW_ERROR = 'ERR increment or decrement would overflow';
export const NOT_FLOAT_ERROR = 'ERR value is not a valid float';
export const NAN_OR_INFINITY_ERROR = 'ERR increment would produce NaN or Infinity';

const EMPTY = new Uint8Array(0);
/** 2^63: results at or beyond it in magnitude leave the int64 range. */
const FLOAT_INT64_LIMIT = 2 ** 63;
const ZERO_TEXT = utf8('0');

/** What an increment needs of a key: its value's parts and the rows that change it. */
interface CounterState {
  readonly base: BaseValue;
  readonly slots: Map<NodeId, SlotTotal>;
  /** This node's slot row key and its running total before the increment. */
  readonly ownRow: Uint8Array;
  readonly own: SlotTotal;
  /** The header to write first when the key does not exist (base "0"), else undefined. */
  readonly newHeader: Uint8Array | undefined;
}

/** Rows of a string key read in one range: its header and its slots come together. */
const COUNTER_PAGE_ROWS = 64;

/**
 * The key's header row and slot totals with one range read when it is a string counter
 * of few slots (a string key's rows are its clear, header and slot rows, in that order);
 * undefined when the key needs the general reads (another type, many slots).
 */
function readStringCounter(engine: Engine, key: Uint8Array, ownRow: Uint8Array): { header: VersionedRecord | undefined; slots: Map<NodeId, SlotTotal> } | undefined {
  const bound = engine.slotRowsAtMost?.(key);
  if (bound !== undefined && bound <= 1) {
    const point = readByRowKeys(engine, key, ownRow, bound);
    if (point !== undefined) return point;
  }
  const page = engine.scanRows(keyPrefix(key), undefined, COUNTER_PAGE_ROWS);
  if (!page.done) return undefined;
  let header: VersionedRecord | undefined;
  const slots = new Map<NodeId, SlotTotal>();
  for (const row of page.records) {
    const kind = rowKindOf(row.key);
    if (kind === RowKind.Header) header = row;
    else if (kind === RowKind.Field || kind === RowKind.Item) return undefined;
    else if (kind === RowKind.Slot && row.value !== null) {
      const slot = parseSlotElement(parseRow(row.key)!.element);
      const total = decodeSlotTotal(row.value);
      if (slot !== undefined && total !== undefined && slot.counted.length === 0) slots.set(slot.origin, total);
    }
  }
  if (header === undefined || header.value === null) return { header: undefined, slots };
  if (header.value[0] !== KeyType.String) return undefined;
  const expired = header.expiresAtMs !== 0 && header.expiresAtMs <= engine.nowMs();
  return { header: expired ? undefined : header, slots };
}

/**
 * readStringCounter by row key (a point read costs less than a range) when the key has
 * at most `bound` (0 or 1) slot rows: none, or this node's own (else undefined: the range
 * read decides).
 */
function readByRowKeys(engine: Engine, key: Uint8Array, ownRow: Uint8Array, bound: number): { header: VersionedRecord | undefined; slots: Map<NodeId, SlotTotal> } | undefined {
  const slots = new Map<NodeId, SlotTotal>();
  if (bound === 1) {
    const own = engine.get(ownRow);
    const total = own === undefined || own.value === null ? undefined : decodeSlotTotal(own.value);
    if (total === undefined) return undefined;
    slots.set(engine.nodeId(), total);
  }
  const header = engine.get(headerRow(key));
  // No header: absent unless the key has elements (a headerless collection: the general read).
  if (header === undefined || header.value === null) return engine.fieldCount(key) === 0 ? { header: undefined, slots } : undefined;
  if (header.value[0] !== KeyType.String) return undefined;
  const expired = header.expiresAtMs !== 0 && header.expiresAtMs <= engine.nowMs();
  return { header: expired ? undefined : header, slots };
}

/** The key's counter state; undefined after replying WRONGTYPE. */
function counterState(session: CommandContext, key: Uint8Array): CounterState | undefined {
  const engine = session.engine;
  const self = engine.nodeId();
  const ownRow = rowKey(key, RowKind.Slot, slotElement(EMPTY, self));
  const fast = readStringCounter(engine, key, ownRow);
  const header = fast === undefined ? liveHeader(engine, key) : fast.header;
  if (header !== undefined && typeOf(header) !== KeyType.String) {
    appendError(session.out, WRONGTYPE_ERROR);
    return undefined;
  }
  const slots = fast?.slots ?? readSlots(engine, key, EMPTY);
  if (header === undefined) {
    // Slots left from before (increments after a concurrent DEL, or under an expired header)
    // are observed by the new base, so the new key starts at 0.
    const newHeader = stringHeader(ZERO_TEXT, slots);
    const base = decodeHeader(newHeader)!.base!;
    return { base, slots, ownRow, own: ownTotal(slots, base, self), newHeader };
  }
  const base = decodeHeader(header.value!)?.base ?? { bytes: EMPTY, observed: new Map() };
  return { base, slots, ownRow, own: ownTotal(slots, base, self), newHeader: undefined };
}

/**
 * This node's running total: its slot row (among the slots just read), or when a clear
 * removed that row while the base still records what it observed of it (a DEL concurrent
 * with the write of the base), the observed total, so the next increment counts once and
 * only once.
 */
function ownTotal(slots: ReadonlyMap<NodeId, SlotTotal>, base: BaseValue, self: NodeId): SlotTotal {
  return slots.get(self) ?? base.observed.get(self) ?? ZERO_SLOT;
}

/** Commit the own slot (after the new header, if any) and reply once committed. */
function writeIncrement(session: CommandContext, key: Uint8Array, state: CounterState, slot: SlotTotal, reply: () => void): void {
  const writes: ClientWrite[] = [];
  if (state.newHeader !== undefined) writes.push({ key: headerRowKey(key), value: state.newHeader, expiresAtMs: 0 });
  writes.push({ key: state.ownRow, value: encodeSlotTotal(slot), expiresAtMs: 0 });
  const start = session.out.length;
  reply();
  session.deferWrite(session.engine.write(writes), start);
}

/** INCR/DECR/INCRBY/DECRBY by delta: the new value as an integer reply. */
function incrementBy(session: CommandContext, key: Uint8Array, delta: bigint): void {
  if (!checkKeyLength(session, key)) return;
  const state = counterState(session, key);
  if (state === undefined) return;
  // Redis reads the value as its text: what a GET returns must be a 64-bit integer. An
  // integer base with integer increments reads as that integer (skipping its text).
  const counted = counterValue(state.base, state.slots);
  const current = counted?.kind === 'integer' ? counted.value : parseInteger64(countedBytes(state.base, state.slots));
  if (current === undefined) return void appendError(session.out, NOT_INTEGER_ERROR);
  const next = addInteger64(current, delta);
  if (next === undefined) return void appendError(session.out, OVERFLOW_ERROR);
  writeIncrement(session, key, state, incrementSlot(state.own, delta, 0), () => appendInteger64(session.out, next));
}

/** An integer reply of the whole int64 range (appendInteger takes a number). */
export function appendInteger64(out: RespOutput, value: bigint): void {
  out.ascii(`:${value}`);
  out.crlf();
}

function integerArgument(session: CommandContext, arg: Uint8Array): bigint | undefined {
  const value = parseInteger64(arg);
  if (value === undefined) appendError(session.out, NOT_INTEGER_ERROR);
  return value;
}

function incrCommand(session: CommandContext, args: Buffer[]): void {
  incrementBy(session, args[1]!, 1n);
}

function decrCommand(session: CommandContext, args: Buffer[]): void {
  incrementBy(session, args[1]!, -1n);
}

function incrbyCommand(session: CommandContext, args: Buffer[]): void {
  const delta = integerArgument(session, args[2]!);
  if (delta !== undefined) incrementBy(session, args[1]!, delta);
}

function decrbyCommand(session: CommandContext, args: Buffer[]): void {
  const delta = integerArgument(session, args[2]!);
  if (delta === undefined) return;
  if (delta === INT64_MIN) return void appendError(session.out, 'ERR decrement would overflow');
  incrementBy(session, args[1]!, -delta);
}

/**
 * INCRBYFLOAT key increment: the new value as a bulk string. The own slot takes the
 * increment (integral part exact, fraction in the float part: incrementSlotByFloat); the
 * reply is the value as every node computes it from the rows.
 */
function incrbyfloatCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  if (!checkKeyLength(session, key)) return;
  const state = counterState(session, key);
  if (state === undefined) return;
  const current = parseLongDouble(countedBytes(state.base, state.slots));
  const delta = parseLongDouble(args[2]!);
  if (current === undefined || delta === undefined) return void appendError(session.out, NOT_FLOAT_ERROR);
  if (!Number.isFinite(current + delta)) return void appendError(session.out, NAN_OR_INFINITY_ERROR);
  // A result past the int64 range is a float in Redis: the increment goes to the float
  // total then, so the value does not read back as a wrapped integer.
  const slot = Math.abs(current + delta) < FLOAT_INT64_LIMIT ? incrementSlotByFloat(state.own, delta) : incrementSlot(state.own, 0n, delta);
  // The running total must stay finite too, or the value could never be read back.
  if (!Number.isFinite(slot.float)) return void appendError(session.out, NAN_OR_INFINITY_ERROR);
  const slots = new Map(state.slots);
  slots.set(session.engine.nodeId(), slot);
  const next = counterValue(state.base, slots);
  const text = next === undefined || (next.kind === 'float' && !Number.isFinite(next.value)) ? undefined : formatCounter(next);
  if (text === undefined) return void appendError(session.out, NAN_OR_INFINITY_ERROR);
  writeIncrement(session, key, state, slot, () => appendBulkText(session.out, text));
}

const { Write, Fast } = CommandFlag;

export const COUNTER_COMMANDS: readonly CommandSpec[] = [
  command('incr', 2, Write | Fast, ONE_KEY, 'string', 'Increment the integer value of a key by one', incrCommand),
  command('decr', 2, Write | Fast, ONE_KEY, 'string', 'Decrement the integer value of a key by one', decrCommand),
  command('incrby', 3, Write | Fast, ONE_KEY, 'string', 'Increment the integer value of a key by a number', incrbyCommand),
  command('decrby', 3, Write | Fast, ONE_KEY, 'string', 'Decrement the integer value of a key by a number', decrbyCommand),
  command('incrbyfloat', 3, Write | Fast, ONE_KEY, 'string', 'Increment the float value of a key by a number', incrbyfloatCommand),
];

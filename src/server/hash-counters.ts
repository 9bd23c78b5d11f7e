// HINCRBY and HINCRBYFLOAT as counters (DESIGN.md 6, core/counters.ts): this node adds
// the increment to its own Slot row of the field, so increments made concurrently on
// other nodes all count; a field's value is its base plus every origin's slot less what
// its base observed. A field that does not exist is created with base "0" (and the key
// with its header). Where a slot cannot carry the increment exactly (its 64-bit total
// would overflow, or a float counter holding an integer beyond 2^53 is incremented as an
// integer), the field gets a new base instead, as HSET would write it: last writer wins
// for that write only.
import type { Buffer } from 'node:buffer';
import { utf8 } from '../core/bytes.js';
import { counterValue, formatCounter, formatFloat, INT64_MAX, INT64_MIN, parseInteger64 } from '../core/counters.js';
import type { ClientWrite } from '../core/io.js';
import { encodeSlotTotal, RowKind, rowKey, slotElement, ZERO_SLOT, type BaseValue, type SlotTotal } from '../core/rows.js';
import type { NodeId } from '../core/types.js';
import { appendBulkText, appendError } from '../wire/resp.js';
import { CommandFlag, NOT_INTEGER_ERROR, ONE_KEY, command } from './common.js';
import type { Engine } from './engine.js';
import { checkFieldLength, fieldBase, fieldWrite, hashForWrite, liveFieldRow, observedSlots, type HashWriteTarget } from './hash-rows.js';
import type { CommandContext } from './context.js';
import type { CommandSpec } from './command-spec.js';
import { countedValue } from './typed-keys.js';

const HASH_INTEGER_ERROR = 'ERR hash value is not an integer';
const HASH_FLOAT_ERROR = 'ERR hash value is not a float';
const OVERFLOW_ERROR = 'ERR increment or decrement would overflow';
const NOT_FLOAT_ERROR = 'ERR value is not a valid float';
const INCREMENT_NOT_FINITE_ERROR = 'ERR value is NaN or Infinity';
const RESULT_NOT_FINITE_ERROR = 'ERR increment would produce NaN or Infinity';
/** Integers a double holds exactly: a float counter incremented as an integer stays exact below this. */
const EXACT_FLOAT_INTEGER_MAX = 2n ** 53n;
const ZERO_TEXT = utf8('0');

/** A field's counter as one command finds it. */
interface CounterState {
  /** The field's base; undefined when the field does not exist (it starts at "0"). */
  readonly base: BaseValue | undefined;
  /** Every origin's slot of the field (none when the key is created over an expired one). */
  readonly slots: ReadonlyMap<NodeId, SlotTotal>;
  /** This node's slot. */
  readonly own: SlotTotal;
}

function counterState(engine: Engine, key: Uint8Array, field: Uint8Array, target: HashWriteTarget): CounterState {
  const row = target.created ? undefined : liveFieldRow(engine, key, field);
  const slots = observedSlots(engine, key, field, target);
  return { base: row === undefined ? undefined : fieldBase(row), slots, own: slots.get(engine.nodeId()) ?? ZERO_SLOT };
}

/** The base the counter counts from: a missing field starts at "0", observing every slot there is. */
function baseOf(state: CounterState): BaseValue {
  return state.base ?? { bytes: ZERO_TEXT, observed: state.slots };
}

/** The rows of an increment that makes this node's slot `own`: a missing field's base "0" first. */
function incrementWrites(engine: Engine, key: Uint8Array, field: Uint8Array, target: HashWriteTarget, state: CounterState, own: SlotTotal): ClientWrite[] {
  const writes = target.writes.slice();
  if (state.base === undefined) writes.push(fieldWrite(key, field, ZERO_TEXT, state.slots));
  writes.push({ key: rowKey(key, RowKind.Slot, slotElement(field, engine.nodeId())), value: encodeSlotTotal(own), expiresAtMs: 0 });
  return writes;
}

/** The rows that give the field a new base `text` (resetting the slots seen), as HSET does. */
function rebaseWrites(key: Uint8Array, field: Uint8Array, target: HashWriteTarget, state: CounterState, text: string): ClientWrite[] {
  return [...target.writes, fieldWrite(key, field, utf8(text), state.slots)];
}

function inInt64(value: bigint): boolean {
  return value >= INT64_MIN && value <= INT64_MAX;
}

function hincrbyCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  const field = args[2]!;
  const increment = parseInteger64(args[3]!);
  if (increment === undefined) return void appendError(session.out, NOT_INTEGER_ERROR);
  const target = hashForWrite(session, key);
  if (target === undefined || !checkFieldLength(session, field)) return;
  const engine = session.engine;
  const state = counterState(engine, key, field, target);
  let current = 0n;
  let exactCounter = true;
  if (state.base !== undefined) {
    const parsed = parseInteger64(countedValue(state.base, state.slots));
    if (parsed === undefined) return void appendError(session.out, HASH_INTEGER_ERROR);
    current = parsed;
    exactCounter = counterValue(state.base, state.slots)?.kind === 'integer';
  }
  const result = current + increment;
  if (!inInt64(result)) return void appendError(session.out, OVERFLOW_ERROR);
  const ownInteger = state.own.integer + increment;
  const slotHoldsIt = inInt64(ownInteger) && (exactCounter || (result <= EXACT_FLOAT_INTEGER_MAX && result >= -EXACT_FLOAT_INTEGER_MAX));
  const writes = slotHoldsIt
    ? incrementWrites(engine, key, field, target, state, { integer: ownInteger, float: state.own.float })
    : rebaseWrites(key, field, target, state, result.toString());
  const start = session.out.length;
  session.out.ascii(`:${result}`);
  session.out.crlf();
  session.deferWrite(engine.write(writes), start);
}

function hincrbyfloatCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  const field = args[2]!;
  const increment = parseLongDouble(args[3]!);
  if (increment === undefined) return void appendError(session.out, NOT_FLOAT_ERROR);
  if (!Number.isFinite(increment)) return void appendError(session.out, INCREMENT_NOT_FINITE_ERROR);
  const target = hashForWrite(session, key);
  if (target === undefined || !checkFieldLength(session, field)) return;
  const engine = session.engine;
  const state = counterState(engine, key, field, target);
  let current = 0;
  if (state.base !== undefined) {
    const parsed = parseLongDouble(countedValue(state.base, state.slots));
    if (parsed === undefined) return void appendError(session.out, HASH_FLOAT_ERROR);
    current = parsed;
  }
  if (!Number.isFinite(current + increment)) return void appendError(session.out, RESULT_NOT_FINITE_ERROR);
  // The reply is what HGET reads afterwards: the counter with this node's slot moved on.
  const own: SlotTotal = { integer: state.own.integer, float: state.own.float + increment };
  const slots = new Map(state.slots).set(engine.nodeId(), own);
  const counted = counterValue(baseOf(state), slots);
  let text: string;
  let writes: ClientWrite[];
  if (counted !== undefined && Number.isFinite(own.float) && Number.isFinite(Number(counted.value))) {
    text = formatCounter(counted);
    writes = incrementWrites(engine, key, field, target, state, own);
  } else {
    text = formatFloat(current + increment);
    writes = rebaseWrites(key, field, target, state, text);
  }
  const start = session.out.length;
  appendBulkText(session.out, text);
  session.deferWrite(engine.write(writes), start);
}

/** Longest text strtold is given by Redis's string2ld (MAX_LONG_DOUBLE_CHARS). */
const LONG_DOUBLE_CHARS_MAX = 5 * 1024;
const DECIMAL_PATTERN = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INFINITY_PATTERN = /^[+-]?(inf|infinity)$/i;
const HEX_PATTERN = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?$/;

/**
 * Redis's string2ld (strtold with the whole text consumed, no leading space, no NaN):
 * decimal and hexadecimal floats and "inf"/"infinity" (returned as ±Infinity, which
 * HINCRBYFLOAT then refuses). undefined when Redis says "not a valid float". Values a
 * long double holds but a double does not (beyond 1.8e308) read as ±Infinity here.
 */
export function parseLongDouble(bytes: Uint8Array): number | undefined {
  if (bytes.length === 0 || bytes.length >= LONG_DOUBLE_CHARS_MAX) return undefined;
  let text = '';
  for (let index = 0; index < bytes.length; index++) text += String.fromCharCode(bytes[index]!);
  if (DECIMAL_PATTERN.test(text)) return Number(text);
  if (INFINITY_PATTERN.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  const hex = HEX_PATTERN.exec(text);
  if (hex === null) return undefined;
  const whole = hex[2]!;
  const fraction = hex[3] ?? '';
  if (whole.length + fraction.length === 0) return undefined;
  let mantissa = 0;
  for (const digit of whole + fraction) mantissa = mantissa * 16 + parseInt(digit, 16);
  const value = mantissa * 2 ** (Number(hex[4] ?? '0') - 4 * fraction.length);
  return hex[1] === '-' ? -value : value;
}

const { Write, Fast } = CommandFlag;

export const HASH_COUNTER_COMMANDS: readonly CommandSpec[] = [
  command('hincrby', 4, Write | Fast, ONE_KEY, 'hash', 'Increment a hash field by an integer (a counter: concurrent increments all count)', hincrbyCommand),
  command('hincrbyfloat', 4, Write | Fast, ONE_KEY, 'hash', 'Increment a hash field by a float (a counter: concurrent increments all count)', hincrbyfloatCommand),
];

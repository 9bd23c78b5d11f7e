// Bitmap commands on string rows (Redis 7.0 replies and errors): BITCOUNT BITPOS BITOP
// BITFIELD BITFIELD_RO (SETBIT and GETBIT are in string-edits.ts). A counter-valued string
// reads as its digits. Writes rewrite the whole string value (replaceWrite keeping the
// expiry), so concurrent bit writes of one key on two nodes: the later stamp wins for the
// whole value (README, multi-master).
import type { Buffer } from 'node:buffer';
import { parseInteger64 } from '../core/counters.js';
import { KeyType } from '../core/rows.js';
import { VALUE_BYTES_MAX } from '../core/validate.js';
import { appendArrayHeader, appendError, appendInteger, appendNull, type RespOutput } from '../wire/resp.js';
import { CommandFlag, NOT_INTEGER_ERROR, ONE_KEY, SYNTAX_ERROR, argIs, checkKeyLength, command } from './common.js';
import type { CommandContext } from './context.js';
import type { CommandSpec } from './command-spec.js';
import { deleteWrite, liveHeader, readString, replaceWrite, stringValue, typeOf, WRONG_TYPE, WRONGTYPE_ERROR } from './typed-keys.js';
import type { ClientWrite } from '../core/io.js';

const EMPTY = new Uint8Array(0);
const BIT_OFFSET_ERROR = 'ERR bit offset is not an integer or out of range';
const BITFIELD_TYPE_ERROR = 'ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.';

/** Set bits in each byte value. */
const POPCOUNT = Uint8Array.from({ length: 256 }, (_, byte) => {
  let count = 0;
  for (let bits = byte; bits !== 0; bits &= bits - 1) count++;
  return count;
});

function popcount(bytes: Uint8Array, from: number, to: number): number {
  let count = 0;
  for (let index = from; index <= to; index++) count += POPCOUNT[bytes[index]!]!;
  return count;
}

/** A byte range of a string after Redis's index arithmetic, with masks of the out-of-range bits of its edge bytes (BIT mode). */
interface BitRange {
  readonly start: number;
  readonly end: number;
  /** Bits of the first byte before the range (BIT mode), else 0. */
  readonly firstMask: number;
  /** Bits of the last byte after the range (BIT mode), else 0. */
  readonly lastMask: number;
}

/** Clamp start/end (negative from the end) to a value of `length` bytes; BIT mode counts bits. */
function bitRange(length: number, startArg: bigint, endArg: bigint, isBit: boolean): BitRange {
  const total = BigInt(isBit ? length * 8 : length);
  let start = startArg < 0n ? total + startArg : startArg;
  let end = endArg < 0n ? total + endArg : endArg;
  if (start < 0n) start = 0n;
  if (end < 0n) end = 0n;
  if (end >= total) end = total - 1n;
  if (!isBit || start > end) return { start: Number(start), end: Number(end), firstMask: 0, lastMask: 0 };
  const startBit = Number(start);
  const endBit = Number(end);
  return {
    start: startBit >> 3,
    end: endBit >> 3,
    firstMask: ~((1 << (8 - (startBit & 7))) - 1) & 0xff,
    lastMask: (1 << (7 - (endBit & 7))) - 1,
  };
}

/** BYTE or BIT, undefined for anything else. */
function parseUnit(arg: Uint8Array): boolean | undefined {
  if (argIs(arg, 'bit')) return true;
  if (argIs(arg, 'byte')) return false;
  return undefined;
}

/** The string value for a bitmap read: null when absent, WRONG_TYPE otherwise. */
function bitmapOf(session: CommandContext, key: Uint8Array): Uint8Array | null | typeof WRONG_TYPE {
  return readString(session.engine, key);
}

/** BITCOUNT key [start end [BYTE|BIT]] */
function bitcountCommand(session: CommandContext, args: Buffer[]): void {
  const out = session.out;
  const value = bitmapOf(session, args[1]!);
  if (value === WRONG_TYPE) return void appendError(out, WRONGTYPE_ERROR);
  if (value === null) return void appendInteger(out, 0);
  let range: BitRange;
  if (args.length === 4 || args.length === 5) {
    const startArg = parseInteger64(args[2]!);
    const endArg = parseInteger64(args[3]!);
    if (startArg === undefined || endArg === undefined) return void appendError(out, NOT_INTEGER_ERROR);
    if (startArg < 0n && endArg < 0n && startArg > endArg) return void appendInteger(out, 0);
    const isBit = args.length === 5 ? parseUnit(args[4]!) : false;
    if (isBit === undefined) return void appendError(out, SYNTAX_ERROR);
    range = bitRange(value.length, startArg, endArg, isBit);
  } else if (args.length === 2) {
    range = { start: 0, end: value.length - 1, firstMask: 0, lastMask: 0 };
  } else {
    return void appendError(out, SYNTAX_ERROR);
  }
  if (range.start > range.end) return void appendInteger(out, 0);
  let count = popcount(value, range.start, range.end);
  count -= POPCOUNT[value[range.start]! & range.firstMask]! + POPCOUNT[value[range.end]! & range.lastMask]!;
  appendInteger(out, count);
}

/** First bit equal to `bit` in bytes [from, to] as an offset from `from`; none: -1 for 1, the bit after the range for 0. */
function firstBit(bytes: Uint8Array, from: number, to: number, bit: number): number {
  const skip = bit === 1 ? 0x00 : 0xff;
  for (let index = from; index <= to; index++) {
    const byte = bytes[index]!;
    if (byte === skip) continue;
    for (let position = 0; position < 8; position++) {
      if (((byte >> (7 - position)) & 1) === bit) return (index - from) * 8 + position;
    }
  }
  return bit === 1 ? -1 : (to - from + 1) * 8;
}

/** BITPOS key bit [start [end [BYTE|BIT]]] */
function bitposCommand(session: CommandContext, args: Buffer[]): void {
  const out = session.out;
  const bitArg = parseInteger64(args[2]!);
  if (bitArg === undefined) return void appendError(out, NOT_INTEGER_ERROR);
  if (bitArg !== 0n && bitArg !== 1n) return void appendError(out, 'ERR The bit argument must be 1 or 0.');
  const bit = Number(bitArg);
  const value = bitmapOf(session, args[1]!);
  if (value === WRONG_TYPE) return void appendError(out, WRONGTYPE_ERROR);
  if (value === null) return void appendInteger(out, bit === 1 ? -1 : 0);
  let range: BitRange;
  let endGiven = false;
  if (args.length >= 4 && args.length <= 6) {
    const startArg = parseInteger64(args[3]!);
    if (startArg === undefined) return void appendError(out, NOT_INTEGER_ERROR);
    const isBit = args.length === 6 ? parseUnit(args[5]!) : false;
    if (isBit === undefined) return void appendError(out, SYNTAX_ERROR);
    let endArg: bigint;
    if (args.length >= 5) {
      const parsed = parseInteger64(args[4]!);
      if (parsed === undefined) return void appendError(out, NOT_INTEGER_ERROR);
      endArg = parsed;
      endGiven = true;
    } else {
      endArg = BigInt(isBit ? value.length * 8 + 7 : value.length - 1);
    }
    range = bitRange(value.length, startArg, endArg, isBit);
  } else if (args.length === 3) {
    range = { start: 0, end: value.length - 1, firstMask: 0, lastMask: 0 };
  } else {
    return void appendError(out, SYNTAX_ERROR);
  }
  if (range.start > range.end) return void appendInteger(out, -1);
  // Bits outside a BIT range read as the opposite of the one sought: set in a copy (the
  // stored value may be a Buffer, whose slice() is a view, not a copy).
  const view = new Uint8Array(value.subarray(range.start, range.end + 1));
  const last = view.length - 1;
  if (bit === 1) {
    view[0] &= ~range.firstMask;
    view[last] &= ~range.lastMask;
  } else {
    view[0] |= range.firstMask;
    view[last] |= range.lastMask;
  }
  const position = firstBit(view, 0, last, bit);
  // A 0 sought in an explicit range finds none there: the padding after it does not count.
  if (bit === 0 && position === view.length * 8 && (endGiven || range.lastMask !== 0)) return void appendInteger(out, -1);
  appendInteger(out, position === -1 ? -1 : position + range.start * 8);
}

const enum BitOp {
  And,
  Or,
  Xor,
  Not,
}

/** BITOP AND|OR|XOR|NOT destkey key [key ...]: the destination's length. */
function bitopCommand(session: CommandContext, args: Buffer[]): void {
  const out = session.out;
  const opArg = args[1]!;
  let op: BitOp;
  if (argIs(opArg, 'and')) op = BitOp.And;
  else if (argIs(opArg, 'or')) op = BitOp.Or;
  else if (argIs(opArg, 'xor')) op = BitOp.Xor;
  else if (argIs(opArg, 'not')) op = BitOp.Not;
  else return void appendError(out, SYNTAX_ERROR);
  if (op === BitOp.Not && args.length !== 4) return void appendError(out, 'ERR BITOP NOT must be called with a single source key.');
  const destination = args[2]!;
  if (!checkKeyLength(session, destination)) return;
  const sources: Uint8Array[] = [];
  let length = 0;
  for (let index = 3; index < args.length; index++) {
    const value = bitmapOf(session, args[index]!);
    if (value === WRONG_TYPE) return void appendError(out, WRONGTYPE_ERROR);
    const bytes = value ?? EMPTY;
    sources.push(bytes);
    if (bytes.length > length) length = bytes.length;
  }
  const result = new Uint8Array(length);
  if (op === BitOp.Not) {
    const source = sources[0]!;
    for (let index = 0; index < length; index++) result[index] = ~source[index]! & 0xff;
  } else {
    result.set(sources[0]!);
    for (let source = 1; source < sources.length; source++) {
      const bytes = sources[source]!;
      for (let index = 0; index < length; index++) {
        const byte = index < bytes.length ? bytes[index]! : 0;
        if (op === BitOp.And) result[index] &= byte;
        else if (op === BitOp.Or) result[index] |= byte;
        else result[index] ^= byte;
      }
    }
  }
  const engine = session.engine;
  const start = out.length;
  appendInteger(out, length);
  if (length === 0) {
    if (liveHeader(engine, destination) === undefined) return;
    return void session.deferWrite(engine.write([deleteWrite(destination)]), start);
  }
  session.deferWrite(engine.write([replaceWrite(destination, result, 0)]), start);
}

// ---- BITFIELD ----

const enum FieldOp {
  Get,
  Set,
  IncrBy,
}

const enum Overflow {
  Wrap,
  Sat,
  Fail,
}

interface BitfieldOp {
  readonly op: FieldOp;
  readonly signed: boolean;
  readonly bits: number;
  /** Bit offset (bit 0 = most significant bit of byte 0). */
  readonly offset: number;
  readonly argument: bigint;
  readonly overflow: Overflow;
}

/** i1..i64 or u1..u63. */
function parseFieldType(arg: Buffer): { signed: boolean; bits: number } | undefined {
  const text = arg.toString('latin1');
  const signed = text[0] === 'i';
  if (!signed && text[0] !== 'u') return undefined;
  const bits = parseInteger64(arg.subarray(1));
  if (bits === undefined || bits < 1n || bits > (signed ? 64n : 63n)) return undefined;
  return { signed, bits: Number(bits) };
}

/** An offset, or #N meaning N times the type's width. */
function parseFieldOffset(arg: Buffer, bits: number): number | undefined {
  const multiplied = arg[0] === 0x23;
  const parsed = parseInteger64(multiplied ? arg.subarray(1) : arg);
  if (parsed === undefined) return undefined;
  const offset = multiplied ? parsed * BigInt(bits) : parsed;
  if (offset < 0n || offset >> 3n >= BigInt(VALUE_BYTES_MAX)) return undefined;
  return Number(offset);
}

/** The unsigned integer of `bits` bits at `offset` (bits past the end read as 0). */
function readField(bytes: Uint8Array, offset: number, bits: number): bigint {
  let value = 0n;
  for (let bit = offset; bit < offset + bits; bit++) {
    const byte = bit >> 3;
    const set = byte < bytes.length ? (bytes[byte]! >> (7 - (bit & 7))) & 1 : 0;
    value = (value << 1n) | BigInt(set);
  }
  return value;
}

function writeField(bytes: Uint8Array, offset: number, bits: number, value: bigint): void {
  for (let index = 0; index < bits; index++) {
    const bit = offset + index;
    const set = (value >> BigInt(bits - 1 - index)) & 1n;
    const mask = 1 << (7 - (bit & 7));
    if (set === 1n) bytes[bit >> 3] |= mask;
    else bytes[bit >> 3] &= ~mask;
  }
}

/** The value to store for `wanted` in the type's range, or undefined when it overflows under FAIL. */
function fitField(wanted: bigint, signed: boolean, bits: number, overflow: Overflow): bigint | undefined {
  const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
  if (wanted >= min && wanted <= max) return wanted;
  if (overflow === Overflow.Fail) return undefined;
  if (overflow === Overflow.Sat) return wanted > max ? max : min;
  return signed ? BigInt.asIntN(bits, wanted) : BigInt.asUintN(bits, wanted);
}

function appendBigInteger(out: RespOutput, value: bigint): void {
  out.ascii(`:${value}`);
  out.crlf();
}

/** The operations of a BITFIELD call, or an error text. */
function parseBitfield(args: Buffer[]): BitfieldOp[] | string {
  const ops: BitfieldOp[] = [];
  let overflow = Overflow.Wrap;
  for (let index = 2; index < args.length; index++) {
    const remaining = args.length - index - 1;
    const name = args[index]!;
    let op: FieldOp;
    if (argIs(name, 'get') && remaining >= 2) op = FieldOp.Get;
    else if (argIs(name, 'set') && remaining >= 3) op = FieldOp.Set;
    else if (argIs(name, 'incrby') && remaining >= 3) op = FieldOp.IncrBy;
    else if (argIs(name, 'overflow') && remaining >= 1) {
      const kind = args[++index]!;
      if (argIs(kind, 'wrap')) overflow = Overflow.Wrap;
      else if (argIs(kind, 'sat')) overflow = Overflow.Sat;
      else if (argIs(kind, 'fail')) overflow = Overflow.Fail;
      else return 'ERR Invalid OVERFLOW type specified';
      continue;
    } else return SYNTAX_ERROR;
    const type = parseFieldType(args[index + 1]!);
    if (type === undefined) return BITFIELD_TYPE_ERROR;
    const offset = parseFieldOffset(args[index + 2]!, type.bits);
    if (offset === undefined) return BIT_OFFSET_ERROR;
    let argument = 0n;
    if (op !== FieldOp.Get) {
      const parsed = parseInteger64(args[index + 3]!);
      if (parsed === undefined) return NOT_INTEGER_ERROR;
      argument = parsed;
    }
    ops.push({ op, signed: type.signed, bits: type.bits, offset, argument, overflow });
    index += op === FieldOp.Get ? 2 : 3;
  }
  return ops;
}

/** BITFIELD key [GET type offset] [SET type offset value] [INCRBY type offset increment] [OVERFLOW WRAP|SAT|FAIL] ... */
function bitfieldVariant(readOnly: boolean) {
  return (session: CommandContext, args: Buffer[]): void => {
    const out = session.out;
    const key = args[1]!;
    const ops = parseBitfield(args);
    if (typeof ops === 'string') return void appendError(out, ops);
    const writes = ops.some((op) => op.op !== FieldOp.Get);
    if (writes && readOnly) return void appendError(out, 'ERR BITFIELD_RO only supports the GET subcommand');
    if (writes && !checkKeyLength(session, key)) return;
    const engine = session.engine;
    const header = liveHeader(engine, key);
    if (header !== undefined && typeOf(header) !== KeyType.String) return void appendError(out, WRONGTYPE_ERROR);
    const old = header === undefined ? EMPTY : stringValue(engine, key, header);
    let value = old;
    if (writes) {
      let highestBit = 0;
      for (const op of ops) if (op.op !== FieldOp.Get) highestBit = Math.max(highestBit, op.offset + op.bits - 1);
      value = new Uint8Array(Math.max(old.length, (highestBit >> 3) + 1));
      value.set(old);
    }
    const start = out.length;
    appendArrayHeader(out, ops.length);
    for (const op of ops) {
      const raw = readField(value, op.offset, op.bits);
      const current = op.signed ? BigInt.asIntN(op.bits, raw) : raw;
      if (op.op === FieldOp.Get) {
        appendBigInteger(out, current);
        continue;
      }
      const wanted = op.op === FieldOp.IncrBy ? current + op.argument : op.signed ? op.argument : BigInt.asUintN(64, op.argument);
      const next = fitField(wanted, op.signed, op.bits, op.overflow);
      if (next === undefined) {
        appendNull(out, session.protocol);
        continue;
      }
      appendBigInteger(out, op.op === FieldOp.IncrBy ? next : current);
      writeField(value, op.offset, op.bits, BigInt.asUintN(op.bits, next));
    }
    if (!writes || (header !== undefined && sameBytes(old, value))) return;
    const rows: ClientWrite[] = [replaceWrite(key, value, header?.expiresAtMs ?? 0)];
    session.deferWrite(engine.write(rows), start);
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}

const { Write, ReadOnly, Fast } = CommandFlag;

export const BITMAP_COMMANDS: readonly CommandSpec[] = [
  command('bitcount', -2, ReadOnly, ONE_KEY, 'bitmap', 'Count the set bits of a string', bitcountCommand),
  command('bitpos', -3, ReadOnly, ONE_KEY, 'bitmap', 'The first set or clear bit of a string', bitposCommand),
  command('bitop', -4, Write, [2, -1, 1], 'bitmap', 'Bitwise operations between strings', bitopCommand),
  command('bitfield', -2, Write, ONE_KEY, 'bitmap', 'Integer fields of arbitrary width in a string', bitfieldVariant(false)),
  command('bitfield_ro', -2, ReadOnly | Fast, ONE_KEY, 'bitmap', 'Read integer fields of a string', bitfieldVariant(true)),
];

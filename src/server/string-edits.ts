// APPEND, SETRANGE, GETRANGE (and its old name SUBSTR), SETBIT, GETBIT: edits and slices
// of a string (the other bitmap commands are in bitops.ts).
// An edit reads the value as a reader sees it (counters applied) and writes it back as
// a new base through replaceWrite, keeping the key's expiry as Redis does; a counter's
// new base records the slots it observed, so increments made elsewhere meanwhile count.
import type { Buffer } from 'node:buffer';
import { parseInteger64 } from '../core/counters.js';
import { KeyType } from '../core/rows.js';
import { VALUE_BYTES_MAX } from '../core/validate.js';
import { appendBulk, appendError, appendInteger } from '../wire/resp.js';
import { CommandFlag, NOT_INTEGER_ERROR, ONE_KEY, checkKeyLength, command } from './common.js';
import type { CommandContext } from './context.js';
import type { CommandSpec } from './command-spec.js';
import { liveHeader, readString, replaceWrite, stringValue, typeOf, WRONG_TYPE, WRONGTYPE_ERROR } from './typed-keys.js';
import type { VersionedRecord } from '../core/types.js';

/** Redis's checkStringLength error; our limit is the value limit (proto-max-bulk-len). */
export const STRING_TOO_LONG_ERROR = 'ERR string exceeds maximum allowed size (proto-max-bulk-len)';
const EMPTY = new Uint8Array(0);

/** Write `value` as key's new string value, keeping the expiry of `header`; reply its length once committed. */
function writeEdited(session: CommandContext, key: Uint8Array, value: Uint8Array, header: VersionedRecord | undefined): void {
  const engine = session.engine;
  const start = session.out.length;
  appendInteger(session.out, value.length);
  session.deferWrite(engine.write([replaceWrite(key, value, header?.expiresAtMs ?? 0)]), start);
}

/** APPEND key value: the new length; creates the key when absent. */
function appendCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  const suffix = args[2]!;
  if (!checkKeyLength(session, key)) return;
  const engine = session.engine;
  const header = liveHeader(engine, key);
  if (header === undefined) return writeEdited(session, key, suffix, undefined);
  if (typeOf(header) !== KeyType.String) return void appendError(session.out, WRONGTYPE_ERROR);
  const old = stringValue(engine, key, header);
  if (old.length + suffix.length > VALUE_BYTES_MAX) return void appendError(session.out, STRING_TOO_LONG_ERROR);
  const value = new Uint8Array(old.length + suffix.length);
  value.set(old, 0);
  value.set(suffix, old.length);
  writeEdited(session, key, value, header);
}

/** SETRANGE key offset value: overwrite from offset, zero-padding; the new length. */
function setrangeCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  const patch = args[3]!;
  if (!checkKeyLength(session, key)) return;
  const offsetArg = parseInteger64(args[2]!);
  if (offsetArg === undefined) return void appendError(session.out, NOT_INTEGER_ERROR);
  if (offsetArg < 0n) return void appendError(session.out, 'ERR offset is out of range');
  const engine = session.engine;
  const header = liveHeader(engine, key);
  if (header !== undefined && typeOf(header) !== KeyType.String) return void appendError(session.out, WRONGTYPE_ERROR);
  const old = header === undefined ? EMPTY : stringValue(engine, key, header);
  // Setting nothing changes nothing (and creates no key): the current length.
  if (patch.length === 0) return void appendInteger(session.out, old.length);
  if (offsetArg + BigInt(patch.length) > BigInt(VALUE_BYTES_MAX)) return void appendError(session.out, STRING_TOO_LONG_ERROR);
  const offset = Number(offsetArg);
  const value = new Uint8Array(Math.max(old.length, offset + patch.length));
  value.set(old, 0);
  value.set(patch, offset);
  writeEdited(session, key, value, header);
}

/** GETRANGE key start end: Redis's inclusive slice with negative indexes from the end. */
function getrangeCommand(session: CommandContext, args: Buffer[]): void {
  const startArg = parseInteger64(args[2]!);
  const endArg = parseInteger64(args[3]!);
  if (startArg === undefined || endArg === undefined) return void appendError(session.out, NOT_INTEGER_ERROR);
  const value = readString(session.engine, args[1]!);
  if (value === WRONG_TYPE) return void appendError(session.out, WRONGTYPE_ERROR);
  appendBulk(session.out, value === null ? EMPTY : sliceRange(value, startArg, endArg));
}

/** Redis's getrange index arithmetic (both ends inclusive, clamped; empty when crossed). */
export function sliceRange(value: Uint8Array, startArg: bigint, endArg: bigint): Uint8Array {
  const length = BigInt(value.length);
  if (startArg < 0n && endArg < 0n && startArg > endArg) return EMPTY;
  let start = startArg < 0n ? length + startArg : startArg;
  let end = endArg < 0n ? length + endArg : endArg;
  if (start < 0n) start = 0n;
  if (end < 0n) end = 0n;
  if (end >= length) end = length - 1n;
  if (start > end || length === 0n) return EMPTY;
  return value.subarray(Number(start), Number(end) + 1);
}

const BIT_OFFSET_ERROR = 'ERR bit offset is not an integer or out of range';

/** A bit offset argument: 0 up to the bits of the longest value, or undefined. */
function parseBitOffset(arg: Uint8Array): number | undefined {
  const offset = parseInteger64(arg);
  return offset === undefined || offset < 0n || offset >> 3n >= BigInt(VALUE_BYTES_MAX) ? undefined : Number(offset);
}

/** Bit `offset` of value, bit 0 being the most significant bit of the first byte. */
function bitAt(value: Uint8Array, offset: number): number {
  const byte = offset >> 3;
  return byte < value.length ? (value[byte]! >> (7 - (offset & 7))) & 1 : 0;
}

/** SETBIT key offset 0|1: the bit's old value; the string grows with zero bytes as needed. */
function setbitCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  if (!checkKeyLength(session, key)) return;
  const offset = parseBitOffset(args[2]!);
  if (offset === undefined) return void appendError(session.out, BIT_OFFSET_ERROR);
  const bitArg = args[3]!;
  if (bitArg.length !== 1 || (bitArg[0] !== 0x30 && bitArg[0] !== 0x31)) return void appendError(session.out, 'ERR bit is not an integer or out of range');
  const engine = session.engine;
  const header = liveHeader(engine, key);
  if (header !== undefined && typeOf(header) !== KeyType.String) return void appendError(session.out, WRONGTYPE_ERROR);
  const old = header === undefined ? EMPTY : stringValue(engine, key, header);
  const value = new Uint8Array(Math.max(old.length, (offset >> 3) + 1));
  value.set(old, 0);
  const mask = 1 << (7 - (offset & 7));
  if (bitArg[0] === 0x31) value[offset >> 3] |= mask;
  else value[offset >> 3] &= ~mask;
  const start = session.out.length;
  appendInteger(session.out, bitAt(old, offset));
  // As Redis: a bit set to what it was, inside the value, changes nothing and writes nothing.
  if (header !== undefined && value.length === old.length && bitAt(old, offset) === (bitArg[0] === 0x31 ? 1 : 0)) return;
  session.deferWrite(engine.write([replaceWrite(key, value, header?.expiresAtMs ?? 0)]), start);
}

/** GETBIT key offset: 0 past the end or for an absent key. */
function getbitCommand(session: CommandContext, args: Buffer[]): void {
  const offset = parseBitOffset(args[2]!);
  if (offset === undefined) return void appendError(session.out, BIT_OFFSET_ERROR);
  const value = readString(session.engine, args[1]!);
  if (value === WRONG_TYPE) return void appendError(session.out, WRONGTYPE_ERROR);
  appendInteger(session.out, value === null ? 0 : bitAt(value, offset));
}

const { Write, ReadOnly, Fast } = CommandFlag;

export const STRING_EDIT_COMMANDS: readonly CommandSpec[] = [
  command('append', 3, Write, ONE_KEY, 'string', 'Append a value to a key', appendCommand),
  command('setrange', 4, Write, ONE_KEY, 'string', 'Overwrite part of a string at an offset', setrangeCommand),
  command('getrange', 4, ReadOnly, ONE_KEY, 'string', 'Get a substring of the string stored at a key', getrangeCommand),
  command('setbit', 4, Write, ONE_KEY, 'bitmap', 'Set or clear the bit at an offset of a string', setbitCommand),
  command('getbit', 3, ReadOnly | Fast, ONE_KEY, 'bitmap', 'The bit at an offset of a string', getbitCommand),
  command('substr', 4, ReadOnly, ONE_KEY, 'string', 'Get a substring of the string stored at a key (old name of GETRANGE)', getrangeCommand),
];

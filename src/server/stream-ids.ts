// Stream entry ids (Redis's <ms>-<seq>, both unsigned 64-bit) as parsed from arguments,
// compared, printed and stored: 16 big-endian bytes, so ids sort as their row keys do.
import { Buffer } from 'node:buffer';

export interface StreamId {
  readonly ms: bigint;
  readonly seq: bigint;
}

export const U64_MAX = 2n ** 64n - 1n;
export const ZERO_ID: StreamId = { ms: 0n, seq: 0n };
export const MAX_ID: StreamId = { ms: U64_MAX, seq: U64_MAX };
export const STREAM_ID_BYTES = 16;
export const INVALID_ID_ERROR = 'ERR Invalid stream ID specified as stream command argument';

export function compareIds(a: StreamId, b: StreamId): number {
  if (a.ms !== b.ms) return a.ms < b.ms ? -1 : 1;
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  return 0;
}

export function idText(id: StreamId): string {
  return `${id.ms}-${id.seq}`;
}

/** The next id, undefined past the last possible one. */
export function incrementId(id: StreamId): StreamId | undefined {
  if (id.seq < U64_MAX) return { ms: id.ms, seq: id.seq + 1n };
  if (id.ms < U64_MAX) return { ms: id.ms + 1n, seq: 0n };
  return undefined;
}

/** The previous id, undefined before 0-0. */
export function decrementId(id: StreamId): StreamId | undefined {
  if (id.seq > 0n) return { ms: id.ms, seq: id.seq - 1n };
  if (id.ms > 0n) return { ms: id.ms - 1n, seq: U64_MAX };
  return undefined;
}

export function encodeId(id: StreamId): Uint8Array {
  const bytes = new Uint8Array(STREAM_ID_BYTES);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, id.ms);
  view.setBigUint64(8, id.seq);
  return bytes;
}

export function decodeId(bytes: Uint8Array, offset = 0): StreamId {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, STREAM_ID_BYTES);
  return { ms: view.getBigUint64(0), seq: view.getBigUint64(8) };
}

/** string2ull: decimal digits only, within 64 bits. */
function parseUnsigned(text: string): bigint | undefined {
  if (!/^\d{1,20}$/.test(text)) return undefined;
  const value = BigInt(text);
  return value <= U64_MAX ? value : undefined;
}

/** A parsed id argument; `seqGiven` false for the <ms>-* form (only when allowed). */
export interface ParsedId {
  readonly id: StreamId;
  readonly seqGiven: boolean;
}

/**
 * streamGenericParseIDOrReply: "-" and "+" (unless strict), <ms>-<seq>, <ms> (seq =
 * missingSeq) and, with allowAutoSeq, <ms>-*. Undefined when invalid.
 */
export function parseId(arg: Uint8Array, missingSeq: bigint, strict: boolean, allowAutoSeq = false): ParsedId | undefined {
  if (arg.length > 127) return undefined;
  const text = Buffer.from(arg).toString('latin1');
  if (text === '-') return strict ? undefined : { id: ZERO_ID, seqGiven: true };
  if (text === '+') return strict ? undefined : { id: MAX_ID, seqGiven: true };
  const dash = text.indexOf('-');
  const ms = parseUnsigned(dash < 0 ? text : text.slice(0, dash));
  if (ms === undefined) return undefined;
  if (dash < 0) return { id: { ms, seq: missingSeq }, seqGiven: true };
  const rest = text.slice(dash + 1);
  if (allowAutoSeq && rest === '*') return { id: { ms, seq: 0n }, seqGiven: false };
  const seq = parseUnsigned(rest);
  return seq === undefined ? undefined : { id: { ms, seq }, seqGiven: true };
}

/** A range bound: "(" makes it exclusive (then "-"/"+" are invalid). Undefined when invalid. */
export function parseIntervalId(arg: Uint8Array, missingSeq: bigint): { id: StreamId; exclusive: boolean } | undefined {
  const exclusive = arg.length > 1 && arg[0] === 0x28;
  const parsed = exclusive ? parseId(arg.subarray(1), missingSeq, true) : parseId(arg, missingSeq, false);
  return parsed === undefined ? undefined : { id: parsed.id, exclusive };
}

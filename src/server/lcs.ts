// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]: the longest common
// subsequence of two strings, by Redis 7.0's dynamic programming table and backtrack, so
// the same subsequence and the same match ranges (from the end backwards) come out.
import type { Buffer } from 'node:buffer';
import { parseInteger64 } from '../core/counters.js';
import { VALUE_BYTES_MAX } from '../core/validate.js';
import { appendArrayHeader, appendBulk, appendBulkText, appendError, appendInteger, appendMapHeader } from '../wire/resp.js';
import { argIs, CommandFlag, NOT_INTEGER_ERROR, SYNTAX_ERROR, command } from './common.js';
import type { CommandContext } from './context.js';
import type { CommandSpec } from './command-spec.js';
import { readString, WRONG_TYPE } from './typed-keys.js';

/** Bytes of the transient table Redis allows (its proto-max-bulk-len; ours is the value limit). */
const LCS_TABLE_BYTES_MAX = VALUE_BYTES_MAX;
const EMPTY = new Uint8Array(0);

/** One run of matching bytes: inclusive ranges in a and b. */
export interface LcsMatch {
  readonly aStart: number;
  readonly aEnd: number;
  readonly bStart: number;
  readonly bEnd: number;
}

export interface LcsResult {
  readonly length: number;
  /** The subsequence itself. */
  readonly text: Uint8Array;
  /** Runs from the end of the strings backwards, as Redis lists them (all of them; MINMATCHLEN filters). */
  readonly matches: LcsMatch[];
}

/** Table cells (alen+1)*(blen+1) of 4 bytes each, as Redis counts them. */
export function lcsTableBytes(aLength: number, bLength: number): number {
  return (aLength + 1) * (bLength + 1) * 4;
}

/** Redis's lcsCommand computation: the table, then the backtrack that emits ranges. */
export function longestCommonSubsequence(a: Uint8Array, b: Uint8Array): LcsResult {
  const width = b.length + 1;
  const table = new Uint32Array((a.length + 1) * width);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const at = i * width + j;
      if (a[i - 1] === b[j - 1]) table[at] = table[at - width - 1]! + 1;
      else table[at] = Math.max(table[at - width]!, table[at - 1]!);
    }
  }
  const length = table[a.length * width + b.length]!;
  const text = new Uint8Array(length);
  const matches: LcsMatch[] = [];
  let index = length;
  let i = a.length;
  let j = b.length;
  // "No range yet" is aStart === a.length, as in Redis.
  let aStart = a.length;
  let aEnd = 0;
  let bStart = 0;
  let bEnd = 0;
  while (i > 0 && j > 0) {
    let emit = false;
    if (a[i - 1] === b[j - 1]) {
      text[index - 1] = a[i - 1]!;
      if (aStart === a.length) {
        aStart = aEnd = i - 1;
        bStart = bEnd = j - 1;
      } else if (aStart === i && bStart === j) {
        aStart--;
        bStart--;
      } else {
        emit = true;
      }
      if (aStart === 0 || bStart === 0) emit = true;
      index--;
      i--;
      j--;
    } else {
      if (table[(i - 1) * width + j]! > table[i * width + j - 1]!) i--;
      else j--;
      if (aStart !== a.length) emit = true;
    }
    if (emit) {
      matches.push({ aStart, aEnd, bStart, bEnd });
      aStart = a.length;
    }
  }
  return { length, text, matches };
}

function lcsCommand(session: CommandContext, args: Buffer[]): void {
  const out = session.out;
  const a = readString(session.engine, args[1]!);
  const b = readString(session.engine, args[2]!);
  if (a === WRONG_TYPE || b === WRONG_TYPE) return void appendError(out, 'ERR The specified keys must contain string values');
  let wantLength = false;
  let wantIndexes = false;
  let withMatchLength = false;
  let minMatchLength = 0n;
  for (let index = 3; index < args.length; index++) {
    const arg = args[index]!;
    if (argIs(arg, 'idx')) wantIndexes = true;
    else if (argIs(arg, 'len')) wantLength = true;
    else if (argIs(arg, 'withmatchlen')) withMatchLength = true;
    else if (argIs(arg, 'minmatchlen') && index + 1 < args.length) {
      const parsed = parseInteger64(args[++index]!);
      if (parsed === undefined) return void appendError(out, NOT_INTEGER_ERROR);
      minMatchLength = parsed < 0n ? 0n : parsed;
    } else return void appendError(out, SYNTAX_ERROR);
  }
  if (wantLength && wantIndexes) return void appendError(out, 'ERR If you want both the length and indexes, please just use IDX.');
  const first = a ?? EMPTY;
  const second = b ?? EMPTY;
  if (lcsTableBytes(first.length, second.length) > LCS_TABLE_BYTES_MAX) {
    return void appendError(out, 'ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len');
  }
  const result = longestCommonSubsequence(first, second);
  if (!wantIndexes) {
    if (wantLength) appendInteger(out, result.length);
    else appendBulk(out, result.text);
    return;
  }
  const matches = result.matches.filter((match) => minMatchLength === 0n || BigInt(match.aEnd - match.aStart + 1) >= minMatchLength);
  appendMapHeader(out, 2, session.protocol);
  appendBulkText(out, 'matches');
  appendArrayHeader(out, matches.length);
  for (const match of matches) {
    appendArrayHeader(out, withMatchLength ? 3 : 2);
    appendArrayHeader(out, 2);
    appendInteger(out, match.aStart);
    appendInteger(out, match.aEnd);
    appendArrayHeader(out, 2);
    appendInteger(out, match.bStart);
    appendInteger(out, match.bEnd);
    if (withMatchLength) appendInteger(out, match.aEnd - match.aStart + 1);
  }
  appendBulkText(out, 'len');
  appendInteger(out, result.length);
}

export const LCS_COMMANDS: readonly CommandSpec[] = [
  command('lcs', -3, CommandFlag.ReadOnly, [1, 2, 1], 'string', 'Longest common subsequence of two strings', lcsCommand),
];

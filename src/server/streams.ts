// Stream commands without consumer groups (Redis 7.0 replies and errors): XADD, XLEN,
// XRANGE, XREVRANGE, XDEL, XTRIM, XSETID and XREAD (BLOCK: stream-blocking.ts). Rows:
// stream-rows.ts. XADD's automatic ids come from the clock of the node that takes it
// (ms-seq above the stream's last id here), so entries added on two nodes at once are all
// kept, ordered by id (their ms may interleave by the nodes' clocks); the same explicit id
// added on two nodes is one entry, the later write's. Approximate trimming (~) removes
// whole nodes from the head as Redis does: an entry's node is fixed when it is added (its
// ordinal over stream-node-max-entries; Redis's byte limit per node is not modelled).
import type { Buffer } from 'node:buffer';
import type { ClientWrite } from '../core/io.js';
import { appendArrayHeader, appendBulk, appendBulkText, appendError, appendInteger, appendMapHeader, appendNullArray, appendOk, type RespOutput, type RespVersion } from '../wire/resp.js';
import { argIs, checkKeyLength, CommandFlag, command, NOT_INTEGER_ERROR, ONE_KEY, SYNTAX_ERROR } from './common.js';
import type { Engine } from './engine.js';
import type { CommandContext } from './context.js';
import type { Session } from './session.js';
import { compareIds, decrementId, idText, incrementId, INVALID_ID_ERROR, MAX_ID, parseId, parseIntervalId, U64_MAX, ZERO_ID, type StreamId } from './stream-ids.js';
import {
  creationWrites,
  entriesInRange,
  entriesInRangeReversed,
  entryRow,
  metaWrite,
  partPrefix,
  readStream,
  StreamOp,
  StreamPart,
  streamHeaderWrite,
  tombstone,
  visitRows,
  entryOrdinal,
  type StreamEntry,
  type StreamState,
} from './stream-rows.js';
import { decodeId } from './stream-ids.js';
import { parseInteger64 } from '../core/counters.js';
import type { CommandSpec } from './table.js';
import { waitForEntries } from './stream-blocking.js';
import { WRONG_TYPE, WRONGTYPE_ERROR } from './typed-keys.js';
import { encodeEntry } from './stream-rows.js';

/** Approximate trimming's default LIMIT is this many nodes, as Redis (within 10000 .. 1000000 entries). */
const APPROX_TRIM_NODES = 100;

/** A stream read for a command, WRONGTYPE replied; `null` when the reply was an error. */
export function streamForCommand(session: CommandContext, key: Uint8Array): StreamState | undefined | null {
  const state = readStream(session.engine, key);
  if (state === WRONG_TYPE) {
    appendError(session.out, WRONGTYPE_ERROR);
    return null;
  }
  return state;
}

/** Entries as Redis replies them: [id, [field, value, ...]] each. */
export function appendEntries(out: RespOutput, entries: readonly StreamEntry[]): void {
  appendArrayHeader(out, entries.length);
  for (const entry of entries) appendEntry(out, entry);
}

export function appendEntry(out: RespOutput, entry: StreamEntry): void {
  appendArrayHeader(out, 2);
  appendBulkText(out, idText(entry.id));
  appendArrayHeader(out, entry.pairs.length);
  for (const item of entry.pairs) appendBulk(out, item);
}

// ---- Trimming ----

export interface TrimArgs {
  readonly strategy: 'maxlen' | 'minid' | 'none';
  readonly maxlen: bigint;
  readonly minid: StreamId;
  readonly approx: boolean;
  /** 0: no limit. */
  readonly limit: bigint;
  /** Entries per node (stream-node-max-entries; 0: unbounded, the whole stream is one node). */
  readonly nodeEntries: number;
}

/**
 * Tombstones of the head entries the trim removes. `added` is an entry this batch adds
 * (XADD) with its ordinal, counted at the tail. Exact trims remove entry by entry;
 * approximate ones whole nodes (entries whose ordinals fall in one block of nodeEntries,
 * as Redis filled its nodes), only while the stream stays at or above its target.
 */
export function trimWrites(engine: Engine, key: Uint8Array, length: number, args: TrimArgs, added?: { id: StreamId; ordinal: bigint }): { writes: ClientWrite[]; deleted: number; addedTrimmed: boolean } {
  const writes: ClientWrite[] = [];
  if (args.strategy === 'none') return { writes, deleted: 0, addedTrimmed: false };
  const nodeEntries = args.nodeEntries > 0 ? BigInt(args.nodeEntries) : 0n;
  const nodeOf = (ordinal: bigint): bigint => (nodeEntries === 0n ? 0n : (ordinal - 1n) / nodeEntries);
  const head: { id: StreamId; node: bigint }[] = [];
  // Exact MAXLEN needs only the entries it removes; the others read until they can decide.
  // Exact MAXLEN reads only the entries it removes; approximate MAXLEN one node more (to see
  // where the last removable node ends); MINID stops at the first id it keeps.
  const excess = Math.max(0, length - Number(args.maxlen));
  const wanted = args.strategy !== 'maxlen' ? Infinity : !args.approx ? excess : nodeEntries === 0n ? Infinity : excess + args.nodeEntries + 1;
  if (wanted > 0) {
    visitRows(engine, partPrefix(key, StreamPart.Entry), undefined, (row, element) => {
      const id = decodeId(element);
      const kept = args.strategy === 'minid' && compareIds(id, args.minid) >= 0;
      if (kept && !args.approx) return false;
      head.push({ id, node: nodeOf(entryOrdinal(row.value!)) });
      return !kept && head.length < wanted;
    });
  }
  if (added !== undefined && head.length < wanted) head.push({ id: added.id, node: nodeOf(added.ordinal) });
  const limit = args.limit === 0n ? Infinity : Number(args.limit);
  let remaining = length;
  let deleted = 0;
  if (!args.approx) {
    while (deleted < head.length && deleted < limit) {
      if (args.strategy === 'maxlen' ? remaining <= Number(args.maxlen) : compareIds(head[deleted]!.id, args.minid) >= 0) break;
      deleted++;
      remaining--;
    }
  } else {
    while (deleted < head.length) {
      let end = deleted + 1;
      while (end < head.length && head[end]!.node === head[deleted]!.node) end++;
      const block = end - deleted;
      if (deleted + block > limit) break;
      const removable = args.strategy === 'maxlen' ? remaining - block >= Number(args.maxlen) : compareIds(head[end - 1]!.id, args.minid) < 0;
      if (!removable) break;
      deleted = end;
      remaining -= block;
    }
  }
  let addedTrimmed = false;
  for (const { id } of head.slice(0, deleted)) {
    if (added !== undefined && compareIds(id, added.id) === 0) addedTrimmed = true;
    else writes.push(tombstone(entryRow(key, id)));
  }
  return { writes, deleted, addedTrimmed };
}

/** streamParseAddOrTrimArgsOrReply: trim options (and for XADD NOMKSTREAM and the id); the index of the id, or -1 after replying. */
function parseAddOrTrim(session: Session, args: Buffer[], xadd: boolean): { index: number; trim: TrimArgs; noMakeStream: boolean; id?: StreamId; seqGiven: boolean } | undefined {
  let strategy: TrimArgs['strategy'] = 'none';
  let maxlen = 0n;
  let minid: StreamId = ZERO_ID;
  let approx = false;
  let limit = 0n;
  let limitGiven = false;
  let noMakeStream = false;
  let id: StreamId | undefined;
  let seqGiven = true;
  let index = 2;
  const nodeEntries = session.server.settings.integer('stream-node-max-entries');
  const error = (text: string): undefined => void appendError(session.out, text);
  for (; index < args.length; index++) {
    const more = args.length - 1 - index;
    const option = args[index]!;
    if (xadd && option.length === 1 && option[0] === 0x2a) break;
    if ((argIs(option, 'maxlen') || argIs(option, 'minid')) && more > 0) {
      if (strategy !== 'none') return error('ERR syntax error, MAXLEN and MINID options at the same time are not compatible');
      const isMaxlen = argIs(option, 'maxlen');
      approx = false;
      const next = args[index + 1]!;
      if (more >= 2 && next.length === 1 && (next[0] === 0x7e || next[0] === 0x3d)) {
        approx = next[0] === 0x7e;
        index++;
      }
      if (isMaxlen) {
        const value = parseInteger64(args[index + 1]!);
        if (value === undefined) return error(NOT_INTEGER_ERROR);
        if (value < 0n) return error('ERR The MAXLEN argument must be >= 0.');
        maxlen = value;
        strategy = 'maxlen';
      } else {
        const parsed = parseId(args[index + 1]!, 0n, true);
        if (parsed === undefined) return error(INVALID_ID_ERROR);
        minid = parsed.id;
        strategy = 'minid';
      }
      index++;
    } else if (argIs(option, 'limit') && more > 0) {
      const value = parseInteger64(args[index + 1]!);
      if (value === undefined) return error(NOT_INTEGER_ERROR);
      if (value < 0n) return error('ERR The LIMIT argument must be >= 0.');
      limit = value;
      limitGiven = true;
      index++;
    } else if (xadd && argIs(option, 'nomkstream')) {
      noMakeStream = true;
    } else if (xadd) {
      const parsed = parseId(option, 0n, true, true);
      if (parsed === undefined) return error(INVALID_ID_ERROR);
      id = parsed.id;
      seqGiven = parsed.seqGiven;
      break;
    } else {
      return error(SYNTAX_ERROR);
    }
  }
  if (limit !== 0n && strategy === 'none') return error('ERR syntax error, LIMIT cannot be used without specifying a trimming strategy');
  if (!xadd && strategy === 'none') return error('ERR syntax error, XTRIM must be called with a trimming strategy');
  if (limitGiven) {
    if (!approx) return error('ERR syntax error, LIMIT cannot be used without the special ~ option');
  } else {
    const nodes = APPROX_TRIM_NODES * nodeEntries;
    limit = approx ? BigInt(nodes <= 0 ? 10_000 : Math.min(nodes, 1_000_000)) : 0n;
  }
  return { index, trim: { strategy, maxlen, minid, approx, limit, nodeEntries }, noMakeStream, id, seqGiven };
}

/** The id XADD gives a new entry, or the error text. */
function nextId(lastId: StreamId, nowMs: number, given: StreamId | undefined, seqGiven: boolean): StreamId | string {
  const tooSmall = 'ERR The ID specified in XADD is equal or smaller than the target stream top item';
  let id: StreamId;
  if (given === undefined) {
    const ms = BigInt(nowMs);
    id = ms > lastId.ms ? { ms, seq: 0n } : incrementId(lastId)!;
  } else if (!seqGiven) {
    if (given.ms === lastId.ms) {
      if (lastId.seq === U64_MAX) return tooSmall;
      id = { ms: lastId.ms, seq: lastId.seq + 1n };
    } else {
      id = given;
    }
  } else {
    id = given;
  }
  return compareIds(id, lastId) <= 0 ? tooSmall : id;
}

function xaddCommand(session: Session, args: Buffer[]): void {
  const key = args[1]!;
  const parsed = parseAddOrTrim(session, args, true);
  if (parsed === undefined) return;
  const fieldsAt = parsed.index + 1;
  const pairCount = args.length - fieldsAt;
  if (pairCount < 2 || pairCount % 2 === 1) return void appendError(session.out, "ERR wrong number of arguments for 'xadd' command");
  if (parsed.id !== undefined && parsed.seqGiven && parsed.id.ms === 0n && parsed.id.seq === 0n) return void appendError(session.out, 'ERR The ID specified in XADD must be greater than 0-0');
  if (!checkKeyLength(session, key)) return;
  const engine = session.engine;
  const state = streamForCommand(session, key);
  if (state === null) return;
  if (state === undefined && parsed.noMakeStream) return void appendNullArray(session.out, session.protocol);
  const lastId = state?.lastId ?? ZERO_ID;
  if (lastId.ms === U64_MAX && lastId.seq === U64_MAX) return void appendError(session.out, 'ERR The stream has exhausted the last possible ID, unable to add more items');
  const id = nextId(lastId, engine.nowMs(), parsed.id, parsed.seqGiven);
  if (typeof id === 'string') return void appendError(session.out, id);
  const writes = state === undefined ? creationWrites(engine, key) : [];
  const meta = state?.meta;
  const ordinal = (meta?.entriesAdded ?? 0n) + 1n;
  const trim = parsed.trim.strategy === 'none' ? { writes: [], deleted: 0, addedTrimmed: false } : trimWrites(engine, key, (state?.length ?? 0) + 1, parsed.trim, { id, ordinal });
  if (!trim.addedTrimmed) writes.push({ key: entryRow(key, id), value: encodeEntry(args.slice(fieldsAt), ordinal), expiresAtMs: 0 });
  writes.push(...trim.writes);
  writes.push(metaWrite(key, { ops: StreamOp.Add | (trim.deleted > 0 ? StreamOp.Trim : 0), lastId: id, entriesAdded: ordinal, maxDeletedId: meta?.maxDeletedId ?? ZERO_ID }));
  writes.push(streamHeaderWrite(key, state?.header));
  const start = session.out.length;
  appendBulkText(session.out, idText(id));
  session.deferWrite(engine.write(writes), start);
}

function xlenCommand(session: CommandContext, args: Buffer[]): void {
  const state = streamForCommand(session, args[1]!);
  if (state === null) return;
  appendInteger(session.out, state?.length ?? 0);
}

/** XRANGE key start end [COUNT n] / XREVRANGE key end start [COUNT n]. */
function rangeVariant(reverse: boolean) {
  return (session: CommandContext, args: Buffer[]): void => {
    const startArg = reverse ? args[3]! : args[2]!;
    const endArg = reverse ? args[2]! : args[3]!;
    const startBound = parseIntervalId(startArg, 0n);
    if (startBound === undefined) return void appendError(session.out, INVALID_ID_ERROR);
    const start = startBound.exclusive ? incrementId(startBound.id) : startBound.id;
    if (start === undefined) return void appendError(session.out, 'ERR invalid start ID for the interval');
    const endBound = parseIntervalId(endArg, U64_MAX);
    if (endBound === undefined) return void appendError(session.out, INVALID_ID_ERROR);
    const end = endBound.exclusive ? decrementId(endBound.id) : endBound.id;
    if (end === undefined) return void appendError(session.out, 'ERR invalid end ID for the interval');
    let count = -1n;
    for (let index = 4; index < args.length; index++) {
      if (argIs(args[index]!, 'count') && index + 1 < args.length) {
        const value = parseInteger64(args[++index]!);
        if (value === undefined) return void appendError(session.out, NOT_INTEGER_ERROR);
        count = value < 0n ? 0n : value;
      } else {
        return void appendError(session.out, SYNTAX_ERROR);
      }
    }
    const state = streamForCommand(session, args[1]!);
    if (state === null) return;
    if (state === undefined) return void appendArrayHeader(session.out, 0);
    if (count === 0n) return void appendNullArray(session.out, session.protocol);
    const limit = count === -1n ? 0 : Number(count);
    appendEntries(session.out, reverse ? entriesInRangeReversed(session.engine, args[1]!, start, end, limit, state.lastId) : entriesInRange(session.engine, args[1]!, start, end, limit));
  };
}

function xdelCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  const state = streamForCommand(session, key);
  if (state === null) return;
  if (state === undefined) return void appendInteger(session.out, 0);
  const ids: StreamId[] = [];
  for (const arg of args.slice(2)) {
    const parsed = parseId(arg, 0n, true);
    if (parsed === undefined) return void appendError(session.out, INVALID_ID_ERROR);
    ids.push(parsed.id);
  }
  const engine = session.engine;
  const writes: ClientWrite[] = [];
  const seen = new Set<string>();
  let maxDeletedId = state.meta.maxDeletedId;
  for (const id of ids) {
    const text = idText(id);
    if (seen.has(text)) continue;
    seen.add(text);
    const row = engine.get(entryRow(key, id));
    if (row === undefined || row.value === null) continue;
    writes.push(tombstone(entryRow(key, id)));
    if (compareIds(id, maxDeletedId) > 0) maxDeletedId = id;
  }
  const start = session.out.length;
  appendInteger(session.out, writes.length);
  if (writes.length === 0) return;
  writes.push(metaWrite(key, { ...state.meta, lastId: state.lastId, ops: StreamOp.Delete, maxDeletedId }), streamHeaderWrite(key, state.header));
  session.deferWrite(engine.write(writes), start);
}

function xtrimCommand(session: Session, args: Buffer[]): void {
  const key = args[1]!;
  const parsed = parseAddOrTrim(session, args, false);
  if (parsed === undefined) return;
  if (parsed.index < args.length) return void appendError(session.out, SYNTAX_ERROR);
  const state = streamForCommand(session, key);
  if (state === null) return;
  if (state === undefined) return void appendInteger(session.out, 0);
  const trim = trimWrites(session.engine, key, state.length, parsed.trim);
  const start = session.out.length;
  appendInteger(session.out, trim.deleted);
  if (trim.deleted === 0) return;
  const writes = [...trim.writes, metaWrite(key, { ...state.meta, lastId: state.lastId, ops: StreamOp.Trim }), streamHeaderWrite(key, state.header)];
  session.deferWrite(session.engine.write(writes), start);
}

function xsetidCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  const parsed = parseId(args[2]!, 0n, true);
  if (parsed === undefined) return void appendError(session.out, INVALID_ID_ERROR);
  const id = parsed.id;
  let entriesAdded = -1n;
  let maxDeletedId: StreamId = ZERO_ID;
  for (let index = 3; index < args.length; index += 2) {
    const option = args[index]!;
    const more = index + 1 < args.length;
    if (argIs(option, 'entriesadded') && more) {
      const value = parseInteger64(args[index + 1]!);
      if (value === undefined) return void appendError(session.out, NOT_INTEGER_ERROR);
      if (value < 0n) return void appendError(session.out, 'ERR entries_added must be positive');
      entriesAdded = value;
    } else if (argIs(option, 'maxdeletedid') && more) {
      const deleted = parseId(args[index + 1]!, 0n, true);
      if (deleted === undefined) return void appendError(session.out, INVALID_ID_ERROR);
      if (compareIds(id, deleted.id) < 0) return void appendError(session.out, 'ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id');
      maxDeletedId = deleted.id;
    } else {
      return void appendError(session.out, SYNTAX_ERROR);
    }
  }
  const state = streamForCommand(session, key);
  if (state === null) return;
  if (state === undefined) return void appendError(session.out, 'ERR no such key');
  if (state.length > 0) {
    const top = lastEntryId(session.engine, key, state);
    if (top !== undefined && compareIds(id, top) < 0) return void appendError(session.out, 'ERR The ID specified in XSETID is smaller than the target stream top item');
    if (entriesAdded !== -1n && BigInt(state.length) > entriesAdded) return void appendError(session.out, 'ERR The entries_added specified in XSETID is smaller than the target stream length');
  }
  const meta = {
    ops: StreamOp.SetId,
    lastId: id,
    entriesAdded: entriesAdded === -1n ? state.meta.entriesAdded : entriesAdded,
    maxDeletedId: maxDeletedId.ms === 0n && maxDeletedId.seq === 0n ? state.meta.maxDeletedId : maxDeletedId,
  };
  const start = session.out.length;
  appendOk(session.out);
  session.deferWrite(session.engine.write([metaWrite(key, meta), streamHeaderWrite(key, state.header)]), start);
}

/** The id of the last live entry (streamLastValidID). */
export function lastEntryId(engine: Engine, key: Uint8Array, state: StreamState): StreamId | undefined {
  return state.length === 0 ? undefined : entriesInRangeReversed(engine, key, ZERO_ID, MAX_ID, 1, state.lastId)[0]?.id;
}

// ---- XREAD ----

/** XREAD/XREADGROUP's shared argument parsing. */
export interface ReadArgs {
  readonly blockMs: number | undefined;
  readonly count: number;
  readonly keys: Buffer[];
  readonly ids: Buffer[];
  readonly group: Buffer | undefined;
  readonly consumer: Buffer | undefined;
  readonly noAck: boolean;
}

export function parseReadArgs(session: CommandContext, args: Buffer[], grouped: boolean): ReadArgs | undefined {
  let blockMs: number | undefined;
  let count = 0;
  let group: Buffer | undefined;
  let consumer: Buffer | undefined;
  let noAck = false;
  const error = (text: string): undefined => void appendError(session.out, text);
  for (let index = 1; index < args.length; index++) {
    const more = args.length - index - 1;
    const option = args[index]!;
    if (argIs(option, 'block') && more > 0) {
      const value = parseInteger64(args[++index]!);
      if (value === undefined) return error('ERR timeout is not an integer or out of range');
      if (value < 0n) return error('ERR timeout is negative');
      blockMs = Number(value);
    } else if (argIs(option, 'count') && more > 0) {
      const value = parseInteger64(args[++index]!);
      if (value === undefined) return error(NOT_INTEGER_ERROR);
      count = value < 0n ? 0 : Number(value);
    } else if (argIs(option, 'streams') && more > 0) {
      const rest = args.slice(index + 1);
      if (rest.length % 2 !== 0) return error("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
      if (grouped && group === undefined) return error('ERR Missing GROUP option for XREADGROUP');
      return { blockMs, count, keys: rest.slice(0, rest.length / 2), ids: rest.slice(rest.length / 2), group, consumer, noAck };
    } else if (argIs(option, 'group') && more >= 2) {
      if (!grouped) return error('ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.');
      group = args[index + 1]!;
      consumer = args[index + 2]!;
      index += 2;
    } else if (argIs(option, 'noack')) {
      if (!grouped) return error('ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.');
      noAck = true;
    } else {
      return error(SYNTAX_ERROR);
    }
  }
  return error(SYNTAX_ERROR);
}

/** The outer reply of XREAD/XREADGROUP: an array of [key, entries] (RESP2) or a map (RESP3). */
export function appendStreamsHeader(out: RespOutput, count: number, version: RespVersion): void {
  if (version === 3) appendMapHeader(out, count, version);
  else appendArrayHeader(out, count);
}

export function appendKeyEntries(out: RespOutput, key: Uint8Array, entries: readonly StreamEntry[], version: RespVersion): void {
  if (version === 2) appendArrayHeader(out, 2);
  appendBulk(out, key);
  appendEntries(out, entries);
}

/** One XREAD attempt: the streams with entries after their ids; false when none has any. */
function xreadAttempt(engine: Engine, out: RespOutput, version: RespVersion, keys: readonly Buffer[], after: readonly StreamId[], count: number): boolean | typeof WRONG_TYPE {
  const served: { key: Buffer; entries: StreamEntry[] }[] = [];
  for (let index = 0; index < keys.length; index++) {
    const state = readStream(engine, keys[index]!);
    if (state === WRONG_TYPE) return WRONG_TYPE;
    if (state === undefined || state.length === 0) continue;
    const start = incrementId(after[index]!);
    if (start === undefined) continue;
    const entries = entriesInRange(engine, keys[index]!, start, MAX_ID, count);
    if (entries.length > 0) served.push({ key: keys[index]!, entries });
  }
  if (served.length === 0) return false;
  appendStreamsHeader(out, served.length, version);
  for (const { key, entries } of served) appendKeyEntries(out, key, entries, version);
  return true;
}

/** Default COUNT of a blocked XREAD served later, as Redis (XREAD_BLOCKED_DEFAULT_COUNT). */
export const BLOCKED_READ_COUNT = 1000;

function xreadCommand(session: Session, args: Buffer[]): void {
  const parsed = parseReadArgs(session, args, false);
  if (parsed === undefined) return;
  const engine = session.engine;
  const after: StreamId[] = [];
  for (let index = 0; index < parsed.keys.length; index++) {
    const state = readStream(engine, parsed.keys[index]!);
    if (state === WRONG_TYPE) return void appendError(session.out, WRONGTYPE_ERROR);
    const arg = parsed.ids[index]!;
    if (arg.length === 1 && arg[0] === 0x24) {
      after.push(state?.lastId ?? ZERO_ID);
      continue;
    }
    if (arg.length === 1 && arg[0] === 0x3e) return void appendError(session.out, 'ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.');
    const id = parseId(arg, 0n, true);
    if (id === undefined) return void appendError(session.out, INVALID_ID_ERROR);
    after.push(id.id);
  }
  const served = xreadAttempt(engine, session.out, session.protocol, parsed.keys, after, parsed.count);
  if (served === WRONG_TYPE) return void appendError(session.out, WRONGTYPE_ERROR);
  if (served) return;
  if (parsed.blockMs === undefined || session.engine !== session.server.engine) return void appendNullArray(session.out, session.protocol);
  const count = parsed.count === 0 ? BLOCKED_READ_COUNT : parsed.count;
  waitForEntries(session, parsed.keys, parsed.blockMs, (current, out, version) => xreadAttempt(current, out, version, parsed.keys, after, count));
}

const { Write, ReadOnly, Fast } = CommandFlag;

export const STREAM_COMMANDS: readonly CommandSpec[] = [
  command('xadd', -5, Write | Fast, ONE_KEY, 'stream', 'Append an entry to a stream (NOMKSTREAM, MAXLEN/MINID trimming)', xaddCommand),
  command('xlen', 2, ReadOnly | Fast, ONE_KEY, 'stream', 'Number of entries in a stream', xlenCommand),
  command('xrange', -4, ReadOnly, ONE_KEY, 'stream', 'Entries in an id range', rangeVariant(false)),
  command('xrevrange', -4, ReadOnly, ONE_KEY, 'stream', 'Entries in an id range, newest first', rangeVariant(true)),
  command('xdel', -3, Write | Fast, ONE_KEY, 'stream', 'Delete entries by id', xdelCommand),
  command('xtrim', -4, Write, ONE_KEY, 'stream', 'Trim a stream by MAXLEN or MINID', xtrimCommand),
  command('xsetid', -3, Write, ONE_KEY, 'stream', "Set a stream's last id", xsetidCommand),
  command('xread', -4, ReadOnly, [0, 0, 0], 'stream', 'Read entries after ids from streams, optionally waiting (BLOCK)', xreadCommand),
];

// Stream consumer groups (Redis 7.0 replies and errors): XGROUP CREATE/SETID/DESTROY/
// CREATECONSUMER/DELCONSUMER/HELP, XREADGROUP (BLOCK: stream-blocking.ts), XACK, XPENDING,
// XCLAIM, XAUTOCLAIM. Group state is rows like the rest of the stream (stream-rows.ts) and
// replicates, but every decision is taken on the local view: two nodes serving `>` at once
// may deliver the same entry to two consumers (at-least-once across nodes), and an XACK on
// one node and a redelivery on another resolve by last writer per pending row.
import { Buffer } from 'node:buffer';
import { equalBytes } from '../core/bytes.js';
import { parseInteger64 } from '../core/counters.js';
import type { ClientWrite } from '../core/io.js';
import { appendArrayHeader, appendBulk, appendBulkText, appendError, appendInteger, appendNull, appendNullArray, appendOk, appendSimple, type RespOutput, type RespVersion } from '../wire/resp.js';
import { argIs, argLower, checkKeyLength, CommandFlag, command, NOT_INTEGER_ERROR, ONE_KEY, SYNTAX_ERROR } from './common.js';
import type { Engine } from './engine.js';
import type { CommandContext } from './context.js';
import type { Session } from './session.js';
import { waitForEntries } from './stream-blocking.js';
import { compareIds, decodeId, decrementId, idText, incrementId, INVALID_ID_ERROR, MAX_ID, parseId, parseIntervalId, U64_MAX, ZERO_ID, type StreamId } from './stream-ids.js';
import {
  consumerRow,
  consumersPrefix,
  creationWrites,
  cursorRow,
  decodePending,
  decodeSeen,
  encodePending,
  encodePosition,
  encodeSeen,
  entriesInRange,
  entryAt,
  groupPosition,
  groupRow,
  metaWrite,
  partPrefix,
  pendingPrefix,
  pendingRow,
  readStream,
  StreamPart,
  streamHeaderWrite,
  tombstone,
  visitRows,
  EMPTY_META,
  type GroupPosition,
  type Pending,
  type StreamEntry,
  type StreamState,
} from './stream-rows.js';
import { appendEntry, appendStreamsHeader, BLOCKED_READ_COUNT, parseReadArgs } from './streams.js';
import type { CommandSpec } from './table.js';
import { WRONG_TYPE, WRONGTYPE_ERROR } from './typed-keys.js';

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString();

/** SCG_INVALID_ENTRIES_READ. */
const UNKNOWN_READS = -1n;

export function subcommandError(command: string, sub: Uint8Array): string {
  return `ERR unknown subcommand or wrong number of arguments for '${Buffer.from(sub).toString('utf8', 0, 128)}'. Try ${command.toUpperCase()} HELP.`;
}

// ---- Reading group state ----

export interface GroupInfo {
  readonly name: Uint8Array;
  readonly position: GroupPosition;
}

export function listGroups(engine: Engine, key: Uint8Array): GroupInfo[] {
  const groups: GroupInfo[] = [];
  visitRows(engine, partPrefix(key, StreamPart.Group), undefined, (_row, element) => {
    const name = Uint8Array.from(element);
    const position = groupPosition(engine, key, name);
    if (position !== undefined) groups.push({ name, position });
  });
  return groups;
}

export interface ConsumerInfo {
  readonly name: Uint8Array;
  readonly seenMs: number;
}

export function listConsumers(engine: Engine, key: Uint8Array, group: Uint8Array): ConsumerInfo[] {
  const consumers: ConsumerInfo[] = [];
  visitRows(engine, consumersPrefix(key, group), undefined, (row, element) => void consumers.push({ name: Uint8Array.from(element), seenMs: decodeSeen(row.value!) }));
  return consumers;
}

/** The group's pending entries in id order from `start` (inclusive), optionally one consumer's. */
export function pendingEntries(engine: Engine, key: Uint8Array, group: Uint8Array, start: StreamId = ZERO_ID, visit?: (pending: Pending) => boolean | void): Pending[] {
  const all: Pending[] = [];
  const prefix = pendingPrefix(key, group);
  const own = pendingRow(key, group, start);
  const first = engine.get(own);
  const handle = (pending: Pending): boolean => {
    if (visit !== undefined) return visit(pending) !== false;
    all.push(pending);
    return true;
  };
  if (first !== undefined && first.value !== null && !handle(decodePending(start, first.value))) return all;
  visitRows(engine, prefix, compareIds(start, ZERO_ID) === 0 && first === undefined ? undefined : own, (row, element) => handle(decodePending(decodeId(element), row.value!)));
  return all;
}

/** The stream and group of a command, after replying the error; null when replied. */
function groupFor(session: CommandContext, key: Uint8Array, group: Uint8Array, missing: () => string): { state: StreamState; position: GroupPosition } | null {
  const state = readStream(session.engine, key);
  if (state === WRONG_TYPE) {
    appendError(session.out, WRONGTYPE_ERROR);
    return null;
  }
  const position = state === undefined ? undefined : groupPosition(session.engine, key, group);
  if (state === undefined || position === undefined) {
    appendError(session.out, missing());
    return null;
  }
  return { state, position };
}

const noGroupError = (key: Uint8Array, group: Uint8Array) => (): string => `NOGROUP No such key '${text(key)}' or consumer group '${text(group)}'`;

// ---- Lag and entries-read (Redis 7.0's estimates) ----

function firstEntryId(engine: Engine, key: Uint8Array): StreamId {
  let first = ZERO_ID;
  visitRows(engine, partPrefix(key, StreamPart.Entry), undefined, (_row, element) => {
    first = decodeId(element);
    return false;
  });
  return first;
}

interface StreamFacts {
  readonly length: number;
  readonly lastId: StreamId;
  readonly entriesAdded: bigint;
  readonly maxDeletedId: StreamId;
  readonly firstId: StreamId;
}

function factsOf(engine: Engine, key: Uint8Array, state: StreamState): StreamFacts {
  return { length: state.length, lastId: state.lastId, entriesAdded: state.meta.entriesAdded, maxDeletedId: state.meta.maxDeletedId, firstId: firstEntryId(engine, key) };
}

function isZero(id: StreamId): boolean {
  return id.ms === 0n && id.seq === 0n;
}

function rangeHasTombstones(facts: StreamFacts, start: StreamId): boolean {
  if (facts.length === 0 || isZero(facts.maxDeletedId)) return false;
  if (compareIds(facts.firstId, facts.maxDeletedId) > 0) return false;
  return compareIds(start, facts.maxDeletedId) <= 0;
}

function estimateReads(facts: StreamFacts, id: StreamId): bigint {
  if (facts.entriesAdded === 0n) return 0n;
  if (facts.length === 0 && compareIds(id, facts.lastId) < 1) return facts.entriesAdded;
  const last = compareIds(id, facts.lastId);
  if (last === 0) return facts.entriesAdded;
  if (last > 0) return UNKNOWN_READS;
  const first = compareIds(id, facts.firstId);
  if (isZero(facts.maxDeletedId) || compareIds(facts.maxDeletedId, facts.firstId) < 0) {
    if (first < 0) return facts.entriesAdded - BigInt(facts.length);
    if (first === 0) return facts.entriesAdded - BigInt(facts.length) + 1n;
  }
  return UNKNOWN_READS;
}

function lagOf(facts: StreamFacts, position: GroupPosition): bigint | undefined {
  if (facts.entriesAdded === 0n) return 0n;
  if (position.entriesRead !== UNKNOWN_READS && !rangeHasTombstones(facts, position.lastId)) return facts.entriesAdded - position.entriesRead;
  const reads = estimateReads(facts, position.lastId);
  return reads === UNKNOWN_READS ? undefined : facts.entriesAdded - reads;
}

function appendOptionalInteger(out: RespOutput, value: bigint | undefined, version: RespVersion): void {
  if (value === undefined) appendNull(out, version);
  else appendInteger(out, Number(value));
}

// ---- XGROUP ----

const XGROUP_HELP = [
  'XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CREATE <key> <groupname> <id|$> [option]',
  '    Create a new consumer group. Options are:',
  '    * MKSTREAM',
  '      Create the empty stream if it does not exist.',
  '    * ENTRIESREAD entries_read',
  "      Set the group's entries_read counter (internal use).",
  'CREATECONSUMER <key> <groupname> <consumer>',
  '    Create a new consumer in the specified group.',
  'DELCONSUMER <key> <groupname> <consumer>',
  '    Remove the specified consumer.',
  'DESTROY <key> <groupname>',
  '    Remove the specified group.',
  'SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]',
  '    Set the current group ID and entries_read counter.',
  'HELP',
  '    Print this help.',
];

function xgroupCommand(session: CommandContext, args: Buffer[]): void {
  const out = session.out;
  const sub = argLower(args[1]!);
  const engine = session.engine;
  if (sub === 'help') {
    if (args.length !== 2) return void appendError(out, "ERR wrong number of arguments for 'xgroup|help' command");
    appendArrayHeader(out, XGROUP_HELP.length);
    for (const line of XGROUP_HELP) appendSimple(out, line);
    return;
  }
  if (args.length < 4) return void appendError(out, subcommandError('xgroup', args[1]!));
  let makeStream = false;
  let entriesRead = UNKNOWN_READS;
  for (let index = 5; index < args.length; ) {
    if (sub === 'create' && argIs(args[index]!, 'mkstream')) {
      makeStream = true;
      index++;
    } else if ((sub === 'create' || sub === 'setid') && argIs(args[index]!, 'entriesread') && index + 1 < args.length) {
      const value = parseInteger64(args[index + 1]!);
      if (value === undefined) return void appendError(out, NOT_INTEGER_ERROR);
      if (value < 0n && value !== UNKNOWN_READS) return void appendError(out, 'ERR value for ENTRIESREAD must be positive or -1');
      entriesRead = value;
      index += 2;
    } else {
      return void appendError(out, subcommandError('xgroup', args[1]!));
    }
  }
  const key = args[2]!;
  const group = args[3]!;
  const state = readStream(engine, key);
  if (state === WRONG_TYPE) return void appendError(out, WRONGTYPE_ERROR);
  const position = state === undefined ? undefined : groupPosition(engine, key, group);
  if (!makeStream) {
    if (state === undefined) {
      return void appendError(out, 'ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.');
    }
    if (position === undefined && (sub === 'setid' || sub === 'createconsumer' || sub === 'delconsumer')) {
      return void appendError(out, `NOGROUP No such consumer group '${text(group)}' for key name '${text(key)}'`);
    }
  }
  const start = out.length;
  const commit = (writes: ClientWrite[]): void => {
    writes.push(streamHeaderWrite(key, state === undefined ? undefined : state.header));
    session.deferWrite(engine.write(writes), start);
  };
  if (sub === 'create' && args.length >= 5 && args.length <= 8) {
    if (!checkKeyLength(session, key)) return;
    let id: StreamId;
    if (args[4]!.length === 1 && args[4]![0] === 0x24) id = state?.lastId ?? ZERO_ID;
    else {
      const parsed = parseId(args[4]!, 0n, true);
      if (parsed === undefined) return void appendError(out, INVALID_ID_ERROR);
      id = parsed.id;
    }
    if (position !== undefined) return void appendError(out, 'BUSYGROUP Consumer Group name already exists');
    appendOk(out);
    const writes = state === undefined ? [...creationWrites(engine, key), metaWrite(key, EMPTY_META)] : [];
    writes.push({ key: groupRow(key, group), value: encodePosition({ lastId: id, entriesRead }), expiresAtMs: 0 });
    writes.push(tombstone(cursorRow(key, group)));
    return commit(writes);
  }
  if (state === undefined) return void appendError(out, subcommandError('xgroup', args[1]!));
  if (sub === 'setid' && (args.length === 5 || args.length === 7)) {
    let id: StreamId;
    if (args[4]!.length === 1 && args[4]![0] === 0x24) id = state.lastId;
    else {
      const parsed = parseId(args[4]!, 0n, false);
      if (parsed === undefined) return void appendError(out, INVALID_ID_ERROR);
      id = parsed.id;
    }
    appendOk(out);
    return commit([{ key: groupRow(key, group), value: encodePosition({ lastId: id, entriesRead }), expiresAtMs: 0 }]);
  }
  if (sub === 'destroy' && args.length === 4) {
    if (position === undefined) return void appendInteger(out, 0);
    appendInteger(out, 1);
    const writes = [tombstone(groupRow(key, group)), tombstone(cursorRow(key, group))];
    for (const consumer of listConsumers(engine, key, group)) writes.push(tombstone(consumerRow(key, group, consumer.name)));
    for (const pending of pendingEntries(engine, key, group)) writes.push(tombstone(pendingRow(key, group, pending.id)));
    return commit(writes);
  }
  if (sub === 'createconsumer' && args.length === 5) {
    const existing = engine.get(consumerRow(key, group, args[4]!));
    if (existing !== undefined && existing.value !== null) return void appendInteger(out, 0);
    appendInteger(out, 1);
    return commit([{ key: consumerRow(key, group, args[4]!), value: encodeSeen(engine.nowMs()), expiresAtMs: 0 }]);
  }
  if (sub === 'delconsumer' && args.length === 5) {
    const consumer = args[4]!;
    const existing = engine.get(consumerRow(key, group, consumer));
    if (existing === undefined || existing.value === null) return void appendInteger(out, 0);
    const writes = [tombstone(consumerRow(key, group, consumer))];
    for (const pending of pendingEntries(engine, key, group)) {
      if (equalBytes(pending.consumer, consumer)) writes.push(tombstone(pendingRow(key, group, pending.id)));
    }
    appendInteger(out, writes.length - 1);
    return commit(writes);
  }
  appendError(out, subcommandError('xgroup', args[1]!));
}

// ---- XREADGROUP ----

/** The rows that make `consumer` exist and seen now. */
function seenWrite(engine: Engine, key: Uint8Array, group: Uint8Array, consumer: Uint8Array): ClientWrite {
  return { key: consumerRow(key, group, consumer), value: encodeSeen(engine.nowMs()), expiresAtMs: 0 };
}

/** Deliver new entries (`>`) to consumer: the entries and rows (pending rows, group cursor). */
function deliverNew(engine: Engine, key: Uint8Array, group: Uint8Array, consumer: Uint8Array, state: StreamState, position: GroupPosition, count: number, noAck: boolean): { entries: StreamEntry[]; writes: ClientWrite[] } {
  const start = incrementId(position.lastId);
  const entries = start === undefined ? [] : entriesInRange(engine, key, start, MAX_ID, count);
  const writes: ClientWrite[] = [];
  if (entries.length === 0) return { entries, writes };
  const facts = factsOf(engine, key, state);
  let entriesRead = position.entriesRead;
  const now = engine.nowMs();
  for (const entry of entries) {
    if (entriesRead !== UNKNOWN_READS && !rangeHasTombstones(facts, entry.id)) entriesRead++;
    else if (facts.entriesAdded !== 0n) entriesRead = estimateReads(facts, entry.id);
    if (!noAck) writes.push({ key: pendingRow(key, group, entry.id), value: encodePending({ consumer, deliveredAtMs: now, deliveries: 1n }), expiresAtMs: 0 });
  }
  writes.push({ key: cursorRow(key, group), value: encodePosition({ lastId: entries[entries.length - 1]!.id, entriesRead }), expiresAtMs: 0 });
  return { entries, writes };
}

/** The consumer's own pending entries after `after` (history), redelivered: entries (null pairs when deleted) and rows. */
function deliverHistory(engine: Engine, key: Uint8Array, group: Uint8Array, consumer: Uint8Array, after: StreamId, count: number): { entries: (StreamEntry | { id: StreamId; pairs: null })[]; writes: ClientWrite[] } {
  const entries: (StreamEntry | { id: StreamId; pairs: null })[] = [];
  const writes: ClientWrite[] = [];
  const start = incrementId(after);
  if (start === undefined) return { entries, writes };
  const now = engine.nowMs();
  pendingEntries(engine, key, group, start, (pending) => {
    if (!equalBytes(pending.consumer, consumer)) return true;
    entries.push(entryAt(engine, key, pending.id) ?? { id: pending.id, pairs: null });
    writes.push({ key: pendingRow(key, group, pending.id), value: encodePending({ consumer, deliveredAtMs: now, deliveries: pending.deliveries + 1n }), expiresAtMs: 0 });
    return count === 0 || entries.length < count;
  });
  return { entries, writes };
}

function xreadgroupCommand(session: Session, args: Buffer[]): void {
  const parsed = parseReadArgs(session, args, true);
  if (parsed === undefined) return;
  const group = parsed.group!;
  const consumer = parsed.consumer!;
  const engine = session.engine;
  const after: (StreamId | '>')[] = [];
  for (let index = 0; index < parsed.keys.length; index++) {
    const key = parsed.keys[index]!;
    const state = readStream(engine, key);
    if (state === WRONG_TYPE) return void appendError(session.out, WRONGTYPE_ERROR);
    if (state === undefined || groupPosition(engine, key, group) === undefined) {
      return void appendError(session.out, `NOGROUP No such key '${text(key)}' or consumer group '${text(group)}' in XREADGROUP with GROUP option`);
    }
    const arg = parsed.ids[index]!;
    if (arg.length === 1 && arg[0] === 0x24) {
      return void appendError(session.out, 'ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.');
    }
    if (arg.length === 1 && arg[0] === 0x3e) {
      after.push('>');
      continue;
    }
    const id = parseId(arg, 0n, true);
    if (id === undefined) return void appendError(session.out, INVALID_ID_ERROR);
    after.push(id.id);
  }
  const attempt = (current: Engine, out: RespOutput, version: RespVersion, count: number): ClientWrite[] | false => {
    const served: { key: Buffer; entries: (StreamEntry | { id: StreamId; pairs: null })[] }[] = [];
    const writes: ClientWrite[] = [];
    for (let index = 0; index < parsed.keys.length; index++) {
      const key = parsed.keys[index]!;
      const state = readStream(current, key);
      const position = state === undefined || state === WRONG_TYPE ? undefined : groupPosition(current, key, group);
      if (state === undefined || state === WRONG_TYPE || position === undefined) continue;
      const from = after[index]!;
      const delivery = from === '>' ? deliverNew(current, key, group, consumer, state, position, count, parsed.noAck) : deliverHistory(current, key, group, consumer, from, count);
      if (from === '>' && delivery.entries.length === 0) continue;
      served.push({ key, entries: delivery.entries });
      writes.push(...delivery.writes, seenWrite(current, key, group, consumer), streamHeaderWrite(key, state.header));
    }
    if (served.length === 0) return false;
    appendStreamsHeader(out, served.length, version);
    for (const { key, entries } of served) {
      if (version === 2) appendArrayHeader(out, 2);
      appendBulk(out, key);
      appendArrayHeader(out, entries.length);
      for (const entry of entries) {
        if (entry.pairs === null) {
          appendArrayHeader(out, 2);
          appendBulkText(out, idText(entry.id));
          appendNullArray(out, version);
        } else {
          appendEntry(out, entry);
        }
      }
    }
    return writes;
  };
  const start = session.out.length;
  const writes = attempt(engine, session.out, session.protocol, parsed.count);
  if (writes !== false) return void session.deferWrite(engine.write(writes), start);
  if (parsed.blockMs === undefined || session.engine !== session.server.engine) return void appendNullArray(session.out, session.protocol);
  const count = parsed.count === 0 ? BLOCKED_READ_COUNT : parsed.count;
  waitForEntries(session, parsed.keys, parsed.blockMs, (current, out, version) => attempt(current, out, version, count));
}

// ---- XACK, XPENDING ----

function xackCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  const group = args[2]!;
  const ids: StreamId[] = [];
  for (const arg of args.slice(3)) {
    const parsed = parseId(arg, 0n, true);
    if (parsed === undefined) return void appendError(session.out, INVALID_ID_ERROR);
    ids.push(parsed.id);
  }
  const engine = session.engine;
  const state = readStream(engine, key);
  if (state === WRONG_TYPE) return void appendError(session.out, WRONGTYPE_ERROR);
  if (state === undefined || groupPosition(engine, key, group) === undefined) return void appendInteger(session.out, 0);
  const writes: ClientWrite[] = [];
  const seen = new Set<string>();
  for (const id of ids) {
    const row = pendingRow(key, group, id);
    const stored = engine.get(row);
    if (stored === undefined || stored.value === null || seen.has(idText(id))) continue;
    seen.add(idText(id));
    writes.push(tombstone(row));
  }
  const start = session.out.length;
  appendInteger(session.out, writes.length);
  if (writes.length === 0) return;
  writes.push(streamHeaderWrite(key, state.header));
  session.deferWrite(engine.write(writes), start);
}

function xpendingCommand(session: CommandContext, args: Buffer[]): void {
  const out = session.out;
  const key = args[1]!;
  const group = args[2]!;
  if (args.length !== 3 && (args.length < 6 || args.length > 9)) return void appendError(out, SYNTAX_ERROR);
  let start = ZERO_ID;
  let end = MAX_ID;
  let count = 0n;
  let minIdle = 0n;
  let consumer: Uint8Array | undefined;
  if (args.length >= 6) {
    let at = 3;
    if (argIs(args[3]!, 'idle')) {
      const idle = parseInteger64(args[4]!);
      if (idle === undefined) return void appendError(out, NOT_INTEGER_ERROR);
      if (args.length < 8) return void appendError(out, SYNTAX_ERROR);
      minIdle = idle;
      at += 2;
    }
    const parsedCount = parseInteger64(args[at + 2]!);
    if (parsedCount === undefined) return void appendError(out, NOT_INTEGER_ERROR);
    count = parsedCount < 0n ? 0n : parsedCount;
    const startBound = parseIntervalId(args[at]!, 0n);
    if (startBound === undefined) return void appendError(out, INVALID_ID_ERROR);
    const first = startBound.exclusive ? incrementId(startBound.id) : startBound.id;
    if (first === undefined) return void appendError(out, 'ERR invalid start ID for the interval');
    const endBound = parseIntervalId(args[at + 1]!, U64_MAX);
    if (endBound === undefined) return void appendError(out, INVALID_ID_ERROR);
    const last = endBound.exclusive ? decrementId(endBound.id) : endBound.id;
    if (last === undefined) return void appendError(out, 'ERR invalid end ID for the interval');
    start = first;
    end = last;
    if (at + 3 < args.length) consumer = args[at + 3]!;
  }
  if (groupFor(session, key, group, noGroupError(key, group)) === null) return;
  const engine = session.engine;
  if (args.length === 3) {
    const pending = pendingEntries(engine, key, group);
    appendArrayHeader(out, 4);
    appendInteger(out, pending.length);
    if (pending.length === 0) {
      appendNull(out, session.protocol);
      appendNull(out, session.protocol);
      appendNullArray(out, session.protocol);
      return;
    }
    appendBulkText(out, idText(pending[0]!.id));
    appendBulkText(out, idText(pending[pending.length - 1]!.id));
    const perConsumer = new Map<string, number>();
    for (const entry of pending) {
      const name = Buffer.from(entry.consumer).toString('latin1');
      perConsumer.set(name, (perConsumer.get(name) ?? 0) + 1);
    }
    const names = [...perConsumer.keys()].sort((a, b) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1')));
    appendArrayHeader(out, names.length);
    for (const name of names) {
      appendArrayHeader(out, 2);
      appendBulk(out, Buffer.from(name, 'latin1'));
      appendBulkText(out, String(perConsumer.get(name)!));
    }
    return;
  }
  if (consumer !== undefined) {
    const exists = engine.get(consumerRow(key, group, consumer));
    if (exists === undefined || exists.value === null) return void appendArrayHeader(out, 0);
  }
  const now = engine.nowMs();
  const rows: Pending[] = [];
  let remaining = count;
  if (remaining > 0n) {
    pendingEntries(engine, key, group, start, (pending) => {
      if (compareIds(pending.id, end) > 0) return false;
      if (consumer !== undefined && !equalBytes(pending.consumer, consumer)) return true;
      if (minIdle !== 0n && BigInt(now - pending.deliveredAtMs) < minIdle) return true;
      rows.push(pending);
      remaining--;
      return remaining > 0n;
    });
  }
  appendArrayHeader(out, rows.length);
  for (const pending of rows) {
    appendArrayHeader(out, 4);
    appendBulkText(out, idText(pending.id));
    appendBulk(out, pending.consumer);
    appendInteger(out, Math.max(0, now - pending.deliveredAtMs));
    appendInteger(out, Number(pending.deliveries));
  }
}

// ---- XCLAIM, XAUTOCLAIM ----

function optionInteger(session: CommandContext, arg: Uint8Array, error: string): bigint | undefined {
  const value = parseInteger64(arg);
  if (value === undefined) appendError(session.out, `ERR ${error}`);
  return value;
}

function xclaimCommand(session: CommandContext, args: Buffer[]): void {
  const out = session.out;
  const key = args[1]!;
  const group = args[2]!;
  const consumer = args[3]!;
  const found = groupFor(session, key, group, noGroupError(key, group));
  if (found === null) return;
  const engine = session.engine;
  let minIdle = optionInteger(session, args[4]!, 'Invalid min-idle-time argument for XCLAIM');
  if (minIdle === undefined) return;
  if (minIdle < 0n) minIdle = 0n;
  const ids: StreamId[] = [];
  let index = 5;
  for (; index < args.length; index++) {
    const parsed = parseId(args[index]!, 0n, true);
    if (parsed === undefined) break;
    ids.push(parsed.id);
  }
  const now = engine.nowMs();
  let force = false;
  let justId = false;
  let deliveredAt = -1;
  let retryCount = -1n;
  let lastId = ZERO_ID;
  for (; index < args.length; index++) {
    const option = args[index]!;
    const more = index + 1 < args.length;
    if (argIs(option, 'force')) force = true;
    else if (argIs(option, 'justid')) justId = true;
    else if (argIs(option, 'idle') && more) {
      const idle = optionInteger(session, args[++index]!, 'Invalid IDLE option argument for XCLAIM');
      if (idle === undefined) return;
      deliveredAt = now - Number(idle);
    } else if (argIs(option, 'time') && more) {
      const time = optionInteger(session, args[++index]!, 'Invalid TIME option argument for XCLAIM');
      if (time === undefined) return;
      deliveredAt = Number(time);
    } else if (argIs(option, 'retrycount') && more) {
      const retries = optionInteger(session, args[++index]!, 'Invalid RETRYCOUNT option argument for XCLAIM');
      if (retries === undefined) return;
      retryCount = retries;
    } else if (argIs(option, 'lastid') && more) {
      const parsed = parseId(args[++index]!, 0n, true);
      if (parsed === undefined) return void appendError(out, INVALID_ID_ERROR);
      lastId = parsed.id;
    } else {
      return void appendError(out, `ERR Unrecognized XCLAIM option '${text(option)}'`);
    }
  }
  const writes: ClientWrite[] = [];
  if (compareIds(lastId, found.position.lastId) > 0) {
    writes.push({ key: cursorRow(key, group), value: encodePosition({ lastId, entriesRead: found.position.entriesRead }), expiresAtMs: 0 });
  }
  if (deliveredAt === -1 || deliveredAt < 0 || deliveredAt > now) deliveredAt = now;
  const claimed: StreamEntry[] = [];
  let consumerSeen = false;
  for (const id of ids) {
    const row = pendingRow(key, group, id);
    const stored = engine.get(row);
    const pending = stored === undefined || stored.value === null ? undefined : decodePending(id, stored.value);
    const entry = entryAt(engine, key, id);
    if (entry === undefined) {
      if (pending !== undefined) writes.push(tombstone(row));
      continue;
    }
    if (pending === undefined && !force) continue;
    if (pending !== undefined && minIdle !== 0n && BigInt(now - pending.deliveredAtMs) < minIdle) continue;
    consumerSeen = true;
    const deliveries = retryCount >= 0n ? retryCount : (pending?.deliveries ?? 0n) + (justId ? 0n : 1n);
    writes.push({ key: row, value: encodePending({ consumer, deliveredAtMs: deliveredAt, deliveries }), expiresAtMs: 0 });
    claimed.push(entry);
  }
  if (consumerSeen) writes.push(seenWrite(engine, key, group, consumer));
  const start = out.length;
  appendArrayHeader(out, claimed.length);
  for (const entry of claimed) {
    if (justId) appendBulkText(out, idText(entry.id));
    else appendEntry(out, entry);
  }
  if (writes.length === 0) return;
  writes.push(streamHeaderWrite(key, found.state.header));
  session.deferWrite(engine.write(writes), start);
}

/** Most ids XAUTOCLAIM COUNT may ask for (Redis: LONG_MAX / attempts factor). */
const AUTOCLAIM_COUNT_MAX = Number.MAX_SAFE_INTEGER / 16;
const AUTOCLAIM_ATTEMPTS_FACTOR = 10;

function xautoclaimCommand(session: CommandContext, args: Buffer[]): void {
  const out = session.out;
  const key = args[1]!;
  const group = args[2]!;
  const consumer = args[3]!;
  let minIdle = optionInteger(session, args[4]!, 'Invalid min-idle-time argument for XAUTOCLAIM');
  if (minIdle === undefined) return;
  if (minIdle < 0n) minIdle = 0n;
  const startBound = parseIntervalId(args[5]!, 0n);
  if (startBound === undefined) return void appendError(out, INVALID_ID_ERROR);
  const start = startBound.exclusive ? incrementId(startBound.id) : startBound.id;
  if (start === undefined) return void appendError(out, 'ERR invalid start ID for the interval');
  let count = 100;
  let justId = false;
  for (let index = 6; index < args.length; index++) {
    if (argIs(args[index]!, 'count') && index + 1 < args.length) {
      const value = parseInteger64(args[++index]!);
      if (value === undefined || value < 1n || value > BigInt(AUTOCLAIM_COUNT_MAX)) return void appendError(out, 'ERR COUNT must be > 0');
      count = Number(value);
    } else if (argIs(args[index]!, 'justid')) {
      justId = true;
    } else {
      return void appendError(out, SYNTAX_ERROR);
    }
  }
  const found = groupFor(session, key, group, noGroupError(key, group));
  if (found === null) return;
  const engine = session.engine;
  const now = engine.nowMs();
  let attempts = count * AUTOCLAIM_ATTEMPTS_FACTOR;
  const writes: ClientWrite[] = [];
  const claimed: StreamEntry[] = [];
  const deleted: StreamId[] = [];
  let next = ZERO_ID;
  let remaining = count;
  pendingEntries(engine, key, group, start, (pending) => {
    if (attempts === 0 || remaining === 0) {
      next = pending.id;
      return false;
    }
    attempts--;
    const entry = entryAt(engine, key, pending.id);
    if (entry === undefined) {
      writes.push(tombstone(pendingRow(key, group, pending.id)));
      deleted.push(pending.id);
      remaining--;
      return true;
    }
    if (minIdle !== 0n && BigInt(now - pending.deliveredAtMs) < minIdle) return true;
    writes.push({ key: pendingRow(key, group, pending.id), value: encodePending({ consumer, deliveredAtMs: now, deliveries: pending.deliveries + (justId ? 0n : 1n) }), expiresAtMs: 0 });
    claimed.push(entry);
    remaining--;
    return true;
  });
  if (claimed.length > 0) writes.push(seenWrite(engine, key, group, consumer));
  const begin = out.length;
  appendArrayHeader(out, 3);
  appendBulkText(out, idText(next));
  appendArrayHeader(out, claimed.length);
  for (const entry of claimed) {
    if (justId) appendBulkText(out, idText(entry.id));
    else appendEntry(out, entry);
  }
  appendArrayHeader(out, deleted.length);
  for (const id of deleted) appendBulkText(out, idText(id));
  if (writes.length === 0) return;
  writes.push(streamHeaderWrite(key, found.state.header));
  session.deferWrite(engine.write(writes), begin);
}

export { lagOf, factsOf, appendOptionalInteger };

const { Write, ReadOnly, Fast } = CommandFlag;

export const STREAM_GROUP_COMMANDS: readonly CommandSpec[] = [
  command('xgroup', -2, Write, [2, 2, 1], 'stream', 'Consumer groups: CREATE SETID DESTROY CREATECONSUMER DELCONSUMER HELP', xgroupCommand),
  command('xreadgroup', -7, Write, [0, 0, 0], 'stream', 'Read entries as a consumer of a group, optionally waiting (BLOCK)', xreadgroupCommand),
  command('xack', -4, Write | Fast, ONE_KEY, 'stream', 'Acknowledge pending entries of a group', xackCommand),
  command('xpending', -3, ReadOnly, ONE_KEY, 'stream', "A group's pending entries: summary or range", xpendingCommand),
  command('xclaim', -6, Write | Fast, ONE_KEY, 'stream', 'Take over pending entries', xclaimCommand),
  command('xautoclaim', -6, Write | Fast, ONE_KEY, 'stream', 'Take over idle pending entries from a start id', xautoclaimCommand),
];

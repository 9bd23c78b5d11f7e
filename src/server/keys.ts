// Generic key commands: DEL UNLINK EXISTS TOUCH KEYS SCAN RANDOMKEY TYPE DBSIZE,
// FLUSHALL/FLUSHDB, TIME and WAIT.
import { Buffer } from 'node:buffer';
import { KEY_BUCKET_COUNT } from '../core/bytes.js';
import type { ClientWrite } from '../core/io.js';
import { parseInteger64 } from '../core/counters.js';
import { FLUSH_ROW_KEY } from '../core/rows.js';
import {
  RespOutput,
  appendArrayHeader,
  appendBulk,
  appendBulkText,
  appendError,
  appendInteger,
  appendNull,
  appendOk,
  appendSimple,
} from '../wire/resp.js';
import { ALL_KEYS, CommandFlag, NOT_INTEGER_ERROR, NO_KEYS, ONE_KEY, SYNTAX_ERROR, argIs, command, parseIntegerArg } from './common.js';
import { deleteWrite, liveHeader, typeName } from './typed-keys.js';
import { globMatch, isMatchAll } from './glob.js';
import type { CommandContext } from './context.js';
import type { Session } from './session.js';
import type { CommandSpec } from './table.js';

/** Keys the engine is asked for per scan step while KEYS walks the whole keyspace. */
const KEYS_SCAN_STEP_COUNT = 4096;
/** SCAN COUNT is capped so one call cannot stall the node. */
const SCAN_COUNT_MAX = 100_000;

function deleteCommand(session: CommandContext, args: Buffer[]): void {
  const engine = session.engine;
  const writes: ClientWrite[] = [];
  // DEL k k counts k once: remember which keys were already taken.
  const seen = args.length > 2 ? new Set<string>() : undefined;
  for (let index = 1; index < args.length; index++) {
    const key = args[index]!;
    if (liveHeader(engine, key) === undefined) continue;
    if (seen !== undefined) {
      const mapKey = key.toString('latin1');
      if (seen.has(mapKey)) continue;
      seen.add(mapKey);
    }
    writes.push(deleteWrite(key));
  }
  const start = session.out.length;
  appendInteger(session.out, writes.length);
  if (writes.length > 0) session.deferWrite(engine.write(writes), start);
}

function existsCommand(session: CommandContext, args: Buffer[]): void {
  const engine = session.engine;
  let count = 0;
  for (let index = 1; index < args.length; index++) if (liveHeader(engine, args[index]!) !== undefined) count++;
  appendInteger(session.out, count);
}

/** FLUSHALL / FLUSHDB [SYNC|ASYNC]: one cluster-wide clear (the flush row); both answer after the commit. */
function flushCommand(session: CommandContext, args: Buffer[]): void {
  if (args.length > 2 || (args.length === 2 && !argIs(args[1]!, 'sync') && !argIs(args[1]!, 'async'))) {
    return void appendError(session.out, SYNTAX_ERROR);
  }
  const start = session.out.length;
  appendOk(session.out);
  session.deferWrite(session.engine.write([{ key: FLUSH_ROW_KEY, value: null, expiresAtMs: 0 }]), start);
}

/** Keys the engine is asked for per step while RANDOMKEY looks for a live key. */
const RANDOMKEY_SCAN_STEP_COUNT = 64;

/**
 * RANDOMKEY: a live key from the first non-empty bucket at or after a random one
 * (wrapping once), chosen at random among that step's keys; null when there is none.
 */
function randomkeyCommand(session: CommandContext): void {
  const engine = session.engine;
  const startBucket = Math.floor(Math.random() * KEY_BUCKET_COUNT);
  let cursor = startBucket;
  let wrapped = false;
  for (;;) {
    const page = engine.scan(cursor, RANDOMKEY_SCAN_STEP_COUNT);
    if (page.keys.length > 0) return void appendBulk(session.out, page.keys[Math.floor(Math.random() * page.keys.length)]!);
    cursor = page.cursor;
    if (cursor === 0) {
      if (wrapped || startBucket === 0) break;
      wrapped = true;
    }
    if (wrapped && cursor >= startBucket) break;
  }
  appendNull(session.out, session.protocol);
}

function typeCommand(session: CommandContext, args: Buffer[]): void {
  const header = liveHeader(session.engine, args[1]!);
  appendSimple(session.out, header === undefined ? 'none' : typeName(header));
}

function dbsizeCommand(session: CommandContext): void {
  appendInteger(session.out, session.engine.keyCount());
}

/** TIME: the node's clock (the one expiry is judged by) as [seconds, microseconds]. */
function timeCommand(session: CommandContext): void {
  const nowMs = session.engine.nowMs();
  appendArrayHeader(session.out, 2);
  appendBulkText(session.out, String(Math.floor(nowMs / 1000)));
  appendBulkText(session.out, String((nowMs % 1000) * 1000));
}

function keysCommand(session: Session, args: Buffer[]): void {
  const pattern = args[1]!;
  const matchAll = isMatchAll(pattern);
  const found: Uint8Array[] = [];
  let cursor = 0;
  do {
    const page = session.engine.scan(cursor, KEYS_SCAN_STEP_COUNT);
    for (const key of page.keys) if (matchAll || globMatch(pattern, key)) found.push(key);
    cursor = page.cursor;
  } while (cursor !== 0);
  appendArrayHeader(session.out, found.length);
  for (const key of found) appendBulk(session.out, key);
}

/** Redis 7.0 reads the cursor as an unsigned 64-bit number; ours are buckets, so any larger one is past the end. */
const CURSOR_PATTERN = /^[0-9]{1,20}$/;

function parseCursor(arg: Buffer): number | undefined {
  const text = arg.toString('latin1');
  if (!CURSOR_PATTERN.test(text) || BigInt(text) > 0xffff_ffff_ffff_ffffn) return undefined;
  return Math.min(Number(text), KEY_BUCKET_COUNT);
}

function scanCommand(session: Session, args: Buffer[]): void {
  const cursor = parseCursor(args[1]!);
  if (cursor === undefined) return void appendError(session.out, 'ERR invalid cursor');
  let pattern: Buffer | undefined;
  let count = 10;
  let onlyType: string | undefined;
  for (let index = 2; index < args.length; index += 2) {
    const option = args[index]!;
    const value = args[index + 1];
    if (value === undefined) return void appendError(session.out, SYNTAX_ERROR);
    if (argIs(option, 'match')) {
      pattern = isMatchAll(value) ? undefined : value;
    } else if (argIs(option, 'count')) {
      const parsed = parseInteger64(value);
      if (parsed === undefined) return void appendError(session.out, NOT_INTEGER_ERROR);
      if (parsed < 1n) return void appendError(session.out, SYNTAX_ERROR);
      count = parsed > BigInt(SCAN_COUNT_MAX) ? SCAN_COUNT_MAX : Number(parsed);
    } else if (argIs(option, 'type')) {
      onlyType = value.toString('latin1').toLowerCase();
    } else {
      return void appendError(session.out, SYNTAX_ERROR);
    }
  }
  const page = session.engine.scan(cursor, count);
  const keys = page.keys.filter((key, index) => (pattern === undefined || globMatch(pattern, key)) && (onlyType === undefined || typeName(page.headers[index]!) === onlyType));
  appendArrayHeader(session.out, 2);
  appendBulkText(session.out, String(page.cursor));
  appendArrayHeader(session.out, keys.length);
  for (const key of keys) appendBulk(session.out, key);
}

function encodeInteger(value: number): Buffer {
  const out = new RespOutput(32);
  appendInteger(out, value);
  return out.take();
}

/**
 * WAIT numreplicas timeout: once this connection's writes (those earlier in this batch
 * included) are committed, ask the engine how many peers stored them.
 */
function waitCommand(session: Session, args: Buffer[]): void {
  const replicas = parseIntegerArg(args[1]!);
  const timeoutMs = parseIntegerArg(args[2]!);
  if (replicas === undefined) return void appendError(session.out, NOT_INTEGER_ERROR);
  if (timeoutMs === undefined) return void appendError(session.out, 'ERR timeout is not an integer or out of range');
  if (timeoutMs < 0) return void appendError(session.out, 'ERR timeout is negative');
  const engine = session.engine;
  const earlier = session.pendingWrites();
  const sequence =
    earlier.length === 0
      ? Promise.resolve(session.lastWriteSeq)
      : Promise.allSettled(earlier).then((outcomes) => {
          let newest = session.lastWriteSeq;
          for (const outcome of outcomes) if (outcome.status === 'fulfilled' && outcome.value > newest) newest = outcome.value;
          return newest;
        });
  session.deferReply(sequence.then((writeSeq) => engine.wait(writeSeq, Math.max(replicas, 0), timeoutMs)).then(encodeInteger));
}

const { Write, ReadOnly, Fast } = CommandFlag;

export const KEY_COMMANDS: readonly CommandSpec[] = [
  command('del', -2, Write, ALL_KEYS, 'generic', 'Delete keys', deleteCommand),
  command('unlink', -2, Write | Fast, ALL_KEYS, 'generic', 'Delete keys', deleteCommand),
  command('exists', -2, ReadOnly | Fast, ALL_KEYS, 'generic', 'Count how many of the keys exist', existsCommand),
  command('touch', -2, ReadOnly | Fast, ALL_KEYS, 'generic', 'Count how many of the keys exist (access times are not tracked)', existsCommand),
  command('randomkey', 1, ReadOnly, NO_KEYS, 'generic', 'A random key', randomkeyCommand),
  command('flushall', -1, Write, NO_KEYS, 'server', 'Remove every key on every node (one cluster-wide clear)', flushCommand),
  command('flushdb', -1, Write, NO_KEYS, 'server', 'Remove every key on every node (database 0 is the only one)', flushCommand),
  command('type', 2, ReadOnly | Fast, ONE_KEY, 'generic', 'Type of the value at a key', typeCommand),
  command('dbsize', 1, ReadOnly | Fast, NO_KEYS, 'server', 'Number of keys', dbsizeCommand),
  command('time', 1, ReadOnly | Fast, NO_KEYS, 'server', "The node's time as seconds and microseconds", timeCommand),
  command('keys', 2, ReadOnly, NO_KEYS, 'generic', 'Keys matching a glob pattern', keysCommand),
  command('scan', -2, ReadOnly, NO_KEYS, 'generic', 'Iterate keys by cursor', scanCommand),
  command('wait', 3, 0, NO_KEYS, 'generic', "Wait until this connection's writes are stored by N peers", waitCommand),
];

// Hash commands (Redis 7.0 replies and errors) on rows: HSET HMSET HSETNX HGET HMGET HDEL
// HLEN HEXISTS HSTRLEN here; HINCRBY HINCRBYFLOAT in hash-counters.ts; HGETALL HKEYS
// HVALS HSCAN HRANDFIELD in hash-reads.ts. Every field is its own row (hash-rows.ts), so
// HSET of one field of a 1,000,000-field hash writes one row, and HLEN reads the
// keyspace's field count. Multi-master (DESIGN.md 6): a field is a last-writer-wins
// register, so an HDEL and a concurrent HSET of the same field resolve by stamp; HSETNX
// checks the local view. HDEL of the last field this node sees deletes the key (its
// clear row, as DEL), and Redis's rule that a hash is never empty holds everywhere
// because a hash counts only while it has a live field; an HSET of a new field made
// concurrently on another node and stamped after that clear survives it.
import type { Buffer } from 'node:buffer';
import { bytesToMapKey } from '../core/bytes.js';
import type { ClientWrite } from '../core/io.js';
import { KeyType } from '../core/rows.js';
import { appendArrayHeader, appendBulk, appendError, appendInteger, appendNull, appendOk } from '../wire/resp.js';
import { CommandFlag, ONE_KEY, command } from './common.js';
import { HASH_COUNTER_COMMANDS } from './hash-counters.js';
import { HASH_READ_COMMANDS } from './hash-reads.js';
import {
  checkFieldLength,
  checkValueLength,
  fieldRowKey,
  fieldValue,
  fieldWrite,
  hashForRead,
  hashForWrite,
  liveFieldRow,
  observedSlots,
  type HashWriteTarget,
} from './hash-rows.js';
import type { CommandContext } from './context.js';
import type { CommandSpec } from './table.js';
import { deleteWrite, headerOfType, WRONG_TYPE, WRONGTYPE_ERROR } from './typed-keys.js';

/** The rows of HSET's pairs (args[2..]) and how many fields are new; undefined after replying with an error. */
function pairWrites(session: CommandContext, key: Uint8Array, target: HashWriteTarget, args: Buffer[]): { writes: ClientWrite[]; created: number } | undefined {
  const engine = session.engine;
  const writes = target.writes.slice();
  // HSET k f 1 f 2 creates f once: later pairs of one command see the earlier ones.
  const seen = args.length > 4 ? new Set<string>() : undefined;
  let created = 0;
  for (let index = 2; index < args.length; index += 2) {
    const field = args[index]!;
    if (!checkFieldLength(session, field)) return undefined;
    let isNew = target.created || liveFieldRow(engine, key, field) === undefined;
    if (seen !== undefined) {
      const mapKey = bytesToMapKey(field);
      if (seen.has(mapKey)) isNew = false;
      else seen.add(mapKey);
    }
    if (isNew) created++;
    const write = fieldWrite(key, field, args[index + 1]!, observedSlots(engine, key, field, target));
    if (!checkValueLength(session, write)) return undefined;
    writes.push(write);
  }
  return { writes, created };
}

/** HSET key field value [field value ...] (integer: new fields) and HMSET (+OK). */
function hsetVariant(name: 'hset' | 'hmset') {
  return (session: CommandContext, args: Buffer[]): void => {
    if (args.length % 2 === 1) return void appendError(session.out, `ERR wrong number of arguments for '${name}' command`);
    const key = args[1]!;
    const target = hashForWrite(session, key);
    if (target === undefined) return;
    const rows = pairWrites(session, key, target, args);
    if (rows === undefined) return;
    const start = session.out.length;
    if (name === 'hset') appendInteger(session.out, rows.created);
    else appendOk(session.out);
    session.deferWrite(session.engine.write(rows.writes), start);
  };
}

function hsetnxCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  const field = args[2]!;
  const target = hashForWrite(session, key);
  if (target === undefined || !checkFieldLength(session, field)) return;
  const engine = session.engine;
  if (!target.created && liveFieldRow(engine, key, field) !== undefined) return void appendInteger(session.out, 0);
  const write = fieldWrite(key, field, args[3]!, observedSlots(engine, key, field, target));
  if (!checkValueLength(session, write)) return;
  const start = session.out.length;
  appendInteger(session.out, 1);
  session.deferWrite(engine.write([...target.writes, write]), start);
}

function hgetCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  const header = hashForRead(session, key);
  if (header === WRONG_TYPE) return;
  const value = header === undefined ? undefined : fieldValue(session.engine, key, args[2]!);
  if (value === undefined) appendNull(session.out, session.protocol);
  else appendBulk(session.out, value);
}

function hmgetCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  const header = hashForRead(session, key);
  if (header === WRONG_TYPE) return;
  appendArrayHeader(session.out, args.length - 2);
  for (let index = 2; index < args.length; index++) {
    const value = header === undefined ? undefined : fieldValue(session.engine, key, args[index]!);
    if (value === undefined) appendNull(session.out, session.protocol);
    else appendBulk(session.out, value);
  }
}

/**
 * HDEL key field [field ...]: a tombstone per live field named. When they are every
 * live field this node sees, the key goes too: its clear row first (removing the header,
 * the fields and their slots on every node), then the tombstones stamped after it, which
 * name the fields for keyspace events (`hdel`, then `del`) and outvote concurrent writes
 * of those fields stamped before them.
 */
function hdelCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  const engine = session.engine;
  const header = headerOfType(engine, key, KeyType.Hash);
  if (header === WRONG_TYPE) return void appendError(session.out, WRONGTYPE_ERROR);
  if (header === undefined) return void appendInteger(session.out, 0);
  const tombstones: ClientWrite[] = [];
  const seen = args.length > 3 ? new Set<string>() : undefined;
  for (let index = 2; index < args.length; index++) {
    const field = args[index]!;
    if (liveFieldRow(engine, key, field) === undefined) continue;
    if (seen !== undefined) {
      const mapKey = bytesToMapKey(field);
      if (seen.has(mapKey)) continue;
      seen.add(mapKey);
    }
    tombstones.push({ key: fieldRowKey(key, field), value: null, expiresAtMs: 0 });
  }
  const start = session.out.length;
  appendInteger(session.out, tombstones.length);
  if (tombstones.length === 0) return;
  const writes = tombstones.length >= engine.fieldCount(key) ? [deleteWrite(key), ...tombstones] : tombstones;
  session.deferWrite(engine.write(writes), start);
}

function hlenCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  const header = hashForRead(session, key);
  if (header === WRONG_TYPE) return;
  appendInteger(session.out, header === undefined ? 0 : session.engine.fieldCount(key));
}

function hexistsCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  const header = hashForRead(session, key);
  if (header === WRONG_TYPE) return;
  appendInteger(session.out, header !== undefined && liveFieldRow(session.engine, key, args[2]!) !== undefined ? 1 : 0);
}

function hstrlenCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  const header = hashForRead(session, key);
  if (header === WRONG_TYPE) return;
  const value = header === undefined ? undefined : fieldValue(session.engine, key, args[2]!);
  appendInteger(session.out, value === undefined ? 0 : value.length);
}

const { Write, ReadOnly, Fast } = CommandFlag;

export const HASH_COMMANDS: readonly CommandSpec[] = [
  command('hset', -4, Write | Fast, ONE_KEY, 'hash', 'Set fields of a hash; replies with the number of new fields', hsetVariant('hset')),
  command('hmset', -4, Write | Fast, ONE_KEY, 'hash', 'Set fields of a hash (deprecated form of HSET)', hsetVariant('hmset')),
  command('hsetnx', 4, Write | Fast, ONE_KEY, 'hash', 'Set a field of a hash only if it does not exist (local view)', hsetnxCommand),
  command('hget', 3, ReadOnly | Fast, ONE_KEY, 'hash', 'Get the value of a hash field', hgetCommand),
  command('hmget', -3, ReadOnly | Fast, ONE_KEY, 'hash', 'Get the values of hash fields', hmgetCommand),
  command('hdel', -3, Write | Fast, ONE_KEY, 'hash', 'Delete hash fields (the key with its last field)', hdelCommand),
  command('hlen', 2, ReadOnly | Fast, ONE_KEY, 'hash', 'Number of fields of a hash', hlenCommand),
  command('hexists', 3, ReadOnly | Fast, ONE_KEY, 'hash', 'Whether a hash field exists', hexistsCommand),
  command('hstrlen', 3, ReadOnly | Fast, ONE_KEY, 'hash', 'Length of the value of a hash field', hstrlenCommand),
  ...HASH_COUNTER_COMMANDS,
  ...HASH_READ_COMMANDS,
];

// DUMP and RESTORE (DESIGN.md section 6) in Redis's payload format (rdb-codec.ts), so a
// key moves between redis-server and peerkv either way. RESTORE writes the whole key as
// one batch: a string as SET writes it (typed-keys replaceWrite), a collection as its
// clear, its element rows and its header last (as SUNIONSTORE/ZUNIONSTORE store one), so
// every node sees the restored value whole or not at all. BUSYKEY is judged on the local
// view, like SET NX. peerkv keeps no LRU/LFU clock: IDLETIME and FREQ are checked and
// ignored (OBJECT IDLETIME reads 0 as for every key). The key's event is named by its
// rows (del, then set/hset/sadd/zadd/rpush), not `restore` (README known differences).
import type { Buffer } from 'node:buffer';
import type { ClientWrite } from '../core/io.js';
import { encodeFieldValue, headerRowKey, KeyType } from '../core/rows.js';
import { ELEMENT_BYTES_MAX, VALUE_BYTES_MAX } from '../core/validate.js';
import { appendBulk, appendError, appendNull, appendOk } from '../wire/resp.js';
import { argIs, CommandFlag, command, NOT_INTEGER_ERROR, ONE_KEY, SYNTAX_ERROR, checkKeyLength } from './common.js';
import type { Engine } from './engine.js';
import { fieldRowKey, FieldSlots, HASH_HEADER, headerLast, visitFields } from './hash-rows.js';
import { allItems, endPosition, itemRowKey, LIST_HEADER } from './list-rows.js';
import { decodeDumpPayload, encodeDumpPayload, type DumpValue } from './rdb-codec.js';
import type { CommandContext } from './context.js';
import { memberWrite, SET_HEADER } from './sets.js';
import type { CommandSpec } from './command-spec.js';
import { deleteWrite, liveHeader, replaceWrite, stringValue, typeName, typeOf } from './typed-keys.js';
import { loadEntries, plainScoreWrite, ZSET_HEADER } from './zset-rows.js';
import { parseInteger64 } from '../core/counters.js';
import type { VersionedRecord } from '../core/types.js';

const BUSY_KEY_ERROR = 'BUSYKEY Target key name already exists.';
const BAD_PAYLOAD_ERROR = 'ERR DUMP payload version or checksum are wrong';
const BAD_FORMAT_ERROR = 'ERR Bad data format';
const FREQ_MAX = 255;

/** The value of a live key as a payload carries it (counters applied, members in row order). */
export function dumpValueOf(engine: Engine, key: Uint8Array, header: VersionedRecord): DumpValue | undefined {
  switch (typeOf(header)) {
    case KeyType.String:
      return { type: 'string', value: stringValue(engine, key, header) };
    case KeyType.List:
      return { type: 'list', elements: allItems(engine, key).map((item) => item.value) };
    case KeyType.Set: {
      const members: Uint8Array[] = [];
      visitFields(engine, key, undefined, Infinity, (member) => void members.push(Uint8Array.from(member)));
      return { type: 'set', members };
    }
    case KeyType.ZSet:
      return { type: 'zset', entries: loadEntries(engine, key) };
    case KeyType.Hash: {
      const slots = new FieldSlots(engine, key, true);
      const fields: [Uint8Array, Uint8Array][] = [];
      visitFields(engine, key, undefined, Infinity, (field, row) => {
        const copy = Uint8Array.from(field);
        fields.push([copy, slots.value(copy, row)]);
      });
      return { type: 'hash', fields };
    }
  }
  return undefined;
}

/** The rows that make key hold value, after `clear` (the key's clear row, when it has rows to clear). */
export function restoreWrites(engine: Engine, key: Uint8Array, value: DumpValue, expiresAtMs: number, clear: boolean): ClientWrite[] {
  if (value.type === 'string') return [replaceWrite(key, value.value, expiresAtMs)];
  const writes: ClientWrite[] = clear ? [deleteWrite(key)] : [];
  const header = (bytes: Uint8Array): ClientWrite => ({ key: headerRowKey(key), value: bytes, expiresAtMs });
  switch (value.type) {
    case 'list':
      for (const element of value.elements) writes.push({ key: itemRowKey(key, endPosition(engine, false)), value: element, expiresAtMs: 0 });
      writes.push(header(LIST_HEADER));
      break;
    case 'set':
      for (const member of value.members) writes.push(memberWrite(key, member));
      writes.push(header(SET_HEADER));
      break;
    case 'zset':
      for (const entry of value.entries) writes.push(plainScoreWrite(key, entry.member, entry.score));
      writes.push(header(ZSET_HEADER));
      break;
    case 'hash':
      for (const [field, fieldValue] of value.fields) {
        writes.push({ key: fieldRowKey(key, field), value: encodeFieldValue({ bytes: fieldValue, observed: new Map() }), expiresAtMs: 0 });
      }
      writes.push(header(HASH_HEADER));
      break;
  }
  return headerLast(writes);
}

/** The first element or value beyond what a row holds, as an error text; undefined when all fit. */
function oversized(value: DumpValue): string | undefined {
  const tooBig = (bytes: Uint8Array): boolean => bytes.length > VALUE_BYTES_MAX;
  const tooLong = (bytes: Uint8Array): boolean => bytes.length > ELEMENT_BYTES_MAX;
  const fits =
    value.type === 'string'
      ? !tooBig(value.value)
      : value.type === 'list'
        ? !value.elements.some(tooBig)
        : value.type === 'set'
          ? !value.members.some(tooLong)
          : value.type === 'zset'
            ? !value.entries.some((entry) => tooLong(entry.member))
            : !value.fields.some(([field, fieldValue]) => tooLong(field) || tooBig(fieldValue));
  return fits ? undefined : `ERR DUMP payload holds an element beyond peerkv's limits (${ELEMENT_BYTES_MAX} bytes a member or field, ${VALUE_BYTES_MAX} a value)`;
}

function dumpCommand(session: CommandContext, args: Buffer[]): void {
  const engine = session.engine;
  const key = args[1]!;
  const header = liveHeader(engine, key);
  if (header === undefined) {
    session.stats.keyspaceMisses++;
    return void appendNull(session.out, session.protocol);
  }
  const value = dumpValueOf(engine, key, header);
  if (value === undefined) return void appendError(session.out, `ERR DUMP of a ${typeName(header)} is not supported by peerkv yet`);
  session.stats.keyspaceHits++;
  appendBulk(session.out, encodeDumpPayload(value));
}

/** RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]: Redis 7.0's checks in its order. */
function restoreCommand(session: CommandContext, args: Buffer[]): void {
  const engine = session.engine;
  const key = args[1]!;
  let replace = false;
  let absoluteTtl = false;
  let idle = false;
  let frequency = false;
  for (let index = 4; index < args.length; index++) {
    const option = args[index]!;
    const more = index + 1 < args.length;
    if (argIs(option, 'replace')) replace = true;
    else if (argIs(option, 'absttl')) absoluteTtl = true;
    else if (argIs(option, 'idletime') && more && !frequency) {
      const seconds = parseInteger64(args[++index]!);
      if (seconds === undefined) return void appendError(session.out, NOT_INTEGER_ERROR);
      if (seconds < 0n) return void appendError(session.out, 'ERR Invalid IDLETIME value, must be >= 0');
      idle = true;
    } else if (argIs(option, 'freq') && more && !idle) {
      const count = parseInteger64(args[++index]!);
      if (count === undefined) return void appendError(session.out, NOT_INTEGER_ERROR);
      if (count < 0n || count > BigInt(FREQ_MAX)) return void appendError(session.out, `ERR Invalid FREQ value, must be >= 0 and <= ${FREQ_MAX}`);
      frequency = true;
    } else {
      return void appendError(session.out, SYNTAX_ERROR);
    }
  }
  if (!checkKeyLength(session, key)) return;
  const existing = liveHeader(engine, key);
  if (!replace && existing !== undefined) return void appendError(session.out, BUSY_KEY_ERROR);
  const ttl = parseInteger64(args[2]!);
  if (ttl === undefined) return void appendError(session.out, NOT_INTEGER_ERROR);
  if (ttl < 0n) return void appendError(session.out, 'ERR Invalid TTL value, must be >= 0');
  const value = decodeDumpPayload(args[3]!);
  if (value === 'checksum') return void appendError(session.out, BAD_PAYLOAD_ERROR);
  if (value === 'format') return void appendError(session.out, BAD_FORMAT_ERROR);
  const tooBig = oversized(value);
  if (tooBig !== undefined) return void appendError(session.out, tooBig);
  const expiresAtMs = ttl === 0n ? 0 : Number(ttl) + (absoluteTtl ? 0 : engine.nowMs());
  const hasRows = engine.get(headerRowKey(key)) !== undefined || engine.fieldCount(key) > 0;
  const start = session.out.length;
  appendOk(session.out);
  if (expiresAtMs !== 0 && expiresAtMs <= engine.nowMs()) {
    // Already expired: the key is only deleted (REPLACE of a live key), as Redis does.
    if (existing !== undefined) session.deferWrite(engine.write([deleteWrite(key)]), start);
    return;
  }
  session.deferWrite(engine.write(restoreWrites(engine, key, value, expiresAtMs, hasRows)), start);
}

const { Write, ReadOnly } = CommandFlag;

export const DUMP_COMMANDS: readonly CommandSpec[] = [
  command('dump', 2, ReadOnly, ONE_KEY, 'generic', "Serialize a key's value in Redis's DUMP format", dumpCommand),
  command('restore', -4, Write, ONE_KEY, 'generic', 'Create a key from a DUMP payload (REPLACE, ABSTTL, IDLETIME, FREQ)', restoreCommand),
];

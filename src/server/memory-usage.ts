// MEMORY USAGE key [SAMPLES count]: the bytes a key's rows take in storage (row keys,
// values, per-row record header and LMDB node overhead). As Redis, a collection is measured
// on a sample of its elements (5 by default, SAMPLES 0 for all) scaled to its size.
import type { Buffer } from 'node:buffer';
import { clearRowKey, KeyType, kindPrefix, RowKind } from '../core/rows.js';
import { appendArrayHeader, appendError, appendInteger, appendNull, appendSimple } from '../wire/resp.js';
import { CommandFlag, NOT_INTEGER_ERROR, SYNTAX_ERROR, argIs, argLower, command, parseIntegerArg } from './common.js';
import type { CommandContext } from './context.js';
import type { CommandSpec } from './command-spec.js';
import { liveHeader, typeOf } from './typed-keys.js';

/** Bytes of a stored row beyond its key and value: the record header (format, flags, stamp, origin, expiry) and LMDB's node. */
const ROW_OVERHEAD_BYTES = 42 + 16;
const DEFAULT_SAMPLES = 5;
const PAGE_ROWS = 1024;

const MEMORY_HELP = [
  'MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'USAGE <key> [SAMPLES <count>]',
  '    Return memory in bytes used by <key> and its value. Nested values are',
  '    sampled up to <count> times (default: 5, 0 means sample all).',
  'HELP',
  '    Print this help.',
];

function rowBytes(key: Uint8Array, value: Uint8Array | null): number {
  return key.length + (value === null ? 0 : value.length) + ROW_OVERHEAD_BYTES;
}

function usage(session: CommandContext, args: Buffer[]): void {
  const key = args[2]!;
  let samples = DEFAULT_SAMPLES;
  for (let index = 3; index < args.length; index += 2) {
    if (!argIs(args[index]!, 'samples') || index + 1 >= args.length) return void appendError(session.out, SYNTAX_ERROR);
    const count = parseIntegerArg(args[index + 1]!);
    if (count === undefined || count < 0) return void appendError(session.out, count === undefined ? NOT_INTEGER_ERROR : SYNTAX_ERROR);
    samples = count === 0 ? Number.POSITIVE_INFINITY : count;
  }
  const engine = session.engine;
  const header = liveHeader(engine, key);
  if (header === undefined) return void appendNull(session.out, session.protocol);
  let total = rowBytes(header.key, header.value);
  const clear = engine.get(clearRowKey(key));
  if (clear !== undefined) total += rowBytes(clear.key, clear.value);
  // Counter slots are few (one per node that incremented): counted whole.
  total += sumRows(session, kindPrefix(key, RowKind.Slot), Number.POSITIVE_INFINITY).bytes;
  // Elements (hash fields, set and sorted-set members, list items) are sampled.
  const elementKind = typeOf(header) === KeyType.List ? RowKind.Item : RowKind.Field;
  const sample = sumRows(session, kindPrefix(key, elementKind), samples);
  if (sample.rows > 0) total += Math.round((sample.bytes / sample.rows) * Math.max(engine.fieldCount(key), sample.rows));
  appendInteger(session.out, total);
}

/** Bytes of the live rows under a prefix, up to `limit` of them. */
function sumRows(session: CommandContext, prefix: Uint8Array, limit: number): { bytes: number; rows: number } {
  let bytes = 0;
  let rows = 0;
  let after: Uint8Array | undefined;
  while (rows < limit) {
    const page = session.engine.scanRows(prefix, after, Math.min(PAGE_ROWS, limit - rows));
    for (const row of page.records) {
      if (row.value === null) continue;
      bytes += rowBytes(row.key, row.value);
      rows++;
    }
    if (page.done || page.records.length === 0) break;
    after = page.records[page.records.length - 1]!.key;
  }
  return { bytes, rows };
}

function memoryCommand(session: CommandContext, args: Buffer[]): void {
  const sub = argLower(args[1]!);
  if (sub === 'usage' && args.length >= 3) return usage(session, args);
  if (sub === 'help' && args.length === 2) {
    appendArrayHeader(session.out, MEMORY_HELP.length);
    for (const line of MEMORY_HELP) appendSimple(session.out, line);
    return;
  }
  if (sub === 'usage' || sub === 'help') return void appendError(session.out, `ERR wrong number of arguments for 'memory|${sub}' command`);
  appendError(session.out, `ERR unknown subcommand '${args[1]!.toString('utf8', 0, 64)}'. Try MEMORY HELP.`);
}

export const MEMORY_COMMANDS: readonly CommandSpec[] = [
  command('memory', -2, CommandFlag.ReadOnly, [2, 2, 1], 'server', 'Memory a key takes in storage (USAGE, HELP)', memoryCommand),
];

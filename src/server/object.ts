// OBJECT ENCODING / REFCOUNT / IDLETIME / FREQ / HELP. peerkv stores rows, not Redis
// objects, so ENCODING names the encoding Redis 7.0 would pick for the same value by its
// default thresholds (clients and tools read it to guess sizes); a value is never shared
// (REFCOUNT 1) and access times are not tracked (IDLETIME 0, FREQ refused as Redis
// refuses it without an LFU policy).
import type { Buffer } from 'node:buffer';
import { parseInteger64 } from '../core/counters.js';
import { decodeFieldValue, keyPrefix, RowKind, parseRow } from '../core/rows.js';
import { appendArrayHeader, appendBulkText, appendError, appendInteger, appendNull, appendSimple } from '../wire/resp.js';
import { CommandFlag, argLower, command } from './common.js';
import type { Engine } from './engine.js';
import type { CommandContext } from './context.js';
import { liveHeader, stringValue, typeName } from './typed-keys.js';
import { isHllValue } from './hll-codec.js';
import { wrongArityMessage, type CommandSpec } from './table.js';
import type { VersionedRecord } from '../core/types.js';

/** Redis 7.0 defaults: strings up to this many bytes are embstr, longer ones raw. */
const EMBSTR_BYTES_MAX = 44;
/** Longest text Redis stores as an integer (string2l on 64 bits). */
const INT_ENCODING_CHARS_MAX = 20;
/** hash-max-listpack-entries / zset-max-listpack-entries. */
const LISTPACK_ENTRIES_MAX = 128;
/** hash-max-listpack-value / zset-max-listpack-value: bytes of a field, value or member. */
const LISTPACK_VALUE_BYTES_MAX = 64;
/** set-max-intset-entries. */
const INTSET_ENTRIES_MAX = 512;
const ELEMENT_PAGE_ROWS = 256;

const OBJECT_HELP = [
  'OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'ENCODING <key>',
  '    Return the kind of internal representation used in order to store the value',
  '    associated with a <key>.',
  'FREQ <key>',
  '    Return the access frequency index of the <key>. The returned integer is',
  '    proportional to the logarithm of the recent access frequency of the key.',
  'IDLETIME <key>',
  '    Return the idle time of the <key>, that is the approximated number of',
  '    seconds elapsed since the last access to the key.',
  'REFCOUNT <key>',
  '    Return the number of references of the value associated with the specified',
  '    <key>.',
  'HELP',
  '    Print this help.',
];

const FREQ_ERROR =
  'ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.';

/** Redis's string encoding of a value: int, embstr or raw. */
export function stringEncoding(value: Uint8Array): string {
  if (value.length <= INT_ENCODING_CHARS_MAX && parseInteger64(value) !== undefined) return 'int';
  // Redis creates and edits a HyperLogLog in place as a raw string, however short.
  if (isHllValue(value)) return 'raw';
  return value.length <= EMBSTR_BYTES_MAX ? 'embstr' : 'raw';
}

/** What a collection's element rows look like, read until a limit decides the answer. */
interface ElementSummary {
  count: number;
  /** Some element (or hash value) is longer than LISTPACK_VALUE_BYTES_MAX. */
  long: boolean;
  /** Every element is an integer (intset candidates). */
  integers: boolean;
}

/** Count the key's live element rows (not its header, clear or counter slots), up to `countLimit` + 1. */
function summarizeElements(engine: Engine, key: Uint8Array, countLimit: number): ElementSummary {
  const summary: ElementSummary = { count: 0, long: false, integers: true };
  const prefix = keyPrefix(key);
  let after: Uint8Array | undefined;
  for (;;) {
    const page = engine.scanRows(prefix, after, ELEMENT_PAGE_ROWS);
    for (const row of page.records) {
      const parsed = parseRow(row.key);
      if (row.value === null || parsed === undefined) continue;
      if (parsed.kind === RowKind.Clear || parsed.kind === RowKind.Header || parsed.kind === RowKind.Slot) continue;
      summary.count++;
      const valueBytes = parsed.kind === RowKind.Field ? (decodeFieldValue(row.value)?.bytes.length ?? 0) : 0;
      if (parsed.element.length > LISTPACK_VALUE_BYTES_MAX || valueBytes > LISTPACK_VALUE_BYTES_MAX) summary.long = true;
      if (summary.integers && parseInteger64(parsed.element) === undefined) summary.integers = false;
      if (summary.count > countLimit) return summary;
    }
    if (page.done || page.records.length === 0) return summary;
    after = page.records[page.records.length - 1]!.key;
  }
}

/** The encoding Redis 7.0 would report for this key's value. */
function encodingOf(engine: Engine, key: Uint8Array, header: VersionedRecord): string {
  const type = typeName(header);
  switch (type) {
    case 'string':
      return stringEncoding(stringValue(engine, key, header));
    case 'hash':
    case 'zset': {
      const summary = summarizeElements(engine, key, LISTPACK_ENTRIES_MAX);
      if (summary.count <= LISTPACK_ENTRIES_MAX && !summary.long) return 'listpack';
      return type === 'hash' ? 'hashtable' : 'skiplist';
    }
    case 'set': {
      const summary = summarizeElements(engine, key, INTSET_ENTRIES_MAX);
      return summary.integers && summary.count <= INTSET_ENTRIES_MAX ? 'intset' : 'hashtable';
    }
    case 'list':
      return 'quicklist'; // Redis 7.0 lists are always quicklists
    case 'stream':
      return 'stream';
    default:
      return 'unknown';
  }
}

function objectCommand(session: CommandContext, args: Buffer[]): void {
  const out = session.out;
  const sub = argLower(args[1]!);
  if (sub === 'help') {
    if (args.length !== 2) return void appendError(out, wrongArityMessage('object|help'));
    appendArrayHeader(out, OBJECT_HELP.length);
    for (const line of OBJECT_HELP) appendSimple(out, line);
    return;
  }
  if (sub !== 'encoding' && sub !== 'refcount' && sub !== 'idletime' && sub !== 'freq') {
    return void appendError(out, `ERR unknown subcommand '${args[1]!.toString('utf8', 0, 128)}'. Try OBJECT HELP.`);
  }
  if (args.length !== 3) return void appendError(out, wrongArityMessage(`object|${sub}`));
  const key = args[2]!;
  const header = liveHeader(session.engine, key);
  if (header === undefined) return void appendNull(out, session.protocol);
  if (sub === 'encoding') return void appendBulkText(out, encodingOf(session.engine, key, header));
  if (sub === 'refcount') return void appendInteger(out, 1);
  if (sub === 'idletime') return void appendInteger(out, 0);
  appendError(out, FREQ_ERROR);
}

export const OBJECT_COMMANDS: readonly CommandSpec[] = [
  command('object', -2, CommandFlag.ReadOnly, [2, 2, 1], 'generic', 'Inspect a key: ENCODING REFCOUNT IDLETIME FREQ HELP', objectCommand),
];

// RENAME, RENAMENX and COPY on typed rows (DESIGN.md section 6). Copying a key writes
// its rows again under the destination as new rows of one batch: the destination's clear
// first (it replaces whatever the destination held, on every node), then the source's
// header and element rows re-keyed, and for RENAME the source's clear last. Rows are
// walked by kind, so every type (strings, hashes and those to come) copies the same way.
// Counter slots belong to their origin (only it may write them), so a copy keeps the
// counted value instead: a counted string or hash field becomes a plain value.
import type { Buffer } from 'node:buffer';
import { equalBytes, utf8 } from '../core/bytes.js';
import type { ClientWrite } from '../core/io.js';
import { decodeFieldValue, encodeFieldValue, encodeScoreValue, encodeStringHeader, headerRowKey, isScoreValue, keyPrefix, KeyType, parseRow, rowKey, RowKind } from '../core/rows.js';
import type { VersionedRecord } from '../core/types.js';
import { appendError, appendInteger, appendOk } from '../wire/resp.js';
import { CommandFlag, NOT_INTEGER_ERROR, SYNTAX_ERROR, argIs, checkKeyLength, command, parseIntegerArg } from './common.js';
import type { Engine } from './engine.js';
import type { CommandContext } from './context.js';
import type { CommandSpec } from './command-spec.js';
import { scoreOf, scoreText } from './zset-rows.js';
import { countedValue, deleteWrite, liveHeader, readSlots, stringValue, typeOf } from './typed-keys.js';

export const NO_SUCH_KEY_ERROR = 'ERR no such key';
const SAME_OBJECT_ERROR = 'ERR source and destination objects are the same';
/** Rows read per page while a key is copied. */
const COPY_PAGE_ROWS = 1024;

/**
 * The rows that make `destination` a copy of `source` (whose live header is `header`),
 * starting with the destination's clear. The header keeps its expiry.
 */
export function copyRowWrites(engine: Engine, source: Uint8Array, destination: Uint8Array, header: VersionedRecord): ClientWrite[] {
  const writes: ClientWrite[] = [deleteWrite(destination)];
  if (typeOf(header) === KeyType.String) {
    // The value as readers see it, counters applied: replaceWrite's base over a cleared key.
    // A string has no element rows (rows of a type that lost a creation race stay behind).
    writes.push({ key: headerRowKey(destination), value: encodeStringHeader(stringValue(engine, source, header)), expiresAtMs: header.expiresAtMs });
    return writes;
  }
  writes.push({ key: headerRowKey(destination), value: header.value, expiresAtMs: header.expiresAtMs });
  const counted = engine.mayHaveSlots(source);
  const zset = typeOf(header) === KeyType.ZSet;
  const prefix = keyPrefix(source);
  let after: Uint8Array | undefined;
  for (;;) {
    const page = engine.scanRows(prefix, after, COPY_PAGE_ROWS);
    for (const row of page.records) {
      const write = copiedRow(engine, source, destination, row, counted, zset);
      if (write !== undefined) writes.push(write);
    }
    if (page.done || page.records.length === 0) return writes;
    after = page.records[page.records.length - 1]!.key;
  }
}

/** One element row of the source re-keyed to the destination; undefined for rows a copy leaves out. */
function copiedRow(engine: Engine, source: Uint8Array, destination: Uint8Array, row: VersionedRecord, counted: boolean, zset: boolean): ClientWrite | undefined {
  if (row.value === null) return undefined; // removed elements: the destination's clear covers them
  const parsed = parseRow(row.key);
  if (parsed === undefined) return undefined;
  switch (parsed.kind) {
    case RowKind.Clear:
    case RowKind.Header: // written first, from the live header
    case RowKind.Slot: // folded into the values they count
      return undefined;
    case RowKind.Field: {
      let value = row.value;
      if (counted) {
        const base = decodeFieldValue(row.value);
        const slots = base === undefined ? undefined : readSlots(engine, source, parsed.element);
        // A sorted set's score keeps its full precision (%.17g), not the counter text.
        if (base !== undefined) value = zset ? encodeScoreValue({ bytes: utf8(scoreText(scoreOf(base, slots!))), observed: new Map() }) : encodeFieldValue({ bytes: countedValue(base, slots!), observed: new Map() });
      } else if (zset && !isScoreValue(value)) {
        // A member written before scores were flagged: the copy is flagged (rows.ts encodeScoreValue).
        const base = decodeFieldValue(value);
        if (base !== undefined) value = encodeScoreValue(base);
      }
      return { key: rowKey(destination, RowKind.Field, parsed.element), value, expiresAtMs: row.expiresAtMs };
    }
    default:
      // An element row of a type this file does not know by name: its value copies as is.
      return { key: rowKey(destination, parsed.kind, parsed.element), value: row.value, expiresAtMs: row.expiresAtMs };
  }
}

/** RENAME / RENAMENX: the destination is replaced (RENAMENX: only if absent here; local check). */
function renameVariant(onlyIfAbsent: boolean) {
  return (session: CommandContext, args: Buffer[]): void => {
    const source = args[1]!;
    const destination = args[2]!;
    if (!checkKeyLength(session, destination)) return;
    const engine = session.engine;
    const header = liveHeader(engine, source);
    if (header === undefined) return void appendError(session.out, NO_SUCH_KEY_ERROR);
    if (equalBytes(source, destination)) {
      return void (onlyIfAbsent ? appendInteger(session.out, 0) : appendOk(session.out));
    }
    if (onlyIfAbsent && liveHeader(engine, destination) !== undefined) return void appendInteger(session.out, 0);
    const writes = copyRowWrites(engine, source, destination, header);
    writes.push(deleteWrite(source));
    const start = session.out.length;
    if (onlyIfAbsent) appendInteger(session.out, 1);
    else appendOk(session.out);
    session.deferWrite(engine.write(writes), start);
  };
}

/** COPY source destination [DB index] [REPLACE]: only database 0 exists, as with SELECT. */
function copyCommand(session: CommandContext, args: Buffer[]): void {
  const source = args[1]!;
  const destination = args[2]!;
  let replace = false;
  for (let index = 3; index < args.length; index++) {
    const option = args[index]!;
    if (argIs(option, 'replace')) {
      replace = true;
    } else if (argIs(option, 'db') && index + 1 < args.length) {
      const database = parseIntegerArg(args[++index]!);
      if (database === undefined || database < -2147483648 || database > 2147483647) return void appendError(session.out, NOT_INTEGER_ERROR);
      if (database !== 0) return void appendError(session.out, 'ERR DB index is out of range');
    } else {
      return void appendError(session.out, SYNTAX_ERROR);
    }
  }
  if (!checkKeyLength(session, destination)) return;
  if (equalBytes(source, destination)) return void appendError(session.out, SAME_OBJECT_ERROR);
  const engine = session.engine;
  const header = liveHeader(engine, source);
  if (header === undefined) return void appendInteger(session.out, 0);
  if (!replace && liveHeader(engine, destination) !== undefined) return void appendInteger(session.out, 0);
  const start = session.out.length;
  appendInteger(session.out, 1);
  session.deferWrite(engine.write(copyRowWrites(engine, source, destination, header)), start);
}

const { Write } = CommandFlag;

export const KEY_COPY_COMMANDS: readonly CommandSpec[] = [
  command('rename', 3, Write, [1, 2, 1], 'generic', 'Rename a key, replacing the destination', renameVariant(false)),
  command('renamenx', 3, Write | CommandFlag.Fast, [1, 2, 1], 'generic', 'Rename a key if the destination does not exist here', renameVariant(true)),
  command('copy', -3, Write, [1, 2, 1], 'generic', 'Copy a key, with REPLACE to overwrite the destination', copyCommand),
];

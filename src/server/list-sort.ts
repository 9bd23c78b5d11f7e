// SORT and SORT_RO of lists (Redis 7.0 replies and errors): BY (a pattern, or nosort),
// LIMIT, GET (`#`, `key*`, `hash*->field`), ASC/DESC, ALPHA and STORE (a list, written as
// one batch after the destination's clear). Sets and sorted sets are sorted too (their members).
import { Buffer } from 'node:buffer';
import { compareBytes } from '../core/bytes.js';
import type { ClientWrite } from '../core/io.js';
import { KeyType, kindPrefix, RowKind } from '../core/rows.js';
import { appendArrayHeader, appendBulk, appendError, appendInteger, appendNull } from '../wire/resp.js';
import { CommandFlag, NOT_INTEGER_ERROR, SYNTAX_ERROR, argIs, checkKeyLength, command } from './common.js';
import type { Engine } from './engine.js';
import { fieldValue } from './hash-rows.js';
import { allItems, listHeaderWrite, parseLongArg, pushWrites } from './list-rows.js';
import type { CommandContext } from './context.js';
import { loadEntries } from './zset-rows.js';
import type { CommandSpec } from './command-spec.js';
import { deleteWrite, headerOfType, liveHeader, readString, typeOf, WRONG_TYPE, WRONGTYPE_ERROR } from './typed-keys.js';

const STAR = 0x2a;
/** Set member rows read per page. */
const SET_PAGE_ROWS = 1024;
const ARROW = Buffer.from('->');

/** The value a BY/GET pattern names for `element`; undefined when absent or not a string/hash field. */
function lookup(engine: Engine, pattern: Buffer, element: Uint8Array): Uint8Array | undefined {
  if (pattern.length === 1 && pattern[0] === 0x23) return element; // '#'
  const star = pattern.indexOf(STAR);
  if (star < 0) return undefined;
  const arrow = pattern.indexOf(ARROW, star + 1);
  const keyEnd = arrow < 0 || arrow + 2 >= pattern.length ? pattern.length : arrow;
  const key = Buffer.concat([pattern.subarray(0, star), element, pattern.subarray(star + 1, keyEnd)]);
  if (keyEnd === pattern.length) {
    const value = readString(engine, key);
    return value === null || value === WRONG_TYPE ? undefined : value;
  }
  const header = headerOfType(engine, key, KeyType.Hash);
  if (header === undefined || header === WRONG_TYPE) return undefined;
  return fieldValue(engine, key, pattern.subarray(arrow + 2));
}

/** Redis's strtod-like score of a sort weight, or undefined. */
function scoreOf(bytes: Uint8Array): number | undefined {
  const text = Buffer.from(bytes).toString('latin1');
  if (text.length === 0 || /^\s|\s$/.test(text)) return undefined;
  const value = Number(text);
  if (!Number.isNaN(value)) return value;
  const lower = text.toLowerCase();
  if (lower === 'inf' || lower === '+inf' || lower === 'infinity') return Infinity;
  if (lower === '-inf' || lower === '-infinity') return -Infinity;
  return undefined;
}

/** SORT's options. */
interface SortOptions {
  by: Buffer | undefined;
  noSort: boolean;
  offset: number;
  limit: number;
  readonly gets: Buffer[];
  desc: boolean;
  alpha: boolean;
  store: Buffer | undefined;
}

/** SORT's options from args[2..], or the error to reply with. */
function parseSortOptions(args: Buffer[], readOnly: boolean): SortOptions | string {
  const options: SortOptions = { by: undefined, noSort: false, offset: 0, limit: -1, gets: [], desc: false, alpha: false, store: undefined };
  for (let index = 2; index < args.length; index++) {
    const option = args[index]!;
    const left = args.length - index - 1;
    if (argIs(option, 'asc')) options.desc = false;
    else if (argIs(option, 'desc')) options.desc = true;
    else if (argIs(option, 'alpha')) options.alpha = true;
    else if (argIs(option, 'limit') && left >= 2) {
      const start = parseLongArg(args[index + 1]!);
      const count = parseLongArg(args[index + 2]!);
      if (start === undefined || count === undefined) return NOT_INTEGER_ERROR;
      options.offset = start;
      options.limit = count;
      index += 2;
    } else if (!readOnly && argIs(option, 'store') && left >= 1) {
      options.store = args[++index]!;
    } else if (argIs(option, 'by') && left >= 1) {
      options.by = args[++index]!;
      if (options.by.indexOf(STAR) < 0) options.noSort = true;
    } else if (argIs(option, 'get') && left >= 1) {
      options.gets.push(args[++index]!);
    } else {
      return SYNTAX_ERROR;
    }
  }
  return options;
}

/** The elements in SORT's order, or the error to reply with. */
function sortElements(engine: Engine, elements: Uint8Array[], options: SortOptions): Uint8Array[] | string {
  if (options.noSort) return options.desc ? [...elements].reverse() : elements;
  const by = options.by;
  const weights = elements.map((element) => (by === undefined ? element : lookup(engine, by, element)));
  let scores: number[] | undefined;
  if (!options.alpha) {
    scores = [];
    for (const weight of weights) {
      const score = weight === undefined ? 0 : scoreOf(weight);
      if (score === undefined) return "ERR One or more scores can't be converted into double";
      scores.push(score);
    }
  }
  const order = elements.map((_, index) => index);
  order.sort((a, b) => {
    let cmp: number;
    if (scores !== undefined) cmp = scores[a]! < scores[b]! ? -1 : scores[a]! > scores[b]! ? 1 : 0;
    else {
      const wa = weights[a];
      const wb = weights[b];
      cmp = wa === undefined ? (wb === undefined ? 0 : -1) : wb === undefined ? 1 : compareBytes(wa, wb);
    }
    // Equal weights order by the elements themselves, so the result is the same everywhere.
    if (cmp === 0) cmp = compareBytes(elements[a]!, elements[b]!);
    return options.desc ? -cmp : cmp;
  });
  return order.map((index) => elements[index]!);
}

/** What SORT sorts: a list's elements, a set's members (in byte order), a sorted set's members (by score); undefined for other types. */
function sortSource(engine: Engine, key: Uint8Array, type: number): Uint8Array[] | undefined {
  if (type === KeyType.List) return allItems(engine, key).map((item) => item.value);
  if (type === KeyType.ZSet) return loadEntries(engine, key).map((entry) => entry.member);
  if (type !== KeyType.Set) return undefined;
  const members: Uint8Array[] = [];
  const prefix = kindPrefix(key, RowKind.Field);
  let after: Uint8Array | undefined;
  for (;;) {
    const page = engine.scanRows(prefix, after, SET_PAGE_ROWS);
    for (const record of page.records) if (record.value !== null) members.push(record.key.subarray(prefix.length));
    if (page.done || page.records.length === 0) break;
    after = page.records[page.records.length - 1]!.key;
  }
  return members;
}

function sortVariant(readOnly: boolean) {
  return (session: CommandContext, args: Buffer[]): void => {
    const out = session.out;
    const options = parseSortOptions(args, readOnly);
    if (typeof options === 'string') return void appendError(out, options);
    const engine = session.engine;
    const key = args[1]!;
    const header = liveHeader(engine, key);
    const elements = header === undefined ? [] : sortSource(engine, key, typeOf(header));
    if (elements === undefined) return void appendError(out, WRONGTYPE_ERROR);
    const sorted = sortElements(engine, elements, options);
    if (typeof sorted === 'string') return void appendError(out, sorted);
    const start = Math.min(Math.max(options.offset, 0), sorted.length);
    const count = options.limit < 0 ? sorted.length - start : Math.min(options.limit, sorted.length - start);
    const values: (Uint8Array | undefined)[] = [];
    for (const element of sorted.slice(start, start + count)) {
      if (options.gets.length === 0) values.push(element);
      else for (const pattern of options.gets) values.push(lookup(engine, pattern, element));
    }
    const store = options.store;
    if (store === undefined) {
      appendArrayHeader(out, values.length);
      for (const value of values) {
        if (value === undefined) appendNull(out, session.protocol);
        else appendBulk(out, value);
      }
      return;
    }
    if (!checkKeyLength(session, store)) return;
    const writes: ClientWrite[] = [deleteWrite(store)];
    if (values.length > 0) {
      // The destination is replaced: after its clear, the elements and a new list header.
      const target = { writes: [], header: listHeaderWrite(store, undefined), created: true };
      writes.push(...pushWrites(engine, store, target, values.map((value) => value ?? new Uint8Array(0)), false));
    }
    const replyStart = out.length;
    appendInteger(out, values.length);
    session.deferWrite(engine.write(writes), replyStart);
  };
}

export const SORT_COMMANDS: readonly CommandSpec[] = [
  command('sort', -2, CommandFlag.Write, [1, 1, 1], 'generic', 'Sort the elements of a list (STORE writes a list)', sortVariant(false)),
  command('sort_ro', -2, CommandFlag.ReadOnly, [1, 1, 1], 'generic', 'Sort the elements of a list', sortVariant(true)),
];

// ZUNION ZINTER ZDIFF, their STORE forms and ZINTERCARD (Redis 7.0 replies and errors): the
// inputs (sorted sets, or sets whose members score 1) are read whole and combined in
// memory, as Redis does; a STORE form replaces its destination in one batch.
import type { Buffer } from 'node:buffer';
import { bytesToMapKey } from '../core/bytes.js';
import { parseInteger64 } from '../core/counters.js';
import { KeyType } from '../core/rows.js';
import { appendError, appendInteger } from '../wire/resp.js';
import { CommandFlag, NOT_INTEGER_ERROR, SYNTAX_ERROR, argIs, checkKeyLength, command } from './common.js';
import type { Engine } from './engine.js';
import { LONG_MAX } from './hash-reads.js';
import type { CommandContext } from './context.js';
import type { CommandSpec } from './command-spec.js';
import { headerOfType, WRONG_TYPE, WRONGTYPE_ERROR } from './typed-keys.js';
import { appendEntries, compareEntries, loadEntries, parseScore, storeZset, type ZEntry } from './zset-rows.js';

const enum Combine {
  Union,
  Inter,
  Diff,
}

/** The entries of a set (score 1 each) or sorted set; WRONG_TYPE for any other type. */
function inputEntries(engine: Engine, key: Uint8Array): ZEntry[] | undefined | typeof WRONG_TYPE {
  const zset = headerOfType(engine, key, KeyType.ZSet);
  if (zset !== WRONG_TYPE) return zset === undefined ? undefined : loadEntries(engine, key);
  const set = headerOfType(engine, key, KeyType.Set);
  if (set === WRONG_TYPE || set === undefined) return WRONG_TYPE;
  const entries: ZEntry[] = [];
  for (const entry of loadEntries(engine, key)) entries.push({ member: entry.member, score: 1 });
  return entries;
}

/** Redis's zunionInterDiffGenericCommand: numkeys keys [WEIGHTS w...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]. */
function combineCommand(session: CommandContext, args: Buffer[], operation: Combine, destination: Uint8Array | undefined): void {
  const out = session.out;
  const first = destination === undefined ? 1 : 2;
  const numkeys = parseInteger64(args[first]!);
  if (numkeys === undefined) return void appendError(out, NOT_INTEGER_ERROR);
  if (numkeys < 1n) {
    const name = operation === Combine.Union ? 'zunion' : operation === Combine.Inter ? 'zinter' : 'zdiff';
    return void appendError(out, `ERR at least 1 input key is needed for '${name}${destination === undefined ? '' : 'store'}' command`);
  }
  if (numkeys > BigInt(args.length - first - 1)) return void appendError(out, SYNTAX_ERROR);
  const keyCount = Number(numkeys);
  const keys = args.slice(first + 1, first + 1 + keyCount);
  const weights = keys.map(() => 1);
  let aggregate: 'sum' | 'min' | 'max' = 'sum';
  let withScores = false;
  for (let index = first + 1 + keyCount; index < args.length; index++) {
    const arg = args[index]!;
    const remaining = args.length - index - 1;
    if (operation !== Combine.Diff && argIs(arg, 'weights') && remaining >= keyCount) {
      for (let w = 0; w < keyCount; w++) {
        const weight = parseScore(args[index + 1 + w]!);
        if (weight === undefined) return void appendError(out, 'ERR weight value is not a float');
        weights[w] = weight;
      }
      index += keyCount;
    } else if (operation !== Combine.Diff && argIs(arg, 'aggregate') && remaining >= 1) {
      const mode = args[++index]!;
      if (argIs(mode, 'sum')) aggregate = 'sum';
      else if (argIs(mode, 'min')) aggregate = 'min';
      else if (argIs(mode, 'max')) aggregate = 'max';
      else return void appendError(out, SYNTAX_ERROR);
    } else if (destination === undefined && argIs(arg, 'withscores')) {
      withScores = true;
    } else {
      return void appendError(out, SYNTAX_ERROR);
    }
  }
  const engine = session.engine;
  const inputs: (ZEntry[] | undefined)[] = [];
  for (const key of keys) {
    const entries = inputEntries(engine, key);
    if (entries === WRONG_TYPE) return void appendError(out, WRONGTYPE_ERROR);
    inputs.push(entries);
  }
  const combineScores = (a: number, b: number): number => {
    if (aggregate === 'min') return Math.min(a, b);
    if (aggregate === 'max') return Math.max(a, b);
    const sum = a + b;
    return Number.isNaN(sum) ? 0 : sum;
  };
  const weighted = (score: number, weight: number): number => {
    const value = score * weight;
    return Number.isNaN(value) ? 0 : value;
  };
  const result = new Map<string, ZEntry>();
  if (operation === Combine.Union) {
    inputs.forEach((entries, input) => {
      for (const entry of entries ?? []) {
        const mapKey = bytesToMapKey(entry.member);
        const score = weighted(entry.score, weights[input]!);
        const prior = result.get(mapKey);
        result.set(mapKey, { member: entry.member, score: prior === undefined ? score : combineScores(prior.score, score) });
      }
    });
  } else if (operation === Combine.Inter) {
    if (inputs.every((entries) => entries !== undefined)) {
      const maps = inputs.map((entries) => new Map(entries!.map((entry) => [bytesToMapKey(entry.member), entry.score])));
      for (const entry of inputs[0]!) {
        const mapKey = bytesToMapKey(entry.member);
        let score = weighted(entry.score, weights[0]!);
        let everywhere = true;
        for (let input = 1; input < maps.length && everywhere; input++) {
          const other = maps[input]!.get(mapKey);
          if (other === undefined) everywhere = false;
          else score = combineScores(score, weighted(other, weights[input]!));
        }
        if (everywhere) result.set(mapKey, { member: entry.member, score });
      }
    }
  } else if (inputs[0] !== undefined) {
    const others = new Set<string>();
    for (const entries of inputs.slice(1)) for (const entry of entries ?? []) others.add(bytesToMapKey(entry.member));
    for (const entry of inputs[0]) if (!others.has(bytesToMapKey(entry.member))) result.set(bytesToMapKey(entry.member), entry);
  }
  const entries = [...result.values()].sort(compareEntries);
  if (destination !== undefined) return storeZset(session, destination, entries);
  appendEntries(session, entries, withScores);
}

/** ZINTERCARD numkeys key [key ...] [LIMIT limit] (sets count as sorted sets). */
function zintercardCommand(session: CommandContext, args: Buffer[]): void {
  const out = session.out;
  const numkeys = parseInteger64(args[1]!);
  if (numkeys === undefined || numkeys > LONG_MAX) return void appendError(out, NOT_INTEGER_ERROR);
  if (numkeys < 1n) return void appendError(out, "ERR at least 1 input key is needed for 'zintercard' command");
  if (numkeys > BigInt(args.length - 2)) return void appendError(out, SYNTAX_ERROR);
  const keyCount = Number(numkeys);
  let limit = 0;
  for (let index = 2 + keyCount; index < args.length; index++) {
    if (argIs(args[index]!, 'limit') && index + 1 < args.length) {
      const parsed = parseInteger64(args[++index]!);
      if (parsed === undefined || parsed < 0n || parsed > LONG_MAX) return void appendError(out, "ERR LIMIT can't be negative");
      limit = parsed > 2n ** 52n ? 0 : Number(parsed);
    } else {
      return void appendError(out, SYNTAX_ERROR);
    }
  }
  const inputs: (ZEntry[] | undefined)[] = [];
  for (const key of args.slice(2, 2 + keyCount)) {
    const entries = inputEntries(session.engine, key);
    if (entries === WRONG_TYPE) return void appendError(out, WRONGTYPE_ERROR);
    inputs.push(entries);
  }
  if (inputs.some((entries) => entries === undefined)) return void appendInteger(out, 0);
  const others = inputs.slice(1).map((entries) => new Set(entries!.map((entry) => bytesToMapKey(entry.member))));
  let count = 0;
  for (const entry of inputs[0]!) {
    const mapKey = bytesToMapKey(entry.member);
    if (!others.every((set) => set.has(mapKey))) continue;
    count++;
    if (limit !== 0 && count >= limit) break;
  }
  appendInteger(out, count);
}

function combineVariant(operation: Combine, store: boolean) {
  return (session: CommandContext, args: Buffer[]): void => {
    if (store && !checkKeyLength(session, args[1]!)) return;
    combineCommand(session, args, operation, store ? args[1]! : undefined);
  };
}

const { Write, ReadOnly } = CommandFlag;
const NUMKEYS = [2, 2, 1] as const;

export const ZSET_COMBINE_COMMANDS: readonly CommandSpec[] = [
  command('zunion', -3, ReadOnly, NUMKEYS, 'sorted_set', 'Union of sorted sets', combineVariant(Combine.Union, false)),
  command('zinter', -3, ReadOnly, NUMKEYS, 'sorted_set', 'Intersection of sorted sets', combineVariant(Combine.Inter, false)),
  command('zdiff', -3, ReadOnly, NUMKEYS, 'sorted_set', 'Difference of sorted sets', combineVariant(Combine.Diff, false)),
  command('zintercard', -3, ReadOnly, NUMKEYS, 'sorted_set', 'Size of the intersection of sorted sets, up to LIMIT', zintercardCommand),
  command('zunionstore', -4, Write, [1, 1, 1], 'sorted_set', 'Store the union of sorted sets', combineVariant(Combine.Union, true)),
  command('zinterstore', -4, Write, [1, 1, 1], 'sorted_set', 'Store the intersection of sorted sets', combineVariant(Combine.Inter, true)),
  command('zdiffstore', -4, Write, [1, 1, 1], 'sorted_set', 'Store the difference of sorted sets', combineVariant(Combine.Diff, true)),
];

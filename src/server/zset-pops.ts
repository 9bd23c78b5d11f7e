// Sorted-set pops (Redis 7.0 replies and errors): ZPOPMIN ZPOPMAX ZMPOP and the blocking
// BZPOPMIN BZPOPMAX BZMPOP, which wait through the mechanism they share with the list pops
// (blocking.ts) until a ZADD or ZINCRBY here or on a peer gives one of their keys members.
// A pop tombstones the members this node sees lowest (highest): across nodes pops are
// at-least-once, as SPOP's are.
import type { Buffer } from 'node:buffer';
import { parseInteger64 } from '../core/counters.js';
import type { ClientWrite } from '../core/io.js';
import { KeyType } from '../core/rows.js';
import { appendArrayHeader, appendBulk, appendError, appendNullArray, type RespOutput, type RespVersion } from '../wire/resp.js';
import { blockOrServe, parseTimeout } from './blocking.js';
import { CommandFlag, NOT_INTEGER_ERROR, ONE_KEY, SYNTAX_ERROR, argIs, command } from './common.js';
import type { Engine } from './engine.js';
import { LONG_MAX } from './hash-reads.js';
import type { CommandContext } from './context.js';
import type { Session } from './session.js';
import { removalWrites } from './sets.js';
import type { CommandSpec } from './table.js';
import { headerOfType, WRONG_TYPE, WRONGTYPE_ERROR } from './typed-keys.js';
import { zsetOrder } from './zset-order.js';
import { appendEntries, appendScore, type ZEntry } from './zset-rows.js';

const POSITIVE_COUNT_ERROR = 'ERR value is out of range, must be positive';
/** Counts past this pop the whole set anyway (a set cannot hold 2^52 members). */
const COUNT_CAP = 2 ** 52;

interface Popped {
  readonly key: Uint8Array;
  readonly entries: readonly ZEntry[];
  readonly writes: ClientWrite[];
}

/** Pop up to `count` (> 0) members from the first of `keys` holding a sorted set; WRONG_TYPE when one before it holds another type. */
function popFirst(engine: Engine, keys: readonly Uint8Array[], max: boolean, count: number): Popped | undefined | typeof WRONG_TYPE {
  for (const key of keys) {
    const header = headerOfType(engine, key, KeyType.ZSet);
    if (header === WRONG_TYPE) return WRONG_TYPE;
    if (header === undefined) continue;
    const order = zsetOrder(engine, key);
    const popped = order.range(max ? order.size - 1 : 0, count, max);
    if (popped.length === 0) continue;
    return { key, entries: popped, writes: removalWrites(engine, key, popped.map((entry) => entry.member)) };
  }
  return undefined;
}

/** ZMPOP / BZMPOP's reply: [key, [[member, score] ...]] in both protocols. */
function appendKeyAndEntries(out: RespOutput, popped: Popped, version: RespVersion): void {
  appendArrayHeader(out, 2);
  appendBulk(out, popped.key);
  appendArrayHeader(out, popped.entries.length);
  for (const entry of popped.entries) {
    appendArrayHeader(out, 2);
    appendBulk(out, entry.member);
    appendScore(out, entry.score, version);
  }
}

/** ZPOPMIN / ZPOPMAX key [count]. */
function popVariant(max: boolean) {
  return (session: CommandContext, args: Buffer[]): void => {
    const out = session.out;
    if (args.length > 3) return void appendError(out, SYNTAX_ERROR);
    let count = 1;
    const counted = args.length === 3;
    if (counted) {
      const parsed = parseInteger64(args[2]!);
      if (parsed === undefined) return void appendError(out, NOT_INTEGER_ERROR);
      if (parsed < 0n) return void appendError(out, POSITIVE_COUNT_ERROR);
      count = parsed > BigInt(COUNT_CAP) ? COUNT_CAP : Number(parsed);
    }
    const key = args[1]!;
    const engine = session.engine;
    const header = headerOfType(engine, key, KeyType.ZSet);
    if (header === WRONG_TYPE) return void appendError(out, WRONGTYPE_ERROR);
    if (header === undefined || count === 0) return void appendArrayHeader(out, 0);
    const popped = popFirst(engine, [key], max, count);
    if (popped === undefined || popped === WRONG_TYPE) return void appendArrayHeader(out, 0);
    const start = out.length;
    if (counted) appendEntries(session, popped.entries, true);
    else {
      appendArrayHeader(out, 2);
      appendBulk(out, popped.entries[0]!.member);
      appendScore(out, popped.entries[0]!.score, session.protocol);
    }
    session.deferWrite(engine.write(popped.writes), start);
  };
}

interface MultiPop {
  readonly keys: Buffer[];
  readonly max: boolean;
  readonly count: number;
}

/** A Redis `long` in [1, LONG_MAX] capped to COUNT_CAP, or undefined. */
function positiveLong(arg: Uint8Array): number | undefined {
  const parsed = parseInteger64(arg);
  if (parsed === undefined || parsed < 1n || parsed > LONG_MAX) return undefined;
  return parsed > BigInt(COUNT_CAP) ? COUNT_CAP : Number(parsed);
}

/** numkeys key [key ...] MIN|MAX [COUNT count] from args[from]; a string is the error. */
function parseMultiPop(args: Buffer[], from: number): MultiPop | string {
  const numkeys = positiveLong(args[from]!);
  if (numkeys === undefined) return 'ERR numkeys should be greater than 0';
  const whereIndex = from + numkeys + 1;
  if (whereIndex >= args.length) return SYNTAX_ERROR;
  const where = args[whereIndex]!;
  const max = argIs(where, 'max');
  if (!max && !argIs(where, 'min')) return SYNTAX_ERROR;
  let count: number | undefined;
  for (let index = whereIndex + 1; index < args.length; index++) {
    if (count === undefined && argIs(args[index]!, 'count') && index + 1 < args.length) {
      count = positiveLong(args[++index]!);
      if (count === undefined) return 'ERR count should be greater than 0';
    } else {
      return SYNTAX_ERROR;
    }
  }
  return { keys: args.slice(from + 1, whereIndex), max, count: count ?? 1 };
}

/** ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]. */
function zmpopCommand(session: CommandContext, args: Buffer[]): void {
  const out = session.out;
  const parsed = parseMultiPop(args, 1);
  if (typeof parsed === 'string') return void appendError(out, parsed);
  const popped = popFirst(session.engine, parsed.keys, parsed.max, parsed.count);
  if (popped === WRONG_TYPE) return void appendError(out, WRONGTYPE_ERROR);
  if (popped === undefined) return void appendNullArray(out, session.protocol);
  const start = out.length;
  appendKeyAndEntries(out, popped, session.protocol);
  session.deferWrite(session.engine.write(popped.writes), start);
}

/** BZPOPMIN / BZPOPMAX key [key ...] timeout: [key, member, score]. */
function blockingPopVariant(max: boolean) {
  return (session: Session, args: Buffer[]): void => {
    const timeout = parseTimeout(args[args.length - 1]!);
    if (typeof timeout === 'string') return void appendError(session.out, timeout);
    blockOrServe(session, {
      keys: args.slice(1, -1),
      type: KeyType.ZSet,
      timeoutMs: timeout,
      attempt: (engine, keys, out, version) => {
        const popped = popFirst(engine, keys, max, 1);
        if (popped === undefined || popped === WRONG_TYPE) return popped;
        appendArrayHeader(out, 3);
        appendBulk(out, popped.key);
        appendBulk(out, popped.entries[0]!.member);
        appendScore(out, popped.entries[0]!.score, version);
        return popped.writes;
      },
      empty: (out) => appendNullArray(out, session.protocol),
    });
  };
}

/** BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]: the timeout is read after the rest, as Redis does. */
function bzmpopCommand(session: Session, args: Buffer[]): void {
  const parsed = parseMultiPop(args, 2);
  if (typeof parsed === 'string') return void appendError(session.out, parsed);
  const timeout = parseTimeout(args[1]!);
  if (typeof timeout === 'string') return void appendError(session.out, timeout);
  blockOrServe(session, {
    keys: parsed.keys,
    type: KeyType.ZSet,
    timeoutMs: timeout,
    attempt: (engine, keys, out, version) => {
      const popped = popFirst(engine, keys, parsed.max, parsed.count);
      if (popped === undefined || popped === WRONG_TYPE) return popped;
      appendKeyAndEntries(out, popped, version);
      return popped.writes;
    },
    empty: (out) => appendNullArray(out, session.protocol),
  });
}

const { Write, Fast } = CommandFlag;

export const ZSET_POP_COMMANDS: readonly CommandSpec[] = [
  command('zpopmin', -2, Write | Fast, ONE_KEY, 'sorted_set', 'Remove and return the lowest members (a local pop)', popVariant(false)),
  command('zpopmax', -2, Write | Fast, ONE_KEY, 'sorted_set', 'Remove and return the highest members (a local pop)', popVariant(true)),
  command('zmpop', -4, Write, [2, 2, 1], 'sorted_set', 'Pop members from the first non-empty sorted set (a local pop)', zmpopCommand),
  command('bzpopmin', -3, Write, [1, -2, 1], 'sorted_set', 'ZPOPMIN of the first non-empty sorted set, waiting for one', blockingPopVariant(false)),
  command('bzpopmax', -3, Write, [1, -2, 1], 'sorted_set', 'ZPOPMAX of the first non-empty sorted set, waiting for one', blockingPopVariant(true)),
  command('bzmpop', -5, Write, [0, 0, 0], 'sorted_set', 'ZMPOP, waiting for a member', bzmpopCommand),
];

// Sorted-set commands (Redis 7.0 replies and errors) on rows (zset-rows.ts): one Field row
// per member holding its score, ZINCRBY / ZADD INCR as counters on per-origin slots (all
// concurrent increments count), ZADD of a score a last-writer-wins base. NX/XX/GT/LT are
// judged on the local view. Range commands read the whole set and sort it per call. The
// combine commands (ZUNION ZINTER ZDIFF ZINTERCARD and STORE forms) are in zset-combine.ts,
// the pops (ZPOPMIN ZPOPMAX ZMPOP and their blocking forms) in zset-pops.ts.
import { Buffer } from 'node:buffer';
import { bytesToMapKey } from '../core/bytes.js';
import { parseInteger64 } from '../core/counters.js';
import { KeyType, rowKindOf, RowKind } from '../core/rows.js';
import { appendArrayHeader, appendBulk, appendError, appendInteger, appendNull } from '../wire/resp.js';
import { CommandFlag, NOT_INTEGER_ERROR, ONE_KEY, SYNTAX_ERROR, argIs, checkKeyLength, command } from './common.js';
import { COUNT_RANGE_ERROR, hscanVariant, LONG_MAX, randomWithCount, OUT_OF_RANGE_ERROR, randomBelow } from './hash-reads.js';
import { checkFieldLength, existingTarget, FieldSlots, hashForRead, hashForWrite, headerLast, type HashWriteTarget } from './hash-rows.js';
import type { CommandContext } from './context.js';
import { removalWrites, removeMembersCommand } from './sets.js';
import type { CommandSpec } from './table.js';
import { headerOfType, WRONG_TYPE, WRONGTYPE_ERROR } from './typed-keys.js';
import { ZSET_COMBINE_COMMANDS } from './zset-combine.js';
import { ZSET_POP_COMMANDS } from './zset-pops.js';
import { EMPTY_ZSET_ORDER, zsetOrder, type ZsetOrder } from './zset-order.js';
import {
  appendEntries,
  appendScore,
  incrementWrites,
  memberScore,
  NAN_SCORE_ERROR,
  NOT_FLOAT_ERROR,
  parseScore,
  scoreWrite,
  storeZset,
  type ZEntry,
} from './zset-rows.js';

const MIN_MAX_FLOAT_ERROR = 'ERR min or max is not a float';
const LEX_RANGE_ERROR = 'ERR min or max not valid string range item';

// ---- ZADD ZINCRBY ZREM ZSCORE ZMSCORE ZCARD ----

export function zaddCommand(session: CommandContext, args: Buffer[]): void {
  const out = session.out;
  let nx = false;
  let xx = false;
  let gt = false;
  let lt = false;
  let ch = false;
  let incr = false;
  let index = 2;
  for (; index < args.length; index++) {
    const arg = args[index]!;
    if (argIs(arg, 'nx')) nx = true;
    else if (argIs(arg, 'xx')) xx = true;
    else if (argIs(arg, 'gt')) gt = true;
    else if (argIs(arg, 'lt')) lt = true;
    else if (argIs(arg, 'ch')) ch = true;
    else if (argIs(arg, 'incr')) incr = true;
    else break;
  }
  const elements = args.length - index;
  if (elements % 2 !== 0 || elements === 0) return void appendError(out, SYNTAX_ERROR);
  if (nx && xx) return void appendError(out, 'ERR XX and NX options at the same time are not compatible');
  if ((gt && nx) || (lt && nx) || (gt && lt)) return void appendError(out, 'ERR GT, LT, and/or NX options at the same time are not compatible');
  if (incr && elements > 2) return void appendError(out, 'ERR INCR option supports a single increment-element pair');
  const scores: number[] = [];
  for (let pair = index; pair < args.length; pair += 2) {
    const score = parseScore(args[pair]!);
    if (score === undefined) return void appendError(out, NOT_FLOAT_ERROR);
    scores.push(score);
  }
  const key = args[1]!;
  const engine = session.engine;
  const existing = headerOfType(engine, key, KeyType.ZSet);
  if (existing === WRONG_TYPE) return void appendError(out, WRONGTYPE_ERROR);
  if (existing === undefined && xx) return void (incr ? appendNull(out, session.protocol) : appendInteger(out, 0));
  // The header just read makes the target of an existing key (hashWriteTarget would read it again).
  const target = existing === undefined ? hashForWrite(session, key, KeyType.ZSet) : checkKeyLength(session, key) ? existingTarget(key, existing, KeyType.ZSet) : undefined;
  if (target === undefined) return;
  for (let pair = index + 1; pair < args.length; pair += 2) if (!checkFieldLength(session, args[pair]!, 'sorted set member')) return;
  if (!incr && scores.length === 1) return void addOne(session, key, args[index + 1]!, scores[0]!, target, { nx, xx, gt, lt, ch });
  if (incr) {
    const member = args[index + 1]!;
    const current = target.created ? undefined : memberScore(engine, key, member);
    if ((current !== undefined && nx) || (current === undefined && xx)) return void appendNull(out, session.protocol);
    const increment = scores[0]!;
    if (current !== undefined && (gt || lt)) {
      const next = current + increment;
      if (Number.isNaN(next)) return void appendError(out, NAN_SCORE_ERROR);
      if ((gt && next <= current) || (lt && next >= current)) return void appendNull(out, session.protocol);
    }
    const result = incrementWrites(engine, key, member, target, increment);
    if (result === NAN_SCORE_ERROR) return void appendError(out, NAN_SCORE_ERROR);
    const start = out.length;
    appendScore(out, result.score, session.protocol);
    return void session.deferWrite(engine.write(headerLast(result.writes)), start);
  }
  const writes = target.writes.slice();
  const pending = new Map<string, { member: Uint8Array; score: number | undefined }>();
  let added = 0;
  let updated = 0;
  scores.forEach((score, offset) => {
    const member = args[index + 1 + offset * 2]!;
    const mapKey = bytesToMapKey(member);
    const seen = pending.get(mapKey);
    const current = seen !== undefined ? seen.score : target.created ? undefined : memberScore(engine, key, member);
    if (current !== undefined) {
      if (nx) return;
      if ((gt && score <= current) || (lt && score >= current)) return;
      if (score !== current) updated++;
      else return;
    } else {
      if (xx) return;
      added++;
    }
    pending.set(mapKey, { member, score });
  });
  for (const { member, score } of pending.values()) writes.push(scoreWrite(engine, key, member, score!, target));
  const start = out.length;
  appendInteger(out, ch ? added + updated : added);
  if (pending.size > 0) session.deferWrite(engine.write(headerLast(writes)), start);
}

/** ZADD of one member (no INCR): the common case, without the duplicate bookkeeping of many. */
function addOne(
  session: CommandContext,
  key: Uint8Array,
  member: Uint8Array,
  score: number,
  target: HashWriteTarget,
  flags: { nx: boolean; xx: boolean; gt: boolean; lt: boolean; ch: boolean },
): void {
  const engine = session.engine;
  const current = target.created ? undefined : memberScore(engine, key, member);
  let changed: 0 | 1 = 1;
  if (current !== undefined) {
    if (flags.nx || (flags.gt && score <= current) || (flags.lt && score >= current) || score === current) return void appendInteger(session.out, 0);
  } else if (flags.xx) {
    return void appendInteger(session.out, 0);
  }
  const added = current === undefined ? 1 : 0;
  if (!flags.ch) changed = added;
  // Members first, header last (headerLast): a header written (a new or headerless key) outranks every member it is written with.
  const writes = target.writes.filter((write) => rowKindOf(write.key) !== RowKind.Header);
  writes.push(scoreWrite(engine, key, member, score, target));
  for (const write of target.writes) if (rowKindOf(write.key) === RowKind.Header) writes.push(write);
  const start = session.out.length;
  appendInteger(session.out, changed);
  session.deferWrite(engine.write(writes), start);
}

function zincrbyCommand(session: CommandContext, args: Buffer[]): void {
  const out = session.out;
  const increment = parseScore(args[2]!);
  if (increment === undefined) return void appendError(out, NOT_FLOAT_ERROR);
  const key = args[1]!;
  const member = args[3]!;
  const target = hashForWrite(session, key, KeyType.ZSet);
  if (target === undefined || !checkFieldLength(session, member, 'sorted set member')) return;
  const result = incrementWrites(session.engine, key, member, target, increment);
  if (result === NAN_SCORE_ERROR) return void appendError(out, NAN_SCORE_ERROR);
  const start = out.length;
  appendScore(out, result.score, session.protocol);
  session.deferWrite(session.engine.write(headerLast(result.writes)), start);
}

/** Reply with the count and remove these live members (the key with its last one). */
function removeMembers(session: CommandContext, key: Uint8Array, members: readonly Uint8Array[]): void {
  const start = session.out.length;
  appendInteger(session.out, members.length);
  if (members.length > 0) session.deferWrite(session.engine.write(removalWrites(session.engine, key, members)), start);
}

function zscoreCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  const header = hashForRead(session, key, KeyType.ZSet);
  if (header === WRONG_TYPE) return;
  const score = header === undefined ? undefined : memberScore(session.engine, key, args[2]!);
  if (score === undefined) appendNull(session.out, session.protocol);
  else appendScore(session.out, score, session.protocol);
}

function zmscoreCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  const header = hashForRead(session, key, KeyType.ZSet);
  if (header === WRONG_TYPE) return;
  const slots = header === undefined ? undefined : new FieldSlots(session.engine, key, false);
  appendArrayHeader(session.out, args.length - 2);
  for (let index = 2; index < args.length; index++) {
    const score = slots === undefined ? undefined : memberScore(session.engine, key, args[index]!, slots);
    if (score === undefined) appendNull(session.out, session.protocol);
    else appendScore(session.out, score, session.protocol);
  }
}

function zcardCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  const header = hashForRead(session, key, KeyType.ZSet);
  if (header === WRONG_TYPE) return;
  appendInteger(session.out, header === undefined ? 0 : session.engine.fieldCount(key));
}

// ---- Ranges ----

interface ScoreBound {
  readonly value: number;
  readonly exclusive: boolean;
}

function parseScoreBound(arg: Uint8Array): ScoreBound | undefined {
  const exclusive = arg[0] === 0x28; // (
  const value = parseScore(exclusive ? arg.subarray(1) : arg);
  return value === undefined ? undefined : { value, exclusive };
}

interface LexBound {
  /** -1: minus infinity, 1: plus infinity, 0: a member. */
  readonly infinite: -1 | 0 | 1;
  readonly member: Uint8Array;
  readonly exclusive: boolean;
}

function parseLexBound(arg: Uint8Array): LexBound | undefined {
  if (arg.length === 1 && arg[0] === 0x2d) return { infinite: -1, member: arg, exclusive: false };
  if (arg.length === 1 && arg[0] === 0x2b) return { infinite: 1, member: arg, exclusive: false };
  if (arg[0] === 0x28) return { infinite: 0, member: arg.subarray(1), exclusive: true };
  if (arg[0] === 0x5b) return { infinite: 0, member: arg.subarray(1), exclusive: false };
  return undefined;
}

function aboveMin(score: number, min: ScoreBound): boolean {
  return min.exclusive ? score > min.value : score >= min.value;
}
function belowMax(score: number, max: ScoreBound): boolean {
  return max.exclusive ? score < max.value : score <= max.value;
}
const enum By {
  Rank,
  Score,
  Lex,
}

interface RangeSpec {
  readonly by: By;
  readonly rev: boolean;
  readonly offset: number;
  /** -1: no limit. */
  readonly limit: number;
  readonly withScores: boolean;
  readonly min: Uint8Array;
  readonly max: Uint8Array;
}

/** A lex bound's member as an index name (latin1), compared with `<` as bytes. */
function lexName(bound: LexBound): string {
  return bytesToMapKey(bound.member);
}

/**
 * The ascending ranks [start, end) of a range's matches, found by rank or by binary search
 * on the order (never a walk of the set); a string is an error to reply.
 */
function rangeRanks(order: ZsetOrder, spec: RangeSpec): { start: number; end: number } | string {
  const length = order.size;
  if (spec.by === By.Rank) {
    const startArg = parseInteger64(spec.min);
    const endArg = parseInteger64(spec.max);
    if (startArg === undefined || endArg === undefined) return NOT_INTEGER_ERROR;
    let start = Number(startArg);
    let end = Number(endArg);
    if (start < 0) start += length;
    if (end < 0) end += length;
    if (start < 0) start = 0;
    if (start > end || start >= length) return { start: 0, end: 0 };
    if (end >= length) end = length - 1;
    return spec.rev ? { start: length - 1 - end, end: length - start } : { start, end: end + 1 };
  }
  let start: number;
  let end: number;
  if (spec.by === By.Score) {
    // REV takes max then min.
    const min = parseScoreBound(spec.rev ? spec.max : spec.min);
    const max = parseScoreBound(spec.rev ? spec.min : spec.max);
    if (min === undefined || max === undefined) return MIN_MAX_FLOAT_ERROR;
    start = order.countBefore((score) => !aboveMin(score, min));
    end = order.countBefore((score) => belowMax(score, max));
  } else {
    const min = parseLexBound(spec.rev ? spec.max : spec.min);
    const max = parseLexBound(spec.rev ? spec.min : spec.max);
    if (min === undefined || max === undefined) return LEX_RANGE_ERROR;
    const minName = lexName(min);
    const maxName = lexName(max);
    start = min.infinite < 0 ? 0 : min.infinite > 0 ? length : order.countBefore((_score, member) => (min.exclusive ? member <= minName : member < minName));
    end = max.infinite > 0 ? length : max.infinite < 0 ? 0 : order.countBefore((_score, member) => (max.exclusive ? member < maxName : member <= maxName));
  }
  return { start, end: Math.max(start, end) };
}

/** Entries of a range in reply order; a string is an error to reply. */
function selectRange(order: ZsetOrder, spec: RangeSpec): ZEntry[] | string {
  const ranks = rangeRanks(order, spec);
  if (typeof ranks === 'string') return ranks;
  const available = ranks.end - ranks.start;
  if (spec.by === By.Rank) return order.range(spec.rev ? ranks.end - 1 : ranks.start, available, spec.rev);
  if (spec.offset < 0) return [];
  const from = Math.min(spec.offset, available);
  const count = spec.limit < 0 ? available - from : Math.min(spec.limit, available - from);
  return order.range(spec.rev ? ranks.end - 1 - from : ranks.start + from, count, spec.rev);
}

/** Parse [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES] from args[from..]; a string is an error. */
function parseRangeOptions(args: Buffer[], from: number, base: Partial<RangeSpec>, allowWithScores: boolean): RangeSpec | string {
  let by = base.by ?? By.Rank;
  let rev = base.rev ?? false;
  let offset = 0;
  let limit = -1;
  let hasLimit = false;
  let withScores = false;
  for (let index = from; index < args.length; index++) {
    const arg = args[index]!;
    if (allowWithScores && argIs(arg, 'withscores')) withScores = true;
    else if (argIs(arg, 'limit') && index + 2 < args.length) {
      const parsedOffset = parseInteger64(args[index + 1]!);
      const parsedCount = parseInteger64(args[index + 2]!);
      if (parsedOffset === undefined || parsedCount === undefined) return NOT_INTEGER_ERROR;
      offset = Number(parsedOffset);
      limit = parsedCount < 0n ? -1 : Number(parsedCount);
      hasLimit = true;
      index += 2;
    } else if (base.by === undefined && argIs(arg, 'byscore')) by = By.Score;
    else if (base.by === undefined && argIs(arg, 'bylex')) by = By.Lex;
    else if (base.rev === undefined && argIs(arg, 'rev')) rev = true;
    else return SYNTAX_ERROR;
  }
  if (hasLimit && by === By.Rank) return 'ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX';
  if (withScores && by === By.Lex) return 'ERR syntax error, WITHSCORES not supported in combination with BYLEX';
  return { by, rev, offset, limit, withScores, min: args[from - 2]!, max: args[from - 1]! };
}

/** ZRANGE and its older forms: `fixed` holds what the command name implies. */
function rangeVariant(fixed: Partial<RangeSpec>) {
  return (session: CommandContext, args: Buffer[]): void => {
    const spec = parseRangeOptions(args, 4, fixed, true);
    if (typeof spec === 'string') return void appendError(session.out, spec);
    const key = args[1]!;
    const header = hashForRead(session, key, KeyType.ZSet);
    if (header === WRONG_TYPE) return;
    const selected = selectRange(header === undefined ? EMPTY_ZSET_ORDER : zsetOrder(session.engine, key), spec);
    if (typeof selected === 'string') return void appendError(session.out, selected);
    appendEntries(session, selected, spec.withScores);
  };
}

/** ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]. */
function zrangestoreCommand(session: CommandContext, args: Buffer[]): void {
  const spec = parseRangeOptions(args.slice(1), 4, {}, false);
  if (typeof spec === 'string') return void appendError(session.out, spec);
  const destination = args[1]!;
  const source = args[2]!;
  if (!checkKeyLength(session, destination)) return;
  const header = hashForRead(session, source, KeyType.ZSet);
  if (header === WRONG_TYPE) return;
  const selected = selectRange(header === undefined ? EMPTY_ZSET_ORDER : zsetOrder(session.engine, source), spec);
  if (typeof selected === 'string') return void appendError(session.out, selected);
  storeZset(session, destination, selected);
}

/** ZRANK / ZREVRANK key member. */
function rankVariant(rev: boolean) {
  return (session: CommandContext, args: Buffer[]): void => {
    const key = args[1]!;
    const header = hashForRead(session, key, KeyType.ZSet);
    if (header === WRONG_TYPE) return;
    const order = header === undefined ? EMPTY_ZSET_ORDER : zsetOrder(session.engine, key);
    const rank = order.rankOf(args[2]!);
    if (rank === undefined) return void appendNull(session.out, session.protocol);
    appendInteger(session.out, rev ? order.size - 1 - rank : rank);
  };
}

/** ZCOUNT key min max / ZLEXCOUNT key min max. */
function countVariant(by: By.Score | By.Lex) {
  return (session: CommandContext, args: Buffer[]): void => {
    const key = args[1]!;
    const spec: RangeSpec = { by, rev: false, offset: 0, limit: -1, withScores: false, min: args[2]!, max: args[3]! };
    if (by === By.Score ? parseScoreBound(spec.min) === undefined || parseScoreBound(spec.max) === undefined : parseLexBound(spec.min) === undefined || parseLexBound(spec.max) === undefined) {
      return void appendError(session.out, by === By.Score ? MIN_MAX_FLOAT_ERROR : LEX_RANGE_ERROR);
    }
    const header = hashForRead(session, key, KeyType.ZSet);
    if (header === WRONG_TYPE) return;
    const ranks = rangeRanks(header === undefined ? EMPTY_ZSET_ORDER : zsetOrder(session.engine, key), spec);
    if (typeof ranks === 'string') return void appendError(session.out, ranks);
    appendInteger(session.out, ranks.end - ranks.start);
  };
}

/** ZREMRANGEBYRANK / ZREMRANGEBYSCORE / ZREMRANGEBYLEX key min max. */
function removeRangeVariant(by: By) {
  return (session: CommandContext, args: Buffer[]): void => {
    const key = args[1]!;
    const spec: RangeSpec = { by, rev: false, offset: 0, limit: -1, withScores: false, min: args[2]!, max: args[3]! };
    const check = selectRange(EMPTY_ZSET_ORDER, spec);
    if (typeof check === 'string') return void appendError(session.out, check);
    const engine = session.engine;
    const header = headerOfType(engine, key, KeyType.ZSet);
    if (header === WRONG_TYPE) return void appendError(session.out, WRONGTYPE_ERROR);
    if (header === undefined) return void appendInteger(session.out, 0);
    const selected = selectRange(zsetOrder(engine, key), spec) as ZEntry[];
    removeMembers(session, key, selected.map((entry) => entry.member));
  };
}

/** ZRANDMEMBER key [count [WITHSCORES]]: HRANDFIELD's walk over the member rows. */
function zrandmemberCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  if (args.length >= 3) {
    const count = parseInteger64(args[2]!);
    if (count === undefined) return void appendError(session.out, NOT_INTEGER_ERROR);
    if (count < -LONG_MAX || count > LONG_MAX) return void appendError(session.out, COUNT_RANGE_ERROR);
    if (args.length > 4 || (args.length === 4 && !argIs(args[3]!, 'withscores'))) return void appendError(session.out, SYNTAX_ERROR);
    const withScores = args.length === 4;
    if (withScores && (count < -LONG_MAX / 2n || count > LONG_MAX / 2n)) return void appendError(session.out, OUT_OF_RANGE_ERROR);
    return randomWithCount(session, key, count, withScores, KeyType.ZSet);
  }
  const header = hashForRead(session, key, KeyType.ZSet);
  if (header === WRONG_TYPE) return;
  const engine = session.engine;
  // A random rank of the score index: O(log n), where a walk of the member rows would read half the set.
  const order = header === undefined ? EMPTY_ZSET_ORDER : zsetOrder(engine, key);
  const pick = order.size === 0 ? undefined : order.range(randomBelow(order.size), 1, false)[0];
  if (pick === undefined) appendNull(session.out, session.protocol);
  else appendBulk(session.out, pick.member);
}

const { Write, ReadOnly, Fast } = CommandFlag;

export const ZSET_COMMANDS: readonly CommandSpec[] = [
  ...ZSET_COMBINE_COMMANDS,
  ...ZSET_POP_COMMANDS,
  command('zadd', -4, Write | Fast, ONE_KEY, 'sorted_set', 'Add members with scores, or update their scores', zaddCommand),
  command('zincrby', 4, Write | Fast, ONE_KEY, 'sorted_set', "Increment a member's score (a counter: concurrent increments all count)", zincrbyCommand),
  command('zrem', -3, Write | Fast, ONE_KEY, 'sorted_set', 'Remove members (the key with its last member)', removeMembersCommand(KeyType.ZSet)),
  command('zscore', 3, ReadOnly | Fast, ONE_KEY, 'sorted_set', 'Score of a member', zscoreCommand),
  command('zmscore', -3, ReadOnly | Fast, ONE_KEY, 'sorted_set', 'Scores of members', zmscoreCommand),
  command('zcard', 2, ReadOnly | Fast, ONE_KEY, 'sorted_set', 'Number of members', zcardCommand),
  command('zrange', -4, ReadOnly, ONE_KEY, 'sorted_set', 'Members in a range of ranks, scores or lex', rangeVariant({})),
  command('zrangestore', -5, Write, [1, 2, 1], 'sorted_set', 'Store a range of a sorted set', zrangestoreCommand),
  command('zrevrange', -4, ReadOnly, ONE_KEY, 'sorted_set', 'Members in a range of ranks, high to low', rangeVariant({ by: By.Rank, rev: true })),
  command('zrangebyscore', -4, ReadOnly, ONE_KEY, 'sorted_set', 'Members in a range of scores', rangeVariant({ by: By.Score, rev: false })),
  command('zrevrangebyscore', -4, ReadOnly, ONE_KEY, 'sorted_set', 'Members in a range of scores, high to low', rangeVariant({ by: By.Score, rev: true })),
  command('zrangebylex', -4, ReadOnly, ONE_KEY, 'sorted_set', 'Members in a lexicographical range', rangeVariant({ by: By.Lex, rev: false })),
  command('zrevrangebylex', -4, ReadOnly, ONE_KEY, 'sorted_set', 'Members in a lexicographical range, high to low', rangeVariant({ by: By.Lex, rev: true })),
  command('zrank', 3, ReadOnly | Fast, ONE_KEY, 'sorted_set', 'Rank of a member, low to high', rankVariant(false)),
  command('zrevrank', 3, ReadOnly | Fast, ONE_KEY, 'sorted_set', 'Rank of a member, high to low', rankVariant(true)),
  command('zcount', 4, ReadOnly | Fast, ONE_KEY, 'sorted_set', 'Number of members in a score range', countVariant(By.Score)),
  command('zlexcount', 4, ReadOnly | Fast, ONE_KEY, 'sorted_set', 'Number of members in a lex range', countVariant(By.Lex)),
  command('zrandmember', -2, ReadOnly, ONE_KEY, 'sorted_set', 'Random members', zrandmemberCommand),
  command('zscan', -3, ReadOnly, ONE_KEY, 'sorted_set', 'Iterate members and scores by cursor', hscanVariant(KeyType.ZSet, true)),
  command('zremrangebyscore', 4, Write, ONE_KEY, 'sorted_set', 'Remove members in a score range', removeRangeVariant(By.Score)),
  command('zremrangebyrank', 4, Write, ONE_KEY, 'sorted_set', 'Remove members in a rank range', removeRangeVariant(By.Rank)),
  command('zremrangebylex', 4, Write, ONE_KEY, 'sorted_set', 'Remove members in a lex range', removeRangeVariant(By.Lex)),
];

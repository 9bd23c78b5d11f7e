// The rows of a sorted set: a header of KeyType.ZSet and one Field row per member whose
// base value is the score as Redis prints it (%.17g), recording the slot totals it
// observed; ZINCRBY (and ZADD INCR) add to this node's Slot row of the member, as
// HINCRBYFLOAT does for a hash field, so increments made concurrently on other nodes all
// count: score = base + every origin's unobserved float increments. Order by score is
// the keyspace's score index (src/core/score-indexes.ts, local and rebuilt, never
// stored); range commands read it through zset-order.ts.
import { Buffer } from 'node:buffer';
import { parseLongDouble } from '../core/counters.js';
import { scoreOfBase } from '../core/score-indexes.js';
import { bytesToMapKey, utf8 } from '../core/bytes.js';
import type { ClientWrite } from '../core/io.js';
import { encodeHeader, encodeScoreValue, encodeSlotTotal, headerRowKey, KeyType, RowKind, rowKey, slotElement, ZERO_SLOT, type BaseValue, type SlotTotal } from '../core/rows.js';
import type { NodeId, VersionedRecord } from '../core/types.js';
import { appendArrayHeader, appendBulk, appendBulkText, appendInteger, type RespOutput, type RespVersion } from '../wire/resp.js';
import type { Engine } from './engine.js';
import { FieldSlots, fieldBase, fieldRowKey, headerLast, liveFieldRow, observedSlots, visitFields, type HashWriteTarget } from './hash-rows.js';
import type { CommandContext } from './context.js';
import { deleteWrite } from './typed-keys.js';

/** The header row value of every sorted set: the type alone. */
export const ZSET_HEADER = encodeHeader({ type: KeyType.ZSet, base: undefined });

export const NOT_FLOAT_ERROR = 'ERR value is not a valid float';
export const NAN_SCORE_ERROR = 'ERR resulting score is not a number (NaN)';

/** One member of a sorted set with its score. */
export interface ZEntry {
  readonly member: Uint8Array;
  readonly score: number;
}

/** Redis 7.0's d2string: integers in +-2^52 as integers, else %.17g; inf, -inf. */
export function scoreText(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  if (Number.isInteger(value) && Math.abs(value) < 2 ** 52) return String(value);
  const exponential = value.toExponential(16);
  const exponent = Number(exponential.slice(exponential.indexOf('e') + 1));
  if (exponent < -4 || exponent >= 17) {
    const [mantissa, power] = exponential.split('e') as [string, string];
    const trimmed = mantissa.includes('.') ? mantissa.replace(/0+$/, '').replace(/\.$/, '') : mantissa;
    const sign = power.startsWith('-') ? '-' : '+';
    const digits = power.replace(/^[+-]/, '');
    return `${trimmed}e${sign}${digits.length < 2 ? `0${digits}` : digits}`;
  }
  const fixed = value.toPrecision(17);
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

/** A score in a reply: a double in RESP3, its text in RESP2. */
export function appendScore(out: RespOutput, value: number, version: RespVersion): void {
  if (version === 3) {
    out.ascii(`,${scoreText(value)}`);
    out.crlf();
  } else {
    appendBulkText(out, scoreText(value));
  }
}

/** A score argument (strtod: inf allowed, NaN refused); undefined when not a float. */
export function parseScore(bytes: Uint8Array): number | undefined {
  const value = parseLongDouble(bytes);
  return value === undefined || Number.isNaN(value) ? undefined : value;
}

/** The score of a member's base with its counter slots applied (the score index computes it alike). */
export function scoreOf(base: BaseValue, slots: ReadonlyMap<NodeId, SlotTotal>): number {
  return scoreOfBase(base, slots);
}

/**
 * The member's score, undefined when it is not in the set (the caller checked the type):
 * from the score index where the engine has one (it equals what the rows say, without a
 * read of the member's row), else from its row and slots.
 */
export function memberScore(engine: Engine, key: Uint8Array, member: Uint8Array, slots?: FieldSlots): number | undefined {
  const index = engine.scoreIndex?.(key);
  if (index !== undefined) return index.scoreOf(bytesToMapKey(member));
  const row = liveFieldRow(engine, key, member);
  if (row === undefined) return undefined;
  return scoreOf(fieldBase(row), (slots ?? new FieldSlots(engine, key, false)).of(member));
}

/** Every member with its score, sorted by (score, member bytes) as Redis orders them: from the score index when the engine has one. */
export function loadEntries(engine: Engine, key: Uint8Array): ZEntry[] {
  const index = engine.scoreIndex?.(key);
  if (index === undefined) return loadRowEntries(engine, key);
  const entries: ZEntry[] = [];
  index.visit(0, false, (score, member) => entries.push({ member: Buffer.from(member, 'latin1'), score }) > 0);
  return entries;
}

/** loadEntries from the member rows (and their slots), sorted here: the truth the score index must equal. */
export function loadRowEntries(engine: Engine, key: Uint8Array): ZEntry[] {
  const slots = new FieldSlots(engine, key, true);
  const entries: ZEntry[] = [];
  visitFields(engine, key, undefined, Infinity, (member: Uint8Array, row: VersionedRecord) => {
    const copy = Uint8Array.from(member);
    entries.push({ member: copy, score: scoreOf(fieldBase(row), slots.of(copy)) });
  });
  return entries.sort(compareEntries);
}

export function compareEntries(a: ZEntry, b: ZEntry): number {
  if (a.score !== b.score) return a.score < b.score ? -1 : 1;
  return Buffer.compare(a.member, b.member);
}

/** A member's Field row: base `bytes` (a score's text) flagged a score (rows.ts encodeScoreValue), recording the slots it resets. */
export function scoredMemberWrite(key: Uint8Array, member: Uint8Array, bytes: Uint8Array, observed: ReadonlyMap<NodeId, SlotTotal>): ClientWrite {
  return { key: fieldRowKey(key, member), value: encodeScoreValue({ bytes, observed }), expiresAtMs: 0 };
}

/** The Field row giving member the score `score` (a new base, resetting the slots it observed). */
export function scoreWrite(engine: Engine, key: Uint8Array, member: Uint8Array, score: number, target: HashWriteTarget): ClientWrite {
  return scoredMemberWrite(key, member, utf8(scoreText(score)), observedSlots(engine, key, member, target));
}

/** A plain score row for a copied or stored sorted set (no slots observed). */
export function plainScoreWrite(key: Uint8Array, member: Uint8Array, score: number): ClientWrite {
  return scoredMemberWrite(key, member, utf8(scoreText(score)), new Map());
}

/**
 * The rows of an increment of member's score by `increment` on this node's slot (a
 * missing member gets base "0" first), and the score it reads with afterwards; where the
 * slot cannot carry it (an infinite result or base), a new base instead.
 */
export function incrementWrites(
  engine: Engine,
  key: Uint8Array,
  member: Uint8Array,
  target: HashWriteTarget,
  increment: number,
): { writes: ClientWrite[]; score: number } | typeof NAN_SCORE_ERROR {
  const row = target.created ? undefined : liveFieldRow(engine, key, member);
  const slots = observedSlots(engine, key, member, target);
  const base: BaseValue = row === undefined ? { bytes: utf8('0'), observed: slots } : fieldBase(row);
  const current = scoreOf(base, slots);
  const expected = current + increment;
  if (Number.isNaN(expected)) return NAN_SCORE_ERROR;
  const writes = target.writes.slice();
  const own = slots.get(engine.nodeId()) ?? ZERO_SLOT;
  const next: SlotTotal = { integer: own.integer, float: own.float + increment };
  const score = scoreOf(base, new Map(slots).set(engine.nodeId(), next));
  if (!Number.isFinite(expected) || !Number.isFinite(current) || !Number.isFinite(next.float) || !Number.isFinite(score)) {
    writes.push(scoredMemberWrite(key, member, utf8(scoreText(expected)), slots));
    return { writes, score: expected };
  }
  if (row === undefined) writes.push(scoredMemberWrite(key, member, base.bytes, slots));
  writes.push({ key: rowKey(key, RowKind.Slot, slotElement(member, engine.nodeId())), value: encodeSlotTotal(next), expiresAtMs: 0 });
  return { writes, score };
}

/** Members (and, WITHSCORES, their scores: pairs in RESP3) as a reply. */
export function appendEntries(session: CommandContext, entries: readonly ZEntry[], withScores: boolean): void {
  const out = session.out;
  const version = session.protocol;
  appendArrayHeader(out, withScores && version === 2 ? entries.length * 2 : entries.length);
  for (const entry of entries) {
    if (withScores && version === 3) appendArrayHeader(out, 2);
    appendBulk(out, entry.member);
    if (withScores) appendScore(out, entry.score, version);
  }
}

/** Replace destination by a sorted set of these entries (delete it when there are none); replies with the count. */
export function storeZset(session: CommandContext, destination: Uint8Array, entries: readonly ZEntry[]): void {
  const engine = session.engine;
  const start = session.out.length;
  appendInteger(session.out, entries.length);
  const writes: ClientWrite[] = [deleteWrite(destination)];
  if (entries.length === 0) {
    if (engine.get(headerRowKey(destination)) === undefined && engine.fieldCount(destination) === 0) return;
  } else {
    writes.push({ key: headerRowKey(destination), value: ZSET_HEADER, expiresAtMs: 0 });
    for (const entry of entries) writes.push(plainScoreWrite(destination, entry.member, entry.score));
  }
  session.deferWrite(engine.write(headerLast(writes)), start);
}

// The rows the set, sorted-set and list commands write (src/server/sets.ts, zset-rows.ts,
// list-rows.ts, list-edits.ts), decided from what a simulated node reads, without
// importing src/server: SADD SREM ZADD ZINCRBY RPUSH LPUSH LPOP LINSERT. As the server
// does, a write that creates a key over an expired one clears it first, a set's or list's
// header is rewritten after the elements of its batch (so an element that survives a
// concurrent clear keeps a header; a sorted set's members are flagged scores and name
// their type without one, so its header is written only when missing), and removing the last element this node sees writes
// the key's clear first. List positions come from the node's position clock (sequence =
// max(last + 1, wall ms x 1024), reset when the process restarts), as list-rows.ts makes them.
import { parseLongDouble, unobservedIncrements } from '../../src/core/counters.js';
import { compareBytes, utf8 } from '../../src/core/bytes.js';
import type { ClientWrite } from '../../src/core/io.js';
import { encodeSortableInt, positionBetween, POSITION_SUFFIX_BYTES } from '../../src/core/list-positions.js';
import { writeNodeId } from '../../src/core/node-id-bytes.js';
import { clearRowKey, decodeFieldValue, encodeHeader, encodeScoreValue, headerRowKey, headerType, KeyType, kindPrefix, rowKey, RowKind } from '../../src/core/rows.js';
import { isHeaderless } from '../../src/core/keyspace.js';
import type { NodeId, VersionedRecord } from '../../src/core/types.js';
import type { BatchView } from './batch-view.js';
import { elementCount, expiredHeader, listItems, liveHeader, readSlots, type SlotRead } from './row-reads.js';

/** What the collection commands need from the batch builder (typed-ops.ts). */
export interface BatchContext {
  readonly view: BatchView;
  readonly self: NodeId;
  push(write: ClientWrite): void;
  pushBase(write: ClientWrite, observed: ReadonlyMap<NodeId, number> | undefined): void;
  observe(slots: SlotRead): Map<NodeId, number>;
  skip(): void;
  incrementSlot(key: Uint8Array, counted: Uint8Array, delta: bigint, type: KeyType): void;
  /** The node's position clock (list-rows.ts nextSequence). */
  nextPositionSequence(): number;
  /** A Field row written by a set or sorted-set command (its removal is checked as a member's). */
  noteMember(row: Uint8Array): void;
  /** Two Item rows whose order the command fixed: `earlier` sorts before `later` wherever both live. */
  noteOrder(earlier: Uint8Array, later: Uint8Array, what: string): void;
  /** An element pushed at one end. */
  notePush(key: Uint8Array, row: Uint8Array, left: boolean): void;
}

const EMPTY = new Uint8Array(0);
const ZERO_TEXT = utf8('0');

/** What a write to a collection starts from (hashWriteTarget / listWriteTarget). */
interface Target {
  readonly before: ClientWrite[];
  /** Rewritten after the elements: same type and expiry, or the new key's header (none for a sorted set that has one). */
  readonly header: ClientWrite | undefined;
  readonly created: boolean;
}

function targetOf(view: BatchView, key: Uint8Array, type: KeyType): Target | undefined {
  const header = liveHeader(view, key);
  if (header !== undefined) {
    if (headerType(header.value!) !== type) return undefined;
    if (type === KeyType.ZSet && !isHeaderless(header)) return { before: [], header: undefined, created: false };
    return { before: [], header: { key: headerRowKey(key), value: header.value, expiresAtMs: header.expiresAtMs }, created: false };
  }
  const created: ClientWrite = { key: headerRowKey(key), value: encodeHeader({ type, base: undefined }), expiresAtMs: 0 };
  return { before: expiredHeader(view, key) ? [{ key: clearRowKey(key), value: null, expiresAtMs: 0 }] : [], header: created, created: true };
}

function liveRow(view: BatchView, row: Uint8Array): VersionedRecord | undefined {
  const stored = view.get(row);
  return stored === undefined || stored.value === null ? undefined : stored;
}

/** The live header of key if it holds `type`. */
function headerOf(view: BatchView, key: Uint8Array, type: KeyType): VersionedRecord | undefined {
  const header = liveHeader(view, key);
  return header !== undefined && headerType(header.value!) === type ? header : undefined;
}

/** The removal of live element rows: the key's clear first when they are every element this node sees. */
function remove(context: BatchContext, key: Uint8Array, row: Uint8Array): void {
  if (elementCount(context.view, key) <= 1) context.push({ key: clearRowKey(key), value: null, expiresAtMs: 0 });
  context.push({ key: row, value: null, expiresAtMs: 0 });
}

export function sadd(context: BatchContext, key: Uint8Array, member: Uint8Array): void {
  const target = targetOf(context.view, key, KeyType.Set);
  const row = rowKey(key, RowKind.Field, member);
  if (target === undefined || (!target.created && liveRow(context.view, row) !== undefined)) return context.skip();
  for (const write of target.before) context.push(write);
  context.push({ key: row, value: EMPTY, expiresAtMs: 0 });
  context.noteMember(row);
  context.push(target.header!); // a set always has one to write
}

export function srem(context: BatchContext, key: Uint8Array, member: Uint8Array): void {
  const row = rowKey(key, RowKind.Field, member);
  if (headerOf(context.view, key, KeyType.Set) === undefined || liveRow(context.view, row) === undefined) return context.skip();
  context.noteMember(row);
  remove(context, key, row);
}

/** The member's score with its slots applied (zset-rows.ts scoreOf). */
function scoreOf(view: BatchView, key: Uint8Array, row: VersionedRecord, member: Uint8Array): number {
  const base = decodeFieldValue(row.value!);
  if (base === undefined) return 0;
  const slots = readSlots(view, key, member).totals;
  const parsed = parseLongDouble(base.bytes) ?? 0;
  if (slots.size === 0) return parsed;
  const increments = unobservedIncrements(base, slots);
  return parsed + Number(increments.integer) + increments.float;
}

/** ZADD key score member (no flags): a new base observing the member's slots, unless the score is the same. */
export function zadd(context: BatchContext, key: Uint8Array, member: Uint8Array, score: number): void {
  const view = context.view;
  const target = targetOf(view, key, KeyType.ZSet);
  if (target === undefined) return context.skip();
  const row = rowKey(key, RowKind.Field, member);
  const current = target.created ? undefined : liveRow(view, row);
  if (current !== undefined && scoreOf(view, key, current, member) === score) return context.skip();
  for (const write of target.before) context.push(write);
  const slots = readSlots(view, key, member);
  context.pushBase({ key: row, value: encodeScoreValue({ bytes: utf8(String(score)), observed: slots.totals }), expiresAtMs: 0 }, context.observe(slots));
  context.noteMember(row);
  if (target.header !== undefined) context.push(target.header);
}

/** ZINCRBY: a missing member gets base "0" (observing its slots) first, then this node's slot grows. */
export function zincrby(context: BatchContext, key: Uint8Array, member: Uint8Array, delta: bigint): void {
  const view = context.view;
  const target = targetOf(view, key, KeyType.ZSet);
  if (target === undefined) return context.skip();
  for (const write of target.before) context.push(write);
  const row = rowKey(key, RowKind.Field, member);
  if (target.created || liveRow(view, row) === undefined) {
    const slots = readSlots(view, key, member);
    context.pushBase({ key: row, value: encodeScoreValue({ bytes: ZERO_TEXT, observed: slots.totals }), expiresAtMs: 0 }, context.observe(slots));
    context.noteMember(row);
  }
  context.incrementSlot(key, member, delta, KeyType.ZSet);
  if (target.header !== undefined) context.push(target.header);
}

function positionSuffix(self: NodeId, sequence: number): Uint8Array {
  const suffix = new Uint8Array(POSITION_SUFFIX_BYTES);
  writeNodeId(suffix, 0, self);
  new DataView(suffix.buffer).setBigUint64(16, BigInt(sequence));
  return suffix;
}

/** list-rows.ts endPosition: +-sequence, then the node's suffix. */
function endPosition(context: BatchContext, left: boolean): Uint8Array {
  const sequence = context.nextPositionSequence();
  const integer = encodeSortableInt(left ? -sequence : sequence);
  const suffix = positionSuffix(context.self, sequence);
  const position = new Uint8Array(integer.length + 1 + suffix.length);
  position.set(integer, 0);
  position.set(suffix, integer.length + 1);
  return position;
}

/** list-rows.ts positionBetweenItems. */
function positionBetweenItems(context: BatchContext, before: Uint8Array | undefined, after: Uint8Array | undefined): Uint8Array {
  if (before === undefined || after === undefined) {
    const position = endPosition(context, before === undefined);
    if (before === undefined && (after === undefined || compareBytes(position, after) < 0)) return position;
    if (after === undefined && compareBytes(position, before!) > 0) return position;
  }
  return positionBetween(before, after, positionSuffix(context.self, context.nextPositionSequence()));
}

/** RPUSH / LPUSH of one element: target's rows, the element at a fresh end position, the header. */
export function push(context: BatchContext, key: Uint8Array, value: Uint8Array, left: boolean): void {
  const target = targetOf(context.view, key, KeyType.List);
  if (target === undefined) return context.skip();
  for (const write of target.before) context.push(write);
  const row = rowKey(key, RowKind.Item, endPosition(context, left));
  context.push({ key: row, value, expiresAtMs: 0 });
  context.notePush(key, row, left);
  context.push(target.header!); // a list always has one to write
}

export function lpop(context: BatchContext, key: Uint8Array): void {
  const view = context.view;
  if (headerOf(view, key, KeyType.List) === undefined) return context.skip();
  const first = listItems(view, key)[0];
  if (first === undefined) return context.skip();
  remove(context, key, first.key);
}

/** LINSERT key BEFORE|AFTER pivot value, the pivot being the live item at pivotPick (mod length). */
export function linsert(context: BatchContext, key: Uint8Array, before: boolean, pivotPick: number, value: Uint8Array): void {
  const view = context.view;
  const header = headerOf(view, key, KeyType.List);
  const items = header === undefined ? [] : listItems(view, key);
  if (items.length === 0) return context.skip();
  const index = pivotPick % items.length;
  const prefixLength = kindPrefix(key, RowKind.Item).length;
  const positionOf = (item: VersionedRecord | undefined): Uint8Array | undefined => item?.key.subarray(prefixLength);
  const pivot = items[index]!;
  const neighbour = before ? items[index - 1] : items[index + 1];
  const position = before ? positionBetweenItems(context, positionOf(neighbour), positionOf(pivot)) : positionBetweenItems(context, positionOf(pivot), positionOf(neighbour));
  const row = rowKey(key, RowKind.Item, position);
  context.push({ key: row, value, expiresAtMs: 0 });
  context.push({ key: headerRowKey(key), value: header!.value, expiresAtMs: header!.expiresAtMs });
  const [low, high] = before ? [neighbour, pivot] : [pivot, neighbour];
  if (low !== undefined) context.noteOrder(low.key, row, 'LINSERT');
  if (high !== undefined) context.noteOrder(row, high.key, 'LINSERT');
}

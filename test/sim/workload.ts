// Client traffic of one seed: typed commands (SET, DEL, INCRBY, HSET, HINCRBY, HDEL,
// EXPIRE/PERSIST, FLUSHALL, SADD, SREM, ZADD, ZINCRBY, RPUSH, LPUSH, LPOP, LINSERT), some
// in MULTI batches, and reads, on every node, over a small key space, so that concurrent
// writes to one key, concurrent increments, pushes and removes are common. Each key has a
// family (strings and hashes, sets, sorted sets, lists) that its family's commands use;
// a few commands go to a key of any family (WRONGTYPE, or a new type after a DEL), and
// DEL and EXPIRE go to any key. Which rows a command writes is decided on the node, from
// what it reads (typed-ops.ts, collection-ops.ts).
import { utf8 } from '../../src/core/bytes.js';
import type { Rng } from '../../src/core/rng.js';
import type { TypedOp } from './typed-ops.js';

export interface WorkloadLevels {
  readonly keyCount: number;
  readonly fieldCount: number;
  /** Mean virtual ms between two client operations on one node. */
  readonly meanGapMs: number;
  /** Share of operations that are reads (the rest write). */
  readonly readShare: number;
  /** Relative weights of the write commands (TypedOp cmd -> weight). */
  readonly weights: readonly (readonly [Command, number])[];
  /** Share of SETs that carry a TTL, and of EXPIREs that PERSIST instead. */
  readonly ttlShare: number;
  readonly persistShare: number;
  /** Share of writes that are MULTI batches of several commands. */
  readonly multiShare: number;
  /** Probability that an acknowledged write is followed by WAIT. */
  readonly waitShare: number;
  /**
   * Mean virtual ms between two coordinated type conflicts: two nodes create one absent key
   * at the same wall-clock ms, one as a string, one as a hash (Infinity: none this seed).
   */
  readonly conflictMeanGapMs: number;
}

type Command = TypedOp['cmd'];

export type ClientOp = { readonly kind: 'read' } | { readonly kind: 'write'; readonly ops: readonly TypedOp[] };

export function drawWorkloadLevels(rng: Rng): WorkloadLevels {
  const weights: [Command, number][] = [
    ['set', 1 + rng.nextInt(4)],
    ['del', 0.2 + rng.nextFloat()],
    ['incrby', 1 + rng.nextInt(4)],
    ['hset', 1 + rng.nextInt(3)],
    ['hincrby', 1 + rng.nextInt(3)],
    ['hdel', 0.2 + rng.nextFloat()],
    ['expire', rng.nextFloat() * 0.6],
    // FLUSHALL is rare: most seeds see none, some a few.
    ['flushall', rng.nextFloat() < 0.3 ? rng.nextFloat() * 0.02 : 0],
    ['sadd', 0.5 + rng.nextFloat() * 2],
    ['srem', 0.2 + rng.nextFloat()],
    ['zadd', 0.3 + rng.nextFloat()],
    ['zincrby', 0.5 + rng.nextFloat() * 2],
    ['rpush', 0.5 + rng.nextFloat() * 2],
    ['lpush', 0.3 + rng.nextFloat()],
    ['lpop', 0.2 + rng.nextFloat()],
    ['linsert', 0.2 + rng.nextFloat()],
  ];
  return {
    keyCount: FAMILY_COUNT + rng.nextInt(20),
    fieldCount: 1 + rng.nextInt(4),
    meanGapMs: 40 + rng.nextInt(400),
    readShare: rng.nextFloat() * 0.5,
    weights,
    ttlShare: rng.nextFloat() * 0.3,
    persistShare: rng.nextFloat() * 0.5,
    multiShare: rng.nextFloat() * 0.2,
    waitShare: rng.nextFloat() * 0.2,
    conflictMeanGapMs: rng.nextFloat() < 0.8 ? 500 + rng.nextInt(4_000) : Infinity,
  };
}

/** TTLs run from a fraction of a second to longer than the chaos phase. */
const TTL_MIN_MS = 50;
const TTL_SPAN_MS = 8_000;
const MULTI_COMMANDS_MAX = 4;
/** Increments are positive, so each origin's running total only grows. */
const DELTA_MAX = 9;
/** Share of SET/HSET values that are not numbers (INCR on them is refused). */
const TEXT_VALUE_SHARE = 0.1;
/** ZADD scores are integers below this (float slots then sum exactly). */
const SCORE_MAX = 100;
/** Key families: 0 strings and hashes, 1 sets, 2 sorted sets, 3 lists (key index mod 4). */
const FAMILY_COUNT = 4;
/** Share of family commands sent to a key of any family. */
const CROSS_FAMILY_SHARE = 0.05;

function familyOf(command: Command): number {
  switch (command) {
    case 'sadd':
    case 'srem':
      return 1;
    case 'zadd':
    case 'zincrby':
      return 2;
    case 'rpush':
    case 'lpush':
    case 'lpop':
    case 'linsert':
      return 3;
    case 'del':
    case 'expire':
    case 'flushall':
      return -1;
    default:
      return 0;
  }
}

export class Workload {
  private counter = 0;
  private readonly keys: Uint8Array[];
  private readonly fields: Uint8Array[];
  private readonly weightTotal: number;

  constructor(
    readonly levels: WorkloadLevels,
    private readonly rng: Rng,
  ) {
    this.keys = Array.from({ length: levels.keyCount }, (_, index) => utf8(`k${index}`));
    this.fields = Array.from({ length: levels.fieldCount }, (_, index) => utf8(`f${index}`));
    this.weightTotal = levels.weights.reduce((sum, [, weight]) => sum + weight, 0);
  }

  /** Virtual ms until the node's next operation (exponential gaps). */
  nextGapMs(): number {
    return 1 + Math.floor(-Math.log(1 - this.rng.nextFloat()) * this.levels.meanGapMs);
  }

  nextOp(nodeIndex: number): ClientOp {
    const rng = this.rng;
    if (rng.nextFloat() < this.levels.readShare) return { kind: 'read' };
    const count = rng.nextFloat() < this.levels.multiShare ? 2 + rng.nextInt(MULTI_COMMANDS_MAX - 1) : 1;
    const ops: TypedOp[] = [];
    for (let index = 0; index < count; index++) ops.push(this.nextCommand(nodeIndex));
    return { kind: 'write', ops };
  }

  wantsWait(): boolean {
    return this.rng.nextFloat() < this.levels.waitShare;
  }

  /** WAIT replicas (1..peerCount) and timeout for one acknowledged write. */
  drawWait(peerCount: number): { replicas: number; timeoutMs: number } {
    return { replicas: 1 + this.rng.nextInt(Math.max(1, peerCount)), timeoutMs: this.rng.nextInt(2_000) };
  }

  /** Index into a list of length `bound` (reads, conflicting nodes). */
  pickIndex(bound: number): number {
    return this.rng.nextInt(bound);
  }

  /** Virtual ms until the next coordinated type conflict (Infinity: none). */
  nextConflictGapMs(): number {
    const mean = this.levels.conflictMeanGapMs;
    return Number.isFinite(mean) ? 1 + Math.floor(-Math.log(1 - this.rng.nextFloat()) * mean) : Infinity;
  }

  /** The keys, from a random one on, for a conflict to find one absent on both nodes. */
  keysFromRandom(): Uint8Array[] {
    const start = this.rng.nextInt(this.keys.length);
    return [...this.keys.slice(start), ...this.keys.slice(0, start)];
  }

  /** The two creations of a type conflict on key: a string on one node, a hash on the other. */
  conflictOps(key: Uint8Array, stringNode: number, hashNode: number): [TypedOp, TypedOp] {
    const rng = this.rng;
    const field = this.pick(this.fields);
    const asString: TypedOp = rng.nextFloat() < 0.5 ? { cmd: 'set', key, value: this.value(stringNode), ttlMs: 0 } : { cmd: 'incrby', key, delta: BigInt(1 + rng.nextInt(DELTA_MAX)) };
    const asHash: TypedOp = rng.nextFloat() < 0.5 ? { cmd: 'hset', key, field, value: this.value(hashNode) } : { cmd: 'hincrby', key, field, delta: BigInt(1 + rng.nextInt(DELTA_MAX)) };
    return [asString, asHash];
  }

  private nextCommand(nodeIndex: number): TypedOp {
    const rng = this.rng;
    const command = this.pickCommand();
    const family = familyOf(command);
    const key = family < 0 || rng.nextFloat() < CROSS_FAMILY_SHARE ? this.pick(this.keys) : this.pickOfFamily(family);
    switch (command) {
      case 'set':
        return { cmd: 'set', key, value: this.value(nodeIndex), ttlMs: rng.nextFloat() < this.levels.ttlShare ? this.ttlMs() : 0 };
      case 'del':
        return { cmd: 'del', key };
      case 'incrby':
        return { cmd: 'incrby', key, delta: BigInt(1 + rng.nextInt(DELTA_MAX)) };
      case 'hset':
        return { cmd: 'hset', key, field: this.pick(this.fields), value: this.value(nodeIndex) };
      case 'hincrby':
        return { cmd: 'hincrby', key, field: this.pick(this.fields), delta: BigInt(1 + rng.nextInt(DELTA_MAX)) };
      case 'hdel':
        return { cmd: 'hdel', key, field: this.pick(this.fields) };
      case 'expire':
        return { cmd: 'expire', key, ttlMs: rng.nextFloat() < this.levels.persistShare ? 0 : this.ttlMs() };
      case 'flushall':
        return { cmd: 'flushall' };
      case 'sadd':
      case 'srem':
        return { cmd: command, key, member: this.pick(this.fields) };
      case 'zadd':
        return { cmd: 'zadd', key, member: this.pick(this.fields), score: rng.nextInt(SCORE_MAX) };
      case 'zincrby':
        return { cmd: 'zincrby', key, member: this.pick(this.fields), delta: BigInt(1 + rng.nextInt(DELTA_MAX)) };
      case 'rpush':
      case 'lpush':
        return { cmd: command, key, value: this.element(nodeIndex) };
      case 'lpop':
        return { cmd: 'lpop', key };
      case 'linsert':
        return { cmd: 'linsert', key, before: rng.nextFloat() < 0.5, pivotPick: rng.nextInt(1 << 20), value: this.element(nodeIndex) };
    }
  }

  /** A key of the family (index mod FAMILY_COUNT); keyCount >= FAMILY_COUNT, so there is one. */
  private pickOfFamily(family: number): Uint8Array {
    const perFamily = Math.ceil((this.keys.length - family) / FAMILY_COUNT);
    return this.keys[family + FAMILY_COUNT * this.rng.nextInt(perFamily)]!;
  }

  /** A unique list element: a replica holding it twice, or in another place, shows. */
  private element(nodeIndex: number): Uint8Array {
    return utf8(`e${nodeIndex}.${++this.counter}`);
  }

  private pickCommand(): Command {
    let roll = this.rng.nextFloat() * this.weightTotal;
    for (const [command, weight] of this.levels.weights) {
      roll -= weight;
      if (roll < 0) return command;
    }
    return 'set';
  }

  /** A unique value (a replica holding the wrong one for a version shows), mostly a number. */
  private value(nodeIndex: number): Uint8Array {
    const unique = ++this.counter;
    if (this.rng.nextFloat() < TEXT_VALUE_SHARE) return utf8(`n${nodeIndex}.${unique}`);
    return utf8(String(unique * 10 + nodeIndex));
  }

  private ttlMs(): number {
    return TTL_MIN_MS + this.rng.nextInt(TTL_SPAN_MS);
  }

  private pick<T>(items: readonly T[]): T {
    return items[this.rng.nextInt(items.length)]!;
  }
}

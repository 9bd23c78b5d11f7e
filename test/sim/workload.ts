// Client traffic of one seed: writes, deletes, TTL writes, multi-key writes and reads on
// every node, over a small key space so that concurrent writes to one key are common.
import { utf8 } from '../../src/core/bytes.js';
import type { ClientWrite } from '../../src/core/io.js';
import type { Rng } from '../../src/core/rng.js';

export interface WorkloadLevels {
  readonly keyCount: number;
  /** Mean virtual ms between two client operations on one node. */
  readonly meanGapMs: number;
  /** Share of operations that are reads (the rest write). */
  readonly readShare: number;
  /** Share of writes that delete, and that carry a TTL. */
  readonly deleteShare: number;
  readonly ttlShare: number;
  /** Probability that an acknowledged write is followed by WAIT. */
  readonly waitShare: number;
}

export type ClientOp =
  | { readonly kind: 'read'; readonly key: Uint8Array }
  | { readonly kind: 'write'; readonly writes: readonly ClientWrite[] };

export function drawWorkloadLevels(rng: Rng): WorkloadLevels {
  return {
    keyCount: 2 + rng.nextInt(30),
    meanGapMs: 40 + rng.nextInt(400),
    readShare: rng.nextFloat() * 0.5,
    deleteShare: 0.05 + rng.nextFloat() * 0.3,
    ttlShare: rng.nextFloat() * 0.3,
    waitShare: rng.nextFloat() * 0.2,
  };
}

/** TTLs run from a fraction of a second to longer than the chaos phase. */
const TTL_MIN_MS = 50;
const TTL_SPAN_MS = 8_000;
const MULTI_KEY_SHARE = 0.15;
const MULTI_KEY_MAX = 3;

export class Workload {
  private counter = 0;
  private readonly keys: Uint8Array[];

  constructor(
    readonly levels: WorkloadLevels,
    private readonly rng: Rng,
  ) {
    this.keys = Array.from({ length: levels.keyCount }, (_, index) => utf8(`k${index}`));
  }

  /** Virtual ms until the node's next operation (exponential gaps). */
  nextGapMs(): number {
    return 1 + Math.floor(-Math.log(1 - this.rng.nextFloat()) * this.levels.meanGapMs);
  }

  nextOp(nodeIndex: number, nodeNowMs: number): ClientOp {
    const rng = this.rng;
    if (rng.nextFloat() < this.levels.readShare) return { kind: 'read', key: this.pickKey() };
    const count = rng.nextFloat() < MULTI_KEY_SHARE ? 2 + rng.nextInt(MULTI_KEY_MAX - 1) : 1;
    const writes: ClientWrite[] = [];
    for (let index = 0; index < count; index++) {
      const key = this.pickKey();
      const roll = rng.nextFloat();
      if (roll < this.levels.deleteShare) {
        writes.push({ key, value: null, expiresAtMs: 0 });
      } else {
        // Unique values, so a replica holding the wrong one for a version is visible.
        const value = utf8(`n${nodeIndex}.${++this.counter}`);
        const ttl = roll < this.levels.deleteShare + this.levels.ttlShare;
        writes.push({ key, value, expiresAtMs: ttl ? nodeNowMs + TTL_MIN_MS + rng.nextInt(TTL_SPAN_MS) : 0 });
      }
    }
    return { kind: 'write', writes };
  }

  wantsWait(): boolean {
    return this.rng.nextFloat() < this.levels.waitShare;
  }

  /** WAIT replicas (1..peerCount) and timeout for one acknowledged write. */
  drawWait(peerCount: number): { replicas: number; timeoutMs: number } {
    return { replicas: 1 + this.rng.nextInt(Math.max(1, peerCount)), timeoutMs: this.rng.nextInt(2_000) };
  }

  private pickKey(): Uint8Array {
    return this.keys[this.rng.nextInt(this.keys.length)]!;
  }
}

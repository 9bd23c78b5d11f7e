// Test harness for anti-entropy: a tiny sorted in-memory StoreView, a replica (store +
// Merkle tree + AntiEntropy) that merges what it receives by LWW, and a FIFO message pump
// between replicas that sends every message through msgpackr and isAntiEntropyMessage,
// like the real wire does.
import { pack, unpack } from 'msgpackr';
import { AntiEntropy, isAntiEntropyMessage, type AntiEntropyMessage } from '../../src/core/antientropy.js';
import { bytesToMapKey, compareBytes, KEY_BUCKET_COUNT } from '../../src/core/bytes.js';
import { rowBucket, rowPrefixBucket } from '../../src/core/rows.js';
import { DEFAULT_CORE_CONFIG, type CoreConfig } from '../../src/core/config.js';
import type { Effect } from '../../src/core/io.js';
import { MerkleTree } from '../../src/core/merkle.js';
import { mergeRecords } from '../../src/core/record.js';
import type { NodeId, VersionedRecord } from '../../src/core/types.js';
import { rangePageOfSorted, rowPageOf, type RangePage, type RowPage, type ScanResult, type StoreView } from '../../src/core/store-view.js';

/** Records per bucket, each bucket sorted by key on scan; follows the StoreView contract exactly. */
export class SortedStoreView implements StoreView {
  private readonly buckets = new Map<number, Map<string, VersionedRecord>>();

  get(key: Uint8Array): VersionedRecord | undefined {
    return this.buckets.get(rowBucket(key))?.get(bytesToMapKey(key));
  }

  put(record: VersionedRecord): void {
    const bucket = rowBucket(record.key);
    let slot = this.buckets.get(bucket);
    if (slot === undefined) this.buckets.set(bucket, (slot = new Map()));
    slot.set(bytesToMapKey(record.key), record);
  }

  scanRows(prefix: Uint8Array, after: Uint8Array | undefined, limitRecords: number): RowPage {
    return rowPageOf(this.buckets.get(rowPrefixBucket(prefix))?.values() ?? [], prefix, after, limitRecords);
  }

  scanBuckets(fromBucket: number, toBucketExclusive: number, limitRecords: number): ScanResult {
    const records: VersionedRecord[] = [];
    for (let bucket = fromBucket; bucket < toBucketExclusive; bucket++) {
      if (records.length >= limitRecords) return { records, nextBucket: bucket };
      const slot = this.buckets.get(bucket);
      if (slot !== undefined) records.push(...[...slot.values()].sort((a, b) => compareBytes(a.key, b.key)));
    }
    return { records, nextBucket: KEY_BUCKET_COUNT };
  }

  scanFrom(fromBucket: number, after: Uint8Array | undefined, limitRecords: number): RangePage {
    return rangePageOfSorted(this.all(), (record) => record, (record) => rowBucket(record.key), fromBucket, after, limitRecords);
  }

  all(): VersionedRecord[] {
    return this.scanBuckets(0, KEY_BUCKET_COUNT, Number.MAX_SAFE_INTEGER).records;
  }
}

export class Replica {
  readonly view = new SortedStoreView();
  readonly tree = new MerkleTree();
  readonly antiEntropy: AntiEntropy;
  readonly logs: Extract<Effect, { kind: 'log' }>[] = [];

  constructor(
    readonly id: NodeId,
    records: Iterable<VersionedRecord>,
    config: CoreConfig = DEFAULT_CORE_CONFIG,
  ) {
    for (const record of records) this.merge(record);
    this.antiEntropy = new AntiEntropy(id, this.tree, this.view, config, 0);
  }

  /** What the node core does with a received or written record: LWW merge, tree update. */
  merge(remote: VersionedRecord): void {
    const before = this.view.get(remote.key);
    const winner = mergeRecords(before, remote);
    if (winner === before) return;
    this.view.put(winner);
    this.tree.update(remote.key, before, winner);
  }
}

export interface Delivery {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly message: AntiEntropyMessage;
  readonly packedBytes: number;
}

/** A FIFO network between replicas; `deliver` may drop or inspect messages. */
export class Pump {
  readonly queue: Delivery[] = [];
  readonly delivered: Delivery[] = [];
  private readonly replicas = new Map<NodeId, Replica>();
  /** Most unacknowledged aeRecords batches seen in flight from one sender. */
  inFlightMax = 0;
  private readonly inFlight = new Map<NodeId, number>();

  constructor(replicas: Replica[], readonly packMessages = true) {
    for (const replica of replicas) this.replicas.set(replica.id, replica);
  }

  /** Queue the sends among effects and keep the logs of `from`. */
  take(from: NodeId, effects: Effect[]): void {
    const replica = this.replicas.get(from)!;
    for (const effect of effects) {
      if (effect.kind === 'log') replica.logs.push(effect);
      else if (effect.kind === 'send') {
        let message = effect.message as AntiEntropyMessage;
        let packedBytes = 0;
        if (this.packMessages) {
          const bytes = pack(message);
          packedBytes = bytes.length;
          message = unpack(bytes) as AntiEntropyMessage;
        }
        if (!isAntiEntropyMessage(message)) throw new Error(`invalid message sent: ${JSON.stringify(effect.message)}`);
        if (message.type === 'aeRecords') this.countInFlight(from, 1);
        if (message.type === 'aeAck') this.countInFlight(effect.to, -1);
        this.queue.push({ from, to: effect.to, message, packedBytes });
      } else throw new Error(`unexpected effect ${effect.kind}`);
    }
  }

  private countInFlight(sender: NodeId, change: number): void {
    const count = (this.inFlight.get(sender) ?? 0) + change;
    this.inFlight.set(sender, count);
    if (count > this.inFlightMax) this.inFlightMax = count;
  }

  linkUp(a: Replica, b: Replica, nowMs: number): void {
    const outA: Effect[] = [];
    a.antiEntropy.onLinkUp(b.id, nowMs, outA);
    const outB: Effect[] = [];
    b.antiEntropy.onLinkUp(a.id, nowMs, outB);
    this.take(a.id, outA);
    this.take(b.id, outB);
  }

  /** Deliver one queued message; false when the queue is empty. */
  step(nowMs: number): boolean {
    const delivery = this.queue.shift();
    if (delivery === undefined) return false;
    this.delivered.push(delivery);
    const target = this.replicas.get(delivery.to)!;
    const out: Effect[] = [];
    const records = target.antiEntropy.onMessage(delivery.from, delivery.message, nowMs, out);
    for (const record of records) target.merge(record);
    this.take(target.id, out);
    return true;
  }

  run(nowMs: number, stepsMax = 1_000_000): void {
    let steps = 0;
    while (this.step(nowMs)) if (++steps > stepsMax) throw new Error('pump did not settle');
  }
}

/** Record sets of two replicas, as comparable strings. */
export function describeRecords(records: VersionedRecord[]): string[] {
  return records
    .map((record) => `${bytesToMapKey(record.key)}|${record.hlc.wallMs}.${record.hlc.logical}.${record.origin}|${record.value === null ? 'T' : bytesToMapKey(record.value)}|${record.expiresAtMs}`)
    .sort();
}

// The per-peer and per-round state of anti-entropy (see antientropy.ts for the protocol),
// and the wire-size estimates its counters report.
import type { AntiEntropyMessage } from './antientropy-messages.js';
import { createNodeBitmap } from './merkle.js';
import type { NodeId, VersionedRecord } from './types.js';

/** Estimated wire bytes of a record beyond its key and value (hlc, origin, field names). */
const RECORD_OVERHEAD_BYTES = 80;
/** Estimated wire bytes of a message beyond its payload arrays. */
const MESSAGE_OVERHEAD_BYTES = 40;

/** One round with one peer, from this side's point of view. */
export interface Session {
  readonly id: number;
  readonly initiator: boolean;
  /** root: initiator awaits the answer to aeRoot; descend: comparing levels; stream: exchanging records. */
  phase: 'root' | 'descend' | 'stream';
  readonly startedMs: number;
  lastActivityMs: number;
  /** Level of the next aeNodes we accept; MERKLE_LEAF_LEVEL + 1 means we await aeDiff. */
  expectedLevel: number;
  /** Differing nodes of the level being compared; in the stream phase, the differing buckets. */
  readonly differing: Uint8Array;
  /** Next bucket to scan for our outgoing stream. */
  cursor: number;
  /** Scanned records not yet sent (at most one scan result, so memory stays bounded). */
  pending: VersionedRecord[];
  pendingIndex: number;
  batchesSent: number;
  batchesAcked: number;
  sentDone: boolean;
  batchesReceived: number;
  receivedDone: boolean;
  recordsSent: number;
  recordsReceived: number;
  nextProgressLogRecords: number;
  /** Our big differing buckets whose rows wait for the peer's digests (or its end of stream). */
  readonly bigBuckets: Set<number>;
  /** Digests the peer sent before our stream started. */
  readonly peerDigests: Map<number, Uint8Array>;
  /** Big buckets to stream: all rows (subs undefined) or those of the differing sub-ranges, from `after`. */
  readonly bucketScans: BucketScan[];
}

export interface BucketScan {
  readonly bucket: number;
  /** BUCKET_DIGEST_COUNT-bit bitmap of the sub-ranges to send; undefined: every row. */
  readonly subs: Uint8Array | undefined;
  after: Uint8Array | undefined;
}

/** What we keep per peer; survives link flaps so status totals keep counting. */
export interface PeerState {
  readonly peer: NodeId;
  linked: boolean;
  session: Session | undefined;
  /** When the next periodic round is due (after the last one ended, on either side). */
  nextRoundMs: number;
  /** Highest session id the peer initiated on the current link: older aeRoots are stale copies. */
  peerSessionIdMax: number;
  rounds: number;
  keysSent: number;
  keysReceived: number;
}

export interface AntiEntropyStatus {
  readonly peer: NodeId;
  readonly inProgress: boolean;
  readonly keysSent: number;
  readonly keysReceived: number;
  readonly rounds: number;
}

export function recordBytesEstimate(record: VersionedRecord): number {
  return record.key.length + (record.value === null ? 0 : record.value.length) + RECORD_OVERHEAD_BYTES;
}

export function messageBytesEstimate(message: AntiEntropyMessage): number {
  switch (message.type) {
    case 'aeNodes':
      return MESSAGE_OVERHEAD_BYTES + message.hashes.length + message.parents.length * 3;
    case 'aeDiff':
      return MESSAGE_OVERHEAD_BYTES + message.ranges.length * 3;
    case 'aeBucketDigest':
      return MESSAGE_OVERHEAD_BYTES + message.hashes.length;
    case 'aeRecords': {
      let bytes = MESSAGE_OVERHEAD_BYTES;
      for (const record of message.records) bytes += recordBytesEstimate(record);
      return bytes;
    }
    default:
      return MESSAGE_OVERHEAD_BYTES;
  }
}

/** A fresh round: the initiator awaits the root answer, the responder starts comparing levels. */
export function newSession(id: number, initiator: boolean, nowMs: number, progressLogRecords: number): Session {
  return {
    id, initiator, phase: initiator ? 'root' : 'descend', startedMs: nowMs, lastActivityMs: nowMs,
    expectedLevel: 1, differing: createNodeBitmap(), cursor: 0, pending: [], pendingIndex: 0,
    batchesSent: 0, batchesAcked: 0, sentDone: false, batchesReceived: 0, receivedDone: false,
    recordsSent: 0, recordsReceived: 0, nextProgressLogRecords: progressLogRecords,
    bigBuckets: new Set(), peerDigests: new Map(), bucketScans: [],
  };
}

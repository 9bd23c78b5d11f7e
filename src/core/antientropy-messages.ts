// Anti-entropy messages and their structural checks (the protocol is in antientropy.ts).
import { KEY_BUCKET_COUNT } from './bytes.js';
import { BUCKET_DIGEST_BYTES, MERKLE_FANOUT, MERKLE_HASH_BYTES, MERKLE_LEAF_LEVEL, merkleNodeCount } from './merkle.js';
import type { VersionedRecord } from './types.js';
import { isArrayOf, isObject, isRecordArray, isUint } from './validate.js';

/** Parents per aeNodes message: 256 x 16 children = 4,096 hashes, 32 KiB. */
export const AE_NODES_PARENTS_PER_MESSAGE_MAX = 256;
/** Hard bound on records per aeRecords message, whatever the config says. */
export const AE_RECORDS_PER_MESSAGE_MAX = 10_000;
export const CHILD_HASHES_BYTES = MERKLE_FANOUT * MERKLE_HASH_BYTES;
/** [from, toExclusive) pairs: alternating buckets give the most runs. */
const DIFF_RANGE_NUMBERS_MAX = KEY_BUCKET_COUNT;

export type AntiEntropyMessage =
  /** Initiator's Merkle root (8 bytes, big-endian high then low). `session` is chosen by the initiator. */
  | { readonly type: 'aeRoot'; readonly session: number; readonly hash: Uint8Array }
  /** Roots are equal: the round is over. */
  | { readonly type: 'aeInSync'; readonly session: number }
  /**
   * The sender's hashes at `level` of the 16 children of each node in `parents` (indexes at
   * level - 1, ascending): hashes holds 128 bytes per parent. `done` marks the level's last chunk.
   */
  | { readonly type: 'aeNodes'; readonly session: number; readonly level: number; readonly parents: readonly number[]; readonly hashes: Uint8Array; readonly done: boolean }
  /** The differing buckets as ascending [from, toExclusive) pairs; both sides now stream. */
  | { readonly type: 'aeDiff'; readonly session: number; readonly ranges: readonly number[] }
  /** Batch `seq` (0, 1, ...) of the sender's records of the differing buckets; `done` on the last. */
  | { readonly type: 'aeRecords'; readonly session: number; readonly seq: number; readonly records: readonly VersionedRecord[]; readonly done: boolean }
  /** Batches up to and including seq were received. */
  | { readonly type: 'aeAck'; readonly session: number; readonly seq: number }
  /** The sender gave the session up (timeout or protocol error). */
  | { readonly type: 'aeAbort'; readonly session: number }
  /**
   * Instead of streaming every row of a big differing bucket, the sender's sub-digests of
   * it (MerkleTree.bucketDigests): each side then streams only the rows of the sub-ranges
   * that differ. Appended to the protocol: type strings are append-only.
   */
  | { readonly type: 'aeBucketDigest'; readonly session: number; readonly bucket: number; readonly hashes: Uint8Array };

function isAscending(numbers: readonly number[], limitExclusive: number, allowEqualNeighbours: boolean): boolean {
  let previous = -1;
  for (const value of numbers) {
    if (!isUint(value) || value >= limitExclusive) return false;
    if (value < previous || (value === previous && !allowEqualNeighbours)) return false;
    previous = value;
  }
  return true;
}

function isNodesMessage(value: Record<string, unknown>): boolean {
  const level = value.level;
  if (!isUint(level) || level < 1 || level > MERKLE_LEAF_LEVEL || typeof value.done !== 'boolean') return false;
  if (!isArrayOf(value.parents, isUint, AE_NODES_PARENTS_PER_MESSAGE_MAX)) return false;
  if (!isAscending(value.parents, merkleNodeCount(level - 1), false)) return false;
  return value.hashes instanceof Uint8Array && value.hashes.length === value.parents.length * CHILD_HASHES_BYTES;
}

function isDiffRanges(ranges: unknown): boolean {
  if (!isArrayOf(ranges, isUint, DIFF_RANGE_NUMBERS_MAX) || ranges.length % 2 !== 0) return false;
  // from < to within a pair; a pair may touch the previous one but not overlap it.
  if (!isAscending(ranges, KEY_BUCKET_COUNT + 1, true)) return false;
  for (let index = 0; index < ranges.length; index += 2) if (ranges[index]! >= ranges[index + 1]!) return false;
  return true;
}

/** Structural check with bounds of a decoded anti-entropy message. Never throws. */
export function isAntiEntropyMessage(value: unknown): value is AntiEntropyMessage {
  if (!isObject(value) || !isUint(value.session)) return false;
  switch (value.type) {
    case 'aeRoot':
      return value.hash instanceof Uint8Array && value.hash.length === MERKLE_HASH_BYTES;
    case 'aeInSync':
    case 'aeAbort':
      return true;
    case 'aeNodes':
      return isNodesMessage(value);
    case 'aeDiff':
      return isDiffRanges(value.ranges);
    case 'aeRecords':
      return isUint(value.seq) && typeof value.done === 'boolean' && isRecordArray(value.records, AE_RECORDS_PER_MESSAGE_MAX);
    case 'aeAck':
      return isUint(value.seq);
    case 'aeBucketDigest':
      return isUint(value.bucket) && value.bucket < KEY_BUCKET_COUNT && value.hashes instanceof Uint8Array && value.hashes.length === BUCKET_DIGEST_BYTES;
    default:
      return false;
  }
}

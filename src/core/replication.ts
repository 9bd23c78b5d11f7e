// Replication messages: a node pushes its committed local writes to every linked peer;
// the peer merges, commits, then acknowledges the sequence number.
import type { Hlc, VersionedRecord } from './types.js';
import { isBytes, isHlc, isObject, isRecordArray, isUint, isVersionedRecord, ROW_KEY_BYTES_MAX } from './validate.js';

/** Records per replicate frame, bounded so one frame never nears PEER_FRAME_BYTES_MAX. */
export const REPLICATE_RECORDS_MAX = 10_000;

export type ReplicationMessage =
  /**
   * seq: the sender's write sequence of the last record in this batch (cumulative). more:
   * the frame ends inside a client write; the receiver merges it with the frames up to
   * the next one without `more`, in one step (one transaction), and acks only then.
   */
  | { readonly type: 'replicate'; readonly seq: number; readonly records: readonly VersionedRecord[]; readonly more?: true }
  /** Everything up to seq from the receiver of this ack is committed here. */
  | { readonly type: 'replicateAck'; readonly seq: number }
  /** Quorum read: send me your version of key (answered with readReply of the same id). */
  | { readonly type: 'readRequest'; readonly id: number; readonly key: Uint8Array }
  | { readonly type: 'readReply'; readonly id: number; readonly record: VersionedRecord | null }
  /** Read repair: newer versions for the receiver to merge (no acknowledgement). */
  | { readonly type: 'repair'; readonly records: readonly VersionedRecord[] }
  /** Every member acknowledged these tombstones: remove exactly these versions. */
  | { readonly type: 'purge'; readonly records: readonly VersionedRecord[] }
  /**
   * Sent on every link-up: whether the sender is current (not resyncing after a long
   * absence), and its clock then: it pushes on this link every write it stamps later.
   */
  | { readonly type: 'syncHello'; readonly current: boolean; readonly pushedAfter?: Hlc };

export function isReplicationMessage(value: unknown): value is ReplicationMessage {
  if (!isObject(value)) return false;
  switch (value.type) {
    case 'replicate':
      return isUint(value.seq) && isRecordArray(value.records, REPLICATE_RECORDS_MAX) && (value.more === undefined || value.more === true);
    case 'replicateAck':
      return isUint(value.seq);
    case 'readRequest':
      return isUint(value.id) && isBytes(value.key, ROW_KEY_BYTES_MAX);
    case 'readReply':
      return isUint(value.id) && (value.record === null || isVersionedRecord(value.record));
    case 'syncHello':
      return typeof value.current === 'boolean' && (value.pushedAfter === undefined || isHlc(value.pushedAfter));
    case 'repair':
    case 'purge':
      return isRecordArray(value.records, REPLICATE_RECORDS_MAX);
    default:
      return false;
  }
}

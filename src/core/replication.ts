// Replication messages: a node pushes its committed local writes to every linked peer;
// the peer merges, commits, then acknowledges the sequence number.
import type { VersionedRecord } from './types.js';
import { isArrayOf, isObject, isUint, isVersionedRecord } from './validate.js';

/** Records per replicate frame, bounded so one frame never nears PEER_FRAME_BYTES_MAX. */
export const REPLICATE_RECORDS_MAX = 10_000;

export type ReplicationMessage =
  /** seq: the sender's write sequence of the last record in this batch (cumulative). */
  | { readonly type: 'replicate'; readonly seq: number; readonly records: readonly VersionedRecord[] }
  /** Everything up to seq from the receiver of this ack is committed here. */
  | { readonly type: 'replicateAck'; readonly seq: number };

export function isReplicationMessage(value: unknown): value is ReplicationMessage {
  if (!isObject(value)) return false;
  switch (value.type) {
    case 'replicate':
      return isUint(value.seq) && isArrayOf(value.records, isVersionedRecord, REPLICATE_RECORDS_MAX);
    case 'replicateAck':
      return isUint(value.seq);
    default:
      return false;
  }
}

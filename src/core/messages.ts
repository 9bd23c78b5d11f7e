// Peer protocol messages: the union of what each core module sends. Message `type`
// strings are append-only; PEER_PROTOCOL_VERSION changes when a shape changes.
import { isAntiEntropyMessage, type AntiEntropyMessage } from './antientropy-messages.js';
import { isMembershipMessage, type MembershipMessage } from './membership-messages.js';
import { isPubSubMessage, type PubSubMessage } from './pubsub-messages.js';
import { isReplicationMessage, type ReplicationMessage } from './replication.js';

/**
 * 3: records are typed rows (rows.ts); nodes of 2 would misread them, so links refuse.
 * 4: sorted-set member values carry a score flag (rows.ts encodeScoreValue) that nodes of 3
 * would take for a malformed value.
 */
export const PEER_PROTOCOL_VERSION = 4;

export type PeerMessage = MembershipMessage | ReplicationMessage | AntiEntropyMessage | PubSubMessage;

/** Structural check of a decoded message; anything else is dropped and counted. */
export function isPeerMessage(value: unknown): value is PeerMessage {
  return isMembershipMessage(value) || isReplicationMessage(value) || isAntiEntropyMessage(value) || isPubSubMessage(value);
}

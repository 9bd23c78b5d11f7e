// The inputs the runtime (or the simulator) feeds into the core node and the effects
// the core hands back. All plain data: the core never performs I/O itself.
import type { PeerMessage } from './messages.js';
import type { Hlc, NodeId, VersionedRecord } from './types.js';

/** How a node introduces itself: over UDP discovery, in a link handshake, or in gossip. */
export interface PeerHello {
  readonly id: NodeId;
  readonly name: string;
  /** host:peerPort to dial. */
  readonly addr: string;
  readonly incarnation: number;
}

/**
 * One row write before stamping (key is a row key, rows.ts); value null writes the row's
 * tombstone. expiresAtMs 0 = no expiry (only header rows carry one).
 */
export interface ClientWrite {
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
  readonly expiresAtMs: number;
  /**
   * A string header that replaces whatever the key holds (SET): the core clears a key of
   * another type first and records the counter slots it observes, so the new value reads
   * exactly as written. The server need not look the key up for a plain SET.
   */
  readonly replacesKey?: boolean;
}

export type Input =
  /** Time passed; the core runs whatever deadlines are due. */
  | { readonly kind: 'tick'; readonly nowMs: number }
  /** A client wrote; the core stamps, persists (effect), and replicates after `persisted`. */
  | { readonly kind: 'clientWrite'; readonly nowMs: number; readonly requestId: number; readonly writes: readonly ClientWrite[] }
  /** The persist effects with these tokens are committed to storage. */
  | { readonly kind: 'persisted'; readonly nowMs: number; readonly tokens: readonly number[] }
  /** A member announced itself (UDP discovery or a seed). */
  | { readonly kind: 'discovered'; readonly nowMs: number; readonly peer: PeerHello }
  /** An authenticated link to this peer is up (after the handshake). */
  | { readonly kind: 'linkUp'; readonly nowMs: number; readonly peer: PeerHello }
  | { readonly kind: 'linkDown'; readonly nowMs: number; readonly peer: NodeId }
  /** A decoded, validated message from a peer. `hlc` is the sender's clock at send time. */
  | { readonly kind: 'peerMessage'; readonly nowMs: number; readonly from: NodeId; readonly hlc: Hlc; readonly message: PeerMessage }
  /** WAIT: report how many peers stored writes up to writeSeq, once `replicas` did or at deadline. */
  | { readonly kind: 'wait'; readonly nowMs: number; readonly requestId: number; readonly writeSeq: number; readonly replicas: number; readonly deadlineMs: number }
  /** Quorum read: ask every linked peer for key, answer once a majority of members replied. */
  | { readonly kind: 'quorumRead'; readonly nowMs: number; readonly requestId: number; readonly key: Uint8Array; readonly deadlineMs: number }
  /** A client PUBLISHed here (local subscribers already have it): send it once to each linked peer. */
  | { readonly kind: 'publish'; readonly nowMs: number; readonly channel: Uint8Array; readonly message: Uint8Array };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type Effect =
  /** Send over the link to `to`; dropped by the runtime when no link is up. `hlc` goes in the frame. */
  | { readonly kind: 'send'; readonly to: NodeId; readonly hlc: Hlc; readonly message: PeerMessage }
  /** Keep a link to this peer (dial now, redial with backoff while it is down). */
  | { readonly kind: 'connect'; readonly peer: NodeId; readonly addr: string }
  /** Stop keeping a link to this peer and close any open one. */
  | { readonly kind: 'disconnect'; readonly peer: NodeId }
  /** Send our discovery announcement now (start, every interval, and in answer to a newcomer). */
  | { readonly kind: 'announce' }
  /**
   * Commit these records (upserts) and physically remove purgeKeys, in order with every
   * earlier persist; then feed `persisted` with the token. requestId is the clientWrite's
   * (0 for the node's own work); writeSeq is the replication sequence of its last record
   * (0 when nothing is replicated), which WAIT counts against.
   */
  | {
      readonly kind: 'persist';
      readonly token: number;
      readonly requestId: number;
      readonly writeSeq: number;
      readonly records: readonly VersionedRecord[];
      readonly purgeKeys: readonly Uint8Array[];
    }
  /** Store a small named value with the node's metadata (ordered with persists). */
  | { readonly kind: 'saveMeta'; readonly name: string; readonly value: Uint8Array }
  /**
   * Records that changed the stored state (local or remote writes, or expiries turned
   * into tombstones when `expired`), for keyspace notifications.
   */
  | {
      readonly kind: 'applied';
      readonly records: readonly VersionedRecord[];
      /** The version each record replaced (same index), undefined where the key was new. */
      readonly previous: readonly (VersionedRecord | undefined)[];
      readonly expired: boolean;
    }
  | { readonly kind: 'waitDone'; readonly requestId: number; readonly replicas: number }
  /**
   * Quorum read finished: the newest version among `replies` answers (this node included),
   * or ok false when fewer than `needed` answered before the deadline.
   */
  | {
      readonly kind: 'quorumReadDone';
      readonly requestId: number;
      readonly ok: boolean;
      readonly record: VersionedRecord | undefined;
      readonly replies: number;
      readonly needed: number;
    }
  /** A peer relayed a PUBLISH made on it: deliver to this node's subscribers only (never forwarded). */
  | { readonly kind: 'published'; readonly channel: Uint8Array; readonly message: Uint8Array }
  /** Call tick at or after this time (the earliest pending deadline; later ones replace it). */
  | { readonly kind: 'wakeAt'; readonly deadlineMs: number }
  | { readonly kind: 'log'; readonly level: LogLevel; readonly message: string; readonly fields: Readonly<Record<string, unknown>> };

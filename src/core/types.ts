// Plain data shared by every core module. Everything here is integers, strings and
// bytes so that it serialises as-is and compares identically on every node.

/** 128-bit node id as 32 lowercase hex characters; string order equals byte order. */
export type NodeId = string;

/**
 * Hybrid logical clock stamp. wallMs is milliseconds since the Unix epoch (an integer),
 * logical counts events within one wallMs. Both are non-negative safe integers.
 */
export interface Hlc {
  readonly wallMs: number;
  readonly logical: number;
}

/**
 * One version of one key. `value === null` is a tombstone (a delete).
 * `expiresAtMs` is an absolute wall-clock expiry in ms since the epoch, 0 for none.
 * A record whose expiry has passed reads as absent everywhere and is equivalent to a
 * tombstone of the same version.
 * Invariant: (hlc, origin) identifies a version uniquely across the cluster.
 */
export interface VersionedRecord {
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
  readonly hlc: Hlc;
  readonly origin: NodeId;
  readonly expiresAtMs: number;
}

export type MemberState = 'alive' | 'suspect' | 'dead';

/** What the core knows of one member, as shown by INFO and `peerkv members`. */
export interface MemberView {
  readonly id: NodeId;
  readonly name: string;
  /** host:peerPort the member can be dialled at. */
  readonly addr: string;
  readonly incarnation: number;
  readonly state: MemberState;
  /** Local monotonic-ish time (the nowMs of the core) when we last heard from it. */
  readonly lastSeenMs: number;
}

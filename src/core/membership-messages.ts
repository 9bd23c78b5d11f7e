// SWIM membership messages (probes, indirect probes, piggybacked member gossip) and
// their structural validation. The wire hands us `unknown`; the membership state
// machine only ever sees values that passed isMembershipMessage.
import type { MemberState, NodeId } from './types.js';
import { isArrayOf, isMemberState, isNodeId, isObject, isUint } from './validate.js';

/**
 * Member entries one ping or ack may carry; a receiver rejects more. A protocol limit,
 * not a config value, so nodes with different configs still accept each other's
 * gossip. The sender's config.gossipMembersMax is clamped to it.
 */
export const GOSSIP_MEMBERS_MAX = 256;

/** Member names are for humans (HOSTNAME:PORT by default); 255 keeps frames small. */
export const MEMBER_NAME_LENGTH_MAX = 255;

/** host:port: a 253-character DNS name, brackets around an IPv6 literal, ':' and 5 digits. */
export const MEMBER_ADDR_LENGTH_MAX = 262;

/**
 * Incarnations far below Number.MAX_SAFE_INTEGER, so a refutation (+1) of the largest
 * accepted value is still a safe integer that every receiver accepts.
 */
export const INCARNATION_MAX = 2 ** 48;

/** What one node tells another about a member (itself included) in gossip. */
export interface MemberGossip {
  readonly id: NodeId;
  readonly name: string;
  /** host:peerPort the member can be dialled at. */
  readonly addr: string;
  /** Grows when the member restarts or refutes a suspicion; higher always wins. */
  readonly incarnation: number;
  readonly state: MemberState;
}

export type MembershipMessage =
  /**
   * Direct probe. The receiver answers with an ack of the same seq. `members` is
   * piggybacked gossip: the sender first, then the entries it most wants to spread.
   */
  | { readonly type: 'ping'; readonly seq: number; readonly members: readonly MemberGossip[] }
  /** Answer to a ping with its seq, with the answerer's gossip. */
  | { readonly type: 'ack'; readonly seq: number; readonly members: readonly MemberGossip[] }
  /**
   * "Please probe target for me": the receiver pings target with a seq of its own and,
   * when that is acked, sends indirectAck carrying this (the requester's) seq.
   */
  | { readonly type: 'pingReq'; readonly seq: number; readonly target: NodeId }
  /** target answered a ping made on the requester's behalf; seq is the requester's. */
  | { readonly type: 'indirectAck'; readonly seq: number; readonly target: NodeId };

export function isBoundedString(value: unknown, lengthMin: number, lengthMax: number): value is string {
  return typeof value === 'string' && value.length >= lengthMin && value.length <= lengthMax;
}

export function isIncarnation(value: unknown): value is number {
  return isUint(value) && value <= INCARNATION_MAX;
}

export function isMemberGossip(value: unknown): value is MemberGossip {
  return (
    isObject(value) &&
    isNodeId(value.id) &&
    isBoundedString(value.name, 0, MEMBER_NAME_LENGTH_MAX) &&
    isBoundedString(value.addr, 1, MEMBER_ADDR_LENGTH_MAX) &&
    isIncarnation(value.incarnation) &&
    isMemberState(value.state)
  );
}

export function isMembershipMessage(value: unknown): value is MembershipMessage {
  if (!isObject(value)) return false;
  switch (value.type) {
    case 'ping':
    case 'ack':
      return isUint(value.seq) && isArrayOf(value.members, isMemberGossip, GOSSIP_MEMBERS_MAX);
    case 'pingReq':
    case 'indirectAck':
      return isUint(value.seq) && isNodeId(value.target);
    default:
      return false;
  }
}

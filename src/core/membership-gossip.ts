// The member table entry, the SWIM precedence of member updates, and which entries
// a ping or ack piggybacks.
import type { MemberGossip } from './membership-messages.js';
import type { MemberState, MemberView, NodeId } from './types.js';

/** What this node holds about one other member. Deadlines are local nowMs, Infinity when unset. */
export interface MemberRecord {
  readonly id: NodeId;
  name: string;
  addr: string;
  incarnation: number;
  state: MemberState;
  /** Last message or link event from the member itself (or when we learned of it). */
  lastSeenMs: number;
  /** Last change of state or incarnation: recently changed entries are gossiped first. */
  changedMs: number;
  /** An authenticated link to it is up (linkUp seen, no linkDown since). */
  linked: boolean;
  /** Suspect until then; dead after, unless refuted. */
  suspicionDeadlineMs: number;
  /** Dead and listed until then; forgotten after. */
  reapDeadlineMs: number;
}

/** At equal incarnation the worse news wins: an alive claim cannot undo a suspicion. */
const STATE_RANK: Readonly<Record<MemberState, number>> = { alive: 0, suspect: 1, dead: 2 };

/**
 * SWIM precedence: does `update` (incarnation, state) override what we hold? Higher
 * incarnation wins; at equal incarnation dead > suspect > alive.
 */
export function overrides(update: { incarnation: number; state: MemberState }, held: { incarnation: number; state: MemberState }): boolean {
  if (update.incarnation !== held.incarnation) return update.incarnation > held.incarnation;
  return STATE_RANK[update.state] > STATE_RANK[held.state];
}

export function toGossip(member: MemberRecord): MemberGossip {
  return { id: member.id, name: member.name, addr: member.addr, incarnation: member.incarnation, state: member.state };
}

export function toView(member: MemberRecord): MemberView {
  return {
    id: member.id,
    name: member.name,
    addr: member.addr,
    incarnation: member.incarnation,
    state: member.state,
    lastSeenMs: member.lastSeenMs,
  };
}

function byRecency(a: MemberRecord, b: MemberRecord): number {
  if (a.changedMs !== b.changedMs) return b.changedMs - a.changedMs;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export interface GossipSelection {
  readonly entries: MemberGossip[];
  /** Where the next selection continues its sweep over the sorted member ids. */
  readonly cursor: number;
}

/**
 * Entries for one ping or ack, at most `limit`: the sender itself first (so every
 * message refreshes its incarnation), then the recipient's own entry when we hold it
 * suspect or dead (so it can refute at once), then the most recently changed members.
 * When not everything fits, half the room goes to recent changes and the rest sweeps
 * round-robin over all members from `cursor`, so every member, however old its
 * news, reaches every node eventually (a member known only through one --join seed).
 */
export function selectGossip(
  self: MemberGossip,
  members: ReadonlyMap<NodeId, MemberRecord>,
  recipient: MemberRecord | undefined,
  limit: number,
  cursor: number,
): GossipSelection {
  const entries: MemberGossip[] = [self];
  const chosen = new Set<NodeId>();
  const add = (member: MemberRecord): void => {
    if (entries.length >= limit || chosen.has(member.id)) return;
    chosen.add(member.id);
    entries.push(toGossip(member));
  };
  if (recipient !== undefined && recipient.state !== 'alive') add(recipient);
  const recent = [...members.values()].sort(byRecency);
  const everythingFits = recent.length + 1 <= limit;
  const recentCount = everythingFits ? recent.length : Math.floor(limit / 2);
  for (let index = 0; index < recentCount && index < recent.length; index++) add(recent[index]!);
  if (everythingFits || entries.length >= limit) return { entries, cursor };
  const ids = [...members.keys()].sort();
  let position = cursor % ids.length;
  for (let visited = 0; visited < ids.length && entries.length < limit; visited++) {
    add(members.get(ids[position]!)!);
    position = (position + 1) % ids.length;
  }
  return { entries, cursor: position };
}

// Hybrid logical clock (Kulkarni et al.): stamps that follow wall time but never go
// backwards and always exceed every stamp this node has seen.
import type { Hlc } from './types.js';

export const HLC_ZERO: Hlc = { wallMs: 0, logical: 0 };

/** Largest logical counter before we borrow the next millisecond (keeps it a small int). */
export const HLC_LOGICAL_MAX = 0xffff_ffff;

export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.wallMs !== b.wallMs) return a.wallMs < b.wallMs ? -1 : 1;
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1;
  return 0;
}

/** Mutable clock state of one node. `last` only ever grows. */
export interface HlcClock {
  last: Hlc;
  /** A remote stamp further than this ahead of local wall time is refused. */
  readonly maxOffsetMs: number;
}

export function createHlcClock(last: Hlc, maxOffsetMs: number): HlcClock {
  return { last, maxOffsetMs };
}

function bump(wallMs: number, logical: number): Hlc {
  return logical > HLC_LOGICAL_MAX ? { wallMs: wallMs + 1, logical: 0 } : { wallMs, logical };
}

/** A new stamp for a local event at wall time nowMs; strictly greater than any before. */
export function nextHlc(clock: HlcClock, nowMs: number): Hlc {
  const last = clock.last;
  const stamp = nowMs > last.wallMs ? { wallMs: nowMs, logical: 0 } : bump(last.wallMs, last.logical + 1);
  clock.last = stamp;
  return stamp;
}

export type ObserveResult = { ok: true } | { ok: false; code: 'clock_offset'; aheadMs: number };

/**
 * Merge a remote stamp into the clock. A stamp more than maxOffsetMs ahead of nowMs is
 * refused (the caller drops the message and counts it) and leaves the clock unchanged,
 * so one node with a runaway clock cannot drag the cluster into the future.
 */
export function observeHlc(clock: HlcClock, remote: Hlc, nowMs: number): ObserveResult {
  const aheadMs = remote.wallMs - nowMs;
  if (aheadMs > clock.maxOffsetMs) return { ok: false, code: 'clock_offset', aheadMs };
  const last = clock.last;
  const wallMs = Math.max(nowMs, last.wallMs, remote.wallMs);
  let logical: number;
  if (wallMs === last.wallMs && wallMs === remote.wallMs) logical = Math.max(last.logical, remote.logical) + 1;
  else if (wallMs === last.wallMs) logical = last.logical + 1;
  else if (wallMs === remote.wallMs) logical = remote.logical + 1;
  else logical = 0;
  clock.last = bump(wallMs, logical);
  return { ok: true };
}

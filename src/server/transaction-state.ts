// A connection's MULTI and WATCH state as plain data: the commands queued since MULTI,
// and the keys it watches with what they were when watched. multi.ts runs the commands,
// watch.ts marks the watches dirty when a key changes.
import type { Buffer } from 'node:buffer';
import type { Hlc, NodeId } from '../core/types.js';

/**
 * Estimated bytes a transaction may queue (arguments plus per-argument overhead), as the
 * 1 GiB a single command may take: past it the transaction is refused (EXECABORT) rather
 * than hold unbounded memory.
 */
export const MULTI_QUEUED_BYTES_MAX = 1024 * 1024 * 1024;
/** Bookkeeping bytes counted per queued argument beside its own length. */
export const QUEUED_ARGUMENT_OVERHEAD_BYTES = 64;

export class QueuedTransaction {
  /** The commands queued since MULTI, with arguments copied out of the read buffers. */
  readonly commands: Buffer[][] = [];
  /** Estimated bytes held (bounded by MULTI_QUEUED_BYTES_MAX). */
  bytes = 0;
  /** A command was refused while queueing: EXEC answers EXECABORT and runs nothing. */
  failed = false;
}

/** A version of the flush row (FLUSHALL): (hlc, origin) identify it. */
export interface FlushVersion {
  readonly hlc: Hlc;
  readonly origin: NodeId;
}

export interface WatchedKey {
  readonly key: Buffer;
  /**
   * The key existed (not expired) when watched. As in Redis, deleting or expiring a key
   * that was absent or already expired then is no change; any other write is one.
   */
  readonly wasLive: boolean;
  /** The flush row when the key was watched: a newer one (FLUSHALL) removed the key if it was live. */
  readonly flush: FlushVersion | undefined;
}

export class WatchedKeys {
  /** By the key's latin1 form. */
  readonly keys = new Map<string, WatchedKey>();
  /** A watched key changed since WATCH: the next EXEC aborts with a null reply. */
  dirty = false;
}

// Carries out the core's persist effects: LMDB writes in order, grouped into one Commit per
// LMDB transaction and reported once when it commits, with the clock bound saved beside them.
import type { Hlc, VersionedRecord } from '../core/types.js';
import type { Store } from '../storage/store.js';
import { Commit } from './effects.js';
import { encodeHlc, META_HLC } from './identity.js';
import type { Logger } from './logger.js';

/**
 * The clock is saved as a bound this far ahead of the newest stamp, and saved again only
 * once stamps reach it: a few saves a second instead of one per write batch. A restart
 * starts from the bound, so it never reuses a stamp; its first writes may carry a clock
 * up to this much ahead, well inside the peers' max offset.
 */
export const HLC_SAVE_LEASE_MS = 100;

export interface PersistenceOptions {
  readonly store: Store;
  readonly logger: Logger;
  /** Wall time (ms) of the clock saved at start: every stamp below it is already covered. */
  readonly savedClockMs: number;
  /** The newest stamp the clock has issued (read lazily: the core is built after this). */
  readonly lastStamp: () => Hlc;
  /** A transaction committed: called once, in the turn it is known, with the commit holding its persists. */
  readonly onCommitted: (commit: Commit) => void;
  /** A transaction failed for good (the store closed while it could not write). */
  readonly onFailed: (commit: Commit, error: unknown) => void;
}

export class Persistence {
  private lastWrite: Promise<void> = Promise.resolve();
  /** The commit of the transaction being filled: the store hands its writes one promise. */
  private commit: Commit | undefined;
  private commitPromise: Promise<void> | undefined;
  /** Every stamp below this wall time is covered by the saved clock bound. */
  private hlcBoundMs: number;
  private lastCommitMs = Date.now();

  constructor(private readonly options: PersistenceOptions) {
    this.hlcBoundMs = options.savedClockMs;
  }

  /** When a write last committed (ms since epoch), for INFO's rdb_last_save_time. */
  get lastSaveMs(): number {
    return this.lastCommitMs;
  }

  /** Resolves once every write handed in so far has committed or failed. */
  settled(): Promise<void> {
    return this.lastWrite.catch(() => undefined);
  }

  /**
   * Write records and purges in order after all earlier ones: the commit (one per LMDB
   * transaction) that holds them, reported through onCommitted / onFailed.
   */
  persist(records: readonly VersionedRecord[], purgeKeys: readonly Uint8Array[]): Commit {
    if (records.length > 0) this.coverClock();
    const written =
      records.length === 0 && purgeKeys.length === 0 ? this.lastWrite : this.options.store.write({ records, purgeKeys });
    this.lastWrite = written;
    // One reaction per LMDB transaction, not per write: the store hands every write of a
    // transaction the same promise.
    let commit = this.commit;
    if (commit === undefined || this.commitPromise !== written || commit.state !== 'pending') {
      const fresh = new Commit();
      written.then(
        () => {
          this.lastCommitMs = Date.now();
          this.options.onCommitted(fresh);
        },
        (error: unknown) => {
          this.options.logger.error({ err: error, writes: fresh.tokens.length }, 'storage write failed');
          this.options.onFailed(fresh, error);
        },
      );
      this.commit = commit = fresh;
      this.commitPromise = written;
    }
    return commit;
  }

  /**
   * Before records stamped by the clock are written, make sure the saved bound covers
   * the clock: the bound goes into the same LMDB transaction as those records.
   */
  private coverClock(): void {
    const last = this.options.lastStamp();
    if (last.wallMs < this.hlcBoundMs) return;
    this.hlcBoundMs = last.wallMs + HLC_SAVE_LEASE_MS;
    this.options.store
      .putMeta(META_HLC, encodeHlc({ wallMs: this.hlcBoundMs, logical: 0 }))
      .catch((error: unknown) => this.options.logger.error({ err: error }, 'saving the clock failed'));
  }
}

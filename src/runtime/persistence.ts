// Carries out the core's persist effects: LMDB writes in order, reported once per transaction, with the clock bound saved beside them.
import type { Hlc, VersionedRecord } from '../core/types.js';
import type { Store } from '../storage/store.js';
import { encodeHlc, META_HLC } from './identity.js';
import type { Logger } from './logger.js';

/**
 * The clock is saved as a bound this far ahead of the newest stamp, and saved again only
 * once stamps reach it: a few saves a second instead of one per write batch. A restart
 * starts from the bound, so it never reuses a stamp; its first writes may carry a clock
 * up to this much ahead, well inside the peers' max offset.
 */
export const HLC_SAVE_LEASE_MS = 100;

/** The persist effects of one LMDB transaction, reported to the core once it commits. */
interface CommitGroup {
  readonly committed: Promise<void>;
  readonly tokens: number[];
  settled: boolean;
  done: Promise<void>;
}

export interface PersistenceOptions {
  readonly store: Store;
  readonly logger: Logger;
  /** Wall time (ms) of the clock saved at start: every stamp below it is already covered. */
  readonly savedClockMs: number;
  /** The newest stamp the clock has issued (read lazily: the core is built after this). */
  readonly lastStamp: () => Hlc;
  /** The tokens of every transaction that committed in one turn, reported in a later turn. */
  readonly onPersisted: (tokens: number[]) => void;
}

export class Persistence {
  private readonly persistedTokens: number[] = [];
  private persistFlushScheduled = false;
  private lastWrite: Promise<void> = Promise.resolve();
  private commitGroup: CommitGroup | undefined;
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

  /** Commit a persist effect in order after all earlier ones; then report its token. */
  persist(token: number, records: readonly VersionedRecord[], purgeKeys: readonly Uint8Array[]): Promise<void> {
    if (records.length > 0) this.coverClock();
    const committed =
      records.length === 0 && purgeKeys.length === 0 ? this.lastWrite : this.options.store.write({ records, purgeKeys });
    this.lastWrite = committed;
    // One reaction per LMDB transaction, not per write: the store hands every write of a
    // transaction the same promise.
    let group = this.commitGroup;
    if (group === undefined || group.committed !== committed || group.settled) {
      const tokens: number[] = [];
      const fresh: CommitGroup = { committed, tokens, settled: false, done: Promise.resolve() };
      fresh.done = committed.then(
        () => {
          fresh.settled = true;
          this.notePersisted(tokens);
        },
        (error: unknown) => {
          fresh.settled = true;
          this.options.logger.error({ err: error, writes: tokens.length }, 'storage write failed');
          throw error;
        },
      );
      fresh.done.catch(() => undefined);
      this.commitGroup = group = fresh;
    }
    group.tokens.push(token);
    return group.done;
  }

  private notePersisted(tokens: readonly number[]): void {
    this.lastCommitMs = Date.now();
    for (const token of tokens) this.persistedTokens.push(token);
    if (this.persistFlushScheduled) return;
    this.persistFlushScheduled = true;
    // Every commit of one LMDB batch resolves in the same turn: report them to the core
    // together, so replication sends one frame per peer for the whole batch.
    setImmediate(() => {
      this.persistFlushScheduled = false;
      this.options.onPersisted(this.persistedTokens.splice(0));
    });
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

// WATCH bookkeeping for the whole server: which connections watch which key, kept dirty-
// marked from the engine's keyspace events (writes of any client here and rows applied
// from peers alike), listened to only while some connection watches. What events cannot
// tell (a key that expired without being swept yet, FLUSHALL's flush row, which names no
// key) EXEC checks against the store before it runs (changedSinceWatch).
import { Buffer } from 'node:buffer';
import { bytesToMapKey } from '../core/bytes.js';
import { FLUSH_ROW_KEY } from '../core/rows.js';
import type { Engine, KeyspaceEvent } from './engine.js';
import type { Logger } from './state.js';
import type { FlushVersion, WatchedKey, WatchedKeys } from './transaction-state.js';
import { liveHeader } from './typed-keys.js';

function flushVersion(engine: Engine): FlushVersion | undefined {
  const flush = engine.get(FLUSH_ROW_KEY);
  return flush === undefined ? undefined : { hlc: flush.hlc, origin: flush.origin };
}

function sameFlush(a: FlushVersion | undefined, b: FlushVersion | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.origin === b.origin && a.hlc.wallMs === b.hlc.wallMs && a.hlc.logical === b.hlc.logical;
}

export class WatchRegistry {
  /** Watchers by key (latin1 form). */
  private readonly byKey = new Map<string, Set<WatchedKeys>>();
  private stopListening: (() => void) | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly logger: Logger,
  ) {}

  /** Keys watched by at least one connection (for tests and INFO-like views). */
  get watchedKeyCount(): number {
    return this.byKey.size;
  }

  /** WATCH key: remember what it is now; a later change marks `watched` dirty. */
  watch(watched: WatchedKeys, key: Buffer): void {
    if (watched.dirty) return; // no point: the next EXEC aborts anyway
    const id = key.toString('latin1');
    if (watched.keys.has(id)) return;
    const entry: WatchedKey = { key: Buffer.from(key), wasLive: liveHeader(this.engine, key) !== undefined, flush: flushVersion(this.engine) };
    watched.keys.set(id, entry);
    let watchers = this.byKey.get(id);
    if (watchers === undefined) this.byKey.set(id, (watchers = new Set()));
    watchers.add(watched);
    this.listen();
  }

  /** UNWATCH (also EXEC, DISCARD, RESET and disconnect): forget the keys and the dirty mark. */
  unwatch(watched: WatchedKeys): void {
    this.release(watched);
    watched.dirty = false;
  }

  /**
   * Whether a watched key changed since WATCH: marked by an event, or what events do not
   * report: a key live then that is expired (or gone) now, or a FLUSHALL that removed it.
   */
  changedSinceWatch(watched: WatchedKeys): boolean {
    if (watched.dirty) return true;
    const flush = flushVersion(this.engine);
    for (const entry of watched.keys.values()) {
      if (!entry.wasLive) continue;
      if (liveHeader(this.engine, entry.key) === undefined || !sameFlush(entry.flush, flush)) return true;
    }
    return false;
  }

  private release(watched: WatchedKeys): void {
    for (const id of watched.keys.keys()) {
      const watchers = this.byKey.get(id);
      if (watchers === undefined) continue;
      watchers.delete(watched);
      if (watchers.size === 0) this.byKey.delete(id);
    }
    watched.keys.clear();
    if (this.byKey.size === 0) this.close();
  }

  private listen(): void {
    if (this.stopListening !== undefined) return;
    this.stopListening = this.engine.onKeyspaceEvent((event) => this.onEvent(event));
  }

  close(): void {
    this.stopListening?.();
    this.stopListening = undefined;
  }

  private onEvent(event: KeyspaceEvent): void {
    try {
      const watchers = this.byKey.get(bytesToMapKey(event.key));
      if (watchers === undefined) return;
      const removal = event.event === 'del' || event.event === 'expired';
      const touched: WatchedKeys[] = [];
      for (const watched of watchers) {
        if (removal && watched.keys.get(bytesToMapKey(event.key))?.wasLive !== true) continue;
        touched.push(watched);
      }
      for (const watched of touched) {
        watched.dirty = true;
        this.release(watched); // dirty for good: no need to follow its keys any more
      }
    } catch (error) {
      this.logger.error({ err: error }, 'WATCH bookkeeping failed');
    }
  }
}

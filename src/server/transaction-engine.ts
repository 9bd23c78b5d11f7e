// The engine the commands of one EXEC run against. write() only collects: EXEC hands
// everything collected to the node's engine as ONE client write once the last queued
// command has run, so the core stamps it as one batch (one LMDB transaction here, one
// replication batch applied in one transaction on every peer). Reads see the collected
// writes laid over the stored rows as the core will apply them: a row written in the
// transaction replaces the stored one; a clear row hides every stored row of its key and
// the key's rows collected before it; the flush row (FLUSHALL) hides every stored row and
// everything collected before it; a header written over an expired one hides the stored
// rows the clear implied by that expiry removes (keyspace.ts expiryClear).
import { bytesToMapKey, compareBytes, equalBytes, KEY_BUCKET_COUNT } from '../core/bytes.js';
import { compareHlc } from '../core/hlc.js';
import type { ClientWrite } from '../core/io.js';
import { expiryClear } from '../core/keyspace.js';
import { observedSlots, readSlotTotals } from '../core/counters.js';
import { encodeHeader, FLUSH_ROW_KEY, headerRowKey, KeyType, plainStringValue, kindPrefix, rowBucket, rowKindOf, RowKind, rowPrefixBucket, rowUserKey } from '../core/rows.js';
import type { ScoreIndex } from '../core/score-indexes.js';
import { hasPrefix, type RowPage } from '../core/store-view.js';
import type { VersionedRecord } from '../core/types.js';
import type { Engine, EngineInfo, KeyspaceEvent } from './engine.js';
import { liveHeader } from './typed-keys.js';

/** Field rows read per page when a transaction counts a hash it changed. */
const FIELD_COUNT_PAGE_ROWS = 4096;
/** The counted element of a string's slots (hash fields name theirs). */
const NO_ELEMENT = new Uint8Array(0);

/** A row written in the transaction; `order` is its place among the transaction's writes (from 1). */
interface Collected {
  readonly record: VersionedRecord;
  readonly order: number;
}

/** What the transaction did to one user key's stored rows. */
interface KeyState {
  readonly key: Uint8Array;
  /** Order of the last clear row written for the key (0: none): it hides every stored row. */
  clearOrder: number;
  /** The clear an expired header implies, stored by the core before a header written over it. */
  expiryClear: VersionedRecord | undefined;
  /** A slot row of the key was written. */
  slots: boolean;
}

/** True if the row's version is at or below the clear's, as the core decides (keyspace.ts). */
function notAfter(row: VersionedRecord, clear: VersionedRecord): boolean {
  const byClock = compareHlc(row.hlc, clear.hlc);
  return byClock < 0 || (byClock === 0 && row.origin <= clear.origin);
}

function isLiveHeader(record: VersionedRecord | undefined, nowMs: number): record is VersionedRecord {
  return record !== undefined && record.value !== null && (record.expiresAtMs === 0 || record.expiresAtMs > nowMs);
}

export class TransactionEngine implements Engine {
  readonly quorumGet?: Engine['quorumGet'];
  readonly loading?: Engine['loading'];
  readonly publish?: Engine['publish'];
  readonly onPeerPublish?: Engine['onPeerPublish'];
  private readonly writes: ClientWrite[] = [];
  private readonly rows = new Map<string, Collected>();
  /** Collected rows by bucket: a key's rows share one (rows.ts), so scanRows looks at few. */
  private readonly rowsByBucket = new Map<number, Map<string, Collected>>();
  private readonly keys = new Map<string, KeyState>();
  private flushOrder = 0;
  /** Time stands still during EXEC: a key cannot expire between two of its commands. */
  private readonly frozenNowMs: number;
  private readonly committed: Promise<number>;
  private settle: ((write: Promise<number>) => void) | undefined;

  constructor(private readonly engine: Engine) {
    this.frozenNowMs = engine.nowMs();
    this.committed = new Promise<number>((resolve, reject) => {
      this.settle = (write) => void write.then(resolve, reject);
    });
    // EXEC reports a failed commit once, for the whole transaction; the copies handed to
    // each command are not awaited by anyone.
    this.committed.catch(() => undefined);
    if (engine.quorumGet !== undefined) this.quorumGet = engine.quorumGet.bind(engine);
    if (engine.loading !== undefined) this.loading = engine.loading.bind(engine);
    if (engine.publish !== undefined) this.publish = engine.publish.bind(engine);
    if (engine.onPeerPublish !== undefined) this.onPeerPublish = engine.onPeerPublish.bind(engine);
  }

  /** Every write the transaction's commands made, in order: EXEC's one client write. */
  collected(): readonly ClientWrite[] {
    return this.writes;
  }

  /** The one real write of the collected rows: every write() promise settles with it. */
  commit(write: Promise<number>): void {
    this.settle!(write);
  }

  nowMs(): number {
    return this.frozenNowMs;
  }

  nodeId(): string {
    return this.engine.nodeId();
  }

  write(writes: readonly ClientWrite[]): Promise<number> {
    for (const write of writes) this.collect(write);
    return this.committed;
  }

  private collect(write: ClientWrite): void {
    const order = this.writes.length + 1;
    const userKey = rowUserKey(write.key);
    if (userKey === undefined) {
      if (!equalBytes(write.key, FLUSH_ROW_KEY)) throw new Error('transaction write of a key that is not a row key');
      this.flushOrder = order;
    } else {
      const state = this.keyState(userKey);
      const kind = rowKindOf(write.key);
      if (kind === RowKind.Clear) state.clearOrder = order;
      else if (kind === RowKind.Slot) state.slots = true;
      else if (kind === RowKind.Header) {
        // The core stores the clear an expired header implies before a header written over
        // it. The transaction's own header is stamped after its expiry (time stands still
        // here, EXEC commits right after): that clear takes what was written up to it.
        const current = this.get(write.key);
        // (An expiry marker, the swept form of an expired header, is one too: core/expiry.ts.)
        if (current !== undefined && (current.value !== null ? !isLiveHeader(current, this.frozenNowMs) : current.expiresAtMs !== 0)) {
          const collected = this.rows.get(bytesToMapKey(write.key));
          if (collected !== undefined) state.clearOrder = Math.max(state.clearOrder, collected.order);
          else state.expiryClear = expiryClear(current);
        }
      }
    }
    const record: VersionedRecord = {
      key: write.key,
      value: this.observingValue(write, userKey),
      hlc: { wallMs: this.frozenNowMs, logical: order },
      origin: this.engine.nodeId(),
      expiresAtMs: write.expiresAtMs,
    };
    const id = bytesToMapKey(write.key);
    const collected: Collected = { record, order };
    this.rows.set(id, collected);
    const bucket = rowBucket(write.key);
    let inBucket = this.rowsByBucket.get(bucket);
    if (inBucket === undefined) this.rowsByBucket.set(bucket, (inBucket = new Map()));
    inBucket.set(id, collected);
    this.writes.push(write);
  }

  /**
   * The value the core will store for the write: a SET over a counter records the slot
   * totals it observed (keyspace.ts replaceKey), so reads in the transaction see the new
   * value, not the new base plus the increments it replaced.
   */
  private observingValue(write: ClientWrite, userKey: Uint8Array | undefined): Uint8Array | null {
    const value = write.value;
    if (write.replacesKey !== true || value === null || userKey === undefined || !this.mayHaveSlots(userKey)) return value;
    const plain = plainStringValue(value);
    if (plain === undefined) return value;
    const observed = observedSlots(readSlotTotals(this, userKey, NO_ELEMENT));
    return observed.size === 0 ? value : encodeHeader({ type: KeyType.String, base: { bytes: plain, observed } });
  }

  private keyState(userKey: Uint8Array): KeyState {
    const id = bytesToMapKey(userKey);
    let state = this.keys.get(id);
    if (state === undefined) this.keys.set(id, (state = { key: userKey, clearOrder: 0, expiryClear: undefined, slots: false }));
    return state;
  }

  /** Order below which the transaction's own rows of the row's key are hidden. */
  private hiddenBelow(row: Uint8Array): number {
    const userKey = rowUserKey(row);
    const clearOrder = userKey === undefined ? 0 : (this.keys.get(bytesToMapKey(userKey))?.clearOrder ?? 0);
    return Math.max(clearOrder, this.flushOrder);
  }

  private collectedVisible(collected: Collected): boolean {
    return collected.order >= this.hiddenBelow(collected.record.key);
  }

  /** Whether a stored row survives what the transaction wrote before (ignoring rows it rewrote). */
  private storedVisible(stored: VersionedRecord): boolean {
    if (this.flushOrder > 0) return false;
    const userKey = rowUserKey(stored.key);
    if (userKey === undefined) return true;
    const state = this.keys.get(bytesToMapKey(userKey));
    if (state === undefined) return true;
    if (state.clearOrder > 0) return false;
    return state.expiryClear === undefined || !notAfter(stored, state.expiryClear);
  }

  get(row: Uint8Array): VersionedRecord | undefined {
    if (this.writes.length === 0) return this.engine.get(row); // nothing written yet: the stored view
    const collected = this.rows.get(bytesToMapKey(row));
    if (collected !== undefined) return this.collectedVisible(collected) ? collected.record : undefined;
    const stored = this.engine.get(row);
    return stored !== undefined && this.storedVisible(stored) ? stored : undefined;
  }

  scanRows(prefix: Uint8Array, after: Uint8Array | undefined, limit: number): RowPage {
    return this.scanMerged(prefix, after, limit, false);
  }

  scanRowsReverse(prefix: Uint8Array, before: Uint8Array | undefined, limit: number): RowPage {
    return this.scanMerged(prefix, before, limit, true);
  }

  /**
   * A page of one key's rows (forward after `from`, or backward before it) as the
   * transaction sees them: stored rows it has not replaced or hidden, plus its own.
   */
  private scanMerged(prefix: Uint8Array, from: Uint8Array | undefined, limit: number, reverse: boolean): RowPage {
    const inBucket = this.rowsByBucket.get(rowPrefixBucket(prefix));
    const read = (start: Uint8Array | undefined) => (reverse ? this.engine.scanRowsReverse(prefix, start, limit) : this.engine.scanRows(prefix, start, limit));
    // No row written in the bucket: no key of it has a clear or rows here, the stored page stands.
    if (inBucket === undefined && this.flushOrder === 0) return read(from);
    /** Row order in the scan's direction. */
    const order = (a: Uint8Array, b: Uint8Array) => (reverse ? compareBytes(b, a) : compareBytes(a, b));
    let storedFrom = from;
    for (;;) {
      const page = read(storedFrom);
      const boundary = page.done ? undefined : page.records[page.records.length - 1]!.key;
      const merged: VersionedRecord[] = [];
      for (const stored of page.records) {
        if (!this.rows.has(bytesToMapKey(stored.key)) && this.storedVisible(stored)) merged.push(stored);
      }
      if (inBucket !== undefined) {
        for (const collected of inBucket.values()) {
          const key = collected.record.key;
          if (!hasPrefix(key, prefix) || !this.collectedVisible(collected)) continue;
          if (from !== undefined && order(key, from) <= 0) continue;
          if (boundary !== undefined && order(key, boundary) > 0) continue;
          merged.push(collected.record);
        }
      }
      if (merged.length > 0 || page.done) {
        merged.sort((a, b) => order(a.key, b.key));
        if (merged.length > limit) return { records: merged.slice(0, limit), done: false };
        return { records: merged, done: page.done };
      }
      // Every stored row of this page is hidden and nothing collected falls in it: read on.
      storedFrom = boundary;
    }
  }

  /** The keyspace's index while the transaction has not touched the key; readers sort the rows otherwise. */
  scoreIndex(key: Uint8Array): ScoreIndex | undefined {
    if (this.flushOrder > 0 || this.keys.has(bytesToMapKey(key))) return undefined;
    return this.engine.scoreIndex?.(key);
  }

  mayHaveSlots(key: Uint8Array): boolean {
    return this.engine.mayHaveSlots(key) || this.keys.get(bytesToMapKey(key))?.slots === true;
  }

  fieldCount(key: Uint8Array): number {
    if (this.flushOrder === 0 && !this.keys.has(bytesToMapKey(key))) return this.engine.fieldCount(key);
    // The transaction touched the key: count its live fields as this view shows them.
    let count = 0;
    for (const kind of [RowKind.Field, RowKind.Item]) {
      const prefix = kindPrefix(key, kind);
      let after: Uint8Array | undefined;
      for (;;) {
        const page = this.scanRows(prefix, after, FIELD_COUNT_PAGE_ROWS);
        for (const record of page.records) if (record.value !== null) count++;
        if (page.done || page.records.length === 0) break;
        after = page.records[page.records.length - 1]!.key;
      }
    }
    return count;
  }

  scan(cursor: number, count: number): { keys: Uint8Array[]; headers: VersionedRecord[]; cursor: number } {
    const page = this.engine.scan(cursor, count);
    const keys: Uint8Array[] = [];
    const headers: VersionedRecord[] = [];
    const listed = new Set<string>();
    const take = (key: Uint8Array) => {
      listed.add(bytesToMapKey(key));
      const header = liveHeader(this, key);
      if (header === undefined) return;
      keys.push(key);
      headers.push(header);
    };
    for (const key of page.keys) take(key);
    const endBucket = page.cursor === 0 ? KEY_BUCKET_COUNT : page.cursor;
    for (const state of this.keys.values()) {
      const bucket = rowBucket(headerRowKey(state.key));
      if (bucket < cursor || bucket >= endBucket || listed.has(bytesToMapKey(state.key))) continue;
      take(state.key);
    }
    return { keys, headers, cursor: page.cursor };
  }

  keyCount(): number {
    // Counted as the core counts (Keyspace.liveKeys): one for a header of a type other than
    // hash (expired but unswept included), one for live fields (a key that lost a type
    // conflict to a string but kept fields counts twice until it is cleared).
    const present = (engine: Engine, key: Uint8Array) => {
      const header = engine.get(headerRowKey(key));
      const asHeader = header !== undefined && header.value !== null && header.value[0] !== KeyType.Hash ? 1 : 0;
      return asHeader + (engine.fieldCount(key) > 0 ? 1 : 0);
    };
    let count = this.flushOrder > 0 ? 0 : this.engine.keyCount();
    for (const state of this.keys.values()) count += present(this, state.key) - (this.flushOrder > 0 ? 0 : present(this.engine, state.key));
    return count;
  }

  wait(writeSeq: number, replicas: number, timeoutMs: number): Promise<number> {
    return this.engine.wait(writeSeq, replicas, timeoutMs);
  }

  info(): EngineInfo {
    return this.engine.info();
  }

  configView(): Readonly<Record<string, string>> {
    return this.engine.configView();
  }

  onKeyspaceEvent(listener: (event: KeyspaceEvent) => void): () => void {
    return this.engine.onKeyspaceEvent(listener);
  }
}

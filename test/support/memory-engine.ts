// An Engine for server tests over the core's own Keyspace and the memory store: rows,
// clears, expiry and counters behave as on a node; writes commit at once, WAIT answers a
// set number of peers, and every write emits its keyspace events. Also a RESP server over it and a raw client.
import { Buffer } from 'node:buffer';
import { connect, type Socket } from 'node:net';
import { startRespServer, type RespServer } from '../../src/net/resp-listener.js';
import type { Logger } from '../../src/server/state.js';
import { KEY_BUCKET_COUNT } from '../../src/core/bytes.js';
import { DEFAULT_CORE_CONFIG } from '../../src/core/config.js';
import { createHlcClock, HLC_ZERO, observeHlc, type HlcClock } from '../../src/core/hlc.js';
import type { ClientWrite } from '../../src/core/io.js';
import { Keyspace, type ListEnds } from '../../src/core/keyspace.js';
import { MerkleTree } from '../../src/core/merkle.js';
import type { ScoreIndex } from '../../src/core/score-indexes.js';
import type { RowPage } from '../../src/core/store-view.js';
import { TombstoneTracker } from '../../src/core/tombstones.js';
import type { MemberView, VersionedRecord } from '../../src/core/types.js';
import { KeyspaceEvents } from '../../src/runtime/keyspace-events.js';
import type { Engine, EngineInfo, KeyspaceEvent } from '../../src/server/engine.js';
import { MemoryStore } from '../../src/storage/memory-store.js';

export const MEMORY_ENGINE_NODE_ID = '0123456789abcdef0123456789abcdef';

export interface MemoryEngineOptions {
  /** Clock; default Date.now. Tests that test expiry pass a controllable one. */
  readonly nowMs?: () => number;
  /** Extra CONFIG GET entries. */
  readonly config?: Readonly<Record<string, string>>;
  /** Other members shown by INFO. */
  readonly members?: readonly MemberView[];
  /** Writes resolve this long after they are applied (a slow disk); 0 = at once. */
  readonly commitDelayMs?: number;
  /** This node's id (the origin of its stamps and counter slots); default MEMORY_ENGINE_NODE_ID. */
  readonly nodeId?: string;
  /** Keep the rows of every local write (in `batches`) for delivery to another engine's merge(). */
  readonly keepBatches?: boolean;
}

export class MemoryEngine implements Engine {
  /** What WAIT resolves with. */
  waitReplicas = 0;
  /** When set, the next write rejects with it (storage failure). */
  failNextWrite: Error | undefined;
  /** Number of write() calls, and the writes of the last one. */
  writeCalls = 0;
  lastWrites: readonly ClientWrite[] = [];
  /** The stamped rows of each local write, in order (with keepBatches): what a node would replicate. */
  readonly batches: VersionedRecord[][] = [];
  /** The rows, kept by the core's own keyspace logic (clears, expiry, counters). */
  readonly store = new MemoryStore();
  private readonly keyspace: Keyspace;
  private readonly clock: HlcClock = createHlcClock(HLC_ZERO, DEFAULT_CORE_CONFIG.hlcMaxOffsetMs);
  private readonly events = new KeyspaceEvents((row) => this.store.get(row));
  private readonly counters: Record<string, number> = {};
  private sequence = 0;
  private readonly now: () => number;
  private readonly id: string;

  constructor(private readonly options: MemoryEngineOptions = {}) {
    this.now = options.nowMs ?? Date.now;
    this.id = options.nodeId ?? MEMORY_ENGINE_NODE_ID;
    const counters = new Proxy(this.counters, { get: (target, name: string) => target[name] ?? 0 });
    this.keyspace = new Keyspace(this.store, new MerkleTree(), new TombstoneTracker(this.id, DEFAULT_CORE_CONFIG.tombstoneGraceMs), DEFAULT_CORE_CONFIG, counters);
  }

  nowMs(): number {
    return this.now();
  }

  nodeId(): string {
    return this.id;
  }

  get(row: Uint8Array): VersionedRecord | undefined {
    return this.store.get(row);
  }

  scanRows(prefix: Uint8Array, after: Uint8Array | undefined, limit: number): RowPage {
    return this.store.scanRows(prefix, after, limit);
  }

  scanRowsReverse(prefix: Uint8Array, before: Uint8Array | undefined, limit: number): RowPage {
    return this.store.scanRowsReverse(prefix, before, limit);
  }

  scoreIndex(key: Uint8Array): ScoreIndex | undefined {
    return this.keyspace.scoreIndexes.of(key);
  }

  mayHaveSlots(key: Uint8Array): boolean {
    return this.keyspace.mayHaveSlots(key);
  }

  slotRowsAtMost(key: Uint8Array): number {
    return this.keyspace.slotRowsAtMost(key);
  }

  fieldCount(key: Uint8Array): number {
    return this.keyspace.fieldCount(key);
  }

  listEnds(key: Uint8Array): Readonly<ListEnds> | undefined {
    return this.keyspace.listEnds(key);
  }

  setListEnds(key: Uint8Array, ends: Readonly<ListEnds>): void {
    this.keyspace.setListEnds(key, ends);
  }

  write(writes: readonly ClientWrite[]): Promise<number> {
    this.writeCalls++;
    this.lastWrites = writes;
    if (this.failNextWrite !== undefined) {
      const error = this.failNextWrite;
      this.failNextWrite = undefined;
      return Promise.reject(error);
    }
    const nowMs = this.nowMs();
    // Copy: the server hands us views into socket read buffers.
    const owned = writes.map((write) => ({ ...write, key: Buffer.from(write.key), value: write.value === null ? null : Buffer.from(write.value) }));
    const changes = this.keyspace.stamp(owned, this.clock, this.id, nowMs);
    void this.store.write({ records: changes.records, purgeKeys: changes.purgeKeys });
    if (this.options.keepBatches === true) this.batches.push(changes.records);
    this.keyspace.settle();
    const sequence = ++this.sequence;
    this.events.publish(changes.records, changes.previous, false, nowMs);
    const delayMs = this.options.commitDelayMs ?? 0;
    if (delayMs === 0) return Promise.resolve(sequence);
    return new Promise((resolve) => setTimeout(() => resolve(sequence), delayMs));
  }

  /** Rows replicated from another node, merged as a node merges them (LWW, clears), with their keyspace events. */
  merge(records: readonly VersionedRecord[]): void {
    const nowMs = this.nowMs();
    // As a node observes the stamp of every peer message: later local writes stamp above these rows.
    for (const record of records) observeHlc(this.clock, record.hlc, nowMs);
    const merged = this.keyspace.merge(records, nowMs);
    void this.store.write({ records: merged.records, purgeKeys: merged.purgeKeys });
    this.keyspace.settle();
    this.events.publish(merged.records, merged.previous, false, nowMs);
  }

  /** A majority of one: the local version. */
  quorumGet(key: Uint8Array, _timeoutMs: number): Promise<VersionedRecord | undefined> {
    return Promise.resolve(this.get(key));
  }

  scan(cursor: number, count: number): { keys: Uint8Array[]; headers: VersionedRecord[]; cursor: number } {
    const nowMs = this.nowMs();
    const page = this.store.scanHeaders(Math.min(cursor, KEY_BUCKET_COUNT), KEY_BUCKET_COUNT, Math.max(1, count));
    const { keys, headers } = this.keyspace.liveKeysOf(page.records, nowMs);
    return { keys, headers, cursor: page.nextBucket >= KEY_BUCKET_COUNT ? 0 : page.nextBucket };
  }

  keyCount(): number {
    return this.keyspace.liveKeys;
  }

  wait(_writeSeq: number, _replicas: number, _timeoutMs: number): Promise<number> {
    return Promise.resolve(this.waitReplicas);
  }

  info(): EngineInfo {
    const nowMs = this.nowMs();
    const self: MemberView = { id: MEMORY_ENGINE_NODE_ID, name: 'memory', addr: '127.0.0.1:0', incarnation: 1, state: 'alive', lastSeenMs: nowMs };
    return {
      nodeId: MEMORY_ENGINE_NODE_ID,
      nodeName: 'memory',
      version: '0.0.0-test',
      startedAtMs: nowMs,
      peerAddr: '127.0.0.1:0',
      dataDir: '(memory)',
      fsync: 'no',
      members: [self, ...(this.options.members ?? [])],
      keys: this.keyCount(),
      keysWithExpiry: this.keyspace.keysWithExpiry,
      merkleRoot: '0000000000000000',
      sync: [{ peer: 'ffffffffffffffffffffffffffffffff', inProgress: false, keysSent: 3, keysReceived: 4, rounds: 5 }],
      counters: { writes: this.sequence, clock_offset_drops: 0 },
      lastSaveMs: nowMs,
      storageError: undefined,
    };
  }

  configView(): Readonly<Record<string, string>> {
    return { appendfsync: 'no', ...this.options.config };
  }

  onKeyspaceEvent(listener: (event: KeyspaceEvent) => void): () => void {
    return this.events.subscribe(listener);
  }

  listenerCount(): number {
    return this.events.listenerCount;
  }

  /** What PUBLISH handed over for the (absent) peers, copied, in order. */
  readonly publishedToPeers: Array<{ channel: Buffer; message: Buffer }> = [];
  private readonly peerPublishListeners = new Set<(channel: Uint8Array, message: Uint8Array) => void>();

  publish(channel: Uint8Array, message: Uint8Array): void {
    this.publishedToPeers.push({ channel: Buffer.from(channel), message: Buffer.from(message) });
  }

  onPeerPublish(listener: (channel: Uint8Array, message: Uint8Array) => void): () => void {
    this.peerPublishListeners.add(listener);
    return () => this.peerPublishListeners.delete(listener);
  }

  /** A message published on another node arrives, as the runtime's `published` effect delivers it. */
  deliverFromPeer(channel: Uint8Array, message: Uint8Array): void {
    for (const listener of this.peerPublishListeners) listener(channel, message);
  }

  peerPublishListenerCount(): number {
    return this.peerPublishListeners.size;
  }

  /** Rows written on another node arrive (as a replicate frame): merged by the core, with their keyspace events. */
  applyRemote(records: readonly VersionedRecord[]): void {
    const nowMs = this.nowMs();
    const merged = this.keyspace.merge(records, nowMs);
    void this.store.write({ records: merged.records, purgeKeys: merged.purgeKeys });
    this.keyspace.settle();
    this.events.publish(merged.records, merged.previous, false, nowMs);
  }

  /** Run the core's expiry sweep over everything and emit `expired`, as the real sweep does. */
  sweepExpired(): number {
    const nowMs = this.nowMs();
    let count = 0;
    do {
      const swept = this.keyspace.sweepSlice(nowMs);
      void this.store.write({ records: swept.records, purgeKeys: swept.purgeKeys });
      this.keyspace.settle();
      this.events.publish(swept.records, swept.previous, true, nowMs);
      count += swept.records.length;
    } while (!this.keyspace.sweepWrapped());
    return count;
  }
}

/** Logger that keeps what was logged, for tests that check errors are reported. */
export function recordingLogger(): { logger: Logger; lines: { level: string; msg: string | undefined; obj: object }[] } {
  const lines: { level: string; msg: string | undefined; obj: object }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, msg, obj });
  return { logger: { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') }, lines };
}

/** A RESP server on 127.0.0.1 (free port) over a fresh MemoryEngine. */
export async function startMemoryServer(
  options: { requirepass?: string; engine?: MemoryEngine } = {},
): Promise<{ server: RespServer; engine: MemoryEngine; log: ReturnType<typeof recordingLogger>['lines'] }> {
  const engine = options.engine ?? new MemoryEngine();
  const { logger, lines } = recordingLogger();
  const server = await startRespServer({ host: '127.0.0.1', port: 0, engine, logger, ...(options.requirepass === undefined ? {} : { requirepass: options.requirepass }) });
  return { server, engine, log: lines };
}

/** A raw TCP client for bytes that no well-behaved library would send. */
export class RawClient {
  private readonly socket: Socket;
  private received = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  readonly closed: Promise<void>;
  readonly connected: Promise<void>;
  /** Number of 'data' events (reads) seen. */
  reads = 0;

  constructor(port: number) {
    this.socket = connect({ host: '127.0.0.1', port });
    this.socket.on('error', () => {});
    this.connected = new Promise((resolve) => this.socket.once('connect', () => resolve()));
    this.socket.on('data', (chunk: Buffer) => {
      this.reads++;
      this.received = Buffer.concat([this.received, chunk]);
      for (const waiter of this.waiters.splice(0)) waiter();
    });
    this.closed = new Promise((resolve) =>
      this.socket.once('close', () => {
        resolve();
        for (const waiter of this.waiters.splice(0)) waiter();
      }),
    );
  }

  send(bytes: string | Uint8Array): boolean {
    return this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  /** Everything received so far, as latin1 text. */
  text(): string {
    return this.received.toString('latin1');
  }

  isClosed(): boolean {
    return this.socket.destroyed || this.socket.readableEnded;
  }

  /** Wait until the received text satisfies the predicate (or the socket closes, or timeout). */
  async waitFor(predicate: (text: string) => boolean, timeoutMs = 3_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.text())) {
      if (this.isClosed() || Date.now() > deadline) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.text();
  }

  /** Wait for the server to close the connection; false on timeout. */
  async waitClosed(timeoutMs = 3_000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const result = await Promise.race([this.closed.then(() => true), timeout]);
    clearTimeout(timer);
    return result;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

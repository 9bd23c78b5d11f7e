// An Engine over a Map for server tests: writes are stamped with a counter and commit at
// once, SCAN walks key buckets like the real store, WAIT answers a set number of peers,
// and every write emits its keyspace event. Also a RESP server over it and a raw client.
import { Buffer } from 'node:buffer';
import { connect, type Socket } from 'node:net';
import { startRespServer, type RespServer } from '../../src/net/resp-listener.js';
import type { Logger } from '../../src/server/state.js';
import { bytesToMapKey, keyBucket, KEY_BUCKET_COUNT, compareBytes } from '../../src/core/bytes.js';
import type { ClientWrite } from '../../src/core/io.js';
import { isAbsent } from '../../src/core/record.js';
import type { MemberView, VersionedRecord } from '../../src/core/types.js';
import type { Engine, EngineInfo, KeyspaceEvent, KeyspaceEventName } from '../../src/server/engine.js';

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
}

export class MemoryEngine implements Engine {
  readonly records = new Map<string, VersionedRecord>();
  /** What WAIT resolves with. */
  waitReplicas = 0;
  /** When set, the next write rejects with it (storage failure). */
  failNextWrite: Error | undefined;
  /** Number of write() calls, and the writes of the last one. */
  writeCalls = 0;
  lastWrites: readonly ClientWrite[] = [];
  private sequence = 0;
  private logical = 0;
  private readonly listeners = new Set<(event: KeyspaceEvent) => void>();
  private readonly clock: () => number;

  constructor(private readonly options: MemoryEngineOptions = {}) {
    this.clock = options.nowMs ?? Date.now;
  }

  nowMs(): number {
    return this.clock();
  }

  get(key: Uint8Array): VersionedRecord | undefined {
    return this.records.get(bytesToMapKey(key));
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
    const events: KeyspaceEvent[] = [];
    for (const write of writes) {
      const mapKey = bytesToMapKey(write.key);
      const previous = this.records.get(mapKey);
      // Copy: the server hands us views into socket read buffers.
      const key = Buffer.from(write.key);
      const record: VersionedRecord = {
        key,
        value: write.value === null ? null : write.value === previous?.value ? write.value : Buffer.from(write.value),
        hlc: { wallMs: nowMs, logical: ++this.logical },
        origin: MEMORY_ENGINE_NODE_ID,
        expiresAtMs: write.expiresAtMs,
      };
      this.records.set(mapKey, record);
      const event = eventOf(previous, write, nowMs);
      events.push({ key, event });
      if (event === 'set' && write.expiresAtMs !== 0) events.push({ key, event: 'expire' }); // as Redis: SET .. EX sends both
    }
    const sequence = ++this.sequence;
    for (const event of events) for (const listener of this.listeners) listener(event);
    const delayMs = this.options.commitDelayMs ?? 0;
    if (delayMs === 0) return Promise.resolve(sequence);
    return new Promise((resolve) => setTimeout(() => resolve(sequence), delayMs));
  }

  /** A majority of one: the local version. */
  quorumGet(key: Uint8Array, _timeoutMs: number): Promise<VersionedRecord | undefined> {
    return Promise.resolve(this.get(key));
  }

  scan(cursor: number, count: number): { keys: Uint8Array[]; cursor: number } {
    const nowMs = this.nowMs();
    const live = [...this.records.values()]
      .filter((record) => !isAbsent(record, nowMs))
      .map((record) => ({ key: record.key, bucket: keyBucket(record.key) }))
      .filter((entry) => entry.bucket >= cursor)
      .sort((a, b) => a.bucket - b.bucket || compareBytes(a.key, b.key));
    const keys: Uint8Array[] = [];
    let index = 0;
    while (index < live.length && keys.length < count) {
      const bucket = live[index]!.bucket;
      while (index < live.length && live[index]!.bucket === bucket) keys.push(live[index++]!.key);
    }
    const next = index < live.length ? live[index]!.bucket : 0;
    return { keys, cursor: next === KEY_BUCKET_COUNT ? 0 : next };
  }

  keyCount(): number {
    const nowMs = this.nowMs();
    let count = 0;
    for (const record of this.records.values()) if (!isAbsent(record, nowMs)) count++;
    return count;
  }

  wait(_writeSeq: number, _replicas: number, _timeoutMs: number): Promise<number> {
    return Promise.resolve(this.waitReplicas);
  }

  info(): EngineInfo {
    const nowMs = this.nowMs();
    const self: MemberView = { id: MEMORY_ENGINE_NODE_ID, name: 'memory', addr: '127.0.0.1:0', incarnation: 1, state: 'alive', lastSeenMs: nowMs };
    let keysWithExpiry = 0;
    for (const record of this.records.values()) if (!isAbsent(record, nowMs) && record.expiresAtMs !== 0) keysWithExpiry++;
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
      keysWithExpiry,
      merkleRoot: '0000000000000000',
      sync: [{ peer: 'ffffffffffffffffffffffffffffffff', inProgress: false, keysSent: 3, keysReceived: 4, rounds: 5 }],
      counters: { writes: this.sequence, clock_offset_drops: 0 },
      lastSaveMs: nowMs,
    };
  }

  configView(): Readonly<Record<string, string>> {
    return { appendfsync: 'no', ...this.options.config };
  }

  onKeyspaceEvent(listener: (event: KeyspaceEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  listenerCount(): number {
    return this.listeners.size;
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

  /** Turn expired records into tombstones and emit `expired`, as the real sweep does. */
  sweepExpired(): number {
    const nowMs = this.nowMs();
    let count = 0;
    for (const [mapKey, record] of this.records) {
      if (record.value === null || record.expiresAtMs === 0 || record.expiresAtMs > nowMs) continue;
      this.records.set(mapKey, { ...record, value: null, expiresAtMs: 0 });
      count++;
      for (const listener of this.listeners) listener({ key: record.key, event: 'expired' });
    }
    return count;
  }
}

/**
 * The event a write causes. The server rewrites an existing value object for EXPIRE and
 * PERSIST, so an identical value object means only the expiry changed.
 */
function eventOf(previous: VersionedRecord | undefined, write: ClientWrite, nowMs: number): KeyspaceEventName {
  if (write.value === null) return 'del';
  if (previous !== undefined && !isAbsent(previous, nowMs) && previous.value === write.value) return write.expiresAtMs === 0 ? 'persist' : 'expire';
  return 'set';
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

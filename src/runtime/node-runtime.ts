// The driver of one node: feeds socket, timer and storage events into NodeCore.step
// and carries out the effects it returns, persisting before anything is acknowledged.
import { hostname } from 'node:os';
import { KEY_BUCKET_COUNT } from '../core/bytes.js';
import type { ScoreIndex } from '../core/score-indexes.js';
import type { RowPage } from '../core/store-view.js';
import type { ClientWrite, Input, LogLevel, PeerHello } from '../core/io.js';
import type { PeerMessage } from '../core/messages.js';
import { NodeCore, WATCHERS_META_NAME } from '../core/node.js';
import type { Hlc, NodeId, VersionedRecord } from '../core/types.js';
import { startAdminHttp, type AdminHttp } from '../net/admin-http.js';
import { Discovery } from '../net/discovery.js';
import { broadcastAddressFor } from '../net/broadcast-address.js';
import { PeerLinks } from '../net/peer-links.js';
import { startRespServer, type RespServer } from '../net/resp-listener.js';
import type { Engine, EngineInfo, KeyspaceEvent, LinkedPeer } from '../server/engine.js';
import { lockDataDir, prepareDataDir } from '../storage/data-dir.js';
import { openLmdbStore } from '../storage/lmdb-store.js';
import type { Store } from '../storage/store.js';
import { EffectExecutor, type AppliedEffect, type Commit, type EffectIo, type PersistEffect, type QuorumReadDoneEffect } from './effects.js';
import { engineConfigView, engineInfo } from './engine-info.js';
import { decodeMillis, encodeHlc, encodeMillis, loadIdentity, META_HLC, META_INCARNATION, META_LAST_UP } from './identity.js';
import { KeyspaceEvents } from './keyspace-events.js';
import type { Logger } from './logger.js';
import type { NodeOptions } from './options.js';
import { Persistence } from './persistence.js';
import { reservePort } from './ports.js';

// Moved out by concept; re-exported so this stays the runtime's one import path.
export { PEERKV_VERSION } from './engine-info.js';
export { HLC_SAVE_LEASE_MS } from './persistence.js';

/** How often the last-up time is saved; an absence is measured from it. */
export const LAST_UP_SAVE_INTERVAL_MS = 10_000;

export class NodeRuntime implements Engine, EffectIo {
  readonly core: NodeCore;
  /** How this node introduces itself; its incarnation grows when it refutes a suspicion. */
  private hello: PeerHello;
  private readonly startedAtMs = Date.now();
  private resp: RespServer | undefined;
  private discovery: Discovery | undefined;
  private admin: AdminHttp | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private readonly persistence: Persistence;
  /** Carries out the core's effects on this runtime (EffectIo below). */
  private readonly executor = new EffectExecutor(this);
  /** The commit behind each promise write() handed out (whenWritten), and the last one. */
  private readonly commitOfWrite = new WeakMap<Promise<number>, Commit>();
  private lastWrite: Promise<number> | undefined;
  private requestCounter = 0;
  private readonly waitResolvers = new Map<number, (replicas: number) => void>();
  private readonly quorumResolvers = new Map<number, { resolve: (record: VersionedRecord | undefined) => void; reject: (error: Error) => void }>();
  private readonly keyspace = new KeyspaceEvents((row) => this.store.get(row));
  private readonly peerPublishListeners = new Set<(channel: Uint8Array, message: Uint8Array) => void>();
  private stopped = false;
  private stopping: Promise<void> | undefined;
  private clientsPaused = false;
  private lastUpTimer: NodeJS.Timeout | undefined;
  private backpressureEvents = 0;
  private shutdownHandler: (() => void) | undefined;

  private constructor(
    readonly options: NodeOptions,
    private readonly store: Store,
    private readonly logger: Logger,
    self: PeerHello,
    lastHlc: Hlc,
    private readonly links: PeerLinks,
    private readonly unlock: () => Promise<void>,
  ) {
    this.hello = self;
    this.persistence = new Persistence({
      store,
      logger,
      savedClockMs: lastHlc.wallMs,
      lastStamp: () => this.core.clock.last,
      onCommitted: (commit) => this.executor.committed(commit),
      onFailed: (commit, error) => this.executor.failed(commit, error),
    });
    this.core = new NodeCore({
      self,
      config: options.core,
      lastHlc,
      seed: parseInt(self.id.slice(0, 8), 16) ^ self.incarnation,
      view: store,
      nowMs: this.nowMs(),
      savedWatchers: store.getMeta(WATCHERS_META_NAME),
      lastUpMs: decodeMillis(store.getMeta(META_LAST_UP)),
    });
  }

  static async start(options: NodeOptions, logger: Logger): Promise<NodeRuntime> {
    await prepareDataDir(options.dataDir);
    const unlock = await lockDataDir(options.dataDir);
    let store: Store;
    try {
      store = await openLmdbStore({
        dir: options.dataDir,
        fsync: options.fsync,
        diskReserveBytes: options.diskReserveBytes,
        onSyncError: (error) => logger.error({ err: error }, 'background fsync failed'),
        onFailureChange: (error) => {
          if (error !== undefined) logger.error({ err: error.message, dataDir: options.dataDir }, 'refusing client writes (MISCONF) until the data directory can take them again; reads keep working');
          else logger.warn({ dataDir: options.dataDir }, 'the data directory takes writes again: writes that waited are committed, client writes are accepted');
        },
      });
    } catch (error) {
      await unlock();
      throw error;
    }
    let runtime: NodeRuntime | undefined;
    try {
      const identity = await loadIdentity(store);
      const peerPort = options.peerPort === 0 ? await reservePort(options.bind) : options.peerPort;
      const self: PeerHello = {
        id: identity.id,
        name: options.name ?? `${hostname()}:${options.port}`,
        addr: `${options.bind}:${peerPort}`,
        incarnation: identity.incarnation,
      };
      const links = new PeerLinks({
        self,
        clusterName: options.clusterName,
        clusterKeys: options.clusterKeys,
        bindHost: options.bind,
        port: peerPort,
        logger,
        onLinkUp: (hello) => runtime?.input({ kind: 'linkUp', nowMs: runtime.nowMs(), peer: hello }),
        onLinkDown: (peer) => {
          runtime?.input({ kind: 'linkDown', nowMs: runtime.nowMs(), peer });
          runtime?.relieveBackpressure();
        },
        onMessage: (from, hlc, message) => runtime?.input({ kind: 'peerMessage', nowMs: runtime.nowMs(), from, hlc, message }),
        onDrain: () => runtime?.relieveBackpressure(),
      });
      runtime = new NodeRuntime(options, store, logger, self, identity.lastHlc, links, unlock);
      try {
        await runtime.open();
      } catch (error) {
        await runtime.stop().catch(() => undefined);
        throw error;
      }
      return runtime;
    } catch (error) {
      if (runtime === undefined) {
        await store.close().catch(() => undefined);
        await unlock();
      }
      throw error;
    }
  }

  private async open(): Promise<void> {
    const options = this.options;
    await this.links.listen();
    this.resp = await startRespServer({ host: options.bind, port: options.port, engine: this, requirepass: options.requirepass, logger: this.logger });
    if (options.discovery) {
      this.discovery = new Discovery({
        bindHost: options.bind,
        port: options.discoveryPort,
        broadcastAddress: options.broadcast ?? broadcastAddressFor(options.bind),
        clusterName: options.clusterName,
        clusterKeys: options.clusterKeys,
        self: this.self,
        nowMs: () => this.nowMs(),
        logger: this.logger,
        onAnnounce: (hello) => this.input({ kind: 'discovered', nowMs: this.nowMs(), peer: hello }),
      });
      await this.discovery.start();
      this.discovery.announce();
    }
    this.saveLastUp();
    this.lastUpTimer = setInterval(() => this.saveLastUp(), LAST_UP_SAVE_INTERVAL_MS);
    this.lastUpTimer.unref();
    if (options.httpPort !== undefined) {
      this.admin = await startAdminHttp({
        host: options.bind,
        port: options.httpPort,
        engine: this,
        commandStats: () => this.resp?.commandStats() ?? [],
        replication: () => ({ writeSeq: this.core.lastWriteSeq(), acks: this.core.replicationAcks() }),
        partition: options.allowPartition ? (on) => this.links.setPartitioned(on) : undefined,
      });
      // The port it got: --http-port 0 takes any free one.
      this.logger.info({ host: options.bind, port: this.admin.port }, 'admin HTTP listening');
    }
    for (const seed of options.join) this.links.connectSeed(seed);
    this.input({ kind: 'tick', nowMs: this.nowMs() });
  }

  get clientPort(): number {
    return this.resp?.port ?? this.options.port;
  }

  get httpPort(): number | undefined {
    return this.admin?.port;
  }

  get peerPort(): number {
    return Number(this.self.addr.slice(this.self.addr.lastIndexOf(':') + 1));
  }

  nowMs(): number {
    return Date.now() + this.options.clockOffsetMs;
  }

  /** Whether this node's peer links are cut on purpose (admin HTTP POST /partition). */
  partitioned(): boolean {
    return this.links.isPartitioned();
  }

  storageFailure(): string | undefined {
    return this.store.failure()?.message;
  }

  /** Feed one input to the core and carry out its effects. */
  input(input: Input): void {
    if (this.stopped) return;
    this.executor.execute(this.core.step(input), input);
    if (this.core.membership.incarnation() !== this.hello.incarnation) this.advertiseIncarnation();
  }

  get self(): PeerHello {
    return this.hello;
  }

  /**
   * After a refutation the core speaks at a higher incarnation: handshakes and
   * announcements say so too (a peer that meets us anew would otherwise hear the old one),
   * and it is saved at once, so a restart after a kill -9 starts above it.
   */
  private advertiseIncarnation(): void {
    const incarnation = this.core.membership.incarnation();
    this.hello = { ...this.hello, incarnation };
    this.links.setSelf(this.hello);
    this.discovery?.updateSelf(this.hello);
    this.store.putMeta(META_INCARNATION, new TextEncoder().encode(String(incarnation))).catch((error: unknown) => this.logger.error({ err: error }, 'saving the incarnation failed'));
  }

  // ---- EffectIo (what the executor acts on) ----

  feed(input: Input): void {
    this.input(input);
  }

  send(to: NodeId, hlc: Hlc, message: PeerMessage): void {
    this.links.send(to, hlc, message);
    if (!this.clientsPaused && this.links.isCongested(to)) this.applyBackpressure();
  }

  connect(peer: NodeId, addr: string): void {
    this.links.connect(peer, addr);
  }

  disconnect(peer: NodeId): void {
    this.links.disconnect(peer);
  }

  announce(): void {
    this.discovery?.announce();
  }

  persist(effect: PersistEffect): Commit {
    return this.persistence.persist(effect.records, effect.purgeKeys);
  }

  saveMeta(name: string, value: Uint8Array): void {
    this.store.putMeta(name, value).catch((error: unknown) => this.logger.error({ err: error, name }, 'saving metadata failed'));
  }

  applied(effect: AppliedEffect): void {
    if (this.keyspace.hasListeners) this.keyspace.publish(effect.records, effect.previous, effect.expired, this.nowMs());
  }

  published(channel: Uint8Array, message: Uint8Array): void {
    for (const listener of this.peerPublishListeners) listener(channel, message);
  }

  waitDone(requestId: number, replicas: number): void {
    this.waitResolvers.get(requestId)?.(replicas);
    this.waitResolvers.delete(requestId);
  }

  quorumReadDone(effect: QuorumReadDoneEffect): void {
    const pending = this.quorumResolvers.get(effect.requestId);
    this.quorumResolvers.delete(effect.requestId);
    if (effect.ok) pending?.resolve(effect.record);
    else pending?.reject(new Error(`no quorum: ${effect.replies} of ${effect.needed} needed members answered`));
  }

  setWakeTimer(delayMs: number | undefined): void {
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    if (delayMs === undefined || this.stopped) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.executor.woke();
    }, delayMs);
  }

  log(level: LogLevel, message: string, fields: Readonly<Record<string, unknown>>): void {
    this.logger[level](fields, message);
  }

  /** When we were last running: a restart after more than the grace resyncs first. */
  private saveLastUp(): void {
    this.store.putMeta(META_LAST_UP, encodeMillis(this.nowMs())).catch((error: unknown) => this.logger.error({ err: error }, 'saving last-up time failed'));
  }

  /**
   * A peer link's send buffer is past its high-water mark: stop reading client commands
   * (their writes would only queue more) until every link drains. Peers keep being read.
   */
  private applyBackpressure(): void {
    this.clientsPaused = true;
    this.backpressureEvents++;
    this.resp?.pauseReading();
    this.logger.warn({ events: this.backpressureEvents }, 'peer link congested: pausing client reads until it drains');
  }

  relieveBackpressure(): void {
    if (!this.clientsPaused || this.links.anyCongested()) return;
    this.clientsPaused = false;
    this.resp?.resumeReading();
    this.logger.info('peer links drained: resuming client reads');
  }

  // ---- Engine (what the Redis command table uses) ----

  nodeId(): string {
    return this.self.id;
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
    return this.core.keyspace.scoreIndexes.of(key);
  }

  mayHaveSlots(key: Uint8Array): boolean {
    return this.core.keyspace.mayHaveSlots(key);
  }

  slotRowsAtMost(key: Uint8Array): number {
    return this.core.keyspace.slotRowsAtMost(key);
  }

  fieldCount(key: Uint8Array): number {
    return this.core.keyspace.fieldCount(key);
  }

  listEnds(key: Uint8Array): { readonly head?: Uint8Array; readonly tail?: Uint8Array } | undefined {
    return this.core.keyspace.listEnds(key);
  }

  setListEnds(key: Uint8Array, ends: { readonly head?: Uint8Array; readonly tail?: Uint8Array }): void {
    this.core.keyspace.setListEnds(key, ends);
  }

  write(writes: readonly ClientWrite[]): Promise<number> {
    if (this.stopped) return Promise.reject(new Error('node is shutting down'));
    const requestId = ++this.requestCounter;
    this.input({ kind: 'clientWrite', nowMs: this.nowMs(), requestId, writes });
    // One promise per LMDB transaction, shared by every write in it: it resolves with the
    // newest write sequence of the transaction, at or above this write's (WAIT counts on it).
    const commit = this.executor.clientCommit();
    const acknowledged = commit.acknowledged();
    if (this.lastWrite !== acknowledged) {
      this.lastWrite = acknowledged;
      this.commitOfWrite.set(acknowledged, commit);
    }
    return acknowledged;
  }

  whenWritten(write: Promise<number>, settled: (writeSeq: number, error?: unknown) => void): boolean {
    const commit = this.commitOfWrite.get(write);
    if (commit === undefined) return false;
    commit.whenSettled(settled);
    return true;
  }

  scan(cursor: number, count: number): { keys: Uint8Array[]; headers: VersionedRecord[]; cursor: number } {
    const fromBucket = Math.max(0, Math.min(cursor, KEY_BUCKET_COUNT));
    const page = this.store.scanHeaders(fromBucket, KEY_BUCKET_COUNT, Math.max(1, count));
    const { keys, headers } = this.core.keyspace.liveKeysOf(page.records, this.nowMs());
    return { keys, headers, cursor: page.nextBucket >= KEY_BUCKET_COUNT ? 0 : page.nextBucket };
  }

  loading(): boolean {
    return this.core.resync.active();
  }

  keyCount(): number {
    return this.core.liveKeys;
  }

  wait(writeSeq: number, replicas: number, timeoutMs: number): Promise<number> {
    const requestId = ++this.requestCounter;
    const nowMs = this.nowMs();
    return new Promise((resolve) => {
      this.waitResolvers.set(requestId, resolve);
      this.input({ kind: 'wait', nowMs, requestId, writeSeq, replicas, deadlineMs: timeoutMs === 0 ? Infinity : nowMs + timeoutMs });
    });
  }

  quorumGet(key: Uint8Array, timeoutMs: number): Promise<VersionedRecord | undefined> {
    const requestId = ++this.requestCounter;
    const nowMs = this.nowMs();
    return new Promise((resolve, reject) => {
      this.quorumResolvers.set(requestId, { resolve, reject });
      this.input({ kind: 'quorumRead', nowMs, requestId, key, deadlineMs: nowMs + timeoutMs });
    });
  }

  info(): EngineInfo {
    return engineInfo({
      self: this.self,
      startedAtMs: this.startedAtMs,
      options: this.options,
      core: this.core,
      links: this.links,
      discovery: this.discovery,
      backpressureEvents: this.backpressureEvents,
      lastSaveMs: this.persistence.lastSaveMs,
      storageError: this.storageFailure(),
    });
  }

  storedBytes(): number {
    return this.store.storedBytes?.() ?? 0;
  }

  linkedPeers(): readonly LinkedPeer[] {
    const nowMs = this.nowMs();
    const members = new Map(this.core.membership.members().map((member) => [member.id, member]));
    const peers: LinkedPeer[] = [];
    for (const id of this.links.linkedPeers()) {
      const member = members.get(id);
      if (member !== undefined && member.state !== 'dead') peers.push({ id, addr: member.addr, lagMs: Math.max(0, nowMs - member.lastSeenMs) });
    }
    return peers;
  }

  configView(): Readonly<Record<string, string>> {
    return engineConfigView(this.options, this.clientPort, this.peerPort);
  }

  onKeyspaceEvent(listener: (event: KeyspaceEvent) => void): () => void {
    return this.keyspace.subscribe(listener);
  }

  publish(channel: Uint8Array, message: Uint8Array): void {
    this.input({ kind: 'publish', nowMs: this.nowMs(), channel, message });
  }

  onPeerPublish(listener: (channel: Uint8Array, message: Uint8Array) => void): () => void {
    this.peerPublishListeners.add(listener);
    return () => this.peerPublishListeners.delete(listener);
  }

  /** SAVE: everything committed so far, flushed to disk. */
  flush(): Promise<void> {
    return this.store.flush();
  }

  /** Who stops the node when a client sends SHUTDOWN (`peerkv start` runs its SIGTERM path); by default stop(). */
  onShutdownRequest(handler: () => void): void {
    this.shutdownHandler = handler;
  }

  requestShutdown(): void {
    if (this.shutdownHandler !== undefined) this.shutdownHandler();
    else void this.stop();
  }

  /** Stop accepting, close links, let pending writes commit, flush and close LMDB. */
  stop(): Promise<void> {
    this.stopping ??= this.shutDown();
    return this.stopping;
  }

  private async shutDown(): Promise<void> {
    await this.resp?.close();
    await this.admin?.close();
    this.stopped = true;
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
    if (this.lastUpTimer !== undefined) clearInterval(this.lastUpTimer);
    this.discovery?.close();
    await this.links.close();
    for (const resolve of this.waitResolvers.values()) resolve(0);
    this.waitResolvers.clear();
    for (const pending of this.quorumResolvers.values()) pending.reject(new Error('node is shutting down'));
    this.quorumResolvers.clear();
    // Writes the store holds (a full disk) would never settle: closing the store fails them
    // (none was acknowledged), and nothing more is written. Otherwise every write is waited for.
    if (this.store.failure() === undefined) {
      await this.persistence.settled();
      await this.store.putMeta(META_HLC, encodeHlc(this.core.clock.last));
      await this.store.putMeta(META_LAST_UP, encodeMillis(this.nowMs()));
      // Refutations raise the incarnation during a run; the next start must exceed it.
      await this.store.putMeta(META_INCARNATION, new TextEncoder().encode(String(this.core.membership.incarnation())));
      await this.store.flush();
    }
    await this.store.close().catch((error: unknown) => this.logger.warn({ err: error }, 'closing the store while it could not write'));
    await this.unlock();
  }
}

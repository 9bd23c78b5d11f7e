// What the Redis command table needs from a running node. The runtime implements it;
// server tests may implement it over the in-memory store.
import type { ClientWrite } from '../core/io.js';
import type { ScoreIndex } from '../core/score-indexes.js';
import type { ListEnds } from '../core/keyspace.js';
import type { RowPage } from '../core/store-view.js';
import type { MemberView, VersionedRecord } from '../core/types.js';

export type KeyspaceEventName =
  | 'new'
  | 'set'
  | 'del'
  | 'expired'
  | 'expire'
  | 'persist'
  | 'incrby'
  | 'incrbyfloat'
  | 'hset'
  | 'hdel'
  | 'hincrby'
  | 'hincrbyfloat'
  | 'sadd'
  | 'srem'
  | 'zadd'
  | 'zrem'
  | 'zincr'
  | 'lpush'
  | 'rpush'
  | 'linsert'
  | 'lset'
  | 'lpop'
  | 'rpop'
  | 'rename_from'
  | 'rename_to'
  | 'copy_to'
  | 'xadd'
  | 'xtrim'
  | 'xdel'
  | 'xsetid'
  | 'xgroup-create'
  | 'xgroup-createconsumer'
  | 'xgroup-delconsumer'
  | 'xgroup-destroy'
  | 'xgroup-setid';

/** A change of one key, from a write on any node (keyspace notifications). */
export interface KeyspaceEvent {
  readonly key: Uint8Array;
  readonly event: KeyspaceEventName;
}

export interface SyncStatus {
  readonly peer: string;
  readonly inProgress: boolean;
  readonly keysSent: number;
  readonly keysReceived: number;
  readonly rounds: number;
}

/** Facts for INFO and `peerkv status`. Counters are totals since start. */
export interface EngineInfo {
  readonly nodeId: string;
  readonly nodeName: string;
  readonly version: string;
  readonly startedAtMs: number;
  readonly peerAddr: string;
  readonly dataDir: string;
  readonly fsync: string;
  readonly members: readonly MemberView[];
  readonly keys: number;
  readonly keysWithExpiry: number;
  /** Root of the anti-entropy Merkle tree as 16 hex digits: equal roots, equal data. */
  readonly merkleRoot: string;
  readonly sync: readonly SyncStatus[];
  /** Named counters: writes, peer frames, drops (clock_offset, bad_frame ...). */
  readonly counters: Readonly<Record<string, number>>;
  readonly lastSaveMs: number;
  /** Why storage commits fail now (writes are refused with MISCONF), undefined while they work. */
  readonly storageError: string | undefined;
}

/** A peer this node has a link up to (what min-replicas-to-write counts as a replica). */
export interface LinkedPeer {
  readonly id: string;
  /** host:peerPort. */
  readonly addr: string;
  /** Milliseconds since this node last heard from it. */
  readonly lagMs: number;
}

export interface Engine {
  /** Current wall-clock time as the node sees it (ms since epoch); expiry is judged by it. */
  nowMs(): number;
  /** Set while storage commits fail: client writes are refused (MISCONF) until they work again. */
  storageFailure?(): string | undefined;
  /** This node's id: the origin of its own counter slots. */
  nodeId(): string;
  /** The newest local version of a row (rows.ts; may be a tombstone or expired: check isAbsent). */
  get(row: Uint8Array): VersionedRecord | undefined;
  /** Rows of one key by row-key prefix, in order, after `after` (StoreView.scanRows). */
  scanRows(prefix: Uint8Array, after: Uint8Array | undefined, limit: number): RowPage;
  /**
   * Rows of one key by row-key prefix in reverse order (last first), before `before`
   * (exclusive; undefined: from the last): a list's tail costs what it returns.
   */
  scanRowsReverse(prefix: Uint8Array, before: Uint8Array | undefined, limit: number): RowPage;
  /**
   * The score index of a sorted set as the keyspace keeps it (score-indexes.ts), or
   * undefined when this engine has none for the key: readers then sort the rows.
   */
  scoreIndex?(key: Uint8Array): ScoreIndex | undefined;
  /**
   * At least as many as the key's counter slot rows (Keyspace.slotRowsAtMost); absent where
   * reads are not of the node's own rows (a transaction's view).
   */
  slotRowsAtMost?(key: Uint8Array): number;
  /** False when the key certainly has no counter slot rows (reads skip looking for them). */
  mayHaveSlots(key: Uint8Array): boolean;
  /** Live element rows of a key (hash fields, set and sorted-set members as Field rows, list Item rows; 0 when none), kept by the keyspace: O(1). */
  fieldCount(key: Uint8Array): number;
  /**
   * How far a list's ends are known to hold no live item (Keyspace.listEnds); absent where
   * reads are not of the node's own rows (a transaction's view).
   */
  listEnds?(key: Uint8Array): Readonly<ListEnds> | undefined;
  setListEnds?(key: Uint8Array, ends: Readonly<ListEnds>): void;
  /**
   * Stamp, commit and replicate writes, atomically visible to later get() calls at once.
   * Resolves with the write sequence for WAIT after the commit, rejects on storage errors.
   */
  write(writes: readonly ClientWrite[]): Promise<number>;
  /**
   * When `write` is a promise this engine's write() returned: call `settled` once it
   * settles (writeSeq, or error when it failed), without a promise reaction, and say true.
   * False: not one of its writes (await it instead).
   */
  whenWritten?(write: Promise<number>, settled: (writeSeq: number, error?: unknown) => void): boolean;
  /**
   * Live keys from bucket cursor on, with the headers they read with (Keyspace.liveKeysOf:
   * hashes need a live field); cursor 0 starts, a returned 0 means done.
   */
  scan(cursor: number, count: number): { keys: Uint8Array[]; headers: VersionedRecord[]; cursor: number };
  /** Number of live keys (approximate while expired keys wait for the sweep). */
  keyCount(): number;
  /** Resolves with how many peers stored writes up to writeSeq, once `replicas` did or at timeout (0 = forever). */
  wait(writeSeq: number, replicas: number, timeoutMs: number): Promise<number>;
  /**
   * Quorum read (PEERKV.QGET): the newest version among a majority of members, repairing
   * stale replicas. Rejects with a message when no majority answers within timeoutMs.
   */
  quorumGet?(key: Uint8Array, timeoutMs: number): Promise<VersionedRecord | undefined>;
  /** True while the node resyncs after an absence longer than the tombstone grace (reads refused). */
  loading?(): boolean;
  /** Resolves once everything committed so far is flushed to disk (SAVE); absent: nothing to flush. */
  flush?(): Promise<void>;
  /** Stop this node cleanly, as SIGTERM does (SHUTDOWN); absent: this engine cannot be stopped by a client. */
  requestShutdown?(): void;
  info(): EngineInfo;
  /** Bytes the stored rows take in the store (the dataset part of INFO used_memory); absent: not measured. */
  storedBytes?(): number;
  /** Peers with a link up now, sorted by id (INFO replication, min-replicas-to-write); absent: none. */
  linkedPeers?(): readonly LinkedPeer[];
  /** CONFIG GET view: parameter name -> value, read-only. */
  configView(): Readonly<Record<string, string>>;
  /** Keyspace events of changes made on any node; returns the unsubscribe function. */
  onKeyspaceEvent(listener: (event: KeyspaceEvent) => void): () => void;
  /** PUBLISH made here: send it once to every linked peer (best effort, never forwarded by them). */
  publish?(channel: Uint8Array, message: Uint8Array): void;
  /** Messages PUBLISHed on other nodes and relayed here; returns the unsubscribe function. */
  onPeerPublish?(listener: (channel: Uint8Array, message: Uint8Array) => void): () => void;
}

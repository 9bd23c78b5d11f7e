// Server-wide state of the RESP front end: the engine, the command table, connected
// sessions, pub/sub and counters. One per listener; sessions point back to it.
import type { Buffer } from 'node:buffer';
import { AclLog } from './acl-log.js';
import { AclRegistry } from './acl-store.js';
import type { Engine } from './engine.js';
import { PubSubHub } from './pubsub.js';
import { ServerSettings } from './settings.js';
import type { Session } from './session.js';
import { Admission } from './admission-state.js';
import { CommandStats } from './command-stats.js';
import type { CommandSpec, CommandTable } from './table.js';
import { WatchRegistry } from './watch.js';

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** Totals since start (INFO # Stats and RespServer.stats()). */
export interface ServerStats {
  connectionsReceived: number;
  rejectedConnections: number;
  commandsProcessed: number;
  protocolErrors: number;
  internalErrors: number;
  netInputBytes: number;
  netOutputBytes: number;
  /** Socket reads from clients (INFO total_reads_processed). */
  readsProcessed: number;
  /** Socket writes to clients, replies and pushes (INFO total_writes_processed): with pipelining, far fewer than commands. */
  replyWrites: number;
  keyspaceHits: number;
  keyspaceMisses: number;
  /** Connections closed because their output piled up (slow subscribers). */
  outputOverflows: number;
}

export interface ServerStateOptions {
  /** The commands this server answers (commands.ts buildCommandTable): passed in, so the
   * server state does not depend on the command families that depend on it. */
  readonly table: CommandTable;
  readonly engine: Engine;
  readonly requirepass: string | undefined;
  readonly logger: Logger;
}

export class ServerState {
  readonly engine: Engine;
  readonly requirepass: string | undefined;
  readonly logger: Logger;
  readonly table: CommandTable;
  readonly pubsub: PubSubHub;
  /** Which connections WATCH which keys (MULTI/EXEC). */
  readonly watches: WatchRegistry;
  readonly sessions = new Map<number, Session>();
  /** ACL users (cluster-wide, acl-store.ts) and this node's ACL LOG. */
  readonly acl: AclRegistry;
  readonly aclLog: AclLog;
  /** Clients waiting in a blocking command (BLPOP and friends). */
  blockedClients = 0;
  /** Client id -> ends its wait (CLIENT UNBLOCK): with `error`, with an error reply, else as a timeout. */
  readonly unblockers = new Map<number, (error: boolean) => void>();
  /**
   * Set while a script runs past busy-reply-threshold (scripting-host.ts): the BUSY error a
   * command gets instead of running, or undefined for the commands still served.
   */
  scriptBusy: ((spec: CommandSpec, args: readonly Buffer[]) => string | undefined) | undefined = undefined;
  readonly startedAtMs = Date.now();
  readonly stats: ServerStats = {
    connectionsReceived: 0,
    rejectedConnections: 0,
    commandsProcessed: 0,
    protocolErrors: 0,
    internalErrors: 0,
    netInputBytes: 0,
    netOutputBytes: 0,
    readsProcessed: 0,
    replyWrites: 0,
    keyspaceHits: 0,
    keyspaceMisses: 0,
    outputOverflows: 0,
  };
  /** Calls, time and errors per command (INFO commandstats, errorstats). */
  readonly commandStats = new CommandStats();
  /** What CONFIG SET may change at run time. */
  readonly settings = new ServerSettings();
  /** maxmemory and min-replicas-to-write state, sampled (admission.ts). */
  readonly admission: Admission;
  /** Client port, set once listening (INFO tcp_port). */
  tcpPort = 0;
  /** Commands per second over the last sample period. */
  instantaneousOps = 0;
  private nextClientId = 1;
  private lastSampleMs = this.startedAtMs;
  private lastSampleCommands = 0;

  constructor(options: ServerStateOptions) {
    this.engine = options.engine;
    this.requirepass = options.requirepass;
    this.logger = options.logger;
    this.table = options.table;
    this.aclLog = new AclLog(() => this.settings.integer('acllog-max-len'));
    this.acl = new AclRegistry(options.engine, options.requirepass, options.table.all(), options.logger);
    this.pubsub = new PubSubHub(options.engine, options.logger, () => this.settings.text('notify-keyspace-events'));
    this.watches = new WatchRegistry(options.engine, options.logger);
    this.admission = new Admission(options.engine, this.settings);
  }

  allocateClientId(): number {
    return this.nextClientId++;
  }

  /** Called periodically by the listener to update instantaneous ops/sec. */
  sample(nowMs: number): void {
    const elapsedMs = nowMs - this.lastSampleMs;
    this.acl.refresh(this.sessions.values());
    if (elapsedMs <= 0) return;
    this.instantaneousOps = Math.round(((this.stats.commandsProcessed - this.lastSampleCommands) * 1000) / elapsedMs);
    this.lastSampleMs = nowMs;
    this.lastSampleCommands = this.stats.commandsProcessed;
  }

  close(): void {
    this.pubsub.close();
    this.watches.close();
    this.admission.close();
  }
}

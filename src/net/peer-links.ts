// The TCP links between nodes: one per pair of nodes, kept up (redialled with backoff)
// for every peer the core wants, authenticated with the cluster key when there is one.
//
// One link per pair: when both ends dial at once, the link dialled by the LOWER node id
// survives. Only the acceptor of a connection decides its fate (PeerConnection's verdict),
// and each acceptor applies the same rule against its own in-flight dial, so both ends
// agree without racing:
//   acceptor lower than dialer, own dial in flight   -> refuse the incoming (ours wins)
//   acceptor higher than dialer, own dial in flight  -> accept, abandon our dial (the
//                                                       other end refuses it anyway)
// A link that is already up is replaced only by a hello with a higher incarnation
// (the peer restarted); the same id with the same incarnation is refused.
import net from 'node:net';
import type { PeerHello } from '../core/io.js';
import type { PeerMessage } from '../core/messages.js';
import type { Hlc } from '../core/types.js';
import { isNodeId } from '../core/validate.js';
import { deriveClusterKeyMaterial, type ClusterKeyMaterial } from './cluster-crypto.js';
import { PeerConnection, type ConnectionContext, type ConnectionEvents, type RefuseReason } from './peer-connection.js';

export { PEER_HANDSHAKE_TIMEOUT_MS, PEER_LINK_WRITE_BUFFER_BYTES_HIGH } from './peer-connection.js';

/** First redial delay: a restarting peer is usually back within a few hundred ms. */
export const PEER_REDIAL_DELAY_MIN_MS = 100;
/** Redial delay cap: a dead peer costs one connection attempt per ~5 s. */
export const PEER_REDIAL_DELAY_MAX_MS = 5_000;
/** A handshake problem (another cluster key, another version) is logged again after this long. */
export const PEER_WARNING_REPEAT_MS = 60_000;
/** Distinct handshake problems remembered; beyond it the memory starts over (bounds a scan). */
const PEER_WARNING_TOPICS_MAX = 1_024;
/** Connections still in their handshake; more are dropped at once (bounds a connection flood). */
export const PEER_PENDING_HANDSHAKES_MAX = 64;

export interface PeerLinksLogger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

export interface PeerLinksOptions {
  readonly self: PeerHello;
  readonly clusterName: string;
  /** Accepted cluster keys; the first is used to prove and seal. Empty: plaintext links. */
  readonly clusterKeys: readonly string[];
  readonly bindHost: string;
  /** Peer TCP port; 0 picks a free one (listen() returns it). */
  readonly port: number;
  readonly logger: PeerLinksLogger;
  /** An authenticated link to this peer is up; once per link. */
  onLinkUp(hello: PeerHello): void;
  /** The link that onLinkUp reported is gone; once per link. */
  onLinkDown(peerId: string): void;
  /** A validated message, in the order the peer sent it. */
  onMessage(from: string, hlc: Hlc, message: PeerMessage): void;
  /** A congested link (isCongested) has drained its send buffer. */
  onDrain?(peerId: string): void;
}

/** A peer (or seed address) we keep a link to. */
interface DialTarget {
  /** null for a seed whose id we learn from its hello. */
  peerId: string | null;
  addr: string;
  attempt: number;
  timer: NodeJS.Timeout | null;
  /** Our connection to it that is still in its handshake. */
  dial: PeerConnection | null;
}

export class PeerLinks {
  private server: net.Server | null = null;
  private self: PeerHello;
  private closing = false;
  /** Cut off on purpose (setPartitioned): no links, no dials, incoming connections refused. */
  private partitioned = false;
  private readonly keys: readonly ClusterKeyMaterial[];
  private readonly links = new Map<string, PeerConnection>();
  private readonly targets = new Map<string, DialTarget>();
  private readonly seeds = new Map<string, DialTarget>();
  private readonly dialTargets = new Map<PeerConnection, DialTarget>();
  private readonly connections = new Set<PeerConnection>();
  private readonly counters = new Map<string, number>();
  /** When each handshake problem was last logged (warnOnce). */
  private readonly warnedAt = new Map<string, number>();
  private readonly context: ConnectionContext;
  private readonly events: ConnectionEvents;

  constructor(private readonly options: PeerLinksOptions) {
    if (!isNodeId(options.self.id)) throw new Error(`PeerLinks: self id must be 32 hex characters, got ${options.self.id}`);
    this.self = options.self;
    this.keys = options.clusterKeys.map(deriveClusterKeyMaterial);
    const links = this;
    this.context = {
      get self() {
        return links.self;
      },
      clusterName: options.clusterName,
      keys: this.keys,
      count: (stat, amount = 1) => this.count(stat, amount),
      debug: (fields, message) => options.logger.debug(fields, message),
      warnOnce: (topic, fields, message) => {
        const nowMs = Date.now();
        const lastMs = this.warnedAt.get(topic);
        if (lastMs !== undefined && nowMs - lastMs < PEER_WARNING_REPEAT_MS) return;
        if (this.warnedAt.size >= PEER_WARNING_TOPICS_MAX) this.warnedAt.clear();
        this.warnedAt.set(topic, nowMs);
        options.logger.warn(fields, message);
      },
    };
    this.events = {
      identified: (connection, hello) => this.identified(connection, hello),
      decide: (connection, hello) => this.decide(connection, hello),
      established: (connection) => this.established(connection),
      message: (connection, hlc, message) => {
        if (this.links.get(connection.remote!.id) === connection) this.options.onMessage(connection.remote!.id, hlc, message);
      },
      drained: (connection) => {
        if (this.links.get(connection.remote!.id) === connection) this.options.onDrain?.(connection.remote!.id);
      },
      closed: (connection, reason) => this.closed(connection, reason),
    };
  }

  /** Starts accepting peer connections; resolves with the bound port. */
  listen(): Promise<number> {
    if (this.server !== null) throw new Error('PeerLinks.listen called twice');
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', (error) => reject(new Error(`cannot listen for peers on ${this.options.bindHost}:${this.options.port}: ${error.message}`)));
      server.listen(this.options.port, this.options.bindHost, () => {
        server.on('error', (error) => this.options.logger.error({ err: error.message }, 'peer listener error'));
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  }

  /** What later handshakes say about us (the port once known, a new incarnation). */
  setSelf(self: PeerHello): void {
    if (self.id !== this.self.id) throw new Error('PeerLinks.setSelf cannot change the node id');
    this.self = self;
  }

  /** Keep a link to this peer: dial now, redial with backoff while down, until disconnect. */
  connect(peerId: string, addr: string): void {
    if (!isNodeId(peerId)) throw new Error(`PeerLinks.connect: bad peer id ${peerId}`);
    if (peerId === this.self.id || this.closing) return;
    const existing = this.targets.get(peerId);
    if (existing !== undefined) {
      existing.addr = addr;
      return;
    }
    const target: DialTarget = { peerId, addr, attempt: 0, timer: null, dial: null };
    this.targets.set(peerId, target);
    this.pump(target, true);
  }

  /** Like connect for an address whose node id is unknown until its handshake. */
  connectSeed(addr: string): void {
    if (this.seeds.has(addr) || this.closing) return;
    for (const target of this.targets.values()) if (target.addr === addr) return;
    const target: DialTarget = { peerId: null, addr, attempt: 0, timer: null, dial: null };
    this.seeds.set(addr, target);
    this.pump(target, true);
  }

  /** Stop keeping a link to this peer and close any open one (onLinkDown follows). */
  disconnect(peerId: string): void {
    const target = this.targets.get(peerId);
    this.targets.delete(peerId);
    if (target !== undefined) {
      if (target.timer !== null) clearTimeout(target.timer);
      target.dial?.close('disconnect');
    }
    this.links.get(peerId)?.close('disconnect');
  }

  /**
   * A real network partition of this node, for the demo and tests (admin HTTP, --allow-partition):
   * while on, every peer connection is closed, none is dialled and incoming ones are refused;
   * off dials every wanted peer again at once.
   */
  setPartitioned(on: boolean): void {
    if (this.partitioned === on || this.closing) return;
    this.partitioned = on;
    this.options.logger.warn({ partitioned: on }, on ? 'partitioned on request: peer links cut, new ones refused' : 'partition healed: redialling peers');
    if (on) {
      for (const target of [...this.targets.values(), ...this.seeds.values()]) {
        if (target.timer !== null) clearTimeout(target.timer);
        target.timer = null;
      }
      for (const connection of [...this.connections]) connection.close('partitioned');
      return;
    }
    for (const target of [...this.targets.values(), ...this.seeds.values()]) {
      target.attempt = 0;
      this.pump(target, true);
    }
  }

  isPartitioned(): boolean {
    return this.partitioned;
  }

  /** Sends over the link to peerId; false when no link is up (or the frame is too big). */
  send(peerId: string, hlc: Hlc, message: PeerMessage): boolean {
    const link = this.links.get(peerId);
    return link !== undefined && link.send(hlc, message);
  }

  /** The link's unsent bytes passed PEER_LINK_WRITE_BUFFER_BYTES_HIGH; onDrain reports relief. */
  isCongested(peerId: string): boolean {
    return this.links.get(peerId)?.congested ?? false;
  }

  anyCongested(): boolean {
    for (const link of this.links.values()) if (link.congested) return true;
    return false;
  }

  linkedPeers(): string[] {
    return [...this.links.keys()].sort();
  }

  stats(): Record<string, number> {
    const snapshot: Record<string, number> = {};
    for (const name of [...this.counters.keys()].sort()) snapshot[name] = this.counters.get(name)!;
    snapshot.links = this.links.size;
    snapshot.handshakes_pending = this.pendingHandshakes();
    return snapshot;
  }

  /** Closes every connection and the listener; no callbacks fire afterwards. */
  async close(): Promise<void> {
    this.closing = true;
    for (const target of [...this.targets.values(), ...this.seeds.values()]) if (target.timer !== null) clearTimeout(target.timer);
    this.targets.clear();
    this.seeds.clear();
    for (const connection of [...this.connections]) connection.close('shutdown');
    const server = this.server;
    this.server = null;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    if (this.partitioned) {
      this.count('refused_partitioned');
      socket.destroy();
      return;
    }
    if (this.closing || this.pendingHandshakes() >= PEER_PENDING_HANDSHAKES_MAX) {
      this.count('handshake_refused_busy');
      socket.destroy();
      return;
    }
    this.connections.add(new PeerConnection(socket, 'acceptor', this.context, this.events));
  }

  private pendingHandshakes(): number {
    let pending = 0;
    for (const connection of this.connections) if (connection.state !== 'established') pending++;
    return pending;
  }

  /** Dials the target unless it is linked, being dialled, or waiting for its redial timer. */
  private pump(target: DialTarget, immediately: boolean): void {
    if (this.closing || this.partitioned || !this.isLive(target)) return;
    if (target.peerId !== null && this.links.has(target.peerId)) {
      target.attempt = 0;
      if (target.timer !== null) clearTimeout(target.timer);
      target.timer = null;
      return;
    }
    if (target.dial !== null || target.timer !== null) return;
    if (immediately) return this.dial(target);
    const ceilingMs = Math.min(PEER_REDIAL_DELAY_MAX_MS, PEER_REDIAL_DELAY_MIN_MS * 2 ** target.attempt);
    target.attempt = Math.min(target.attempt + 1, 30);
    // Jitter spreads redials so peers that lost each other do not dial in lockstep.
    const delayMs = ceilingMs / 2 + Math.random() * (ceilingMs / 2);
    target.timer = setTimeout(() => {
      target.timer = null;
      this.pump(target, true);
    }, delayMs);
  }

  private isLive(target: DialTarget): boolean {
    return target.peerId !== null ? this.targets.get(target.peerId) === target : this.seeds.get(target.addr) === target;
  }

  private dial(target: DialTarget): void {
    const separator = target.addr.lastIndexOf(':');
    const host = target.addr.slice(0, separator).replace(/^\[(.*)\]$/, '$1');
    const port = Number(target.addr.slice(separator + 1));
    this.count('dials');
    const socket = net.connect({ host, port });
    const connection = new PeerConnection(socket, 'dialer', this.context, this.events);
    this.connections.add(connection);
    this.dialTargets.set(connection, target);
    target.dial = connection;
  }

  /** Dialer side: the acceptor's hello names who we reached. */
  private identified(connection: PeerConnection, hello: PeerHello): boolean {
    const target = this.dialTargets.get(connection)!;
    if (hello.id === this.self.id) {
      // A seed (or a stale address) that is ourselves: stop dialling it for good.
      if (target.peerId === null) this.seeds.delete(target.addr);
      this.count('self_link_closed');
      connection.close('dialled ourselves');
      return false;
    }
    if (target.peerId === null) {
      // The seed turns into a peer target (or merges into the one we already have).
      this.seeds.delete(target.addr);
      const known = this.targets.get(hello.id);
      if (known === undefined) {
        target.peerId = hello.id;
        this.targets.set(hello.id, target);
      } else if (known.dial === null) {
        known.dial = connection;
        this.dialTargets.set(connection, known);
        target.dial = null;
      } else {
        this.count('duplicate_link_closed');
        connection.close('seed is a peer we are already dialling');
        return false;
      }
      if (this.links.has(hello.id)) {
        this.count('duplicate_link_closed');
        connection.close('seed is a peer we are already linked to');
        return false;
      }
      return true;
    }
    if (target.peerId !== hello.id) {
      this.count('wrong_peer');
      this.options.logger.info({ expected: target.peerId, found: hello.id, addr: target.addr }, 'peer address now hosts another node');
      connection.close('wrong peer');
      return false;
    }
    return true;
  }

  /** Acceptor side: keep this authenticated connection, or refuse it (module comment). */
  private decide(connection: PeerConnection, hello: PeerHello): 'accept' | RefuseReason {
    if (hello.id === this.self.id) return 'self';
    const existing = this.links.get(hello.id);
    if (existing !== undefined) {
      if (hello.incarnation > existing.remote!.incarnation) {
        existing.close('replaced by a newer incarnation');
        return 'accept';
      }
      if (hello.addr !== existing.remote!.addr || hello.incarnation < existing.remote!.incarnation) {
        this.options.logger.warn(
          { peer: hello.id, linked: existing.remote, claimant: hello, from: connection.socket.remoteAddress },
          'a second node claims the id of a linked peer: refused; two nodes may share a data directory or node id',
        );
      }
      return 'duplicate';
    }
    const ownDial = this.inFlightDialTo(hello);
    if (ownDial === null) return 'accept';
    if (this.self.id < hello.id) return 'duplicate';
    ownDial.close('superseded by the link the lower id dialled');
    return 'accept';
  }

  private inFlightDialTo(hello: PeerHello): PeerConnection | null {
    const dial = this.targets.get(hello.id)?.dial ?? null;
    if (dial !== null && dial.state !== 'closed') return dial;
    const seed = this.seeds.get(hello.addr)?.dial ?? null;
    return seed !== null && seed.state !== 'closed' ? seed : null;
  }

  private established(connection: PeerConnection): void {
    const hello = connection.remote!;
    const existing = this.links.get(hello.id);
    // The acceptor chose this link; whatever we still hold to that peer is stale.
    if (existing !== undefined && existing !== connection) existing.close('replaced');
    const target = this.dialTargets.get(connection);
    this.dialTargets.delete(connection);
    if (target !== undefined && target.dial === connection) target.dial = null;
    this.links.set(hello.id, connection);
    this.count('links_up');
    this.options.logger.info({ peer: hello.id, peerName: hello.name, addr: hello.addr, role: connection.role }, 'peer link up');
    const known = this.targets.get(hello.id);
    if (known !== undefined) this.pump(known, false);
    this.options.onLinkUp(hello);
  }

  private closed(connection: PeerConnection, reason: string): void {
    this.connections.delete(connection);
    const target = this.dialTargets.get(connection);
    this.dialTargets.delete(connection);
    if (target !== undefined && target.dial === connection) {
      target.dial = null;
      if (connection.remote === null) this.count('dial_failed');
    }
    const peerId = connection.remote?.id;
    if (peerId !== undefined && this.links.get(peerId) === connection) {
      this.links.delete(peerId);
      this.count('links_down');
      if (this.closing) return;
      this.options.logger.info({ peer: peerId, reason }, 'peer link down');
      this.options.onLinkDown(peerId);
      const known = this.targets.get(peerId);
      if (known !== undefined) this.pump(known, false);
    }
    if (target !== undefined) this.pump(target, false);
  }

  private count(stat: string, amount = 1): void {
    this.counters.set(stat, (this.counters.get(stat) ?? 0) + amount);
  }
}

// UDP discovery: announce this node to the subnet and report every announcement heard.
//
// Binding: every node of a host shares one discovery port. The receiving socket binds to
// the BROADCAST address (not --bind) with SO_REUSEADDR: Linux delivers a broadcast datagram
// to every socket bound to the destination address (or 0.0.0.0) and port, but not to one
// bound to 127.0.0.1, and binding the broadcast address rather than 0.0.0.0 keeps unicast
// traffic from other interfaces out. Sending uses a second socket bound to --bind, so the
// datagram leaves from the node's own address and interface.
import dgram from 'node:dgram';
import { PEER_PROTOCOL_VERSION } from '../core/messages.js';
import type { PeerHello } from '../core/io.js';
import { decodeAnnounce, DISCOVERY_DATAGRAM_BYTES_MAX, encodeAnnounce, type DatagramSealer } from '../wire/discovery-codec.js';
import { deriveClusterKeyMaterial, discoverySealer } from './cluster-crypto.js';

/** An announcement sealed with another cluster key is logged again after this long. */
export const DISCOVERY_KEY_WARNING_REPEAT_MS = 60_000;

export interface DiscoveryLogger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

export interface DiscoveryOptions {
  readonly bindHost: string;
  readonly port: number;
  readonly broadcastAddress: string;
  readonly clusterName: string;
  /** Accepted cluster keys; the first seals. Empty: plain datagrams. */
  readonly clusterKeys: readonly string[];
  readonly self: PeerHello;
  /** Wall clock in ms since the epoch (announce timestamps, replay window). */
  readonly nowMs: () => number;
  readonly logger: DiscoveryLogger;
  /** A valid announcement from another node of our cluster. */
  onAnnounce(hello: PeerHello): void;
}

const STAT_NAMES = ['received', 'sent', 'send_failed', 'dropped_bad', 'dropped_auth', 'dropped_other_cluster', 'dropped_version', 'own'] as const;
type DiscoveryStatName = (typeof STAT_NAMES)[number];

export class Discovery {
  private receiver: dgram.Socket | null = null;
  private sender: dgram.Socket | null = null;
  private readonly sealer: DatagramSealer | null;
  private readonly counters = new Map<DiscoveryStatName, number>(STAT_NAMES.map((name) => [name, 0]));
  private self: PeerHello;

  constructor(private readonly options: DiscoveryOptions) {
    this.sealer = options.clusterKeys.length === 0 ? null : discoverySealer(options.clusterKeys.map(deriveClusterKeyMaterial));
    this.self = options.self;
  }

  async start(): Promise<void> {
    if (this.receiver !== null) throw new Error('Discovery already started');
    const receiver = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    const sender = dgram.createSocket({ type: 'udp4' });
    this.receiver = receiver;
    this.sender = sender;
    receiver.on('message', (datagram, from) => this.receive(datagram, from.address));
    for (const socket of [receiver, sender]) {
      socket.on('error', (error) => this.options.logger.warn({ err: error.message }, 'discovery socket error'));
    }
    await bindSocket(receiver, this.options.port, this.options.broadcastAddress);
    await bindSocket(sender, 0, this.options.bindHost);
    sender.setBroadcast(true);
    this.options.logger.debug(
      { port: this.options.port, broadcast: this.options.broadcastAddress, sealed: this.sealer !== null },
      'discovery listening',
    );
  }

  /** A new incarnation (after refuting suspicion) goes into the next announcement. */
  updateSelf(self: PeerHello): void {
    this.self = self;
  }

  /** Sends one announcement to broadcastAddress:port. Failures are counted, not thrown. */
  announce(): void {
    const sender = this.sender;
    if (sender === null) return;
    const datagram = encodeAnnounce(
      { clusterName: this.options.clusterName, hello: this.self, timestampMs: this.options.nowMs(), protocolVersion: PEER_PROTOCOL_VERSION },
      { clusterName: this.options.clusterName, sealer: this.sealer },
    );
    sender.send(datagram, this.options.port, this.options.broadcastAddress, (error) => {
      if (error) {
        this.count('send_failed');
        this.options.logger.warn({ err: error.message, broadcast: this.options.broadcastAddress }, 'discovery announce failed');
      } else {
        this.count('sent');
      }
    });
  }

  stats(): Record<string, number> {
    return Object.fromEntries(this.counters);
  }

  async close(): Promise<void> {
    const sockets = [this.receiver, this.sender].filter((socket): socket is dgram.Socket => socket !== null);
    this.receiver = null;
    this.sender = null;
    await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
  }

  /** When a discovery announcement with another key was last logged. */
  private keyWarningMs = -Infinity;

  private receive(datagram: Buffer, from = '?'): void {
    this.count('received');
    if (datagram.length > DISCOVERY_DATAGRAM_BYTES_MAX) {
      this.count('dropped_bad');
      return;
    }
    const result = decodeAnnounce(datagram, { clusterName: this.options.clusterName, sealer: this.sealer, nowMs: this.options.nowMs() });
    if (!result.ok) {
      // Dropped silently (no reply) and counted; debug only, a scanner must not flood logs.
      this.count(
        result.code === 'other_cluster' ? 'dropped_other_cluster' : result.code === 'auth_failed' || result.code === 'expired' ? 'dropped_auth' : result.code === 'version' ? 'dropped_version' : 'dropped_bad',
      );
      this.options.logger.debug({ code: result.code, detail: result.detail }, 'discovery datagram dropped');
      const nowMs = Date.now();
      if (result.code === 'auth_failed' && nowMs - this.keyWarningMs >= DISCOVERY_KEY_WARNING_REPEAT_MS) {
        // Once a minute at most: the operator must hear of it, a scanner must not flood the log.
        this.keyWarningMs = nowMs;
        this.options.logger.warn({ from, discoveryPort: this.options.port },
          `a node at ${from} announces on discovery port ${this.options.port} with ${this.sealer === null ? 'a cluster key, this node has none' : 'another cluster key (or none)'}: it cannot join; give every node the same --cluster-key`);
      }
      return;
    }
    const { announce } = result;
    if (announce.hello.id === this.self.id) {
      this.count('own');
      return;
    }
    if (announce.protocolVersion !== PEER_PROTOCOL_VERSION) {
      this.count('dropped_version');
      return;
    }
    this.options.onAnnounce(announce.hello);
  }

  private count(name: DiscoveryStatName): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + 1);
  }
}

function bindSocket(socket: dgram.Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(new Error(`cannot bind discovery socket to ${address}:${port}: ${error.message}`));
    socket.once('error', onError);
    socket.bind(port, address, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

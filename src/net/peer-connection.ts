// One TCP connection between two nodes: the handshake, then framed (and, with a cluster
// key, sealed) messages in both directions. PeerLinks owns the policy (which link to keep);
// this class owns the bytes.
//
// Handshake, each step one frame:
//   dialer -> acceptor   hello {v, cluster, hello, nonce, auth}
//   acceptor -> dialer   hello {...}                       (only if v and cluster match)
//   with keys:  dialer -> acceptor  {mac}  then  acceptor -> dialer  {mac}
//   acceptor -> dialer   verdict {accept, reason}          (sealed with keys)
// The acceptor alone decides whether the link is kept, so both ends always agree.
import type { Socket } from 'node:net';
import type { PeerHello } from '../core/io.js';
import type { PeerMessage } from '../core/messages.js';
import { PEER_PROTOCOL_VERSION } from '../core/messages.js';
import type { Hlc } from '../core/types.js';
import { TickCork } from './tick-cork.js';
import { isBytes, isNodeId, isObject, isUint } from '../core/validate.js';
import { decodeEnvelope, decodePayload, encodeEnvelopePayload, encodePayload, FRAME_HEADER_BYTES, FrameSplitter, PEER_FRAME_BYTES_MAX } from '../wire/peer-frame.js';
import {
  DIRECTION_FROM_ACCEPTOR,
  DIRECTION_FROM_DIALER,
  FrameOpener,
  FrameSealer,
  GCM_TAG_BYTES,
  handshakeMac,
  LINK_NONCE_BYTES,
  linkSealKey,
  randomNonce,
  verifyHandshakeMac,
  type ClusterKeyMaterial,
  type LinkRole,
} from './cluster-crypto.js';

/** A handshake frame is a few hundred bytes; anything bigger from a stranger is refused early. */
export const PEER_HANDSHAKE_FRAME_BYTES_MAX = 4 * 1024;
/** Connect plus handshake must finish within this, or the connection is dropped. */
export const PEER_HANDSHAKE_TIMEOUT_MS = 5_000;
/** Above this many unsent bytes a link reports congestion (the runtime pauses clients). */
export const PEER_LINK_WRITE_BUFFER_BYTES_HIGH = 16 * 1024 * 1024;
/** First TCP keepalive probe after this much silence; finds dead peers behind silent networks. */
export const PEER_KEEPALIVE_INITIAL_DELAY_MS = 5_000;
/** A refused dialer gets this long to read the verdict before its socket is destroyed. */
const REFUSED_LINGER_MS = 1_000;
const HELLO_TEXT_BYTES_MAX = 255;

export type ConnectionState = 'hello' | 'auth' | 'verdict' | 'established' | 'closed';
export type RefuseReason = 'duplicate' | 'self';

export interface ConnectionContext {
  readonly self: PeerHello;
  readonly clusterName: string;
  /** Derived cluster keys; empty = plaintext links without authentication. */
  readonly keys: readonly ClusterKeyMaterial[];
  count(stat: string, amount?: number): void;
  debug(fields: object, message: string): void;
  /** A problem the operator must fix (another key, another version): logged once per `topic` a while. */
  warnOnce(topic: string, fields: object, message: string): void;
}

export interface ConnectionEvents {
  /** Dialer: the acceptor's hello arrived; return false to close (self, wrong peer, duplicate). */
  identified(connection: PeerConnection, hello: PeerHello): boolean;
  /** Acceptor: the dialer is authenticated; keep this link or refuse it. */
  decide(connection: PeerConnection, hello: PeerHello): 'accept' | RefuseReason;
  established(connection: PeerConnection): void;
  message(connection: PeerConnection, hlc: Hlc, message: PeerMessage): void;
  drained(connection: PeerConnection): void;
  closed(connection: PeerConnection, reason: string): void;
}

export class PeerConnection {
  state: ConnectionState = 'hello';
  /** The other end, once its hello arrived. */
  remote: PeerHello | null = null;
  congested = false;
  private readonly splitter = new FrameSplitter(PEER_HANDSHAKE_FRAME_BYTES_MAX);
  private readonly nonce = randomNonce();
  private remoteNonce: Uint8Array | null = null;
  private dialerHelloPayload: Buffer | null = null;
  private acceptorHelloPayload: Buffer | null = null;
  private sealer: FrameSealer | null = null;
  private opener: FrameOpener | null = null;
  private handshakeTimer: NodeJS.Timeout | null;
  /** Frames written in one tick leave in one writev. */
  private readonly cork: TickCork;

  constructor(
    readonly socket: Socket,
    readonly role: LinkRole,
    private readonly context: ConnectionContext,
    private readonly events: ConnectionEvents,
  ) {
    this.cork = new TickCork(socket);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, PEER_KEEPALIVE_INITIAL_DELAY_MS);
    this.handshakeTimer = setTimeout(() => this.fail('handshake_failed', 'handshake timeout'), PEER_HANDSHAKE_TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', (error) => this.close(`socket error: ${error.message}`));
    socket.on('close', () => this.close('socket closed'));
    if (role === 'dialer') socket.once('connect', () => this.sendHello());
  }

  /** Sends one data frame; false when the link is not established or the frame is too big. */
  send(hlc: Hlc, message: PeerMessage): boolean {
    if (this.state !== 'established') return false;
    const payload = encodeEnvelopeOnce(hlc, message);
    if (payload.length + (this.sealer === null ? 0 : GCM_TAG_BYTES) > PEER_FRAME_BYTES_MAX) {
      this.context.count('frame_too_large_out');
      return false;
    }
    this.writePayload(payload);
    return true;
  }

  /** Bytes queued in the socket and not yet handed to the kernel. */
  get writableBytes(): number {
    return this.socket.writableLength;
  }

  close(reason: string): void {
    if (this.state === 'closed') return;
    if (this.role === 'dialer' && this.state === 'auth' && this.remote !== null && reason === 'socket closed') {
      // We sent our proof and the acceptor hung up instead of proving its own: it has another key.
      const { name, id, addr } = this.remote;
      this.context.warnOnce(`key-refused:${addr}`, { peer: id, peerName: name, addr },
        `peer ${name} (${id.slice(0, 8)}) at ${addr} refused this node's cluster key: the two have different keys; give every node the same --cluster-key (while rotating, list the old key second)`);
    }
    this.state = 'closed';
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    this.socket.destroy();
    this.events.closed(this, reason);
  }

  private fail(stat: string, detail: string): void {
    if (this.state === 'closed') return;
    this.context.count(stat);
    this.context.debug({ role: this.role, peer: this.remote?.id, remote: this.socket.remoteAddress, detail }, `peer connection dropped: ${stat}`);
    this.close(stat);
  }

  private receive(chunk: Buffer): void {
    this.context.count('bytes_in', chunk.length);
    this.splitter.push(chunk);
    while (this.state !== 'closed') {
      const payload = this.splitter.next();
      if (payload === null) return;
      if (!(payload instanceof Uint8Array)) {
        this.fail(payload.code === 'frame_too_large' ? 'frame_too_large' : 'bad_frame', payload.detail);
        return;
      }
      if (this.state === 'established') this.receiveData(payload);
      else this.receiveHandshake(payload);
    }
  }

  private receiveData(payload: Buffer): void {
    const plaintext = this.opener === null ? payload : this.opener.open(payload);
    if (plaintext === null) return this.fail('auth_failed', 'data frame does not open');
    const envelope = decodeEnvelope(plaintext);
    if ('code' in envelope) {
      if (envelope.fatal) return this.fail(envelope.code, envelope.detail);
      this.context.count(envelope.code);
      this.context.debug({ peer: this.remote?.id, detail: envelope.detail }, 'peer message dropped');
      return;
    }
    this.context.count('frames_in');
    this.events.message(this, envelope.hlc, envelope.message);
  }

  private receiveHandshake(payload: Buffer): void {
    if (this.state === 'verdict' && this.opener !== null) {
      const plaintext = this.opener.open(payload);
      if (plaintext === null) return this.fail('auth_failed', 'verdict does not open');
      return this.receiveVerdict(plaintext);
    }
    if (this.state === 'verdict') return this.receiveVerdict(payload);
    const decoded = decodePayload(payload);
    if ('code' in decoded) return this.fail('handshake_failed', decoded.detail);
    if (this.state === 'hello') return this.receiveHello(payload, decoded.value);
    return this.receiveAuth(decoded.value);
  }

  private sendHello(): void {
    const payload = encodePayload({
      v: PEER_PROTOCOL_VERSION,
      cluster: this.context.clusterName,
      hello: this.context.self,
      nonce: this.nonce,
      auth: this.context.keys.length > 0,
    });
    if (this.role === 'dialer') this.dialerHelloPayload = payload;
    else this.acceptorHelloPayload = payload;
    this.writePayload(payload);
  }

  private receiveHello(payload: Buffer, value: unknown): void {
    if (!isObject(value) || !isUint(value.v)) return this.fail('handshake_failed', 'not a hello');
    if (value.v !== PEER_PROTOCOL_VERSION) {
      const from = isPeerHello(value.hello) ? `${value.hello.name} (${value.hello.id.slice(0, 8)}) at ${value.hello.addr}` : `a peer at ${this.socket.remoteAddress ?? '?'}`;
      this.context.warnOnce(`version:${this.socket.remoteAddress}:${String(value.v)}`, { remote: this.socket.remoteAddress, version: value.v, ours: PEER_PROTOCOL_VERSION },
        `${from} speaks peer protocol version ${value.v}, this node version ${PEER_PROTOCOL_VERSION}: link refused; run the same peerkv release on every node`);
      return this.fail('version_mismatch', `protocol version ${value.v}`);
    }
    if (value.cluster !== this.context.clusterName) return this.fail('cluster_mismatch', `cluster ${String(value.cluster).slice(0, 64)}`);
    if (!isPeerHello(value.hello) || !isBytes(value.nonce, LINK_NONCE_BYTES) || value.nonce.length !== LINK_NONCE_BYTES) {
      return this.fail('handshake_failed', 'malformed hello');
    }
    if (value.auth !== this.context.keys.length > 0) {
      const peer = isPeerHello(value.hello) ? `${value.hello.name} (${value.hello.id.slice(0, 8)}) at ${value.hello.addr}` : `a peer at ${this.socket.remoteAddress ?? '?'}`;
      this.context.warnOnce(`keyless:${this.socket.remoteAddress}:${isPeerHello(value.hello) ? value.hello.id : ''}`, { remote: this.socket.remoteAddress },
        this.context.keys.length > 0
          ? `${peer} has no cluster key, this node has one: link refused; start it with the cluster's --cluster-key`
          : `${peer} has a cluster key, this node has none: link refused; start this node with the cluster's --cluster-key`);
      return this.fail('auth_failed', 'one side has a cluster key, the other not');
    }
    const remote: PeerHello = { id: value.hello.id, name: value.hello.name, addr: value.hello.addr, incarnation: value.hello.incarnation };
    this.remote = remote;
    this.remoteNonce = value.nonce;
    if (this.role === 'acceptor') {
      this.dialerHelloPayload = payload;
      this.sendHello();
      if (this.context.keys.length > 0) this.state = 'auth';
      else this.sendVerdict();
      return;
    }
    this.acceptorHelloPayload = payload;
    if (!this.events.identified(this, remote)) return;
    if (this.context.keys.length > 0) {
      this.writePayload(encodePayload({ mac: handshakeMac(this.context.keys[0]!, this.dialerHelloPayload!, payload, 'dialer') }));
      this.state = 'auth';
    } else {
      this.state = 'verdict';
    }
  }

  private receiveAuth(value: unknown): void {
    const mac = isObject(value) && isBytes(value.mac, 64) ? value.mac : new Uint8Array(0);
    const otherRole: LinkRole = this.role === 'dialer' ? 'acceptor' : 'dialer';
    const key = verifyHandshakeMac(this.context.keys, this.dialerHelloPayload!, this.acceptorHelloPayload!, otherRole, mac);
    if (key === null) {
      const remote = this.remote!;
      this.context.warnOnce(`key:${remote.addr}`, { peer: remote.id, peerName: remote.name, addr: remote.addr, from: this.socket.remoteAddress },
        `peer ${remote.name} (${remote.id.slice(0, 8)}) at ${remote.addr} tried to join with another cluster key: refused; give every node the same --cluster-key (while rotating, list the old key second)`);
      return this.fail('auth_failed', 'handshake proof does not match any cluster key');
    }
    // Both ends seal with the key the dialer proved (its first), so rotation works both ways.
    const [dialerNonce, acceptorNonce] = this.role === 'dialer' ? [this.nonce, this.remoteNonce!] : [this.remoteNonce!, this.nonce];
    const sealKey = linkSealKey(key, dialerNonce, acceptorNonce);
    const ownDirection = this.role === 'dialer' ? DIRECTION_FROM_DIALER : DIRECTION_FROM_ACCEPTOR;
    const otherDirection = this.role === 'dialer' ? DIRECTION_FROM_ACCEPTOR : DIRECTION_FROM_DIALER;
    this.sealer = new FrameSealer(sealKey, ownDirection);
    this.opener = new FrameOpener(sealKey, otherDirection);
    if (this.role === 'acceptor') {
      this.writePayload(encodePayload({ mac: handshakeMac(key, this.dialerHelloPayload!, this.acceptorHelloPayload!, 'acceptor') }), false);
      this.sendVerdict();
    } else {
      this.state = 'verdict';
    }
  }

  private sendVerdict(): void {
    const decision = this.events.decide(this, this.remote!);
    this.writePayload(encodePayload({ accept: decision === 'accept', reason: decision }));
    if (decision !== 'accept') {
      this.context.count(decision === 'self' ? 'self_link_closed' : 'duplicate_link_closed');
      // Let the verdict reach the dialer before the socket goes away.
      this.state = 'closed';
      this.clearHandshakeTimer();
      this.socket.end();
      setTimeout(() => this.socket.destroy(), REFUSED_LINGER_MS).unref();
      this.events.closed(this, `refused: ${decision}`);
      return;
    }
    this.establish();
  }

  private receiveVerdict(plaintext: Uint8Array): void {
    const decoded = decodePayload(plaintext);
    if ('code' in decoded || !isObject(decoded.value) || typeof decoded.value.accept !== 'boolean') {
      return this.fail('handshake_failed', 'malformed verdict');
    }
    if (!decoded.value.accept) {
      const reason = decoded.value.reason === 'self' ? 'self_link_closed' : 'duplicate_link_closed';
      this.context.count(reason);
      return this.close(`refused by acceptor: ${String(decoded.value.reason).slice(0, 32)}`);
    }
    this.establish();
  }

  private establish(): void {
    this.clearHandshakeTimer();
    this.state = 'established';
    this.splitter.setFrameBytesMax(PEER_FRAME_BYTES_MAX);
    this.events.established(this);
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }

  /**
   * Writes one frame, sealed once the keys are agreed. Small frames written in the same
   * tick leave in one writev: the socket is corked until the next tick.
   */
  private writePayload(payload: Buffer, seal = true): void {
    const body = seal && this.sealer !== null ? this.sealer.seal(payload) : payload;
    const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    header.writeUInt32BE(body.length, 0);
    this.cork.hold();
    this.socket.write(header);
    this.socket.write(body);
    this.context.count('frames_out');
    this.context.count('bytes_out', FRAME_HEADER_BYTES + body.length);
    if (!this.congested && this.socket.writableLength > PEER_LINK_WRITE_BUFFER_BYTES_HIGH) this.congested = true;
  }

  private onDrain(): void {
    // 'drain' fires once the socket buffer is empty again: resume with the whole window free.
    if (!this.congested || this.socket.writableLength > 0) return;
    this.congested = false;
    this.events.drained(this);
  }
}

function isPeerHello(value: unknown): value is PeerHello {
  return (
    isObject(value) &&
    isNodeId(value.id) &&
    typeof value.name === 'string' &&
    value.name.length <= HELLO_TEXT_BYTES_MAX &&
    typeof value.addr === 'string' &&
    /^[^\s]{1,250}:\d{1,5}$/.test(value.addr) &&
    isUint(value.incarnation)
  );
}

/**
 * The same frame goes to every peer (replication fans out one message object with one
 * stamp): encode it once. Payload buffers are never modified after encoding.
 */
let lastEncoded: { hlc: Hlc; message: PeerMessage; payload: Buffer } | undefined;
function encodeEnvelopeOnce(hlc: Hlc, message: PeerMessage): Buffer {
  if (lastEncoded !== undefined && lastEncoded.hlc === hlc && lastEncoded.message === message) return lastEncoded.payload;
  const payload = encodeEnvelopePayload(hlc, message);
  lastEncoded = { hlc, message, payload };
  return payload;
}

// The simulated network: one TCP-like link per node pair and a broadcast medium for
// discovery. A link delivers frames in order without loss or duplication while its
// session lasts; a partitioned direction holds frames back (TCP retransmits) until the
// partition heals or the link times out and resets, which loses whatever was in flight.
import type { PeerMessage } from '../../src/core/messages.js';
import type { Rng } from '../../src/core/rng.js';
import type { Hlc } from '../../src/core/types.js';
import type { EventQueue } from './event-queue.js';

/** What the network needs from the simulator. */
export interface NetworkHost {
  readonly queue: EventQueue;
  readonly rng: Rng;
  nowMs(): number;
  /** Node is running (not crashed). */
  isRunning(index: number): boolean;
  /** Node can answer a handshake now (running and not paused). */
  isResponsive(index: number): boolean;
  /** Node wants a link to peerIndex (it emitted connect and no disconnect since). */
  wants(index: number, peerIndex: number): boolean;
  /** Tell the node its link (this session) is up / down. */
  linkUp(index: number, peerIndex: number, session: number): void;
  linkDown(index: number, peerIndex: number, session: number): void;
  frame(from: number, to: number, hlc: Hlc, message: PeerMessage): void;
  /** Reachability changed (failure-detector bookkeeping). */
  reachabilityChanged(): void;
  trace(line: string): void;
}

export interface NetworkLevels {
  /** Per-frame latency: base plus a uniform jitter; same-link order is kept anyway. */
  readonly latencyBaseMs: number;
  readonly latencyJitterMs: number;
  /** A black-holed link (partition) is declared broken by TCP after this long. */
  readonly tcpTimeoutMs: number;
}

interface QueuedFrame {
  readonly readyAtMs: number;
  readonly hlc: Hlc;
  readonly message: PeerMessage;
}

/** One direction of a link: a FIFO pumped by at most one scheduled event. */
interface Direction {
  readonly from: number;
  readonly to: number;
  frames: QueuedFrame[];
  head: number;
  lastReadyAtMs: number;
  pumpScheduled: boolean;
}

export interface Link {
  readonly low: number;
  readonly high: number;
  up: boolean;
  /** Bumps on every up and every reset: events of an older session are void. */
  session: number;
  dialScheduled: boolean;
  backoffMs: number;
  readonly directions: [Direction, Direction];
}

const DIAL_DELAY_MS = 5;
const DIAL_BACKOFF_MIN_MS = 100;
const DIAL_BACKOFF_MAX_MS = 2_000;
/** A crashed peer's socket is reset by its kernel: the survivor notices quickly. */
const RESET_NOTICE_MS = 2;

export class Network {
  private readonly links = new Map<number, Link>();
  /** blocked[from][to]: frames from -> to are held back (partition). */
  private readonly blocked: boolean[][];

  constructor(
    private readonly host: NetworkHost,
    private readonly nodeCount: number,
    private readonly levels: NetworkLevels,
  ) {
    this.blocked = Array.from({ length: nodeCount }, () => new Array<boolean>(nodeCount).fill(false));
    for (let low = 0; low < nodeCount; low++) {
      for (let high = low + 1; high < nodeCount; high++) {
        const direction = (from: number, to: number): Direction => ({ from, to, frames: [], head: 0, lastReadyAtMs: 0, pumpScheduled: false });
        this.links.set(low * nodeCount + high, {
          low,
          high,
          up: false,
          session: 0,
          dialScheduled: false,
          backoffMs: DIAL_BACKOFF_MIN_MS,
          directions: [direction(low, high), direction(high, low)],
        });
      }
    }
  }

  link(a: number, b: number): Link {
    const low = Math.min(a, b);
    const high = Math.max(a, b);
    return this.links.get(low * this.nodeCount + high)!;
  }

  allLinks(): Link[] {
    return [...this.links.values()];
  }

  isBlocked(from: number, to: number): boolean {
    return this.blocked[from]![to]!;
  }

  isUp(a: number, b: number): boolean {
    return this.link(a, b).up;
  }

  latencyMs(): number {
    return this.levels.latencyBaseMs + this.host.rng.nextInt(this.levels.latencyJitterMs + 1);
  }

  /** A node asked for a link (or a link dropped while still wanted): dial soon. */
  ensureDial(a: number, b: number): void {
    const link = this.link(a, b);
    if (link.up || link.dialScheduled || !this.wanted(link)) return;
    link.dialScheduled = true;
    const session = link.session;
    this.host.queue.push(this.host.nowMs() + (session === 0 ? DIAL_DELAY_MS : link.backoffMs), () => this.dial(link));
  }

  private wanted(link: Link): boolean {
    const host = this.host;
    return (host.isRunning(link.low) && host.wants(link.low, link.high)) || (host.isRunning(link.high) && host.wants(link.high, link.low));
  }

  private dial(link: Link): void {
    link.dialScheduled = false;
    if (link.up || !this.wanted(link)) return;
    const reachable = this.reachable(link);
    if (!reachable) {
      link.backoffMs = Math.min(link.backoffMs * 2, DIAL_BACKOFF_MAX_MS);
      link.dialScheduled = true;
      this.host.queue.push(this.host.nowMs() + link.backoffMs, () => this.dial(link));
      return;
    }
    // The handshake takes a round trip; the link counts as up once both ends agree.
    const handshakeMs = 2 * this.latencyMs();
    link.dialScheduled = true;
    this.host.queue.push(this.host.nowMs() + handshakeMs, () => {
      link.dialScheduled = false;
      const stillReachable = this.reachable(link);
      if (link.up || !this.wanted(link)) return;
      if (!stillReachable) {
        this.ensureDialLater(link);
        return;
      }
      link.up = true;
      link.session++;
      link.backoffMs = DIAL_BACKOFF_MIN_MS;
      for (const direction of link.directions) {
        direction.frames = [];
        direction.head = 0;
        direction.lastReadyAtMs = 0;
        direction.pumpScheduled = false;
      }
      this.host.trace(`link n${link.low}-n${link.high} up (session ${link.session})`);
      this.host.reachabilityChanged();
      this.host.linkUp(link.low, link.high, link.session);
      this.host.linkUp(link.high, link.low, link.session);
    });
  }

  /** A handshake needs both processes answering and both directions open. */
  private reachable(link: Link): boolean {
    const host = this.host;
    return host.isResponsive(link.low) && host.isResponsive(link.high) && !this.blocked[link.low]![link.high] && !this.blocked[link.high]![link.low];
  }

  private ensureDialLater(link: Link): void {
    link.backoffMs = Math.min(link.backoffMs * 2, DIAL_BACKOFF_MAX_MS);
    link.dialScheduled = true;
    this.host.queue.push(this.host.nowMs() + link.backoffMs, () => this.dial(link));
  }

  /**
   * Tear a link down: frames in flight are lost. `notify` lists the ends that learn of it
   * (a crashed end learns nothing); a still-wanted link is redialled with backoff.
   */
  reset(a: number, b: number, reason: string, notify: readonly number[]): void {
    const link = this.link(a, b);
    if (!link.up) return;
    link.up = false;
    const closedSession = link.session;
    link.session++;
    for (const direction of link.directions) {
      direction.frames = [];
      direction.head = 0;
    }
    this.host.trace(`link n${link.low}-n${link.high} down: ${reason}`);
    this.host.reachabilityChanged();
    for (const end of notify) {
      const peer = end === link.low ? link.high : link.low;
      this.host.queue.push(this.host.nowMs() + RESET_NOTICE_MS, () => this.host.linkDown(end, peer, closedSession));
    }
    this.ensureDial(a, b);
  }

  /**
   * Send on the link session the sender knows of: a frame sent after the link broke but
   * before the sender heard so goes into a closed socket, never onto a newer link.
   */
  send(from: number, to: number, session: number, hlc: Hlc, message: PeerMessage): boolean {
    const link = this.link(from, to);
    if (!link.up || link.session !== session) return false;
    const direction = link.directions[from === link.low ? 0 : 1];
    const readyAtMs = Math.max(this.host.nowMs() + this.latencyMs(), direction.lastReadyAtMs);
    direction.lastReadyAtMs = readyAtMs;
    direction.frames.push({ readyAtMs, hlc, message });
    this.schedulePump(link, direction);
    return true;
  }

  private schedulePump(link: Link, direction: Direction): void {
    if (direction.pumpScheduled || direction.head >= direction.frames.length || this.blocked[direction.from]![direction.to]) return;
    direction.pumpScheduled = true;
    const session = link.session;
    const atMs = Math.max(direction.frames[direction.head]!.readyAtMs, this.host.nowMs());
    this.host.queue.push(atMs, () => {
      if (link.session !== session) return;
      direction.pumpScheduled = false;
      if (this.blocked[direction.from]![direction.to]) return;
      const frame = direction.frames[direction.head]!;
      direction.head++;
      if (direction.head > 64 && direction.head * 2 > direction.frames.length) {
        direction.frames = direction.frames.slice(direction.head);
        direction.head = 0;
      }
      this.host.frame(direction.from, direction.to, frame.hlc, frame.message);
      // The handler may have reset the link; only pump on within the same session.
      if (link.session === session) this.schedulePump(link, direction);
    });
  }

  /** Block or unblock frames from -> to. Unblocking resumes held frames (retransmission). */
  setBlocked(from: number, to: number, blocked: boolean): void {
    if (this.blocked[from]![to] === blocked) return;
    this.blocked[from]![to] = blocked;
    const link = this.link(from, to);
    if (!blocked) {
      const direction = link.directions[from === link.low ? 0 : 1];
      // Retransmitted frames arrive a latency after the heal at the earliest.
      const resumeMs = this.host.nowMs() + this.latencyMs();
      for (let index = direction.head; index < direction.frames.length; index++) {
        const frame = direction.frames[index]!;
        if (frame.readyAtMs < resumeMs) direction.frames[index] = { ...frame, readyAtMs: resumeMs };
      }
      if (direction.lastReadyAtMs < resumeMs && direction.head < direction.frames.length) direction.lastReadyAtMs = resumeMs;
      this.schedulePump(link, direction);
      this.ensureDial(from, to);
    } else if (link.up) {
      // TCP gives up on a black-holed link after its timeout, unless the partition heals first.
      const session = link.session;
      const timeoutMs = 1 + this.host.rng.nextInt(this.levels.tcpTimeoutMs);
      this.host.queue.push(this.host.nowMs() + timeoutMs, () => {
        if (link.session !== session || !link.up) return;
        if (!this.blocked[link.low]![link.high] && !this.blocked[link.high]![link.low]) return;
        this.reset(link.low, link.high, 'tcp timeout (partition)', [link.low, link.high]);
      });
    }
    this.host.reachabilityChanged();
  }
}

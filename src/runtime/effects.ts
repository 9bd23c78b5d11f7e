// Carries out a node core's effects: the one executor of the runtime and of the simulator
// (test/sim/node-effects.ts), each with its own I/O behind EffectIo. What is the same for
// both lives here: persists grouped by the storage commit that holds them, each commit
// reported once, to the core (its tokens) and to the client writes in it (one promise per
// commit, however many writes and connections wait on it), and one wake timer kept at the
// core's earliest deadline.
import type { Effect, Input, LogLevel } from '../core/io.js';
import type { PeerMessage } from '../core/messages.js';
import type { Hlc, NodeId } from '../core/types.js';

export type PersistEffect = Extract<Effect, { readonly kind: 'persist' }>;
export type AppliedEffect = Extract<Effect, { readonly kind: 'applied' }>;
export type QuorumReadDoneEffect = Extract<Effect, { readonly kind: 'quorumReadDone' }>;

/** The longest a wake timer is set for; the core is ticked again then at the latest. */
export const WAKE_DELAY_MS_MAX = 60_000;

/**
 * One storage commit (an LMDB transaction; in the simulator, one persist): the persists it
 * holds. EffectIo.persist hands it out; the I/O calls EffectExecutor.committed or failed
 * once, when storage has it.
 */
export class Commit {
  /** Tokens of the persist effects it holds, reported to the core together. */
  readonly tokens: number[] = [];
  /** The newest client write sequence it holds (0: none). */
  writeSeq = 0;
  state: 'pending' | 'committed' | 'failed' = 'pending';
  private error: unknown;
  private promise: Promise<number> | undefined;
  private resolve: ((writeSeq: number) => void) | undefined;
  private reject: ((error: unknown) => void) | undefined;
  /** Called back when it settles, in order, before the promise's reactions (they must not throw). */
  private waiters: ((writeSeq: number, error?: unknown) => void)[] | undefined;

  /**
   * Resolves with writeSeq (at or above that of every client write it holds) once
   * committed; rejects if the commit failed. Made on first use, one per commit.
   */
  acknowledged(): Promise<number> {
    if (this.promise === undefined) {
      if (this.state === 'committed') this.promise = Promise.resolve(this.writeSeq);
      else if (this.state === 'failed') this.promise = Promise.reject(this.error);
      else this.promise = new Promise<number>((resolve, reject) => ((this.resolve = resolve), (this.reject = reject)));
      // Its waiters may all wait through whenSettled: a failure must not go unhandled.
      this.promise.catch(() => undefined);
    }
    return this.promise;
  }

  /**
   * `settled` once it commits (with writeSeq) or fails (with the error): a plain callback
   * for whoever waits on many commits (a connection's batches), no promise per wait.
   */
  whenSettled(settled: (writeSeq: number, error?: unknown) => void): void {
    if (this.state !== 'pending') {
      settled(this.writeSeq, this.state === 'failed' ? (this.error ?? new Error('commit failed')) : undefined);
      return;
    }
    (this.waiters ??= []).push(settled);
  }

  /** @internal (EffectExecutor) */
  settle(error: unknown, failed: boolean): void {
    if (this.state !== 'pending') return;
    this.state = failed ? 'failed' : 'committed';
    this.error = error;
    const waiters = this.waiters;
    this.waiters = undefined;
    if (waiters !== undefined) {
      const reported = failed ? (error ?? new Error('commit failed')) : undefined;
      for (const settled of waiters) settled(this.writeSeq, reported);
    }
    if (failed) this.reject?.(error);
    else this.resolve?.(this.writeSeq);
  }
}

/** The world the effects act on: the node's links, storage, timers and clients. */
export interface EffectIo {
  /** The node's wall clock (ms). */
  nowMs(): number;
  /** Step the core with an input the executor makes (persisted, tick) and carry out its effects. */
  feed(input: Input): void;
  send(to: NodeId, hlc: Hlc, message: PeerMessage): void;
  connect(peer: NodeId, addr: string): void;
  disconnect(peer: NodeId): void;
  announce(): void;
  /**
   * Start writing a persist effect, in order after every earlier one; the commit that holds
   * it (the same object for every persist of one storage transaction). Exactly once later,
   * the I/O calls executor.committed(commit) or executor.failed(commit, error).
   */
  persist(effect: PersistEffect, input: Input): Commit;
  saveMeta(name: string, value: Uint8Array): void;
  applied(effect: AppliedEffect, input: Input): void;
  published(channel: Uint8Array, message: Uint8Array): void;
  waitDone(requestId: number, replicas: number): void;
  quorumReadDone(effect: QuorumReadDoneEffect): void;
  /** Call executor.woke() after delayMs, replacing any earlier timer; undefined: no timer. */
  setWakeTimer(delayMs: number | undefined): void;
  log(level: LogLevel, message: string, fields: Readonly<Record<string, unknown>>): void;
}

export class EffectExecutor {
  private wakeDeadlineMs = Infinity;
  /** The commit holding the last client write's persist (clientCommit()). */
  private lastClientCommit: Commit | undefined;

  constructor(private readonly io: EffectIo) {}

  execute(effects: readonly Effect[], input: Input): void {
    const io = this.io;
    for (const effect of effects) {
      switch (effect.kind) {
        case 'send':
          io.send(effect.to, effect.hlc, effect.message);
          break;
        case 'connect':
          io.connect(effect.peer, effect.addr);
          break;
        case 'disconnect':
          io.disconnect(effect.peer);
          break;
        case 'announce':
          io.announce();
          break;
        case 'persist': {
          const commit = io.persist(effect, input);
          commit.tokens.push(effect.token);
          if (effect.requestId !== 0) {
            if (effect.writeSeq > commit.writeSeq) commit.writeSeq = effect.writeSeq;
            this.lastClientCommit = commit;
          }
          break;
        }
        case 'applied':
          io.applied(effect, input);
          break;
        case 'published':
          io.published(effect.channel, effect.message);
          break;
        case 'waitDone':
          io.waitDone(effect.requestId, effect.replicas);
          break;
        case 'saveMeta':
          io.saveMeta(effect.name, effect.value);
          break;
        case 'quorumReadDone':
          io.quorumReadDone(effect);
          break;
        case 'wakeAt':
          this.wakeAt(effect.deadlineMs);
          break;
        case 'log':
          io.log(effect.level, effect.message, effect.fields);
          break;
      }
    }
  }

  /** The commit of the client write just executed (a clientWrite step persists exactly once). */
  clientCommit(): Commit {
    const commit = this.lastClientCommit;
    if (commit === undefined) throw new Error('no client write was persisted');
    this.lastClientCommit = undefined;
    return commit;
  }

  /** Storage has the commit: its client writes are answered, its persists reported to the core. */
  committed(commit: Commit): void {
    if (commit.state !== 'pending') return;
    commit.settle(undefined, false);
    if (commit.tokens.length > 0) this.io.feed({ kind: 'persisted', nowMs: this.io.nowMs(), tokens: commit.tokens });
  }

  /** The commit failed for good: its client writes fail; the core never hears of it. */
  failed(commit: Commit, error: unknown): void {
    if (commit.state !== 'pending') return;
    commit.settle(error, true);
  }

  /** The wake timer fired. */
  woke(): void {
    this.wakeDeadlineMs = Infinity;
    this.io.feed({ kind: 'tick', nowMs: this.io.nowMs() });
  }

  /** An unchanged deadline keeps its timer; a new one replaces it. */
  private wakeAt(deadlineMs: number): void {
    if (deadlineMs === this.wakeDeadlineMs) return;
    this.wakeDeadlineMs = deadlineMs;
    if (!Number.isFinite(deadlineMs)) {
      this.io.setWakeTimer(undefined);
      return;
    }
    this.io.setWakeTimer(Math.max(0, Math.min(deadlineMs - this.io.nowMs(), WAKE_DELAY_MS_MAX)));
  }
}

// Per-command and per-error counters for INFO's `# Commandstats` and `# Errorstats`
// (Redis 7.0's lines), kept by the dispatcher. Time is the handler's own, on this node:
// a write's commit and replication are not in it (they finish after the handler returns).
import { Buffer } from 'node:buffer';

export interface CommandStatsEntry {
  readonly name: string;
  readonly calls: number;
  readonly usec: number;
  readonly failed: number;
}

interface CommandCounters {
  calls: number;
  usec: number;
  /** Refused before running: wrong arity, not authenticated, wrong context, loading. */
  rejected: number;
  /** Ran and answered with an error. */
  failed: number;
}

/** Distinct error prefixes kept; beyond it new ones are not counted (Redis caps at 128). */
const ERROR_PREFIXES_MAX = 128;
const ERROR_PREFIX_BYTES_MAX = 32;
const SPACE = 0x20;
const CR = 0x0d;

export class CommandStats {
  private readonly commands = new Map<string, CommandCounters>();
  private readonly errors = new Map<string, number>();
  /** Every error reply counted (INFO total_error_replies), also those past the prefix cap. */
  totalErrorReplies = 0;

  private counters(name: string): CommandCounters {
    let counters = this.commands.get(name);
    if (counters === undefined) {
      counters = { calls: 0, usec: 0, rejected: 0, failed: 0 };
      this.commands.set(name, counters);
    }
    return counters;
  }

  /** CONFIG RESETSTAT: every count starts again from zero. */
  reset(): void {
    this.commands.clear();
    this.errors.clear();
    this.totalErrorReplies = 0;
  }

  /** A command ran for elapsedMs; `failed` when its reply is an error. */
  recordCall(name: string, elapsedMs: number, failed: boolean): void {
    const counters = this.counters(name);
    counters.calls++;
    counters.usec += elapsedMs * 1000;
    if (failed) counters.failed++;
  }

  recordRejected(name: string): void {
    this.counters(name).rejected++;
  }

  /** Count an error reply by its first word (`ERR`, `WRONGTYPE`...): `reply` starts after the '-'. */
  recordError(reply: Uint8Array, start: number, end: number): void {
    this.totalErrorReplies++;
    let stop = start;
    while (stop < end && stop - start < ERROR_PREFIX_BYTES_MAX && reply[stop] !== SPACE && reply[stop] !== CR) stop++;
    const prefix = Buffer.from(reply.subarray(start, stop)).toString('latin1');
    const count = this.errors.get(prefix);
    if (count !== undefined) this.errors.set(prefix, count + 1);
    else if (this.errors.size < ERROR_PREFIXES_MAX) this.errors.set(prefix, 1);
  }

  /** Count an error text (`ERR ...`, without the '-'), as recordError counts a reply. */
  recordErrorText(message: string): void {
    const bytes = Buffer.from(message, 'latin1');
    this.recordError(bytes, 0, bytes.length);
  }

  /** `cmdstat_<name>:calls=..,usec=..,usec_per_call=..,rejected_calls=..,failed_calls=..`, by name. */
  commandLines(): string[] {
    return [...this.commands.entries()]
      .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0))
      .map(([name, counters]) => {
        const usec = Math.round(counters.usec);
        const perCall = counters.calls === 0 ? 0 : counters.usec / counters.calls;
        return `cmdstat_${name}:calls=${counters.calls},usec=${usec},usec_per_call=${perCall.toFixed(2)},rejected_calls=${counters.rejected},failed_calls=${counters.failed}`;
      });
  }

  /** Calls, handler microseconds and failures per command (the admin dashboard's source). */
  snapshot(): CommandStatsEntry[] {
    return [...this.commands.entries()].map(([name, counters]) => ({ name, calls: counters.calls, usec: counters.usec, failed: counters.failed }));
  }

  /** `errorstat_<PREFIX>:count=..`, by prefix. */
  errorLines(): string[] {
    return [...this.errors.entries()].sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0)).map(([prefix, count]) => `errorstat_${prefix}:count=${count}`);
  }
}

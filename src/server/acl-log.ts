// ACL LOG: this node's recent denials (commands, keys, channels refused; failed AUTH), newest
// first, similar entries within a minute grouped with a count, as Redis 7.0. Local to the
// node, like Redis's (each node refuses its own clients).

/** Entries alike within this long are one entry with a count (Redis's grouping window). */
const ACL_LOG_GROUPING_MS = 60_000;
/** How many recent entries a new one is compared with. */
const ACL_LOG_GROUPING_SCAN = 10;

export type AclDenial = 'command' | 'key' | 'channel' | 'auth';
export type AclContext = 'toplevel' | 'multi' | 'lua';

export interface AclLogEntry {
  count: number;
  readonly reason: AclDenial;
  readonly context: AclContext;
  readonly object: string;
  readonly username: string;
  /** When it last happened (ms since the epoch). */
  timeMs: number;
  /** CLIENT INFO line of the client refused, last time. */
  clientInfo: string;
}

export class AclLog {
  private entries: AclLogEntry[] = [];

  /** `entriesMax`: how many entries are kept (CONFIG acllog-max-len, 128 by default). */
  constructor(private readonly entriesMax: () => number) {}

  add(entry: Omit<AclLogEntry, 'count'>): void {
    const scan = Math.min(ACL_LOG_GROUPING_SCAN, this.entries.length);
    for (let index = 0; index < scan; index++) {
      const known = this.entries[index]!;
      if (
        known.reason === entry.reason &&
        known.context === entry.context &&
        known.object === entry.object &&
        known.username === entry.username &&
        Math.abs(entry.timeMs - known.timeMs) <= ACL_LOG_GROUPING_MS
      ) {
        known.count++;
        known.timeMs = entry.timeMs;
        known.clientInfo = entry.clientInfo;
        this.entries.splice(index, 1);
        this.entries.unshift(known);
        return;
      }
    }
    this.entries.unshift({ ...entry, count: 1 });
    const entriesMax = this.entriesMax();
    if (this.entries.length > entriesMax) this.entries.length = entriesMax;
  }

  /** The newest `count` entries. */
  newest(count: number): readonly AclLogEntry[] {
    return this.entries.slice(0, Math.max(0, count));
  }

  reset(): void {
    this.entries = [];
  }
}

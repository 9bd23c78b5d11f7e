// The node state admission checks read (admission.ts): whether used memory is over
// maxmemory and whether enough peers are good for min-replicas-to-write. Both are sampled
// (every ADMISSION_SAMPLE_INTERVAL_MS while a limit is set, and at once on CONFIG SET and
// INFO), so dispatch only reads a flag: Admission.active.
//
// Used memory (INFO used_memory, what maxmemory is compared with) is the node's JavaScript
// heap in use plus its off-heap buffers (process.memoryUsage heapUsed + external: indexes,
// caches, queued replies) plus the dataset: the bytes of the LMDB pages that hold the rows
// (Engine.storedBytes). The dataset lives in a memory-mapped file, not the heap, but it is
// what grows with the data and what a node needs in RAM to serve it from memory.
import type { Engine, LinkedPeer } from './engine.js';
import type { ServerSettings } from './settings.js';

/** How often the memory use and the peers' state are sampled while a limit is set. */
export const ADMISSION_SAMPLE_INTERVAL_MS = 100;

/** INFO used_memory and its parts, in bytes. */
export interface MemorySample {
  readonly usedBytes: number;
  /** JavaScript heap in use plus off-heap buffers. */
  readonly processBytes: number;
  /** LMDB pages holding the rows. */
  readonly datasetBytes: number;
  /** Resident set size of the process (INFO used_memory_rss; not what maxmemory checks). */
  readonly rssBytes: number;
}

/** The node's limits and their sampled state; one per server. */
export class Admission {
  /** Used memory exceeded maxmemory (> 0) at the last sample. */
  overMemory = false;
  /** min-replicas-to-write (and min-replicas-max-lag) are set and fewer peers were good at the last sample. */
  tooFewReplicas = false;
  /** Either of the above: the one thing dispatch reads when no limit is exceeded. */
  active = false;
  private goodPeers = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly settings: ServerSettings,
  ) {}

  /** Memory use now (INFO reads it; the same figure maxmemory is checked against). */
  memory(): MemorySample {
    const usage = process.memoryUsage();
    const processBytes = usage.heapUsed + usage.external;
    const datasetBytes = this.engine.storedBytes?.() ?? 0;
    return { usedBytes: processBytes + datasetBytes, processBytes, datasetBytes, rssBytes: usage.rss };
  }

  /** Linked peers and whether each is good (heard from within min-replicas-max-lag). */
  peers(): { readonly peer: LinkedPeer; readonly good: boolean }[] {
    const maxLagMs = this.settings.integer('min-replicas-max-lag') * 1000;
    return (this.engine.linkedPeers?.() ?? []).map((peer) => ({ peer, good: peer.lagMs <= maxLagMs }));
  }

  /** Good peers at the last sample (INFO min_slaves_good_slaves). */
  goodPeerCount(): number {
    return this.goodPeers;
  }

  /** Sample now; keep sampling on a timer while a limit is set (CONFIG SET calls this). */
  refresh(): MemorySample {
    const maxMemory = this.settings.integer('maxmemory');
    const sample = this.memory();
    this.overMemory = maxMemory > 0 && sample.usedBytes > maxMemory;
    const minReplicas = this.settings.integer('min-replicas-to-write');
    const checkReplicas = minReplicas > 0 && this.settings.integer('min-replicas-max-lag') > 0;
    this.goodPeers = this.peers().filter((each) => each.good).length;
    this.tooFewReplicas = checkReplicas && this.goodPeers < minReplicas;
    this.active = this.overMemory || this.tooFewReplicas;
    const limited = maxMemory > 0 || checkReplicas;
    if (limited && this.timer === undefined) {
      this.timer = setInterval(() => this.refresh(), ADMISSION_SAMPLE_INTERVAL_MS);
      this.timer.unref();
    } else if (!limited && this.timer !== undefined) this.close();
    return sample;
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

// Every interval and limit of the core, with the reason for its default beside it.
// Units are in the name. validateCoreConfig rejects combinations that cannot work.

export interface CoreConfig {
  /** A remote HLC stamp further ahead of our wall clock than this is refused (DESIGN.md 3). */
  readonly hlcMaxOffsetMs: number;
  /** One direct probe per interval, round-robin over members. */
  readonly probeIntervalMs: number;
  /** A direct probe unanswered after this asks others to probe indirectly. */
  readonly probeTimeoutMs: number;
  /** Members asked to probe indirectly (SWIM's k). */
  readonly indirectProbeCount: number;
  /** Indirect probes unanswered after this make the member suspect. */
  readonly indirectProbeTimeoutMs: number;
  /** Suspect for this long without refutation: dead. */
  readonly suspicionTimeoutMs: number;
  /** Dead members stay listed this long, then vanish. */
  readonly deadReapMs: number;
  /** Discovery announcement period. */
  readonly announceIntervalMs: number;
  /** At most this many member entries piggyback on one probe or ack. */
  readonly gossipMembersMax: number;
  /** Anti-entropy round period per linked peer (also run on every link-up). */
  readonly antiEntropyIntervalMs: number;
  /** Records per anti-entropy batch message; bounds memory of one round step. */
  readonly antiEntropyBatchRecordsMax: number;
  /** Approximate bytes per replication or anti-entropy batch (one record may exceed it). */
  readonly batchBytesMax: number;
  /** Tombstones older than this are purged and never accepted again (DESIGN.md 3). */
  readonly tombstoneGraceMs: number;
  /** Period of the background sweep that turns expired records into tombstones and purges old ones. */
  readonly sweepIntervalMs: number;
  /** Keys examined per sweep step, so a sweep never stalls the node. */
  readonly sweepKeysMax: number;
  /**
   * Rows a clear removes per step from a key with no live element left (a drained list's
   * tombstones): the first slice in the clearing step, the rest in the steps after it.
   */
  readonly clearRowsPerStep: number;
}

export const DEFAULT_CORE_CONFIG: CoreConfig = {
  hlcMaxOffsetMs: 500, // DESIGN.md default; NTP keeps LAN clocks within a few ms
  probeIntervalMs: 500, // with the timeouts below a kill -9 is dead in about 2.3 s (< 3 s goal)
  probeTimeoutMs: 250, // loopback/LAN round trips are < 1 ms; 250 ms absorbs GC pauses
  indirectProbeCount: 3, // SWIM paper's k: enough paths to avoid blaming one bad link
  indirectProbeTimeoutMs: 300,
  suspicionTimeoutMs: 1_500, // a 1 s SIGSTOP resumes and refutes well before this runs out
  deadReapMs: 60_000, // long enough for operators to see what died
  announceIntervalMs: 2_000, // discovery is a fallback after the first greeting; keep idle cost low
  gossipMembersMax: 32, // fits one probe frame for clusters up to a few dozen members per round
  antiEntropyIntervalMs: 10_000, // link-up already triggers a round; this only repairs lost pushes
  antiEntropyBatchRecordsMax: 4_096, // a catch-up pays per batch (a step, a transaction, an ack): 4096 rows of ~100 B are ~0.6 MiB, under batchBytesMax
  batchBytesMax: 1 << 20, // 1 MiB: frames stay far under the 80 MiB limit and interleave with probes
  tombstoneGraceMs: 24 * 60 * 60 * 1000, // DESIGN.md default
  sweepIntervalMs: 1_000, // expired keys read as absent anyway; the sweep only reclaims space
  sweepKeysMax: 1_000,
  clearRowsPerStep: 512, // ~5 ms of a step: a drained 100,000-element list no longer stalls clients for a second
};

export function validateCoreConfig(config: CoreConfig): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(config)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) problems.push(`${name} must be a non-negative number`);
  }
  if (config.probeTimeoutMs >= config.probeIntervalMs) problems.push('probeTimeoutMs must be below probeIntervalMs');
  if (config.suspicionTimeoutMs < config.probeIntervalMs * 2) problems.push('suspicionTimeoutMs must be at least two probe intervals, or a live node has no time to refute');
  if (config.gossipMembersMax < 1) problems.push('gossipMembersMax must be at least 1');
  if (config.antiEntropyBatchRecordsMax < 1) problems.push('antiEntropyBatchRecordsMax must be at least 1');
  if (config.clearRowsPerStep < 1) problems.push('clearRowsPerStep must be at least 1');
  return problems;
}

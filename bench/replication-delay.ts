// Replication delay: a paced writer on node A and a keyspace-notification subscriber on
// node B in this one process, so ack time and arrival time share one clock (performance.now()).
import { percentile } from './format.js';
import { sleep } from './processes.js';
import { RespConnection, encodeCommand, type Reply } from './resp-client.js';

/** How long the first probe write may take to show up on B before we call replication absent. */
const PROBE_TIMEOUT_MS = 5_000;
/** After the last write, how long stragglers may still arrive. */
const ARRIVAL_GRACE_MS = 3_000;
/** Pacing timer; each tick sends the writes that are due as one pipelined socket write. */
const PACE_INTERVAL_MS = 1;
const VALUE_BYTES = 100;
/** Pause between visibility samples, so the sampling GETs stay a small share of B's load. */
const VISIBILITY_SAMPLE_INTERVAL_MS = 10;
const CHANNEL_PREFIX = '__keyspace@0__:';

export interface DelayResult {
  readonly writes: number;
  /** Delays in ms, ascending; arrivals that beat their ack are counted as 0. */
  readonly delaysMs: number[];
  readonly arrivedBeforeAck: number;
  readonly missing: number;
  readonly writeErrors: number;
  readonly achievedRatePerSecond: number;
  /** Median delay of the first and of the last second of writes: a growing gap means B falls behind. */
  readonly firstSecondP50Ms: number;
  readonly lastSecondP50Ms: number;
  /** Under the same load: ack on A to a GET on B returning the key, for sampled writes (ascending). */
  readonly sampledVisibilityMs: number[];
}

export interface DelaySummary {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export function summarizeDelays(result: Pick<DelayResult, 'delaysMs'>): DelaySummary {
  const delays = result.delaysMs;
  return { p50Ms: percentile(delays, 0.5), p99Ms: percentile(delays, 0.99), maxMs: delays.length === 0 ? Number.NaN : delays[delays.length - 1]! };
}

export async function measureReplicationDelay(
  writerPort: number, subscriberPort: number, ratePerSecond: number, seconds: number, warmupSeconds = 0,
): Promise<DelayResult & { readonly warmup: DelaySummary | undefined }> {
  const runId = Math.floor(performance.now()).toString(36);
  const keyPrefix = `delay:${runId}:`;
  const warmupPrefix = `${keyPrefix}warmup:`;
  const total = Math.round(ratePerSecond * seconds);
  const warmupTotal = Math.round(ratePerSecond * warmupSeconds);
  const ackAt = new Float64Array(total).fill(Number.NaN);
  const arriveAt = new Float64Array(total).fill(Number.NaN);
  const warmupAckAt = new Float64Array(warmupTotal).fill(Number.NaN);
  const warmupArriveAt = new Float64Array(warmupTotal).fill(Number.NaN);
  let probeArrived: (() => void) | undefined;
  const subscriber = await RespConnection.connect(subscriberPort);
  const writer = await RespConnection.connect(writerPort);
  try {
    subscriber.onPush = (reply, atMs) => {
      const channel = Array.isArray(reply) ? reply[2] : undefined;
      if (typeof channel !== 'string' || !channel.startsWith(CHANNEL_PREFIX + keyPrefix)) return;
      let suffix = channel.slice(CHANNEL_PREFIX.length + keyPrefix.length);
      if (suffix === 'probe') { probeArrived?.(); return; }
      let arrivals = arriveAt;
      if (suffix.startsWith('warmup:')) {
        suffix = suffix.slice('warmup:'.length);
        arrivals = warmupArriveAt;
      }
      const index = Number(suffix);
      if (Number.isInteger(index) && index >= 0 && index < arrivals.length && Number.isNaN(arrivals[index]!)) arrivals[index] = atMs;
    };
    await subscriber.command('PSUBSCRIBE', `${CHANNEL_PREFIX}*`);
    await probe(writer, `${keyPrefix}probe`, new Promise<void>((resolve) => { probeArrived = resolve; }));
    // Fresh processes run the replication path unoptimised at first (JIT): the warm-up
    // writes go at the same rate, are reported apart and do not count.
    let warmup: DelaySummary | undefined;
    if (warmupTotal > 0) {
      const warm = await paceWrites(writer, warmupPrefix, warmupTotal, ratePerSecond, warmupAckAt, { acked: 0, done: false });
      await sleep(100);
      warmup = summarizeDelays(collect(warmupAckAt, warmupArriveAt, warm.errors, ratePerSecond, ratePerSecond));
    }
    const progress: Progress = { acked: 0, done: false };
    const sampling = sampleVisibility(subscriberPort, keyPrefix, ackAt, progress);
    const written = await paceWrites(writer, keyPrefix, total, ratePerSecond, ackAt, progress);
    const sampledMs = await sampling;
    const graceEnd = performance.now() + ARRIVAL_GRACE_MS;
    while (performance.now() < graceEnd && arriveAt.some((value) => Number.isNaN(value))) await sleep(50);
    return { ...collect(ackAt, arriveAt, written.errors, (total / written.elapsedMs) * 1000, ratePerSecond), sampledVisibilityMs: sampledMs, warmup };
  } finally {
    subscriber.close();
    writer.close();
  }
}

async function probe(writer: RespConnection, key: string, arrived: Promise<void>): Promise<void> {
  const reply = await writer.command('SET', key, 'x');
  if (reply instanceof Error) throw new Error(`probe SET on A failed: ${reply.message}`);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`a write on A raised no keyspace notification on B within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
  });
  try {
    await Promise.race([arrived, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface Progress {
  acked: number;
  done: boolean;
}

/** SETs of keyPrefix + index paced at ratePerSecond on writer; resolves once every one is answered (ackAt: when). */
export async function paceWrites(writer: RespConnection, keyPrefix: string, total: number, ratePerSecond: number, ackAt: Float64Array, progress: Progress): Promise<{ elapsedMs: number; errors: number }> {
  const value = Buffer.alloc(VALUE_BYTES, 'v');
  const started = performance.now();
  let sent = 0;
  let errors = 0;
  const onReply = (reply: Reply, atMs: number) => {
    if (reply instanceof Error) errors++;
    ackAt[progress.acked++] = atMs;
  };
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) * ratePerSecond) / 1000) + 1);
    if (due > sent) {
      const parts: Buffer[] = [];
      for (let index = sent; index < due; index++) parts.push(encodeCommand(['SET', keyPrefix + index, value]));
      writer.sendEncoded(Buffer.concat(parts), due - sent, onReply);
      sent = due;
    }
    await sleep(PACE_INTERVAL_MS);
  }
  const elapsedMs = performance.now() - started;
  while (progress.acked < total) await sleep(PACE_INTERVAL_MS);
  progress.done = true;
  return { elapsedMs, errors };
}

/**
 * While the writer runs: take the newest acknowledged write, GET it on B until it shows,
 * repeat. Tells slow replication apart from slow notification delivery.
 */
async function sampleVisibility(readerPort: number, keyPrefix: string, ackAt: Float64Array, progress: Progress): Promise<number[]> {
  const reader = await RespConnection.connect(readerPort);
  const delaysMs: number[] = [];
  try {
    while (!progress.done) {
      const index = progress.acked - 1;
      if (index < 0) { await sleep(PACE_INTERVAL_MS); continue; }
      const ackMs = ackAt[index]!;
      while (performance.now() - ackMs < POLL_CHECK_TIMEOUT_MS && (await reader.command('GET', keyPrefix + index)) === null);
      delaysMs.push(performance.now() - ackMs);
      await sleep(VISIBILITY_SAMPLE_INTERVAL_MS);
    }
  } finally {
    reader.close();
  }
  return delaysMs.sort((a, b) => a - b);
}

function collect(ackAt: Float64Array, arriveAt: Float64Array, writeErrors: number, achievedRatePerSecond: number, ratePerSecond: number): Omit<DelayResult, 'sampledVisibilityMs'> {
  const delayByIndex = new Float64Array(ackAt.length).fill(Number.NaN);
  let arrivedBeforeAck = 0;
  let missing = 0;
  for (let index = 0; index < ackAt.length; index++) {
    const ack = ackAt[index]!;
    const arrive = arriveAt[index]!;
    if (Number.isNaN(arrive) || Number.isNaN(ack)) { missing++; continue; }
    // Both sockets are read by this one event loop: B's notification can be read in an
    // earlier turn than A's reply; that write was visible on B no later than acked on A.
    if (arrive < ack) arrivedBeforeAck++;
    delayByIndex[index] = Math.max(0, arrive - ack);
  }
  const sortedMedian = (values: Float64Array) => percentile([...values].filter((value) => !Number.isNaN(value)).sort((a, b) => a - b), 0.5);
  const secondCount = Math.min(ratePerSecond, ackAt.length);
  return {
    writes: ackAt.length,
    delaysMs: [...delayByIndex].filter((value) => !Number.isNaN(value)).sort((a, b) => a - b),
    arrivedBeforeAck,
    missing,
    writeErrors,
    achievedRatePerSecond,
    firstSecondP50Ms: sortedMedian(delayByIndex.subarray(0, secondCount)),
    lastSecondP50Ms: sortedMedian(delayByIndex.subarray(ackAt.length - secondCount)),
  };
}

/** Sequential writes for the polling cross-check: few, since each one is awaited. */
const POLL_CHECK_WRITES = 200;
/** A write not readable on B within this long counts as missing in the cross-check. */
const POLL_CHECK_TIMEOUT_MS = 2_000;

/**
 * Cross-check without notifications and without load: SET on A, then GET on B in a tight
 * loop until the value shows. Returns ascending delays in ms and how many never showed.
 */
export async function measureVisibilityByPolling(writerPort: number, readerPort: number): Promise<{ delaysMs: number[]; missing: number }> {
  const writer = await RespConnection.connect(writerPort);
  const reader = await RespConnection.connect(readerPort);
  const delaysMs: number[] = [];
  let missing = 0;
  try {
    const prefix = `poll:${Math.floor(performance.now()).toString(36)}:`;
    for (let index = 0; index < POLL_CHECK_WRITES; index++) {
      const key = prefix + index;
      await writer.command('SET', key, 'v');
      const ackMs = performance.now();
      let seen = false;
      while (performance.now() - ackMs < POLL_CHECK_TIMEOUT_MS) {
        if ((await reader.command('GET', key)) === 'v') { seen = true; break; }
      }
      if (seen) delaysMs.push(performance.now() - ackMs);
      else missing++;
    }
  } finally {
    writer.close();
    reader.close();
  }
  return { delaysMs: delaysMs.sort((a, b) => a - b), missing };
}

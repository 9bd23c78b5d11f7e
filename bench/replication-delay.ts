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
const CHANNEL_PREFIX = '__keyspace@0__:';

export interface DelayResult {
  readonly writes: number;
  /** Delays in ms, ascending; arrivals that beat their ack are counted as 0. */
  readonly delaysMs: number[];
  readonly arrivedBeforeAck: number;
  readonly missing: number;
  readonly writeErrors: number;
  readonly achievedRatePerSecond: number;
}

export interface DelaySummary {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export function summarizeDelays(result: DelayResult): DelaySummary {
  const delays = result.delaysMs;
  return { p50Ms: percentile(delays, 0.5), p99Ms: percentile(delays, 0.99), maxMs: delays.length === 0 ? Number.NaN : delays[delays.length - 1]! };
}

export async function measureReplicationDelay(writerPort: number, subscriberPort: number, ratePerSecond: number, seconds: number): Promise<DelayResult> {
  const runId = Math.floor(performance.now()).toString(36);
  const keyPrefix = `delay:${runId}:`;
  const total = Math.round(ratePerSecond * seconds);
  const ackAt = new Float64Array(total).fill(Number.NaN);
  const arriveAt = new Float64Array(total).fill(Number.NaN);
  let probeArrived: (() => void) | undefined;
  const subscriber = await RespConnection.connect(subscriberPort);
  const writer = await RespConnection.connect(writerPort);
  try {
    subscriber.onPush = (reply, atMs) => {
      const channel = Array.isArray(reply) ? reply[2] : undefined;
      if (typeof channel !== 'string' || !channel.startsWith(CHANNEL_PREFIX + keyPrefix)) return;
      const suffix = channel.slice(CHANNEL_PREFIX.length + keyPrefix.length);
      if (suffix === 'probe') { probeArrived?.(); return; }
      const index = Number(suffix);
      if (Number.isInteger(index) && index >= 0 && index < total && Number.isNaN(arriveAt[index]!)) arriveAt[index] = atMs;
    };
    await subscriber.command('PSUBSCRIBE', `${CHANNEL_PREFIX}*`);
    await probe(writer, `${keyPrefix}probe`, new Promise<void>((resolve) => { probeArrived = resolve; }));
    const written = await paceWrites(writer, keyPrefix, total, ratePerSecond, ackAt);
    const graceEnd = performance.now() + ARRIVAL_GRACE_MS;
    while (performance.now() < graceEnd && arriveAt.some((value) => Number.isNaN(value))) await sleep(50);
    return collect(ackAt, arriveAt, written.errors, (total / written.elapsedMs) * 1000);
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

async function paceWrites(writer: RespConnection, keyPrefix: string, total: number, ratePerSecond: number, ackAt: Float64Array): Promise<{ elapsedMs: number; errors: number }> {
  const value = Buffer.alloc(VALUE_BYTES, 'v');
  const started = performance.now();
  let sent = 0;
  let acked = 0;
  let errors = 0;
  const onReply = (reply: Reply, atMs: number) => {
    if (reply instanceof Error) errors++;
    ackAt[acked++] = atMs;
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
  while (acked < total) await sleep(PACE_INTERVAL_MS);
  return { elapsedMs, errors };
}

function collect(ackAt: Float64Array, arriveAt: Float64Array, writeErrors: number, achievedRatePerSecond: number): DelayResult {
  const delaysMs: number[] = [];
  let arrivedBeforeAck = 0;
  let missing = 0;
  for (let index = 0; index < ackAt.length; index++) {
    const ack = ackAt[index]!;
    const arrive = arriveAt[index]!;
    if (Number.isNaN(arrive) || Number.isNaN(ack)) { missing++; continue; }
    // Both sockets are read by this one event loop: B's notification can be read in an
    // earlier turn than A's reply; that write was visible on B no later than acked on A.
    if (arrive < ack) arrivedBeforeAck++;
    delaysMs.push(Math.max(0, arrive - ack));
  }
  delaysMs.sort((a, b) => a - b);
  return { writes: ackAt.length, delaysMs, arrivedBeforeAck, missing, writeErrors, achievedRatePerSecond };
}

// Cluster benchmark (issue 4): replication delay, cluster write throughput against a
// lone node, catch-up speed of a joining node, anti-entropy cost when in sync.
// Each measurement skips with a printed reason when its cluster does not form.
import { measureAntiEntropyCost } from './antientropy-cost.js';
import { errorMessage, formatCount, formatMs, formatRatio, markdownTable, percentile } from './format.js';
import { loadKeys } from './loader.js';
import { freeUdpPort, sleep } from './processes.js';
import { runRedisBenchmark } from './redis-benchmark.js';
import { formatWakeupCosts, measureWakeupCost, WAKEUP_RATES_PER_SECOND } from './wakeup-cost.js';
import { measureReplicationDelay, measureVisibilityByPolling, summarizeDelays } from './replication-delay.js';
import { readDbSize, readInfo } from './resp-client.js';
import { diagnose, startPeerkv, stopServer, type Server } from './servers.js';
import { skippedRow, type PartResult } from './summary.js';

export interface ClusterOptions {
  readonly requests: number;
  readonly rounds: number;
  readonly catchUpKeys: number;
  readonly delaySeconds: number;
  readonly antiEntropySeconds: number;
  readonly stub: boolean;
}

const CLUSTER_FORM_TIMEOUT_MS = 20_000;
const DELAY_RATE_PER_SECOND = 10_000;
const DELAY_GOAL_P50_MS = 1;
const DELAY_GOAL_P99_MS = 10;
/** Writes at the same rate before the measured ones, not counted (JIT warm-up of fresh processes). */
const DELAY_WARMUP_SECONDS = 1;
const THROUGHPUT_GOAL_RATIO = 0.6;
const CATCH_UP_GOAL_KEYS_PER_SECOND = 200_000;
const ANTI_ENTROPY_GOAL_BYTES = 256;
/** How long replicas may take to hold everything the loader wrote before catch-up starts. */
const REPLICAS_SETTLE_TIMEOUT_MS = 120_000;
/** A joining node slower than this is reported as unfinished with its partial rate. */
const CATCH_UP_TIMEOUT_MS = 180_000;
const DBSIZE_POLL_INTERVAL_MS = 50;
const IDLE_CLUSTER_KEYS = 1_000;

type Cluster = Server[];

export async function runCluster(options: ClusterOptions): Promise<PartResult> {
  const result: PartResult = { rows: [], notes: [] };
  console.log('\n## Cluster: 3 local nodes over loopback\n');
  await withCluster(3, options, 'delay/throughput', result, async (cluster) => {
    await replicationDelay(cluster, options, result);
    await clusterThroughput(cluster, options, result);
  }, [
    [`replication delay A -> B at ${formatCount(DELAY_RATE_PER_SECOND)} writes/s`, `p50 <= ${DELAY_GOAL_P50_MS} ms, p99 <= ${DELAY_GOAL_P99_MS} ms`],
    ['3-node write throughput / single node (SET)', `>= ${THROUGHPUT_GOAL_RATIO}`],
  ]);
  await withCluster(2, options, 'catch-up', result, (cluster) => catchUp(cluster, options, result), [
    [`catch-up of a new node (${formatCount(options.catchUpKeys)} keys)`, `>= ${formatCount(CATCH_UP_GOAL_KEYS_PER_SECOND)} keys/s`],
  ]);
  await withCluster(2, options, 'anti-entropy', result, (cluster) => antiEntropy(cluster, options, result), [
    ['anti-entropy round between 2 in-sync idle nodes', `1 round trip <= ${ANTI_ENTROPY_GOAL_BYTES} B`],
  ]);
  if (!options.stub) await wakeupCost(result);
  return result;
}

/** The runtime's cost per wake-up (bench/wakeup-cost.ts), beside the figures it bounds. */
async function wakeupCost(result: PartResult): Promise<void> {
  const benchmark = 'main-thread CPU per paced SET, lone peerkv / Node baseline';
  try {
    const costs = await measureWakeupCost();
    console.log(`
main-thread CPU per paced SET (one connection, ${WAKEUP_RATES_PER_SECOND.map(formatCount).join(' / ')} SETs/s), peerkv / Node baseline: ${formatWakeupCosts(costs)}`);
    result.rows.push({ benchmark, result: formatWakeupCosts(costs), goal: 'report', met: undefined });
    result.notes.push('wake-up cost: SETs paced on one connection (a 1-ms timer writes those due), to the Node baseline server and to a lone peerkv node, each warmed 1 s at the highest rate; main-thread CPU (/proc, 10-ms ticks) over 4 s per rate. At low rates each request wakes an idle process: what that costs a bare Node.js process bounds what a replica pays per replicate frame');
  } catch (error) {
    console.log(`skipped: wake-up cost: ${errorMessage(error)}`);
    result.rows.push(skippedRow(benchmark, 'report', errorMessage(error)));
  }
}

/** Starts `size` nodes that find each other, runs body, stops them; skips body's rows if they never form. */
async function withCluster(
  size: number, options: ClusterOptions, label: string, result: PartResult,
  body: (cluster: Cluster) => Promise<void>, rowsIfSkipped: readonly (readonly [string, string])[],
): Promise<void> {
  const cluster: Cluster = [];
  try {
    try {
      const discoveryPort = await freeUdpPort();
      for (let index = 0; index < size; index++) {
        cluster.push(await startPeerkv({ name: `${label.replace(/\W/g, '')}-${index + 1}`, discoveryPort, joinTo: [...cluster], stub: options.stub }));
      }
      await waitForCluster(cluster, options.stub);
      console.log(`${label}: ${size} nodes up (client ports ${cluster.map((server) => server.port).join(', ')})`);
    } catch (error) {
      const reason = `${size}-node cluster did not form: ${errorMessage(error)}`;
      console.log(`skipped: ${label}: ${reason}`);
      for (const [benchmark, goal] of rowsIfSkipped) result.rows.push(skippedRow(benchmark, goal, reason));
      return;
    }
    await body(cluster);
  } finally {
    for (const server of cluster) await stopServer(server);
  }
}

/** Every node sees all the others alive (peerkv INFO members_alive), or replicas linked (stub). */
async function waitForCluster(cluster: Cluster, stub: boolean): Promise<void> {
  const deadline = performance.now() + CLUSTER_FORM_TIMEOUT_MS;
  let last = '';
  while (performance.now() < deadline) {
    const infos = await Promise.all(cluster.map((server) => readInfo(server.port)));
    const formed = stub
      ? infos.slice(1).every((info) => info.get('master_link_status') === 'up')
      : infos.every((info) => Number(info.get('members_alive')) >= cluster.length);
    if (formed) return;
    last = infos.map((info) => info.get(stub ? 'master_link_status' : 'members_alive') ?? '?').join(', ');
    await sleep(200);
  }
  throw new Error(`after ${CLUSTER_FORM_TIMEOUT_MS} ms: ${stub ? 'master_link_status' : 'members_alive'} = ${last}`);
}

async function replicationDelay(cluster: Cluster, options: ClusterOptions, result: PartResult): Promise<void> {
  const benchmark = `replication delay A -> B at ${formatCount(DELAY_RATE_PER_SECOND)} writes/s`;
  const goal = `p50 <= ${DELAY_GOAL_P50_MS} ms, p99 <= ${DELAY_GOAL_P99_MS} ms`;
  try {
    const measured = await measureReplicationDelay(cluster[0]!.port, cluster[1]!.port, DELAY_RATE_PER_SECOND, options.delaySeconds, DELAY_WARMUP_SECONDS);
    const summary = summarizeDelays(measured);
    console.log(`\nreplication delay (ack on A -> keyspace notification on B), ${formatCount(measured.writes)} writes at ${formatCount(measured.achievedRatePerSecond)}/s:`);
    if (measured.warmup !== undefined) console.log(`  warm-up (${DELAY_WARMUP_SECONDS} s at the same rate, not counted): p50 ${formatMs(measured.warmup.p50Ms)}, p99 ${formatMs(measured.warmup.p99Ms)}, max ${formatMs(measured.warmup.maxMs)}`);
    console.log(`  p50 ${formatMs(summary.p50Ms)}, p99 ${formatMs(summary.p99Ms)}, max ${formatMs(summary.maxMs)}; missing on B ${measured.missing}, arrived before ack ${measured.arrivedBeforeAck}, write errors ${measured.writeErrors}`);
    console.log(`  p50 of the first second ${formatMs(measured.firstSecondP50Ms)}, of the last second ${formatMs(measured.lastSecondP50Ms)}${measured.lastSecondP50Ms > 10 * Math.max(measured.firstSecondP50Ms, 1) ? ' (B falls behind: replication is slower than the write rate)' : ''}`);
    const sampled = measured.sampledVisibilityMs;
    console.log(`  same load, ${sampled.length} sampled writes read back by GET on B: p50 ${formatMs(percentile(sampled, 0.5))}, p99 ${formatMs(percentile(sampled, 0.99))}`);
    const polled = await measureVisibilityByPolling(cluster[0]!.port, cluster[1]!.port);
    console.log(`  cross-check, ${polled.delaysMs.length + polled.missing} sequential SETs on A with GET polling on B (no load): p50 ${formatMs(percentile(polled.delaysMs, 0.5))}, p99 ${formatMs(percentile(polled.delaysMs, 0.99))}, never visible ${polled.missing}`);
    const met = summary.p50Ms <= DELAY_GOAL_P50_MS && summary.p99Ms <= DELAY_GOAL_P99_MS && measured.missing === 0;
    result.rows.push({
      benchmark,
      result: `p50 ${formatMs(summary.p50Ms)}, p99 ${formatMs(summary.p99Ms)}, max ${formatMs(summary.maxMs)}${measured.missing > 0 ? `, ${measured.missing} never arrived` : ''}`,
      goal,
      met,
    });
    result.notes.push(`replication delay: ${formatCount(measured.writes)} unique-key SETs paced at ${formatCount(DELAY_RATE_PER_SECOND)}/s to node A after ${DELAY_WARMUP_SECONDS} s of warm-up writes at the same rate (reported apart, not counted); PSUBSCRIBE __keyspace@0__:* on node B; delay = notification read on B - reply read on A, one process and clock (negative counted as 0)`);
  } catch (error) {
    const reason = errorMessage(error) + (await diagnose(cluster));
    console.log(`skipped: replication delay: ${reason}`);
    result.rows.push(skippedRow(benchmark, goal, reason));
  }
}

async function clusterThroughput(cluster: Cluster, options: ClusterOptions, result: PartResult): Promise<void> {
  const benchmark = '3-node write throughput / single node (SET)';
  const goal = `>= ${THROUGHPUT_GOAL_RATIO}`;
  const args = ['-t', 'set', '-c', '50', '-d', '100', '-r', '100000', '-n', String(options.requests)];
  let single: Server | undefined;
  try {
    single = await startPeerkv({ name: 'throughput-single', stub: options.stub });
    let bestCluster = 0;
    let bestSingle = 0;
    for (let round = 1; round <= options.rounds; round++) {
      const alone = (await runRedisBenchmark(single.port, args))[0]!.requestsPerSecond;
      const inCluster = (await runRedisBenchmark(cluster[0]!.port, args))[0]!.requestsPerSecond;
      console.log(`round ${round}: single node ${formatCount(alone)} SET/s, node 1 of 3 ${formatCount(inCluster)} SET/s`);
      bestSingle = Math.max(bestSingle, alone);
      bestCluster = Math.max(bestCluster, inCluster);
    }
    const ratio = bestCluster / bestSingle;
    console.log(`best of ${options.rounds}: ${formatCount(bestCluster)} / ${formatCount(bestSingle)} = ${formatRatio(ratio)}`);
    result.rows.push({ benchmark, result: `${formatCount(bestCluster)} / ${formatCount(bestSingle)} rps = ${formatRatio(ratio)}`, goal, met: ratio >= THROUGHPUT_GOAL_RATIO });
    result.notes.push(`cluster throughput: redis-benchmark ${args.join(' ')} against node 1 of 3 vs a lone node, interleaved, best of ${options.rounds}`);
  } catch (error) {
    const reason = errorMessage(error) + (await diagnose([...cluster, single]));
    console.log(`skipped: cluster throughput: ${reason}`);
    result.rows.push(skippedRow(benchmark, goal, reason));
  } finally {
    if (single !== undefined) await stopServer(single);
  }
}

async function catchUp(cluster: Cluster, options: ClusterOptions, result: PartResult): Promise<void> {
  const benchmark = `catch-up of a new node (${formatCount(options.catchUpKeys)} keys)`;
  const goal = `>= ${formatCount(CATCH_UP_GOAL_KEYS_PER_SECOND)} keys/s`;
  let joiner: Server | undefined;
  try {
    const load = await loadKeys(cluster[0]!.port, options.catchUpKeys, 100);
    if (load.errors > 0) throw new Error(`loading refused ${load.errors} writes: ${load.firstError}`);
    console.log(`\ncatch-up: loaded ${formatCount(load.keys)} keys into node 1 in ${(load.elapsedMs / 1000).toFixed(1)} s`);
    const target = await readDbSize(cluster[0]!.port);
    const settled = await waitForDbSize(cluster[1]!, target, REPLICAS_SETTLE_TIMEOUT_MS);
    console.log(`  node 2 holds ${formatCount(settled.size)} of ${formatCount(target)} after ${(settled.elapsedMs / 1000).toFixed(1)} s`);
    const spawnedMs = performance.now();
    joiner = await startPeerkv({ name: 'catchup-new', discoveryPort: undefined, joinTo: cluster, stub: options.stub });
    const readyMs = performance.now();
    const caught = await waitForDbSize(joiner, target, CATCH_UP_TIMEOUT_MS);
    const seconds = caught.elapsedMs / 1000;
    const rate = caught.size / seconds;
    const finished = caught.size >= target;
    console.log(`  new node: answered PING after ${((readyMs - spawnedMs) / 1000).toFixed(1)} s, then ${finished ? '' : 'NOT FINISHED: '}${formatCount(caught.size)} keys in ${seconds.toFixed(1)} s = ${formatCount(rate)} keys/s`);
    result.rows.push({
      benchmark,
      result: `${finished ? '' : 'unfinished: '}${formatCount(caught.size)} keys in ${seconds.toFixed(1)} s = ${formatCount(rate)} keys/s`,
      goal,
      met: finished && rate >= CATCH_UP_GOAL_KEYS_PER_SECOND,
    });
    result.notes.push('catch-up: an empty node joins (--join) a 2-node cluster holding the keys; time from its first PONG until its DBSIZE equals node 1');
  } catch (error) {
    const reason = errorMessage(error) + (await diagnose([...cluster, joiner]));
    console.log(`skipped: catch-up: ${reason}`);
    result.rows.push(skippedRow(benchmark, goal, reason));
  } finally {
    if (joiner !== undefined) await stopServer(joiner);
  }
}

/** Polls DBSIZE until it reaches target or the timeout; returns the last size seen. */
async function waitForDbSize(server: Server, target: number, timeoutMs: number): Promise<{ size: number; elapsedMs: number }> {
  const started = performance.now();
  let size = 0;
  while (performance.now() - started < timeoutMs) {
    // A node still loading (or briefly refusing) is polled again, not failed.
    size = await readDbSize(server.port).catch(() => size);
    if (size >= target) break;
    await sleep(DBSIZE_POLL_INTERVAL_MS);
  }
  return { size, elapsedMs: performance.now() - started };
}

async function antiEntropy(cluster: Cluster, options: ClusterOptions, result: PartResult): Promise<void> {
  const benchmark = 'anti-entropy round between 2 in-sync idle nodes';
  const goal = `1 round trip <= ${ANTI_ENTROPY_GOAL_BYTES} B`;
  try {
    await loadKeys(cluster[0]!.port, IDLE_CLUSTER_KEYS, 100);
    const settled = await waitForDbSize(cluster[1]!, IDLE_CLUSTER_KEYS, REPLICAS_SETTLE_TIMEOUT_MS);
    if (settled.size < IDLE_CLUSTER_KEYS) throw new Error(`node 2 holds ${settled.size} of ${IDLE_CLUSTER_KEYS} keys: not in sync`);
    console.log(`\nanti-entropy: 2 nodes in sync with ${formatCount(IDLE_CLUSTER_KEYS)} keys; watching INFO counters for ${options.antiEntropySeconds} s`);
    const cost = await measureAntiEntropyCost([cluster[0]!, cluster[1]!], options.antiEntropySeconds);
    const summary = `${cost.messagesPerRound.toFixed(1)} messages, ${cost.bytesPerRound.toFixed(0)} B per round (all link traffic incl. heartbeats: ${cost.linkBytesPerRound.toFixed(0)} B per round)`;
    console.log(`  ${cost.rounds} rounds (${cost.roundCounter}); ${summary}`);
    result.rows.push({
      benchmark,
      result: `${summary}, ${cost.rounds} rounds in ${cost.windowSeconds} s`,
      goal,
      met: cost.messagesPerRound <= 2 && cost.bytesPerRound <= ANTI_ENTROPY_GOAL_BYTES,
    });
    result.notes.push(`anti-entropy: deltas of INFO ${cost.messagesCounter}, ${cost.bytesCounter} (the node's own estimate), ${cost.linkBytesCounter} summed over both nodes in ${cost.windowSeconds} s, divided by the pair's rounds (max of ${cost.roundCounter} per node)`);
  } catch (error) {
    const reason = errorMessage(error) + (await diagnose(cluster));
    console.log(`skipped: anti-entropy: ${reason}`);
    result.rows.push(skippedRow(benchmark, goal, reason));
  }
}

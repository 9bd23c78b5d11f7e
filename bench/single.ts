// Single-node benchmark (issue 2): redis-benchmark against redis-server, peerkv and a
// minimal Node.js RESP server (the runtime's ceiling: bench/node-baseline-server.ts),
// interleaved, best round per target; then memory after loading 1,000,000 keys.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorMessage, formatCount, formatMiB, formatRatio, markdownTable } from './format.js';
import { loadKeys } from './loader.js';
import { readProcessRss } from './processes.js';
import { findCpuProfiles, topSelfTime } from './profile.js';
import { runRedisBenchmark, type BenchmarkRow } from './redis-benchmark.js';
import { readDbSize, readInfo } from './resp-client.js';
import { REPOSITORY_ROOT, diagnose, findBun, startNodeBaseline, startPeerkv, startRedis, stopServer, type Server } from './servers.js';
import { skippedRow, type PartResult } from './summary.js';

export interface SingleOptions {
  /** redis-benchmark -n */
  readonly requests: number;
  /** Interleaved rounds per target and pipeline depth. */
  readonly rounds: number;
  /** Keys loaded for the memory comparison. */
  readonly memoryKeys: number;
  readonly stub: boolean;
  /** Run the throughput peerkv node under node --cpu-prof and print its top functions. */
  readonly profile: boolean;
}

const PIPELINE_DEPTHS = [1, 16] as const;
const VALUE_BYTES = 100;
/** Goals of issue 2: peerkv/redis throughput per pipeline depth. */
const RATIO_GOAL_BY_PIPELINE: Readonly<Record<number, number>> = { 1: 1.0, 16: 0.75 };
const PROFILE_TOP_COUNT = 10;

export function benchmarkArgs(requests: number, pipeline: number): string[] {
  const args = ['-t', 'set,get', '-c', '50', '-d', String(VALUE_BYTES), '-r', '100000', '-n', String(requests)];
  return pipeline > 1 ? [...args, '-P', String(pipeline)] : args;
}

export async function runSingle(options: SingleOptions): Promise<PartResult> {
  const result: PartResult = { rows: [], notes: [] };
  console.log('\n## Single node: peerkv vs redis-server\n');
  await runThroughput(options, result);
  await runMemory(options, result);
  return result;
}

async function runThroughput(options: SingleOptions, result: PartResult): Promise<void> {
  const profileDir = options.profile ? mkdtempSync(join(tmpdir(), 'peerkv-bench-profile-')) : undefined;
  const servers: Server[] = [];
  try {
    servers.push(await startRedis('redis'));
    servers.push(await startPeerkv({
      name: 'peerkv', stub: options.stub, nodeFlags: profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
    }));
    servers.push(await startNodeBaseline('node-baseline'));
    // The same node and baseline on Bun when a Bun binary is here (findBun): the Bun rows.
    const bun = options.stub ? undefined : findBun();
    if (bun !== undefined) {
      servers.push(await startPeerkv({ name: 'peerkv-bun', runtime: bun }));
      servers.push(await startNodeBaseline('baseline-bun', bun));
    } else {
      result.notes.push('Bun rows skipped: no Bun binary (set PEERKV_BENCH_BUN, put bun on the PATH, or `npm install --no-save bun`)');
    }
  } catch (error) {
    const reason = `a server did not start: ${errorMessage(error)}`;
    console.log(`skipped: ${reason}`);
    result.rows.push(skippedRow('SET/GET throughput vs redis', '>= 1.0x, >= 0.75x with -P 16', reason));
    for (const server of servers) await stopServer(server);
    return;
  }
  try {
    const table: string[][] = [];
    const baselineRatios: string[] = [];
    for (const pipeline of PIPELINE_DEPTHS) {
      const best = await interleavedRounds(servers, benchmarkArgs(options.requests, pipeline), options.rounds);
      for (const [test, rps] of best) {
        const [redisRps, peerkvRps, baselineRps] = servers.map((server) => rps.get(server.name) ?? 0) as [number, number, number];
        const ratio = peerkvRps / redisRps;
        const baselineRatio = formatRatio(baselineRps / redisRps);
        const goal = RATIO_GOAL_BY_PIPELINE[pipeline]!;
        const label = `${test}${pipeline > 1 ? ` -P ${pipeline}` : ''}`;
        table.push([label, formatCount(redisRps), formatCount(peerkvRps), formatRatio(ratio), `>= ${goal.toFixed(2)}x`, formatCount(baselineRps), baselineRatio]);
        baselineRatios.push(`${label} ${baselineRatio}`);
        result.rows.push({
          benchmark: `${label} (rps peerkv / redis)`,
          result: `${formatCount(peerkvRps)} / ${formatCount(redisRps)} = ${formatRatio(ratio)} (Node baseline ${baselineRatio})`,
          goal: `>= ${goal.toFixed(2)}x`,
          met: ratio >= goal,
        });
        const bunRps = rps.get('peerkv-bun');
        const bunBaselineRps = rps.get('baseline-bun');
        if (bunRps !== undefined && bunBaselineRps !== undefined) {
          table.push([`${label} on Bun`, formatCount(redisRps), formatCount(bunRps), formatRatio(bunRps / redisRps), 'report', formatCount(bunBaselineRps), formatRatio(bunBaselineRps / redisRps)]);
          result.rows.push({
            benchmark: `${label} on Bun (rps peerkv / redis)`,
            result: `${formatCount(bunRps)} / ${formatCount(redisRps)} = ${formatRatio(bunRps / redisRps)} (Bun baseline ${formatRatio(bunBaselineRps / redisRps)}; peerkv Bun / Node ${formatRatio(bunRps / peerkvRps)})`,
            goal: 'report',
            met: undefined,
          });
        }
      }
    }
    console.log(`\nbest of ${options.rounds} interleaved rounds per target (requests/s):\n`);
    console.log(markdownTable(['test', 'redis rps', 'peerkv rps', 'peerkv/redis', 'goal', 'Node baseline rps', 'baseline/redis'], table));
    result.notes.push(
      `throughput: redis-benchmark ${benchmarkArgs(options.requests, 1).join(' ')} [-P 16], best of ${options.rounds} rounds, redis, peerkv and the Node baseline interleaved`,
      `Node baseline (bench/node-baseline-server.ts: SET/GET on a Map, one write per chunk, no durability) / redis, same run: ${baselineRatios.join(', ')}: the ceiling of a Node.js server on this machine`,
    );
  } catch (error) {
    const reason = errorMessage(error) + (await diagnose(servers));
    console.log(`skipped: throughput run failed: ${reason}`);
    result.rows.push(skippedRow('SET/GET throughput vs redis', '>= 1.0x, >= 0.75x with -P 16', reason));
  } finally {
    for (const server of servers) await stopServer(server);
  }
  if (profileDir !== undefined) printProfile(profileDir);
}

/** Runs the same redis-benchmark on each server in turn, round after round; the best rps per test and server name. */
async function interleavedRounds(servers: readonly Server[], args: string[], rounds: number): Promise<Map<string, Map<string, number>>> {
  const best = new Map<string, Map<string, number>>();
  const keep = (rows: BenchmarkRow[], name: string) => {
    for (const row of rows) {
      const entry = best.get(row.test) ?? new Map<string, number>();
      entry.set(name, Math.max(entry.get(name) ?? 0, row.requestsPerSecond));
      best.set(row.test, entry);
    }
  };
  for (let round = 1; round <= rounds; round++) {
    for (const server of servers) {
      const rows = await runRedisBenchmark(server.port, args);
      const shown = rows.map((row) => `${row.test} ${formatCount(row.requestsPerSecond)}/s (p50 ${row.p50LatencyMs} ms)`).join(', ');
      console.log(`round ${round} ${server.name.padEnd(13)} ${args.includes('-P') ? '-P 16' : '     '}: ${shown}`);
      keep(rows, server.name);
    }
  }
  return best;
}

async function runMemory(options: SingleOptions, result: PartResult): Promise<void> {
  const benchmark = `RSS after ${formatCount(options.memoryKeys)} keys of ${VALUE_BYTES} B`;
  let redis: Server | undefined;
  let peerkv: Server | undefined;
  try {
    redis = await startRedis('redis-memory');
    peerkv = await startPeerkv({ name: 'peerkv-memory', stub: options.stub });
    const emptyRss = readProcessRss(peerkv.child.pid);
    console.log(`\nmemory: loading ${formatCount(options.memoryKeys)} distinct keys (${VALUE_BYTES}-byte values) into each, pipelined...`);
    for (const server of [redis, peerkv]) {
      const load = await loadKeys(server.port, options.memoryKeys, VALUE_BYTES);
      const rate = (load.keys / load.elapsedMs) * 1000;
      console.log(`  ${server.name}: ${formatCount(load.keys)} keys in ${(load.elapsedMs / 1000).toFixed(1)} s (${formatCount(rate)} keys/s), errors ${load.errors}${load.firstError === undefined ? '' : ` (${load.firstError})`}`);
      if (load.errors > 0) throw new Error(`${server.name} refused ${load.errors} writes: ${load.firstError}`);
    }
    const redisInfo = await readInfo(redis.port);
    const redisUsedRss = Number(redisInfo.get('used_memory_rss'));
    const redisProcess = readProcessRss(redis.child.pid);
    const peerkvProcess = readProcessRss(peerkv.child.pid);
    const sizes = [await readDbSize(redis.port), await readDbSize(peerkv.port)];
    const ratio = peerkvProcess.rssBytes / redisUsedRss;
    console.log(`\n${markdownTable(['target', 'DBSIZE', 'RSS', 'of which anon', 'of which file-backed'], [
      ['redis (used_memory_rss)', formatCount(sizes[0]!), formatMiB(redisUsedRss), formatMiB(redisProcess.anonBytes), formatMiB(redisProcess.fileBytes)],
      ['peerkv (VmRSS)', formatCount(sizes[1]!), formatMiB(peerkvProcess.rssBytes), formatMiB(peerkvProcess.anonBytes), formatMiB(peerkvProcess.fileBytes)],
    ])}`);
    console.log(`peerkv RSS when empty: ${formatMiB(emptyRss.rssBytes)}; ratio peerkv/redis: ${formatRatio(ratio)}`);
    result.rows.push({
      benchmark,
      result: `peerkv ${formatMiB(peerkvProcess.rssBytes)} (file-backed ${formatMiB(peerkvProcess.fileBytes)}) / redis ${formatMiB(redisUsedRss)} = ${formatRatio(ratio)}`,
      goal: 'report',
      met: undefined,
    });
    result.notes.push('memory: peerkv VmRSS from /proc (includes LMDB pages mapped from the page cache, shown as file-backed) vs redis INFO used_memory_rss');
  } catch (error) {
    const reason = errorMessage(error) + (await diagnose([redis, peerkv]));
    console.log(`skipped: memory: ${reason}`);
    result.rows.push(skippedRow(benchmark, 'report', reason));
  } finally {
    if (redis !== undefined) await stopServer(redis);
    if (peerkv !== undefined) await stopServer(peerkv);
  }
}

function printProfile(profileDir: string): void {
  const profiles = findCpuProfiles(profileDir);
  if (profiles.length === 0) {
    console.log(`\nprofile: no .cpuprofile in ${profileDir} (the node must exit cleanly on SIGTERM to write one)`);
    return;
  }
  console.log(`\nprofile of the peerkv node during the throughput runs (${profiles[0]}), top ${PROFILE_TOP_COUNT} by self time (% of busy main-thread time; idle left out):\n`);
  const rows = topSelfTime(profiles[0]!, REPOSITORY_ROOT, PROFILE_TOP_COUNT);
  console.log(markdownTable(['self ms', '% busy', 'function'], rows.map((row) => [row.selfMs.toFixed(0), row.percent.toFixed(1), row.location])));
}

// `node dist/bench/cluster-profile.js [requests] [catch-up keys]`: where a cluster spends CPU
// per replicated write. Three nodes under node --cpu-prof, redis-benchmark SET against node 1;
// prints the CPU time (user + system, from /proc) each node spent per SET, and the top
// functions by self time of the writer (node 1) and of a receiver (node 2). With a catch-up
// key count, also loads that many keys and profiles an empty node catching up. With
// PROFILE_DELAY=1, profiles the replication-delay run (paced SETs on node 1, keyspace
// notifications read on node 2) instead of redis-benchmark.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatCount, markdownTable } from './format.js';
import { loadKeys } from './loader.js';
import { freeUdpPort, installExitHandlers, sleep, stopEverything } from './processes.js';
import { findCpuProfiles, topSelfTime } from './profile.js';
import { runRedisBenchmark } from './redis-benchmark.js';
import { measureReplicationDelay, summarizeDelays } from './replication-delay.js';
import { readDbSize, readInfo } from './resp-client.js';
import { REPOSITORY_ROOT, startPeerkv, stopServer, type Server } from './servers.js';

const TOP_COUNT = 25;
const CLOCK_TICKS_PER_SECOND = 100;

/** User + system CPU seconds a process has used so far (/proc/<pid>/stat fields 14 and 15). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

async function waitFormed(cluster: readonly Server[]): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const infos = await Promise.all(cluster.map((server) => readInfo(server.port)));
    if (infos.every((info) => Number(info.get('members_alive')) >= cluster.length)) return;
    await sleep(200);
  }
  throw new Error('cluster did not form');
}

function printTop(label: string, dir: string): void {
  const profiles = findCpuProfiles(dir);
  if (profiles.length === 0) {
    console.log(`${label}: no profile in ${dir}`);
    return;
  }
  console.log(`\n${label} (${profiles[0]}), top ${TOP_COUNT} by self time (% of busy main-thread time):\n`);
  const rows = topSelfTime(profiles[0]!, REPOSITORY_ROOT, TOP_COUNT);
  console.log(markdownTable(['self ms', '% busy', 'function'], rows.map((row) => [row.selfMs.toFixed(0), row.percent.toFixed(1), row.location])));
}

async function main(): Promise<void> {
  installExitHandlers();
  const requests = Number(process.argv[2] ?? 100_000);
  const catchUpKeys = Number(process.argv[3] ?? 0);
  const dirs = [0, 1, 2].map(() => mkdtempSync(join(tmpdir(), 'peerkv-cluster-profile-')));
  const discoveryPort = await freeUdpPort();
  const cluster: Server[] = [];
  try {
    for (let index = 0; index < 3; index++) {
      cluster.push(await startPeerkv({
        name: `profile-${index + 1}`, discoveryPort, joinTo: [...cluster],
        nodeFlags: index < 2 ? ['--cpu-prof', `--cpu-prof-dir=${dirs[index]}`] : [],
      }));
    }
    await waitFormed(cluster);
    if (process.env.PROFILE_DELAY === '1') {
      const before = cluster.map((server) => cpuSeconds(server.child.pid));
      const measured = await measureReplicationDelay(cluster[0]!.port, cluster[1]!.port, 10_000, 5, 1);
      const after = cluster.map((server) => cpuSeconds(server.child.pid));
      const summary = summarizeDelays(measured);
      console.log(`delay at 10,000/s: p50 ${summary.p50Ms.toFixed(2)} ms, p99 ${summary.p99Ms.toFixed(2)} ms, max ${summary.maxMs.toFixed(1)} ms; warm-up p50 ${measured.warmup?.p50Ms.toFixed(2)} ms; first second p50 ${measured.firstSecondP50Ms.toFixed(2)}, last ${measured.lastSecondP50Ms.toFixed(2)}`);
      console.log(`CPU s per node over the run: ${cluster.map((server, index) => `${server.name} ${(after[index]! - before[index]!).toFixed(2)}`).join(', ')}`);
    } else {
      await throughputAndCatchUp(cluster, requests, catchUpKeys);
    }
  } finally {
    for (const server of cluster) await stopServer(server);
    await stopEverything();
  }
  printTop('node 1 (writer)', dirs[0]!);
  printTop('node 2 (receiver)', dirs[1]!);
}

async function throughputAndCatchUp(cluster: readonly Server[], requests: number, catchUpKeys: number): Promise<void> {
  {
    const args = ['-t', 'set', '-c', '50', '-d', '100', '-r', '100000', '-n', String(requests)];
    await runRedisBenchmark(cluster[0]!.port, ['-t', 'set', '-c', '50', '-d', '100', '-r', '100000', '-n', String(Math.min(requests, 20_000))]);
    await sleep(500);
    const before = cluster.map((server) => cpuSeconds(server.child.pid));
    const rows = await runRedisBenchmark(cluster[0]!.port, args);
    await sleep(500);
    const after = cluster.map((server) => cpuSeconds(server.child.pid));
    console.log(`SET on node 1 of 3: ${formatCount(rows[0]!.requestsPerSecond)} rps (redis-benchmark ${args.join(' ')})`);
    console.log(markdownTable(['node', 'CPU s', 'CPU us per SET'], cluster.map((server, index) => {
      const seconds = after[index]! - before[index]!;
      return [server.name, seconds.toFixed(2), ((seconds * 1e6) / requests).toFixed(1)];
    })));
    if (catchUpKeys > 0) {
      await loadKeys(cluster[0]!.port, catchUpKeys, 100);
      const target = await readDbSize(cluster[0]!.port);
      while ((await readDbSize(cluster[1]!.port)) < target) await sleep(100);
      const joinerDir = mkdtempSync(join(tmpdir(), 'peerkv-cluster-profile-'));
      const started = performance.now();
      const joiner = await startPeerkv({ name: 'profile-joiner', joinTo: cluster.slice(0, 2), nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${joinerDir}`] });
      const ready = performance.now();
      let size = 0;
      while ((size = await readDbSize(joiner.port).catch(() => 0)) < target) await sleep(50);
      const seconds = (performance.now() - ready) / 1000;
      console.log(`\ncatch-up: ${formatCount(size)} keys in ${seconds.toFixed(2)} s after PONG (${((ready - started) / 1000).toFixed(1)} s to PONG) = ${formatCount(size / seconds)} keys/s; joiner CPU ${cpuSeconds(joiner.child.pid).toFixed(2)} s`);
      await stopServer(joiner);
      printTop('joiner during catch-up', joinerDir);
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

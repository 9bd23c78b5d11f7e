// The write path's cost budget (issue 12): microseconds of main-thread CPU per SET (and per
// GET, the reference) spent in each stage of the path, beside the Node baseline server's
// total. Method: the node and the baseline run under `node --cpu-prof` (sampling every
// PROFILE_INTERVAL_US); redis-benchmark drives one command at a time (-P 16, then -P 1); each
// run's samples (cut out of the profile by time) go to stages by their stack: the innermost
// frame a stage rule names decides (bench/budget-stages.ts); idle samples (the event loop
// waiting) are left out. The total per command is the main thread's CPU time over the run
// from /proc (utime + stime) divided by the requests, and each stage gets its share of the
// busy samples of it, so the stages add up to that total. A sample weighs the time since the
// previous one, at most two intervals: V8 samples by wall time, and a sample taken after the
// thread was preempted (a loaded machine) or blocked would otherwise stand for that whole
// gap. (The profile's busy wall time is printed as a check.)
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STAGES, stageOfStack, type Stage } from './budget-stages.js';
import { formatCount, markdownTable } from './format.js';
import { findCpuProfiles } from './profile.js';
import { runRedisBenchmark } from './redis-benchmark.js';
import { REPOSITORY_ROOT, startNodeBaseline, startPeerkv, stopServer, type Server } from './servers.js';
import type { PartResult } from './summary.js';
import { processCpuUs, threadCpuUs } from './processes.js';

export interface BudgetOptions {
  /** redis-benchmark -n per measured run. */
  readonly requests: number;
  /** Measured runs per command and pipeline depth (their samples add up). */
  readonly rounds: number;
}

/** Sampling interval of the CPU profiles (us): 10x V8's default, for enough samples per stage. */
const PROFILE_INTERVAL_US = 100;
/** The most one sample weighs in a stage's share (a longer gap is time the thread did not run). */
const SAMPLE_WEIGHT_US_MAX = 2 * PROFILE_INTERVAL_US;
const VALUE_BYTES = 100;
/** Runs before measuring: the JIT settles, and GET finds keys SET wrote. */
const WARMUP_REQUESTS = 100_000;

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** One measured run: its time window (us, CLOCK_MONOTONIC like V8's profile clock) and requests. */
interface Window {
  readonly test: string;
  readonly startUs: number;
  readonly endUs: number;
  readonly requests: number;
  /** Main-thread CPU from /proc over the window (us). */
  readonly threadCpuUs: number;
  /** CPU of all the process's threads over the window (us). */
  readonly processCpuUs: number;
}

interface Budget {
  readonly requests: number;
  readonly busyUs: number;
  /** Busy samples, each weighing at most SAMPLE_WEIGHT_US_MAX: what the stages share. */
  readonly weightUs: number;
  readonly threadCpuUs: number;
  readonly processCpuUs: number;
  readonly byStage: Map<Stage, number>;
  /** Self time per leaf frame, by stage: what a stage is made of (and rules 'other' lacks). */
  readonly frames: Map<Stage, Map<string, number>>;
}

const TESTS = [
  { label: 'SET -P 16', test: 'set', pipeline: 16 },
  { label: 'GET -P 16', test: 'get', pipeline: 16 },
  { label: 'SET', test: 'set', pipeline: 1 },
  { label: 'GET', test: 'get', pipeline: 1 },
] as const;

function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

function benchmarkArgs(test: string, pipeline: number, requests: number): string[] {
  const args = ['-t', test, '-c', '50', '-d', String(VALUE_BYTES), '-r', '100000', '-n', String(requests)];
  return pipeline > 1 ? [...args, '-P', String(pipeline)] : args;
}

async function measure(server: Server, label: string, test: string, pipeline: number, requests: number): Promise<Window> {
  const cpuBefore = threadCpuUs(server.child.pid);
  const processBefore = processCpuUs(server.child.pid);
  const startUs = monotonicUs();
  await runRedisBenchmark(server.port, benchmarkArgs(test, pipeline, requests));
  const endUs = monotonicUs();
  return { test: label, startUs, endUs, requests, threadCpuUs: threadCpuUs(server.child.pid) - cpuBefore, processCpuUs: processCpuUs(server.child.pid) - processBefore };
}

/** Attribute every busy sample of each window to a stage. */
function budgets(profilePath: string, windows: readonly Window[]): Map<string, Budget> {
  const profile = JSON.parse(readFileSync(profilePath, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const stageById = new Map<number, Stage | 'idle'>();
  const stageOf = (id: number): Stage | 'idle' => {
    let stage = stageById.get(id);
    if (stage !== undefined) return stage;
    const frames: { readonly functionName: string; readonly url: string }[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) frames.push(byId.get(at)!.callFrame);
    stage = frames[0]!.functionName === '(idle)' ? 'idle' : stageOfStack(frames, REPOSITORY_ROOT);
    stageById.set(id, stage);
    return stage;
  };
  const result = new Map<string, Budget>();
  for (const window of windows) {
    const budget = result.get(window.test) ?? { requests: 0, busyUs: 0, weightUs: 0, threadCpuUs: 0, processCpuUs: 0, byStage: new Map(), frames: new Map() };
    (budget as { requests: number }).requests += window.requests;
    (budget as { threadCpuUs: number }).threadCpuUs += window.threadCpuUs;
    (budget as { processCpuUs: number }).processCpuUs += window.processCpuUs;
    result.set(window.test, budget);
  }
  let timeUs = profile.startTime;
  for (let index = 0; index < profile.samples.length; index++) {
    const delta = profile.timeDeltas[index] ?? 0;
    timeUs += delta;
    const window = windows.find((candidate) => timeUs >= candidate.startUs && timeUs < candidate.endUs);
    if (window === undefined) continue;
    const id = profile.samples[index]!;
    const stage = stageOf(id);
    if (stage === 'idle') continue;
    const budget = result.get(window.test)!;
    (budget as { busyUs: number }).busyUs += delta;
    // A sample after a long gap stands for time the thread did not run (another process had
    // the CPU, or it waited in the kernel): it counts as one interval or two, not the gap.
    const weight = Math.min(delta, SAMPLE_WEIGHT_US_MAX);
    (budget as { weightUs: number }).weightUs += weight;
    budget.byStage.set(stage, (budget.byStage.get(stage) ?? 0) + weight);
    const frame = byId.get(id)!.callFrame;
    const name = `${frame.functionName || '(anonymous)'} ${frame.url.replace(`file://${REPOSITORY_ROOT}/`, '').replace(/^.*\/node_modules\//, '')}:${frame.lineNumber + 1}`;
    let frames = budget.frames.get(stage);
    if (frames === undefined) budget.frames.set(stage, (frames = new Map()));
    frames.set(name, (frames.get(name) ?? 0) + weight);
  }
  return result;
}

async function profileServer(
  start: (flags: string[]) => Promise<Server>,
  requests: number,
  rounds: number,
  tests: readonly (typeof TESTS)[number][],
): Promise<Map<string, Budget>> {
  const profileDir = mkdtempSync(join(tmpdir(), 'peerkv-budget-'));
  const server = await start(['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-interval=${PROFILE_INTERVAL_US}`]);
  const windows: Window[] = [];
  try {
    await runRedisBenchmark(server.port, benchmarkArgs('set,get', 16, WARMUP_REQUESTS));
    for (let round = 1; round <= rounds; round++) {
      for (const { label, test, pipeline } of tests) {
        const window = await measure(server, label, test, pipeline, requests);
        console.log(`  ${server.name} round ${round} ${label.padEnd(9)}: ${formatCount((requests / (window.endUs - window.startUs)) * 1e6)}/s`);
        windows.push(window);
      }
    }
  } finally {
    await stopServer(server);
  }
  const profiles = findCpuProfiles(profileDir);
  if (profiles.length === 0) throw new Error(`${server.name} wrote no CPU profile into ${profileDir} (it must exit cleanly on SIGTERM)`);
  return budgets(profiles[0]!, windows);
}

/** Stages whose top frames are printed. */
const STAGES_DETAILED: readonly Stage[] = ['LMDB read', 'keyspace/Merkle update', 'LMDB encode/put', 'commit wait/report', 'reply write', 'other'];

const perRequest = (us: number, requests: number): string => (requests === 0 ? 'n/a' : (us / requests).toFixed(2));
/** A stage's share of the busy samples, as CPU time (us) of the main thread. */
const cpuOf = (budget: Budget, stageUs: number): number => (budget.weightUs === 0 ? 0 : (stageUs / budget.weightUs) * budget.threadCpuUs);

export async function runBudget(options: BudgetOptions): Promise<PartResult> {
  const result: PartResult = { rows: [], notes: [] };
  console.log('\n## Write-path cost budget: us of main-thread CPU per command, by stage\n');
  const peerkv = await profileServer((flags) => startPeerkv({ name: 'peerkv-budget', nodeFlags: flags }), options.requests, options.rounds, TESTS);
  const baseline = await profileServer((flags) => startNodeBaseline('baseline-budget', process.execPath, flags), options.requests, options.rounds, TESTS);
  const labels = TESTS.map((entry) => entry.label);
  const rows: string[][] = [];
  for (const stage of STAGES) {
    if (labels.every((label) => (peerkv.get(label)!.byStage.get(stage.name) ?? 0) === 0)) continue;
    rows.push([stage.name, ...labels.map((label) => perRequest(cpuOf(peerkv.get(label)!, peerkv.get(label)!.byStage.get(stage.name) ?? 0), peerkv.get(label)!.requests))]);
  }
  rows.push(['**total: main thread CPU (/proc)**', ...labels.map((label) => `**${perRequest(peerkv.get(label)!.threadCpuUs, peerkv.get(label)!.requests)}**`)]);
  rows.push(['(profile busy time, wall)', ...labels.map((label) => perRequest(peerkv.get(label)!.busyUs, peerkv.get(label)!.requests))]);
  rows.push(['**Node baseline total (/proc)**', ...labels.map((label) => `**${perRequest(baseline.get(label)!.threadCpuUs, baseline.get(label)!.requests)}**`)]);
  rows.push(['(Node baseline profile busy time)', ...labels.map((label) => perRequest(baseline.get(label)!.busyUs, baseline.get(label)!.requests))]);
  rows.push(['peerkv / baseline (CPU per command)', ...labels.map((label) => (peerkv.get(label)!.threadCpuUs / peerkv.get(label)!.requests / (baseline.get(label)!.threadCpuUs / baseline.get(label)!.requests)).toFixed(2) + 'x')]);
  // The main thread is not all: lmdb-js commits on libuv's pool and V8 collects on helper
  // threads, CPU that the 2 cores share with the main thread and redis-benchmark.
  rows.push(['peerkv, all threads (/proc)', ...labels.map((label) => perRequest(peerkv.get(label)!.processCpuUs, peerkv.get(label)!.requests))]);
  rows.push(['Node baseline, all threads (/proc)', ...labels.map((label) => perRequest(baseline.get(label)!.processCpuUs, baseline.get(label)!.requests))]);
  rows.push(['peerkv / baseline (all threads)', ...labels.map((label) => (peerkv.get(label)!.processCpuUs / peerkv.get(label)!.requests / (baseline.get(label)!.processCpuUs / baseline.get(label)!.requests)).toFixed(2) + 'x')]);
  console.log(`\nus per command (redis-benchmark -c 50 -d ${VALUE_BYTES} -r 100000 -n ${options.requests}, ${options.rounds} runs each; CPU profile every ${PROFILE_INTERVAL_US} us):\n`);
  console.log(markdownTable(['stage', ...labels], rows));
  for (const label of ['SET -P 16', 'SET']) {
    const budget = peerkv.get(label)!;
    console.log(`\n${label}, top leaf frames of the biggest stages (us per command):`);
    for (const stage of STAGES_DETAILED) {
      const top = [...(budget.frames.get(stage)?.entries() ?? [])].sort((a, b) => b[1] - a[1]).slice(0, 4);
      if (top.length > 0) console.log(`- ${stage}: ${top.map(([name, us]) => `${name} ${perRequest(cpuOf(budget, us), budget.requests)}`).join('; ')}`);
    }
  }
  for (const label of labels) {
    const set = peerkv.get(label)!;
    const base = baseline.get(label)!;
    result.rows.push({
      benchmark: `${label}: us of CPU per command, peerkv / Node baseline, main thread (all threads)`,
      result: `${perRequest(set.threadCpuUs, set.requests)} / ${perRequest(base.threadCpuUs, base.requests)} (${perRequest(set.processCpuUs, set.requests)} / ${perRequest(base.processCpuUs, base.requests)})`,
      goal: 'report',
      met: undefined,
    });
  }
  result.notes.push(`budget: total = the main thread's CPU time (/proc) per command, all threads = the whole process's (lmdb-js's writer in libuv's pool, V8's GC helpers, and the profiler's sampling thread, in both columns); stages = its shares of a CPU profile sampled every ${PROFILE_INTERVAL_US} us (bench/budget-stages.ts: the innermost frame a stage names decides); the profiler itself costs some of it. V8's sampler counts wall time, so time the thread was preempted or blocked goes to the native call it was in: on 2 CPUs it overstates native stages (LMDB read: 7.8 us here against ~2 us of B-tree search in 'perf record -t' of the same load, session 12); the totals are CPU time`);
  return result;
}

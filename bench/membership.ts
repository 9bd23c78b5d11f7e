// `node dist/bench/membership.js [--quick] [--soak-minutes N] [--only PART,...]`: the
// membership figures of issue 3 on real `bin/peerkv start` processes over loopback,
// then a Markdown block for the README. runMembership() is the hook for bench/run.ts.
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { markdownTable, percentile } from './format.js';
import { measureConvergence, measureDetection, measureIdle, measureSoak, type ConvergenceTrial, type DetectionTrial, type IdleTraffic, type SoakResult } from './membership-measure.js';
import { installExitHandlers, killEverything } from './membership-nodes.js';
import type { PartResult, SummaryRow } from './summary.js';

/** Full-run sizes from issue 3 (and the brief); --quick shrinks them for development. */
export const MEMBERSHIP_FULL = { convergenceTrials: 3, detectionTrials: 20, soakMinutes: 10, idleSeconds: 30 };
export const MEMBERSHIP_QUICK = { convergenceTrials: 1, detectionTrials: 5, soakMinutes: 1, idleSeconds: 10 };
/** Issue 3: on a LAN a kill -9 is declared dead within 3 s. */
const DETECTION_GOAL_MS = 3_000;
const SOAK_NODES = 5;
const SOAK_WRITES_PER_SECOND = 2_000;
const IDLE_NODES = 3;
const PARTS = ['converge', 'detect', 'idle', 'soak'] as const;
type Part = (typeof PARTS)[number];

export interface MembershipOptions {
  readonly convergenceTrials: number;
  readonly detectionTrials: number;
  readonly soakMinutes: number;
  readonly idleSeconds: number;
  readonly parts?: readonly Part[];
  /** Progress lines (default: console.log). */
  readonly log?: (line: string) => void;
}

const ms = (value: number) => (Number.isFinite(value) ? `${Math.round(value)} ms` : 'n/a');
const median = (values: readonly number[]) => percentile([...values].sort((a, b) => a - b), 0.5);
const maximum = (values: readonly number[]) => (values.length === 0 ? Number.NaN : Math.max(...values));

function convergenceRows(trials: readonly ConvergenceTrial[], count: number): SummaryRow[] {
  const mine = trials.filter((trial) => trial.nodes === count);
  const spawn = mine.map((trial) => trial.spawnToConvergedMs);
  const ready = mine.map((trial) => trial.lastReadyToConvergedMs);
  const startUp = mine.map((trial) => trial.spawnToLastReadyMs);
  const over = `median of ${mine.length}, max ${ms(maximum(spawn))} / ${ms(maximum(ready))}`;
  return [
    {
      benchmark: `${count} nodes see each other (spawn -> all members_alive=${count})`,
      result: `${ms(median(spawn))} (of which process start-up ${ms(median(startUp))}); ${over}`,
      goal: '-',
      met: undefined,
    },
    { benchmark: `${count} nodes: last 'peerkv ready' -> converged`, result: ms(median(ready)), goal: '-', met: undefined },
  ];
}

function detectionRows(trials: readonly DetectionTrial[]): SummaryRow[] {
  const all = trials.map((trial) => trial.allDeadMs);
  const sorted = [...all].sort((a, b) => a - b);
  return [
    {
      benchmark: `kill -9 of 1 of 3 -> both others show it dead (${trials.length} trials)`,
      result: `p50 ${ms(percentile(sorted, 0.5))}, max ${ms(maximum(all))} (suspect after p50 ${ms(median(trials.map((trial) => trial.firstSuspectMs)))})`,
      goal: `< ${DETECTION_GOAL_MS} ms`,
      met: trials.length > 0 && maximum(all) < DETECTION_GOAL_MS,
    },
    { benchmark: 'restart after kill -9 -> alive on all 3', result: `p50 ${ms(median(trials.map((trial) => trial.restartToAliveMs)))}`, goal: '-', met: undefined },
  ];
}

function soakRows(soak: SoakResult): SummaryRow[] {
  const achieved = soak.writer.sent / (soak.writer.elapsedMs / 1000);
  return [
    {
      benchmark: `false deaths, ${soak.nodes} nodes, ${soak.seconds / 60} min, ${soak.ratePerSecond} SET/s (nothing killed)`,
      result: `${soak.during.deaths} deaths, ${soak.during.suspicions} suspicions (${soak.during.suspicionsRefuted} refuted); dead seen in ${soak.samplesWithDead}/${soak.samples} 1 s samples`,
      goal: '0 deaths',
      met: soak.during.deaths === 0 && soak.samplesWithDead === 0,
    },
    {
      benchmark: 'soak write load',
      result: `${Math.round(achieved)} SET/s achieved, ${soak.writer.ok} OK, ${soak.writer.errors} errors, ${soak.writer.skipped} skipped`,
      goal: '-',
      met: undefined,
    },
  ];
}

function idleRows(idle: IdleTraffic): SummaryRow[] {
  return [
    {
      benchmark: `idle traffic per node (${idle.nodes} nodes, ${Math.round(idle.seconds)} s)`,
      result:
        `TCP ${idle.peerFramesPerSecond.toFixed(1)} frames/s, ${Math.round(idle.peerBytesPerSecond)} B/s; ` +
        `UDP ${idle.datagramsPerSecond.toFixed(2)} datagrams/s, ~${Math.round(idle.datagramBytesPerSecond)} B/s (${Math.round(idle.datagramBytesMean)} B each)`,
      goal: '-',
      met: undefined,
    },
  ];
}

export async function runMembership(options: MembershipOptions): Promise<PartResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const parts = new Set(options.parts ?? PARTS);
  const rows: SummaryRow[] = [];
  const notes: string[] = [];
  if (parts.has('converge')) {
    const trials: ConvergenceTrial[] = [];
    for (const count of [3, 10]) {
      for (let trial = 0; trial < options.convergenceTrials; trial++) {
        const result = await measureConvergence(count);
        trials.push(result);
        log(`converge ${count} nodes #${trial + 1}: spawn->converged ${ms(result.spawnToConvergedMs)}, spawn->last ready ${ms(result.spawnToLastReadyMs)}, last ready->converged ${ms(result.lastReadyToConvergedMs)}`);
      }
      rows.push(...convergenceRows(trials, count));
    }
    notes.push('Convergence: all nodes spawned at once with one fresh discovery port, no --join; INFO cluster polled every 25 ms.');
  }
  if (parts.has('detect')) {
    const trials = await measureDetection(options.detectionTrials, (trial, index) =>
      log(`kill -9 #${index + 1}: suspect ${ms(trial.firstSuspectMs)}, first dead ${ms(trial.firstDeadMs)}, both dead ${ms(trial.allDeadMs)}, restart->alive ${ms(trial.restartToAliveMs)}`),
    );
    rows.push(...detectionRows(trials));
    notes.push('Detection: survivors polled every 20 ms, so figures include up to ~20 ms of polling delay; the victim rotates and restarts with the same data dir and ports.');
  }
  if (parts.has('idle')) {
    const idle = await measureIdle(IDLE_NODES, options.idleSeconds);
    log(`idle: ${JSON.stringify(idle)}`);
    rows.push(...idleRows(idle));
    notes.push('Idle traffic: counter deltas (peer_frames_out, peer_bytes_out, discovery_sent) after a 5 s settle; TCP bytes are frame bytes without TCP/IP headers; UDP bytes are payload sizes heard on the discovery port.');
  }
  if (parts.has('soak')) {
    const soak = await measureSoak(SOAK_NODES, options.soakMinutes * 60, SOAK_WRITES_PER_SECOND, log);
    log(`soak: ${JSON.stringify(soak)}`);
    rows.push(...soakRows(soak));
    notes.push(`Soak: a paced writer spreads SETs round-robin over the ${SOAK_NODES} nodes; every node's member lines sampled each second; counters summed over nodes from convergence to the end.`);
  }
  return { rows, notes };
}

function usage(): string {
  return `usage: node dist/bench/membership.js [--quick] [--soak-minutes N] [--only ${PARTS.join(',')}]
  --quick          ${MEMBERSHIP_QUICK.convergenceTrials} convergence trial, ${MEMBERSHIP_QUICK.detectionTrials} kill trials, ${MEMBERSHIP_QUICK.soakMinutes} min soak, ${MEMBERSHIP_QUICK.idleSeconds} s idle window
  --soak-minutes   soak length (default ${MEMBERSHIP_FULL.soakMinutes}, or ${MEMBERSHIP_QUICK.soakMinutes} with --quick)
  --only           comma-separated parts to run (default all)`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      'soak-minutes': { type: 'string' },
      only: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return (console.log(usage()), 0);
  const sizes = values.quick ? MEMBERSHIP_QUICK : MEMBERSHIP_FULL;
  const soakMinutes = values['soak-minutes'] !== undefined ? Number(values['soak-minutes']) : sizes.soakMinutes;
  const parts = values.only?.split(',') ?? [...PARTS];
  if (!(soakMinutes > 0) || parts.some((part) => !(PARTS as readonly string[]).includes(part))) {
    console.error(usage());
    return 2;
  }
  installExitHandlers();
  const loadAtStart = loadavg()[0]!;
  const startedMs = performance.now();
  const result = await runMembership({ ...sizes, soakMinutes, parts: parts as Part[] });
  const command = ['node dist/bench/membership.js', ...process.argv.slice(2)].join(' ');
  console.log(
    [
      '',
      '### Membership (issue 3)',
      '',
      `${new Date().toISOString().slice(0, 10)}, ${availableParallelism()} CPUs (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}, all nodes on one machine over loopback; load average ${loadAtStart.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at end (other work shared the CPUs).`,
      `Command: \`${command}\` (took ${Math.round((performance.now() - startedMs) / 1000)} s).`,
      '',
      markdownTable(['measurement', 'result', 'goal', ''], result.rows.map((row) => [row.benchmark, row.result, row.goal, row.met === undefined ? '-' : row.met ? 'met' : 'MISSED'])),
      '',
      ...result.notes.map((note) => `- ${note}`),
    ].join('\n'),
  );
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => {
      killEverything();
      process.exitCode = code;
    },
    (error: unknown) => {
      killEverything();
      console.error(`bench membership: ${error instanceof Error ? error.stack : String(error)}`);
      process.exitCode = 1;
    },
  );
}

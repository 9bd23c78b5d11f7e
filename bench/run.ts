// `npm run bench [-- --only single|types|big|cluster|scripting|membership|budget] [--quick] [--profile] [--stub]`: peerkv
// side by side with redis-server (issue 2), the cluster figures (issue 4), and on request the
// membership figures (issue 3, with a 10-minute soak) or the write path's cost budget (issue 12),
// then a Markdown summary.
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { runBudget } from './budget.js';
import { BIG_FULL, BIG_QUICK, runBigCollections } from './big-collections.js';
import { runCluster } from './cluster.js';
import { MEMBERSHIP_FULL, MEMBERSHIP_QUICK, runMembership } from './membership.js';
import { formatCount, markdownTable, verdict } from './format.js';
import { installExitHandlers, stopEverything } from './processes.js';
import { redisServerVersion } from './servers.js';
import { runSingle } from './single.js';
import { runScripting } from './scripting.js';
import { runTypes } from './types.js';
import type { PartResult } from './summary.js';

/** Full-run sizes from the issues; --quick shrinks them for development. */
const FULL = { requests: 200_000, rounds: 3, memoryKeys: 1_000_000, catchUpKeys: 1_000_000, delaySeconds: 5, antiEntropySeconds: 30, scanFields: 1_000_000 };
const QUICK = { requests: 20_000, rounds: 2, memoryKeys: 100_000, catchUpKeys: 100_000, delaySeconds: 2, antiEntropySeconds: 12, scanFields: 100_000 };

const USAGE = `usage: npm run bench -- [--only single|types|big|cluster|scripting|membership|budget] [--quick] [--profile] [--stub]
  --only     run one part (default single, types, big, cluster and scripting; membership (10-minute soak) and budget (CPU
             per command by stage, under --cpu-prof) run only when named)
  --quick    smaller runs (-n ${QUICK.requests}, ${formatCount(QUICK.memoryKeys)} keys) for development
  --profile  run the single-node peerkv under node --cpu-prof and print its top functions
  --stub     stand redis-server in for peerkv (harness development only; figures mean nothing)`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      stub: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.only !== undefined && !['single', 'types', 'big', 'cluster', 'scripting', 'membership', 'budget'].includes(values.only)) {
    console.error(`bench: --only must be single, types, big, cluster, scripting, membership or budget, got ${values.only}\n${USAGE}`);
    return 2;
  }
  installExitHandlers();
  const sizes = values.quick ? QUICK : FULL;
  const startedMs = performance.now();
  const loadAtStart = loadavg()[0]!;
  if (loadAtStart > availableParallelism() / 2) {
    console.log(`warning: load average ${loadAtStart.toFixed(1)} on ${availableParallelism()} CPUs: other work competes with the servers, figures will be noisy`);
  }
  const parts: PartResult[] = [];
  try {
    if (values.only === undefined || values.only === 'single') {
      parts.push(await runSingle({ ...sizes, stub: values.stub, profile: values.profile }));
    }
    if (values.only === undefined || values.only === 'types') {
      parts.push(await runTypes({ ...sizes, stub: values.stub }));
    }
    if (values.only === undefined || values.only === 'big') {
      parts.push(await runBigCollections({ ...(values.quick ? BIG_QUICK : BIG_FULL), stub: values.stub }));
    }
    if (values.only === undefined || values.only === 'cluster') {
      parts.push(await runCluster({ ...sizes, stub: values.stub }));
    }
    if (values.only === undefined || values.only === 'scripting') {
      parts.push(await runScripting({ ...sizes, stub: values.stub }));
    }
    if (values.only === 'membership') {
      parts.push(await runMembership(values.quick ? MEMBERSHIP_QUICK : MEMBERSHIP_FULL));
    }
    if (values.only === 'budget') {
      parts.push(await runBudget({ requests: sizes.requests, rounds: sizes.rounds }));
    }
  } finally {
    await stopEverything();
  }
  const command = ['npm run bench', ...process.argv.slice(2).length > 0 ? ['--', ...process.argv.slice(2)] : []].join(' ');
  printSummary(parts, command, values.stub, (performance.now() - startedMs) / 1000, loadAtStart);
  return 0;
}

function printSummary(parts: readonly PartResult[], command: string, stub: boolean, elapsedSeconds: number, loadAtStart: number): void {
  const rows = parts.flatMap((part) => part.rows);
  const notes = parts.flatMap((part) => part.notes);
  const cpuModel = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const lines = [
    '',
    '## Benchmarks',
    '',
    `${new Date().toISOString().slice(0, 10)}, ${availableParallelism()} CPUs (${cpuModel}), Node ${process.version}, redis-server ${redisServerVersion()}, all processes on one machine over loopback (load average at start ${loadAtStart.toFixed(1)}).`,
    `Command: \`${command}\` (took ${elapsedSeconds.toFixed(0)} s).`,
    ...(stub ? ['', '**STUB RUN: redis-server stood in for peerkv; these figures say nothing about peerkv.**'] : []),
    '',
    markdownTable(['benchmark', 'result', 'goal', ''], rows.map((row) => [row.benchmark, row.result, row.goal, verdict(row.met)])),
    '',
    ...notes.map((note) => `- ${note}`),
  ];
  console.log(lines.join('\n'));
}

main().then(
  (code) => { process.exitCode = code; },
  (error) => {
    console.error(`bench: ${error instanceof Error ? error.stack : String(error)}`);
    process.exitCode = 1;
  },
);

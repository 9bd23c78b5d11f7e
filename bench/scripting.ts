// Scripting benchmark (issue 15): EVALSHA of `return redis.call('INCR', KEYS[1])` against a
// plain INCR on the same node (goal: at least half its throughput), and a script of ten
// calls (five INCRs, five GETs) against ten pipelined commands' worth of work, each beside
// redis-server in the same interleaved rounds.
import { createHash } from 'node:crypto';
import { errorMessage, formatCount, formatRatio, markdownTable } from './format.js';
import { runRedisBenchmark } from './redis-benchmark.js';
import { RespConnection } from './resp-client.js';
import { diagnose, startPeerkv, startRedis, stopServer, type Server } from './servers.js';
import { skippedRow, type PartResult } from './summary.js';

export interface ScriptingOptions {
  readonly requests: number;
  readonly rounds: number;
  readonly stub: boolean;
}

/** Goal of issue 15: EVALSHA of a one-INCR script at least this fraction of INCR's throughput. */
const EVALSHA_RATIO_GOAL = 0.5;
const INCR_SCRIPT = "return redis.call('INCR', KEYS[1])";
/** Ten calls: what a rate limiter or a job queue's script does in one run. */
const TEN_CALL_SCRIPT = [
  "local total = 0",
  "for i = 1, 5 do total = total + redis.call('INCR', KEYS[1]) end",
  "for i = 1, 5 do redis.call('GET', KEYS[1]) end",
  'return total',
].join('\n');
const KEY = 'counter:__rand_int__';

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

interface Test {
  readonly name: string;
  readonly command: readonly string[];
}

const TESTS: readonly Test[] = [
  { name: 'INCR', command: ['INCR', KEY] },
  { name: 'EVALSHA 1 call', command: ['EVALSHA', sha1(INCR_SCRIPT), '1', KEY] },
  { name: 'EVALSHA 10 calls', command: ['EVALSHA', sha1(TEN_CALL_SCRIPT), '1', KEY] },
];

function benchmarkArgs(requests: number, command: readonly string[]): string[] {
  return ['-c', '50', '-r', '100000', '-n', String(requests), ...command];
}

export async function runScripting(options: ScriptingOptions): Promise<PartResult> {
  const result: PartResult = { rows: [], notes: [] };
  console.log('\n## Scripting: EVALSHA against INCR\n');
  const servers: Server[] = [];
  try {
    servers.push(await startRedis('redis'));
    servers.push(await startPeerkv({ name: 'peerkv', stub: options.stub }));
    for (const server of servers) await loadScripts(server);
  } catch (error) {
    result.rows.push(skippedRow('EVALSHA / INCR', `>= ${EVALSHA_RATIO_GOAL}x`, `a server did not start: ${errorMessage(error)}`));
    for (const server of servers) await stopServer(server);
    return result;
  }
  try {
    const best = new Map<string, number>();
    for (let round = 1; round <= options.rounds; round++) {
      for (const server of servers) {
        const cells: string[] = [];
        for (const test of TESTS) {
          const [row] = await runRedisBenchmark(server.port, benchmarkArgs(options.requests, test.command));
          const id = `${server.name} ${test.name}`;
          best.set(id, Math.max(best.get(id) ?? 0, row!.requestsPerSecond));
          cells.push(`${test.name} ${formatCount(row!.requestsPerSecond)}/s`);
        }
        console.log(`round ${round} ${server.name.padEnd(7)}: ${cells.join(', ')}`);
      }
    }
    const rps = (server: string, test: string) => best.get(`${server} ${test}`) ?? 0;
    const table = TESTS.map((test) => [
      test.name,
      formatCount(rps('redis', test.name)),
      formatCount(rps('peerkv', test.name)),
      formatRatio(rps('peerkv', test.name) / rps('redis', test.name)),
      formatRatio(rps('peerkv', test.name) / rps('peerkv', 'INCR')),
    ]);
    console.log(`\nbest of ${options.rounds} interleaved rounds (requests/s):\n`);
    console.log(markdownTable(['test', 'redis rps', 'peerkv rps', 'peerkv/redis', 'peerkv test/INCR'], table));
    const ofIncr = rps('peerkv', 'EVALSHA 1 call') / rps('peerkv', 'INCR');
    result.rows.push({
      benchmark: 'EVALSHA of one INCR / INCR on peerkv (rps)',
      result: `${formatCount(rps('peerkv', 'EVALSHA 1 call'))} / ${formatCount(rps('peerkv', 'INCR'))} = ${formatRatio(ofIncr)} (redis ${formatRatio(rps('redis', 'EVALSHA 1 call') / rps('redis', 'INCR'))})`,
      goal: `>= ${EVALSHA_RATIO_GOAL.toFixed(2)}x`,
      met: ofIncr >= EVALSHA_RATIO_GOAL,
    });
    result.rows.push({
      benchmark: 'EVALSHA of a 10-call script on peerkv (rps)',
      result: `${formatCount(rps('peerkv', 'EVALSHA 10 calls'))} (redis ${formatCount(rps('redis', 'EVALSHA 10 calls'))}; peerkv/redis ${formatRatio(rps('peerkv', 'EVALSHA 10 calls') / rps('redis', 'EVALSHA 10 calls'))})`,
      goal: 'report',
      met: undefined,
    });
    result.notes.push(`scripting: redis-benchmark ${benchmarkArgs(options.requests, ['<command>']).join(' ')} for INCR and the two EVALSHAs; best of ${options.rounds} rounds, redis and peerkv interleaved`);
  } catch (error) {
    const reason = errorMessage(error) + (await diagnose(servers));
    console.log(`skipped: ${reason}`);
    result.rows.push(skippedRow('scripting', 'report', reason));
  } finally {
    for (const server of servers) await stopServer(server);
  }
  return result;
}

async function loadScripts(server: Server): Promise<void> {
  const connection = await RespConnection.connect(server.port);
  try {
    for (const script of [INCR_SCRIPT, TEN_CALL_SCRIPT]) {
      const reply = await connection.command('SCRIPT', 'LOAD', script);
      if (reply !== sha1(script)) throw new Error(`${server.name}: SCRIPT LOAD answered ${String(reply)}`);
    }
  } finally {
    connection.close();
  }
}

// Big-collection reads (issue 11): a sorted set of 1,000,000 members and a list of
// 1,000,000 elements, then ranges, ranks and tail reads timed one call at a time (median
// and p99 over CALLS calls), peerkv beside redis-server in the same run. Goal: ZRANGE of
// 100 members and LRANGE 0 99 below 1 ms; nothing here may walk the collection.
import { errorMessage, formatCount, formatMs, markdownTable, percentile } from './format.js';
import { loadCommands } from './loader.js';
import { RespConnection, type Reply } from './resp-client.js';
import { diagnose, startPeerkv, startRedis, stopServer, type Server } from './servers.js';
import { skippedRow, type PartResult } from './summary.js';

export interface BigCollectionOptions {
  /** Members of the sorted set and elements of the list. */
  readonly size: number;
  /** Timed calls per read. */
  readonly calls: number;
  readonly stub: boolean;
}

export const BIG_FULL = { size: 1_000_000, calls: 300 };
export const BIG_QUICK = { size: 100_000, calls: 200 };

/** Goal of issue 11 for ZRANGE of 100 and LRANGE 0 99 (median per call). */
const RANGE_GOAL_MS = 1;
/** Members or elements per loading command. */
const LOAD_PER_COMMAND = 100;
const ZSET_KEY = 'bench:zset';
const LIST_KEY = 'bench:list';

interface Read {
  readonly name: string;
  /** The command of call number `call` (arguments vary so no call repeats the last one). */
  readonly command: (call: number, size: number) => string[];
  /** Checked on every reply: the read returned what it should. */
  readonly check: (reply: Reply, size: number) => boolean;
  readonly goal: boolean;
}

/** Member i has score (i * SCORE_STRIDE) mod size: distinct, and not in insertion order. */
const SCORE_STRIDE = 7_919;
const isArrayOf = (length: number) => (reply: Reply) => Array.isArray(reply) && reply.length === length;

const READS: readonly Read[] = [
  { name: 'ZRANGE key 0 99', command: () => ['ZRANGE', ZSET_KEY, '0', '99'], check: isArrayOf(100), goal: true },
  { name: 'ZRANGE key i i+99 (middle ranks)', command: (call, size) => { const start = (call * 104_729) % (size - 100); return ['ZRANGE', ZSET_KEY, String(start), String(start + 99)]; }, check: isArrayOf(100), goal: true },
  { name: 'ZRANGE key s +inf BYSCORE LIMIT 0 100', command: (call, size) => ['ZRANGE', ZSET_KEY, String((call * 104_729) % (size - 100)), '+inf', 'BYSCORE', 'LIMIT', '0', '100'], check: isArrayOf(100), goal: true },
  { name: 'ZRANK key (a middle member)', command: (call, size) => ['ZRANK', ZSET_KEY, `member:${(size >> 1) + call}`], check: (reply) => typeof reply === 'number', goal: false },
  { name: 'ZCOUNT key s1 s2 (half the set)', command: (call, size) => ['ZCOUNT', ZSET_KEY, String(call), String(call + (size >> 1))], check: (reply) => typeof reply === 'number', goal: false },
  { name: 'LRANGE key 0 99', command: () => ['LRANGE', LIST_KEY, '0', '99'], check: isArrayOf(100), goal: true },
  { name: 'LRANGE key -100 -1', command: () => ['LRANGE', LIST_KEY, '-100', '-1'], check: isArrayOf(100), goal: true },
  { name: 'LINDEX key -1', command: () => ['LINDEX', LIST_KEY, '-1'], check: (reply) => typeof reply === 'string', goal: false },
];

export async function runBigCollections(options: BigCollectionOptions): Promise<PartResult> {
  const result: PartResult = { rows: [], notes: [] };
  console.log(`\n## Big collections: reads of a ${formatCount(options.size)}-member sorted set and list\n`);
  const servers: Server[] = [];
  try {
    servers.push(await startRedis('redis'));
    servers.push(await startPeerkv({ name: 'peerkv', stub: options.stub }));
  } catch (error) {
    result.rows.push(skippedRow('big collections', `< ${RANGE_GOAL_MS} ms`, `a server did not start: ${errorMessage(error)}`));
    for (const server of servers) await stopServer(server);
    return result;
  }
  try {
    const timings = new Map<string, { median: number; p99: number }[]>();
    const loads: string[] = [];
    for (const server of servers) {
      loads.push(`${server.name}: ${await load(server, options.size)}`);
      const connection = await RespConnection.connect(server.port);
      try {
        for (const read of READS) {
          const samples: number[] = [];
          for (let call = 0; call < options.calls; call++) {
            const started = performance.now();
            const reply = await connection.command(...read.command(call, options.size));
            samples.push(performance.now() - started);
            if (!read.check(reply, options.size)) throw new Error(`${server.name}: ${read.name} returned ${describe(reply)}`);
          }
          samples.sort((a, b) => a - b);
          const entry = timings.get(read.name) ?? [];
          entry.push({ median: percentile(samples, 0.5), p99: percentile(samples, 0.99) });
          timings.set(read.name, entry);
        }
      } finally {
        connection.close();
      }
    }
    const cell = (timing: { median: number; p99: number } | undefined) => (timing === undefined ? '-' : `${formatMs(timing.median)} / ${formatMs(timing.p99)}`);
    const table = READS.map((read) => [read.name, ...servers.map((_server, index) => cell(timings.get(read.name)?.[index]))]);
    console.log(markdownTable(['read (median / p99 per call)', ...servers.map((server) => server.name)], table));
    for (const read of READS) {
      const [redis, peerkv] = timings.get(read.name) ?? [];
      if (peerkv === undefined) continue;
      result.rows.push({
        benchmark: `${read.name}, ${formatCount(options.size)} members/elements (median / p99)`,
        result: `peerkv ${cell(peerkv)}; redis ${cell(redis)}`,
        goal: read.goal ? `< ${RANGE_GOAL_MS} ms` : 'report',
        met: read.goal ? peerkv.median < RANGE_GOAL_MS : undefined,
      });
    }
    result.notes.push(`big collections: ${options.calls} sequential calls per read on one connection; loaded ${loads.join('; ')}`);
  } catch (error) {
    const reason = errorMessage(error) + (await diagnose(servers));
    console.log(`skipped: ${reason}`);
    result.rows.push(skippedRow('big collections', `< ${RANGE_GOAL_MS} ms`, reason));
  } finally {
    for (const server of servers) await stopServer(server);
  }
  return result;
}

/** ZADD and RPUSH `size` members and elements, LOAD_PER_COMMAND per command; returns how fast. */
async function load(server: Server, size: number): Promise<string> {
  const commands = Math.ceil(size / LOAD_PER_COMMAND);
  const started = performance.now();
  const zadd = await loadCommands(server.port, commands, (index) => {
    const command = ['ZADD', ZSET_KEY];
    for (let member = index * LOAD_PER_COMMAND; member < Math.min(size, (index + 1) * LOAD_PER_COMMAND); member++) command.push(String((member * SCORE_STRIDE) % size), `member:${member}`);
    return command;
  });
  if (zadd.errors > 0) throw new Error(`${server.name}: ZADD load failed: ${zadd.firstError}`);
  const zaddSeconds = (performance.now() - started) / 1000;
  const listStarted = performance.now();
  const rpush = await loadCommands(server.port, commands, (index) => {
    const command = ['RPUSH', LIST_KEY];
    for (let element = index * LOAD_PER_COMMAND; element < Math.min(size, (index + 1) * LOAD_PER_COMMAND); element++) command.push(`element:${element}`);
    return command;
  });
  if (rpush.errors > 0) throw new Error(`${server.name}: RPUSH load failed: ${rpush.firstError}`);
  const rpushSeconds = (performance.now() - listStarted) / 1000;
  const connection = await RespConnection.connect(server.port);
  try {
    const zcard = await connection.command('ZCARD', ZSET_KEY);
    const llen = await connection.command('LLEN', LIST_KEY);
    if (zcard !== size || llen !== size) throw new Error(`${server.name}: loaded ZCARD ${String(zcard)}, LLEN ${String(llen)}, expected ${size}`);
  } finally {
    connection.close();
  }
  return `ZADD ${formatCount(size / zaddSeconds)} members/s, RPUSH ${formatCount(size / rpushSeconds)} elements/s`;
}

function describe(reply: Reply): string {
  if (Array.isArray(reply)) return `an array of ${reply.length}`;
  return reply instanceof Error ? `error ${reply.message}` : String(reply);
}

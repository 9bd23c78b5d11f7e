// Hash benchmark: redis-benchmark HSET against SET on the same peerkv node (and on
// redis-server for reference), HGETALL of a 10,000-field hash (time per call), and a
// 1,000,000-field hash: load, HLEN, HSCAN through it, HRANDFIELD, restart, DEL, memory.
// Run: npx tsc -p tsconfig.json && node dist/bench/hash.js [--fields N] [--no-redis]
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { formatCount, formatMiB } from './format.js';
import { installExitHandlers, readProcessRss, startChild, stopChild, waitForPing } from './processes.js';
import { runRedisBenchmark } from './redis-benchmark.js';
import { encodeCommand, RespConnection, type Reply } from './resp-client.js';
import { REPOSITORY_ROOT, startPeerkv, startRedis, stopServer, type Server } from './servers.js';

const BENCHMARK_ARGS = ['-n', '200000', '-c', '50', '-r', '100000'];
const SMALL_HASH_FIELDS = 10_000;
const HGETALL_CALLS = 200;
const PAIRS_PER_HSET = 1_000;
const HSET_PIPELINE_COMMANDS = 20;
const HSCAN_COUNTS = [1_000, 100] as const;
const HRANDFIELD_CALLS = 5;
const LONE_WRITE_CALLS = 50;
/** A node restarted over a big hash rebuilds its tree and field counts before it answers. */
const RESTART_READY_TIMEOUT_MS = 300_000;

interface Options {
  readonly bigFields: number;
  readonly withRedis: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  let bigFields = 1_000_000;
  let withRedis = true;
  for (let index = 0; index < argv.length; index++) {
    if (argv[index] === '--fields') bigFields = Number(argv[++index]);
    else if (argv[index] === '--no-redis') withRedis = false;
    else throw new Error(`unknown option ${argv[index]}`);
  }
  if (!Number.isSafeInteger(bigFields) || bigFields < PAIRS_PER_HSET) throw new Error('--fields must be an integer >= 1000');
  return { bigFields, withRedis };
}

function expectNoError(reply: Reply): Reply {
  if (reply instanceof Error) throw reply;
  return reply;
}

/** HSET key with `fields` fields (field:i -> value:i), PAIRS_PER_HSET per command, pipelined. */
async function loadHash(connection: RespConnection, key: string, fields: number): Promise<void> {
  let inFlight: Promise<void>[] = [];
  for (let start = 0; start < fields; start += PAIRS_PER_HSET) {
    const args = ['HSET', key];
    for (let index = start; index < Math.min(fields, start + PAIRS_PER_HSET); index++) args.push(`field:${index}`, `value:${index}`);
    inFlight.push(connection.command(...args).then((reply) => void expectNoError(reply)));
    if (inFlight.length >= HSET_PIPELINE_COMMANDS) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  await Promise.all(inFlight);
}

async function timed<T>(body: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await body();
  return { value, ms: performance.now() - started };
}

async function throughput(server: Server): Promise<void> {
  for (const test of ['set', 'hset']) {
    const rows = await runRedisBenchmark(server.port, ['-t', test, ...BENCHMARK_ARGS]);
    for (const row of rows) console.log(`${server.name.padEnd(8)} ${row.test.padEnd(5)} ${formatCount(Math.round(row.requestsPerSecond)).padStart(9)} req/s  p50 ${row.p50LatencyMs} ms  p99 ${row.p99LatencyMs} ms`);
  }
}

/** Time until `replyBytes` bytes of reply arrived for one command (no client-side parsing in the measure). */
function timeReplyBytes(port: number, command: Buffer, replyBytes: number, calls: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.setNoDelay(true);
    let received = 0;
    let done = 0;
    let started = 0;
    let totalMs = 0;
    const next = () => {
      received = 0;
      started = performance.now();
      socket.write(command);
    };
    socket.on('error', reject);
    socket.on('connect', next);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received < replyBytes) return;
      if (received > replyBytes) return reject(new Error(`reply of ${received} bytes, expected ${replyBytes}`));
      totalMs += performance.now() - started;
      if (++done === calls) {
        socket.destroy();
        resolve(totalMs / calls);
      } else {
        next();
      }
    });
  });
}

/** Reply size of HGETALL small: one array header and a bulk string per field and value. */
function hgetallReplyBytes(fields: number): number {
  let bytes = `*${fields * 2}\r\n`.length;
  for (let index = 0; index < fields; index++) {
    for (const text of [`field:${index}`, `value:${index}`]) bytes += `$${text.length}\r\n${text}\r\n`.length;
  }
  return bytes;
}

async function hgetall(server: Server, connection: RespConnection): Promise<void> {
  await connection.command('DEL', 'small');
  await loadHash(connection, 'small', SMALL_HASH_FIELDS);
  const perCallMs = await timeReplyBytes(server.port, encodeCommand(['HGETALL', 'small']), hgetallReplyBytes(SMALL_HASH_FIELDS), HGETALL_CALLS);
  console.log(`${server.name.padEnd(8)} HGETALL of ${formatCount(SMALL_HASH_FIELDS)} fields: ${perCallMs.toFixed(2)} ms per call (until the last reply byte)`);
}

async function hscanAll(connection: RespConnection, count: number, expected: number): Promise<number> {
  const seen = new Set<string>();
  let cursor = '0';
  do {
    const [next, items] = expectNoError(await connection.command('HSCAN', 'big', cursor, 'COUNT', String(count))) as [string, string[]];
    for (let index = 0; index < items.length; index += 2) seen.add(items[index]!);
    cursor = next;
  } while (cursor !== '0');
  if (seen.size !== expected) throw new Error(`HSCAN saw ${seen.size} distinct fields of ${expected}`);
  return seen.size;
}

async function bigHash(server: Server, connection: RespConnection, fields: number): Promise<void> {
  const rssBefore = readProcessRss(server.child.pid).rssBytes;
  const load = await timed(() => loadHash(connection, 'big', fields));
  console.log(`${server.name.padEnd(8)} load ${formatCount(fields)} fields: ${(load.ms / 1000).toFixed(1)} s (${formatCount(Math.round(fields / (load.ms / 1000)))} fields/s), RSS +${formatMiB(readProcessRss(server.child.pid).rssBytes - rssBefore)}`);
  const hlen = await timed(async () => {
    let reply: Reply = 0;
    for (let call = 0; call < 1000; call++) reply = await connection.command('HLEN', 'big');
    return reply;
  });
  console.log(`${server.name.padEnd(8)} HLEN = ${String(hlen.value)}: ${((hlen.ms / 1000) * 1000).toFixed(0)} us per call`);
  for (const count of HSCAN_COUNTS) {
    const scan = await timed(() => hscanAll(connection, count, fields));
    console.log(`${server.name.padEnd(8)} HSCAN COUNT ${count} through ${formatCount(fields)} fields: ${(scan.ms / 1000).toFixed(2)} s`);
  }
  const random = await timed(async () => {
    for (let call = 0; call < HRANDFIELD_CALLS; call++) expectNoError(await connection.command('HRANDFIELD', 'big'));
  });
  console.log(`${server.name.padEnd(8)} HRANDFIELD on ${formatCount(fields)} fields: ${(random.ms / HRANDFIELD_CALLS).toFixed(0)} ms per call`);
  // One write at a time: the commit latency of a lone write, beside a SET's.
  for (const [label, args] of [['HSET of one field of the big hash', ['HSET', 'big', 'field:1', 'changed']], ['SET of one key', ['SET', 'lone', 'value']]] as const) {
    const lone = await timed(async () => {
      for (let call = 0; call < LONE_WRITE_CALLS; call++) expectNoError(await connection.command(...args));
    });
    console.log(`${server.name.padEnd(8)} ${label}: ${(lone.ms / LONE_WRITE_CALLS).toFixed(2)} ms per call, one at a time`);
  }
}

/** Stop the node and start it again on its data directory; time until it answers PING. */
async function restartPeerkv(server: Server): Promise<Server> {
  await stopChild(server.child);
  const args = [join(REPOSITORY_ROOT, 'bin', 'peerkv'), 'start', '--port', String(server.port), '--peer-port', String(server.peerPort), '--data', server.dataDir, '--log-level', 'warn', '--name', server.name, '--no-discovery'];
  const started = performance.now();
  const child = startChild(server.name, process.execPath, args);
  await waitForPing(server.port, child, RESTART_READY_TIMEOUT_MS);
  console.log(`${server.name.padEnd(8)} restart over the big hash: ${((performance.now() - started) / 1000).toFixed(1)} s to PING, RSS ${formatMiB(readProcessRss(child.pid).rssBytes)}`);
  return { ...server, child };
}

async function deleteBig(server: Server, connection: RespConnection): Promise<void> {
  const del = await timed(() => connection.command('DEL', 'big'));
  console.log(`${server.name.padEnd(8)} DEL of the big hash: ${del.ms.toFixed(0)} ms (reply ${String(del.value)})`);
}

async function main(): Promise<void> {
  installExitHandlers();
  const options = parseOptions(process.argv.slice(2));
  const servers: Server[] = [];
  try {
    servers.push(await startPeerkv({ name: 'peerkv' }));
    if (options.withRedis) servers.push(await startRedis('redis'));
    console.log('## redis-benchmark -t set / -t hset', BENCHMARK_ARGS.join(' '));
    for (const server of servers) await throughput(server);
    console.log('\n## HGETALL');
    for (const server of servers) {
      const connection = await RespConnection.connect(server.port);
      await hgetall(server, connection);
      connection.close();
    }
    console.log(`\n## A ${formatCount(options.bigFields)}-field hash`);
    for (let index = 0; index < servers.length; index++) {
      let server = servers[index]!;
      let connection = await RespConnection.connect(server.port);
      await connection.command('DEL', 'big');
      await bigHash(server, connection, options.bigFields);
      if (server.kind === 'peerkv') {
        connection.close();
        server = servers[index] = await restartPeerkv(server);
        connection = await RespConnection.connect(server.port);
        console.log(`${server.name.padEnd(8)} HLEN after restart: ${String(await connection.command('HLEN', 'big'))}`);
      }
      await deleteBig(server, connection);
      connection.close();
    }
  } finally {
    for (const server of servers) await stopServer(server);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

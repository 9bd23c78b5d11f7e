// The chaos run's client: runs inside the client namespace of the chaos LAN (the nodes are
// reachable only there). It drives the workload (clients bound to each node writing unique
// keys, hot keys, INCR counters, DELs and some SET+WAIT), records every operation with its
// times and outcome as one JSON line in the ops file, and answers the runner's requests
// (roots, readiness, dumps) given as JSON lines on stdin, one JSON line each on stdout.
import { createWriteStream, writeFileSync, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import type { OpLine } from './history.js';

export interface AgentConfig {
  readonly addresses: readonly string[];
  readonly port: number;
  readonly clientsPerNode: number;
  readonly opsFile: string;
  readonly hotKeys: number;
  readonly counters: number;
  readonly paceMs: number;
  readonly commandTimeoutMs: number;
  readonly seed: number;
}

const config = JSON.parse(process.argv[2]!) as AgentConfig;

/** xorshift32: the workload's choices are reproducible from the seed (timing is not). */
function rng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x1_0000_0000;
  };
}

function connect(address: string, timeoutMs: number, queueUntilConnected = false): Redis {
  const redis = new Redis({
    host: address,
    port: config.port,
    lazyConnect: false,
    enableOfflineQueue: queueUntilConnected,
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: timeoutMs,
    connectTimeout: 1_000,
    retryStrategy: () => 200,
  });
  redis.on('error', () => undefined);
  return redis;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** 'ok' with the reply, 'fail' when the command surely did not run, 'unknown' when it may have. */
async function attempt(redis: Redis, args: (string | number)[]): Promise<{ outcome: 'ok' | 'fail' | 'unknown'; reply?: unknown; error?: string }> {
  try {
    const reply = await redis.call(String(args[0]), ...args.slice(1));
    return { outcome: 'ok', reply };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // A server error reply, or a command ioredis refused to send: not applied.
    const refused = /^(MISCONF|ERR|WRONGTYPE|NOPERM|LOADING|BUSY)|isn't writeable/.test(message);
    return { outcome: refused ? 'fail' : 'unknown', error: message.slice(0, 120) };
  }
}

let ops: WriteStream | undefined;
let running = false;
const loops: Promise<void>[] = [];

function record(line: OpLine): void {
  ops!.write(`${JSON.stringify(line)}\n`);
}

async function clientLoop(client: number, node: number): Promise<void> {
  const random = rng(config.seed * 1000 + client + 1);
  const redis = connect(config.addresses[node]!, config.commandTimeoutMs);
  const liveUnique: number[] = []; // seqs of this client's acknowledged unique keys not yet deleted
  let seq = 0;
  await new Promise<void>((resolve) => {
    redis.once('ready', resolve);
    setTimeout(resolve, 5_000);
  });
  try {
    while (running) {
      seq++;
      const r = random();
      const t0 = Date.now();
      if (r < 0.5) {
        const key = `u:${client}:${seq}`;
        const result = await attempt(redis, ['SET', key, `${client}:${seq}`]);
        record({ t0, t1: Date.now(), c: client, n: node, op: 'set', k: key, v: `${client}:${seq}`, s: seq, o: result.outcome, e: result.error });
        if (result.outcome === 'ok') {
          liveUnique.push(seq);
          if (r < 0.05) {
            const w0 = Date.now();
            const waited = await attempt(redis, ['WAIT', 2, 500]);
            record({ t0: w0, t1: Date.now(), c: client, n: node, op: 'wait', k: key, s: seq, o: waited.outcome, r: waited.reply as number | undefined, e: waited.error });
          }
        }
      } else if (r < 0.7) {
        const key = `h:${Math.floor(random() * config.hotKeys)}`;
        const result = await attempt(redis, ['SET', key, `${client}:${seq}`]);
        record({ t0, t1: Date.now(), c: client, n: node, op: 'set', k: key, v: `${client}:${seq}`, s: seq, o: result.outcome, e: result.error });
      } else if (r < 0.9) {
        const key = `c:${Math.floor(random() * config.counters)}`;
        const result = await attempt(redis, ['INCR', key]);
        record({ t0, t1: Date.now(), c: client, n: node, op: 'incr', k: key, s: seq, o: result.outcome, r: result.reply as number | undefined, e: result.error });
      } else if (r < 0.95 && liveUnique.length > 0) {
        const victim = liveUnique.splice(Math.floor(random() * liveUnique.length), 1)[0]!;
        const key = `u:${client}:${victim}`;
        const result = await attempt(redis, ['DEL', key]);
        record({ t0, t1: Date.now(), c: client, n: node, op: 'del', k: key, s: seq, o: result.outcome, r: result.reply as number | undefined, e: result.error });
      } else {
        const key = `h:${Math.floor(random() * config.hotKeys)}`;
        const result = await attempt(redis, ['GET', key]);
        record({ t0, t1: Date.now(), c: client, n: node, op: 'get', k: key, s: seq, o: result.outcome, e: result.error });
      }
      // A refused connection fails at once: do not spin on it.
      await sleep(Date.now() - t0 < 2 ? config.paceMs * 5 : config.paceMs);
    }
  } finally {
    redis.disconnect();
  }
}

function startLoad(): void {
  ops = createWriteStream(config.opsFile, { flags: 'a' });
  running = true;
  let client = 0;
  for (let node = 0; node < config.addresses.length; node++) {
    for (let index = 0; index < config.clientsPerNode; index++) loops.push(clientLoop(client++, node));
  }
}

async function stopLoad(): Promise<void> {
  running = false;
  await Promise.all(loops);
  await new Promise<void>((resolve) => ops!.end(resolve));
}

function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const index = line.indexOf(':');
    if (index > 0 && !line.startsWith('#')) fields.set(line.slice(0, index), line.slice(index + 1).trim());
  }
  return fields;
}

/** One short-lived connection per request: a stopped node must not wedge a shared one. */
async function withNode<T>(node: number, timeoutMs: number, use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = connect(config.addresses[node]!, timeoutMs, true);
  try {
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

async function info(node: number): Promise<Record<string, string> | { error: string }> {
  try {
    const text = await withNode(node, 2_000, (redis) => redis.call('INFO') as Promise<string>);
    return Object.fromEntries(parseInfo(text));
  } catch (error) {
    return { error: String(error) };
  }
}

/** Every key and value of one node, sorted, into a file (key\tvalue lines). */
async function dump(node: number, file: string): Promise<{ keys: number } | { error: string }> {
  try {
    return await withNode(node, 10_000, async (redis) => {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = (await redis.call('SCAN', cursor, 'COUNT', 1000)) as [string, string[]];
        keys.push(...batch);
        cursor = next;
      } while (cursor !== '0');
      keys.sort();
      const lines: string[] = [];
      for (let start = 0; start < keys.length; start += 500) {
        const chunk = keys.slice(start, start + 500);
        const values = (await redis.call('MGET', ...chunk)) as (string | null)[];
        chunk.forEach((key, index) => lines.push(`${key}\t${values[index] ?? '<nil>'}`));
      }
      writeFileSync(file, lines.join('\n') + '\n');
      return { keys: keys.length };
    });
  } catch (error) {
    return { error: String(error) };
  }
}

interface Request {
  readonly id: number;
  readonly cmd: 'start' | 'stop' | 'info' | 'dump' | 'exit';
  readonly node?: number;
  readonly file?: string;
}

async function handle(request: Request): Promise<unknown> {
  switch (request.cmd) {
    case 'start':
      startLoad();
      return 'started';
    case 'stop':
      await stopLoad();
      return 'stopped';
    case 'info':
      return info(request.node!);
    case 'dump':
      return dump(request.node!, request.file!);
    case 'exit':
      setImmediate(() => process.exit(0));
      return 'bye';
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const request = JSON.parse(line) as Request;
  handle(request).then(
    (result) => process.stdout.write(`${JSON.stringify({ id: request.id, result })}\n`),
    (error: unknown) => process.stdout.write(`${JSON.stringify({ id: request.id, error: String(error) })}\n`),
  );
});
process.stdin.on('end', () => process.exit(0));
process.stdout.write(`${JSON.stringify({ id: 0, result: 'ready' })}\n`);

// `npm run bench:import [-- --keys 100000 --rounds 2]`: `peerkv import` against
// `redis-cli --pipe` loading the same keys (the same command stream: importCommands of
// each dump entry, as RESP) into a fresh peerkv node each, in one run, rounds alternating
// which goes first. Prints both wall times (process start to exit) and their ratio.
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { encodeCommand } from '../src/cli/client.js';
import { DUMP_HEADER, importCommands } from '../src/cli/transfer.js';
import { syntheticEntry } from './dump-entries.js';
import { reservePort } from '../src/runtime/ports.js';

const PEERKV_BIN = join(process.cwd(), 'bin', 'peerkv');

async function writeFiles(dir: string, keys: number): Promise<{ dump: string; resp: string }> {
  const dump = join(dir, 'dump.jsonl');
  const resp = join(dir, 'dump.resp');
  const dumpOut = createWriteStream(dump);
  const respOut = createWriteStream(resp);
  const nowMs = Date.now();
  dumpOut.write(`${JSON.stringify(DUMP_HEADER)}\n`);
  for (let index = 0; index < keys; index++) {
    const entry = syntheticEntry(index, nowMs);
    const okDump = dumpOut.write(`${JSON.stringify(entry)}\n`);
    const okResp = respOut.write(Buffer.concat(importCommands(entry).map(encodeCommand)));
    if (!okDump) await new Promise<void>((resolve) => dumpOut.once('drain', () => resolve()));
    if (!okResp) await new Promise<void>((resolve) => respOut.once('drain', () => resolve()));
  }
  await Promise.all([new Promise((resolve) => dumpOut.end(resolve)), new Promise((resolve) => respOut.end(resolve))]);
  return { dump, resp };
}

interface Node {
  readonly port: number;
  stop(): Promise<void>;
}

async function startNode(): Promise<Node> {
  const dataDir = mkdtempSync(join(tmpdir(), 'peerkv-bench-import-'));
  const port = await reservePort('127.0.0.1');
  let peerPort = await reservePort('127.0.0.1');
  while (peerPort === port) peerPort = await reservePort('127.0.0.1');
  const child = spawn(process.execPath, [PEERKV_BIN, 'start', '--port', String(port), '--peer-port', String(peerPort), '--data', dataDir, '--no-discovery', '--log-level', 'warn'], { stdio: 'inherit' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let attempt = 0; ; attempt++) {
    const ping = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' });
    if (ping.stdout.trim() === 'PONG') break;
    if (attempt > 200) throw new Error('peerkv did not start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function timed(command: string, args: readonly string[], stdinFile?: string): Promise<{ seconds: number; output: string }> {
  return new Promise((resolve, reject) => {
    const startedMs = performance.now();
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    if (stdinFile !== undefined) createReadStream(stdinFile).pipe(child.stdin);
    else child.stdin.end();
    child.once('exit', (code) => (code === 0 ? resolve({ seconds: (performance.now() - startedMs) / 1000, output }) : reject(new Error(`${command} exited ${code}: ${output}`))));
  });
}

function dbsize(port: number): number {
  return Number(spawnSync('redis-cli', ['-p', String(port), 'dbsize'], { encoding: 'utf8' }).stdout.trim());
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { keys: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '2' } } });
  const keys = Number(values.keys);
  const rounds = Number(values.rounds);
  const dir = mkdtempSync(join(tmpdir(), 'peerkv-bench-import-files-'));
  try {
    const { dump, resp } = await writeFiles(dir, keys);
    console.log(`bench import: ${keys} keys (40% string, 15% each hash/set/zset/list, a third with a TTL); dump ${(statSync(dump).size / 1e6).toFixed(1)} MB, RESP ${(statSync(resp).size / 1e6).toFixed(1)} MB`);
    const results: Record<'peerkv import' | 'redis-cli --pipe', number[]> = { 'peerkv import': [], 'redis-cli --pipe': [] };
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (['redis-cli --pipe', 'peerkv import'] as const) : (['peerkv import', 'redis-cli --pipe'] as const);
      for (const tool of order) {
        const node = await startNode();
        try {
          const run = tool === 'peerkv import'
            ? await timed(process.execPath, [PEERKV_BIN, '-p', String(node.port), 'import', dump])
            : await timed('redis-cli', ['-p', String(node.port), '--pipe'], resp);
          const loaded = dbsize(node.port);
          if (loaded !== keys) throw new Error(`${tool} loaded ${loaded} keys, expected ${keys}: ${run.output}`);
          results[tool].push(run.seconds);
          console.log(`  round ${round + 1}: ${tool.padEnd(16)} ${run.seconds.toFixed(2)} s  (${Math.round(keys / run.seconds)} keys/s)`);
        } finally {
          await node.stop();
        }
      }
    }
    const best = (list: number[]) => Math.min(...list);
    const peerkv = best(results['peerkv import']);
    const redisCli = best(results['redis-cli --pipe']);
    console.log(`best of ${rounds}: peerkv import ${peerkv.toFixed(2)} s, redis-cli --pipe ${redisCli.toFixed(2)} s; peerkv import runs at ${(redisCli / peerkv).toFixed(2)}x the speed of redis-cli --pipe (target >= 0.8x)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

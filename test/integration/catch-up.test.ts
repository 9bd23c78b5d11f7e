// Proves `peerkv status --progress --expect-from` follows a node that joins a cluster holding keys until it holds them all, printing keys held / expected and keys received by anti-entropy, then exits 0.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, test } from 'node:test';
import { cleanupAll, PEERKV_BIN, freeDiscoveryPort, redisCli, spawnNode } from '../support/processes.js';

after(cleanupAll);

test('status --progress follows a joining node until it holds every key of a current one', async () => {
  const discoveryPort = await freeDiscoveryPort();
  const a = await spawnNode({ discoveryPort });
  const keys = 3_000;
  for (let start = 0; start < keys; start += 500) {
    redisCli(a.port, ['mset', ...Array.from({ length: 500 }, (_, index) => [`k${start + index}`, 'v']).flat()]);
  }
  assert.equal(redisCli(a.port, ['dbsize']), String(keys));
  const b = await spawnNode({ discoveryPort });
  const child = spawn(process.execPath, [PEERKV_BIN, '-p', String(b.port), 'status', '--progress', '--expect-from', `127.0.0.1:${a.port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
  assert.equal(code, 0, output);
  const lines = output.trim().split('\n');
  assert.match(lines[0]!, /^keys \d+\/3000, received \d+ by anti-entropy, /);
  assert.match(lines[lines.length - 1]!, /^caught up: keys 3000\/3000, received \d+ by anti-entropy, idle$/);
  assert.equal(redisCli(b.port, ['dbsize']), String(keys));
  assert.equal(await a.stop(), 0);
  assert.equal(await b.stop(), 0);
});

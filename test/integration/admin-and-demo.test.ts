// Proves the admin HTTP port serves health, INFO as JSON, Prometheus metrics and the
// dashboard of a real node, and that `peerkv demo` forms a cluster, runs its tour and
// stops cleanly on Ctrl-C.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, test } from 'node:test';
import { cleanupAll, freePort, PEERKV_BIN, redisCli, spawnNode, waitFor } from '../support/processes.js';

after(cleanupAll);

test('admin HTTP: /health, /info, /metrics and the dashboard', async () => {
  const httpPort = await freePort();
  const node = await spawnNode({ extraArgs: ['--http-port', String(httpPort)] });
  redisCli(node.port, ['set', 'k', 'v']);
  const base = `http://127.0.0.1:${httpPort}`;
  const health = await fetch(`${base}/health`);
  assert.equal(health.status, 200);
  assert.equal(((await health.json()) as { status: string }).status, 'ok');
  const info = (await (await fetch(`${base}/info`)).json()) as { keys: number; members: unknown[] };
  assert.equal(info.keys, 1);
  assert.equal(info.members.length, 1);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /^peerkv_keys 1$/m);
  assert.match(metrics, /peerkv_members\{state="alive"\} 1/);
  const dashboard = await fetch(`${base}/`);
  assert.match(await dashboard.text(), /<title>peerkv<\/title>/);
  assert.equal((await fetch(`${base}/nope`)).status, 404);
  assert.equal(await node.stop(), 0);
});

test('peerkv demo runs its tour on three nodes and cleans up on SIGINT', async () => {
  const child = spawn(process.execPath, [PEERKV_BIN, 'demo', '--nodes', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await waitFor(() => output.includes('Ctrl-C stops it'), { timeoutMs: 30_000, what: 'the demo tour' });
    assert.equal(output.match(/hello from demo-1/g)?.length, 3, output);
    assert.equal(output.match(/ alive /g)?.length, 3, output);
    const dataDir = /data under (\S+)/.exec(output)?.[1];
    child.kill('SIGINT');
    assert.equal(await exited, 0);
    if (dataDir !== undefined) assert.equal(existsSync(dataDir), false, 'demo data removed');
  } finally {
    child.kill('SIGKILL');
  }
});

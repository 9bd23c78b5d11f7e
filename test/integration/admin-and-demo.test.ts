// Proves the admin HTTP port serves health, INFO as JSON, Prometheus metrics and the
// dashboard of a real node, and that `peerkv demo` runs real node processes that its shell
// (driven through stdin) kills, restarts, partitions and heals, and cleans up after itself.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, test } from 'node:test';
import { adminHttpPort, cleanupAll, PEERKV_BIN, redisCli, spawnNode, waitFor } from '../support/processes.js';

after(cleanupAll);

test('admin HTTP: /health, /info, /metrics and the dashboard', async () => {
  const node = await spawnNode({ extraArgs: ['--http-port', '0'] });
  const httpPort = await adminHttpPort(node);
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

test('peerkv demo: a shell driven through stdin kills, restarts and partitions real node processes', async () => {
  const child = spawn(process.execPath, [PEERKV_BIN, 'demo', '--nodes', '3'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    child.stdin.write([
      'set k before', 'kill 2', 'set k after', 'status', 'restart 2', '@2 get k',
      'partition 3', '@3 set p from-3', 'set p from-1', 'sleep 1', '@3 get p', 'heal', 'sleep 1', '@3 get p', '@9 get k', 'quit',
    ].join('\n') + '\n');
    child.stdin.end();
    assert.equal(await exited, 0, output);
    assert.match(output, /Try first:/);
    const pids = [...output.matchAll(/pid (\d+)/g)].map((match) => Number(match[1]));
    assert.ok(pids.length >= 4, output);
    assert.match(output, /demo-2 killed \(SIGKILL\)/);
    assert.match(output, /^2\s+demo-2\s+\d+\s+killed/m, 'status shows the killed process');
    assert.match(output, /demo-2 caught up in/);
    assert.match(output, /peerkv> @2 get k\n"after"\n/, 'the restarted node serves the value written while it was down');
    assert.match(output, /demo-3 partitioned/);
    assert.match(output, /peerkv> @3 get p\n"from-3"\n/, 'while partitioned, node 3 does not see node 1\'s write');
    assert.match(output, /peerkv> @3 get p\n"from-1"\n/, 'after heal the partitioned node converged on the later write');
    assert.match(output, /no node 9: nodes are 1\.\.3/);
    const dataDir = /data under (\S+)/.exec(output)?.[1];
    assert.ok(dataDir !== undefined && !existsSync(dataDir), 'demo data removed');
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), 'every node process is gone');
  } finally {
    child.kill('SIGKILL');
  }
});

test('peerkv demo --tour walks through a replicated write and stops cleanly on SIGINT', async () => {
  const child = spawn(process.execPath, [PEERKV_BIN, 'demo', '--nodes', '2', '--tour'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await waitFor(() => output.includes('peerkv> members'), { timeoutMs: 30_000, what: 'the demo tour' });
    await waitFor(() => (output.match(/ alive /g)?.length ?? 0) >= 2, { timeoutMs: 5_000, what: 'the members table' });
    assert.match(output, /peerkv> @2 get greeting\n"hello from demo-1"/);
    const dataDir = /data under (\S+)/.exec(output)?.[1];
    child.kill('SIGINT');
    assert.equal(await exited, 0);
    if (dataDir !== undefined) assert.equal(existsSync(dataDir), false, 'demo data removed');
  } finally {
    child.kill('SIGKILL');
  }
});

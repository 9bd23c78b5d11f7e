// Proves bin/peerkv end to end: `start` logs ready and stops cleanly on SIGTERM, client commands print and exit as documented, `get` on every type included.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { PEERKV_BIN, cleanupAll, redisCli, spawnNode, tempDir, waitFor, type NodeProcess } from '../support/processes.js';

after(cleanupAll);

function cli(node: NodeProcess, ...args: string[]) {
  const result = spawnSync(process.execPath, [PEERKV_BIN, '-p', String(node.port), ...args], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, PEERKV_PASSWORD: '', REDISCLI_AUTH: '' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('a node started by bin/peerkv serves every client command', async () => {
  const node = await spawnNode({ extraArgs: ['--name', 'cli-test'] });
  await waitFor(() => node.output().includes('peerkv ready'), { timeoutMs: 10_000, what: 'the ready line' });

  assert.deepEqual(cli(node, 'set', 'a', '1'), { code: 0, stdout: 'OK\n', stderr: '' });
  assert.deepEqual(cli(node, 'get', 'a'), { code: 0, stdout: '1\n', stderr: '' });
  assert.deepEqual(cli(node, 'get', 'missing'), { code: 1, stdout: '', stderr: 'peerkv: key not found: missing\n' });
  assert.deepEqual(JSON.parse(cli(node, 'get', 'a', '--json').stdout), { key: 'a', value: '1' });

  assert.equal(cli(node, 'set', 'b', 'two words', '--ttl', '100').code, 0);
  const ttl = Number(cli(node, 'ttl', 'b').stdout);
  assert.ok(ttl > 90 && ttl <= 100, `ttl ${ttl}`);
  assert.equal(cli(node, 'ttl', 'a').stdout, '-1\n');
  assert.equal(cli(node, 'ttl', 'missing').stdout, '-2\n');

  assert.equal(cli(node, 'keys').stdout, 'a\nb\n');
  assert.equal(cli(node, 'keys', 'b*').stdout, 'b\n');
  assert.deepEqual(JSON.parse(cli(node, 'keys', '--json').stdout), ['a', 'b']);

  assert.equal(cli(node, 'set', 'c', '3', '--ack', 'all').stdout, 'OK, stored on 0 other nodes\n');
  assert.equal(cli(node, 'del', 'a', 'c', 'missing').stdout, '2\n');
  assert.equal(cli(node, 'get', 'a').code, 1);

  assert.match(cli(node, 'ping').stdout, /^PONG \([\d.]+ ms\)\n$/);
  const status = cli(node, 'status');
  assert.equal(status.code, 0);
  assert.match(status.stdout, /node\s+cli-test \([0-9a-f]{8}\)/);
  const statusJson = JSON.parse(cli(node, 'status', '--json').stdout);
  assert.equal(statusJson.name, 'cli-test');
  assert.equal(statusJson.members.alive, 1);
  assert.equal(statusJson.keys, 1);

  const members = JSON.parse(cli(node, 'members', '--json').stdout);
  assert.equal(members.length, 1);
  assert.equal(members[0].name, 'cli-test');
  assert.equal(members[0].state, 'alive');
  assert.match(cli(node, 'members').stdout, /^NAME\s+ID\s+ADDRESS\s+STATE\s+LAST SEEN\ncli-test\s+[0-9a-f]{8}\s+127\.0\.0\.1:\d+\s+alive/);

  assert.equal(await node.stop('SIGTERM'), 0);
  assert.match(cli(node, 'ping').stderr, /cannot connect to 127\.0\.0\.1:\d+ \(is a node running\? start one with: peerkv start\)/);
});

test('get prints a hash, set, sorted set and list of a real node readably, and --json for scripts', async () => {
  const node = await spawnNode();
  redisCli(node.port, ['hset', 'user', 'name', 'ada', 'id', '7']);
  redisCli(node.port, ['sadd', 'fruit', 'pear', 'apple', 'fig']);
  redisCli(node.port, ['zadd', 'board', '20', 'alice', '1.5', 'bob']);
  redisCli(node.port, ['rpush', 'queue', 'c', 'a', 'b']);
  assert.deepEqual(cli(node, 'get', 'user'), { code: 0, stdout: 'id    7\nname  ada\n', stderr: '' });
  assert.deepEqual(cli(node, 'get', 'fruit'), { code: 0, stdout: 'apple\nfig\npear\n', stderr: '' });
  assert.deepEqual(cli(node, 'get', 'board'), { code: 0, stdout: 'bob    1.5\nalice  20\n', stderr: '' });
  assert.deepEqual(cli(node, 'get', 'queue'), { code: 0, stdout: 'c\na\nb\n', stderr: '' });
  assert.deepEqual(JSON.parse(cli(node, 'get', 'user', '--json').stdout), { key: 'user', type: 'hash', value: { id: '7', name: 'ada' } });
  assert.deepEqual(JSON.parse(cli(node, 'get', 'fruit', '--json').stdout), { key: 'fruit', type: 'set', value: ['apple', 'fig', 'pear'] });
  assert.deepEqual(JSON.parse(cli(node, 'get', 'board', '--json').stdout), { key: 'board', type: 'zset', value: [{ member: 'bob', score: 1.5 }, { member: 'alice', score: 20 }] });
  assert.deepEqual(JSON.parse(cli(node, 'get', 'queue', '--json').stdout), { key: 'queue', type: 'list', value: ['c', 'a', 'b'] });
  assert.deepEqual(cli(node, 'get', 'missing'), { code: 1, stdout: '', stderr: 'peerkv: key not found: missing\n' });
  assert.equal(await node.stop('SIGTERM'), 0);
});

test('a second node on a port in use exits 1 with one line saying what to do', async () => {
  const first = await spawnNode();
  const result = spawnSync(process.execPath, [PEERKV_BIN, 'start', '--port', String(first.port), '--peer-port', '0', '--no-discovery', '--data', tempDir()], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(result.status, 1, result.stderr + result.stdout);
  assert.match(result.stderr, /^peerkv: .*already in use.*--port/m);
  await first.stop('SIGTERM');
});

// Proves each error a user meets first is one line that says what to do: port in use, data dir locked, wrong password and unreachable node (CLI), a peer of another protocol version, and a cluster key mismatch logged by both nodes (and by a keyed node that a keyless one dials).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, createServer } from 'node:net';
import { after, test } from 'node:test';
import { encodePayload } from '../../src/wire/peer-frame.js';
import { cleanupAll, freePort, freePorts, PEERKV_BIN, spawnNode, tempDir, waitFor } from '../support/processes.js';

after(cleanupAll);

function peerkv(args: readonly string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [PEERKV_BIN, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, PEERKV_PASSWORD: '', REDISCLI_AUTH: '', ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** stderr is exactly one line starting with `peerkv: ` that matches `pattern`. */
function assertOneLine(stderr: string, pattern: RegExp): void {
  assert.equal(stderr.split('\n').filter((line) => line !== '').length, 1, stderr);
  assert.match(stderr, /^peerkv: /);
  assert.match(stderr, pattern);
}

test('port in use: start exits 1 naming the port and --port/--peer-port', async () => {
  const blocker = createServer();
  const port = await freePort();
  await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', () => resolve()));
  try {
    const result = peerkv(['start', '--port', String(port), '--peer-port', '0', '--no-discovery', '--data', tempDir()]);
    assert.equal(result.code, 1);
    assertOneLine(result.stderr, new RegExp(`port ${port} .*already in use.*--port/--peer-port`));
  } finally {
    blocker.close();
  }
});

test('data dir locked: a second node on the same --data exits 1 naming the running process', async () => {
  const first = await spawnNode();
  const [port, peerPort] = await freePorts(2);
  const result = peerkv(['start', '--port', String(port), '--peer-port', String(peerPort), '--no-discovery', '--data', first.dataDir]);
  assert.equal(result.code, 1);
  assertOneLine(result.stderr, new RegExp(`locked by running process ${first.pid}: stop that node or choose another --data`));
  assert.equal(await first.stop(), 0);
});

test('wrong password and no password (CLI with -a): one line that names -a', async () => {
  const node = await spawnNode({ extraArgs: ['--requirepass', 'right-password'] });
  const wrong = peerkv(['-p', String(node.port), '-a', 'wrong', 'get', 'k']);
  assert.equal(wrong.code, 1);
  assertOneLine(wrong.stderr, /AUTH failed: WRONGPASS .*\(check -a or PEERKV_PASSWORD\)/);
  const none = peerkv(['-p', String(node.port), 'get', 'k']);
  assert.equal(none.code, 1);
  assertOneLine(none.stderr, /NOAUTH .*\(pass -a PASSWORD, or set PEERKV_PASSWORD\)/);
  assert.equal(peerkv(['-p', String(node.port), '-a', 'right-password', 'set', 'k', 'v']).code, 0);
  assert.equal(await node.stop(), 0);
});

test('unreachable node (CLI): one line that says to start a node or check the address', async () => {
  const port = await freePort();
  const refused = peerkv(['-p', String(port), 'ping']);
  assert.equal(refused.code, 1);
  assertOneLine(refused.stderr, new RegExp(`cannot connect to 127\\.0\\.0\\.1:${port} \\(is a node running\\? start one with: peerkv start\\)`));
  const unknownHost = peerkv(['-h', 'no-such-host.invalid', 'ping']);
  assert.equal(unknownHost.code, 1);
  assertOneLine(unknownHost.stderr, /cannot resolve host of no-such-host\.invalid:\d+ \(check -h\)/);
});

test('a peer of another protocol version: the node logs one warning that says to run the same release', async () => {
  const node = await spawnNode({ extraArgs: ['--log-level', 'warn'] });
  const socket = connect({ host: '127.0.0.1', port: node.peerPort });
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const hello = encodePayload({
    v: 99,
    cluster: 'peerkv',
    hello: { id: randomBytes(16).toString('hex'), name: 'future-node', addr: '127.0.0.1:1', incarnation: 1 },
    nonce: randomBytes(32),
    auth: false,
  });
  const header = Buffer.alloc(4);
  header.writeUInt32BE(hello.length);
  socket.write(Buffer.concat([header, hello]));
  await waitFor(() => node.output().includes('speaks peer protocol version 99'), { timeoutMs: 10_000, what: 'the version warning' });
  assert.match(node.output(), /future-node \([0-9a-f]{8}\) at 127\.0\.0\.1:1 speaks peer protocol version 99, this node version \d+: link refused; run the same peerkv release on every node/);
  socket.destroy();
  assert.equal(await node.stop(), 0);
});

test('cluster key mismatch: both nodes log that a peer with another key tried to join; a keyed node says a keyless one lacks the key', async () => {
  const keyA = 'cluster-key-aaaaaaaaaaaaaaaa';
  const a = await spawnNode({ extraArgs: ['--log-level', 'warn', '--name', 'node-a', '--cluster-key', keyA] });
  const b = await spawnNode({ extraArgs: ['--log-level', 'warn', '--name', 'node-b', '--cluster-key', 'cluster-key-bbbbbbbbbbbbbbbb', '--join', `127.0.0.1:${a.peerPort}`] });
  await waitFor(() => a.output().includes('tried to join with another cluster key') && b.output().includes("refused this node's cluster key"), { timeoutMs: 15_000, what: 'a warning on both nodes' });
  assert.match(a.output(), /peer node-b \([0-9a-f]{8}\) at 127\.0\.0\.1:\d+ tried to join with another cluster key: refused; give every node the same --cluster-key/);
  assert.match(b.output(), /peer node-a \([0-9a-f]{8}\) at 127\.0\.0\.1:\d+ refused this node's cluster key: the two have different keys; give every node the same --cluster-key/);
  // Redialled every few seconds, yet logged once a minute at most.
  assert.equal(a.output().match(/tried to join with another cluster key/g)?.length, 1);

  const c = await spawnNode({ extraArgs: ['--log-level', 'warn', '--name', 'node-c', '--join', `127.0.0.1:${a.peerPort}`] });
  // The acceptor judges the dialer's hello first and refuses before answering: it is the one that says so.
  await waitFor(() => a.output().includes('has no cluster key, this node has one'), { timeoutMs: 15_000, what: 'the keyless warning' });
  assert.match(a.output(), /node-c \([0-9a-f]{8}\) at 127\.0\.0\.1:\d+ has no cluster key, this node has one: link refused; start it with the cluster's --cluster-key/);
  for (const node of [a, b, c]) assert.equal(await node.stop(), 0);
});

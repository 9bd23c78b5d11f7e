// Proves the runtime's lifecycle fault paths: overlapping stop() calls stop once, a refuted suspicion's new incarnation reaches later handshakes and the data directory, and --name is limited in bytes as the wire carries it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultNodeOptions, startNode, validateNodeOptions, type NodeHandle } from '../../src/index.js';
import { MEMBER_NAME_LENGTH_MAX } from '../../src/core/membership-messages.js';
import { createLogger } from '../../src/runtime/logger.js';

const logger = createLogger('silent');

function dataDir(): string {
  return mkdtempSync(join(tmpdir(), 'peerkv-lifecycle-'));
}

function start(dir: string, join: string[] = []): Promise<NodeHandle> {
  return startNode({ dataDir: dir, bind: '127.0.0.1', port: 0, peerPort: 0, discovery: false, join }, logger);
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('stop() called again while a stop is under way returns only when the node has stopped', async () => {
  const dir = dataDir();
  try {
    const node = await start(dir);
    let stopped = false;
    const first = node.stop().then(() => (stopped = true));
    const early: number[] = [];
    const later: Promise<void>[] = [];
    for (let turn = 0; !stopped; turn++) {
      later.push(node.stop().then(() => void (stopped || early.push(turn))));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all([first, ...later]);
    assert.deepEqual(early, [], 'calls made during the stop that returned before it finished');
    const again = await start(dir); // the data directory's lock was released
    await again.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('after refuting a suspicion, the new incarnation is in later handshakes and survives a restart', async () => {
  const dirA = dataDir();
  const dirB = dataDir();
  let a: NodeHandle | undefined;
  let b: NodeHandle | undefined;
  try {
    a = await start(dirA);
    const runtime = a.runtime;
    const before = runtime.self.incarnation;
    // A peer link up, then that peer's ping saying we are suspect at our incarnation.
    const peer = { id: 'f'.repeat(32), name: 'rumour', addr: '127.0.0.1:1', incarnation: 1 };
    runtime.input({ kind: 'linkUp', nowMs: runtime.nowMs(), peer });
    const gossip = [{ ...runtime.self, state: 'suspect' as const }];
    runtime.input({ kind: 'peerMessage', nowMs: runtime.nowMs(), from: peer.id, hlc: { wallMs: runtime.nowMs(), logical: 0 }, message: { type: 'ping', seq: 1, members: gossip } });
    assert.equal(runtime.core.membership.incarnation(), before + 1, 'the core refuted');
    assert.equal(runtime.self.incarnation, before + 1, 'the runtime introduces itself at the new incarnation');

    // A node that meets A only now hears the new incarnation in A's handshake.
    b = await start(dirB, [`127.0.0.1:${a.peerPort}`]);
    const nodeB = b.runtime;
    await until(() => nodeB.core.membership.members().some((member) => member.id === runtime.self.id && member.state === 'alive'), 'B to see A');
    const seen = nodeB.core.membership.members().find((member) => member.id === runtime.self.id)!;
    assert.equal(seen.incarnation, before + 1);

    // Restarted, A starts above the refuted incarnation.
    await a.stop();
    a = await start(dirA);
    assert.ok(a.runtime.self.incarnation > before + 1, `incarnation ${a.runtime.self.incarnation} after a restart`);
  } finally {
    await b?.stop();
    await a?.stop();
    rmSync(dirA, { recursive: true, force: true });
    rmSync(dirB, { recursive: true, force: true });
  }
});

test('--name is limited in UTF-8 bytes, the unit announcements and handshakes carry', () => {
  const tooLong = '€'.repeat(200); // 200 characters, 600 bytes
  const problems = validateNodeOptions(defaultNodeOptions({ name: tooLong }));
  assert.ok(
    problems.some((problem) => problem.startsWith('--name') && problem.includes('600 bytes')),
    problems.join('; '),
  );
  assert.deepEqual(validateNodeOptions(defaultNodeOptions({ name: '€'.repeat(Math.floor(MEMBER_NAME_LENGTH_MAX / 3)) })), []);
});

// Proves a full disk loses nothing and stops nothing: the LMDB store keeps writes whose commit failed (ENOSPC) visible and commits them once space returns; a node below its free-space reserve answers writes with MISCONF, keeps serving reads and takes writes again when space returns, and a restart finds every acknowledged write. Needs root (it mounts a small tmpfs of its own).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { Clients } from '../support/cluster.js';
import { NODE_RUNTIME, spawnNode, waitFor } from '../support/processes.js';

/** Whether this process may mount a tmpfs (root, and a kernel or container that allows it). */
function canMountTmpfs(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    mountTmpfs(1).unmount();
    return true;
  } catch {
    return false;
  }
}
const WRITER_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'support', 'disk-full-writer.js');
const MIB = 1024 * 1024;

/** A tmpfs of sizeMiB mounted for the test; removed (unmounted) by the returned function. */
function mountTmpfs(sizeMiB: number): { dir: string; unmount: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'peerkv-diskfull-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir]);
  return {
    dir,
    unmount: () => {
      execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const SKIP = canMountTmpfs() ? false : 'needs to mount a small tmpfs (root, and mounts allowed)';

for (const rowsPerWrite of [1, 300]) {
  test(`LMDB store: writes of ${rowsPerWrite} row(s) whose commit failed on a full disk stay readable and commit once space returns`, { skip: SKIP, timeout: 60_000 }, () => {
    const disk = mountTmpfs(16);
    try {
      const output = execFileSync(NODE_RUNTIME, [WRITER_SCRIPT, disk.dir, String(rowsPerWrite)], { encoding: 'utf8', timeout: 50_000, stdio: ['ignore', 'pipe', 'pipe'] });
      const seen = JSON.parse(output.trim().split('\n').pop()!) as {
        failure: string | null; issued: number; readableWhileFailing: number; acknowledgedWhileFailing: number;
        allSettled: boolean; failureAfter: string | null; committed: number; changes: (string | null)[];
      };
      assert.ok(seen.failure !== null, 'the disk filled up and a commit failed');
      assert.ok(seen.acknowledgedWhileFailing < seen.issued, 'some writes waited for their commit');
      assert.equal(seen.readableWhileFailing, seen.issued, 'every write stayed readable while its commit waited');
      assert.equal(seen.allSettled, true, 'every waiting write resolved once space returned');
      assert.equal(seen.failureAfter, null);
      assert.equal(seen.changes[seen.changes.length - 1], null, 'the recovery was reported');
      assert.equal(seen.committed, seen.issued, 'after reopening, every write is there');
    } finally {
      disk.unmount();
    }
  });
}

test('a node below its disk reserve answers writes with MISCONF, serves reads, still takes a peer\'s writes, and takes client writes again when space returns', { skip: SKIP, timeout: 90_000 }, async () => {
  const disk = mountTmpfs(64);
  const clients = new Clients();
  const node = await spawnNode({ dataDir: join(disk.dir, 'data'), extraArgs: ['--disk-reserve-mb', '32'] });
  const peer = await spawnNode({ extraArgs: ['--join', `127.0.0.1:${node.peerPort}`] });
  /** The reply, or an error reply's text. */
  const send = (redis: ReturnType<Clients['client']>, ...args: (string | number)[]): Promise<unknown> =>
    redis.call(String(args[0]), ...args.slice(1)).then((reply) => reply, (error: Error) => error.message);
  try {
    const client = clients.client(node);
    writeFileSync(join(disk.dir, 'filler'), Buffer.alloc(26 * MIB)); // leaves ~38 MiB, 6 above the reserve
    const value = 'x'.repeat(2000);
    const acknowledged: number[] = [];
    let misconf: string | undefined;
    for (let index = 0; index < 20_000 && misconf === undefined; index++) {
      const reply = await send(client, 'SET', `key:${index}`, value);
      if (reply === 'OK') acknowledged.push(index);
      else misconf = String(reply);
    }
    assert.match(misconf ?? '', /^MISCONF .*reserve/, 'writes are refused with MISCONF once below the reserve');
    assert.ok(acknowledged.length > 1000, `${acknowledged.length} writes before the reserve`);
    assert.equal(await send(client, 'GET', 'key:0'), value, 'reads keep working');
    assert.match(String(await send(client, 'INCR', 'counter')), /^MISCONF/);
    assert.match(String(await send(client, 'INFO', 'persistence')), /rdb_last_bgsave_status:err/);
    // A peer's writes still arrive and are stored: the reserve is room for them.
    const peerClient = clients.client(peer);
    for (let index = 0; index < 200; index++) assert.equal(await send(peerClient, 'SET', `peer:${index}`, value), 'OK');
    await waitFor(async () => (await send(client, 'GET', 'peer:199')) === value, { timeoutMs: 10_000, what: "the peer's writes readable on the full node" });
    assert.equal(node.child.exitCode, null, 'the node is still running');

    rmSync(join(disk.dir, 'filler'));
    await waitFor(async () => (await send(client, 'SET', 'after', '1')) === 'OK', { timeoutMs: 10_000, what: 'writes accepted again' });
    // Logged before the write succeeded, but read from the node's output only as this process's event loop turns.
    await waitFor(() => /refusing client writes \(MISCONF\)/.test(node.output()) && /takes writes again/.test(node.output()), { timeoutMs: 5_000, what: 'the MISCONF and recovery log lines' });

    clients.closeAll();
    await peer.stop();
    await node.stop();
    const again = await spawnNode({ dataDir: node.dataDir, extraArgs: ['--disk-reserve-mb', '32'] });
    try {
      const reader = clients.client(again);
      assert.equal(await send(reader, 'DBSIZE'), acknowledged.length + 1 + 200, "every acknowledged write, the peer's included");
      for (const index of [acknowledged[0]!, acknowledged[acknowledged.length - 1]!]) assert.equal(await send(reader, 'GET', `key:${index}`), value);
    } finally {
      clients.closeAll();
      await again.stop();
    }
  } finally {
    clients.closeAll();
    await peer.stop();
    await node.stop();
    disk.unmount();
  }
});

// Proves a second node cannot open a data directory a running node holds, that a lock
// left by kill -9 is taken over, and that a failed start leaves nothing running.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import { cleanupAll, freePorts, PEERKV_BIN, spawnNode } from '../support/processes.js';

after(cleanupAll);

test('a locked data directory refuses a second node; a stale lock is taken over', async () => {
  const first = await spawnNode();
  const [port, peerPort] = await freePorts(2);
  const second = spawnSync(process.execPath, [PEERKV_BIN, 'start', '--port', String(port), '--peer-port', String(peerPort), '--data', first.dataDir, '--no-discovery'], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(second.status, 1, second.stderr);
  assert.match(second.stderr, /in use|locked/);
  await first.stop('SIGKILL');
  const restarted = await spawnNode({ dataDir: first.dataDir });
  assert.equal(await restarted.stop('SIGTERM'), 0);
});

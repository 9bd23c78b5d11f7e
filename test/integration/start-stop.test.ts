// Proves SIGTERM right after the client port opens still gives a clean shutdown (exit 0), with discovery and the admin port starting in that window, that SHUTDOWN from a client is the same clean stop, and that a node that cannot bind its client port is never taken for whatever holds it.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { cleanupAll, freeDiscoveryPort, redisCli, sleep, spawnNode } from '../support/processes.js';

after(cleanupAll);

test('a SIGTERM during the last steps of start-up stops the node cleanly', async () => {
  for (let attempt = 0; attempt < 4; attempt++) {
    // Discovery and the admin port start after the client port accepts: the widest window.
    // The admin port is any free one (0): a port picked here could be taken before the node binds it.
    const node = await spawnNode({ discoveryPort: await freeDiscoveryPort(), extraArgs: ['--http-port', '0'] });
    const code = await node.stop('SIGTERM');
    assert.equal(code, 0, `attempt ${attempt}: exit ${code}\n${node.output().slice(-2000)}`);
    assert.match(node.output(), /"msg":"stopped"/);
  }
});

test('SAVE, BGSAVE and LASTSAVE answer as Redis; SHUTDOWN from redis-cli stops the node cleanly and its data is there after a restart', async () => {
  const node = await spawnNode();
  assert.equal(redisCli(node.port, ['SET', 'saved', 'yes']), 'OK');
  assert.equal(redisCli(node.port, ['SAVE']), 'OK');
  assert.equal(redisCli(node.port, ['BGSAVE']), 'Background saving started');
  const lastSave = Number(redisCli(node.port, ['LASTSAVE']));
  assert.ok(Math.abs(lastSave - Date.now() / 1000) < 60, `LASTSAVE ${lastSave}`);
  assert.match(redisCli(node.port, ['SHUTDOWN', 'ABORT']), /No shutdown in progress/);
  assert.match(redisCli(node.port, ['SHUTDOWN', 'BOGUS']), /syntax error/);
  const exited = once(node.child, 'close');
  redisCli(node.port, ['SHUTDOWN']);
  const [code] = (await Promise.race([exited, sleep(15_000).then(() => ['timeout'])])) as [number | string];
  assert.equal(code, 0, node.output().slice(-2000));
  assert.match(node.output(), /SHUTDOWN requested by a client/);
  assert.match(node.output(), /"msg":"stopped"/);
  const again = await spawnNode({ dataDir: node.dataDir });
  assert.equal(redisCli(again.port, ['GET', 'saved']), 'yes');
  assert.equal(await again.stop(), 0);
});

test('a node whose client port another process holds is reported as failing to start, not taken for that process', async () => {
  // What two tests picking one free port at once look like: the port answers, but not as this node.
  const squatter = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  const port = (squatter.address() as AddressInfo).port;
  try {
    await assert.rejects(spawnNode({ port }), /node exited early[\s\S]*EADDRINUSE/);
  } finally {
    squatter.close();
  }
});

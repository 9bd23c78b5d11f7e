// Proves SIGTERM right after the client port opens still gives a clean shutdown (exit 0), with discovery and the admin port starting in that window.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { cleanupAll, freePort, randomDiscoveryPort, spawnNode } from '../support/processes.js';

after(cleanupAll);

test('a SIGTERM during the last steps of start-up stops the node cleanly', async () => {
  for (let attempt = 0; attempt < 4; attempt++) {
    // Discovery and the admin port start after the client port accepts: the widest window.
    const node = await spawnNode({ discoveryPort: randomDiscoveryPort(), extraArgs: ['--http-port', String(await freePort())] });
    const code = await node.stop('SIGTERM');
    assert.equal(code, 0, `attempt ${attempt}: exit ${code}\n${node.output().slice(-2000)}`);
    assert.match(node.output(), /"msg":"stopped"/);
  }
});

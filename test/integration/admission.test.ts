// Proves on real nodes: min-replicas-to-write 1 on a 2-node cluster refuses writes (NOREPLICAS) once the other node is killed and accepts them again once it is back, with INFO replication following; and maxmemory stops writes once used memory (the process part plus the LMDB dataset, INFO used_memory_dataset) grows past it.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { cleanupAll, parseInfo, redisCli, spawnNode, waitFor, type NodeProcess } from '../support/processes.js';
import { Clients, startCluster } from '../support/cluster.js';

after(cleanupAll);

const { client, closeAll } = new Clients();
after(closeAll);

function discoveryPortOf(node: NodeProcess): number {
  return Number(node.args[node.args.indexOf('--discovery-port') + 1]);
}

function replication(node: NodeProcess): Map<string, string> {
  return parseInfo(redisCli(node.port, ['info', 'replication']));
}

describe('admission on real nodes', { concurrency: false }, () => {
  test('min-replicas-to-write 1: writes refused while the only peer is down, accepted once it is back', async () => {
    const [writer, peer] = (await startCluster(2)) as [NodeProcess, NodeProcess];
    const redis = client(writer);
    await waitFor(() => replication(writer).get('connected_slaves') === '1', { timeoutMs: 10_000, what: 'the peer linked' });
    assert.equal(await redis.config('SET', 'min-replicas-to-write', '1'), 'OK');
    assert.equal(await redis.set('guarded', 'one'), 'OK');
    assert.equal(replication(writer).get('min_slaves_good_slaves'), '1');

    await peer.stop('SIGKILL');
    // Writes in the moment before the link drop is seen (one sample, 100 ms) still go through.
    await waitFor(async () => (await redis.set('probe', 'two').catch((error: Error) => error.message)) === 'NOREPLICAS Not enough good replicas to write.', {
      timeoutMs: 10_000,
      what: 'writes refused once the peer is gone',
    });
    await assert.rejects(redis.set('guarded', 'two'), /^ReplyError: NOREPLICAS /);
    assert.equal(await redis.get('guarded'), 'one', 'reads still work');
    assert.equal(replication(writer).get('connected_slaves'), '0');

    const restarted = await spawnNode({ dataDir: peer.dataDir, port: peer.port, peerPort: peer.peerPort, discoveryPort: discoveryPortOf(writer) });
    await waitFor(async () => (await redis.set('guarded', 'three').catch(() => 'refused')) === 'OK', { timeoutMs: 15_000, what: 'writes accepted once the peer is back' });
    await waitFor(() => redisCli(restarted.port, ['get', 'guarded']) === 'three', { timeoutMs: 10_000, what: 'the write replicated' });
    await Promise.all([writer.stop(), restarted.stop()]);
  });

  test('maxmemory a little above the current use: writes get OOM once used memory grew past it; the dataset counts in used memory', async () => {
    const node = await spawnNode();
    const redis = client(node);
    const before = parseInfo(redisCli(node.port, ['info', 'memory']));
    const value = 'x'.repeat(256 * 1024);
    // The dataset part first, with no limit: when the refusal below comes depends on the heap
    // part too (garbage not yet collected counts until the collector runs), so it may come
    // before the dataset grew much.
    for (let index = 0; index < 16; index++) assert.equal(await redis.set(`big:${index}`, value), 'OK');
    const grown = parseInfo(redisCli(node.port, ['info', 'memory']));
    const dataset = Number(grown.get('used_memory_dataset'));
    assert.ok(dataset > Number(before.get('used_memory_dataset')) + 2 * 1024 * 1024, `dataset ${dataset} after 4 MiB of values`);
    assert.equal(Number(grown.get('used_memory')), Number(grown.get('used_memory_overhead')) + dataset, 'used memory is the overhead plus the dataset');

    const used = Number(grown.get('used_memory'));
    await redis.config('SET', 'maxmemory', String(used + 8 * 1024 * 1024));
    let refused: string | undefined;
    for (let index = 16; index < 400 && refused === undefined; index++) {
      refused = await redis.set(`big:${index}`, value).then(() => undefined, (error: Error) => error.message);
      if (index % 8 === 0) await new Promise((resolve) => setTimeout(resolve, 120)); // let a sample see the growth
    }
    assert.equal(refused, "OOM command not allowed when used memory > 'maxmemory'.");
    const memory = parseInfo(redisCli(node.port, ['info', 'memory']));
    // INFO samples memory at once and the dispatcher checks that sample: INFO and a SET sent in
    // one pipeline (one read, no timer between them) agree. The heap part moves with the
    // garbage collector, so the figure may have fallen back under maxmemory since the refusal.
    const [[, info], [setError]] = (await redis.pipeline().info('memory').set('probe', 'x').exec())!;
    const over = Number(parseInfo(String(info)).get('used_memory')) > Number(memory.get('maxmemory'));
    assert.equal(setError?.message, over ? "OOM command not allowed when used memory > 'maxmemory'." : undefined, String(info));
    assert.equal(await redis.del('big:0', 'big:1'), 2, 'deletes still run');
    assert.equal(await redis.config('SET', 'maxmemory', '0'), 'OK');
    assert.equal(await redis.set('after', '1'), 'OK');
    await node.stop();
  });
});

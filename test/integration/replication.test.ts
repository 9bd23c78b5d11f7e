// Proves writes reach every node of a real loopback cluster, concurrent writers converge
// byte-identically, a killed or brand-new node catches up, and a node whose clock runs
// beyond the max offset cannot win with its writes.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { spawnSync } from 'node:child_process';
import { cleanupAll, PEERKV_BIN, parseInfo, freeDiscoveryPort, redisCli, spawnNode, waitFor, type NodeProcess } from '../support/processes.js';
import { Clients, startCluster } from '../support/cluster.js';

after(cleanupAll);

const { client, closeAll } = new Clients();
after(closeAll);

const cluster = startCluster;

function discoveryPortOf(node: NodeProcess): number {
  return Number(node.args[node.args.indexOf('--discovery-port') + 1]);
}

/** Every live key and value of a node, sorted: equal dumps mean equal visible state. */
async function dump(node: NodeProcess): Promise<string> {
  const redis = client(node);
  const keys = (await redis.keys('*')).sort();
  const values = keys.length > 0 ? await redis.mget(...keys) : [];
  redis.disconnect();
  return JSON.stringify(keys.map((key, index) => [key, values[index]]));
}

function merkleRoot(node: NodeProcess): string | undefined {
  return parseInfo(redisCli(node.port, ['info', 'cluster'])).get('merkle_root');
}

describe('replication on a loopback cluster', { concurrency: false }, () => {
  test('a write on one node is readable on the others; deletes propagate', async () => {
    const nodes = await cluster(3);
    const [a, b, c] = nodes.map(client) as [Redis, Redis, Redis];
    const startedAt = performance.now();
    await a.set('greeting', 'hello');
    await waitFor(async () => (await b.get('greeting')) === 'hello' && (await c.get('greeting')) === 'hello', { timeoutMs: 5_000, intervalMs: 1, what: 'replicated value' });
    console.log(`# write on A visible on B and C after ${(performance.now() - startedAt).toFixed(1)} ms`);
    await b.del('greeting');
    await waitFor(async () => (await a.get('greeting')) === null && (await c.get('greeting')) === null, { timeoutMs: 5_000, what: 'replicated delete' });
    await a.set('ttl-key', 'v', 'PX', 300);
    await waitFor(async () => (await c.pttl('ttl-key')) > 0, { timeoutMs: 5_000, what: 'replicated TTL' });
    await waitFor(async () => (await c.get('ttl-key')) === null, { timeoutMs: 5_000, what: 'expiry everywhere' });
    await Promise.all(nodes.map((node) => node.stop()));
  });

  test('keyspace notifications name what happened, on the node that took the write and on the others', async () => {
    const nodes = await cluster(2);
    const [a] = nodes.map(client) as [Redis, Redis];
    const seen = new Map<number, string[]>();
    const subscribers = nodes.map((node, index) => {
      const subscriber = client(node);
      seen.set(index, []);
      subscriber.on('pmessage', (_pattern: string, channel: string, event: string) => {
        if (channel.endsWith(':kn') || channel.endsWith(':kn-ttl')) seen.get(index)!.push(`${channel.slice('__keyspace@0__:'.length)} ${event}`);
      });
      return subscriber;
    });
    await Promise.all(subscribers.map((subscriber) => subscriber.psubscribe('__keyspace@0__:*')));
    const expected: string[] = [];
    const step = async (action: () => Promise<unknown>, ...events: string[]) => {
      await action();
      expected.push(...events);
      await waitFor(() => [...seen.values()].every((seenEvents) => seenEvents.length === expected.length), { timeoutMs: 5_000, what: `events ${events.join(', ')} on both nodes` });
    };
    await step(() => a.set('kn', 'v'), 'kn set');
    await step(() => a.expire('kn', 100), 'kn expire');
    await step(() => a.persist('kn'), 'kn persist');
    await step(() => a.set('kn', 'v'), 'kn set');
    await step(() => a.del('kn'), 'kn del');
    await step(() => a.set('kn-ttl', 'v', 'PX', 200), 'kn-ttl set', 'kn-ttl expire'); // as Redis: set, then expire
    await step(async () => undefined, 'kn-ttl expired');
    for (const events of seen.values()) assert.deepEqual(events, expected);
    subscribers.forEach((subscriber) => subscriber.disconnect());
    await Promise.all(nodes.map((node) => node.stop()));
  });

  test('three nodes taking concurrent SET/DEL on the same 300 keys end identical', async () => {
    const nodes = await cluster(3);
    const redises = nodes.map(client);
    await Promise.all(
      redises.map(async (redis, writer) => {
        for (let round = 0; round < 5; round++) {
          const pipeline = redis.pipeline();
          for (let index = 0; index < 300; index++) {
            if ((index + round + writer) % 4 === 0) pipeline.del(`k${index}`);
            else pipeline.set(`k${index}`, `w${writer}-r${round}-${index}`);
          }
          await pipeline.exec();
        }
      }),
    );
    await waitFor(async () => {
      const dumps = await Promise.all(nodes.map(dump));
      return dumps.every((text) => text === dumps[0]) && new Set(nodes.map(merkleRoot)).size === 1;
    }, { timeoutMs: 15_000, intervalMs: 200, what: 'identical state and Merkle roots on all nodes' });
    await Promise.all(nodes.map((node) => node.stop()));
  });

  test('a node killed with kill -9 while 5,000 keys are written elsewhere has them all soon after restart', async () => {
    const nodes = await cluster(3);
    const [victim, writer, third] = nodes as [NodeProcess, NodeProcess, NodeProcess];
    await victim.stop('SIGKILL');
    const redis = client(writer);
    const pipeline = redis.pipeline();
    for (let index = 0; index < 5_000; index++) pipeline.set(`after-kill:${index}`, `value-${index}`);
    await pipeline.exec();
    const restartedAt = Date.now();
    const restarted = await spawnNode({ dataDir: victim.dataDir, port: victim.port, peerPort: victim.peerPort, discoveryPort: discoveryPortOf(writer) });
    await waitFor(() => redisCli(restarted.port, ['dbsize']) === '5000', { timeoutMs: 20_000, intervalMs: 100, what: 'restarted node to hold 5,000 keys' });
    console.log(`# restarted node caught up on 5,000 keys ${Date.now() - restartedAt} ms after restart`);
    assert.equal(await dump(restarted), await dump(third));
    await Promise.all([restarted, writer, third].map((node) => node.stop()));
  });

  test('a node started empty into a cluster with data gets everything', async () => {
    const nodes = await cluster(2);
    const redis = client(nodes[0]!);
    const pipeline = redis.pipeline();
    for (let index = 0; index < 20_000; index++) pipeline.set(`seeded:${index}`, `v${index}`);
    await pipeline.exec();
    await redis.set('binary', Buffer.from([0, 255, 13, 10, 7]));
    const joinedAt = Date.now();
    const newcomer = await spawnNode({ discoveryPort: discoveryPortOf(nodes[0]!) });
    await waitFor(() => redisCli(newcomer.port, ['dbsize']) === '20001', { timeoutMs: 30_000, intervalMs: 100, what: 'newcomer to hold every key' });
    console.log(`# empty node received 20,001 keys in ${Date.now() - joinedAt} ms (process start included)`);
    const check = client(newcomer);
    assert.deepEqual(await check.getBuffer('binary'), Buffer.from([0, 255, 13, 10, 7]));
    assert.equal(await dump(newcomer), await dump(nodes[1]!));
    await Promise.all([...nodes, newcomer].map((node) => node.stop()));
  });

  test('peerkv get --quorum reads from a majority and fails clearly without one', async () => {
    const nodes = await cluster(3);
    const [a, b, c] = nodes as [NodeProcess, NodeProcess, NodeProcess];
    const cli = (node: NodeProcess, args: string[]) =>
      spawnSync(process.execPath, [PEERKV_BIN, '-p', String(node.port), ...args], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(cli(a, ['set', 'q', 'quorum-value', '--ack', 'all']).status, 0);
    const read = cli(c, ['get', '--quorum', 'q']);
    assert.equal(read.status, 0, read.stderr);
    assert.equal(read.stdout.trim(), 'quorum-value');
    await Promise.all([a, b].map((node) => node.stop('SIGKILL')));
    await waitFor(() => parseInfo(redisCli(c.port, ['info', 'cluster'])).get('members_dead') === '2', { timeoutMs: 10_000, what: 'two dead members' });
    const lonely = cli(c, ['get', '--quorum', 'q']);
    assert.equal(lonely.status, 1);
    assert.match(lonely.stderr, /quorum/);
    assert.equal(cli(c, ['get', 'q']).stdout.trim(), 'quorum-value', 'a plain local read still works');
    await c.stop();
  });

  test('a node away longer than the tombstone grace resyncs instead of bringing a deleted key back', async () => {
    const grace = ['--tombstone-grace-ms', '3000'];
    const discoveryPort = await freeDiscoveryPort();
    const nodes = await cluster(3, discoveryPort, grace);
    const [a, b, away] = nodes as [NodeProcess, NodeProcess, NodeProcess];
    redisCli(a.port, ['set', 'deleted-while-away', 'old']);
    redisCli(a.port, ['set', 'kept', 'value']);
    await waitFor(() => redisCli(away.port, ['get', 'deleted-while-away']) === 'old', { timeoutMs: 5_000, what: 'replicated before the absence' });
    assert.equal(await away.stop('SIGTERM'), 0);
    assert.equal(redisCli(a.port, ['del', 'deleted-while-away']), '1');
    await waitFor(() => [a, b].every((node) => Number(parseInfo(redisCli(node.port, ['info'])).get('tombstones_purged') ?? 0) >= 1), {
      timeoutMs: 15_000,
      intervalMs: 200,
      what: 'the tombstone purged after the grace on the nodes that stayed',
    });
    const back = await spawnNode({ dataDir: away.dataDir, port: away.port, peerPort: away.peerPort, discoveryPort, extraArgs: grace });
    await waitFor(() => parseInfo(redisCli(back.port, ['info'])).get('resync_active') === '0' && redisCli(back.port, ['get', 'kept']) === 'value', {
      timeoutMs: 20_000,
      intervalMs: 100,
      what: 'resync to finish',
    }).catch((error: unknown) => {
      console.log(back.output().split('\n').filter((line) => /resync|anti-entropy|warn|error/i.test(line)).join('\n'));
      console.log(redisCli(back.port, ['info', 'cluster']));
      throw error;
    });
    // The node logged it before it served the read above, but this process reads the node's
    // output only when its event loop turns (waitFor's redis-cli calls block it): wait for it.
    await waitFor(() => /resyncing from a current peer/.test(back.output()), { timeoutMs: 5_000, what: 'the resync log line' });
    // Give anti-entropy a few rounds: the old value must not come back anywhere.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    for (const node of [a, b, back]) assert.equal(redisCli(node.port, ['exists', 'deleted-while-away']), '0');
    await Promise.all([a, b, back].map((node) => node.stop()));
  });

  test('a stalled peer pauses client reads instead of buffering without bound, then everything lands', async () => {
    const nodes = await cluster(2);
    const [writer, stalled] = nodes as [NodeProcess, NodeProcess];
    const redis = client(writer);
    const value = Buffer.alloc(1024 * 1024, 0x5a);
    process.kill(stalled.pid, 'SIGSTOP');
    const pipeline = redis.pipeline();
    for (let index = 0; index < 48; index++) pipeline.set(`big:${index}`, value);
    const written = pipeline.exec();
    // However slow the machine, the writer must pause its clients before 48 MiB pile up for the stalled peer.
    const backpressureEvents = () => Number(parseInfo(redisCli(writer.port, ['info'])).get('client_backpressure_events') ?? 0);
    try {
      await waitFor(() => backpressureEvents() >= 1, { timeoutMs: 20_000, intervalMs: 100, what: 'client backpressure while the peer is stopped' });
    } finally {
      process.kill(stalled.pid, 'SIGCONT');
    }
    const results = await written;
    assert.ok(results!.every(([error, reply]) => error === null && reply === 'OK'));
    await waitFor(() => redisCli(stalled.port, ['dbsize']) === '48', { timeoutMs: 20_000, intervalMs: 200, what: 'all big values on the stalled peer' });
    await Promise.all(nodes.map((node) => node.stop()));
  });

  test('a node whose clock runs beyond the max offset cannot win; the drops show in INFO', async () => {
    const discoveryPort = await freeDiscoveryPort();
    const honest = await cluster(2, discoveryPort);
    const skewed = await spawnNode({ discoveryPort, extraArgs: ['--clock-offset-ms', '5000'] });
    const honestClient = client(honest[0]!);
    await client(skewed).set('contested', 'from-the-future');
    await honestClient.set('contested', 'honest');
    await waitFor(() => Number(parseInfo(redisCli(honest[0]!.port, ['info'])).get('clock_offset_drops') ?? 0) > 0, {
      timeoutMs: 10_000,
      what: 'clock_offset_drops in INFO',
    });
    for (const node of honest) assert.equal(redisCli(node.port, ['get', 'contested']), 'honest');
    await Promise.all([...honest, skewed].map((node) => node.stop()));
  });
});

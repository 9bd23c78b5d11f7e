// Shared by the integration tests: ioredis clients that never reconnect (nodes are stopped
// while clients may still be open), closed together after the file's tests, and a
// loopback cluster of real nodes that see each other before the test goes on.
import { Redis } from 'ioredis';
import { parseInfo, freeDiscoveryPort, redisCli, spawnNode, waitFor, type NodeProcess } from './processes.js';

export class Clients {
  private readonly open: Redis[] = [];

  /** A client of node; closed by closeAll. */
  readonly client = (node: NodeProcess): Redis => {
    const redis = new Redis({ port: node.port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => null });
    redis.on('error', () => undefined);
    this.open.push(redis);
    return redis;
  };

  readonly closeAll = (): void => {
    for (const redis of this.open.splice(0)) redis.disconnect();
  };
}

/** `count` nodes on one discovery port, once every node counts them all alive. */
export async function startCluster(count: number, port?: number, extraArgs: string[] = []): Promise<NodeProcess[]> {
  const discoveryPort = port ?? (await freeDiscoveryPort());
  const nodes = await Promise.all(Array.from({ length: count }, () => spawnNode({ discoveryPort, extraArgs })));
  try {
    await waitFor(() => nodes.every((node) => parseInfo(redisCli(node.port, ['info', 'cluster'])).get('members_alive') === String(count)), {
      timeoutMs: 10_000,
      what: `members_alive:${count}`,
    });
  } catch (error) {
    // What each node saw, so a formation that failed once on a loaded machine can be explained.
    const views = nodes.map((node) => `--- node port ${node.port} peer ${node.peerPort}\n${redisCli(node.port, ['info', 'cluster'])}\n${node.output().split('\n').slice(-40).join('\n')}`);
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${views.join('\n')}`);
  }
  return nodes;
}

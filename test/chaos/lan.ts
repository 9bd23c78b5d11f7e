// The chaos run's private LAN: one bridge namespace, a namespace per node and one for the
// clients, joined by veth pairs. Faults: a cable pulled (the node's bridge port down),
// dropped traffic by source (policy rules in the receiving namespace: a partition is both
// sides dropping the other, one-way loss only one side) and shaping (tbf: this kernel has
// no sch_netem, so delay and loss come from a slow, short queue). Nothing outside these
// namespaces is touched; destroy() deletes them all.
import { spawnSync } from 'node:child_process';

export interface ChaosHost {
  readonly namespace: string;
  readonly address: string;
  /** Its veth end inside the bridge namespace. */
  readonly bridgePort: string;
  readonly exec: readonly string[];
}

export interface ChaosLan {
  readonly nodes: readonly ChaosHost[];
  readonly client: ChaosHost;
  cut(index: number): void;
  restore(index: number): void;
  /** Node `index` drops every packet from these nodes. */
  dropFrom(index: number, sources: readonly number[]): void;
  /** Delay/loss by a token bucket on both directions of node `index`'s cable. */
  shape(index: number, rate: string, burst: string, limit: string): void;
  /** Undo every fault: cables in, rules and shaping gone. */
  heal(): void;
  destroy(): void;
}

export const TAG_PREFIX = 'pkc';

function run(args: readonly string[], allowFailure = false): void {
  const result = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  if (result.status !== 0 && !allowFailure) throw new Error(`${args.join(' ')} failed: ${result.stderr || result.error}`);
}

/** Namespaces left by a chaos run whose process is gone (a run killed with -9). */
export function removeStaleNamespaces(): string[] {
  const listed = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  const removed: string[] = [];
  for (const line of listed.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const match = new RegExp(`^${TAG_PREFIX}(\\d+)`).exec(name);
    if (match === null) continue;
    const owner = Number(match[1]);
    let alive = true;
    try {
      process.kill(owner, 0);
    } catch {
      alive = false;
    }
    if (!alive) {
      run(['ip', 'netns', 'del', name], true);
      removed.push(name);
    }
  }
  return removed;
}

export function createChaosLan(nodeCount: number): ChaosLan {
  const tag = `${TAG_PREFIX}${process.pid}`;
  const subnet = 150 + (process.pid % 50);
  const bridgeNamespace = `${tag}br`;
  const names = [...Array.from({ length: nodeCount }, (_, index) => `${tag}n${index}`), `${tag}cl`];
  const cleanup = () => {
    for (const name of names) run(['ip', 'netns', 'del', name], true);
    run(['ip', 'netns', 'del', bridgeNamespace], true);
  };
  cleanup();
  const hosts: ChaosHost[] = [];
  try {
    run(['ip', 'netns', 'add', bridgeNamespace]);
    run(['ip', '-n', bridgeNamespace, 'link', 'add', 'br0', 'type', 'bridge']);
    run(['ip', '-n', bridgeNamespace, 'link', 'set', 'br0', 'up']);
    names.forEach((namespace, index) => {
      const address = `10.${subnet}.0.${index === nodeCount ? 100 : index + 1}`;
      const bridgePort = `b${index}`;
      run(['ip', 'netns', 'add', namespace]);
      run(['ip', '-n', namespace, 'link', 'set', 'lo', 'up']);
      run(['ip', '-n', bridgeNamespace, 'link', 'add', bridgePort, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace]);
      run(['ip', '-n', bridgeNamespace, 'link', 'set', bridgePort, 'master', 'br0']);
      run(['ip', '-n', bridgeNamespace, 'link', 'set', bridgePort, 'up']);
      run(['ip', '-n', namespace, 'addr', 'add', `${address}/24`, 'broadcast', `10.${subnet}.0.255`, 'dev', 'eth0']);
      run(['ip', '-n', namespace, 'link', 'set', 'eth0', 'up']);
      // Local delivery is decided after the drop rules (pref 10), so they see every packet.
      run(['ip', '-n', namespace, 'rule', 'add', 'pref', '100', 'lookup', 'local']);
      run(['ip', '-n', namespace, 'rule', 'del', 'pref', '0']);
      hosts.push({ namespace, address, bridgePort, exec: ['ip', 'netns', 'exec', namespace] });
    });
  } catch (error) {
    cleanup();
    throw error;
  }
  const nodes = hosts.slice(0, nodeCount);
  const clearRules = (host: ChaosHost) => {
    for (;;) {
      const result = spawnSync('ip', ['-n', host.namespace, 'rule', 'del', 'pref', '10'], { encoding: 'utf8' });
      if (result.status !== 0) break;
    }
  };
  return {
    nodes,
    client: hosts[nodeCount]!,
    cut: (index) => run(['ip', '-n', bridgeNamespace, 'link', 'set', nodes[index]!.bridgePort, 'down']),
    restore: (index) => run(['ip', '-n', bridgeNamespace, 'link', 'set', nodes[index]!.bridgePort, 'up']),
    dropFrom(index, sources) {
      for (const source of sources) run(['ip', '-n', nodes[index]!.namespace, 'rule', 'add', 'pref', '10', 'from', nodes[source]!.address, 'blackhole']);
    },
    shape(index, rate, burst, limit) {
      const host = nodes[index]!;
      run(['tc', '-n', host.namespace, 'qdisc', 'replace', 'dev', 'eth0', 'root', 'tbf', 'rate', rate, 'burst', burst, 'limit', limit]);
      run(['tc', '-n', bridgeNamespace, 'qdisc', 'replace', 'dev', host.bridgePort, 'root', 'tbf', 'rate', rate, 'burst', burst, 'limit', limit]);
    },
    heal() {
      for (const host of nodes) {
        run(['ip', '-n', bridgeNamespace, 'link', 'set', host.bridgePort, 'up'], true);
        clearRules(host);
        run(['tc', '-n', host.namespace, 'qdisc', 'del', 'dev', 'eth0', 'root'], true);
        run(['tc', '-n', bridgeNamespace, 'qdisc', 'del', 'dev', host.bridgePort, 'root'], true);
      }
    },
    destroy: cleanup,
  };
}

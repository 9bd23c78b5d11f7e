// A private LAN made of network namespaces that the test creates itself: one namespace
// holding a bridge and N host namespaces, each joined to it by a veth pair. Nothing here
// touches the machine's own interfaces; everything is deleted by destroy().
import { spawnSync } from 'node:child_process';

export interface Lan {
  readonly hosts: readonly LanHost[];
  readonly bridgeNamespace: string;
  /** Take host i's cable out (its veth end on the bridge goes down). */
  cut(index: number): void;
  restore(index: number): void;
  destroy(): void;
}

export interface LanHost {
  readonly namespace: string;
  readonly address: string;
  /** Prefix for spawning a command inside this host. */
  readonly exec: readonly string[];
}

function run(args: string[]): void {
  const result = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${args.join(' ')} failed: ${result.stderr || result.error}`);
}

/** True when this process may create namespaces (root with iproute2 and netns support). */
export function netnsAvailable(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = `pkvprobe${process.pid}`;
  const created = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (created.status !== 0) return false;
  spawnSync('ip', ['netns', 'del', probe]);
  return true;
}

/** Hosts get 10.<subnet>.0.(i+1)/24; subnet is chosen per test run to avoid clashes. */
export function createLan(hostCount: number, subnet = 200 + (process.pid % 50)): Lan {
  const tag = `pkv${process.pid % 100_000}`;
  const bridgeNamespace = `${tag}br`;
  const hosts: LanHost[] = [];
  const cleanup = () => {
    for (let index = 0; index < hostCount; index++) spawnSync('ip', ['netns', 'del', `${tag}h${index}`]);
    spawnSync('ip', ['netns', 'del', bridgeNamespace]);
  };
  cleanup();
  try {
    run(['ip', 'netns', 'add', bridgeNamespace]);
    run(['ip', '-n', bridgeNamespace, 'link', 'add', 'br0', 'type', 'bridge']);
    run(['ip', '-n', bridgeNamespace, 'link', 'set', 'br0', 'up']);
    run(['ip', '-n', bridgeNamespace, 'link', 'set', 'lo', 'up']);
    for (let index = 0; index < hostCount; index++) {
      const namespace = `${tag}h${index}`;
      const address = `10.${subnet}.0.${index + 1}`;
      run(['ip', 'netns', 'add', namespace]);
      run(['ip', '-n', namespace, 'link', 'set', 'lo', 'up']);
      run(['ip', '-n', bridgeNamespace, 'link', 'add', `b${index}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace]);
      run(['ip', '-n', bridgeNamespace, 'link', 'set', `b${index}`, 'master', 'br0']);
      run(['ip', '-n', bridgeNamespace, 'link', 'set', `b${index}`, 'up']);
      run(['ip', '-n', namespace, 'addr', 'add', `${address}/24`, 'broadcast', `10.${subnet}.0.255`, 'dev', 'eth0']);
      run(['ip', '-n', namespace, 'link', 'set', 'eth0', 'up']);
      hosts.push({ namespace, address, exec: ['ip', 'netns', 'exec', namespace] });
    }
  } catch (error) {
    cleanup();
    throw error;
  }
  return {
    hosts,
    bridgeNamespace,
    cut: (index) => run(['ip', '-n', bridgeNamespace, 'link', 'set', `b${index}`, 'down']),
    restore: (index) => run(['ip', '-n', bridgeNamespace, 'link', 'set', `b${index}`, 'up']),
    destroy: cleanup,
  };
}

/** redis-cli run inside a host namespace. */
export function hostCli(host: LanHost, port: number, args: readonly string[]): string {
  const result = spawnSync(host.exec[0]!, [...host.exec.slice(1), 'redis-cli', '-h', host.address, '-p', String(port), ...args], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (result.error) throw result.error;
  return result.stdout.trim();
}

// Starting redis-server and peerkv nodes for the benchmark, each on free ports with its
// own temp data dir. A "stub" mode stands a redis-server in for peerkv (replicaof for
// joins), so the harness itself can be developed and checked without a working node.
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  freeTcpPort, freeTcpPortPair, makeTempDir, removeTempDir, startChild, stopChild, waitForPing, type Child,
} from './processes.js';

export const REPOSITORY_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PEERKV_BIN = join(REPOSITORY_ROOT, 'bin', 'peerkv');
const NODE_BASELINE_SCRIPT = join(REPOSITORY_ROOT, 'dist', 'bench', 'node-baseline-server.js');

export type ServerKind = 'redis' | 'peerkv' | 'peerkv-stub' | 'node-baseline';

export interface Server {
  readonly name: string;
  readonly kind: ServerKind;
  readonly port: number;
  /** Peer TCP port (peerkv only; 0 otherwise). */
  readonly peerPort: number;
  readonly dataDir: string;
  readonly child: Child;
}

export interface PeerkvStartOptions {
  readonly name: string;
  /** Discovery UDP port shared by the nodes of one cluster; undefined = --no-discovery. */
  readonly discoveryPort?: number;
  /** Already running nodes to seed from (--join); the stub replicates from the first. */
  readonly joinTo?: readonly Server[];
  /** Extra node flags for the peerkv process (e.g. --cpu-prof). */
  readonly nodeFlags?: readonly string[];
  /** Use redis-server in place of peerkv (harness development only). */
  readonly stub?: boolean;
  /** The JavaScript runtime to run the node on (default: this Node.js; findBun() for Bun). */
  readonly runtime?: string;
}

export async function startRedis(name: string, extraArgs: readonly string[] = []): Promise<Server> {
  const port = await freeTcpPort();
  const dataDir = makeTempDir(name);
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec',
    '--dir', dataDir, '--daemonize', 'no', ...extraArgs,
  ];
  return await ready({ name, kind: 'redis', port, peerPort: 0, dataDir, child: startChild(name, 'redis-server', args) });
}

/** The minimal Node.js RESP server (bench/node-baseline-server.ts): the runtime's ceiling. */
export async function startNodeBaseline(name: string, runtime = process.execPath, runtimeFlags: readonly string[] = []): Promise<Server> {
  const port = await freeTcpPort();
  const dataDir = makeTempDir(name);
  return await ready({ name, kind: 'node-baseline', port, peerPort: 0, dataDir, child: startChild(name, runtime, [...runtimeFlags, NODE_BASELINE_SCRIPT, String(port)]) });
}

/**
 * A Bun binary to run the Bun rows with: PEERKV_BENCH_BUN, else `bun` on the PATH, else the
 * npm package's in this checkout (`npm install --no-save bun`); undefined when there is none.
 */
export function findBun(): string | undefined {
  const candidates = [process.env.PEERKV_BENCH_BUN, ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'bun')), join(REPOSITORY_ROOT, 'node_modules', '.bin', 'bun')];
  return candidates.find((path): path is string => path !== undefined && path !== '' && existsSync(path));
}

export async function startPeerkv(options: PeerkvStartOptions): Promise<Server> {
  if (options.stub === true) {
    const seed = options.joinTo?.[0];
    const extra = ['--notify-keyspace-events', 'KA', ...(seed === undefined ? [] : ['--replicaof', '127.0.0.1', String(seed.port)])];
    const server = await startRedis(options.name, extra);
    return { ...server, kind: 'peerkv-stub' };
  }
  const port = await freeTcpPortPair();
  const dataDir = makeTempDir(options.name);
  const args = [
    ...(options.nodeFlags ?? []), PEERKV_BIN, 'start',
    '--port', String(port), '--peer-port', String(port + 1), '--data', dataDir, '--log-level', 'warn',
    '--name', options.name,
  ];
  if (options.discoveryPort === undefined) args.push('--no-discovery');
  else args.push('--discovery-port', String(options.discoveryPort));
  const seeds = (options.joinTo ?? []).map((server) => `127.0.0.1:${server.peerPort}`);
  if (seeds.length > 0) args.push('--join', seeds.join(','));
  const child = startChild(options.name, options.runtime ?? process.execPath, args);
  return await ready({ name: options.name, kind: 'peerkv', port, peerPort: port + 1, dataDir, child });
}

async function ready(server: Server): Promise<Server> {
  try {
    await waitForPing(server.port, server.child);
    return server;
  } catch (error) {
    await stopServer(server);
    throw error;
  }
}

export async function stopServer(server: Server): Promise<void> {
  await stopChild(server.child);
  removeTempDir(server.dataDir);
}

/** Why a failure happened, when one of the servers died: its exit status and last output. */
export async function diagnose(servers: readonly (Server | undefined)[]): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, 200)); // let a dying child's exit event arrive
  const dead = servers.filter((server): server is Server => server !== undefined && server.child.exited());
  return dead.map((server) => ` [${server.name} died (${server.child.exitStatus()}): ${server.child.output().trim().slice(-800) || 'no output'}]`).join('');
}

export function redisServerVersion(): string {
  try {
    const text = execFileSync('redis-server', ['--version'], { encoding: 'utf8' });
    return /v=(\S+)/.exec(text)?.[1] ?? text.trim();
  } catch {
    return 'unknown';
  }
}

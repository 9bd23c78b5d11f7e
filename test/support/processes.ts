// Helpers for tests that run real `bin/peerkv start` processes on loopback: free ports,
// temp data dirs, readiness, INFO parsing, and killing everything they started by PID.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { Redis } from 'ioredis';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reservePort } from '../../src/runtime/ports.js';


/** The runtime the spawned nodes run on: this Node.js, or PEERKV_TEST_RUNTIME (a Bun binary for the Bun smoke run in .ci/run). */
export const NODE_RUNTIME = process.env.PEERKV_TEST_RUNTIME ?? process.execPath;
export const PEERKV_BIN = join(process.cwd(), 'bin', 'peerkv');

export interface NodeProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  readonly peerPort: number;
  readonly dataDir: string;
  readonly args: readonly string[];
  output(): string;
  /** Kill with a signal and wait for exit (SIGKILL after a grace period). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const started = new Set<NodeProcess>();
const tempDirs = new Set<string>();

export function tempDir(prefix = 'peerkv-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** A free TCP port on 127.0.0.1 (and usually free for UDP too). */
export const freePort = (): Promise<number> => reservePort('127.0.0.1');

/**
 * `count` distinct free ports. A port picked by binding port 0 is free again once closed,
 * so the next pick may return it: two picks alone can collide (a node then refuses to start).
 */
export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  return ports;
}

/** Discovery ports are picked in [20000, 32768): below Linux's ephemeral range (32768-60999), where the nodes' own sending sockets and other programs' ports land. */
const DISCOVERY_PORT_LOWEST = 20_000;
const DISCOVERY_PORT_COUNT = 12_768;

/**
 * A UDP port for a test's private discovery group: random, and not in use by another
 * group at the moment (two groups on one port would discover each other). Nodes listen on
 * the loopback broadcast address with SO_REUSEADDR, so a bind there without it fails while
 * any node listens.
 */
export async function freeDiscoveryPort(): Promise<number> {
  for (;;) {
    const port = DISCOVERY_PORT_LOWEST + Math.floor(Math.random() * DISCOVERY_PORT_COUNT);
    const socket = dgram.createSocket({ type: 'udp4' });
    const bound = await new Promise<boolean>((resolve) => {
      socket.once('error', () => resolve(false));
      socket.bind(port, '127.255.255.255', () => resolve(true));
    });
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    if (bound) return port;
  }
}

export interface SpawnOptions {
  readonly dataDir?: string;
  readonly port?: number;
  readonly peerPort?: number;
  readonly discoveryPort?: number;
  readonly extraArgs?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Command prefix, e.g. ['ip', 'netns', 'exec', 'ns1'] for namespace tests. */
  readonly prefix?: readonly string[];
  readonly readyTimeoutMs?: number;
}

/** Tries with fresh ports when ports picked here were taken meanwhile (another test process bound one first). */
const SPAWN_PORT_ATTEMPTS = 3;

export async function spawnNode(options: SpawnOptions = {}): Promise<NodeProcess> {
  const ownPorts = options.port === undefined && options.peerPort === undefined;
  const dataDir = options.dataDir ?? tempDir();
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnNodeOnce({ ...options, dataDir });
    } catch (error) {
      const portTaken = error instanceof Error && error.message.includes('EADDRINUSE');
      if (!ownPorts || !portTaken || attempt >= SPAWN_PORT_ATTEMPTS) throw error;
    }
  }
}

async function spawnNodeOnce(options: SpawnOptions & { readonly dataDir: string }): Promise<NodeProcess> {
  const picked = await freePorts(3);
  const port = options.port ?? picked.find((candidate) => candidate !== options.peerPort)!;
  const peerPort = options.peerPort ?? picked.find((candidate) => candidate !== port)!;
  const dataDir = options.dataDir;
  const args = [
    PEERKV_BIN,
    'start',
    '--port',
    String(port),
    '--peer-port',
    String(peerPort),
    '--data',
    dataDir,
    '--log-level',
    'info',
    ...(options.discoveryPort !== undefined ? ['--discovery-port', String(options.discoveryPort)] : ['--no-discovery']),
    ...(options.extraArgs ?? []),
  ];
  const command = [...(options.prefix ?? []), NODE_RUNTIME, ...args];
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // 'close', not 'exit': it comes once the child's output is read to the end, so a test that
  // stopped a node sees every line it logged.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const node: NodeProcess = {
    child,
    pid: child.pid!,
    port,
    peerPort,
    dataDir,
    args,
    output: () => output,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      started.delete(node);
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  started.add(node);
  const host = options.prefix !== undefined ? undefined : '127.0.0.1';
  if (host !== undefined) {
    // The port must be this node's: another test's process may hold it (two picks of one free
    // port), and then answers while this node fails to bind it. The node says so in its log,
    // or, logging less, in INFO's process_id.
    const listening = `"port":${port},"msg":"client port listening"`;
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`node exited early:\n${output}`);
        return output.includes(listening) || (await infoProcessId(host, port)) === child.pid;
      },
      { timeoutMs: options.readyTimeoutMs ?? 15_000, what: `node on port ${port} to accept clients` },
    );
  }
  return node;
}

/** process_id from INFO server of whatever answers on host:port; undefined if nothing answers so (closed, refused, NOAUTH, not RESP). */
async function infoProcessId(host: string, port: number): Promise<number | undefined> {
  const redis = new Redis({ host, port, lazyConnect: true, enableReadyCheck: false, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000, commandTimeout: 1_000 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const pid = Number(parseInfo(await redis.info('server')).get('process_id'));
    return Number.isInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  } finally {
    redis.disconnect();
  }
}

export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The admin HTTP port of a node started with `--http-port 0` (any free port: no race with other tests), from its log. */
export function adminHttpPort(node: NodeProcess): Promise<number> {
  return waitFor(
    () => {
      const match = /"port":(\d+),"msg":"admin HTTP listening"/.exec(node.output());
      return match === null ? undefined : Number(match[1]);
    },
    { timeoutMs: 15_000, what: 'the admin HTTP port in the node\'s log' },
  );
}

export async function waitFor<T>(
  probe: () => Promise<T | false | undefined | null> | T | false | undefined | null,
  options: { timeoutMs: number; intervalMs?: number; what: string },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== false && value !== undefined && value !== null) return value;
    } catch (error) {
      lastError = error;
      if (error instanceof Error && error.message.startsWith('node exited early')) throw error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}${lastError ? `: ${String(lastError)}` : ''}`);
    await sleep(options.intervalMs ?? 50);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Run redis-cli synchronously; returns trimmed stdout. */
export function redisCli(port: number, args: readonly string[], host = '127.0.0.1'): string {
  const result = spawnSync('redis-cli', ['-h', host, '-p', String(port), ...args], { encoding: 'utf8', timeout: 20_000 });
  if (result.error) throw result.error;
  return result.stdout.trim();
}

/** INFO as a name -> value map (all sections). */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const index = line.indexOf(':');
    if (index > 0 && !line.startsWith('#')) fields.set(line.slice(0, index), line.slice(index + 1).trim());
  }
  return fields;
}

/** Stop every node still running and remove temp dirs: call from `after()`. */
export async function cleanupAll(): Promise<void> {
  await Promise.all([...started].map((node) => node.stop('SIGKILL')));
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

process.once('exit', () => {
  for (const node of started) node.child.kill('SIGKILL');
});

// Real `bin/peerkv start` processes for the membership benchmark: spawned together on
// loopback with one private discovery port, watched for their ready line, polled over
// persistent INFO connections, and killed by PID on exit or SIGINT.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeTcpPort, freeUdpPort } from './processes.js';

export { freeUdpPort };

/** dist/bench/membership-nodes.js -> <repo>/bin/peerkv */
const PEERKV_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'peerkv');
/** The line a node prints once its client and peer ports listen. */
const READY_MARKER = 'peerkv ready';
/** Enough of a node's output to say why it failed to start. */
const OUTPUT_TAIL_CHARS_MAX = 4_000;
/** An INFO that takes longer than this counts as a failed poll (the node may be dead). */
const INFO_TIMEOUT_MS = 2_000;
/** SIGTERM before SIGKILL when stopping a node at the end of a measurement. */
const STOP_GRACE_MS = 3_000;

export interface BenchNode {
  readonly index: number;
  readonly port: number;
  readonly peerPort: number;
  readonly discoveryPort: number;
  readonly dataDir: string;
  child: ChildProcess | undefined;
  /** performance.now() at the latest spawn. */
  spawnedAtMs: number;
  /** performance.now() when the latest process printed its ready line; undefined before. */
  readyAtMs: number | undefined;
  outputTail: string;
}

const running = new Set<ChildProcess>();
const tempDirs = new Set<string>();



/** Ports and data dirs for `count` nodes sharing one fresh discovery port; nothing started yet. */
export async function planNodes(count: number): Promise<BenchNode[]> {
  const discoveryPort = await freeUdpPort();
  const nodes: BenchNode[] = [];
  for (let index = 0; index < count; index++) {
    const dataDir = mkdtempSync(join(tmpdir(), 'peerkv-bench-membership-'));
    tempDirs.add(dataDir);
    nodes.push({
      index,
      port: await freeTcpPort(),
      peerPort: await freeTcpPort(),
      discoveryPort,
      dataDir,
      child: undefined,
      spawnedAtMs: 0,
      readyAtMs: undefined,
      outputTail: '',
    });
  }
  return nodes;
}

/** Spawns the node's process (same ports and data dir on every restart) and returns at once. */
export function startNode(node: BenchNode): void {
  const args = [
    PEERKV_BIN,
    'start',
    '--port', String(node.port),
    '--peer-port', String(node.peerPort),
    '--data', node.dataDir,
    '--discovery-port', String(node.discoveryPort),
    '--log-level', 'info',
  ];
  node.readyAtMs = undefined;
  node.outputTail = '';
  node.spawnedAtMs = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  node.child = child;
  running.add(child);
  const onOutput = (chunk: Buffer) => {
    const text = chunk.toString();
    if (node.readyAtMs === undefined && node.child === child && text.includes(READY_MARKER)) node.readyAtMs = performance.now();
    node.outputTail = (node.outputTail + text).slice(-OUTPUT_TAIL_CHARS_MAX);
  };
  child.stdout!.on('data', onOutput);
  child.stderr!.on('data', onOutput);
  child.once('exit', () => running.delete(child));
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Sends `signal` to the node's PID and waits for the process to be gone. */
export async function signalNode(node: BenchNode, signal: NodeJS.Signals): Promise<void> {
  const child = node.child;
  if (child === undefined || child.pid === undefined) return;
  const exited = waitForExit(child);
  if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, signal);
  if (signal === 'SIGKILL') return exited;
  const timer = setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/** Stops the nodes (SIGTERM, then SIGKILL) and removes their data dirs. */
export async function stopNodes(nodes: readonly BenchNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => signalNode(node, 'SIGTERM')));
  for (const node of nodes) {
    rmSync(node.dataDir, { recursive: true, force: true });
    tempDirs.delete(node.dataDir);
  }
}

/** Kill whatever is still running, by PID, and remove temp dirs: on exit, error or SIGINT. */
export function killEverything(): void {
  for (const child of running) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  running.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

export function installExitHandlers(): void {
  process.once('exit', killEverything);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killEverything();
      process.exit(130);
    });
  }
}

/** One member line of `INFO cluster`: member3:id=...,name=...,addr=...,state=alive,last_seen_ms=12 */
export interface MemberLine {
  readonly id: string;
  readonly state: string;
}

export interface ClusterInfo {
  readonly fields: Map<string, string>;
  readonly members: MemberLine[];
}

export function counter(info: ClusterInfo, name: string): number {
  const value = Number(info.fields.get(name));
  return Number.isFinite(value) ? value : 0;
}

function parseClusterInfo(text: string): ClusterInfo {
  const fields = new Map<string, string>();
  const members: MemberLine[] = [];
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0 || line.startsWith('#')) continue;
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    fields.set(name, value);
    if (/^member\d+$/.test(name)) {
      const parts = new Map(value.split(',').map((part) => part.split('=', 2) as [string, string]));
      members.push({ id: parts.get('id') ?? '', state: parts.get('state') ?? '' });
    }
  }
  return { fields, members };
}

/**
 * `INFO cluster` over one persistent connection per node, so polling every 20 ms costs a
 * round trip rather than a process spawn. One request at a time; a failure closes the
 * socket and the next call reconnects.
 */
export class InfoClient {
  private socket: Socket | undefined;
  private buffer = '';
  private pending: { resolve: (text: string) => void; reject: (error: Error) => void } | undefined;

  constructor(readonly port: number) {}

  async info(): Promise<ClusterInfo> {
    if (this.pending !== undefined) throw new Error('InfoClient: one request at a time');
    const socket = await this.connected();
    const text = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error(`INFO on port ${this.port} timed out`)), INFO_TIMEOUT_MS);
      this.pending = {
        resolve: (value) => (clearTimeout(timer), resolve(value)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      };
      socket.write('*2\r\n$4\r\nINFO\r\n$7\r\ncluster\r\n');
    });
    return parseClusterInfo(text);
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private connected(): Promise<Socket> {
    if (this.socket !== undefined) return Promise.resolve(this.socket);
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port: this.port });
      socket.setEncoding('latin1');
      socket.once('error', (error) => {
        if (this.socket === socket) this.fail(error);
        reject(error);
      });
      socket.once('connect', () => {
        this.socket = socket;
        this.buffer = '';
        socket.on('data', (chunk: string) => this.receive(chunk));
        socket.on('close', () => this.socket === socket && this.fail(new Error('connection closed')));
        resolve(socket);
      });
    });
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    const headerEnd = this.buffer.indexOf('\r\n');
    if (headerEnd < 0) return;
    const header = this.buffer.slice(0, headerEnd);
    if (header.startsWith('-')) return this.fail(new Error(header.slice(1)));
    if (!header.startsWith('$')) return this.fail(new Error(`unexpected INFO reply ${JSON.stringify(header)}`));
    const length = Number(header.slice(1));
    if (this.buffer.length < headerEnd + 2 + length + 2) return;
    const body = this.buffer.slice(headerEnd + 2, headerEnd + 2 + length);
    this.buffer = this.buffer.slice(headerEnd + 2 + length + 2);
    const pending = this.pending;
    this.pending = undefined;
    pending?.resolve(body);
  }

  private fail(error: Error): void {
    const pending = this.pending;
    this.pending = undefined;
    this.socket?.destroy();
    this.socket = undefined;
    this.buffer = '';
    pending?.reject(error);
  }
}

/** INFO of every node in parallel; undefined where a node did not answer. */
export function pollAll(clients: readonly InfoClient[]): Promise<(ClusterInfo | undefined)[]> {
  return Promise.all(clients.map((client) => client.info().catch(() => undefined)));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Child processes, ports and temp dirs of one benchmark run, all released on exit
// (normal end, error or SIGINT) so a run never leaves a server or a data dir behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { createServer, createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reservePort, reserveUdpPort } from '../src/runtime/ports.js';

/** A TCP port on loopback that was free a moment ago. */
export const freeTcpPort = (): Promise<number> => reservePort('127.0.0.1');
/** A UDP port on loopback free right now, for a private discovery group. */
export const freeUdpPort = (): Promise<number> => reserveUdpPort('127.0.0.1');

/** How long a server may take to answer its first PING. */
export const SERVER_READY_TIMEOUT_MS = 20_000;
const READY_POLL_INTERVAL_MS = 100;
/** Time between SIGTERM and SIGKILL when stopping a child. */
const STOP_GRACE_MS = 5_000;
/** Kept child output, so a failed start can say why. */
const OUTPUT_TAIL_CHARS_MAX = 4_000;

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly pid: number;
  /** Last bytes of stdout+stderr. */
  output(): string;
  exited(): boolean;
  /** "exit code 1" / "signal SIGKILL" once exited, else undefined. */
  exitStatus(): string | undefined;
}

const children = new Set<Child>();
const tempDirs = new Set<string>();

export function makeTempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `peerkv-bench-${label}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

export function startChild(name: string, command: string, args: readonly string[]): Child {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  let hasExited = false;
  let status: string | undefined;
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS_MAX);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('exit', (code, signal) => {
    hasExited = true;
    status = signal === null ? `exit code ${code}` : `signal ${signal}`;
  });
  child.on('error', (error) => { hasExited = true; status = 'spawn error'; keep(Buffer.from(String(error))); });
  if (child.pid === undefined) throw new Error(`${name}: could not spawn ${command}`);
  const handle: Child = { name, process: child, pid: child.pid, output: () => tail, exited: () => hasExited, exitStatus: () => status };
  children.add(handle);
  return handle;
}

export async function stopChild(child: Child): Promise<void> {
  children.delete(child);
  if (child.exited()) return;
  const exited = new Promise<void>((resolve) => child.process.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => { if (!child.exited()) process.kill(child.pid, 'SIGKILL'); }, STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/** Synchronous last resort for exit paths: SIGKILL every child still running, remove dirs. */
export function killEverything(): void {
  for (const child of children) {
    if (!child.exited()) {
      try { process.kill(child.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  }
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

export async function stopEverything(): Promise<void> {
  await Promise.all([...children].map((child) => stopChild(child)));
  for (const dir of [...tempDirs]) removeTempDir(dir);
}

export function installExitHandlers(): void {
  process.on('exit', killEverything);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping children\n`);
      killEverything();
      process.exit(130);
    });
  }
}


/** Two consecutive free TCP ports (client port P and peer port P+1, as peerkv defaults). */
export async function freeTcpPortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freeTcpPort();
    if (port < 65535 && (await isTcpPortFree(port + 1))) return port;
  }
  throw new Error('no two consecutive free TCP ports found');
}

function isTcpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}


/** Resolves once the server on port answers +PONG; rejects with the child's output otherwise. */
export async function waitForPing(port: number, child: Child, timeoutMs = SERVER_READY_TIMEOUT_MS): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (child.exited()) throw new Error(`${child.name} exited before answering PING:\n${child.output().trim()}`);
    if (await pingOnce(port)) return;
    await sleep(READY_POLL_INTERVAL_MS);
  }
  throw new Error(`${child.name} did not answer PING on port ${port} within ${timeoutMs} ms:\n${child.output().trim()}`);
}

function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    let reply = '';
    const done = (ok: boolean) => { socket.destroy(); resolve(ok); };
    socket.setTimeout(1_000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('*1\r\n$4\r\nPING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resident memory of a process from /proc: total, anonymous and file-backed (LMDB maps count as file). */
export interface ProcessRss {
  readonly rssBytes: number;
  readonly anonBytes: number;
  readonly fileBytes: number;
}

export function readProcessRss(pid: number): ProcessRss {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    return match === null ? 0 : Number(match[1]) * 1024;
  };
  return { rssBytes: field('VmRSS'), anonBytes: field('RssAnon'), fileBytes: field('RssFile') };
}

/** utime + stime of a process's main thread, in us (clock ticks of 10 ms). */
export function threadCpuUs(pid: number): number {
  return cpuUsOfStat(readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8'));
}

/** CPU time (us) of every thread of a process so far: the main thread, lmdb-js's writer (libuv's pool), V8's GC helpers. */
export function processCpuUs(pid: number): number {
  return cpuUsOfStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

function cpuUsOfStat(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime 15 (clock ticks of 10 ms).
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

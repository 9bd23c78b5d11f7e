// `npm run chaos [-- --short] [--events N] [--seed S] [--out DIR]`: five real peerkv nodes,
// each in its own network namespace on one bridge, a client namespace writing to all of
// them, and a nemesis drawing a fault every few seconds. Then heal, wait for the replicas
// to agree, and check the final state against every acknowledgement (history.ts). Writes
// an HTML report (report.ts) and exits non-zero when a goal is missed. Needs root.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { checkHistory, type OpLine } from './history.js';
import { createChaosLan, removeStaleNamespaces, type ChaosLan } from './lan.js';
import { writeReport, type FaultEvent, type RunFigures } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, '..', '..', '..');
const PEERKV_BIN = join(ROOT, 'bin', 'peerkv');
const AGENT = join(here, 'agent.js');
const NODE_COUNT = 5;
const CLIENT_PORT = 7379;
const TMPFS_MB = 512;
const RESERVE_MB = 32;
const CONVERGENCE_GOAL_MS = 10_000;
const CONVERGENCE_LIMIT_MS = 120_000;
/** The clock-offset fault's largest offset. */
const MAX_CLOCK_OFFSET_MS = 2_000;
/**
 * How far two stamps can be from real time order: a node's wall clock is at most
 * MAX_CLOCK_OFFSET_MS off; a peer's stamp is taken up to the HLC's max offset (500 ms) ahead.
 */
const MAX_SKEW_MS = 2 * MAX_CLOCK_OFFSET_MS + 500 + 500;

interface Options {
  readonly events: number;
  readonly seed: number;
  readonly out: string;
  readonly short: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const value = (name: string) => {
    const index = argv.indexOf(name);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const short = argv.includes('--short');
  const events = Number(value('--events') ?? (short ? 20 : 200));
  const seed = Number(value('--seed') ?? Date.now() % 1_000_000);
  const out = resolve(value('--out') ?? join(ROOT, 'chaos-out', `run-${new Date().toISOString().replace(/[:.]/g, '-')}`));
  return { events, seed, out, short };
}

const options = parseArgs(process.argv.slice(2));
let randomState = options.seed >>> 0 || 1;
function random(): number {
  randomState ^= randomState << 13;
  randomState >>>= 0;
  randomState ^= randomState >>> 17;
  randomState ^= randomState << 5;
  randomState >>>= 0;
  return randomState / 0x1_0000_0000;
}
const between = (low: number, high: number) => low + random() * (high - low);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const log = (message: string) => console.log(`[chaos ${new Date().toISOString().slice(11, 23)}] ${message}`);

// ---------------------------------------------------------------- nodes

interface Exit {
  readonly atMs: number;
  readonly code: number | null;
  readonly signal: string | null;
  readonly expected: boolean;
}

class ChaosNode {
  child: ChildProcess | undefined;
  offsetMs = 0;
  expectExit = false;
  paused = false;
  readonly exits: Exit[] = [];
  readonly mount: string;
  readonly logFile: string;

  constructor(
    readonly index: number,
    readonly exec: readonly string[],
    readonly address: string,
    readonly clusterKey: string,
    workDir: string,
  ) {
    this.mount = join(workDir, `n${index}`);
    this.logFile = join(workDir, `node${index}.log`);
  }

  get dataDir(): string {
    return join(this.mount, 'data');
  }

  get filler(): string {
    return join(this.mount, 'filler');
  }

  start(): void {
    const args = [
      ...this.exec,
      process.execPath,
      PEERKV_BIN,
      'start',
      '--bind', this.address,
      '--port', String(CLIENT_PORT),
      '--peer-port', String(CLIENT_PORT + 1),
      '--discovery-port', String(CLIENT_PORT + 2),
      '--data', this.dataDir,
      '--cluster-key', this.clusterKey,
      '--disk-reserve-mb', String(RESERVE_MB),
      '--name', `n${this.index}`,
      '--log-level', 'warn',
      ...(this.offsetMs !== 0 ? ['--clock-offset-ms', String(this.offsetMs)] : []),
    ];
    const fd = openSync(this.logFile, 'a');
    writeFileSync(fd, `--- start ${new Date().toISOString()} offset=${this.offsetMs}\n`);
    const child = spawn(args[0]!, args.slice(1), { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.child = child;
    this.expectExit = false;
    this.paused = false;
    child.once('exit', (code, signal) => {
      const exit = { atMs: Date.now(), code, signal, expected: this.expectExit };
      this.exits.push(exit);
      if (this.child === child) this.child = undefined;
      if (!exit.expected) log(`node ${this.index} EXITED unexpectedly: code=${code} signal=${signal}`);
    });
  }

  running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async kill9(): Promise<void> {
    await this.stopWith('SIGKILL');
  }

  /** Stop (SIGTERM, SIGKILL after 15 s); the exit is expected, its code is still recorded. */
  async stopWith(signal: NodeJS.Signals): Promise<Exit | undefined> {
    const child = this.child;
    if (child === undefined || !this.running()) return undefined;
    this.expectExit = true;
    if (this.paused) this.resume();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
    return this.exits[this.exits.length - 1];
  }

  pause(): void {
    if (this.running()) {
      this.child!.kill('SIGSTOP');
      this.paused = true;
    }
  }

  resume(): void {
    if (this.child !== undefined) this.child.kill('SIGCONT');
    this.paused = false;
  }

  /** Leave `freeBytes` free on the node's disk with a filler file. */
  fill(freeBytes: number): number {
    const stats = statfsSync(this.mount);
    const size = Math.max(0, stats.bavail * stats.bsize - freeBytes);
    const result = spawnSync('fallocate', ['-l', String(size), this.filler]);
    if (result.status !== 0) writeFileSync(this.filler, Buffer.alloc(size));
    return size;
  }

  unfill(): void {
    rmSync(this.filler, { force: true });
  }
}

// ---------------------------------------------------------------- agent (client namespace)

class Agent {
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<number, (reply: { result?: unknown; error?: string }) => void>();
  readonly ready: Promise<void>;

  constructor(exec: readonly string[], config: object) {
    this.child = spawn(exec[0]!, [...exec.slice(1), process.execPath, AGENT, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let signalReady: () => void;
    this.ready = new Promise((resolve) => (signalReady = resolve));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const reply = JSON.parse(line) as { id: number; result?: unknown; error?: string };
      if (reply.id === 0) signalReady();
      this.waiting.get(reply.id)?.(reply);
      this.waiting.delete(reply.id);
    });
  }

  request<T>(cmd: string, fields: object = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, (reply) => (reply.error !== undefined ? reject(new Error(reply.error)) : resolve(reply.result as T)));
      this.child.stdin!.write(`${JSON.stringify({ id, cmd, ...fields })}\n`);
    });
  }

  info(node: number): Promise<Record<string, string> & { error?: string }> {
    return this.request('info', { node });
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

// ---------------------------------------------------------------- setup and cleanup

let lan: ChaosLan | undefined;
let agent: Agent | undefined;
const nodes: ChaosNode[] = [];
const mounts: string[] = [];
let workDir: string | undefined;
let cleanedUp = false;

function cleanup(): void {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const node of nodes) {
    if (node.child !== undefined) {
      node.expectExit = true;
      node.child.kill('SIGCONT');
      node.child.kill('SIGKILL');
    }
  }
  agent?.kill();
  // Processes die asynchronously; a busy mount is unmounted lazily.
  for (const mount of mounts) spawnSync('umount', ['-l', mount]);
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
  lan?.destroy();
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    log(`${signal}: cleaning up`);
    cleanup();
    process.exit(130);
  });
}
process.once('exit', cleanup);

async function waitReady(index: number, timeoutMs = 30_000): Promise<number> {
  const start = Date.now();
  for (;;) {
    const info = await agent!.info(index);
    if (info.error === undefined) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`node ${index} not answering after ${timeoutMs} ms: ${info.error}`);
    await sleep(200);
  }
}

// ---------------------------------------------------------------- the nemesis

type FaultKind = 'isolate' | 'split' | 'one-way' | 'slow' | 'lossy' | 'kill-9' | 'pause' | 'clock' | 'disk-full' | 'kill-in-split' | 'restart-on-full-disk';
const FAULT_KINDS: readonly FaultKind[] = ['isolate', 'split', 'one-way', 'slow', 'lossy', 'kill-9', 'pause', 'clock', 'disk-full', 'kill-in-split', 'restart-on-full-disk'];

async function runFault(kind: FaultKind, event: { nodes: number[]; detail: string }): Promise<void> {
  const hold = () => sleep(between(1_500, options.short ? 4_000 : 5_000));
  const index = Math.floor(random() * NODE_COUNT);
  const others = [...Array(NODE_COUNT).keys()].filter((other) => other !== index);
  switch (kind) {
    case 'isolate': {
      event.nodes = [index];
      event.detail = `cable of n${index} pulled (peers and clients)`;
      lan!.cut(index);
      await hold();
      lan!.restore(index);
      return;
    }
    case 'split':
    case 'kill-in-split': {
      const order = [...Array(NODE_COUNT).keys()].sort(() => random() - 0.5);
      const minority = order.slice(0, 2);
      const majority = order.slice(2);
      event.nodes = minority;
      event.detail = `{${majority.map((n) => `n${n}`).join(',')}} | {${minority.map((n) => `n${n}`).join(',')}}`;
      for (const node of majority) lan!.dropFrom(node, minority);
      for (const node of minority) lan!.dropFrom(node, majority);
      await hold();
      if (kind === 'kill-in-split') {
        // The victim restarts cut off from the majority, then the split heals.
        const victim = pick(random() < 0.5 ? minority : majority);
        const downMs = between(200, 2_000);
        event.detail += `; n${victim} killed with SIGKILL, restarted after ${Math.round(downMs)} ms, still split`;
        await nodes[victim]!.kill9();
        await sleep(downMs);
        nodes[victim]!.start();
        await waitReady(victim);
        await hold();
      }
      lan!.heal();
      return;
    }
    case 'one-way': {
      event.nodes = [index];
      if (random() < 0.5) {
        event.detail = `n${index} hears no peer (its packets still go out)`;
        lan!.dropFrom(index, others);
      } else {
        event.detail = `no peer hears n${index} (it still hears them)`;
        for (const other of others) lan!.dropFrom(other, [index]);
      }
      await hold();
      lan!.heal();
      return;
    }
    case 'slow': {
      event.nodes = [index];
      event.detail = `n${index}'s cable at 2 Mbit/s with a 256 KB queue (up to ~1 s of delay)`;
      lan!.shape(index, '2mbit', '16kb', '256kb');
      await hold();
      lan!.heal();
      return;
    }
    case 'lossy': {
      event.nodes = [index];
      event.detail = `n${index}'s cable at 256 kbit/s with a 6 KB queue (tail drops)`;
      lan!.shape(index, '256kbit', '3kb', '6kb');
      await hold();
      lan!.heal();
      return;
    }
    case 'kill-9': {
      event.nodes = [index];
      const downMs = between(200, 3_000);
      event.detail = `n${index} killed with SIGKILL, restarted after ${Math.round(downMs)} ms`;
      await nodes[index]!.kill9();
      await sleep(downMs);
      nodes[index]!.start();
      await waitReady(index);
      return;
    }
    case 'pause': {
      event.nodes = [index];
      const pauseMs = between(1_000, 10_000);
      event.detail = `n${index} SIGSTOP for ${Math.round(pauseMs)} ms`;
      nodes[index]!.pause();
      await sleep(pauseMs);
      nodes[index]!.resume();
      return;
    }
    case 'clock': {
      event.nodes = [index];
      const offset = Math.round(between(100, MAX_CLOCK_OFFSET_MS)) * (random() < 0.5 ? -1 : 1);
      event.detail = `n${index} restarted with its clock ${offset > 0 ? '+' : ''}${offset} ms, then back`;
      const node = nodes[index]!;
      await restartGracefully(node, offset);
      await hold();
      await restartGracefully(node, 0);
      return;
    }
    case 'disk-full':
    case 'restart-on-full-disk': {
      event.nodes = [index];
      const node = nodes[index]!;
      const free = random() < 0.5 ? (RESERVE_MB / 2) * 1024 * 1024 : 256 * 1024;
      const size = node.fill(free);
      event.detail = `n${index}'s disk filled (${Math.round(size / 1024 / 1024)} MB filler, ${Math.round(free / 1024)} KB left)`;
      try {
        await hold();
        if (kind === 'restart-on-full-disk') {
          event.detail += '; killed with SIGKILL and restarted on the full disk';
          await node.kill9();
          node.start();
          await waitReady(index);
          await hold();
        }
      } finally {
        node.unfill();
      }
      return;
    }
  }
}

const gracefulExits: { node: number; code: number | null; signal: string | null }[] = [];

async function restartGracefully(node: ChaosNode, offsetMs: number): Promise<void> {
  const exit = await node.stopWith('SIGTERM');
  if (exit !== undefined) gracefulExits.push({ node: node.index, code: exit.code, signal: exit.signal });
  node.offsetMs = offsetMs;
  node.start();
  await waitReady(node.index);
}

/** A node that died on its own is restarted so the run goes on; the exit is reported as a crash. */
async function reviveCrashed(): Promise<void> {
  for (const node of nodes) {
    if (!node.running() && !node.expectExit) {
      log(`reviving n${node.index} after an unexpected exit`);
      node.start();
      await waitReady(node.index).catch((error: unknown) => log(String(error)));
    }
  }
}

// ---------------------------------------------------------------- after the run

async function convergence(healAt: number): Promise<{ ms: number | null; roots: string[] }> {
  let roots: string[] = [];
  while (Date.now() - healAt < CONVERGENCE_LIMIT_MS) {
    const infos = await Promise.all(nodes.map((node) => agent!.info(node.index)));
    roots = infos.map((info) => info.merkle_root ?? `unreachable: ${info.error}`);
    const counts = infos.map((info) => info.db0 ?? '');
    if (infos.every((info) => info.error === undefined) && new Set(roots).size === 1 && new Set(counts).size === 1) return { ms: Date.now() - healAt, roots };
    await sleep(100);
  }
  return { ms: null, roots };
}

async function readOps(file: string): Promise<OpLine[]> {
  const ops: OpLine[] = [];
  if (!existsSync(file)) return ops;
  for await (const line of createInterface({ input: createReadStream(file) })) if (line !== '') ops.push(JSON.parse(line) as OpLine);
  return ops;
}

function parseDump(file: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    const tab = line.indexOf('\t');
    map.set(line.slice(0, tab), line.slice(tab + 1));
  }
  return map;
}

/** Lines at error (50) or fatal (60) level in a node's log, and any line that is not pino JSON. */
function logTrouble(file: string): { errors: number; fatal: string[]; foreign: string[] } {
  let errors = 0;
  const fatal: string[] = [];
  const foreign: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '' || line.startsWith('--- start')) continue;
    try {
      const entry = JSON.parse(line) as { level?: number };
      if ((entry.level ?? 0) >= 60) fatal.push(line.slice(0, 400));
      else if ((entry.level ?? 0) >= 50) errors++;
    } catch {
      foreign.push(line.slice(0, 400));
    }
  }
  return { errors, fatal, foreign: foreign.slice(0, 20) };
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error('npm run chaos needs root (network namespaces, tmpfs mounts)');
    return 2;
  }
  const stale = removeStaleNamespaces();
  if (stale.length > 0) log(`removed namespaces of an earlier run: ${stale.join(' ')}`);
  mkdirSync(options.out, { recursive: true });
  workDir = join('/tmp', `peerkv-chaos-${process.pid}`);
  mkdirSync(workDir, { recursive: true });
  log(`seed ${options.seed}, ${options.events} events, output in ${options.out}`);

  lan = createChaosLan(NODE_COUNT);
  const clusterKey = randomBytes(24).toString('hex');
  for (let index = 0; index < NODE_COUNT; index++) {
    const host = lan.nodes[index]!;
    const node = new ChaosNode(index, host.exec, host.address, clusterKey, workDir);
    mkdirSync(node.mount, { recursive: true });
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_MB}m`, 'tmpfs', node.mount], { encoding: 'utf8' });
    if (mounted.status !== 0) throw new Error(`mount tmpfs: ${mounted.stderr}`);
    mounts.push(node.mount);
    nodes.push(node);
  }
  const opsFile = join(options.out, 'ops.jsonl');
  rmSync(opsFile, { force: true });
  agent = new Agent(lan.client.exec, {
    addresses: lan.nodes.map((host) => host.address),
    port: CLIENT_PORT,
    clientsPerNode: 2,
    opsFile,
    hotKeys: 5,
    counters: 3,
    paceMs: 10,
    commandTimeoutMs: 2_000,
    seed: options.seed,
  });
  await agent.ready;
  for (const node of nodes) node.start();
  for (const node of nodes) await waitReady(node.index);
  // Every node sees every other before the load starts.
  const formedAt = Date.now();
  for (;;) {
    const infos = await Promise.all(nodes.map((node) => agent!.info(node.index)));
    if (infos.every((info) => info.members_alive === String(NODE_COUNT))) break;
    if (Date.now() - formedAt > 30_000) throw new Error(`cluster did not form: ${infos.map((info) => info.members_alive).join(',')}`);
    await sleep(200);
  }
  log(`cluster formed in ${Date.now() - formedAt} ms; load starts`);

  const runStart = Date.now();
  await agent.request('start');
  await sleep(2_000);
  const events: FaultEvent[] = [];
  const deck: FaultKind[] = [];
  for (let number = 1; number <= options.events; number++) {
    // A shuffled deck of every kind: each occurs as often as the others.
    if (deck.length === 0) deck.push(...[...FAULT_KINDS].sort(() => random() - 0.5));
    const kind = deck.pop()!;
    const event: FaultEvent & { nodes: number[]; detail: string } = { number, kind, nodes: [], detail: '', startMs: Date.now(), endMs: 0 };
    try {
      await runFault(kind, event);
    } catch (error) {
      event.error = String(error);
      log(`fault ${number} ${kind} failed: ${String(error)}`);
    }
    event.endMs = Date.now();
    events.push(event);
    log(`#${number} ${kind}: ${event.detail} (${event.endMs - event.startMs} ms)`);
    await reviveCrashed();
    await sleep(between(500, 1_500));
  }
  // The last fault is still on when the load stops, so the heal starts from diverged replicas:
  // a split with both sides written for a few seconds.
  const order = [...Array(NODE_COUNT).keys()].sort(() => random() - 0.5);
  const finalSplit: FaultEvent = { number: events.length + 1, kind: 'split', nodes: order.slice(0, 2), detail: '', startMs: Date.now(), endMs: 0 };
  finalSplit.detail = `final split {${order.slice(2).map((n) => `n${n}`).join(',')}} | {${order.slice(0, 2).map((n) => `n${n}`).join(',')}}, healed after the load stopped`;
  for (const node of order.slice(2)) lan.dropFrom(node, order.slice(0, 2));
  for (const node of order.slice(0, 2)) lan.dropFrom(node, order.slice(2));
  await sleep(5_000);
  await agent.request('stop');
  const loadEnd = Date.now();
  const rootsAtHeal = (await Promise.all(nodes.map((node) => agent!.info(node.index)))).map((info) => info.merkle_root ?? '?');

  // Heal everything, then wait for the replicas to agree.
  lan.heal();
  finalSplit.endMs = Date.now();
  events.push(finalSplit);
  for (const node of nodes) {
    node.unfill();
    if (node.paused) node.resume();
    if (node.offsetMs !== 0) await restartGracefully(node, 0);
  }
  await reviveCrashed();
  const healAt = Date.now();
  const converged = await convergence(healAt);
  const divergedAtHeal = new Set(rootsAtHeal).size > 1;
  log(`${divergedAtHeal ? 'replicas differed at heal' : 'replicas already equal at heal'}; ${converged.ms === null ? `did NOT converge: ${converged.roots.join(' ')}` : `identical ${converged.ms} ms after heal`}`);

  const dumps: { keys?: number; error?: string }[] = [];
  for (const node of nodes) dumps.push(await agent.request('dump', { node: node.index, file: join(options.out, `dump-n${node.index}.txt`) }));
  const dumpTexts = nodes.map((node) => (existsSync(join(options.out, `dump-n${node.index}.txt`)) ? readFileSync(join(options.out, `dump-n${node.index}.txt`), 'utf8') : ''));
  const identicalDumps = dumpTexts.every((text) => text === dumpTexts[0] && text !== '');
  const finalState = parseDump(join(options.out, 'dump-n0.txt'));
  const ops = await readOps(opsFile);
  const checked = checkHistory(ops, finalState, MAX_SKEW_MS);
  const finalInfos = await Promise.all(nodes.map((node) => agent!.info(node.index)));
  const internalErrors = finalInfos.map((info) => Number(info.total_internal_errors ?? 0));

  // Stop every node cleanly: each must exit 0.
  for (const node of nodes) {
    const exit = await node.stopWith('SIGTERM');
    if (exit !== undefined) gracefulExits.push({ node: node.index, code: exit.code, signal: exit.signal });
  }
  agent.request('exit').catch(() => undefined);
  const crashes = nodes.flatMap((node) => node.exits.filter((exit) => !exit.expected).map((exit) => ({ node: node.index, ...exit })));
  const badStops = gracefulExits.filter((exit) => exit.code !== 0);
  const logs = nodes.map((node) => ({ node: node.index, ...logTrouble(node.logFile) }));
  for (const node of nodes) spawnSync('cp', [node.logFile, join(options.out, `node${node.index}.log`)]);

  const figures: RunFigures = {
    seed: options.seed,
    nodes: NODE_COUNT,
    runStartMs: runStart,
    loadEndMs: loadEnd,
    healMs: healAt,
    events,
    ops,
    check: checked,
    convergenceMs: converged.ms,
    convergenceGoalMs: CONVERGENCE_GOAL_MS,
    divergedAtHeal,
    internalErrors,
    roots: converged.roots,
    dumps,
    identicalDumps,
    crashes,
    badStops,
    logs,
  };
  const reportFile = join(options.out, 'report.html');
  writeFileSync(reportFile, writeReport(figures));
  writeFileSync(join(options.out, 'summary.json'), JSON.stringify({ ...figures, ops: undefined, check: { ...checked, violations: checked.violations.slice(0, 200) } }, null, 2));

  const failures: string[] = [];
  if (events.length < options.events + 1) failures.push(`${events.length}/${options.events} events`);
  if (checked.violations.length > 0) failures.push(`${checked.violations.length} violations (${[...new Set(checked.violations.map((v) => v.kind))].join(', ')})`);
  if (converged.ms === null || converged.ms > CONVERGENCE_GOAL_MS) failures.push(`convergence ${converged.ms ?? 'never'} ms after heal (goal ${CONVERGENCE_GOAL_MS})`);
  if (!identicalDumps) failures.push('replica dumps differ');
  if (crashes.length > 0) failures.push(`${crashes.length} crash(es) not caused by the nemesis`);
  if (badStops.length > 0) failures.push(`${badStops.length} graceful stop(s) with a non-zero exit`);
  if (logs.some((entry) => entry.fatal.length > 0)) failures.push('fatal log lines');
  if (internalErrors.some((count) => count > 0)) failures.push(`internal errors (INFO total_internal_errors) ${internalErrors.join('/')}`);
  const faultErrors = events.filter((event) => event.error !== undefined);
  if (faultErrors.length > 0) failures.push(`${faultErrors.length} fault(s) the harness could not apply or undo`);
  const acked = ops.filter((op) => op.o === 'ok').length;
  log(`ops ${ops.length} (acknowledged ${acked}), acked writes ${checked.ackedWrites}, increments ${checked.ackedIncrements}, violations ${checked.violations.length}`);
  for (const violation of checked.violations.slice(0, 20)) log(`  ${violation.kind} ${violation.key}: ${violation.detail}`);
  log(`report: ${reportFile}`);
  if (failures.length > 0) {
    log(`FAILED: ${failures.join('; ')}`);
    return 1;
  }
  log('all checks passed');
  return 0;
}

main().then(
  (code) => {
    cleanup();
    process.exit(code);
  },
  (error: unknown) => {
    console.error(error);
    cleanup();
    process.exit(1);
  },
);

// Runs Redis 7.0.15's own test units (the shared compat suite) against one real peerkv
// node on loopback and, with --floors, fails when a unit passes fewer tests than its floor.
// Usage: node scripts/compat.mjs [--floors FILE] [--log FILE] [UNIT...]   (after a build)
// Exit codes: 0 ok, 1 a floor broken / the node crashed / the suite failed, 2 no suite found
// (without --floors) or bad arguments.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { reservePort } from '../dist/src/runtime/ports.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PEERKV_BIN = join(REPO_ROOT, 'bin', 'peerkv');
const HOST = '127.0.0.1';
const DEFAULT_UNITS = [
  'unit/type/string', 'unit/type/incr', 'unit/keyspace', 'unit/expire', 'unit/scan', 'unit/protocol',
  'unit/info-command', 'unit/quit', 'unit/pubsub', 'unit/other', 'unit/multi', 'unit/type/hash',
  'unit/type/set', 'unit/type/zset', 'unit/type/list', 'unit/type/stream', 'unit/scripting', 'unit/functions',
  'unit/bitops', 'unit/hyperloglog', 'unit/geo',
];
/** A fresh node needs well under a second; LMDB on a slow CI disk gets the rest. */
const NODE_READY_TIMEOUT_MS = 15_000;
const NODE_PING_TIMEOUT_MS = 1_000;
const NODE_PING_INTERVAL_MS = 100;
/** Clean shutdown flushes LMDB; past this the node gets SIGKILL. */
const NODE_STOP_TIMEOUT_MS = 10_000;
/** Ports are picked here and bound later by the node, so another process can win the race. */
const NODE_START_ATTEMPTS = 3;
/** After the node dies mid-unit the harness fails at its next command; past this it is killed. */
const SUITE_AFTER_CRASH_GRACE_MS = 30_000;
/** Bounded memory for the node's output; the tail is what a crash report shows. */
const NODE_OUTPUT_LINES_MAX = 200;
const CRASH_REPORT_LINES = 30;
/** redis-tests prints `type/string            3 / 75` per unit. */
const UNIT_LINE = /^(\S+)\s+(\d+) \/ (\d+)$/;

const { values: options, positionals } = parseCommandLine();
const state = { node: null, suite: null, workDir: null, stopping: false };
installCleanup();
process.exitCode = await main();

async function main() {
  if (options.help) {
    console.log('usage: npm run compat -- [--floors FILE] [--log FILE] [UNIT...]   (default units: ' + DEFAULT_UNITS.join(' ') + ')');
    return 0;
  }
  const compatDir = findCompatDir();
  if (compatDir === null) return options.floors === undefined ? 2 : 1;
  const floors = options.floors === undefined ? null : readFloors(options.floors);
  if (floors === undefined) return 1;
  const units = positionals.length > 0 ? positionals.map((unit) => `unit/${unitName(unit)}`) : DEFAULT_UNITS;
  const logPath = resolve(options.log ?? join(REPO_ROOT, 'compat-failures.log'));
  writeFileSync(logPath, '');
  state.workDir = mkdtempSync(join(tmpdir(), 'peerkv-compat-'));
  const startedAt = Date.now();
  const results = [];
  try {
    for (const unit of units) {
      state.node ??= await startNode(join(state.workDir, `data-${results.length}`));
      const result = await runUnit(compatDir, unit, logPath);
      if (result === null) return 1;
      results.push(result);
      if (result.crashed) await reportCrash(unit);
    }
  } catch (error) {
    console.error(`compat: ${error.message}`);
    return 1;
  } finally {
    await cleanup();
  }
  printSummary(results, Date.now() - startedAt);
  console.log(`failures: ${logPath}`);
  const floorsBroken = floors !== null && !checkFloors(floors, results, positionals.length > 0);
  return floorsBroken || results.some((result) => result.crashed || result.failed) ? 1 : 0;
}

function parseCommandLine() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: { floors: { type: 'string' }, log: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    console.error(`compat: ${error.message}`);
    process.exit(2);
  }
}

function findCompatDir() {
  const fromEnv = process.env.PEERKV_COMPAT_DIR;
  const candidates = fromEnv !== undefined && fromEnv !== ''
    ? [resolve(fromEnv)]
    : [resolve(REPO_ROOT, '../shared/compat'), resolve(REPO_ROOT, '../../shared/compat')];
  const found = candidates.find((dir) => existsSync(join(dir, 'redis-tests')));
  if (found !== undefined) return found;
  const where = fromEnv ? `PEERKV_COMPAT_DIR=${candidates[0]}` : `${candidates.join(', ')} (or set PEERKV_COMPAT_DIR)`;
  console.error(`compat: no Redis compat suite (a folder with redis-tests) found in ${where}`);
  return null;
}

/** The floors file maps unit (with or without `unit/`) to the fewest passes allowed. */
function readFloors(path) {
  let parsed;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    console.error(`compat: cannot read floors ${path}: ${error.message}`);
    return undefined;
  }
  const floors = new Map();
  for (const [unit, floor] of Object.entries(parsed)) {
    if (!Number.isInteger(floor) || floor < 0) {
      console.error(`compat: floor for ${unit} in ${path} is not a count: ${JSON.stringify(floor)}`);
      return undefined;
    }
    floors.set(unitName(unit), floor);
  }
  return floors;
}

function unitName(unit) {
  return unit.replace(/^unit\//, '');
}

async function startNode(dataDir) {
  for (let attempt = 1; ; attempt++) {
    const node = spawnNode(dataDir, await reservePort(HOST), await reservePort(HOST));
    state.node = node;
    try {
      await waitUntilReady(node);
      return node;
    } catch (error) {
      await stopNode(node);
      state.node = null;
      const portTaken = node.outputLines.some((line) => line.includes('EADDRINUSE'));
      if (!portTaken || attempt >= NODE_START_ATTEMPTS) throw error;
    }
  }
}

function spawnNode(dataDir, port, peerPort) {
  const args = [
    PEERKV_BIN, 'start', '--port', String(port), '--peer-port', String(peerPort), '--data', dataDir,
    '--no-discovery', '--log-level', 'warn',
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const node = { child, port, outputLines: [], exited: null };
  node.exited = new Promise((resolveExit) => child.once('exit', (code, signal) => resolveExit({ code, signal })));
  const keep = (chunk) => {
    node.outputLines.push(...chunk.toString().split('\n').filter((line) => line !== ''));
    node.outputLines.splice(0, Math.max(0, node.outputLines.length - NODE_OUTPUT_LINES_MAX));
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return node;
}

function isRunning(node) {
  return node.child.exitCode === null && node.child.signalCode === null;
}

async function waitUntilReady(node) {
  const deadline = Date.now() + NODE_READY_TIMEOUT_MS;
  for (;;) {
    if (!isRunning(node)) throw new Error(`node exited before answering PING:\n${tail(node)}`);
    if (await answersPing(node.port)) return;
    if (Date.now() > deadline) throw new Error(`node on port ${node.port} did not answer PING within ${NODE_READY_TIMEOUT_MS} ms`);
    await sleep(NODE_PING_INTERVAL_MS);
  }
}

function answersPing(port) {
  return new Promise((resolvePing) => {
    let reply = '';
    const socket = createConnection({ host: HOST, port });
    const finish = (ok) => {
      socket.destroy();
      resolvePing(ok);
    };
    socket.setTimeout(NODE_PING_TIMEOUT_MS, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('*1\r\n$4\r\nPING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
  });
}

async function stopNode(node) {
  if (!isRunning(node)) return;
  node.child.kill('SIGTERM');
  const timer = setTimeout(() => node.child.kill('SIGKILL'), NODE_STOP_TIMEOUT_MS);
  await node.exited;
  clearTimeout(timer);
}

/**
 * One redis-tests run for one unit, its lines streamed as they come. Returns
 * { unit, passed, baseline, crashed, failed }, or null when the suite itself cannot run.
 */
async function runUnit(compatDir, unit, logPath) {
  const node = state.node;
  const args = ['--host', HOST, '--port', String(node.port), '--log', logPath, unit];
  // Its own process group, so the harness's tclsh goes with it when it is stopped.
  const suite = spawn(join(compatDir, 'redis-tests'), args, { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  state.suite = suite;
  // 'close', not 'exit': its last lines may still be in the pipe when it exits.
  const suiteExited = new Promise((resolveExit) => suite.once('close', (code) => resolveExit(code)));
  let result = null;
  let pending = '';
  suite.stdout.on('data', (chunk) => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop();
    for (const line of lines) {
      const match = UNIT_LINE.exec(line.trim());
      if (match === null) continue; // the suite's own total; ours comes at the end
      console.log(line);
      result = { passed: Number(match[2]), baseline: Number(match[3]) };
    }
  });
  const diedFirst = await Promise.race([node.exited.then(() => true), suiteExited.then(() => false)]);
  if (diedFirst) {
    const timer = setTimeout(() => killGroup(suite, 'SIGTERM'), SUITE_AFTER_CRASH_GRACE_MS);
    await suiteExited;
    clearTimeout(timer);
  }
  const code = await suiteExited;
  state.suite = null;
  const crashed = diedFirst || !isRunning(node);
  if (state.stopping || (code === 2 && result === null)) return null; // stopped, or usage/setup (no tclsh): already said
  if (result === null) console.log(`${unitName(unit).padEnd(20)} no result (redis-tests exit ${code})`);
  return { unit: unitName(unit), passed: result?.passed ?? 0, baseline: result?.baseline ?? 0, crashed, failed: result === null };
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

async function reportCrash(unit) {
  const node = state.node;
  const { code, signal } = await node.exited;
  console.log(`NODE CRASHED during ${unit} (exit ${signal ?? code}); last lines of its output:`);
  console.log(tail(node));
  state.node = null; // the next unit gets a fresh node
}

function tail(node) {
  if (node.outputLines.length === 0) return '  | (the node printed nothing)';
  return node.outputLines.slice(-CRASH_REPORT_LINES).map((line) => `  | ${line}`).join('\n');
}

function printSummary(results, elapsedMs) {
  const row = (unit, passed, baseline, percent) =>
    `${unit.padEnd(20)} ${String(passed).padStart(6)} ${String(baseline).padStart(12)} ${percent.padStart(7)}`;
  const percentOf = (passed, baseline) => (baseline === 0 ? '-' : `${((100 * passed) / baseline).toFixed(1)}%`);
  console.log('');
  console.log(row('unit', 'passed', 'redis-server', 'percent'));
  for (const { unit, passed, baseline, crashed } of results) {
    console.log(row(unit, passed, baseline, percentOf(passed, baseline)) + (crashed ? '  node crashed' : ''));
  }
  const passed = results.reduce((sum, result) => sum + result.passed, 0);
  const baseline = results.reduce((sum, result) => sum + result.baseline, 0);
  console.log(row('total', passed, baseline, percentOf(passed, baseline)));
  console.log(`compat: ${results.length} units in ${(elapsedMs / 1000).toFixed(0)} s`);
}

/**
 * Prints each broken floor. A floored unit that did not run counts as broken, unless units
 * were chosen on the command line (then only those are checked).
 */
function checkFloors(floors, results, unitsChosen) {
  let ok = true;
  let skipped = 0;
  for (const [unit, floor] of floors) {
    const result = results.find((candidate) => candidate.unit === unit);
    if (result === undefined && unitsChosen) {
      skipped++;
      continue;
    }
    if (result !== undefined && result.passed >= floor) continue;
    console.log(`FLOOR BROKEN ${unit}: ${result === undefined ? `not run (floor ${floor})` : `${result.passed} < ${floor}`}`);
    ok = false;
  }
  if (ok) console.log(skipped === 0 ? 'floors ok' : `floors ok (${skipped} floored units not run)`);
  return ok;
}

async function cleanup() {
  if (state.suite !== null) killGroup(state.suite, 'SIGTERM');
  if (state.node !== null) await stopNode(state.node);
  state.node = null;
  if (state.workDir !== null) rmSync(state.workDir, { recursive: true, force: true });
  state.workDir = null;
}

function installCleanup() {
  for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
    process.once(signal, () => {
      console.error(`compat: ${signal}, stopping`);
      state.stopping = true;
      cleanup().finally(() => process.exit(128 + number));
    });
  }
  // Last resort when something throws past main's finally: nothing may outlive us.
  process.once('exit', () => {
    if (state.suite !== null) killGroup(state.suite, 'SIGTERM'); // TERM lets it remove its temp copy
    if (state.node !== null && isRunning(state.node)) state.node.child.kill('SIGKILL');
    if (state.workDir !== null) rmSync(state.workDir, { recursive: true, force: true });
  });
}

function sleep(ms) {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}

// `peerkv demo`: a playground cluster of N real `peerkv start` processes on loopback (a
// private discovery port, temporary data removed on exit) and a shell to poke at it: any
// Redis command against any node (`@2 get k`), kill/restart (SIGKILL and a fresh process on
// the same data), pause/resume (SIGSTOP/SIGCONT), partition/heal (the node cuts its peer
// links and refuses new ones, through its admin HTTP port started with --allow-partition),
// members, status. On a terminal the shell has history and tab completion; otherwise it
// reads the same commands from stdin, one a line, so a script can drive it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClientError, RespClient } from './client.js';
import { formatAgo, formatTable, infoField, keyCount, parseInfo, parseMembers } from './info.js';
import { formatReply, splitCommandLine } from './reply-format.js';
import { reservePort, reserveUdpPort } from '../runtime/ports.js';
import { replyText } from '../wire/resp-reply-parser.js';

const PEERKV_BIN = fileURLToPath(new URL('../../../bin/peerkv', import.meta.url));
const HOST = '127.0.0.1';
/** A node that does not answer PING this long after its start failed to start. */
const NODE_READY_TIMEOUT_MS = 20_000;
/** How long `restart` waits for the node to hold what the others hold (equal Merkle roots). */
const CATCH_UP_TIMEOUT_MS = 20_000;
const CONVERGE_TIMEOUT_MS = 15_000;
const POLL_INTERVAL_MS = 100;
/** A paused node never answers; commands to it give up after this. */
const COMMAND_TIMEOUT_MS = 3_000;
/** Lines of a node's output kept to explain a failed start. */
const OUTPUT_LINES_KEPT = 40;
const STOP_GRACE_MS = 5_000;

export interface DemoOptions {
  readonly nodes: number;
  /** Run the scripted tour before the shell. */
  readonly tour: boolean;
}

export interface DemoIo {
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

type ProcessState = 'running' | 'killed' | 'paused';

interface DemoNode {
  readonly index: number;
  readonly name: string;
  readonly dataDir: string;
  readonly port: number;
  readonly peerPort: number;
  readonly httpPort: number;
  child: ChildProcess | undefined;
  exited: Promise<void> | undefined;
  state: ProcessState;
  partitioned: boolean;
  client: RespClient | undefined;
  output: string[];
}

const SHELL_COMMANDS = ['help', 'kill', 'restart', 'pause', 'resume', 'partition', 'heal', 'members', 'status', 'sleep', 'quit', 'exit'];
const REDIS_COMMANDS = [
  'set', 'get', 'del', 'exists', 'keys', 'scan', 'type', 'ttl', 'expire', 'persist', 'incr', 'incrby', 'decr', 'append', 'mget', 'mset',
  'hset', 'hget', 'hgetall', 'hdel', 'hincrby', 'sadd', 'srem', 'smembers', 'sismember', 'scard', 'zadd', 'zrange', 'zscore', 'zincrby',
  'lpush', 'rpush', 'lpop', 'rpop', 'lrange', 'llen', 'dbsize', 'flushall', 'info', 'ping', 'wait', 'peerkv.qget',
];

export const DEMO_HELP = `Commands (node 1 unless you prefix @N):
  set k v | get k | incr n | hset h f v | sadd s m | zadd z 1 m | rpush l a ...   any Redis command
  @2 get k                       the same on node 2
  kill N | restart N             SIGKILL node N | start it again on its data (waits until it caught up)
  pause N | resume N             SIGSTOP / SIGCONT node N (its peers soon see it dead)
  partition N | heal [N]         cut node N's peer links (it keeps serving clients) | restore them
  members [N] | status           membership as node N sees it | every node's process, keys and view
  sleep SECONDS | help | quit`;

/** What to try first, for as many nodes as there are. */
export function firstSteps(nodes: number): string {
  const last = nodes;
  const lines = ['Try first:'];
  if (nodes === 1) lines.push('  set greeting hello   then   get greeting   then   members   (start with --nodes 3 to see replication)');
  if (nodes >= 2) {
    lines.push(`  set greeting hello      then   @2 get greeting         (replicated to node 2)`);
    lines.push(`  kill 2                  then   set greeting again      then   restart 2   then   @2 get greeting`);
  }
  if (nodes >= 2) lines.push(`  partition ${last}             then   @${last} set k mine   and   set k yours          then   heal   then   @${last} get k`);
  return lines.join('\n');
}

export async function runDemo(options: DemoOptions, io: DemoIo): Promise<number> {
  const root = await mkdtemp(join(tmpdir(), 'peerkv-demo-'));
  const demo = new DemoCluster(root, options.nodes, io);
  // Ctrl-C at any point (starting, in the shell) ends the demo and still cleans up.
  let interrupted = false;
  let shell: Interface | undefined;
  const onSignal = () => {
    interrupted = true;
    shell?.close();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // If this process ends any other way (an uncaught error, process.exit), take the nodes with it.
  const onExit = () => demo.killNow();
  process.on('exit', onExit);
  try {
    await demo.start();
    if (interrupted) return 0;
    const terminal = io.stdin.isTTY === true;
    shell = createInterface({
      input: io.stdin,
      output: terminal ? io.stdout : undefined,
      terminal,
      historySize: 1000,
      completer: terminal ? (line: string) => complete(line, options.nodes) : undefined,
    });
    shell.on('SIGINT', () => shell?.close());
    demo.say(`\n${firstSteps(options.nodes)}\n(help lists every command; quit or Ctrl-D stops the cluster and removes its data)`);
    if (options.tour) await demo.tour();
    shell.setPrompt('peerkv> ');
    if (terminal) shell.prompt();
    for await (const line of shell) {
      if (!terminal && line.trim() !== '') demo.say(`peerkv> ${line}`);
      const keepGoing = await demo.run(line);
      if (!keepGoing) break;
      if (terminal) shell.prompt();
    }
    return 0;
  } catch (error) {
    io.stderr.write(`peerkv demo: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
    shell?.close();
    demo.say('stopping the cluster and removing its data...');
    await demo.stop();
    await rm(root, { recursive: true, force: true });
  }
}

function complete(line: string, nodeCount: number): [string[], string] {
  const words = line.split(/\s+/);
  const last = words[words.length - 1] ?? '';
  const position = words.length - (words[0]?.startsWith('@') ? 1 : 0);
  const candidates = position <= 1
    ? [...SHELL_COMMANDS, ...REDIS_COMMANDS, ...Array.from({ length: nodeCount }, (_, index) => `@${index + 1}`)]
    : ['kill', 'restart', 'pause', 'resume', 'partition', 'heal', 'members'].includes(words[0] ?? '')
      ? Array.from({ length: nodeCount }, (_, index) => String(index + 1))
      : [];
  const lower = last.toLowerCase();
  const hits = candidates.filter((candidate) => candidate.startsWith(lower));
  return [hits.length > 0 ? hits.map((hit) => hit + ' ') : [], last];
}

class DemoCluster {
  private readonly nodes: DemoNode[] = [];
  private discoveryPort = 0;

  constructor(private readonly root: string, private readonly count: number, private readonly io: DemoIo) {}

  say(text: string): void {
    this.io.stdout.write(`${text}\n`);
  }

  async start(): Promise<void> {
    // A discovery port of our own, so the demo never mixes with real nodes on 7381.
    this.discoveryPort = await reserveUdpPort(HOST);
    const taken = new Set<number>();
    const port = async () => {
      for (;;) {
        const candidate = await reservePort(HOST);
        if (!taken.has(candidate)) {
          taken.add(candidate);
          return candidate;
        }
      }
    };
    for (let index = 1; index <= this.count; index++) {
      const name = `demo-${index}`;
      this.nodes.push({
        index, name, dataDir: join(this.root, name), port: await port(), peerPort: await port(), httpPort: await port(),
        child: undefined, exited: undefined, state: 'killed', partitioned: false, client: undefined, output: [],
      });
    }
    this.say(`peerkv demo: starting ${this.count} node processes on ${HOST}, data under ${this.root}`);
    await Promise.all(this.nodes.map((node) => this.spawnNode(node)));
    for (const node of this.nodes) {
      this.say(`  ${node.index}  ${node.name}  pid ${node.child?.pid}  redis-cli -p ${node.port}   dashboard http://${HOST}:${node.httpPort}/`);
    }
    const formed = await this.waitUntil(async () => (await this.aliveCount(this.nodes[0]!)) >= this.count, CONVERGE_TIMEOUT_MS);
    this.say(formed ? `all ${this.count} nodes see each other` : `the nodes have not all found each other yet (${CONVERGE_TIMEOUT_MS / 1000} s); try members`);
  }

  private async spawnNode(node: DemoNode): Promise<void> {
    const args = [
      PEERKV_BIN, 'start', '--data', node.dataDir, '--name', node.name, '--port', String(node.port), '--peer-port', String(node.peerPort),
      '--http-port', String(node.httpPort), '--allow-partition', '--discovery-port', String(this.discoveryPort), '--log-level', 'warn', '--fsync', 'no',
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    node.child = child;
    node.state = 'running';
    node.partitioned = false;
    node.output = [];
    const keep = (chunk: Buffer) => {
      node.output.push(...chunk.toString().split('\n').filter((line) => line !== ''));
      node.output.splice(0, Math.max(0, node.output.length - OUTPUT_LINES_KEPT));
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    node.exited = new Promise((resolve) => child.once('exit', () => {
      if (node.child === child) node.state = 'killed';
      resolve();
    }));
    const ready = await this.waitUntil(async () => {
      if (node.child !== child || node.state !== 'running') throw new Error(`${node.name} exited while starting:\n${node.output.join('\n')}`);
      const reply = await this.command(node, ['PING'], 1_000).catch(() => undefined);
      return reply?.type === 'simple';
    }, NODE_READY_TIMEOUT_MS);
    if (!ready) throw new Error(`${node.name} did not answer within ${NODE_READY_TIMEOUT_MS / 1000} s:\n${node.output.join('\n')}`);
  }

  private async waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await check()) return true;
      if (Date.now() >= deadline) return false;
      await sleep(POLL_INTERVAL_MS);
    }
  }

  private async client(node: DemoNode): Promise<RespClient> {
    if (node.client !== undefined) return node.client;
    const client = await RespClient.connect({ host: HOST, port: node.port, timeoutMs: COMMAND_TIMEOUT_MS });
    client.onClose(() => {
      if (node.client === client) node.client = undefined;
    });
    node.client = client;
    return client;
  }

  private async command(node: DemoNode, args: readonly string[], timeoutMs = COMMAND_TIMEOUT_MS) {
    const client = await this.client(node);
    return client.command(args, timeoutMs);
  }

  private async info(node: DemoNode, section = 'cluster') {
    const reply = await this.command(node, ['INFO', section]);
    return parseInfo(replyText(reply) ?? '');
  }

  private async aliveCount(node: DemoNode): Promise<number> {
    const info = await this.info(node).catch(() => undefined);
    return info === undefined ? 0 : Number(infoField(info, 'members_alive') ?? 0);
  }

  /** One shell line; false when the shell should end. */
  async run(line: string): Promise<boolean> {
    const words = splitCommandLine(line);
    if (words === undefined) {
      this.say('(error) unbalanced quotes');
      return true;
    }
    if (words.length === 0) return true;
    let target = this.nodes[0]!;
    const at = /^@(\d+)$/.exec(words[0]!);
    if (at) {
      const node = this.node(at[1]!);
      if (node === undefined) return true;
      target = node;
      words.shift();
      if (words.length === 0) return true;
    }
    const [name, ...rest] = words as [string, ...string[]];
    try {
      switch (name.toLowerCase()) {
        case 'quit':
        case 'exit':
          return false;
        case 'help':
          this.say(DEMO_HELP);
          return true;
        case 'kill':
        case 'restart':
        case 'pause':
        case 'resume':
        case 'partition':
          await this.control(name.toLowerCase(), rest);
          return true;
        case 'heal':
          await this.heal(rest);
          return true;
        case 'members':
          await this.members(rest[0] === undefined ? target : this.node(rest[0]));
          return true;
        case 'status':
          await this.status();
          return true;
        case 'sleep': {
          const seconds = Number(rest[0]);
          if (!Number.isFinite(seconds) || seconds < 0 || seconds > 600) this.say('(error) usage: sleep SECONDS');
          else await sleep(seconds * 1000);
          return true;
        }
        default:
          await this.redis(target, words);
          return true;
      }
    } catch (error) {
      this.say(`(error) ${error instanceof Error ? error.message : String(error)}`);
      return true;
    }
  }

  private node(text: string | undefined): DemoNode | undefined {
    const index = Number(text);
    const node = Number.isInteger(index) ? this.nodes[index - 1] : undefined;
    if (node === undefined) this.say(`(error) no node ${text ?? ''}: nodes are 1..${this.count}`);
    return node;
  }

  private async redis(node: DemoNode, words: readonly string[]): Promise<void> {
    if (node.state === 'killed') return this.say(`(error) ${node.name} is killed: restart ${node.index}`);
    if (node.state === 'paused') return this.say(`(error) ${node.name} is paused (SIGSTOP): resume ${node.index}`);
    try {
      this.say(formatReply(await this.command(node, words)));
    } catch (error) {
      if (error instanceof ClientError) this.say(`(error) ${node.name}: ${error.message}`);
      else throw error;
    }
  }

  private async control(action: string, args: readonly string[]): Promise<void> {
    const node = this.node(args[0]);
    if (node === undefined) return;
    switch (action) {
      case 'kill':
        if (node.state === 'killed') return this.say(`${node.name} is already killed`);
        node.client?.close();
        node.child?.kill('SIGKILL');
        await node.exited;
        return this.say(`${node.name} killed (SIGKILL); its peers will see it suspect, then dead`);
      case 'restart': {
        if (node.state === 'paused') {
          node.child?.kill('SIGCONT');
          node.state = 'running';
        }
        if (node.state === 'running') {
          node.client?.close();
          node.child?.kill('SIGKILL');
          await node.exited;
        }
        const startedMs = Date.now();
        await this.spawnNode(node);
        this.say(`${node.name} restarted (pid ${node.child?.pid}) on its data; catching up...`);
        const caughtUp = await this.waitUntil(() => this.caughtUp(node), CATCH_UP_TIMEOUT_MS);
        return this.say(caughtUp
          ? `${node.name} caught up in ${((Date.now() - startedMs) / 1000).toFixed(1)} s (same Merkle root as the other nodes)`
          : `${node.name} has not caught up within ${CATCH_UP_TIMEOUT_MS / 1000} s (a paused or partitioned node? try status)`);
      }
      case 'pause':
        if (node.state !== 'running') return this.say(`${node.name} is ${node.state}`);
        node.child?.kill('SIGSTOP');
        node.state = 'paused';
        return this.say(`${node.name} paused (SIGSTOP): it answers nothing; resume ${node.index} continues it`);
      case 'resume':
        if (node.state !== 'paused') return this.say(`${node.name} is ${node.state}, not paused`);
        node.child?.kill('SIGCONT');
        node.state = 'running';
        return this.say(`${node.name} resumed (SIGCONT)`);
      case 'partition':
        if (node.state !== 'running') return this.say(`${node.name} is ${node.state}`);
        await this.post(node, '/partition');
        node.partitioned = true;
        return this.say(`${node.name} partitioned: its peer links are cut and it refuses new ones; clients still reach it (heal ${node.index} restores them)`);
    }
  }

  private async heal(args: readonly string[]): Promise<void> {
    const chosen = args.length === 0 ? this.nodes.filter((node) => node.partitioned) : [this.node(args[0])].filter((node) => node !== undefined);
    if (chosen.length === 0) return this.say('no node is partitioned');
    for (const node of chosen) {
      if (node.state !== 'running') {
        this.say(`${node.name} is ${node.state}`);
        continue;
      }
      await this.post(node, '/heal');
      node.partitioned = false;
      this.say(`${node.name} healed: redialling its peers`);
    }
  }

  private async post(node: DemoNode, path: string): Promise<void> {
    const response = await fetch(`http://${HOST}:${node.httpPort}${path}`, { method: 'POST', signal: AbortSignal.timeout(COMMAND_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`${node.name}: POST ${path} answered ${response.status}: ${(await response.text()).trim()}`);
  }

  /** The node holds what every other reachable node holds: equal Merkle roots. */
  private async caughtUp(node: DemoNode): Promise<boolean> {
    const others = this.nodes.filter((other) => other !== node && other.state === 'running' && !other.partitioned);
    if (others.length === 0 || node.partitioned) return true;
    const roots = await Promise.all([node, ...others].map(async (each) => infoField(await this.info(each), 'merkle_root')));
    return roots.every((root) => root !== undefined && root === roots[0]);
  }

  private async members(node: DemoNode | undefined): Promise<void> {
    if (node === undefined) return;
    if (node.state !== 'running') return this.say(`(error) ${node.name} is ${node.state}: ask another node (members N)`);
    const rows = parseMembers(await this.info(node), Date.now()).map((member) => [member.name, member.id.slice(0, 8), member.address, member.state, formatAgo(member.lastSeenAgoMs)]);
    this.say(`as ${node.name} sees it:\n${formatTable(['NAME', 'ID', 'ADDRESS', 'STATE', 'LAST SEEN'], rows)}`);
  }

  private async status(): Promise<void> {
    const rows = await Promise.all(this.nodes.map(async (node) => {
      const processText = node.state === 'running' ? (node.partitioned ? 'partitioned' : 'running') : node.state;
      let keys = '-';
      let view = '-';
      if (node.state === 'running') {
        const info = await this.info(node, 'everything').catch(() => undefined);
        if (info !== undefined) {
          keys = String(keyCount(info));
          view = `${infoField(info, 'members_alive') ?? '?'} alive, ${infoField(info, 'members_suspect') ?? '?'} suspect, ${infoField(info, 'members_dead') ?? '?'} dead; sync ${infoField(info, 'sync_state') ?? '?'}`;
        }
      }
      return [String(node.index), node.name, String(node.child?.pid ?? '-'), processText, String(node.port), keys, view];
    }));
    this.say(formatTable(['#', 'NAME', 'PID', 'PROCESS', 'PORT', 'KEYS', 'ITS VIEW'], rows));
  }

  /** The scripted walk-through of the old demo, as shell lines. */
  async tour(): Promise<void> {
    const lines = ['set greeting "hello from demo-1"', `wait ${this.count - 1} 5000`];
    for (let index = 2; index <= this.count; index++) lines.push(`@${index} get greeting`);
    lines.push('members');
    for (const line of lines) {
      this.say(`peerkv> ${line}`);
      await this.run(line);
    }
  }

  /** Synchronous last resort (process 'exit'): SIGKILL every node still running. */
  killNow(): void {
    for (const node of this.nodes) if (node.state !== 'killed') node.child?.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map(async (node) => {
      node.client?.close();
      const child = node.child;
      if (child === undefined || node.state === 'killed') return;
      if (node.state === 'paused') child.kill('SIGCONT');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await node.exited;
      clearTimeout(timer);
    }));
  }
}

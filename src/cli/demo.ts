// `peerkv demo`: a playground cluster of N nodes in this process, on loopback, with
// temporary data directories and free ports, a short scripted tour, then it runs until
// Ctrl-C and cleans up after itself.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RespClient } from './client.js';
import { formatAgo, formatTable, infoField, parseInfo, parseMembers } from './info.js';
import { createLogger } from '../runtime/logger.js';
import { reserveUdpPort } from '../runtime/ports.js';
import { replyText } from '../wire/resp-reply-parser.js';

/** How long the tour waits for the nodes to find each other before showing what it has. */
const DEMO_CONVERGE_TIMEOUT_MS = 10_000;
const DEMO_POLL_INTERVAL_MS = 100;
const DEMO_COMMAND_TIMEOUT_MS = 5_000;

interface DemoNode {
  readonly clientPort: number;
  readonly name: string;
  stop(): Promise<void>;
}

export async function runDemo(nodeCount: number, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const { startNode } = await import('../index.js');
  const root = await mkdtemp(join(tmpdir(), 'peerkv-demo-'));
  // A discovery port of our own, so the demo never mixes with real nodes on 7381.
  const discoveryPort = await reserveUdpPort('127.0.0.1');
  const logger = createLogger('warn');
  const nodes: DemoNode[] = [];
  const say = (text: string) => out.write(`${text}\n`);
  // Listen from the start: Ctrl-C during startup or the tour must still clean up.
  const signalled = waitForSignal();
  try {
    for (let index = 1; index <= nodeCount; index += 1) {
      const name = `demo-${index}`;
      nodes.push(await startNode({ dataDir: join(root, name), port: 0, name, discoveryPort, logLevel: 'warn' }, logger.child({ node: name })));
    }
    say(`peerkv demo: ${nodeCount} nodes on 127.0.0.1, data under ${root}`);
    for (const node of nodes) say(`  ${node.name}: bin/peerkv -p ${node.clientPort} status    redis-cli -p ${node.clientPort}`);
    await tour(nodes, say);
    say('\nThe cluster keeps running: try the commands above. Ctrl-C stops it and removes the data.');
    await signalled;
    say('stopping...');
    return 0;
  } finally {
    await Promise.allSettled(nodes.map((node) => node.stop()));
    await rm(root, { recursive: true, force: true });
  }
}

async function tour(nodes: readonly DemoNode[], say: (text: string) => void): Promise<void> {
  const clients = await Promise.all(nodes.map((node) => RespClient.connect({ host: '127.0.0.1', port: node.clientPort, timeoutMs: DEMO_COMMAND_TIMEOUT_MS })));
  try {
    const first = clients[0]!;
    say(`\nWaiting for the nodes to find each other...`);
    await waitForMembers(first, nodes.length);
    say(`\n$ bin/peerkv -p ${nodes[0]!.clientPort} set greeting "hello from ${nodes[0]!.name}"`);
    say(replyText(await first.command(['SET', 'greeting', `hello from ${nodes[0]!.name}`])) ?? '?');
    // WAIT: block until the other nodes stored it, so the reads below see it.
    await first.command(['WAIT', String(nodes.length - 1), String(DEMO_COMMAND_TIMEOUT_MS)], DEMO_COMMAND_TIMEOUT_MS + 1000);
    for (let index = 1; index < nodes.length; index += 1) {
      say(`$ bin/peerkv -p ${nodes[index]!.clientPort} get greeting`);
      const reply = await clients[index]!.command(['GET', 'greeting']);
      say(reply.type === 'null' ? '(not there yet)' : replyText(reply) ?? '?');
    }
    say(`$ bin/peerkv -p ${nodes[0]!.clientPort} members`);
    const info = parseInfo(replyText(await first.command(['INFO', 'cluster'])) ?? '');
    const rows = parseMembers(info, Date.now()).map((member) => [member.name, member.id.slice(0, 8), member.address, member.state, formatAgo(member.lastSeenAgoMs)]);
    say(formatTable(['NAME', 'ID', 'ADDRESS', 'STATE', 'LAST SEEN'], rows));
  } finally {
    for (const client of clients) client.close();
  }
}

async function waitForMembers(client: RespClient, expected: number): Promise<void> {
  const deadline = Date.now() + DEMO_CONVERGE_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const info = parseInfo(replyText(await client.command(['INFO', 'cluster'])) ?? '');
    if (Number(infoField(info, 'members_alive') ?? 0) >= expected) return;
    await sleep(DEMO_POLL_INTERVAL_MS);
  }
}


function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

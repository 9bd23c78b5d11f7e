// Anti-entropy cost on two idle, in-sync nodes: INFO counter deltas over a window,
// divided by the rounds run in it. Counter names are found by pattern, since INFO
// lists them as antientropy_<name> and peer_<name> without a fixed schema.
import { formatCount, markdownTable } from './format.js';
import { sleep } from './processes.js';
import { readInfo } from './resp-client.js';
import type { Server } from './servers.js';

export interface AntiEntropyCost {
  readonly windowSeconds: number;
  /** Rounds of the pair: the larger per-node delta (each node counts every round it takes part in). */
  readonly rounds: number;
  readonly roundCounter: string;
  /** Anti-entropy messages of both nodes per round (a round trip is 2). */
  readonly messagesPerRound: number;
  readonly messagesCounter: string;
  /** Anti-entropy bytes of both nodes per round, from the node's own (estimated) counter; NaN if none. */
  readonly bytesPerRound: number;
  readonly bytesCounter: string;
  /** All peer-link bytes of both nodes per round: an upper bound (heartbeats and membership included). */
  readonly linkBytesPerRound: number;
  readonly linkBytesCounter: string;
}

type Counters = Map<string, number>;

function numericCounters(info: Map<string, string>): Counters {
  const counters: Counters = new Map();
  for (const [name, value] of info) {
    if ((name.startsWith('antientropy_') || name.startsWith('peer_')) && /^-?\d+(\.\d+)?$/.test(value)) counters.set(name, Number(value));
  }
  return counters;
}

function delta(before: Counters, after: Counters, name: string): number {
  return (after.get(name) ?? 0) - (before.get(name) ?? 0);
}

function pick(names: readonly string[], include: RegExp, prefer: readonly RegExp[]): string | undefined {
  const candidates = names.filter((name) => include.test(name)).sort();
  for (const pattern of prefer) {
    const found = candidates.find((name) => pattern.test(name));
    if (found !== undefined) return found;
  }
  return candidates[0];
}

/** Throws (with the counters INFO does have) when no round counter can be found. */
export async function measureAntiEntropyCost(nodes: readonly [Server, Server], windowSeconds: number): Promise<AntiEntropyCost> {
  const before = [numericCounters(await readInfo(nodes[0].port)), numericCounters(await readInfo(nodes[1].port))];
  await sleep(windowSeconds * 1000);
  const after = [numericCounters(await readInfo(nodes[0].port)), numericCounters(await readInfo(nodes[1].port))];
  const names = [...new Set([...after[0]!.keys(), ...after[1]!.keys()])].sort();
  const perNode = (name: string) => [delta(before[0]!, after[0]!, name), delta(before[1]!, after[1]!, name)] as const;
  const sum = (name: string) => (name === '' ? Number.NaN : perNode(name)[0] + perNode(name)[1]);
  console.log(`\ncounter deltas over ${windowSeconds} s (node 1, node 2):\n`);
  console.log(markdownTable(['counter', 'node 1', 'node 2'], names.filter((name) => sum(name) !== 0).map((name) => [name, ...perNode(name).map(formatCount)])));
  const sent = /sent|out|tx/;
  const roundCounter = pick(names, /^antientropy_.*round/, [/^antientropy_rounds$/, /start/, /initiat/, /complete|done|finish/]);
  const rounds = roundCounter === undefined ? 0 : Math.max(...perNode(roundCounter));
  if (roundCounter === undefined || rounds <= 0) {
    const available = names.filter((name) => name.startsWith('antientropy_')).join(', ') || 'none';
    throw new Error(`no anti-entropy round counted in ${windowSeconds} s (antientropy_* counters in INFO: ${available})`);
  }
  const bytesCounter = pick(names, /^antientropy_.*bytes/, [sent]) ?? '';
  const messagesCounter = pick(names, /^antientropy_.*(messages|frames)/, [sent]) ?? '';
  const linkBytesCounter = pick(names, /^peer_.*bytes/, [sent]) ?? '';
  return {
    windowSeconds,
    rounds,
    roundCounter,
    messagesPerRound: sum(messagesCounter) / rounds,
    messagesCounter,
    bytesPerRound: sum(bytesCounter) / rounds,
    bytesCounter,
    linkBytesPerRound: sum(linkBytesCounter) / rounds,
    linkBytesCounter,
  };
}

// Anti-entropy cost on two idle, in-sync nodes: INFO counter deltas over a window,
// divided by the rounds run in it. Counter names are found by pattern, since INFO
// lists them as antientropy_<name> and peer_<name> without a fixed schema.
import { formatCount, markdownTable } from './format.js';
import { sleep } from './processes.js';
import { readInfo } from './resp-client.js';
import type { Server } from './servers.js';

export interface AntiEntropyCost {
  readonly windowSeconds: number;
  readonly rounds: number;
  readonly roundCounter: string;
  readonly bytesPerRound: number;
  readonly bytesCounter: string;
  readonly messagesPerRound: number;
  readonly messagesCounter: string;
  /** True when the byte figure came from peer_* link counters (heartbeats included: an upper bound). */
  readonly bytesIncludeOtherTraffic: boolean;
}

type Counters = Map<string, number>;

function numericCounters(info: Map<string, string>): Counters {
  const counters: Counters = new Map();
  for (const [name, value] of info) {
    if ((name.startsWith('antientropy_') || name.startsWith('peer_')) && /^-?\d+(\.\d+)?$/.test(value)) counters.set(name, Number(value));
  }
  return counters;
}

/** Sums after-before over both nodes for every counter. */
function deltas(before: Counters[], after: Counters[]): Counters {
  const total: Counters = new Map();
  after.forEach((counters, node) => {
    for (const [name, value] of counters) total.set(name, (total.get(name) ?? 0) + value - (before[node]!.get(name) ?? 0));
  });
  return total;
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
  const delta = deltas(before, after);
  const names = [...delta.keys()].sort();
  console.log(`\ncounter deltas over ${windowSeconds} s, both nodes summed:\n`);
  console.log(markdownTable(['counter', 'delta'], names.filter((name) => delta.get(name) !== 0).map((name) => [name, formatCount(delta.get(name)!)])));
  const sent = /sent|out|tx/;
  const roundCounter = pick(names, /^antientropy_.*round/, [/^antientropy_rounds$/, /start/, /initiat/, /complete|done|finish/]);
  if (roundCounter === undefined || delta.get(roundCounter)! <= 0) {
    const available = names.filter((name) => name.startsWith('antientropy_')).join(', ') || 'none';
    throw new Error(`no anti-entropy round counted in ${windowSeconds} s (antientropy_* counters in INFO: ${available})`);
  }
  const rounds = delta.get(roundCounter)!;
  const ownBytes = pick(names, /^antientropy_.*bytes/, [sent]);
  const bytesCounter = ownBytes ?? pick(names, /^peer_.*bytes/, [sent]) ?? '';
  const messagesCounter = pick(names, /^antientropy_.*(messages|frames)/, [sent]) ?? pick(names, /^peer_.*(messages|frames)/, [sent]) ?? '';
  const perRound = (name: string) => (name === '' ? Number.NaN : delta.get(name)! / rounds);
  return {
    windowSeconds,
    rounds,
    roundCounter,
    bytesPerRound: perRound(bytesCounter),
    bytesCounter,
    messagesPerRound: perRound(messagesCounter),
    messagesCounter,
    bytesIncludeOtherTraffic: ownBytes === undefined,
  };
}

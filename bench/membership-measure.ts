// The four membership measurements of issue 3, each on its own fresh group of real nodes:
// time to converge, kill -9 detection time, false deaths under load, idle traffic.
import { createSocket } from 'node:dgram';
import { counter, InfoClient, planNodes, pollAll, signalNode, sleep, startNode, stopNodes, type BenchNode, type ClusterInfo } from './membership-nodes.js';
import { PacedWriter, type WriterResult } from './membership-writer.js';

/** INFO polling period while timing convergence (the brief: 20-50 ms). */
const CONVERGE_POLL_MS = 25;
/** Polling period while waiting for a killed node to be declared dead. */
const DETECT_POLL_MS = 20;
/** Membership-state sampling period during the soak. */
const SOAK_SAMPLE_MS = 1_000;
/** 10 node processes starting on 2 busy cores can take this long. */
const CONVERGE_TIMEOUT_MS = 120_000;
/** Far beyond the 3 s goal: a trial that hits it is reported as a failure, not waited out. */
const DETECT_TIMEOUT_MS = 30_000;
/** After convergence, let link-up anti-entropy rounds finish before reading idle counters. */
const IDLE_SETTLE_MS = 5_000;

export interface ConvergenceTrial {
  readonly nodes: number;
  /** From the first spawn to every node reporting members_alive == nodes. */
  readonly spawnToConvergedMs: number;
  /** From the spawn to the last node's 'peerkv ready' line (process start cost). */
  readonly spawnToLastReadyMs: number;
  /** From the last 'peerkv ready' line to convergence: discovery and linking alone. */
  readonly lastReadyToConvergedMs: number;
}

function aliveCount(info: ClusterInfo | undefined): number {
  return info === undefined ? 0 : counter(info, 'members_alive');
}

/** Polls until every node reports `count` members alive; returns the time each first did. */
async function waitConverged(nodes: readonly BenchNode[], clients: readonly InfoClient[], count: number, pollMs: number): Promise<number[]> {
  const firstAtMs: (number | undefined)[] = nodes.map(() => undefined);
  const deadline = performance.now() + CONVERGE_TIMEOUT_MS;
  while (firstAtMs.some((at) => at === undefined)) {
    if (performance.now() > deadline) {
      const missing = nodes.filter((_, index) => firstAtMs[index] === undefined).map((node) => `port ${node.port}: ${node.outputTail.slice(-400)}`);
      throw new Error(`no convergence to ${count} members within ${CONVERGE_TIMEOUT_MS} ms\n${missing.join('\n')}`);
    }
    const infos = await pollAll(clients);
    const atMs = performance.now();
    infos.forEach((info, index) => {
      if (firstAtMs[index] === undefined && aliveCount(info) === count) firstAtMs[index] = atMs;
    });
    await sleep(pollMs);
  }
  return firstAtMs as number[];
}

/** Starts `count` fresh nodes at once and waits for them to see each other. */
export async function startCluster(count: number): Promise<{ nodes: BenchNode[]; clients: InfoClient[]; trial: ConvergenceTrial }> {
  const nodes = await planNodes(count);
  const clients = nodes.map((node) => new InfoClient(node.port));
  for (const node of nodes) startNode(node);
  const firstSpawnMs = nodes[0]!.spawnedAtMs;
  const convergedAtMs = Math.max(...(await waitConverged(nodes, clients, count, CONVERGE_POLL_MS)));
  const lastReadyMs = Math.max(...nodes.map((node) => node.readyAtMs ?? Number.NaN));
  return {
    nodes,
    clients,
    trial: {
      nodes: count,
      spawnToConvergedMs: convergedAtMs - firstSpawnMs,
      spawnToLastReadyMs: lastReadyMs - firstSpawnMs,
      lastReadyToConvergedMs: convergedAtMs - lastReadyMs,
    },
  };
}

export async function stopCluster(nodes: readonly BenchNode[], clients: readonly InfoClient[]): Promise<void> {
  for (const client of clients) client.close();
  await stopNodes(nodes);
}

export async function measureConvergence(count: number): Promise<ConvergenceTrial> {
  const { nodes, clients, trial } = await startCluster(count);
  await stopCluster(nodes, clients);
  return trial;
}

export interface DetectionTrial {
  /** kill -9 until the first survivor shows the victim dead. */
  readonly firstDeadMs: number;
  /** kill -9 until both survivors show it dead: the detection time reported. */
  readonly allDeadMs: number;
  /** kill -9 until the first survivor shows it suspect. */
  readonly firstSuspectMs: number;
  /** Restart spawn until all three report members_alive == 3 again. */
  readonly restartToAliveMs: number;
}

function memberState(info: ClusterInfo | undefined, id: string): string | undefined {
  return info?.members.find((member) => member.id === id)?.state;
}

/** kill -9 one of three nodes per trial (in turn), time detection, restart it and wait until it is back. */
export async function measureDetection(trials: number, onTrial: (trial: DetectionTrial, index: number) => void): Promise<DetectionTrial[]> {
  const { nodes, clients } = await startCluster(3);
  const results: DetectionTrial[] = [];
  try {
    const ids = (await Promise.all(clients.map((client) => client.info()))).map((info) => info.fields.get('node_id') ?? '');
    for (let index = 0; index < trials; index++) {
      const victim = nodes[index % nodes.length]!;
      const survivors = clients.filter((_, i) => i !== victim.index);
      const killedAtMs = performance.now();
      await signalNode(victim, 'SIGKILL');
      const deadAtMs: (number | undefined)[] = survivors.map(() => undefined);
      let suspectAtMs: number | undefined;
      while (deadAtMs.some((at) => at === undefined)) {
        if (performance.now() - killedAtMs > DETECT_TIMEOUT_MS) throw new Error(`trial ${index}: node ${victim.port} not declared dead within ${DETECT_TIMEOUT_MS} ms`);
        await sleep(DETECT_POLL_MS);
        const infos = await pollAll(survivors);
        const atMs = performance.now();
        infos.forEach((info, i) => {
          const state = memberState(info, ids[victim.index]!);
          if (state === 'suspect' || state === 'dead') suspectAtMs ??= atMs;
          if (state === 'dead' && deadAtMs[i] === undefined) deadAtMs[i] = atMs;
        });
      }
      startNode(victim);
      await waitConverged(nodes, clients, nodes.length, CONVERGE_POLL_MS);
      const trial: DetectionTrial = {
        firstDeadMs: Math.min(...(deadAtMs as number[])) - killedAtMs,
        allDeadMs: Math.max(...(deadAtMs as number[])) - killedAtMs,
        firstSuspectMs: (suspectAtMs ?? Number.NaN) - killedAtMs,
        restartToAliveMs: performance.now() - victim.spawnedAtMs,
      };
      results.push(trial);
      onTrial(trial, index);
    }
  } finally {
    await stopCluster(nodes, clients);
  }
  return results;
}

/** Counters summed over the nodes at one moment. */
export interface MembershipCounters {
  readonly deaths: number;
  readonly suspicions: number;
  readonly suspicionsRefuted: number;
  readonly refutations: number;
  readonly indirectProbes: number;
  readonly probesSent: number;
}

function sumCounters(infos: readonly (ClusterInfo | undefined)[]): MembershipCounters {
  const sum = (name: string) => infos.reduce((total, info) => total + (info === undefined ? 0 : counter(info, name)), 0);
  return {
    deaths: sum('membership_deaths'),
    suspicions: sum('membership_suspicions'),
    suspicionsRefuted: sum('membership_suspicions_refuted'),
    refutations: sum('membership_refutations'),
    indirectProbes: sum('membership_indirect_probes'),
    probesSent: sum('membership_probes_sent'),
  };
}

export interface SoakResult {
  readonly nodes: number;
  readonly seconds: number;
  readonly ratePerSecond: number;
  readonly writer: WriterResult;
  /** Summed over nodes, from convergence to the end: any death is false (nothing was killed). */
  readonly during: MembershipCounters;
  /** Same counters during start-up, before convergence was reached. */
  readonly atStart: MembershipCounters;
  readonly samples: number;
  /** Samples in which some node listed some member as dead / as suspect. */
  readonly samplesWithDead: number;
  readonly samplesWithSuspect: number;
  /** Samples in which some node did not answer INFO within 2 s. */
  readonly samplesUnanswered: number;
  readonly minAliveSeen: number;
}

export async function measureSoak(count: number, seconds: number, ratePerSecond: number, onProgress: (text: string) => void): Promise<SoakResult> {
  const { nodes, clients } = await startCluster(count);
  try {
    const atStart = sumCounters(await pollAll(clients));
    const writer = new PacedWriter(nodes.map((node) => node.port), ratePerSecond);
    await writer.start();
    const startedMs = performance.now();
    let samples = 0;
    let samplesWithDead = 0;
    let samplesWithSuspect = 0;
    let samplesUnanswered = 0;
    let minAliveSeen = count;
    let nextReportMs = startedMs + 60_000;
    while (performance.now() - startedMs < seconds * 1000) {
      await sleep(SOAK_SAMPLE_MS);
      const infos = await pollAll(clients);
      samples++;
      if (infos.some((info) => info === undefined)) samplesUnanswered++;
      const states = infos.flatMap((info) => info?.members.map((member) => member.state) ?? []);
      if (states.includes('dead')) samplesWithDead++;
      if (states.includes('suspect')) samplesWithSuspect++;
      for (const info of infos) if (info !== undefined) minAliveSeen = Math.min(minAliveSeen, aliveCount(info));
      if (performance.now() >= nextReportMs) {
        nextReportMs += 60_000;
        const summed = sumCounters(infos);
        onProgress(`soak ${Math.round((performance.now() - startedMs) / 1000)} s: deaths ${summed.deaths - atStart.deaths}, suspicions ${summed.suspicions - atStart.suspicions}, samples with dead ${samplesWithDead}`);
      }
    }
    const writerResult = await writer.stop();
    const atEnd = sumCounters(await pollAll(clients));
    const during: MembershipCounters = {
      deaths: atEnd.deaths - atStart.deaths,
      suspicions: atEnd.suspicions - atStart.suspicions,
      suspicionsRefuted: atEnd.suspicionsRefuted - atStart.suspicionsRefuted,
      refutations: atEnd.refutations - atStart.refutations,
      indirectProbes: atEnd.indirectProbes - atStart.indirectProbes,
      probesSent: atEnd.probesSent - atStart.probesSent,
    };
    return { nodes: count, seconds, ratePerSecond, writer: writerResult, during, atStart, samples, samplesWithDead, samplesWithSuspect, samplesUnanswered, minAliveSeen };
  } finally {
    await stopCluster(nodes, clients);
  }
}

export interface IdleTraffic {
  readonly nodes: number;
  readonly seconds: number;
  /** Per node per second, averaged over the nodes. */
  readonly peerFramesPerSecond: number;
  readonly peerBytesPerSecond: number;
  readonly datagramsPerSecond: number;
  readonly datagramBytesPerSecond: number;
  /** Mean UDP payload size heard on the discovery port during the window. */
  readonly datagramBytesMean: number;
}

/** Counts the announcements on the group's discovery port, the way the nodes hear them. */
function listenDiscovery(port: number): Promise<{ stats: () => { count: number; bytes: number }; close: () => void }> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    let count = 0;
    let bytes = 0;
    socket.on('message', (datagram) => {
      count++;
      bytes += datagram.length;
    });
    socket.once('error', reject);
    socket.bind(port, '127.255.255.255', () => resolve({ stats: () => ({ count, bytes }), close: () => socket.close() }));
  });
}

export async function measureIdle(count: number, seconds: number): Promise<IdleTraffic> {
  const { nodes, clients } = await startCluster(count);
  try {
    await sleep(IDLE_SETTLE_MS);
    const listener = await listenDiscovery(nodes[0]!.discoveryPort);
    const before = await Promise.all(clients.map((client) => client.info()));
    const startedMs = performance.now();
    await sleep(seconds * 1000);
    const after = await Promise.all(clients.map((client) => client.info()));
    const elapsedSeconds = (performance.now() - startedMs) / 1000;
    const heard = listener.stats();
    listener.close();
    const perNodePerSecond = (name: string) =>
      after.reduce((total, info, index) => total + counter(info, name) - counter(before[index]!, name), 0) / count / elapsedSeconds;
    const datagramsPerSecond = perNodePerSecond('discovery_sent');
    const datagramBytesMean = heard.count > 0 ? heard.bytes / heard.count : Number.NaN;
    return {
      nodes: count,
      seconds: elapsedSeconds,
      peerFramesPerSecond: perNodePerSecond('peer_frames_out'),
      peerBytesPerSecond: perNodePerSecond('peer_bytes_out'),
      datagramsPerSecond,
      datagramBytesPerSecond: datagramsPerSecond * datagramBytesMean,
      datagramBytesMean,
    };
  } finally {
    await stopCluster(nodes, clients);
  }
}

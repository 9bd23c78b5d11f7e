// Admin HTTP port (--http-port): Prometheus metrics, a health check, INFO as JSON, and the
// dashboard (served from here, no CDN) with the /stats it polls. Read-only, except POST
// /partition and /heal with --allow-partition; binds to the node's --bind address.
import { createServer, type Server } from 'node:http';
import { Registry, Gauge } from 'prom-client';
import { headerType, KEY_TYPE_NAMES } from '../core/rows.js';
import { DASHBOARD_HTML } from './dashboard-html.js';
import type { CommandStatsEntry } from '../server/command-stats.js';
import type { Engine } from '../server/engine.js';

export interface AdminHttpOptions {
  readonly host: string;
  readonly port: number;
  readonly engine: Engine;
  /** Per-command calls and handler time (the dashboard's ops/s and latency charts). */
  readonly commandStats?: () => CommandStatsEntry[];
  /** Our write sequence and what each linked peer acknowledged of it (replication lag). */
  readonly replication?: () => { writeSeq: number; acks: readonly { peer: string; ackedSeq: number }[] };
  /** Present only with --allow-partition: POST /partition and /heal call it. */
  readonly partition?: (on: boolean) => void;
}

/** Keys a /stats request may look at for the per-type census: the census walks the keyspace in steps. */
export const CENSUS_KEYS_PER_STATS = 5_000;
/** How long write-sequence samples are kept to date a peer's acknowledgement. */
const WRITE_SEQ_HISTORY_MS = 300_000;

/**
 * Keys per type, counted by walking the keyspace a step per /stats call; each complete
 * pass replaces the published counts, so a large keyspace costs a bounded amount per call.
 */
class KeyTypeCensus {
  private cursor = 0;
  private counting: Record<string, number> = {};
  private published: Record<string, number> | undefined;
  private passEndedMs = 0;

  constructor(private readonly engine: Engine) {}

  step(nowMs: number): { counts: Record<string, number> | undefined; asOfMs: number } {
    let budget = CENSUS_KEYS_PER_STATS;
    do {
      const page = this.engine.scan(this.cursor, Math.min(budget, 1_000));
      for (const header of page.headers) {
        const name = KEY_TYPE_NAMES[headerType(header.value ?? new Uint8Array(0))] ?? 'other';
        this.counting[name] = (this.counting[name] ?? 0) + 1;
      }
      budget -= Math.max(1, page.keys.length);
      this.cursor = page.cursor;
      if (this.cursor === 0) {
        this.published = this.counting;
        this.counting = {};
        this.passEndedMs = nowMs;
        break;
      }
    } while (budget > 0);
    return { counts: this.published, asOfMs: this.passEndedMs };
  }
}

/** Dates each of our write sequences (sampled per /stats call) so a peer's ack says how far behind it is in time. */
class ReplicationLag {
  private readonly samples: { seq: number; ms: number }[] = [];

  lagOf(writeSeq: number, acks: readonly { peer: string; ackedSeq: number }[], nowMs: number) {
    const last = this.samples[this.samples.length - 1];
    if (last === undefined || last.seq !== writeSeq) this.samples.push({ seq: writeSeq, ms: nowMs });
    while (this.samples.length > 1 && this.samples[0]!.ms < nowMs - WRITE_SEQ_HISTORY_MS) this.samples.shift();
    return acks.map(({ peer, ackedSeq }) => {
      const behindWrites = Math.max(0, writeSeq - ackedSeq);
      if (behindWrites === 0) return { peer, behindWrites, lagMs: 0 };
      // The first write the peer lacks was issued no later than the first sample past its ack.
      const firstMissing = this.samples.find((sample) => sample.seq > ackedSeq);
      return { peer, behindWrites, lagMs: firstMissing === undefined ? 0 : Math.max(0, nowMs - firstMissing.ms) };
    });
  }
}

export interface AdminHttp {
  readonly port: number;
  close(): Promise<void>;
}

function metricName(counter: string): string {
  return `peerkv_${counter.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}

/** The Prometheus registry and the function that fills it from engine.info() at scrape time. */
function createMetrics(engine: Engine): { registry: Registry; collect: () => void } {
  const registry = new Registry();
  const members = new Gauge({ name: 'peerkv_members', help: 'Members by state, counting this node', labelNames: ['state'], registers: [registry] });
  const keys = new Gauge({ name: 'peerkv_keys', help: 'Live keys stored on this node', registers: [registry] });
  const counters = new Gauge({ name: 'peerkv_counter', help: 'Totals since start (see INFO)', labelNames: ['name'], registers: [registry] });
  const rss = new Gauge({ name: 'peerkv_resident_memory_bytes', help: 'Resident set size of the node process', registers: [registry] });
  const collect = () => {
    const info = engine.info();
    members.reset();
    for (const state of ['alive', 'suspect', 'dead']) members.set({ state }, info.members.filter((member) => member.state === state).length);
    keys.set(info.keys);
    counters.reset();
    for (const [name, value] of Object.entries(info.counters)) counters.set({ name: metricName(name) }, value);
    rss.set(process.memoryUsage().rss);
  };
  return { registry, collect };
}

export async function startAdminHttp(options: AdminHttpOptions): Promise<AdminHttp> {
  const { engine } = options;
  const { registry, collect } = createMetrics(engine);
  const census = new KeyTypeCensus(engine);
  const lag = new ReplicationLag();
  const stats = () => {
    const info = engine.info();
    const nowMs = engine.nowMs();
    const replication = options.replication?.();
    const names = new Map(info.members.map((member) => [member.id, member.name]));
    const keyTypes = census.step(nowMs);
    return {
      nowMs,
      nodeId: info.nodeId,
      nodeName: info.nodeName,
      keys: info.keys,
      keysByType: keyTypes.counts ?? null,
      keysByTypeAsOfMs: keyTypes.asOfMs,
      members: [
        ...(info.members.some((member) => member.id === info.nodeId) ? [] : [{ id: info.nodeId, name: info.nodeName, addr: info.peerAddr, state: 'alive' }]),
        ...info.members.map((member) => ({ id: member.id, name: member.name, addr: member.addr, state: member.id === info.nodeId ? 'alive' : member.state, lastSeenAgoMs: Math.max(0, Math.round(nowMs - member.lastSeenMs)) })),
      ],
      commands: (options.commandStats?.() ?? []).map((entry) => ({ name: entry.name, calls: entry.calls, usec: Math.round(entry.usec) })),
      replication: replication === undefined ? [] : lag.lagOf(replication.writeSeq, replication.acks, nowMs).map((entry) => ({ ...entry, name: names.get(entry.peer) ?? entry.peer.slice(0, 8) })),
      sync: info.sync.map((sync) => ({ ...sync, name: names.get(sync.peer) ?? sync.peer.slice(0, 8) })),
      resyncActive: (info.counters.resync_active ?? 0) > 0,
      antiEntropy: {
        rounds: info.sync.reduce((sum, sync) => sum + sync.rounds, 0),
        keysReceived: info.sync.reduce((sum, sync) => sum + sync.keysReceived, 0),
        keysSent: info.sync.reduce((sum, sync) => sum + sync.keysSent, 0),
      },
    };
  };
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(body);
    };
    if (request.method === 'POST' && (path === '/partition' || path === '/heal')) {
      if (options.partition === undefined) return send(403, 'text/plain', 'start the node with --allow-partition to use /partition and /heal\n');
      options.partition(path === '/partition');
      return send(200, 'application/json', JSON.stringify({ partitioned: path === '/partition' }));
    }
    if (request.method !== 'GET') return send(405, 'text/plain', 'only GET (POST /partition and /heal with --allow-partition)\n');
    if (path === '/health') {
      const info = engine.info();
      return send(200, 'application/json', JSON.stringify({ status: 'ok', nodeId: info.nodeId, membersAlive: info.members.filter((m) => m.state === 'alive').length }));
    }
    if (path === '/info') {
      const info = engine.info();
      const nowMs = engine.nowMs();
      const members = info.members.map((member) => ({ ...member, lastSeenAgoMs: Math.max(0, Math.round(nowMs - member.lastSeenMs)) }));
      return send(200, 'application/json', JSON.stringify({ ...info, members }));
    }
    if (path === '/stats') return send(200, 'application/json', JSON.stringify(stats()));
    if (path === '/metrics') {
      collect();
      registry.metrics().then((text) => send(200, registry.contentType, text), (error: unknown) => send(500, 'text/plain', String(error)));
      return;
    }
    if (path === '/' || path === '/dashboard') return send(200, 'text/html; charset=utf-8', DASHBOARD_HTML);
    return send(404, 'text/plain', 'not found: try /, /health, /info, /stats or /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return {
    port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

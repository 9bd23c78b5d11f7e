// The INFO reply: Redis's usual sections (what monitoring tools and client libraries
// read) and a `# Cluster` section with peerkv's membership and sync state (DESIGN.md 1).
import { scriptHost } from './scripting-host.js';
import { arch, release } from 'node:os';
import type { EngineInfo } from './engine.js';
import { REDIS_COMPATIBLE_VERSION } from './connection.js';
import { CLIENTS_MAX } from './limits.js';
import type { ServerState } from './state.js';

/** Sections in INFO order; `all`/`everything` select all of them, `default` (and none) all but the extra ones. */
export const INFO_SECTIONS = ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'commandstats', 'errorstats', 'keyspace', 'cluster'] as const;
type SectionName = (typeof INFO_SECTIONS)[number];
/** Not in `default`, as in Redis: long and only for those who ask. */
const EXTRA_SECTIONS: ReadonlySet<SectionName> = new Set(['commandstats', 'errorstats']);

let peakMemoryBytes = 0;

function humanBytes(bytes: number): string {
  const units = ['B', 'K', 'M', 'G', 'T'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes}B` : `${value.toFixed(2)}${units[unit]}`;
}

function serverSection(server: ServerState, info: EngineInfo, nowMs: number): string[] {
  const uptimeSeconds = Math.floor((nowMs - server.startedAtMs) / 1000);
  return [
    `redis_version:${REDIS_COMPATIBLE_VERSION}`,
    `peerkv_version:${info.version}`,
    'redis_mode:standalone',
    `os:${process.platform} ${release()} ${arch()}`,
    'arch_bits:64',
    `process_id:${process.pid}`,
    `run_id:${info.nodeId}`,
    `tcp_port:${server.tcpPort}`,
    `server_time_usec:${nowMs * 1000}`,
    `uptime_in_seconds:${uptimeSeconds}`,
    `uptime_in_days:${Math.floor(uptimeSeconds / 86_400)}`,
    `executable:${process.argv[1] ?? ''}`,
  ];
}

function clientsSection(server: ServerState): string[] {
  let subscribed = 0;
  for (const session of server.sessions.values()) if (session.subscriptionCount() > 0) subscribed++;
  return [`connected_clients:${server.sessions.size}`, `maxclients:${CLIENTS_MAX}`, `blocked_clients:${server.blockedClients}`, `pubsub_clients:${subscribed}`];
}

/**
 * used_memory is what maxmemory is checked against (admission-state.ts): the process's heap
 * and buffers (used_memory_overhead) plus the LMDB pages holding the rows (used_memory_dataset).
 */
function memorySection(server: ServerState): string[] {
  const sample = server.admission.refresh();
  const used = sample.usedBytes;
  const rss = sample.rssBytes;
  if (used > peakMemoryBytes) peakMemoryBytes = used;
  const maxMemory = server.settings.integer('maxmemory');
  return [
    `used_memory:${used}`,
    `used_memory_human:${humanBytes(used)}`,
    `used_memory_rss:${rss}`,
    `used_memory_rss_human:${humanBytes(rss)}`,
    `used_memory_peak:${peakMemoryBytes}`,
    `used_memory_peak_human:${humanBytes(peakMemoryBytes)}`,
    `used_memory_overhead:${sample.processBytes}`,
    `used_memory_dataset:${sample.datasetBytes}`,
    `mem_fragmentation_ratio:${used > 0 ? (rss / used).toFixed(2) : '0.00'}`,
    `maxmemory:${maxMemory}`,
    `maxmemory_human:${humanBytes(maxMemory)}`,
    `maxmemory_policy:${server.settings.text('maxmemory-policy')}`,
    `number_of_cached_scripts:${scriptHost(server).scripts.size}`,
  ];
}

function persistenceSection(info: EngineInfo): string[] {
  return [
    'loading:0',
    'async_loading:0',
    // Redis's dirty counter: rows this node's clients wrote since start (peerkv commits every write, never saves).
    `rdb_changes_since_last_save:${info.counters.client_writes ?? 0}`,
    'rdb_bgsave_in_progress:0',
    `rdb_last_save_time:${Math.floor(info.lastSaveMs / 1000)}`,
    `rdb_last_bgsave_status:${info.storageError === undefined ? 'ok' : 'err'}`,
    ...(info.storageError === undefined ? [] : [`storage_error:${info.storageError.replace(/[\r\n]+/g, ' ')}`]),
    'aof_enabled:0',
    'aof_rewrite_in_progress:0',
    'storage_engine:lmdb',
    `data_dir:${info.dataDir}`,
    `fsync:${info.fsync}`,
  ];
}

function statsSection(server: ServerState, info: EngineInfo): string[] {
  const stats = server.stats;
  return [
    `total_connections_received:${stats.connectionsReceived}`,
    `total_commands_processed:${stats.commandsProcessed}`,
    `instantaneous_ops_per_sec:${server.instantaneousOps}`,
    `total_net_input_bytes:${stats.netInputBytes}`,
    `total_net_output_bytes:${stats.netOutputBytes}`,
    `rejected_connections:${stats.rejectedConnections}`,
    `expired_keys:${info.counters.expired ?? info.counters.expired_keys ?? 0}`,
    'evicted_keys:0',
    `keyspace_hits:${stats.keyspaceHits}`,
    `keyspace_misses:${stats.keyspaceMisses}`,
    `pubsub_channels:${server.pubsub.channelCount()}`,
    `pubsub_patterns:${server.pubsub.patternCount()}`,
    `total_protocol_errors:${stats.protocolErrors}`,
    `total_reads_processed:${stats.readsProcessed}`,
    `total_writes_processed:${stats.replyWrites}`,
    // Keys created as different types on two nodes at once (DESIGN.md 6): the newer header won.
    `type_conflicts:${info.counters.type_conflicts ?? 0}`,
    `total_error_replies:${server.commandStats.totalErrorReplies}`,
    `total_internal_errors:${stats.internalErrors}`,
    `client_output_overflows:${stats.outputOverflows}`,
  ];
}

/**
 * Every node is a master; the peers linked to it now are listed as its replicas (each holds
 * every key), with lag = seconds since it was last heard from. min_slaves_good_slaves: those
 * heard from within min-replicas-max-lag, what min-replicas-to-write counts (admission.ts).
 */
function replicationSection(server: ServerState, info: EngineInfo): string[] {
  const peers = server.admission.peers();
  const lines = ['role:master', `connected_slaves:${peers.length}`];
  if (server.settings.integer('min-replicas-to-write') > 0 && server.settings.integer('min-replicas-max-lag') > 0) {
    lines.push(`min_slaves_good_slaves:${peers.filter((each) => each.good).length}`);
  }
  peers.forEach(({ peer }, index) => {
    const separator = peer.addr.lastIndexOf(':');
    const ip = separator < 0 ? peer.addr : peer.addr.slice(0, separator);
    const port = separator < 0 ? '0' : peer.addr.slice(separator + 1);
    lines.push(`slave${index}:ip=${ip},port=${port},state=online,offset=0,lag=${Math.floor(peer.lagMs / 1000)},node_id=${peer.id}`);
  });
  lines.push(`master_replid:${info.nodeId.padEnd(40, '0')}`, 'master_repl_offset:0');
  return lines;
}

function cpuSection(): string[] {
  const usage = process.cpuUsage();
  return [`used_cpu_sys:${(usage.system / 1e6).toFixed(6)}`, `used_cpu_user:${(usage.user / 1e6).toFixed(6)}`];
}

function counterName(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, '_');
}

/** `# Cluster`: members (this node included, counted alive), sync sessions and engine counters. */
export function clusterSection(info: EngineInfo, nowMs: number): string[] {
  const members = [...info.members];
  if (!members.some((member) => member.id === info.nodeId)) {
    members.unshift({ id: info.nodeId, name: info.nodeName, addr: info.peerAddr, incarnation: 0, state: 'alive', lastSeenMs: nowMs });
  }
  const count = (state: string) => members.filter((member) => (member.id === info.nodeId ? 'alive' : member.state) === state).length;
  const lines = [
    `node_id:${info.nodeId}`,
    `node_name:${printable(info.nodeName)}`,
    `members_alive:${count('alive')}`,
    `members_suspect:${count('suspect')}`,
    `members_dead:${count('dead')}`,
  ];
  members.forEach((member, index) => {
    const state = member.id === info.nodeId ? 'alive' : member.state;
    // last_seen_ms is an age (how long ago), which reads well and needs no clock to interpret.
    const agoMs = member.id === info.nodeId ? 0 : Math.max(0, nowMs - member.lastSeenMs);
    lines.push(`member${index}:id=${member.id},name=${printable(member.name)},addr=${member.addr},state=${state},last_seen_ms=${agoMs},incarnation=${member.incarnation}`);
  });
  lines.push(`merkle_root:${info.merkleRoot}`);
  lines.push(`sync_state:${info.sync.some((sync) => sync.inProgress) ? 'syncing' : 'idle'}`);
  info.sync.forEach((sync, index) => {
    lines.push(
      `sync${index}:peer=${sync.peer},in_progress=${sync.inProgress ? 1 : 0},keys_sent=${sync.keysSent},keys_received=${sync.keysReceived},rounds=${sync.rounds}`,
    );
  });
  for (const name of Object.keys(info.counters).sort()) lines.push(`${counterName(name)}:${info.counters[name]}`);
  return lines;
}

const TITLES: Record<SectionName, string> = {
  server: 'Server',
  clients: 'Clients',
  memory: 'Memory',
  persistence: 'Persistence',
  stats: 'Stats',
  replication: 'Replication',
  cpu: 'CPU',
  commandstats: 'Commandstats',
  errorstats: 'Errorstats',
  keyspace: 'Keyspace',
  cluster: 'Cluster',
};

/** INFO text for the requested section names (lowercase; empty = all), CRLF line endings. */
export function buildInfo(server: ServerState, requested: readonly string[]): string {
  const nowMs = Date.now();
  const engineNowMs = server.engine.nowMs();
  const info = server.engine.info();
  const everything = requested.some((name) => name === 'all' || name === 'everything');
  const defaults = requested.length === 0 || requested.includes('default');
  const blocks: string[] = [];
  for (const name of INFO_SECTIONS) {
    const selected = everything || requested.includes(name) || (defaults && !EXTRA_SECTIONS.has(name));
    if (!selected) continue;
    let lines: string[];
    if (name === 'server') lines = serverSection(server, info, nowMs);
    else if (name === 'clients') lines = clientsSection(server);
    else if (name === 'memory') lines = memorySection(server);
    else if (name === 'persistence') lines = persistenceSection(info);
    else if (name === 'stats') lines = statsSection(server, info);
    else if (name === 'replication') lines = replicationSection(server, info);
    else if (name === 'cpu') lines = cpuSection();
    else if (name === 'commandstats') lines = server.commandStats.commandLines();
    else if (name === 'errorstats') lines = server.commandStats.errorLines();
    else if (name === 'keyspace') lines = [`db0:keys=${info.keys},expires=${info.keysWithExpiry},avg_ttl=0`];
    else lines = clusterSection(info, engineNowMs);
    blocks.push(`# ${TITLES[name]}\r\n${lines.map((line) => `${line}\r\n`).join('')}`);
  }
  return blocks.join('\r\n');
}

/**
 * Names come from peers too: a control character (a newline above all) would break INFO's
 * lines, and '=' the member fields (`peerkv members` splits them on ",key=").
 */
function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, '?').replace(/=/g, '_');
}

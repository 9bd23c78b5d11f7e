// What a running node reports about itself: the INFO snapshot and the CONFIG GET view, assembled from its parts.
import type { NodeCore } from '../core/node.js';
import type { PeerHello } from '../core/io.js';
import type { Discovery } from '../net/discovery.js';
import type { PeerLinks } from '../net/peer-links.js';
import type { EngineInfo } from '../server/engine.js';
import type { NodeOptions } from './options.js';

export const PEERKV_VERSION = '0.1.0';

/** The parts of a node INFO reads; each is sampled when engineInfo is called. */
export interface EngineInfoSources {
  readonly self: PeerHello;
  readonly startedAtMs: number;
  readonly options: NodeOptions;
  readonly core: NodeCore;
  readonly links: PeerLinks;
  readonly discovery: Discovery | undefined;
  readonly backpressureEvents: number;
  readonly lastSaveMs: number;
  readonly storageError: string | undefined;
}

export function engineInfo(sources: EngineInfoSources): EngineInfo {
  const { self, options, core } = sources;
  return {
    nodeId: self.id,
    nodeName: self.name,
    version: PEERKV_VERSION,
    startedAtMs: sources.startedAtMs,
    peerAddr: self.addr,
    dataDir: options.dataDir,
    fsync: options.fsync,
    members: core.membership.members(),
    keys: core.liveKeys,
    keysWithExpiry: core.keysWithExpiry,
    merkleRoot: core.tree.root().map((word) => word.toString(16).padStart(8, '0')).join(''),
    sync: core.antiEntropy.status(),
    counters: {
      ...core.counters,
      client_backpressure_events: sources.backpressureEvents,
      resync_active: core.resync.active() ? 1 : 0,
      ...prefixed('membership_', core.membership.counters()),
      ...prefixed('antientropy_', core.antiEntropy.counters()),
      ...prefixed('peer_', sources.links.stats()),
      ...prefixed('discovery_', sources.discovery?.stats() ?? {}),
    },
    lastSaveMs: sources.lastSaveMs,
    storageError: sources.storageError,
  };
}

/**
 * CONFIG GET answers: the Redis settings clients and tools probe for, set to what peerkv
 * actually does (always-on append log, no eviction, every keyspace event).
 */
export function engineConfigView(options: NodeOptions, clientPort: number, peerPort: number): Readonly<Record<string, string>> {
  return {
    port: String(clientPort),
    bind: options.bind,
    dir: options.dataDir,
    appendonly: 'yes',
    appendfsync: options.fsync,
    save: '',
    databases: '1',
    maxmemory: '0',
    'maxmemory-policy': 'noeviction',
    'proto-max-bulk-len': String(64 * 1024 * 1024),
    timeout: '0',
    requirepass: options.requirepass === undefined ? '' : '********',
    'notify-keyspace-events': 'KEA',
    'peer-port': String(peerPort),
    'discovery-port': String(options.discoveryPort),
  };
}

function prefixed(prefix: string, counters: Readonly<Record<string, number>>): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [name, value] of Object.entries(counters)) result[prefix + name] = value;
  return result;
}

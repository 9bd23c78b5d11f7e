// Options of one running node (what `peerkv start` and startNode accept), their
// defaults with reasons, and validation that refuses combinations that cannot work.
import { Buffer } from 'node:buffer';
import { DEFAULT_CORE_CONFIG, validateCoreConfig, type CoreConfig } from '../core/config.js';
import { MEMBER_NAME_LENGTH_MAX } from '../core/membership-messages.js';
import { DISK_RESERVE_BYTES_DEFAULT } from '../storage/lmdb-store.js';

export type FsyncMode = 'always' | 'everysec' | 'no';
export type LogLevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface NodeOptions {
  /** Data directory: LMDB files and node identity. Created 0700. */
  readonly dataDir: string;
  /** Client (RESP) port; 0 picks a free one. */
  readonly port: number;
  /** Peer TCP port; default port + 1 (0 picks a free one when port is 0). */
  readonly peerPort: number;
  /** Address for client, peer and discovery sockets. */
  readonly bind: string;
  /** UDP discovery port shared by all nodes of a host. */
  readonly discoveryPort: number;
  /** Where announcements go; undefined = derived from bind (127.255.255.255 on loopback). */
  readonly broadcast: string | undefined;
  /** Static seeds host:peerPort. */
  readonly join: readonly string[];
  readonly discovery: boolean;
  /** Human name; default HOSTNAME:PORT. */
  readonly name: string | undefined;
  /** Cluster name: nodes of different clusters ignore each other. */
  readonly clusterName: string;
  /** Accepted cluster keys; the first seals. Empty = no peer authentication. */
  readonly clusterKeys: readonly string[];
  /** Allow a non-loopback bind without a cluster key. */
  readonly insecure: boolean;
  readonly requirepass: string | undefined;
  readonly fsync: FsyncMode;
  /** Free bytes kept on the data directory's disk: below them client writes are refused (MISCONF). */
  readonly diskReserveBytes: number;
  /** Admin HTTP port (metrics, health); undefined = off. */
  readonly httpPort: number | undefined;
  /** Demo/test only: the admin HTTP port also takes POST /partition and /heal (cut and restore this node's peer links). */
  readonly allowPartition: boolean;
  readonly logLevel: LogLevelName;
  /** Test-only: added to this node's wall clock (simulates a skewed clock). */
  readonly clockOffsetMs: number;
  readonly core: CoreConfig;
}

export const DEFAULT_CLIENT_PORT = 7379; // Redis is 6379; peerkv sits beside it, not on it
export const DEFAULT_DISCOVERY_PORT = 7381;
export const DEFAULT_CLUSTER_NAME = 'peerkv';

export function defaultNodeOptions(overrides: Partial<NodeOptions> = {}): NodeOptions {
  const port = overrides.port ?? DEFAULT_CLIENT_PORT;
  return {
    dataDir: './data',
    port,
    peerPort: port === 0 ? 0 : port + 1,
    bind: '127.0.0.1',
    discoveryPort: DEFAULT_DISCOVERY_PORT,
    broadcast: undefined,
    join: [],
    discovery: true,
    name: undefined,
    clusterName: DEFAULT_CLUSTER_NAME,
    clusterKeys: [],
    insecure: false,
    requirepass: undefined,
    fsync: 'everysec',
    diskReserveBytes: DISK_RESERVE_BYTES_DEFAULT,
    httpPort: undefined,
    allowPartition: false,
    logLevel: 'info',
    clockOffsetMs: 0,
    core: DEFAULT_CORE_CONFIG,
    ...overrides,
  };
}

export function isLoopbackAddress(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address === 'localhost';
}

/** Problems that make these options unusable, each a sentence that says what to do. */
export function validateNodeOptions(options: NodeOptions): string[] {
  const problems: string[] = [];
  const checkPort = (name: string, value: number) => {
    if (!Number.isInteger(value) || value < 0 || value > 65535) problems.push(`${name} must be a port number 0-65535, got ${value}`);
  };
  checkPort('--port', options.port);
  checkPort('--peer-port', options.peerPort);
  checkPort('--discovery-port', options.discoveryPort);
  if (options.httpPort !== undefined) checkPort('--http-port', options.httpPort);
  if (options.allowPartition && options.httpPort === undefined) problems.push('--allow-partition needs --http-port (POST /partition and /heal are served there)');
  if (options.port !== 0 && options.port === options.peerPort) problems.push('--port and --peer-port must differ');
  if (!isLoopbackAddress(options.bind) && options.clusterKeys.length === 0 && !options.insecure) {
    problems.push(`--bind ${options.bind} is not loopback: set --cluster-key (or PEERKV_CLUSTER_KEY) so peers authenticate, or pass --insecure`);
  }
  for (const seed of options.join) {
    if (!/^[^:\s]+:\d{1,5}$/.test(seed)) problems.push(`--join ${seed}: expected HOST:PEERPORT`);
  }
  // Announcements and handshakes carry the name in UTF-8: the limit is in bytes.
  if (options.name !== undefined && (options.name.length === 0 || Buffer.byteLength(options.name) > MEMBER_NAME_LENGTH_MAX || /[\x00-\x1f\x7f=]/.test(options.name))) {
    problems.push(`--name must be 1-${MEMBER_NAME_LENGTH_MAX} bytes in UTF-8 without '=' or control characters, got ${Buffer.byteLength(options.name)} bytes`);
  }
  if (!Number.isFinite(options.diskReserveBytes) || options.diskReserveBytes < 0) problems.push(`--disk-reserve-mb must be 0 or more, got ${options.diskReserveBytes / 1024 / 1024}`);
  if (!['always', 'everysec', 'no'].includes(options.fsync)) problems.push(`--fsync must be always, everysec or no, got ${options.fsync}`);
  for (const key of options.clusterKeys) if (key.length < 16) problems.push('a cluster key must be at least 16 characters');
  problems.push(...validateCoreConfig(options.core));
  return problems;
}

// `peerkv start` flags (DESIGN.md section 1) and their mapping to NodeOptions. The mapping
// is a pure function of the flags, the environment and a file reader, so tests can check
// every flag without starting a node.
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import {
  DEFAULT_CLIENT_PORT,
  defaultNodeOptions,
  validateNodeOptions,
  type FsyncMode,
  type LogLevelName,
  type NodeOptions,
} from '../runtime/options.js';

/** Flags as commander hands them over: strings, unparsed, so mapping reports every problem. */
export interface StartFlags {
  readonly data?: string;
  readonly port?: string;
  readonly peerPort?: string;
  readonly bind?: string;
  readonly discoveryPort?: string;
  readonly broadcast?: string;
  readonly join?: readonly string[];
  readonly discovery?: boolean;
  readonly name?: string;
  readonly cluster?: string;
  readonly clusterKey?: string;
  readonly clusterKeyFile?: string;
  readonly insecure?: boolean;
  readonly requirepass?: string;
  readonly fsync?: string;
  readonly diskReserveMb?: string;
  readonly httpPort?: string;
  readonly allowPartition?: boolean;
  readonly logLevel?: string;
  readonly clockOffsetMs?: string;
  readonly tombstoneGraceMs?: string;
}

export type StartOptionsResult = { readonly options: NodeOptions } | { readonly errors: string[] };

export type ReadTextFile = (path: string) => string;

const LOG_LEVELS: readonly LogLevelName[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const FSYNC_MODES: readonly FsyncMode[] = ['always', 'everysec', 'no'];

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** Adds the start flags to a command; shared by the real CLI and parseStartOptions. */
export function defineStartOptions(command: Command): Command {
  return command
    .option('--data <dir>', 'data directory: LMDB files and node id (default ./data)')
    .option('--port <n>', `client (RESP) port (default ${DEFAULT_CLIENT_PORT})`)
    .option('--peer-port <n>', 'peer TCP port (default port+1)')
    .option('--bind <addr>', 'address for client, peer and discovery sockets (default 127.0.0.1)')
    .option('--discovery-port <n>', 'UDP discovery port shared by the nodes of a host (default 7381)')
    .option('--broadcast <addr>', 'where announcements go (default 127.255.255.255 on loopback)')
    .option('--join <seeds>', 'static seeds HOST:PEERPORT[,...] (repeatable)', collect)
    .option('--no-discovery', 'no UDP discovery; seeds only')
    .option('--name <name>', 'human name of this node (default HOSTNAME:PORT)')
    .option('--cluster <name>', 'cluster name; nodes of other clusters are ignored (default peerkv)')
    .option('--cluster-key <keys>', 'shared secret(s), comma-separated, the first seals (or env PEERKV_CLUSTER_KEY)')
    .option('--cluster-key-file <file>', 'file with the cluster key(s), one per line or comma-separated')
    .option('--insecure', 'allow a non-loopback --bind without a cluster key')
    .option('--requirepass <pass>', 'clients must AUTH with this password (or env PEERKV_REQUIREPASS)')
    .option('--fsync <mode>', 'always | everysec | no (default everysec)')
    .option('--disk-reserve-mb <n>', 'refuse client writes (MISCONF) while the data disk has less free (default 64)')
    .option('--http-port <n>', 'admin HTTP port: metrics, health (default off)')
    .option('--log-level <level>', `${LOG_LEVELS.join(' | ')} (default info)`)
    .addOption(new Option('--allow-partition', 'demo/test only: POST /partition and /heal on the admin HTTP port cut and restore this node\'s peer links').hideHelp())
    .addOption(new Option('--clock-offset-ms <n>', 'test only: skew this node\'s wall clock').hideHelp())
    .addOption(new Option('--tombstone-grace-ms <n>', 'test only: how long deletes are remembered (default 24 h)').hideHelp());
}

/** Maps parsed flags to NodeOptions, or lists every problem (each one line, saying what to do). */
export function startOptionsFromFlags(
  flags: StartFlags,
  env: Readonly<Record<string, string | undefined>>,
  readTextFile: ReadTextFile = (path) => readFileSync(path, 'utf8'),
): StartOptionsResult {
  const errors: string[] = [];
  const integer = (flag: string, text: string | undefined, fallback: number, min: number, max: number): number => {
    if (text === undefined) return fallback;
    const value = /^-?\d+$/.test(text.trim()) ? Number(text) : NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      errors.push(`${flag} must be an integer ${min}..${max}, got '${text}'`);
      return fallback;
    }
    return value;
  };
  const port = integer('--port', flags.port, DEFAULT_CLIENT_PORT, 0, 65535);
  const base = defaultNodeOptions({ port });
  const peerPort = integer('--peer-port', flags.peerPort, base.peerPort, 0, 65535);
  const discoveryPort = integer('--discovery-port', flags.discoveryPort, base.discoveryPort, 0, 65535);
  const httpPort = flags.httpPort === undefined ? undefined : integer('--http-port', flags.httpPort, 0, 0, 65535);
  const clockOffsetMs = integer('--clock-offset-ms', flags.clockOffsetMs, 0, -86_400_000, 86_400_000);
  const tombstoneGraceMs = integer('--tombstone-grace-ms', flags.tombstoneGraceMs, base.core.tombstoneGraceMs, 1_000, 365 * 86_400_000);

  const diskReserveMb = integer('--disk-reserve-mb', flags.diskReserveMb, base.diskReserveBytes / 1024 / 1024, 0, 1024 * 1024);
  const fsync = flags.fsync ?? base.fsync;
  if (!(FSYNC_MODES as readonly string[]).includes(fsync)) errors.push(`--fsync must be always, everysec or no, got '${fsync}'`);
  const logLevel = flags.logLevel ?? base.logLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) errors.push(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${logLevel}'`);
  if (flags.clusterKey !== undefined && flags.clusterKeyFile !== undefined) errors.push('give either --cluster-key or --cluster-key-file, not both');

  const clusterKeys = readClusterKeys(flags, env, readTextFile, errors);
  const requirepass = flags.requirepass ?? nonEmpty(env.PEERKV_REQUIREPASS);
  if (flags.name !== undefined && flags.name.trim() === '') errors.push('--name must not be empty');
  if (flags.cluster !== undefined && flags.cluster.trim() === '') errors.push('--cluster must not be empty');
  if (flags.data !== undefined && flags.data.trim() === '') errors.push('--data must not be empty');

  const options = defaultNodeOptions({
    dataDir: flags.data ?? base.dataDir,
    port,
    peerPort,
    bind: flags.bind ?? base.bind,
    discoveryPort,
    broadcast: flags.broadcast,
    join: splitList((flags.join ?? []).join(',')),
    discovery: flags.discovery ?? true,
    name: flags.name,
    clusterName: flags.cluster ?? base.clusterName,
    clusterKeys,
    insecure: flags.insecure ?? false,
    requirepass,
    fsync: fsync as FsyncMode,
    diskReserveBytes: diskReserveMb * 1024 * 1024,
    httpPort,
    allowPartition: flags.allowPartition === true,
    logLevel: logLevel as LogLevelName,
    clockOffsetMs,
    core: { ...base.core, tombstoneGraceMs },
  });
  // Flag-level errors first: they explain the option-level ones that follow from them.
  if (errors.length > 0) return { errors };
  const problems = validateNodeOptions(options);
  return problems.length > 0 ? { errors: problems } : { options };
}

/** Parses the arguments after `start` (e.g. ['--port', '7479']) without exiting the process. */
export function parseStartOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  readTextFile?: ReadTextFile,
): StartOptionsResult {
  const command = defineStartOptions(new Command('start'))
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} })
    .allowExcessArguments(false);
  try {
    command.parse([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return { errors: [error.message.replace(/^error: /, '')] };
    throw error;
  }
  return startOptionsFromFlags(command.opts<StartFlags>(), env, readTextFile);
}

function readClusterKeys(
  flags: StartFlags,
  env: Readonly<Record<string, string | undefined>>,
  readTextFile: ReadTextFile,
  errors: string[],
): string[] {
  if (flags.clusterKey !== undefined) return splitList(flags.clusterKey);
  if (flags.clusterKeyFile !== undefined) {
    try {
      // One key per line or comma-separated; '#' lines are comments so the file can say which key is which.
      const lines = readTextFile(flags.clusterKeyFile).split(/\r?\n/).filter((line) => !line.trim().startsWith('#'));
      const keys = splitList(lines.join(','));
      if (keys.length === 0) errors.push(`--cluster-key-file ${flags.clusterKeyFile} holds no key: put one key per line`);
      return keys;
    } catch (error) {
      errors.push(`cannot read --cluster-key-file ${flags.clusterKeyFile}: ${(error as Error).message}`);
      return [];
    }
  }
  return splitList(env.PEERKV_CLUSTER_KEY ?? '');
}

function splitList(text: string): string[] {
  return text.split(',').map((part) => part.trim()).filter((part) => part.length > 0);
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text === '' ? undefined : text;
}

// The `peerkv` command line (DESIGN.md section 1): `start` runs a node, `demo` a local
// playground cluster, the rest are client commands over RESP. main() never exits the
// process itself; it returns the exit code: 0 ok, 1 failed or key not found, 2 usage.
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import {
  EXIT_OK,
  EXIT_USAGE,
  runDel,
  runGet,
  runKeys,
  runMembers,
  runPing,
  runSet,
  runStatus,
  runTtl,
  runType,
  type ClientContext,
} from './commands.js';
import { defineStartOptions, startOptionsFromFlags, type StartFlags } from './start-options.js';
import { runWatch } from './watch.js';
import { DEFAULT_CLIENT_PORT } from '../runtime/options.js';

/** Default bound on connecting and on each reply; also WAIT's timeout for `set --ack`. */
export const CLIENT_TIMEOUT_MS_DEFAULT = 5_000;
const DEFAULT_HOST = '127.0.0.1';
/** More node processes than this is a benchmark, not a playground. */
export const DEMO_NODES_MAX = 16;

export interface MainIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** The demo shell's input; process.stdin when absent. */
  readonly stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
}

interface ClientFlags {
  readonly host?: string;
  readonly port?: number;
  readonly pass?: string;
  readonly json?: boolean;
  readonly timeout?: number;
}

export async function main(argv: readonly string[], io: MainIo = { env: process.env, stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let exitCode = EXIT_OK;
  const program = buildProgram(io, (code) => { exitCode = code; });
  try {
    await program.parseAsync([...argv], { from: 'node' });
  } catch (error) {
    if (error instanceof CommanderError) return commanderExitCode(error);
    throw error;
  }
  return exitCode;
}

/** Commander's own exits: help and version are success, everything else is a usage error. */
export function commanderExitCode(error: CommanderError): number {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT_OK;
  if (error.code === 'commander.help') return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  return EXIT_USAGE;
}

function buildProgram(io: MainIo, setExitCode: (code: number) => void): Command {
  const program = new Command('peerkv');
  program
    .description('peer-to-peer replicated key-value database that speaks the Redis protocol')
    // -h is the host, as in redis-cli; help stays on --help.
    .helpOption('--help', 'show help')
    // Program options only before the command, so `start --port` is start's own option.
    .enablePositionalOptions()
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(`peerkv: ${oneLine(text.replace(/^error: /, ''))}; see peerkv --help\n`),
    });
  addClientOptions(program);

  defineStartOptions(program.command('start').description('run a node in the foreground (Ctrl-C or SIGTERM: clean shutdown)'))
    .action(async (flags: StartFlags) => {
      const result = startOptionsFromFlags(flags, io.env);
      if ('errors' in result) {
        for (const problem of result.errors) io.stderr.write(`peerkv: ${problem}\n`);
        setExitCode(EXIT_USAGE);
        return;
      }
      const { runStart } = await import('./start.js');
      setExitCode(await runStart(result.options));
    });

  program.command('demo')
    .description('local playground cluster of real node processes on loopback, with a shell (temporary data, removed on exit)')
    .option('--nodes <n>', `number of nodes, 1..${DEMO_NODES_MAX} (default 3)`, integerIn('--nodes', 1, DEMO_NODES_MAX))
    .option('--tour', 'run a short scripted walk-through before the shell')
    .action(async (flags: { nodes?: number; tour?: boolean }) => {
      const { runDemo } = await import('./demo.js');
      setExitCode(await runDemo({ nodes: flags.nodes ?? 3, tour: flags.tour === true }, { stdin: io.stdin ?? process.stdin, stdout: io.stdout, stderr: io.stderr }));
    });

  addClientCommands(program, io, setExitCode);
  return program;
}

function addClientCommands(program: Command, io: MainIo, setExitCode: (code: number) => void): void {
  const client = (name: string, description: string) => addClientOptions(program.command(name).description(description));
  const run = (action: (context: ClientContext, command: Command) => Promise<number>) =>
    async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      setExitCode(await action(clientContext(program, command, io), command));
    };

  client('set', 'store VALUE under KEY')
    .argument('<key>').argument('<value>')
    .option('--ttl <seconds>', 'expire after this many seconds', integerIn('--ttl', 1, Number.MAX_SAFE_INTEGER))
    .option('--ack <n|all>', 'wait until N other nodes (or all alive ones) stored it', parseAck)
    .action(run((context, command) => {
      const [key, value] = command.processedArgs as [string, string];
      const flags = command.opts<{ ttl?: number; ack?: number | 'all' }>();
      return runSet(context, key, value, { ttlSeconds: flags.ttl, ack: flags.ack });
    }));
  client('get', 'print the value of KEY of any type (exit 1 if missing)')
    .argument('<key>')
    .option('--quorum', 'read a string from a majority of nodes (PEERKV.QGET)')
    .action(run((context, command) => runGet(context, command.processedArgs[0] as string, command.opts<{ quorum?: boolean }>().quorum === true)));
  client('type', 'print the type of KEY (string, hash, ...; none if missing)')
    .argument('<key>')
    .action(run((context, command) => runType(context, command.processedArgs[0] as string)));
  client('del', 'delete keys; prints how many existed')
    .argument('<keys...>')
    .action(run((context, command) => runDel(context, command.processedArgs[0] as string[])));
  client('keys', 'list keys matching a glob PATTERN (default *), one per line')
    .argument('[pattern]', 'glob pattern', '*')
    .action(run((context, command) => runKeys(context, command.processedArgs[0] as string)));
  client('ttl', 'seconds until KEY expires (-1 no expiry, -2 missing)')
    .argument('<key>')
    .action(run((context, command) => runTtl(context, command.processedArgs[0] as string)));
  client('members', 'cluster members as this node sees them')
    .action(run((context) => runMembers(context)));
  client('status', 'summary of this node and the cluster')
    .option('--progress', 'follow this node\'s catch-up (keys held and received) until it is done')
    .option('--expect-from <host:port>', 'with --progress: a node that stayed current; its key count is the target')
    .action(run(async (context, command) => {
      const flags = command.opts<{ progress?: boolean; expectFrom?: string }>();
      if (flags.progress !== true) return runStatus(context);
      const { runCatchUp } = await import('./catch-up.js');
      return runCatchUp(context, flags.expectFrom);
    }));
  client('watch', 'print changes to keys starting with PREFIX until Ctrl-C')
    .argument('[prefix]', 'key prefix', '')
    .option('--values', 'also print the new value of each set key')
    .action(run((context, command) => runWatch(context, command.processedArgs[0] as string, command.opts<{ values?: boolean }>().values === true)));
  client('export', 'write every key (or those matching --match) as JSON lines to stdout, expiry kept')
    .option('--match <pattern>', 'only keys matching this glob', '*')
    .action(run(async (context, command) => {
      const { runExport } = await import('./transfer.js');
      return runExport(context, command.opts<{ match: string }>().match);
    }));
  client('import', 'load a file written by peerkv export (- for stdin), pipelined')
    .argument('<file>')
    .action(run(async (context, command) => {
      const { runImport } = await import('./transfer.js');
      return runImport(context, command.processedArgs[0] as string);
    }));
  client('ping', 'check the node answers, with round-trip latency')
    .action(run((context) => runPing(context)));
}

function addClientOptions(command: Command): Command {
  // No commander defaults: a flag given after the command must not be masked by one given before it.
  return command
    .option('-h, --host <host>', `node address (default ${DEFAULT_HOST})`)
    .option('-p, --port <port>', `node client port (default ${DEFAULT_CLIENT_PORT})`, integerIn('--port', 1, 65535))
    .option('-a, --pass <password>', 'password (or env PEERKV_PASSWORD, REDISCLI_AUTH)')
    .option('--json', 'machine-readable JSON output')
    .option('--timeout <ms>', `connect and reply timeout (default ${CLIENT_TIMEOUT_MS_DEFAULT})`, integerIn('--timeout', 1, 3_600_000));
}

function clientContext(program: Command, command: Command, io: MainIo): ClientContext {
  const flags: ClientFlags = { ...definedOnly(program.opts<ClientFlags>()), ...definedOnly(command.opts<ClientFlags>()) };
  return {
    host: flags.host ?? DEFAULT_HOST,
    port: flags.port ?? DEFAULT_CLIENT_PORT,
    password: flags.pass ?? nonEmpty(io.env.PEERKV_PASSWORD) ?? nonEmpty(io.env.REDISCLI_AUTH),
    json: flags.json === true,
    timeoutMs: flags.timeout ?? CLIENT_TIMEOUT_MS_DEFAULT,
    stdout: io.stdout,
    stderr: io.stderr,
  };
}

function integerIn(flag: string, min: number, max: number) {
  return (text: string): number => {
    const value = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(max === Number.MAX_SAFE_INTEGER ? `${flag} must be a whole number >= ${min}` : `${flag} must be a whole number ${min}..${max}`);
    }
    return value;
  };
}

function parseAck(text: string): number | 'all' {
  if (text === 'all') return 'all';
  return integerIn('--ack', 0, 1_000)(text);
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text === '' ? undefined : text;
}

function oneLine(text: string): string {
  return text.trim().split(/\s*\n\s*/).join(' ');
}

// Introspection commands: COMMAND (COUNT DOCS INFO LIST), CONFIG GET (read-only), INFO.
import { Buffer } from 'node:buffer';
import {
  PROTO_MAX_BULK_BYTES,
  appendArrayHeader,
  appendBulkText,
  appendError,
  appendInteger,
  appendMapHeader,
  appendBulk,
  appendNull,
  appendOk,
  appendSimple,
} from '../wire/resp.js';
import { categoryNames } from './acl-categories.js';
import { arityMatches } from './command-spec.js';
import { CLIENTS_MAX } from './limits.js';
import { CommandFlag, NO_KEYS, argLower, command } from './common.js';
import { globMatch } from './glob.js';
import { buildInfo } from './info.js';
import type { Session } from './session.js';
import type { CommandSpec } from './table.js';

const FLAG_NAMES: readonly [number, string][] = [
  [CommandFlag.Write, 'write'],
  [CommandFlag.ReadOnly, 'readonly'],
  [CommandFlag.DenyOom, 'denyoom'],
  [CommandFlag.Admin, 'admin'],
  [CommandFlag.PubSub, 'pubsub'],
  [CommandFlag.NoAuth, 'no_auth'],
  [CommandFlag.Fast, 'fast'],
  [CommandFlag.NoMulti, 'no_multi'],
];

/** One COMMAND / COMMAND INFO entry in Redis 7's 10-element layout. */
function appendCommandEntry(session: Session, spec: CommandSpec): void {
  const out = session.out;
  const flags = FLAG_NAMES.filter(([bit]) => (spec.flags & bit) !== 0).map(([, name]) => name);
  appendArrayHeader(out, 10);
  appendBulkText(out, spec.name);
  appendInteger(out, spec.arity);
  appendArrayHeader(out, flags.length);
  for (const flag of flags) appendSimple(out, flag);
  appendInteger(out, spec.firstKey);
  appendInteger(out, spec.lastKey);
  appendInteger(out, spec.keyStep);
  const categories = categoryNames(session.server.acl.commands.get(spec.name)?.categories ?? 0);
  appendArrayHeader(out, categories.length);
  for (const category of categories) appendSimple(out, category);
  appendArrayHeader(out, 0); // tips
  appendArrayHeader(out, 0); // key specs
  appendArrayHeader(out, 0); // subcommands
}

function appendCommandDocs(session: Session, spec: CommandSpec): void {
  const out = session.out;
  appendBulkText(out, spec.name);
  appendMapHeader(out, 3, session.protocol);
  appendBulkText(out, 'summary');
  appendBulkText(out, spec.summary);
  appendBulkText(out, 'since');
  appendBulkText(out, '1.0.0');
  appendBulkText(out, 'group');
  appendBulkText(out, spec.group);
}

function commandCommand(session: Session, args: Buffer[]): void {
  const table = session.server.table;
  const out = session.out;
  if (args.length === 1) {
    const all = table.all();
    appendArrayHeader(out, all.length);
    for (const spec of all) appendCommandEntry(session, spec);
    return;
  }
  const sub = argLower(args[1]!);
  const named = args.slice(2).map((arg) => table.get(argLower(arg)));
  switch (sub) {
    case 'count':
      return void appendInteger(out, table.size);
    case 'list': {
      const all = table.all();
      appendArrayHeader(out, all.length);
      for (const spec of all) appendBulkText(out, spec.name);
      return;
    }
    case 'info': {
      const specs = args.length === 2 ? table.all() : named;
      appendArrayHeader(out, specs.length);
      for (const spec of specs) {
        if (spec === undefined) appendNull(out, session.protocol);
        else appendCommandEntry(session, spec);
      }
      return;
    }
    case 'docs': {
      const specs = (args.length === 2 ? table.all() : named).filter((spec): spec is CommandSpec => spec !== undefined);
      appendMapHeader(out, specs.length, session.protocol);
      for (const spec of specs) appendCommandDocs(session, spec);
      return;
    }
    case 'getkeys':
      return commandGetKeys(session, args.slice(2));
    default:
      return void appendError(out, `ERR unknown subcommand '${args[1]!.toString('utf8', 0, 64)}'. Try COMMAND HELP.`);
  }
}

/** Commands whose keys follow a numkeys argument at index 2 (EVAL, FCALL and friends). */
const NUMKEYS_COMMANDS = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro']);

/** COMMAND GETKEYS <command> [args...]: the key arguments, from the key positions of the table. */
function commandGetKeys(session: Session, command: Buffer[]): void {
  const out = session.out;
  const spec = command.length === 0 ? undefined : session.server.table.lookup(command[0]!);
  if (spec === undefined) return void appendError(out, 'ERR Invalid command specified');
  if (!arityMatches(spec.arity, command.length)) return void appendError(out, 'ERR Invalid number of arguments specified for command');
  let keys: Buffer[] = [];
  if (NUMKEYS_COMMANDS.has(spec.name)) {
    const count = Number(command[2]!.toString('latin1'));
    if (!Number.isInteger(count) || count < 0 || count > command.length - 3) return void appendError(out, 'ERR Invalid arguments specified for command');
    keys = command.slice(3, 3 + count);
  } else if (spec.firstKey > 0) {
    const last = spec.lastKey < 0 ? command.length + spec.lastKey : spec.lastKey;
    for (let index = spec.firstKey; index <= last && index < command.length; index += Math.max(1, spec.keyStep)) keys.push(command[index]!);
  }
  if (keys.length === 0) return void appendError(out, 'ERR The command has no key arguments');
  appendArrayHeader(out, keys.length);
  for (const key of keys) appendBulk(out, key);
}

/** CONFIG GET answers for what tools ask (redis-benchmark asks save/appendonly), under the engine's own view. */
function configDefaults(session: Session): Record<string, string> {
  return {
    save: '',
    appendonly: 'no',
    databases: '1',
    maxclients: String(CLIENTS_MAX),
    'proto-max-bulk-len': String(PROTO_MAX_BULK_BYTES),
    timeout: '0',
    port: String(session.server.tcpPort),
    'notify-keyspace-events': 'AKE',
    maxmemory: '0',
    'maxmemory-policy': 'noeviction',
    'cluster-enabled': 'no',
  };
}

function configCommand(session: Session, args: Buffer[]): void {
  const sub = argLower(args[1]!);
  const out = session.out;
  if (sub === 'get') {
    if (args.length < 3) return void appendError(out, "ERR wrong number of arguments for 'config|get' command");
    const view: Record<string, string> = { ...configDefaults(session), ...session.engine.configView(), ...session.server.settings.view() };
    const names = Object.keys(view).sort();
    const matched = new Set<string>();
    for (const pattern of args.slice(2)) {
      for (const name of names) if (globMatch(pattern, Buffer.from(name), true)) matched.add(name);
    }
    appendMapHeader(out, matched.size, session.protocol);
    for (const name of matched) {
      appendBulkText(out, name);
      appendBulkText(out, view[name]!);
    }
    return;
  }
  if (sub === 'set') return configSet(session, args);
  if (sub === 'resetstat') {
    session.server.commandStats.reset();
    return void appendOk(out);
  }
  if (sub === 'rewrite') {
    return void appendError(out, 'ERR CONFIG REWRITE is not supported: peerkv has no config file, its settings are start options (peerkv start --help)');
  }
  appendError(out, `ERR unknown subcommand '${args[1]!.toString('utf8', 0, 64)}'. Try CONFIG HELP.`);
}

/**
 * CONFIG SET name value [name value ...]: all or nothing, as Redis 7.0. Parameters fixed at
 * start (port, dir, appendfsync ...) say how to change them.
 */
function configSet(session: Session, args: Buffer[]): void {
  const out = session.out;
  if (args.length < 4 || args.length % 2 !== 0) return void appendError(out, "ERR wrong number of arguments for 'config|set' command");
  const pairs: [string, string][] = [];
  for (let index = 2; index < args.length; index += 2) {
    const name = argLower(args[index]!);
    if (!session.server.settings.isSettable(name) && name in { ...configDefaults(session), ...session.engine.configView() }) {
      return void appendError(out, `ERR CONFIG SET failed (possibly related to argument '${name}') - can't set immutable config: peerkv fixes it at start, restart the node with new options (peerkv start --help)`);
    }
    pairs.push([name, args[index + 1]!.toString('utf8')]);
  }
  const error = session.server.settings.set(pairs);
  if (error !== undefined) return void appendError(out, error);
  session.server.admission.refresh(); // a new maxmemory or min-replicas-to-write applies to the next command
  appendOk(out);
}

function infoCommand(session: Session, args: Buffer[]): void {
  const sections = args.slice(1).map(argLower);
  appendBulkText(session.out, buildInfo(session.server, sections));
}

const { Admin } = CommandFlag;

export const ADMIN_COMMANDS: readonly CommandSpec[] = [
  command('command', -1, 0, NO_KEYS, 'server', 'Details about commands (COUNT DOCS INFO LIST GETKEYS)', commandCommand),
  command('config', -2, Admin, NO_KEYS, 'server', 'Read the configuration (CONFIG GET), change run-time settings (CONFIG SET), reset statistics', configCommand),
  command('info', -1, 0, NO_KEYS, 'server', 'Server, memory, stats, keyspace and cluster information', infoCommand),
];

// Redis 7 functions: FUNCTION LOAD/LIST/DELETE/FLUSH/DUMP/RESTORE/STATS/KILL, FCALL and
// FCALL_RO, with Redis 7.0's replies. Libraries are cluster-wide (one replicated row,
// functions-library.ts); each node compiles them into its own Lua state on first use after
// the row changed. Library changes are written to the node's engine directly, also inside
// MULTI (they are not user rows a transaction collects).
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { FUNCTIONS_ROW_KEY } from '../core/rows.js';
import {
  appendArrayHeader,
  appendBulk,
  appendBulkText,
  appendError,
  appendInteger,
  appendMapHeader,
  appendNull,
  appendOk,
  appendSimple,
} from '../wire/resp.js';
import { argLower, command, CommandFlag, NO_KEYS } from './common.js';
import { decodeLibraries, encodeLibraries, FunctionSet, parseLibraryHeader, storedLibraries, type StoredLibrary } from './functions-library.js';
import { globMatch } from './glob.js';
import { parseNumKeys, pushArray, scriptHost } from './scripting-host.js';
import type { Session } from './session.js';
import type { ServerState } from './state.js';
import type { CommandSpec } from './table.js';
import { arityMatches } from './command-spec.js';
import { scriptCommandFlags, scriptStartRefusal } from './admission.js';

/** FUNCTION DUMP payloads start with this and a format version (peerkv's own format). */
const DUMP_MAGIC = Buffer.from('PKFN1');

const sets = new WeakMap<ServerState, FunctionSet>();

/** The compiled libraries of the row this node holds now (rebuilt when it changed). */
function currentSet(server: ServerState): FunctionSet {
  const { libraries, version } = storedLibraries(server.engine);
  const known = sets.get(server);
  if (known !== undefined && known.version === version) return known;
  const host = scriptHost(server);
  const set = new FunctionSet(version, () => host.running, server.logger);
  for (const library of libraries) {
    const error = set.load(library);
    if (error !== undefined) server.logger.warn({ library: library.name, error }, 'stored function library does not load');
  }
  sets.set(server, set);
  return set;
}

/**
 * Check a new list of libraries by loading all of it; on success store it (one row write)
 * and adopt the loaded set. Returns an error text, or undefined after writing.
 */
function storeLibraries(session: Session, libraries: readonly StoredLibrary[], start: number): string | undefined {
  const server = session.server;
  const host = scriptHost(server);
  const candidate = new FunctionSet('', () => host.running, server.logger);
  for (const library of libraries) {
    const error = candidate.load(library);
    if (error !== undefined) return error;
  }
  const write = server.engine.write([{ key: FUNCTIONS_ROW_KEY, value: encodeLibraries(libraries), expiresAtMs: 0 }]);
  const stored = storedLibraries(server.engine);
  sets.set(server, Object.assign(candidate, { version: stored.version }));
  session.deferWrite(write, start);
  return undefined;
}

function loadCommand(session: Session, args: Buffer[]): void {
  let replace = false;
  for (let index = 2; index < args.length - 1; index++) {
    if (argLower(args[index]!) === 'replace') replace = true;
    else return void appendError(session.out, `ERR Unknown option given: ${args[index]!.toString('utf8')}`);
  }
  const code = Buffer.from(args[args.length - 1]!);
  const header = parseLibraryHeader(code);
  if ('error' in header) return void appendError(session.out, header.error);
  const current = storedLibraries(session.server.engine).libraries;
  const existing = current.find((library) => library.name.toLowerCase() === header.name.toLowerCase());
  if (existing !== undefined && !replace) return void appendError(session.out, `ERR Library '${header.name}' already exists`);
  // Replacing a library by the same code changes nothing (no rebuild, no row write).
  if (existing !== undefined && existing.name === header.name && existing.code.equals(code)) return void appendBulkText(session.out, header.name);
  const next = current.filter((library) => library !== existing).concat({ name: header.name, code });
  const start = session.out.length;
  appendBulkText(session.out, header.name);
  const error = storeLibraries(session, next, start);
  if (error !== undefined) {
    session.out.truncate(start);
    appendError(session.out, error);
  }
}

function deleteCommand(session: Session, args: Buffer[]): void {
  const name = args[2]!.toString('utf8').toLowerCase();
  const current = storedLibraries(session.server.engine).libraries;
  const next = current.filter((library) => library.name.toLowerCase() !== name);
  if (next.length === current.length) return void appendError(session.out, 'ERR Library not found');
  const start = session.out.length;
  appendOk(session.out);
  const error = storeLibraries(session, next, start);
  if (error !== undefined) (session.out.truncate(start), appendError(session.out, error));
}

function flushCommand(session: Session, args: Buffer[]): void {
  if (args.length === 3 && !['async', 'sync'].includes(argLower(args[2]!))) return void appendError(session.out, 'ERR FUNCTION FLUSH only supports SYNC|ASYNC option');
  const start = session.out.length;
  appendOk(session.out);
  storeLibraries(session, [], start);
}

function listCommand(session: Session, args: Buffer[]): void {
  let withCode = false;
  let pattern: Buffer | undefined;
  for (let index = 2; index < args.length; index++) {
    const option = argLower(args[index]!);
    if (option === 'withcode' && !withCode) withCode = true;
    else if (option === 'libraryname' && pattern === undefined && index + 1 < args.length) pattern = args[++index]!;
    else if (option === 'libraryname' && pattern === undefined) return void appendError(session.out, 'ERR library name argument was not given');
    else return void appendError(session.out, `ERR Unknown argument ${args[index]!.toString('utf8')}`);
  }
  const out = session.out;
  const protocol = session.protocol;
  const libraries = [...currentSet(session.server).libraries.values()]
    .filter((library) => pattern === undefined || globMatch(pattern, Buffer.from(library.name)))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  appendArrayHeader(out, libraries.length);
  for (const library of libraries) {
    appendMapHeader(out, withCode ? 4 : 3, protocol);
    appendBulkText(out, 'library_name');
    appendBulkText(out, library.name);
    appendBulkText(out, 'engine');
    appendBulkText(out, 'LUA');
    appendBulkText(out, 'functions');
    appendArrayHeader(out, library.functions.length);
    for (const fn of library.functions) {
      appendMapHeader(out, 3, protocol);
      appendBulkText(out, 'name');
      appendBulkText(out, fn.name);
      appendBulkText(out, 'description');
      if (fn.description === undefined) appendNull(out, protocol);
      else appendBulkText(out, fn.description);
      appendBulkText(out, 'flags');
      if (protocol === 3) out.ascii(`~${fn.flags.length}\r\n`);
      else appendArrayHeader(out, fn.flags.length);
      for (const flag of fn.flags) appendBulkText(out, flag);
    }
    if (withCode) {
      appendBulkText(out, 'library_code');
      appendBulk(out, library.code);
    }
  }
}

function dumpCommand(session: Session): void {
  const libraries = storedLibraries(session.server.engine).libraries;
  appendBulk(session.out, Buffer.concat([DUMP_MAGIC, encodeLibraries(libraries)]));
}

function restoreCommand(session: Session, args: Buffer[]): void {
  const payload = args[2]!;
  let policy = 'append';
  if (args.length === 4) {
    policy = argLower(args[3]!);
    if (!['append', 'replace', 'flush'].includes(policy)) return void appendError(session.out, 'ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.');
  }
  const restored = payload.subarray(0, DUMP_MAGIC.length).equals(DUMP_MAGIC) ? decodeLibraries(payload.subarray(DUMP_MAGIC.length)) : undefined;
  if (restored === undefined) return void appendError(session.out, 'ERR payload version or checksum are wrong');
  let next: StoredLibrary[];
  const current = storedLibraries(session.server.engine).libraries;
  if (policy === 'flush') next = restored;
  else {
    const names = new Set(restored.map((library) => library.name.toLowerCase()));
    const clash = current.find((library) => names.has(library.name.toLowerCase()));
    if (clash !== undefined && policy === 'append') return void appendError(session.out, `ERR Library ${clash.name} already exists`);
    next = current.filter((library) => !names.has(library.name.toLowerCase())).concat(restored);
  }
  const start = session.out.length;
  appendOk(session.out);
  const error = storeLibraries(session, next, start);
  if (error !== undefined) (session.out.truncate(start), appendError(session.out, error));
}

function statsCommand(session: Session): void {
  const out = session.out;
  const protocol = session.protocol;
  const set = currentSet(session.server);
  const run = scriptHost(session.server).running;
  appendMapHeader(out, 2, protocol);
  appendBulkText(out, 'running_script');
  if (run === undefined) appendNull(out, protocol);
  else {
    appendMapHeader(out, 3, protocol);
    appendBulkText(out, 'name');
    appendBulkText(out, run.options.name);
    appendBulkText(out, 'command');
    appendArrayHeader(out, run.options.command.length);
    for (const arg of run.options.command) appendBulk(out, arg);
    appendBulkText(out, 'duration_ms');
    appendInteger(out, Math.floor(performance.now() - run.startedMs));
  }
  appendBulkText(out, 'engines');
  appendMapHeader(out, 1, protocol);
  appendBulkText(out, 'LUA');
  appendMapHeader(out, 2, protocol);
  appendBulkText(out, 'libraries_count');
  appendInteger(out, set.libraries.size);
  appendBulkText(out, 'functions_count');
  appendInteger(out, set.functions.size);
}

const FUNCTION_HELP = [
  'FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'LOAD [REPLACE] <FUNCTION CODE>', '    Create a new library with the given library name and code.',
  'DELETE <LIBRARY NAME>', '    Delete the given library.',
  'LIST [LIBRARYNAME PATTERN] [WITHCODE]', '    Return general information on all the libraries.',
  'KILL', '    Kill the current running function.',
  'FLUSH [ASYNC|SYNC]', '    Delete all the libraries.',
  'STATS', '    Return information about the current function running.',
  'DUMP', '    Return a serialized payload representing the current libraries.',
  'RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]', '    Restore the libraries represented by the given payload.',
  'HELP', '    Print this help.',
];

/** Subcommand -> [arity as Redis counts it (name included), handler]. */
const SUBCOMMANDS: Record<string, readonly [number, (session: Session, args: Buffer[]) => void]> = {
  load: [-3, loadCommand],
  delete: [3, deleteCommand],
  flush: [-2, flushCommand],
  list: [-2, listCommand],
  dump: [2, dumpCommand],
  restore: [-3, restoreCommand],
  stats: [2, statsCommand],
  kill: [2, (session) => scriptHost(session.server).kill(session, 'function')],
  help: [2, (session) => {
    appendArrayHeader(session.out, FUNCTION_HELP.length);
    for (const line of FUNCTION_HELP) appendSimple(session.out, line);
  }],
};

function functionCommand(session: Session, args: Buffer[]): void {
  const sub = argLower(args[1]!);
  const entry = SUBCOMMANDS[sub];
  const arity = entry?.[0] ?? 0;
  const arityOk = entry !== undefined && arityMatches(arity, args.length) && !(sub === 'flush' && args.length > 3) && !(sub === 'restore' && args.length > 4);
  if (!arityOk) {
    return void appendError(session.out, `ERR unknown subcommand or wrong number of arguments for '${args[1]!.toString('utf8', 0, 64)}'. Try FUNCTION HELP.`);
  }
  entry[1](session, args);
}

function fcallVariant(readOnly: boolean) {
  return (session: Session, args: Buffer[]): void => {
    const set = currentSet(session.server);
    const fn = set.functions.get(args[1]!.toString('latin1').toLowerCase());
    const numKeys = parseNumKeys(args, 2);
    if (typeof numKeys === 'string') return void appendError(session.out, numKeys === 'ERR value is not an integer or out of range' ? 'ERR Bad number of keys provided' : numKeys);
    if (fn === undefined) return void appendError(session.out, 'ERR Function not found');
    const noWrites = fn.flags.includes('no-writes');
    const refusal = scriptStartRefusal(session, fn.flags, readOnly);
    if (refusal !== undefined) return void appendError(session.out, refusal);
    const keys = args.slice(3, 3 + numKeys);
    const argv = args.slice(3 + numKeys);
    scriptHost(session.server).run(session, set.vm, fn.ref, { kind: 'function', name: fn.name, readOnly: readOnly || noWrites, allowOom: fn.flags.includes('allow-oom'), command: args }, (L) => {
      pushArray(L, keys);
      pushArray(L, argv);
      return 2;
    });
  };
}

const { ReadOnly } = CommandFlag;

/** FCALL's flags for this call: the function's declared ones (a function always has declared flags). */
function fcallCallFlags(own: number) {
  return (session: Session, args: Buffer[]): number => {
    const fn = currentSet(session.server).functions.get(args[1]!.toString('latin1').toLowerCase());
    return fn === undefined ? own : scriptCommandFlags(own, fn.flags);
  };
}

export const FUNCTION_COMMANDS: readonly CommandSpec[] = [
  command('function', -2, 0, NO_KEYS, 'scripting', 'Function libraries: LOAD LIST DELETE FLUSH DUMP RESTORE STATS KILL', functionCommand),
  { ...command('fcall', -3, 0, NO_KEYS, 'scripting', 'Call a function of a loaded library', fcallVariant(false)), callFlags: fcallCallFlags(0) },
  { ...command('fcall_ro', -3, ReadOnly, NO_KEYS, 'scripting', 'Call a read-only function of a loaded library', fcallVariant(true)), callFlags: fcallCallFlags(ReadOnly) },
];

// EVAL EVALSHA EVAL_RO EVALSHA_RO and SCRIPT LOAD/EXISTS/FLUSH/KILL, with Redis 7.0's
// replies. A script runs atomically on the node that runs it, against its local view;
// the rows it writes replicate as one batch (scripting-run.ts). The script cache is per
// node, as Redis's is per process.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { appendArrayHeader, appendBulkText, appendError, appendInteger, appendOk, appendSimple } from '../wire/resp.js';
import { argLower, CommandFlag, command, NO_KEYS } from './common.js';
import { parseNumKeys, pushArray, scriptHost, type CachedScript } from './scripting-host.js';
import type { Session } from './session.js';
import type { CommandSpec } from './table.js';
import { scriptCommandFlags, scriptStartRefusal } from './admission.js';

const NOSCRIPT_ERROR = 'NOSCRIPT No matching script. Please use EVAL.';
const SHEBANG_FLAGS = new Set(['no-writes', 'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys']);

function sha1Hex(body: Uint8Array): string {
  return createHash('sha1').update(body).digest('hex');
}

/** A `#!lua flags=...` first line: its flags, the body with the line blanked (line numbers kept), or an error. */
export function parseShebang(body: Buffer): { flags: Set<string> | undefined; source: Buffer } | { error: string } {
  if (body.length < 2 || body[0] !== 0x23 || body[1] !== 0x21) return { flags: undefined, source: body };
  const end = body.indexOf(0x0a);
  const line = body.toString('utf8', 0, end < 0 ? body.length : end);
  const parts = line.split(' ').filter((part) => part !== '');
  if (parts[0] !== '#!lua') return { error: `ERR Unexpected engine in script shebang: ${parts[0] ?? ''}` };
  const flags = new Set<string>();
  for (const part of parts.slice(1)) {
    if (!part.startsWith('flags=')) return { error: `ERR Unknown lua shebang option: ${part}` };
    for (const flag of part.slice(6).split(',')) {
      if (flag === '') continue;
      if (!SHEBANG_FLAGS.has(flag)) return { error: `ERR Unexpected flag in script shebang: ${flag}` };
      flags.add(flag);
    }
  }
  return { flags, source: end < 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from('\n'), body.subarray(end + 1)]) };
}

/** Compile and cache a script body; the cached entry or an error text. */
function loadScript(session: Session, body: Buffer, sha: string): CachedScript | string {
  const host = scriptHost(session.server);
  const cached = host.scripts.get(sha);
  if (cached !== undefined) return cached;
  const shebang = parseShebang(body);
  if ('error' in shebang) return shebang.error;
  const compiled = host.vm().compile(shebang.source, '@user_script');
  if ('error' in compiled) return `ERR Error compiling script (new function): ${compiled.error}`;
  const script: CachedScript = { ref: compiled.ref, body: Buffer.from(body), noWrites: shebang.flags?.has('no-writes') === true, flags: shebang.flags };
  host.scripts.set(sha, script);
  return script;
}

function runCached(session: Session, script: CachedScript, sha: string, args: Buffer[], readOnly: boolean): void {
  const numKeys = parseNumKeys(args, 2);
  if (typeof numKeys === 'string') return void appendError(session.out, numKeys);
  const refusal = scriptStartRefusal(session, script.flags, readOnly);
  if (refusal !== undefined) return void appendError(session.out, refusal);
  const host = scriptHost(session.server);
  const vm = host.vm();
  const keys = args.slice(3, 3 + numKeys);
  const argv = args.slice(3 + numKeys);
  vm.setGlobal('KEYS', (L) => pushArray(L, keys));
  vm.setGlobal('ARGV', (L) => pushArray(L, argv));
  host.run(session, vm, script.ref, { kind: 'eval', name: sha, readOnly: readOnly || script.noWrites, allowOom: script.flags?.has('allow-oom') === true, command: args }, () => 0);
}

function evalVariant(readOnly: boolean) {
  return (session: Session, args: Buffer[]): void => {
    const body = args[1]!;
    const sha = sha1Hex(body);
    const script = loadScript(session, body, sha);
    if (typeof script === 'string') return void appendError(session.out, script);
    runCached(session, script, sha, args, readOnly);
  };
}

function evalshaVariant(readOnly: boolean) {
  return (session: Session, args: Buffer[]): void => {
    const sha = args[1]!.toString('latin1').toLowerCase();
    const script = sha.length === 40 ? scriptHost(session.server).scripts.get(sha) : undefined;
    if (script === undefined) return void appendError(session.out, NOSCRIPT_ERROR);
    runCached(session, script, sha, args, readOnly);
  };
}

const SCRIPT_HELP = [
  'SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'DEBUG (YES|SYNC|NO)', '    Set the debug mode for subsequent scripts executed.',
  'EXISTS <sha1> [<sha1> ...]', '    Return information about the existence of the scripts in the script cache.',
  'FLUSH [ASYNC|SYNC]', '    Flush the Lua scripts cache. Very dangerous on replicas.',
  'KILL', '    Kill the currently executing Lua script.',
  'LOAD <script>', '    Load a script into the scripts cache without executing it.',
  'HELP', '    Print this help.',
];

function scriptCommand(session: Session, args: Buffer[]): void {
  const sub = argLower(args[1]!);
  const host = scriptHost(session.server);
  const out = session.out;
  const arityError = () => appendError(out, `ERR wrong number of arguments for 'script|${sub}' command`);
  switch (sub) {
    case 'load': {
      if (args.length !== 3) return void arityError();
      const sha = sha1Hex(args[2]!);
      const script = loadScript(session, args[2]!, sha);
      if (typeof script === 'string') return void appendError(out, script);
      return void appendBulkText(out, sha);
    }
    case 'exists':
      if (args.length < 3) return void arityError();
      appendArrayHeader(out, args.length - 2);
      for (const sha of args.slice(2)) appendInteger(out, host.scripts.has(sha.toString('latin1').toLowerCase()) ? 1 : 0);
      return;
    case 'flush': {
      if (args.length > 3) return void arityError();
      if (args.length === 3 && !['async', 'sync'].includes(argLower(args[2]!))) return void appendError(out, 'ERR SCRIPT FLUSH only support SYNC|ASYNC option');
      host.flush();
      return void appendOk(out);
    }
    case 'kill':
      if (args.length !== 2) return void arityError();
      return host.kill(session, 'eval');
    case 'debug':
      return void appendError(out, 'ERR SCRIPT DEBUG is not supported by peerkv');
    case 'help':
      appendArrayHeader(out, SCRIPT_HELP.length);
      for (const line of SCRIPT_HELP) appendSimple(out, line);
      return;
    default:
      return void appendError(out, `ERR unknown subcommand '${args[1]!.toString('utf8', 0, 64)}'. Try SCRIPT HELP.`);
  }
}

const { ReadOnly } = CommandFlag;

/** EVAL's flags for this call: its script's declared ones (a cached script, or the body's shebang). */
function evalCallFlags(own: number) {
  return (session: Session, args: Buffer[]): number => {
    const cached = scriptHost(session.server).scripts.get(sha1Hex(args[1]!));
    if (cached !== undefined) return scriptCommandFlags(own, cached.flags);
    const shebang = parseShebang(args[1]!);
    return 'error' in shebang ? own : scriptCommandFlags(own, shebang.flags);
  };
}

/** EVALSHA's flags for this call: those of the cached script, if there is one. */
function evalshaCallFlags(own: number) {
  return (session: Session, args: Buffer[]): number => scriptCommandFlags(own, scriptHost(session.server).scripts.get(args[1]!.toString('latin1').toLowerCase())?.flags);
}

/** Keys of EVAL-like commands are given by numkeys; COMMAND INFO shows none fixed. */
export const SCRIPTING_COMMANDS: readonly CommandSpec[] = [
  { ...command('eval', -3, 0, NO_KEYS, 'scripting', 'Run a Lua script', evalVariant(false)), callFlags: evalCallFlags(0) },
  { ...command('evalsha', -3, 0, NO_KEYS, 'scripting', 'Run a cached Lua script by its SHA1', evalshaVariant(false)), callFlags: evalshaCallFlags(0) },
  { ...command('eval_ro', -3, ReadOnly, NO_KEYS, 'scripting', 'Run a read-only Lua script', evalVariant(true)), callFlags: evalCallFlags(ReadOnly) },
  { ...command('evalsha_ro', -3, ReadOnly, NO_KEYS, 'scripting', 'Run a cached read-only Lua script by its SHA1', evalshaVariant(true)), callFlags: evalshaCallFlags(ReadOnly) },
  command('script', -2, 0, NO_KEYS, 'scripting', 'Script cache: LOAD EXISTS FLUSH KILL', scriptCommand),
];

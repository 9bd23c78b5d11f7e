// Per-server scripting state: the EVAL Lua state and its script cache (kept per node, as
// Redis keeps it per process: EVALSHA of a script this node never saw is NOSCRIPT), the
// run in progress, and the one way both EVAL and FCALL start a run.
import type { Buffer } from 'node:buffer';
import { appendError } from '../wire/resp.js';
import { fillRedisTable } from './scripting-api.js';
import { lua, pushBytes, type LuaState } from './scripting-lua.js';
import { busyReply, ScriptRun, type RunOptions } from './scripting-run.js';
import { LuaVm } from './scripting-vm.js';
import type { Session } from './session.js';
import type { ServerState } from './state.js';
import type { CommandSpec } from './table.js';

export const SLOW_EVAL_ERROR = 'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.';
export const SLOW_FUNCTION_ERROR = 'BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.';

/** Commands served while a script is busy (Redis's allow-busy flag). */
const ALLOWED_WHILE_BUSY = new Set(['auth', 'hello', 'quit', 'reset', 'multi', 'discard', 'watch', 'unwatch', 'shutdown']);

export interface CachedScript {
  readonly ref: number;
  readonly body: Buffer;
  /** A shebang script without the no-writes flag, or a plain one: may write. */
  readonly noWrites: boolean;
  /** The flags its shebang declares; undefined without shebang (Redis's eval compatibility mode). */
  readonly flags: ReadonlySet<string> | undefined;
}

export class ScriptHost {
  private evalVm: LuaVm | undefined;
  readonly scripts = new Map<string, CachedScript>();
  running: ScriptRun | undefined;

  constructor(readonly server: ServerState) {}

  /** The EVAL state, made on first use and again after SCRIPT FLUSH. */
  vm(): LuaVm {
    if (this.evalVm === undefined) this.evalVm = new LuaVm((L) => fillRedisTable(L, () => this.running, this.server.logger));
    return this.evalVm;
  }

  flush(): void {
    this.scripts.clear();
    this.evalVm = undefined;
  }

  /**
   * Run compiled code for `session`: the reply lands in session.out now, or (a run that
   * went past the busy threshold) once it ends, through a deferred reply.
   */
  run(session: Session, vm: LuaVm, ref: number, options: RunOptions, pushArgs: (L: LuaState) => number): void {
    const run = new ScriptRun(vm, session, options);
    const thread = vm.prepare(ref, pushArgs, run.hook);
    this.running = run;
    const outcome = vm.resume(thread);
    if (outcome !== 'yielded') {
      this.running = undefined;
      const start = session.out.length;
      const write = run.finish(thread, outcome, session.out);
      session.replyErrorCounted = run.errorCounted;
      if (write !== undefined) session.deferWrite(write, start);
      return;
    }
    const server = this.server;
    server.scriptBusy = (spec, args) => busyRefusal(run, spec, args);
    session.holdBatch = true;
    const reply = busyReply(run, thread, run.continueBusy(thread));
    const done = () => {
      if (this.running !== run) return;
      this.running = undefined;
      server.scriptBusy = undefined;
    };
    reply.then(done, done);
    session.deferReply(reply);
  }

  /** SCRIPT KILL / FUNCTION KILL: stop the busy run if it may be stopped. */
  kill(session: Session, kind: 'eval' | 'function'): void {
    const run = this.running;
    if (run === undefined) return void appendError(session.out, 'NOTBUSY No scripts in execution right now.');
    if (run.wrote()) {
      return void appendError(
        session.out,
        'UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.',
      );
    }
    if (run.options.kind !== kind) return void appendError(session.out, kind === 'eval' ? SLOW_FUNCTION_ERROR : SLOW_EVAL_ERROR);
    run.kill();
    if (run.ended()) {
      this.running = undefined;
      this.server.scriptBusy = undefined;
    }
    session.out.ascii('+OK\r\n');
  }
}

function busyRefusal(run: ScriptRun, spec: CommandSpec, args: readonly Buffer[]): string | undefined {
  if (ALLOWED_WHILE_BUSY.has(spec.name)) return undefined;
  const sub = args.length > 1 ? args[1]!.toString('latin1').toLowerCase() : '';
  if ((spec.name === 'script' && sub === 'kill') || (spec.name === 'function' && (sub === 'kill' || sub === 'stats'))) return undefined;
  return run.options.kind === 'eval' ? SLOW_EVAL_ERROR : SLOW_FUNCTION_ERROR;
}

const hosts = new WeakMap<ServerState, ScriptHost>();

export function scriptHost(server: ServerState): ScriptHost {
  let host = hosts.get(server);
  if (host === undefined) hosts.set(server, (host = new ScriptHost(server)));
  return host;
}

/** Push a Lua array of the arguments (KEYS or ARGV). */
export function pushArray(L: LuaState, items: readonly Buffer[]): void {
  lua.lua_createtable(L, items.length, 0);
  for (let index = 0; index < items.length; index++) {
    pushBytes(L, items[index]!);
    lua.lua_rawseti(L, -2, index + 1);
  }
}

/** numkeys of EVAL/FCALL: the count, or an error text. */
export function parseNumKeys(args: readonly Buffer[], at: number): number | string {
  const text = args[at]!.toString('latin1');
  if (!/^-?\d+$/.test(text)) return 'ERR value is not an integer or out of range';
  const count = Number(text);
  if (count < 0) return "ERR Number of keys can't be negative";
  if (count > args.length - at - 1) return "ERR Number of keys can't be greater than number of args";
  return count;
}

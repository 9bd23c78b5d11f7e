// One run of a script or function: the view it runs against, the commands it calls, its
// time limit and its end. A script runs against a TransactionEngine over the caller's
// engine, as EXEC does: its reads see its own writes, and every row it wrote goes to the
// node as ONE client write when it ends (one LMDB transaction, one replication batch that
// every peer applies in one transaction). Rows written before an error stay, as in Redis.
//
// Time limit: a count hook looks at the clock every HOOK_INSTRUCTIONS. Past
// busy-reply-threshold the run yields to the event loop between short slices, as Redis
// processes events during a long script: other clients get BUSY (table.ts asks
// ServerState.scriptBusy), SCRIPT KILL / FUNCTION KILL are served, the caller's connection
// waits for the reply. A script run inside MULTI/EXEC never yields (EXEC must finish in one
// go), so it cannot be killed. While it yields, rows from peers may be applied: a script
// longer than the threshold is atomic against this node's clients, not against replication.
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { RespReplyParser } from '../wire/resp-reply-parser.js';
import { RespOutput, appendError, type RespVersion } from '../wire/resp.js';
import { aclScriptRefusal } from './acl.js';
import { CommandFlag } from './common.js';
import { encodeError, Session, type SessionTransport } from './session.js';
import type { ServerState } from './state.js';
import { appendLuaValue, pushReply } from './scripting-convert.js';
import { fengari, lua, raiseTable, toBytes, type LuaState } from './scripting-lua.js';
import { COUNTED_ERROR_FIELD, isCountedError, SCRIPT_NAME_MARK, type LuaVm, type RunOutcome } from './scripting-vm.js';
import { scriptCallRefusal } from './admission.js';
import type { CommandSpec } from './table.js';
import { arityMatches, callHandler } from './table.js';
import { TransactionEngine } from './transaction-engine.js';

/** Longest slice a busy script runs before it yields to the event loop again. */
const BUSY_SLICE_MS = 20;

/** Commands a script may not call (Redis's noscript flag, plus blocking and peerkv-only ones). */
const NOT_FROM_SCRIPT = new Set([
  'multi', 'exec', 'discard', 'watch', 'unwatch', 'eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro', 'script', 'function',
  'subscribe', 'psubscribe', 'unsubscribe', 'punsubscribe', 'ssubscribe', 'sunsubscribe', 'auth', 'hello', 'quit', 'reset', 'wait', 'client',
  'blpop', 'brpop', 'brpoplpush', 'blmove', 'blmpop', 'bzpopmin', 'bzpopmax', 'bzmpop', 'monitor', 'sync', 'psync', 'peerkv.qget', 'shutdown', 'cluster',
  'acl',
]);

/** What kind of code runs: EVAL scripts and functions are killed by different commands. */
export type ScriptKind = 'eval' | 'function';

export interface RunOptions {
  readonly kind: ScriptKind;
  /** The sha1 of an EVAL script, or the function's name: named in error texts. */
  readonly name: string;
  /** EVAL_RO, FCALL_RO, or the no-writes flag: write commands are refused. */
  readonly readOnly: boolean;
  /** Declared allow-oom: deny-oom commands run even while memory is over maxmemory. */
  readonly allowOom: boolean;
  /** The command that started the run (FUNCTION STATS). */
  readonly command: readonly Buffer[];
}

/** Parses the reply of each command a script calls; always fed whole replies, so it is reusable. */
const replyParser = new RespReplyParser();

const noTransport: SessionTransport = { push: () => undefined, remoteAddress: 'lua', localAddress: 'lua' };

/** The client a script's commands run as: one per server, reused. */
const scriptClients = new WeakMap<ServerState, Session>();

function scriptClient(server: ServerState): Session {
  let client = scriptClients.get(server);
  if (client === undefined) scriptClients.set(server, (client = new Session(server, 0, noTransport)));
  return client;
}

export class ScriptRun {
  readonly engine: TransactionEngine;
  readonly client: Session;
  readonly startedMs = performance.now();
  /** RESP version of the replies redis.call hands the script (redis.setresp). */
  resp: RespVersion = 2;
  killed = false;
  /** Yielding to the event loop (past the busy threshold). */
  busy = false;
  private sliceStartedMs = 0;
  /** Set when the run may not yield (inside EXEC). */
  private readonly mayYield: boolean;
  /** Memory was over maxmemory when the run started (Redis's pre_command_oom_state). */
  readonly overMemoryAtStart: boolean;
  /** A write command passed the checks: the node's state no longer stops the script (Redis's SCRIPT_WRITE_DIRTY). */
  wroteAlready = false;
  /** Set by finish(): the error reply it wrote was counted in errorstats already. */
  errorCounted = false;
  /** The coroutine of a run that yielded, and how it ended once it has. */
  private thread: LuaState | undefined;
  private outcome: RunOutcome | undefined;

  constructor(
    readonly vm: LuaVm,
    readonly caller: Session,
    readonly options: RunOptions,
  ) {
    this.engine = new TransactionEngine(caller.engine);
    this.client = scriptClient(caller.server);
    this.mayYield = caller.engine === caller.server.engine;
    this.overMemoryAtStart = caller.server.admission.overMemory;
  }

  /** Whether the run wrote a row (SCRIPT KILL cannot stop it then). */
  wrote(): boolean {
    return this.engine.collected().length > 0;
  }

  /** redis.call / redis.pcall with the arguments on the stack. */
  call(L: LuaState, raiseErrors: boolean): number {
    const count = lua.lua_gettop(L);
    if (count === 0) return this.fail(L, raiseErrors, 'ERR Please specify at least one argument for this redis lib call');
    const args: Buffer[] = [];
    for (let index = 1; index <= count; index++) {
      const bytes = toBytes(L, index);
      if (bytes === undefined) return this.fail(L, raiseErrors, 'ERR Lua redis lib command arguments must be strings or integers');
      args.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    }
    const server = this.caller.server;
    // Checked by name first: a blocking command peerkv lacks is still one a script may not run.
    if (NOT_FROM_SCRIPT.has(args[0]!.toString('latin1').toLowerCase())) return this.reject(L, raiseErrors, server.table.lookup(args[0]!), 'ERR This Redis command is not allowed from script');
    const spec = server.table.lookup(args[0]!);
    if (spec === undefined) return this.reject(L, raiseErrors, undefined, 'ERR Unknown Redis command called from script');
    // XREAD and XREADGROUP block only with BLOCK, which a script may not wait for (as Redis).
    if ((spec.name === 'xread' || spec.name === 'xreadgroup') && args.some((arg) => arg.length === 5 && arg.toString('latin1').toLowerCase() === 'block')) {
      return this.fail(L, raiseErrors, `ERR ${spec.name} command is not allowed with BLOCK option from scripts`);
    }
    if (!arityMatches(spec.arity, args.length)) return this.reject(L, raiseErrors, spec, 'ERR Wrong number of args calling Redis command from script');
    const refusal = aclScriptRefusal(this.caller, spec, args);
    if (refusal !== undefined) return this.reject(L, raiseErrors, spec, refusal);
    if ((spec.flags & CommandFlag.Write) !== 0 && this.options.readOnly) {
      return this.reject(L, raiseErrors, spec, 'ERR Write commands are not allowed from read-only scripts.');
    }
    const admission = scriptCallRefusal(this.caller, spec.flags, { wroteAlready: this.wroteAlready, overMemoryAtStart: this.overMemoryAtStart, allowOom: this.options.allowOom });
    if (admission !== undefined) return this.reject(L, raiseErrors, spec, admission);
    if ((spec.flags & CommandFlag.Write) !== 0) this.wroteAlready = true;
    const client = this.client;
    client.engine = this.engine;
    client.protocol = this.resp;
    client.out.truncate(0);
    client.beginExec(); // the run's one write stands for every command's (finish)
    server.stats.commandsProcessed++;
    callHandler(client, spec, args);
    client.endExec(0, undefined);
    const { replies } = replyParser.feed(client.out.take());
    const reply = replies[0] ?? { type: 'error' as const, value: 'ERR command gave no reply' };
    // The command's error was counted when it failed (callHandler): the script's reply must not count it again.
    if (reply.type === 'error') return this.countedError(L, raiseErrors, reply.value);
    pushReply(L, reply, this.resp);
    return 1;
  }

  private fail(L: LuaState, raiseErrors: boolean, message: string): number {
    if (raiseErrors) return raiseTable(L, message);
    pushReply(L, { type: 'error', value: message }, this.resp);
    return 1;
  }

  /** A command refused inside the script: counted now (rejected_calls, errorstats), as Redis's scriptCall does. */
  private reject(L: LuaState, raiseErrors: boolean, spec: CommandSpec | undefined, message: string): number {
    const stats = this.caller.server.commandStats;
    if (spec !== undefined) stats.recordRejected(spec.name);
    stats.recordErrorText(message);
    return this.countedError(L, raiseErrors, message);
  }

  /** The {err=...} table of an error already counted in errorstats, raised or returned. */
  private countedError(L: LuaState, raiseErrors: boolean, message: string): number {
    pushReply(L, { type: 'error', value: message }, this.resp);
    lua.lua_pushboolean(L, true);
    lua.lua_setfield(L, -2, fengari.to_luastring(COUNTED_ERROR_FIELD));
    if (raiseErrors) return lua.lua_error(L) as never;
    return 1;
  }

  /** The count hook: kill, or yield to the event loop once past the busy threshold. */
  readonly hook = (thread: LuaState): void => {
    if (this.killed) {
      lua.lua_sethook(thread, this.hook, lua.LUA_MASKCOUNT, 1); // pcall must not swallow it for long
      // Not inside the sandbox's error handler: an error there would lose the message.
      if (!inSandbox(thread)) raiseTable(thread, 'ERR Script killed by user with SCRIPT KILL...');
    }
    if (!this.mayYield) return;
    const nowMs = performance.now();
    const due = this.busy ? nowMs - this.sliceStartedMs >= BUSY_SLICE_MS : nowMs - this.startedMs >= this.caller.server.settings.integer('busy-reply-threshold');
    if (due && lua.lua_isyieldable(thread)) lua.lua_yield(thread, 0);
  };

  /** Resume slices on later turns of the event loop until the run ends (or a kill ends it in between). */
  async continueBusy(thread: LuaState): Promise<RunOutcome> {
    this.busy = true;
    this.thread = thread;
    while (this.outcome === undefined) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.outcome !== undefined) break;
      this.sliceStartedMs = performance.now();
      const outcome = this.vm.resume(thread);
      if (outcome !== 'yielded') this.outcome = outcome;
    }
    return this.outcome;
  }

  /**
   * SCRIPT KILL / FUNCTION KILL of a yielded run: the run ends now, inside the KILL command
   * (its next instruction raises the kill error), so the command after the KILL's OK never
   * sees BUSY. Redis ends it at its next hook, which a busy server can take long to reach.
   */
  kill(): void {
    this.killed = true;
    const thread = this.thread;
    if (thread === undefined || this.outcome !== undefined) return;
    lua.lua_sethook(thread, this.hook, lua.LUA_MASKCOUNT, 1);
    this.sliceStartedMs = performance.now();
    const outcome = this.vm.resume(thread);
    if (outcome !== 'yielded') this.outcome = outcome;
  }

  /** Whether the run has ended (its outcome is known, its reply may still wait for a commit). */
  ended(): boolean {
    return this.outcome !== undefined;
  }

  /**
   * The reply of the ended run into `out` (the caller's protocol), popping the returned
   * value; then the one write of every row it wrote. Returns that write, if any.
   */
  finish(thread: LuaState, outcome: RunOutcome, out: RespOutput): Promise<number> | undefined {
    if (outcome.ok) {
      this.errorCounted = isCountedError(thread, -1);
      appendLuaValue(thread, out, this.caller.protocol, this.resp);
    } else {
      this.errorCounted = outcome.counted === true;
      appendError(out, outcome.message.split(SCRIPT_NAME_MARK).join(this.options.name));
    }
    lua.lua_settop(thread, 0);
    const writes = this.engine.collected();
    if (writes.length === 0) return undefined;
    const write = this.caller.engine.write(writes);
    this.engine.commit(write);
    return write;
  }
}

const SANDBOX_SOURCE = '=sandbox';
const SOURCE_INFO = fengari.to_luastring('S');

/** True if the running function is the sandbox's own (scripting-vm.ts), e.g. the error handler. */
function inSandbox(thread: LuaState): boolean {
  const frame = new lua.lua_Debug();
  if (!lua.lua_getstack(thread, 0, frame)) return false;
  lua.lua_getinfo(thread, SOURCE_INFO, frame);
  return frame.source !== undefined && frame.source !== null && fengari.to_jsstring(frame.source) === SANDBOX_SOURCE;
}

/** The caller's reply of a run that yielded: its bytes once it ended and its write committed. */
export async function busyReply(run: ScriptRun, thread: LuaState, outcome: Promise<RunOutcome>): Promise<Buffer> {
  const out = new RespOutput();
  const write = run.finish(thread, await outcome, out);
  if (write !== undefined) {
    try {
      await write;
    } catch (error) {
      return encodeError(`ERR write not committed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return out.take();
}

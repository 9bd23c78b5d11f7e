// The `redis` table scripts and functions see (Redis 7.0 script_lua.c): call, pcall,
// error_reply, status_reply, sha1hex, log, setresp, set_repl, replicate_commands,
// breakpoint, debug and the LOG_* / REPL_* constants. The running ScriptRun is asked for
// whatever touches the data.
import { createHash } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { REDIS_COMPATIBLE_VERSION } from './connection.js';
import type { Logger } from './state.js';
import { fengari, lauxlib, lua, pushText, raise, raiseTable, setFunction, toBytes, type LuaState } from './scripting-lua.js';
import type { ScriptRun } from './scripting-run.js';
import { scriptMayRun } from './acl.js';

const LOG_LEVELS = ['LOG_DEBUG', 'LOG_VERBOSE', 'LOG_NOTICE', 'LOG_WARNING'] as const;

function setNumber(L: LuaState, name: string, value: number): void {
  lua.lua_pushnumber(L, value);
  lua.lua_setfield(L, -2, fengari.to_luastring(name));
}

function replyTable(L: LuaState, field: 'err' | 'ok', withErrPrefix: boolean): number {
  if (lua.lua_gettop(L) !== 1 || lua.lua_type(L, 1) !== lua.LUA_TSTRING) raise(L, 'wrong number or type of arguments');
  let text = Buffer.from(lua.lua_tolstring(L, 1)).toString('utf8');
  if (withErrPrefix && !text.startsWith('-')) text = `-${text}`;
  lua.lua_newtable(L);
  pushText(L, withErrPrefix ? text.slice(1) : text);
  lua.lua_setfield(L, -2, fengari.to_luastring(field));
  return 1;
}

/** redis.acl_check_cmd(command, args...): whether the script's caller may run it (Redis 7.0). */
function aclCheckCommand(L: LuaState, run: ScriptRun): number {
  const count = lua.lua_gettop(L);
  if (count === 0) raiseTable(L, 'ERR Please specify at least one argument for this redis lib call');
  const args: Buffer[] = [];
  for (let index = 1; index <= count; index++) {
    const bytes = toBytes(L, index);
    if (bytes === undefined) raiseTable(L, 'ERR Lua redis lib command arguments must be strings or integers');
    args.push(Buffer.from(bytes!));
  }
  const allowed = scriptMayRun(run.caller, args);
  if (allowed === undefined) raiseTable(L, 'ERR Invalid command passed to redis.acl_check_cmd()');
  lua.lua_pushboolean(L, allowed!);
  return 1;
}

/** Fill the table at the top of the stack; `current` is the run in progress (none while loading). */
export function fillRedisTable(L: LuaState, current: () => ScriptRun | undefined, logger: Logger): void {
  const run = (L: LuaState): ScriptRun => {
    const active = current();
    if (active === undefined) raise(L, 'redis.call can not be used outside of a running script');
    return active!;
  };
  setFunction(L, 'call', (L) => run(L).call(L, true));
  setFunction(L, 'pcall', (L) => run(L).call(L, false));
  setFunction(L, 'acl_check_cmd', (L) => aclCheckCommand(L, run(L)));
  setFunction(L, 'error_reply', (L) => replyTable(L, 'err', true));
  setFunction(L, 'status_reply', (L) => replyTable(L, 'ok', false));
  setFunction(L, 'sha1hex', (L) => {
    if (lua.lua_gettop(L) !== 1) raise(L, 'wrong number of arguments');
    const bytes = lua.lua_tolstring(L, 1) ?? new Uint8Array(0);
    pushText(L, createHash('sha1').update(bytes).digest('hex'));
    return 1;
  });
  setFunction(L, 'log', (L) => {
    if (lua.lua_gettop(L) < 2) raise(L, 'redis.log() requires two arguments or more.');
    if (lua.lua_type(L, 1) !== lua.LUA_TNUMBER) raise(L, 'First argument must be a number (log level).');
    const level = lua.lua_tonumber(L, 1);
    if (level < 0 || level > 3) raise(L, 'Invalid debug level.');
    const parts: string[] = [];
    for (let index = 2; index <= lua.lua_gettop(L); index++) {
      const bytes = lua.lua_tolstring(L, index);
      if (bytes !== null && bytes !== undefined) parts.push(Buffer.from(bytes).toString('utf8'));
    }
    const message = parts.join(' ');
    if (level === 3) logger.warn({ script: true }, message);
    else if (level === 2) logger.info({ script: true }, message);
    else logger.debug({ script: true }, message);
    return 0;
  });
  setFunction(L, 'setresp', (L) => {
    if (lua.lua_gettop(L) !== 1) raise(L, 'redis.setresp() requires one argument.');
    const version = lauxlib.luaL_checknumber(L, 1);
    if (version !== 2 && version !== 3) raise(L, 'RESP version must be 2 or 3.');
    run(L).resp = version;
    return 0;
  });
  // Effects are always what replicates (as Redis 7's default): these only check their argument.
  setFunction(L, 'set_repl', (L) => {
    if (lua.lua_gettop(L) !== 1) raise(L, 'redis.set_repl() requires one argument.');
    const flags = lauxlib.luaL_checknumber(L, 1);
    if ((flags & ~3) !== 0) raise(L, 'Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.');
    return 0;
  });
  setFunction(L, 'replicate_commands', (L) => (lua.lua_pushboolean(L, true), 1));
  setFunction(L, 'breakpoint', (L) => (lua.lua_pushboolean(L, false), 1));
  setFunction(L, 'debug', () => 0);
  LOG_LEVELS.forEach((name, level) => setNumber(L, name, level));
  setNumber(L, 'REPL_NONE', 0);
  setNumber(L, 'REPL_AOF', 1);
  setNumber(L, 'REPL_SLAVE', 2);
  setNumber(L, 'REPL_REPLICA', 2);
  setNumber(L, 'REPL_ALL', 3);
  pushText(L, REDIS_COMPATIBLE_VERSION);
  lua.lua_setfield(L, -2, fengari.to_luastring('REDIS_VERSION'));
  const [major, minor, patch] = REDIS_COMPATIBLE_VERSION.split('.').map(Number) as [number, number, number];
  setNumber(L, 'REDIS_VERSION_NUM', (major << 16) | (minor << 8) | patch);
}

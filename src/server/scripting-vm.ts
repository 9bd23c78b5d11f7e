// One Lua state as Redis sets it up for scripts: Redis's libraries, the sandbox (read-only
// globals and library tables, no file access), the error handler that adds where an error
// happened, and a way to run a compiled function as a coroutine that a count hook can
// suspend, so a long script gives the event loop turns (busy-reply-threshold) and can be
// killed (SCRIPT KILL / FUNCTION KILL).
import { Buffer } from 'node:buffer';
import { openRedisLibraries } from './scripting-libs.js';
import { fengari, lauxlib, lua, newLuaState, runChunk, setFunction, type LuaState } from './scripting-lua.js';

/** Instructions between two looks at the clock (Redis uses the same count). */
export const HOOK_INSTRUCTIONS = 100_000;

/**
 * Sandbox, run once per state: returns the globals proxy scripts see as _G and _ENV, and
 * the message handler. Tables are made read-only by an empty proxy whose metatable reads
 * through and refuses writes; setmetatable and rawset refuse the proxies too.
 */
const SANDBOX = `
local real = _G
local readonly = setmetatable({}, {__mode = 'k'})
local raw_setmetatable, raw_rawset, raw_getmetatable = setmetatable, rawset, debug.getmetatable
local function refuse() error('Attempt to modify a readonly table', 2) end
-- fengari 0.1.5 leaves hooks off in a coroutine after a pcall there caught an error
-- (lua_pcallk never records 'allowhook' for recovery): rearm turns them back on, or a
-- script looping over pcall could neither be killed nor yield.
local raw_pcall, raw_xpcall, rearm = pcall, xpcall, __rearm_hooks
__rearm_hooks = nil
real.pcall = function(...) return rearm(raw_pcall(...)) end
real.xpcall = function(...) return rearm(raw_xpcall(...)) end
local protect
-- A read-only table's metatable, as getmetatable shows it: read-only, and the tables it
-- reaches (the real table behind __index) read-only too.
local views = setmetatable({}, {__mode = 'k'})
local function metatable_view(meta)
  return raw_setmetatable({}, {__index = function(_, key)
    local value = meta[key]
    if type(value) == 'table' then
      if views[value] == nil then views[value] = protect(value) end
      return views[value]
    end
    return value
  end, __newindex = refuse, __metatable = false})
end
protect = function(t)
  local proxy = {}
  local meta = {__index = t, __newindex = refuse, __len = function() return #t end, __pairs = function() return next, t, nil end}
  meta.__metatable = metatable_view(meta)
  raw_setmetatable(proxy, meta)
  readonly[proxy] = true
  return proxy
end
real.setmetatable = function(t, m)
  if readonly[t] then error('Attempt to modify a readonly table', 2) end
  return raw_setmetatable(t, m)
end
real.rawset = function(t, k, v)
  if readonly[t] then error('Attempt to modify a readonly table', 2) end
  return raw_rawset(t, k, v)
end
for _, name in ipairs({'string', 'table', 'math', 'debug', 'coroutine', 'bit', 'cjson', 'cmsgpack', 'struct', 'redis'}) do
  if real[name] ~= nil then real[name] = protect(real[name]) end
end
raw_setmetatable(real, {__index = function(_, name)
  error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
end})
local globals = protect(real)
raw_rawset(real, '_G', globals)
-- FUNCTION LOAD runs a library with other globals behind the same proxy (functions-library.ts):
-- functions it defines see the real globals once loading is over.
local globals_meta = raw_getmetatable(globals)
local function set_load_env(env)
  globals_meta.__index = env or real
end
local getinfo = debug.getinfo
local function handler(err)
  -- Lua 5.1 words runtime errors "attempt to call field 'f' (a nil value)"; 5.3 puts the
  -- name last.
  if type(err) == 'string' then
    err = string.gsub(err, "attempt to (.-) a (%a+) value %((%a+) '(.-)'%)", "attempt to %1 %3 '%4' (a %2 value)")
  end
  -- Where the error was raised: the nearest frame of user code (not error() itself, nor
  -- the sandbox's own functions).
  local info
  for level = 2, 4 do
    local frame = getinfo(level, 'nSl')
    if frame == nil then break end
    if (frame.what == 'Lua' or frame.what == 'main') and frame.source ~= '=sandbox' then
      info = frame
      break
    end
  end
  if type(err) ~= 'table' then err = {err = 'ERR ' .. tostring(err)} end
  if info then
    err.source = info.source
    err.line = info.currentline
  end
  return err
end
local xpcall = xpcall
local function runner(f, ...)
  return xpcall(f, handler, ...)
end
return globals, runner, set_load_env, protect
`;

/** How a run ended: a value left on the thread's stack, or an error's text (with code). */
export type RunOutcome =
  | { readonly ok: true }
  /** counted: the error is a called command's, already in INFO errorstats (Redis's ignore_error_stats_update). */
  | { readonly ok: false; readonly message: string; readonly counted?: boolean };

export class LuaVm {
  readonly L: LuaState;
  /** Registry refs of the globals proxy and the xpcall runner. */
  private readonly globalsRef: number;
  private readonly runnerRef: number;
  /** The real globals table (behind the proxy), where KEYS and ARGV are set. */
  private readonly realGlobalsRef: number;
  /** Sandbox functions: set_load_env(env | nil) and protect(table) -> read-only proxy. */
  private readonly loadEnvRef: number;
  private readonly protectRef: number;

  /** `redis` is filled by the caller (scripting-api.ts) before the sandbox closes it. */
  constructor(fillRedis: (L: LuaState) => void) {
    const L = (this.L = newLuaState());
    lua.lua_atnativeerror(L, (L: LuaState) => {
      const error = lua.lua_touserdata(L, 1);
      lua.lua_pushstring(L, fengari.to_luastring(error instanceof Error ? error.message : String(error)));
      return 1;
    });
    openRedisLibraries(L);
    lua.lua_newtable(L);
    fillRedis(L);
    lua.lua_setglobal(L, fengari.to_luastring('redis'));
    lua.lua_pushjsfunction(L, (L: LuaState) => {
      L.allowhook = 1;
      return lua.lua_gettop(L);
    });
    lua.lua_setglobal(L, fengari.to_luastring('__rearm_hooks'));
    lua.lua_pushglobaltable(L);
    this.realGlobalsRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    if (lauxlib.luaL_loadbuffer(L, fengari.to_luastring(SANDBOX), null, fengari.to_luastring('=sandbox')) !== lua.LUA_OK || lua.lua_pcall(L, 0, 4, 0) !== lua.LUA_OK) {
      throw new Error(`Lua sandbox failed: ${fengari.to_jsstring(lua.lua_tostring(L, -1))}`);
    }
    this.protectRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    this.loadEnvRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    this.runnerRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    this.globalsRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
  }

  /** Set a global behind the sandbox (KEYS, ARGV), as Redis does for each run. */
  setGlobal(name: string, push: (L: LuaState) => void): void {
    const L = this.L;
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.realGlobalsRef);
    push(L);
    lua.lua_setfield(L, -2, fengari.to_luastring(name));
    lua.lua_pop(L, 1);
  }

  /** Read a global behind the sandbox (raw: no error for a missing one); leaves it pushed. */
  pushRealGlobal(name: string): void {
    lua.lua_rawgeti(this.L, lua.LUA_REGISTRYINDEX, this.realGlobalsRef);
    lua.lua_pushstring(this.L, fengari.to_luastring(name));
    lua.lua_rawget(this.L, -2);
    lua.lua_remove(this.L, -2);
  }

  /** Globals scripts see while `env` (the table at the top of the stack, popped) is set; undefined: the real ones. */
  setLoadEnv(withTable: boolean): void {
    const L = this.L;
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.loadEnvRef);
    if (withTable) lua.lua_rotate(L, -2, 1);
    else lua.lua_pushnil(L);
    lua.lua_call(L, 1, 0);
  }

  /** Replace the table at the top of the stack with a read-only proxy of it. */
  protect(): void {
    const L = this.L;
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.protectRef);
    lua.lua_rotate(L, -2, 1);
    lua.lua_call(L, 1, 1);
  }

  /** Compile a chunk with the sandboxed globals as its _ENV: a registry ref, or the compile error. */
  compile(source: Uint8Array, chunkName: string): { ref: number } | { error: string } {
    const L = this.L;
    if (lauxlib.luaL_loadbuffer(L, source, null, fengari.to_luastring(chunkName)) !== lua.LUA_OK) {
      const error = Buffer.from(lua.lua_tolstring(L, -1) ?? []).toString('utf8');
      lua.lua_pop(L, 1);
      return { error };
    }
    // A binary chunk has no _ENV upvalue to set; Redis refuses them (string.dump + loadstring).
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.globalsRef);
    lua.lua_setupvalue(L, -2, 1);
    return { ref: lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX) };
  }

  release(ref: number): void {
    lauxlib.luaL_unref(this.L, lua.LUA_REGISTRYINDEX, ref);
  }

  /**
   * A coroutine that will call the function `ref` through the error handler with the
   * values `pushArgs` pushes. Resume it with resume().
   */
  prepare(ref: number, pushArgs: (L: LuaState) => number, hook: (thread: LuaState) => void): LuaState {
    const L = this.L;
    const thread = lua.lua_newthread(L);
    const threadRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX); // keeps the thread alive while it runs
    lua.lua_rawgeti(thread, lua.LUA_REGISTRYINDEX, this.runnerRef);
    lua.lua_rawgeti(thread, lua.LUA_REGISTRYINDEX, ref);
    const count = pushArgs(thread);
    threadRefs.set(thread, { ref: threadRef, args: count + 1 });
    lua.lua_sethook(thread, hook, lua.LUA_MASKCOUNT, HOOK_INSTRUCTIONS);
    return thread;
  }

  /** Run (or go on running) a prepared coroutine: 'yielded', or its outcome with the value on its stack top. */
  resume(thread: LuaState): 'yielded' | RunOutcome {
    const entry = threadRefs.get(thread)!;
    const status = lua.lua_resume(thread, this.L, entry.args);
    entry.args = 0;
    if (status === lua.LUA_YIELD) return 'yielded';
    lauxlib.luaL_unref(this.L, lua.LUA_REGISTRYINDEX, entry.ref);
    threadRefs.delete(thread);
    if (status !== lua.LUA_OK) return { ok: false, message: `ERR ${errorText(thread, -1)}` };
    // xpcall's results: true, value | false, error table.
    const top = lua.lua_gettop(thread);
    if (lua.lua_toboolean(thread, 1)) {
      if (top === 1) lua.lua_pushnil(thread);
      else lua.lua_settop(thread, 2);
      return { ok: true };
    }
    return { ok: false, message: scriptErrorText(thread, 2), counted: isCountedError(thread, 2) };
  }
}

const threadRefs = new WeakMap<LuaState, { ref: number; args: number }>();

function errorText(L: LuaState, index: number): string {
  const bytes = lua.lua_tolstring(L, index);
  return bytes === null || bytes === undefined ? 'execution failure' : Buffer.from(bytes).toString('utf8');
}

/**
 * The message of the handler's error table: "<err> script: <name>, on <source>:<line>."
 * once the caller adds the script name (the placeholder SCRIPT_NAME_MARK stands for it).
 */
function scriptErrorText(L: LuaState, index: number): string {
  if (lua.lua_type(L, index) !== lua.LUA_TTABLE) return `ERR ${errorText(L, index)}`;
  const field = (name: string): string | undefined => {
    lua.lua_getfield(L, index, fengari.to_luastring(name));
    const value = lua.lua_type(L, -1) === lua.LUA_TSTRING || lua.lua_type(L, -1) === lua.LUA_TNUMBER ? errorText(L, -1) : undefined;
    lua.lua_pop(L, 1);
    return value;
  };
  const message = field('err') ?? 'ERR unknown error';
  const source = field('source');
  const line = field('line');
  return source !== undefined && line !== undefined ? `${message} script: ${SCRIPT_NAME_MARK}, on ${source}:${line}.` : message;
}

/** The field Redis puts in the error table of a called command's error: errorstats counted it already. */
export const COUNTED_ERROR_FIELD = 'ignore_error_stats_update';

/** True if the value at `index` is an error table marked COUNTED_ERROR_FIELD. */
export function isCountedError(L: LuaState, index: number): boolean {
  if (lua.lua_type(L, index) !== lua.LUA_TTABLE) return false;
  // Raw: a returned table may be one whose metatable refuses unknown fields (the globals).
  const table = lua.lua_absindex(L, index);
  lua.lua_pushstring(L, fengari.to_luastring(COUNTED_ERROR_FIELD));
  lua.lua_rawget(L, table);
  const counted = lua.lua_toboolean(L, -1);
  lua.lua_pop(L, 1);
  return counted;
}

/** Replaced by the running script's name in error texts (the sha1, or the function name). */
export const SCRIPT_NAME_MARK = '\u0000script\u0000';

export { setFunction, runChunk };

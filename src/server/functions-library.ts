// Function libraries (Redis 7 FUNCTION LOAD): how they are stored and how they are loaded
// into a Lua state.
//
// Storage: every library of the cluster is in ONE row, FUNCTIONS_ROW_KEY (rows.ts), a key
// outside the user keyspace (KEYS/SCAN/DBSIZE never list it, no command names it, FLUSHALL
// does not clear it, as Redis keeps functions across FLUSHALL). The row replicates like any
// other, so FUNCTION LOAD on one node reaches every node and FCALL works anywhere. Being
// one last-writer-wins row, two libraries loaded on two nodes at the same moment (before
// either saw the other's) keep only the later one: README "Scripting".
// Value: [u32 count] then per library [u32 name length][name][u32 code length][code].
//
// Loading: each node compiles the libraries of the row it holds into its own Lua state,
// again whenever the row's version changes. A library runs once at load, with globals that
// hold only the load API (redis.register_function, redis.log, ...): Redis 7.0's rules.
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { FUNCTIONS_ROW_KEY } from '../core/rows.js';
import type { VersionedRecord } from '../core/types.js';
import type { Engine } from './engine.js';
import { fillRedisTable } from './scripting-api.js';
import { fengari, lauxlib, lua, raise, setFunction, type LuaState } from './scripting-lua.js';
import type { ScriptRun } from './scripting-run.js';
import { LuaVm } from './scripting-vm.js';
import type { Logger } from './state.js';

/** FUNCTION LOAD stops a library whose top level runs longer than this (Redis's limit). */
const LOAD_TIME_MAX_MS = 500;
const FUNCTION_FLAGS = new Set(['no-writes', 'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys']);
const NAME_PATTERN = /^[A-Za-z0-9_]+$/;
const NAME_ERROR = 'Library names can only contain letters, numbers, or underscores(_) and must be at least one character long';

/** A library as stored: its name (as given) and code (the whole text, shebang included). */
export interface StoredLibrary {
  readonly name: string;
  readonly code: Buffer;
}

export function encodeLibraries(libraries: readonly StoredLibrary[]): Uint8Array {
  const parts: Buffer[] = [];
  const count = Buffer.alloc(4);
  count.writeUInt32BE(libraries.length);
  parts.push(count);
  for (const library of libraries) {
    const name = Buffer.from(library.name, 'utf8');
    for (const bytes of [name, library.code]) {
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      parts.push(length, bytes);
    }
  }
  return Buffer.concat(parts);
}

/** The libraries of a stored value; undefined when it is malformed (never thrown). */
export function decodeLibraries(value: Uint8Array): StoredLibrary[] | undefined {
  const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (bytes.length < 4) return undefined;
  const count = bytes.readUInt32BE(0);
  let offset = 4;
  const take = (): Buffer | undefined => {
    if (offset + 4 > bytes.length) return undefined;
    const length = bytes.readUInt32BE(offset);
    offset += 4;
    if (offset + length > bytes.length) return undefined;
    const slice = Buffer.from(bytes.subarray(offset, offset + length));
    offset += length;
    return slice;
  };
  const libraries: StoredLibrary[] = [];
  for (let index = 0; index < count; index++) {
    const name = take();
    const code = take();
    if (name === undefined || code === undefined) return undefined;
    libraries.push({ name: name.toString('utf8'), code });
  }
  return offset === bytes.length ? libraries : undefined;
}

/** The libraries stored on this node (none when the row is absent). */
export function storedLibraries(engine: Engine): { libraries: StoredLibrary[]; version: string } {
  const record = engine.get(FUNCTIONS_ROW_KEY);
  return { libraries: (record?.value ? decodeLibraries(record.value) : undefined) ?? [], version: versionOf(record) };
}

function versionOf(record: VersionedRecord | undefined): string {
  return record === undefined ? '' : `${record.hlc.wallMs}.${record.hlc.logical}.${record.origin}`;
}

export interface LoadedFunction {
  readonly name: string;
  readonly library: string;
  readonly ref: number;
  readonly flags: readonly string[];
  readonly description: string | undefined;
}

export interface LoadedLibrary {
  readonly name: string;
  readonly code: Buffer;
  readonly functions: LoadedFunction[];
}

/** The `#!lua name=<name>` line of a library: its name and the code with the line blanked. */
export function parseLibraryHeader(code: Buffer): { name: string; source: Buffer } | { error: string } {
  if (code.length < 2 || code[0] !== 0x23 || code[1] !== 0x21) return { error: 'ERR Missing library metadata' };
  const end = code.indexOf(0x0a);
  const line = code.toString('utf8', 0, end < 0 ? code.length : end);
  // Split as Redis's sdssplitargs does: on spaces, with "quoted" values taken whole.
  const parts = [...line.matchAll(/(?:[^\s"]+|"[^"]*")+/g)].map((match) => match[0].replace(/"([^"]*)"/g, '$1'));
  const engine = (parts[0] ?? '#!').slice(2);
  let name: string | undefined;
  for (const part of parts.slice(1)) {
    if (!part.startsWith('name=')) return { error: `ERR Invalid metadata value given: ${part}` };
    if (name !== undefined) return { error: 'ERR Invalid metadata value, name argument was given multiple times' };
    name = part.slice(5);
  }
  if (name === undefined) return { error: 'ERR Library name was not given' };
  if (engine.toLowerCase() !== 'lua') return { error: `ERR Engine '${engine}' not found` };
  if (!NAME_PATTERN.test(name)) return { error: `ERR ${NAME_ERROR}` };
  return { name, source: end < 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from('\n'), code.subarray(end + 1)]) };
}

/** The libraries of one version of the row, compiled into one Lua state. */
export class FunctionSet {
  readonly vm: LuaVm;
  readonly libraries = new Map<string, LoadedLibrary>();
  /** Lowercase function name -> function. */
  readonly functions = new Map<string, LoadedFunction>();
  /** The library being loaded: register_function adds to it. */
  private loading: LoadedFunction[] | undefined;
  private loadingLibrary = '';

  constructor(
    readonly version: string,
    current: () => ScriptRun | undefined,
    logger: Logger,
  ) {
    this.vm = new LuaVm((L) => fillRedisTable(L, current, logger));
    this.makeLoadEnv();
  }

  /** Registry ref of the globals a library sees while it loads. */
  private loadEnvRef = 0;

  private makeLoadEnv(): void {
    const L = this.vm.L;
    lua.lua_newtable(L); // the load API, read-only
    setFunction(L, 'register_function', (L) => this.registerFunction(L));
    this.vm.pushRealGlobal('redis');
    for (const name of ['log', 'LOG_DEBUG', 'LOG_VERBOSE', 'LOG_NOTICE', 'LOG_WARNING', 'REDIS_VERSION', 'REDIS_VERSION_NUM']) {
      lua.lua_getfield(L, -1, fengari.to_luastring(name));
      lua.lua_setfield(L, -3, fengari.to_luastring(name));
    }
    lua.lua_pop(L, 1);
    missingGlobalErrors(L);
    this.vm.protect();
    lua.lua_newtable(L); // the globals: redis only
    lua.lua_rotate(L, -2, 1);
    lua.lua_setfield(L, -2, fengari.to_luastring('redis'));
    missingGlobalErrors(L);
    this.loadEnvRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
  }

  private registerFunction(L: LuaState): number {
    const functions = this.loading;
    if (functions === undefined) raise(L, 'redis.register_function can only be called on FUNCTION LOAD command');
    const count = lua.lua_gettop(L);
    let name: string | undefined;
    let flags: string[] = [];
    let description: string | undefined;
    let callbackRef: number | undefined;
    if (count === 1) {
      if (lua.lua_type(L, 1) !== lua.LUA_TTABLE) raise(L, 'calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).');
      lua.lua_pushnil(L);
      while (lua.lua_next(L, 1) !== 0) {
        if (lua.lua_type(L, -2) !== lua.LUA_TSTRING) raise(L, 'named argument key given to redis.register_function is not a string');
        const key = fengari.to_jsstring(lua.lua_tostring(L, -2));
        if (key === 'function_name') {
          if (lua.lua_type(L, -1) !== lua.LUA_TSTRING) raise(L, 'function_name argument given to redis.register_function must be a string');
          name = Buffer.from(lua.lua_tolstring(L, -1)).toString('latin1');
        } else if (key === 'description') {
          if (lua.lua_type(L, -1) !== lua.LUA_TSTRING) raise(L, 'description argument given to redis.register_function must be a string');
          description = Buffer.from(lua.lua_tolstring(L, -1)).toString('utf8');
        } else if (key === 'callback') {
          if (lua.lua_type(L, -1) !== lua.LUA_TFUNCTION) raise(L, 'callback argument given to redis.register_function must be a function');
          lua.lua_pushvalue(L, -1);
          if (callbackRef !== undefined) lauxlib.luaL_unref(L, lua.LUA_REGISTRYINDEX, callbackRef);
          callbackRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
        } else if (key === 'flags') {
          flags = this.readFlags(L, -1);
        } else raise(L, 'unknown argument given to redis.register_function');
        lua.lua_pop(L, 1);
      }
      if (name === undefined) raise(L, 'redis.register_function must get a function name argument');
      if (callbackRef === undefined) raise(L, 'redis.register_function must get a callback argument');
    } else {
      if (count !== 2) raise(L, 'wrong number of arguments to redis.register_function');
      if (lua.lua_type(L, 1) !== lua.LUA_TSTRING) raise(L, 'first argument to redis.register_function must be a string');
      if (lua.lua_type(L, 2) !== lua.LUA_TFUNCTION) raise(L, 'second argument to redis.register_function must be a function');
      name = Buffer.from(lua.lua_tolstring(L, 1)).toString('latin1');
      lua.lua_pushvalue(L, 2);
      callbackRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    }
    const ref = callbackRef!;
    // Redis 7.0 words this error as for library names.
    if (!NAME_PATTERN.test(name!)) (lauxlib.luaL_unref(L, lua.LUA_REGISTRYINDEX, ref), raise(L, NAME_ERROR));
    if (functions!.some((fn) => fn.name.toLowerCase() === name!.toLowerCase())) (lauxlib.luaL_unref(L, lua.LUA_REGISTRYINDEX, ref), raise(L, 'Function already exists in the library'));
    functions!.push({ name: name!, library: this.loadingLibrary, ref, flags, description });
    return 0;
  }

  private readFlags(L: LuaState, index: number): string[] {
    const at = lua.lua_absindex(L, index);
    if (lua.lua_type(L, at) !== lua.LUA_TTABLE) raise(L, 'flags argument to redis.register_function must be a table representing function flags');
    const flags: string[] = [];
    for (let position = 1; ; position++) {
      const type = lua.lua_rawgeti(L, at, position);
      if (type === lua.LUA_TNIL) {
        lua.lua_pop(L, 1);
        break;
      }
      if (type !== lua.LUA_TSTRING) raise(L, 'unknown flag given');
      const flag = fengari.to_jsstring(lua.lua_tostring(L, -1));
      lua.lua_pop(L, 1);
      if (!FUNCTION_FLAGS.has(flag)) raise(L, 'unknown flag given');
      flags.push(flag);
    }
    return flags;
  }

  /** Load one library into this state; an error text (Redis's) if it cannot be. */
  load(library: StoredLibrary): string | undefined {
    const header = parseLibraryHeader(library.code);
    if ('error' in header) return header.error;
    if (this.libraries.has(header.name.toLowerCase())) return `ERR Library '${header.name}' already exists`;
    const compiled = this.vm.compile(header.source, '@user_function');
    if ('error' in compiled) return `ERR Error compiling function: ${compiled.error}`;
    const L = this.vm.L;
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.loadEnvRef);
    this.vm.setLoadEnv(true);
    this.loading = [];
    this.loadingLibrary = header.name;
    const startedMs = performance.now();
    const thread = this.vm.prepare(compiled.ref, () => 0, (thread: LuaState) => {
      if (performance.now() - startedMs > LOAD_TIME_MAX_MS) raise(thread, 'FUNCTION LOAD timeout');
    });
    const outcome = this.vm.resume(thread);
    this.vm.setLoadEnv(false);
    this.vm.release(compiled.ref);
    const functions = this.loading;
    this.loading = undefined;
    lua.lua_settop(thread, 0);
    let error: string | undefined;
    if (outcome === 'yielded' || !outcome.ok) error = `ERR Error registering functions: ${outcome === 'yielded' ? 'yielded' : stripPrefix(outcome.message)}`;
    else if (functions.length === 0) error = 'ERR No functions registered';
    else {
      for (const fn of functions) {
        if (this.functions.has(fn.name.toLowerCase())) {
          error = `ERR Function ${fn.name} already exists`;
          break;
        }
      }
    }
    if (error !== undefined) {
      for (const fn of functions) this.vm.release(fn.ref);
      return error;
    }
    this.libraries.set(header.name.toLowerCase(), { name: header.name, code: library.code, functions });
    for (const fn of functions) this.functions.set(fn.name.toLowerCase(), fn);
    return undefined;
  }
}

/** The handler's text is "ERR <lua error> script: ..., on ...": Redis shows the Lua error itself. */
function stripPrefix(message: string): string {
  const text = message.startsWith('ERR ') ? message.slice(4) : message;
  const at = text.indexOf(' script: ');
  return at < 0 ? text : text.slice(0, at);
}

/** Give the table at the top of the stack a metatable that raises on reading a missing name. */
function missingGlobalErrors(L: LuaState): void {
  lua.lua_newtable(L);
  lua.lua_pushjsfunction(L, (L: LuaState) => {
    const name = lua.lua_type(L, 2) === lua.LUA_TSTRING ? fengari.to_jsstring(lua.lua_tostring(L, 2)) : '?';
    return raise(L, `Script attempted to access nonexistent global variable '${name}'`);
  });
  lua.lua_setfield(L, -2, fengari.to_luastring('__index'));
  lua.lua_setmetatable(L, -2);
}


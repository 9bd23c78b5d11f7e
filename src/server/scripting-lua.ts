// The Lua VM scripts run in: fengari (Lua 5.3 written in JavaScript), made to behave like
// the Lua 5.1 Redis embeds where scripts notice. Chosen by measurement (README
// "Scripting"): a script that makes 10 redis.call()s runs about 6x faster than in wasmoon
// (Lua 5.4 in WebAssembly), whose every call into JavaScript crosses the wasm boundary;
// pure Lua loops are about 2x slower, which scripts that talk to Redis rarely are. Its
// strings are byte arrays, so binary values pass through untouched.
//
// Lua 5.1 gaps closed here, in the environment:
// - numbers: 5.1 has only doubles. fengari's integers are 32-bit and wrap, and 5.3 prints
//   integral floats as "3.0". Every numeral (in source and in string-to-number
//   conversion) is read as a float, and integral floats print without ".0" in 5.1's
//   %.14g format, so arithmetic and tostring() give 5.1's results.
// - unpack, loadstring, table.getn, table.maxn, math.pow, math.mod, math.log10,
//   string.gfind are put back as 5.1 had them.
// These patch the fengari module once per process (peerkv is its only user here).
import { createRequire } from 'node:module';

/* eslint-disable @typescript-eslint/no-explicit-any -- fengari ships no types */
const require = createRequire(import.meta.url);
export const fengari: any = require('fengari');
const lobject: any = require('fengari/src/lobject.js');
const lstring: any = require('fengari/src/lstring.js');
export const lua: any = fengari.lua;
export const lauxlib: any = fengari.lauxlib;
export const lualib: any = fengari.lualib;

/** A Lua state (fengari's lua_State). */
export type LuaState = any;

/** C's %.<precision>g for a finite or non-finite double, as printf renders it. */
export function formatG(value: number, precision: number): string {
  if (Number.isNaN(value)) return value > 0 || Object.is(value, NaN) ? 'nan' : '-nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  let text = value.toExponential(precision - 1);
  let [mantissa, exp] = text.split('e') as [string, string];
  let power = Number(exp);
  if (power < -4 || power >= precision) {
    if (mantissa.includes('.')) mantissa = mantissa.replace(/0+$/, '').replace(/\.$/, '');
    const sign = power < 0 ? '-' : '+';
    power = Math.abs(power);
    return `${mantissa}e${sign}${power < 10 ? '0' : ''}${power}`;
  }
  text = value.toFixed(Math.max(0, precision - 1 - power));
  if (text.includes('.')) text = text.replace(/0+$/, '').replace(/\.$/, '');
  return text;
}

let patched = false;

/** Make fengari read numerals as doubles and print them as Lua 5.1 does (see above). */
function patchNumbers(): void {
  if (patched) return;
  patched = true;
  const str2num = lobject.luaO_str2num;
  lobject.luaO_str2num = (bytes: Uint8Array, value: any): number => {
    const size = str2num(bytes, value);
    if (size !== 0 && value.ttisinteger()) value.setfltvalue(value.value);
    return size;
  };
  lobject.luaO_tostring = (L: any, value: any): void => {
    const text = value.ttisinteger() ? String(value.value) : formatG(value.value, 14);
    value.setsvalue(lstring.luaS_bless(L, fengari.to_luastring(text)));
  };
  // tostring() and %s format a float through pushfstring("%f"), which formats on its own.
  const pushvfstring = lobject.luaO_pushvfstring;
  const FLOAT_FORMAT = fengari.to_luastring('%f');
  const STRING_FORMAT = fengari.to_luastring('%s');
  lobject.luaO_pushvfstring = (L: any, format: Uint8Array, args: any[]): unknown => {
    if (format.length === 2 && format[0] === FLOAT_FORMAT[0] && format[1] === FLOAT_FORMAT[1]) {
      return pushvfstring(L, STRING_FORMAT, [fengari.to_luastring(formatG(args[0], 14))]);
    }
    return pushvfstring(L, format, args);
  };
}

/** Lua 5.1 functions that 5.3 dropped, restored in Lua (they are thin). */
const LUA51_COMPAT = `
unpack = table.unpack
-- Text chunks only: Redis refuses binary ones (string.dump output).
local raw_load = load
load = function(chunk, name, mode, env) return raw_load(chunk, name, 't', env) end
loadstring = function(chunk, name) return raw_load(chunk, name, 't') end
table.getn = function(t) return #t end
table.maxn = function(t) local n = 0 for k in pairs(t) do if type(k) == 'number' and k > n then n = k end end return n end
math.pow = function(x, y) return x ^ y end
math.mod = math.fmod
math.log10 = function(x) return math.log(x, 10) end
math.ldexp = function(m, e) return m * 2.0 ^ e end
string.gfind = string.gmatch
`;

/** A new state with the libraries Redis gives scripts (base, table, string, math, debug, coroutine). */
export function newLuaState(): LuaState {
  patchNumbers();
  const L = lauxlib.luaL_newstate();
  const open = (name: string, opener: unknown) => {
    lauxlib.luaL_requiref(L, fengari.to_luastring(name), opener, 1);
    lua.lua_pop(L, 1);
  };
  open('_G', lualib.luaopen_base);
  open('table', lualib.luaopen_table);
  open('string', lualib.luaopen_string);
  open('math', lualib.luaopen_math);
  open('debug', lualib.luaopen_debug);
  open('coroutine', lualib.luaopen_coroutine);
  runChunk(L, LUA51_COMPAT, '=compat');
  for (const name of ['dofile', 'loadfile', 'print']) {
    lua.lua_pushnil(L);
    lua.lua_setglobal(L, fengari.to_luastring(name));
  }
  return L;
}

/** Run trusted setup code in the state; throws on an error (a bug of ours). */
export function runChunk(L: LuaState, source: string, chunkName: string): void {
  if (lauxlib.luaL_loadbuffer(L, fengari.to_luastring(source), null, fengari.to_luastring(chunkName)) !== lua.LUA_OK || lua.lua_pcall(L, 0, 0, 0) !== lua.LUA_OK) {
    const message = fengari.to_jsstring(lua.lua_tostring(L, -1) ?? fengari.to_luastring('?'));
    lua.lua_pop(L, 1);
    throw new Error(`Lua setup failed: ${message}`);
  }
}

/** Set field `name` of the table at the top of the stack to a JS function. */
export function setFunction(L: LuaState, name: string, fn: (L: LuaState) => number): void {
  lua.lua_pushjsfunction(L, fn);
  lua.lua_setfield(L, -2, fengari.to_luastring(name));
}

/** The text of the string (or number) at `index`, as bytes; undefined for other types. */
export function toBytes(L: LuaState, index: number): Uint8Array | undefined {
  const type = lua.lua_type(L, index);
  if (type === lua.LUA_TSTRING) return lua.lua_tolstring(L, index);
  if (type === lua.LUA_TNUMBER) return fengari.to_luastring(numberArgText(lua.lua_tonumber(L, index)));
  return undefined;
}

/** How a Lua number becomes a command argument: %.17g, as Redis 7.0 does. */
export function numberArgText(value: number): string {
  return Number.isInteger(value) && Math.abs(value) < 1e17 ? String(value) : formatG(value, 17);
}

export function pushBytes(L: LuaState, bytes: Uint8Array): void {
  lua.lua_pushstring(L, bytes);
}

export function pushText(L: LuaState, text: string): void {
  lua.lua_pushstring(L, fengari.to_luastring(text));
}

/** luaL_error with a JS message: raises a Lua error (never returns). */
export function raise(L: LuaState, message: string): never {
  pushText(L, message);
  return lua.lua_error(L) as never;
}

/** luaL_error with a table {err=message}: how redis.call reports a command's error. */
export function raiseTable(L: LuaState, message: string): never {
  lua.lua_newtable(L);
  pushText(L, message);
  lua.lua_setfield(L, -2, fengari.to_luastring('err'));
  return lua.lua_error(L) as never;
}

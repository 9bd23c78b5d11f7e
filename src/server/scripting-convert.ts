// Conversions between Lua values and RESP, by Redis 7.0's rules (script_lua.c): a command's
// reply becomes a Lua value for redis.call (per the script's redis.setresp version), and the
// script's return value becomes the caller's reply (in the caller's protocol).
import { Buffer } from 'node:buffer';
import type { RespReply } from '../wire/resp-reply-parser.js';
import {
  appendArrayHeader,
  appendBoolean,
  appendBulk,
  appendDouble,
  appendError,
  appendInteger,
  appendMapHeader,
  appendNull,
  appendSimple,
  type RespOutput,
  type RespVersion,
} from '../wire/resp.js';
import { fengari, lua, pushBytes, pushText, type LuaState } from './scripting-lua.js';

/** Nesting of a returned table Redis converts before answering "reached lua stack limit". */
const RETURN_DEPTH_MAX = 1000;

function setField(L: LuaState, name: string): void {
  lua.lua_setfield(L, -2, fengari.to_luastring(name));
}

/** Push a command's reply as redis.call returns it (errors as {err=...}; the caller decides to raise). */
export function pushReply(L: LuaState, reply: RespReply, resp: RespVersion): void {
  switch (reply.type) {
    case 'simple':
      lua.lua_newtable(L);
      pushText(L, reply.value);
      return setField(L, 'ok');
    case 'error':
      lua.lua_newtable(L);
      pushText(L, reply.value);
      return setField(L, 'err');
    case 'integer':
      return lua.lua_pushnumber(L, Number(reply.value));
    case 'bulk':
      return pushBytes(L, reply.value);
    case 'null':
      return resp === 2 ? lua.lua_pushboolean(L, false) : lua.lua_pushnil(L);
    case 'array':
    case 'push':
      lua.lua_createtable(L, reply.value.length, 0);
      for (let index = 0; index < reply.value.length; index++) {
        pushReply(L, reply.value[index]!, resp);
        lua.lua_rawseti(L, -2, index + 1);
      }
      return;
    case 'boolean':
      return lua.lua_pushboolean(L, reply.value);
    case 'double':
      lua.lua_newtable(L);
      lua.lua_pushnumber(L, reply.value);
      return setField(L, 'double');
    case 'bignumber':
      lua.lua_newtable(L);
      pushText(L, reply.value.toString());
      return setField(L, 'big_number');
    case 'verbatim':
      lua.lua_newtable(L);
      lua.lua_newtable(L);
      pushText(L, reply.format);
      setField(L, 'format');
      pushBytes(L, reply.value);
      setField(L, 'string');
      return setField(L, 'verbatim_string');
    case 'map':
      lua.lua_newtable(L);
      lua.lua_newtable(L);
      for (const [key, value] of reply.value) {
        pushReply(L, key, resp);
        pushReply(L, value, resp);
        lua.lua_settable(L, -3);
      }
      return setField(L, 'map');
    case 'set':
      lua.lua_newtable(L);
      lua.lua_newtable(L);
      for (const member of reply.value) {
        pushReply(L, member, resp);
        lua.lua_pushboolean(L, true);
        lua.lua_settable(L, -3);
      }
      return setField(L, 'set');
  }
}

/** Field `name` of the table at `index` when it has type `type` (left pushed), else nothing pushed. */
function fieldOfType(L: LuaState, index: number, name: string, type: number): boolean {
  pushText(L, name);
  lua.lua_rawget(L, index); // raw: a metamethod must not run (or raise) while the reply is built
  if (lua.lua_type(L, -1) === type) return true;
  lua.lua_pop(L, 1);
  return false;
}

function textAt(L: LuaState, index: number): string {
  return Buffer.from(lua.lua_tolstring(L, index)).toString('utf8');
}

/** Append the value at the top of the stack as a reply (script_lua.c luaReplyToRedisReply); pops it. */
export function appendLuaValue(L: LuaState, out: RespOutput, protocol: RespVersion, scriptResp: RespVersion, depth = 0): void {
  const type = lua.lua_type(L, -1);
  if (type === lua.LUA_TSTRING) appendBulk(out, lua.lua_tolstring(L, -1));
  else if (type === lua.LUA_TBOOLEAN) {
    if (scriptResp === 2) {
      if (lua.lua_toboolean(L, -1)) appendInteger(out, 1);
      else appendNull(out, protocol);
    } else appendBoolean(out, lua.lua_toboolean(L, -1), protocol);
  } else if (type === lua.LUA_TNUMBER) appendInteger(out, Math.trunc(lua.lua_tonumber(L, -1)));
  else if (type === lua.LUA_TTABLE) appendTable(L, out, protocol, scriptResp, depth);
  else appendNull(out, protocol);
  lua.lua_pop(L, 1);
}

function appendTable(L: LuaState, out: RespOutput, protocol: RespVersion, scriptResp: RespVersion, depth: number): void {
  if (depth >= RETURN_DEPTH_MAX || !lua.lua_checkstack(L, 4)) return void appendError(out, 'ERR reached lua stack limit');
  const top = lua.lua_gettop(L);
  if (fieldOfType(L, top, 'err', lua.LUA_TSTRING)) {
    const message = textAt(L, -1);
    lua.lua_pop(L, 1);
    const text = message.startsWith('-') ? message.slice(1) : message;
    return void appendError(out, text === '' ? 'ERR' : text); // redis.error_reply('') answers -ERR, as Redis
  }
  if (fieldOfType(L, top, 'ok', lua.LUA_TSTRING)) {
    const text = textAt(L, -1).replace(/[\r\n]/g, ' ');
    lua.lua_pop(L, 1);
    return void appendSimple(out, text);
  }
  if (fieldOfType(L, top, 'double', lua.LUA_TNUMBER)) {
    const value = lua.lua_tonumber(L, -1);
    lua.lua_pop(L, 1);
    return void appendDouble(out, value, protocol);
  }
  if (fieldOfType(L, top, 'big_number', lua.LUA_TSTRING)) {
    const text = textAt(L, -1);
    lua.lua_pop(L, 1);
    if (protocol === 3) return void out.ascii(`(${text}\r\n`);
    return void appendBulk(out, Buffer.from(text));
  }
  if (fieldOfType(L, top, 'map', lua.LUA_TTABLE)) {
    const pairs = countPairs(L);
    appendMapHeader(out, pairs, protocol);
    lua.lua_pushnil(L);
    while (lua.lua_next(L, -2) !== 0) {
      lua.lua_pushvalue(L, -2);
      appendLuaValue(L, out, protocol, scriptResp, depth + 1); // key
      appendLuaValue(L, out, protocol, scriptResp, depth + 1); // value
    }
    lua.lua_pop(L, 1);
    return;
  }
  if (fieldOfType(L, top, 'set', lua.LUA_TTABLE)) {
    const members = countPairs(L);
    if (protocol === 3) out.ascii(`~${members}\r\n`);
    else appendArrayHeader(out, members);
    lua.lua_pushnil(L);
    while (lua.lua_next(L, -2) !== 0) {
      lua.lua_pop(L, 1);
      lua.lua_pushvalue(L, -1);
      appendLuaValue(L, out, protocol, scriptResp, depth + 1);
    }
    lua.lua_pop(L, 1);
    return;
  }
  // An array: elements 1..n up to the first nil (Redis stops there too).
  let count = 0;
  for (;;) {
    if (lua.lua_rawgeti(L, top, count + 1) === lua.LUA_TNIL) {
      lua.lua_pop(L, 1);
      break;
    }
    lua.lua_pop(L, 1);
    count++;
  }
  appendArrayHeader(out, count);
  for (let index = 1; index <= count; index++) {
    lua.lua_rawgeti(L, top, index);
    appendLuaValue(L, out, protocol, scriptResp, depth + 1);
  }
}

function countPairs(L: LuaState): number {
  let count = 0;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, -2) !== 0) {
    lua.lua_pop(L, 1);
    count++;
  }
  return count;
}

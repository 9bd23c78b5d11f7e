// The libraries Redis gives scripts besides Lua's own: bit (LuaBitOp), cjson and cmsgpack,
// written against fengari's C-like API with the behaviour of the C libraries Redis embeds
// (number formats, array detection, nesting limits) and struct (pack/unpack/size).
import { Buffer } from 'node:buffer';
import { fengari, formatG, lauxlib, lua, pushBytes, pushText, raise, setFunction, type LuaState } from './scripting-lua.js';

// ---- bit ----

function toBit(L: LuaState, index: number): number {
  const value = lauxlib.luaL_checknumber(L, index);
  // LuaBitOp: the number modulo 2^32, as a signed 32-bit integer.
  const wrapped = Number(BigInt.asIntN(32, BigInt(Math.trunc(value % 4294967296))));
  return wrapped;
}

function bitFold(op: (a: number, b: number) => number): (L: LuaState) => number {
  return (L) => {
    let result = toBit(L, 1);
    for (let index = 2; index <= lua.lua_gettop(L); index++) result = op(result, toBit(L, index));
    lua.lua_pushnumber(L, result | 0);
    return 1;
  };
}

function openBit(L: LuaState): void {
  lua.lua_newtable(L);
  const one = (fn: (x: number) => number) => (L: LuaState) => (lua.lua_pushnumber(L, fn(toBit(L, 1)) | 0), 1);
  const shift = (fn: (x: number, n: number) => number) => (L: LuaState) => (lua.lua_pushnumber(L, fn(toBit(L, 1), toBit(L, 2) & 31) | 0), 1);
  setFunction(L, 'tobit', one((x) => x));
  setFunction(L, 'bnot', one((x) => ~x));
  setFunction(L, 'bswap', one((x) => ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)));
  setFunction(L, 'band', bitFold((a, b) => a & b));
  setFunction(L, 'bor', bitFold((a, b) => a | b));
  setFunction(L, 'bxor', bitFold((a, b) => a ^ b));
  setFunction(L, 'lshift', shift((x, n) => x << n));
  setFunction(L, 'rshift', shift((x, n) => x >>> n));
  setFunction(L, 'arshift', shift((x, n) => x >> n));
  setFunction(L, 'rol', shift((x, n) => (x << n) | (x >>> (32 - n))));
  setFunction(L, 'ror', shift((x, n) => (x >>> n) | (x << (32 - n))));
  setFunction(L, 'tohex', (L) => {
    const x = toBit(L, 1);
    let digits = lua.lua_isnoneornil(L, 2) ? 8 : toBit(L, 2);
    const upper = digits < 0;
    if (upper) digits = -digits;
    digits = Math.min(8, digits);
    let text = (x >>> 0).toString(16).padStart(8, '0').slice(8 - digits);
    if (upper) text = text.toUpperCase();
    pushText(L, text);
    return 1;
  });
  lua.lua_setglobal(L, fengari.to_luastring('bit'));
}

// ---- cjson ----

/** cjson.null: a light userdata, as in lua-cjson. */
const JSON_NULL = { json: 'null' };

interface JsonSettings {
  encodeMaxDepth: number;
  decodeMaxDepth: number;
  encodeInvalidNumbers: boolean;
  decodeInvalidNumbers: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function jsonEscape(bytes: Uint8Array, out: number[]): void {
  out.push(QUOTE);
  for (const byte of bytes) {
    if (byte === QUOTE || byte === BACKSLASH || byte === 0x2f) out.push(BACKSLASH, byte);
    else if (byte === 0x0a) out.push(BACKSLASH, 0x6e);
    else if (byte === 0x0d) out.push(BACKSLASH, 0x72);
    else if (byte === 0x09) out.push(BACKSLASH, 0x74);
    else if (byte === 0x08) out.push(BACKSLASH, 0x62);
    else if (byte === 0x0c) out.push(BACKSLASH, 0x66);
    else if (byte < 0x20 || byte === 0x7f) for (const char of `\\u${byte.toString(16).padStart(4, '0')}`) out.push(char.charCodeAt(0));
    else out.push(byte);
  }
  out.push(QUOTE);
}

function pushAscii(out: number[], text: string): void {
  for (let index = 0; index < text.length; index++) out.push(text.charCodeAt(index));
}

/** lua-cjson's array test: every key a positive integer, not too sparse; the length, or -1 for an object. */
function jsonArrayLength(L: LuaState): number {
  let max = 0;
  let count = 0;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, -2) !== 0) {
    lua.lua_pop(L, 1);
    if (lua.lua_type(L, -1) !== lua.LUA_TNUMBER) {
      lua.lua_pop(L, 1);
      return -1;
    }
    const key = lua.lua_tonumber(L, -1);
    if (!Number.isInteger(key) || key < 1) {
      lua.lua_pop(L, 1);
      return -1;
    }
    if (key > max) max = key;
    count++;
  }
  if (max > 10 && max > count * 2) raise(L, 'Cannot serialise table: excessively sparse array');
  return max;
}

function jsonEncodeValue(L: LuaState, settings: JsonSettings, out: number[], depth: number): void {
  const type = lua.lua_type(L, -1);
  if (type === lua.LUA_TSTRING) return jsonEscape(lua.lua_tolstring(L, -1), out);
  if (type === lua.LUA_TNUMBER) {
    const value = lua.lua_tonumber(L, -1);
    if (!Number.isFinite(value)) {
      if (!settings.encodeInvalidNumbers) raise(L, 'Cannot serialise number: must not be NaN or Inf');
      return pushAscii(out, Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf');
    }
    return pushAscii(out, formatG(value, 14));
  }
  if (type === lua.LUA_TBOOLEAN) return pushAscii(out, lua.lua_toboolean(L, -1) ? 'true' : 'false');
  if (type === lua.LUA_TNIL || (type === lua.LUA_TLIGHTUSERDATA && lua.lua_touserdata(L, -1) === JSON_NULL)) return pushAscii(out, 'null');
  if (type !== lua.LUA_TTABLE) raise(L, `Cannot serialise ${fengari.to_jsstring(lua.lua_typename(L, type))}: type not supported`);
  if (depth >= settings.encodeMaxDepth) raise(L, `Cannot serialise, excessive nesting (${depth + 1})`);
  lauxlib.luaL_checkstack(L, 4, null);
  const length = jsonArrayLength(L);
  if (length >= 0 && !(length === 0 && hasAnyKey(L))) {
    if (length === 0) return pushAscii(out, '{}');
    out.push(0x5b);
    for (let index = 1; index <= length; index++) {
      if (index > 1) out.push(0x2c);
      lua.lua_rawgeti(L, -1, index);
      jsonEncodeValue(L, settings, out, depth + 1);
      lua.lua_pop(L, 1);
    }
    out.push(0x5d);
    return;
  }
  out.push(0x7b);
  let first = true;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, -2) !== 0) {
    if (!first) out.push(0x2c);
    first = false;
    const keyType = lua.lua_type(L, -2);
    if (keyType === lua.LUA_TSTRING) jsonEscape(lua.lua_tolstring(L, -2), out);
    else if (keyType === lua.LUA_TNUMBER) {
      out.push(QUOTE);
      pushAscii(out, formatG(lua.lua_tonumber(L, -2), 14));
      out.push(QUOTE);
    } else raise(L, 'Cannot serialise table: table key must be a number or string');
    out.push(0x3a);
    jsonEncodeValue(L, settings, out, depth + 1);
    lua.lua_pop(L, 1);
  }
  out.push(0x7d);
}

function hasAnyKey(L: LuaState): boolean {
  lua.lua_pushnil(L);
  if (lua.lua_next(L, -2) === 0) return false;
  lua.lua_pop(L, 2);
  return true;
}

const utf8 = new TextDecoder('utf-8');

function jsonDepth(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  let deepest = 0;
  for (const child of Object.values(value as object)) deepest = Math.max(deepest, jsonDepth(child));
  return deepest + 1;
}

function pushJson(L: LuaState, value: unknown): void {
  lauxlib.luaL_checkstack(L, 3, null);
  if (value === null) lua.lua_pushlightuserdata(L, JSON_NULL);
  else if (typeof value === 'string') pushBytes(L, Buffer.from(value, 'utf8'));
  else if (typeof value === 'number') lua.lua_pushnumber(L, value);
  else if (typeof value === 'boolean') lua.lua_pushboolean(L, value);
  else if (Array.isArray(value)) {
    lua.lua_createtable(L, value.length, 0);
    for (let index = 0; index < value.length; index++) {
      pushJson(L, value[index]);
      lua.lua_rawseti(L, -2, index + 1);
    }
  } else {
    lua.lua_newtable(L);
    for (const [key, child] of Object.entries(value as object)) {
      pushBytes(L, Buffer.from(key, 'utf8'));
      pushJson(L, child);
      lua.lua_rawset(L, -3);
    }
  }
}

function openCjson(L: LuaState): void {
  const settings: JsonSettings = { encodeMaxDepth: 1000, decodeMaxDepth: 1000, encodeInvalidNumbers: false, decodeInvalidNumbers: true };
  lua.lua_newtable(L);
  setFunction(L, 'encode', (L) => {
    lauxlib.luaL_argcheck(L, lua.lua_gettop(L) === 1, 1, 'expected 1 argument');
    const out: number[] = [];
    jsonEncodeValue(L, settings, out, 0);
    pushBytes(L, Uint8Array.from(out));
    return 1;
  });
  setFunction(L, 'decode', (L) => {
    lauxlib.luaL_argcheck(L, lua.lua_gettop(L) === 1, 1, 'expected 1 argument');
    const text = utf8.decode(lauxlib.luaL_checklstring(L, 1));
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      raise(L, `Expected value but found invalid token: ${(error as Error).message}`);
    }
    if (jsonDepth(value) > settings.decodeMaxDepth) raise(L, `Found too many nested data structures (${settings.decodeMaxDepth + 1})`);
    pushJson(L, value);
    return 1;
  });
  const setting = (name: string, apply: (L: LuaState) => void) =>
    setFunction(L, name, (L) => {
      if (!lua.lua_isnoneornil(L, 1)) apply(L);
      return 0;
    });
  setting('encode_max_depth', (L) => (settings.encodeMaxDepth = lauxlib.luaL_checkinteger(L, 1)));
  setting('decode_max_depth', (L) => (settings.decodeMaxDepth = lauxlib.luaL_checkinteger(L, 1)));
  setting('encode_invalid_numbers', (L) => (settings.encodeInvalidNumbers = lua.lua_toboolean(L, 1)));
  setting('decode_invalid_numbers', (L) => (settings.decodeInvalidNumbers = lua.lua_toboolean(L, 1)));
  setting('encode_keep_buffer', () => undefined);
  setting('encode_number_precision', () => undefined);
  setting('encode_sparse_array', () => undefined);
  lua.lua_pushlightuserdata(L, JSON_NULL);
  lua.lua_setfield(L, -2, fengari.to_luastring('null'));
  lua.lua_setglobal(L, fengari.to_luastring('cjson'));
}

// ---- cmsgpack ----

/** lua_cmsgpack.c LUACMSGPACK_MAX_NESTING: deeper tables encode as nil. */
const MSGPACK_NESTING_MAX = 16;

class ByteWriter {
  bytes = new Uint8Array(256);
  length = 0;
  private room(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + extra));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
  byte(value: number): void {
    this.room(1);
    this.bytes[this.length++] = value;
  }
  put(values: Uint8Array): void {
    this.room(values.length);
    this.bytes.set(values, this.length);
    this.length += values.length;
  }
  big(value: bigint, size: number): void {
    const view = new Uint8Array(size);
    for (let index = size - 1; index >= 0; index--) {
      view[index] = Number(value & 0xffn);
      value >>= 8n;
    }
    this.put(view);
  }
  uint(value: number, size: number): void {
    this.big(BigInt.asUintN(size * 8, BigInt(value)), size);
  }
}

function packInteger(out: ByteWriter, value: number): void {
  if (value >= 0) {
    if (value <= 127) out.byte(value);
    else if (value <= 0xff) (out.byte(0xcc), out.uint(value, 1));
    else if (value <= 0xffff) (out.byte(0xcd), out.uint(value, 2));
    else if (value <= 0xffffffff) (out.byte(0xce), out.uint(value, 4));
    else (out.byte(0xcf), out.big(BigInt(value), 8));
  } else if (value >= -32) out.byte(value & 0xff);
  else if (value >= -128) (out.byte(0xd0), out.uint(value, 1));
  else if (value >= -32768) (out.byte(0xd1), out.uint(value, 2));
  else if (value >= -2147483648) (out.byte(0xd2), out.uint(value, 4));
  else (out.byte(0xd3), out.big(BigInt.asUintN(64, BigInt(value)), 8));
}

function packLength(out: ByteWriter, length: number, small: number, smallMax: number, codes: readonly number[], sizes: readonly number[]): void {
  if (length <= smallMax) return out.byte(small | length);
  for (let index = 0; index < codes.length; index++) {
    if (index === codes.length - 1 || length < 2 ** (8 * sizes[index]!)) {
      out.byte(codes[index]!);
      return out.uint(length, sizes[index]!);
    }
  }
}

/** lua_cmsgpack's table_is_an_array: keys exactly 1..n. */
function msgpackArrayLength(L: LuaState): number {
  let count = 0;
  let max = 0;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, -2) !== 0) {
    lua.lua_pop(L, 1);
    const key = lua.lua_type(L, -1) === lua.LUA_TNUMBER ? lua.lua_tonumber(L, -1) : 0;
    if (!Number.isInteger(key) || key < 1) {
      lua.lua_pop(L, 1);
      return -1;
    }
    count++;
    max = Math.max(max, key);
  }
  return max === count ? count : -1;
}

function msgpackEncode(L: LuaState, out: ByteWriter, level: number): void {
  const type = lua.lua_type(L, -1);
  if (type === lua.LUA_TSTRING) {
    const bytes: Uint8Array = lua.lua_tolstring(L, -1);
    if (bytes.length < 32) out.byte(0xa0 | bytes.length);
    else packLength(out, bytes.length, 0, -1, [0xd9, 0xda, 0xdb], [1, 2, 4]);
    return out.put(bytes);
  }
  if (type === lua.LUA_TBOOLEAN) return out.byte(lua.lua_toboolean(L, -1) ? 0xc3 : 0xc2);
  if (type === lua.LUA_TNUMBER) {
    const value = lua.lua_tonumber(L, -1);
    if (Number.isInteger(value) && Math.abs(value) < 2 ** 63) return packInteger(out, value);
    const view = new DataView(new ArrayBuffer(8));
    if (Math.fround(value) === value || Number.isNaN(value)) {
      view.setFloat32(0, value);
      out.byte(0xca);
      return out.put(new Uint8Array(view.buffer, 0, 4));
    }
    view.setFloat64(0, value);
    out.byte(0xcb);
    return out.put(new Uint8Array(view.buffer));
  }
  if (type !== lua.LUA_TTABLE || level >= MSGPACK_NESTING_MAX) return out.byte(0xc0);
  lauxlib.luaL_checkstack(L, 4, null);
  const length = msgpackArrayLength(L);
  if (length >= 0) {
    packLength(out, length, 0x90, 15, [0xdc, 0xdd], [2, 4]);
    for (let index = 1; index <= length; index++) {
      lua.lua_rawgeti(L, -1, index);
      msgpackEncode(L, out, level + 1);
      lua.lua_pop(L, 1);
    }
    return;
  }
  let pairs = 0;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, -2) !== 0) (lua.lua_pop(L, 1), pairs++);
  packLength(out, pairs, 0x80, 15, [0xde, 0xdf], [2, 4]);
  lua.lua_pushnil(L);
  while (lua.lua_next(L, -2) !== 0) {
    lua.lua_pushvalue(L, -2);
    msgpackEncode(L, out, level + 1);
    lua.lua_pop(L, 1);
    msgpackEncode(L, out, level + 1);
    lua.lua_pop(L, 1);
  }
}

/** Decode one value at offset, pushing it; the offset after it. Throws RangeError on truncated or bad input. */
function msgpackDecode(L: LuaState, bytes: Uint8Array, offset: number): number {
  lauxlib.luaL_checkstack(L, 3, null);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (count: number) => {
    if (offset + count > bytes.length) throw new RangeError('Missing bytes in input.');
  };
  need(1);
  const code = bytes[offset++]!;
  const bytesOf = (length: number) => {
    need(length);
    pushBytes(L, bytes.slice(offset, offset + length));
    return offset + length;
  };
  const array = (count: number) => {
    lua.lua_createtable(L, count, 0);
    for (let index = 1; index <= count; index++) {
      offset = msgpackDecode(L, bytes, offset);
      lua.lua_rawseti(L, -2, index);
    }
    return offset;
  };
  const map = (count: number) => {
    lua.lua_createtable(L, 0, count);
    for (let index = 0; index < count; index++) {
      offset = msgpackDecode(L, bytes, offset);
      offset = msgpackDecode(L, bytes, offset);
      lua.lua_settable(L, -3);
    }
    return offset;
  };
  const read = (size: number, signed: boolean): number => {
    need(size);
    let value: number;
    if (size === 1) value = signed ? view.getInt8(offset) : view.getUint8(offset);
    else if (size === 2) value = signed ? view.getInt16(offset) : view.getUint16(offset);
    else if (size === 4) value = signed ? view.getInt32(offset) : view.getUint32(offset);
    else value = Number(signed ? view.getBigInt64(offset) : view.getBigUint64(offset));
    offset += size;
    return value;
  };
  if (code <= 0x7f) return (lua.lua_pushnumber(L, code), offset);
  if (code >= 0xe0) return (lua.lua_pushnumber(L, code - 256), offset);
  if ((code & 0xe0) === 0xa0) return bytesOf(code & 0x1f);
  if ((code & 0xf0) === 0x90) return array(code & 0x0f);
  if ((code & 0xf0) === 0x80) return map(code & 0x0f);
  switch (code) {
    case 0xc0:
      lua.lua_pushnil(L);
      return offset;
    case 0xc2:
    case 0xc3:
      lua.lua_pushboolean(L, code === 0xc3);
      return offset;
    case 0xca:
      need(4);
      lua.lua_pushnumber(L, view.getFloat32(offset));
      return offset + 4;
    case 0xcb:
      need(8);
      lua.lua_pushnumber(L, view.getFloat64(offset));
      return offset + 8;
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
      lua.lua_pushnumber(L, read(1 << (code - 0xcc), false));
      return offset;
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
      lua.lua_pushnumber(L, read(1 << (code - 0xd0), true));
      return offset;
    case 0xc4:
    case 0xd9:
      return bytesOf(read(1, false));
    case 0xc5:
    case 0xda:
      return bytesOf(read(2, false));
    case 0xc6:
    case 0xdb:
      return bytesOf(read(4, false));
    case 0xdc:
      return array(read(2, false));
    case 0xdd:
      return array(read(4, false));
    case 0xde:
      return map(read(2, false));
    case 0xdf:
      return map(read(4, false));
    default:
      throw new RangeError('Bad data format in input.');
  }
}

/** Unpack up to `limit` values (0: all) from offset; pushes [next offset or -1 when done,] values. */
function msgpackUnpack(L: LuaState, limit: number, offset: number, withOffset: boolean): number {
  const bytes: Uint8Array = lauxlib.luaL_checklstring(L, 1);
  if (offset < 0 || offset > bytes.length) raise(L, 'Start offset greater than input length');
  if (withOffset) lua.lua_pushnil(L); // placeholder for the offset
  const base = lua.lua_gettop(L);
  let count = 0;
  try {
    while (offset < bytes.length && (limit === 0 || count < limit)) {
      offset = msgpackDecode(L, bytes, offset);
      count++;
    }
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    lua.lua_settop(L, base);
    raise(L, error.message);
  }
  if (withOffset) {
    lua.lua_pushnumber(L, offset >= bytes.length ? -1 : offset);
    lua.lua_replace(L, base);
    return count + 1;
  }
  return count;
}

function openCmsgpack(L: LuaState): void {
  lua.lua_newtable(L);
  setFunction(L, 'pack', (L) => {
    const count = lua.lua_gettop(L);
    if (count === 0) raise(L, 'MessagePack pack needs input.');
    const out = new ByteWriter();
    for (let index = 1; index <= count; index++) {
      lua.lua_pushvalue(L, index);
      msgpackEncode(L, out, 0);
      lua.lua_pop(L, 1);
    }
    pushBytes(L, out.bytes.slice(0, out.length));
    return 1;
  });
  setFunction(L, 'unpack', (L) => msgpackUnpack(L, 0, 0, false));
  setFunction(L, 'unpack_one', (L) => msgpackUnpack(L, 1, lauxlib.luaL_optinteger(L, 2, 0), true));
  setFunction(L, 'unpack_limit', (L) => msgpackUnpack(L, lauxlib.luaL_checkinteger(L, 2), lauxlib.luaL_optinteger(L, 3, 0), true));
  lua.lua_setglobal(L, fengari.to_luastring('cmsgpack'));
}

// ---- struct ----

interface StructItem {
  readonly code: string;
  /** Byte size (c: fixed length, 0 = from the data; s: 0). */
  readonly size: number;
}

/** Parse a struct format (Roberto Ierusalimschy's struct library): items and byte order. */
function parseStructFormat(L: LuaState, format: string): { items: StructItem[]; little: boolean[] } {
  const items: StructItem[] = [];
  const little: boolean[] = [];
  let littleEndian = true;
  for (let index = 0; index < format.length; index++) {
    const code = format[index]!;
    let digits = '';
    while (index + 1 < format.length && /[0-9]/.test(format[index + 1]!)) digits += format[++index];
    const count = digits === '' ? undefined : Number(digits);
    switch (code) {
      case ' ':
        continue;
      case '<':
        littleEndian = true;
        continue;
      case '>':
        littleEndian = false;
        continue;
      case '!':
        continue; // alignment: every item is packed, as with the default maximum alignment of 1
      case 'x':
      case 'b':
      case 'B':
        items.push({ code, size: 1 });
        break;
      case 'h':
      case 'H':
        items.push({ code, size: 2 });
        break;
      case 'l':
      case 'L':
      case 'T':
        items.push({ code, size: 8 });
        break;
      case 'i':
      case 'I': {
        const size = count ?? 4;
        if (size < 1 || size > 8) raise(L, `integral size ${size} is larger than limit of 8`);
        items.push({ code, size });
        break;
      }
      case 'f':
        items.push({ code, size: 4 });
        break;
      case 'd':
        items.push({ code, size: 8 });
        break;
      case 'c':
        items.push({ code, size: count ?? 1 });
        break;
      case 's':
        items.push({ code, size: 0 });
        break;
      default:
        raise(L, `invalid format option '${code}'`);
    }
    little.push(littleEndian);
  }
  return { items, little };
}

function openStruct(L: LuaState): void {
  lua.lua_newtable(L);
  setFunction(L, 'pack', (L) => {
    const { items, little } = parseStructFormat(L, Buffer.from(lauxlib.luaL_checklstring(L, 1)).toString('latin1'));
    const out = new ByteWriter();
    let arg = 2;
    items.forEach((item, index) => {
      if (item.code === 'x') return out.byte(0);
      if (item.code === 'c' || item.code === 's') {
        const bytes: Uint8Array = lauxlib.luaL_checklstring(L, arg++);
        if (item.code === 's') return (out.put(bytes), out.byte(0));
        const size = item.size === 0 ? bytes.length : item.size;
        if (bytes.length < size) raise(L, 'string too short');
        return out.put(bytes.subarray(0, size));
      }
      const value = lauxlib.luaL_checknumber(L, arg++);
      const view = new DataView(new ArrayBuffer(8));
      if (item.code === 'f') view.setFloat32(0, value, little[index]);
      else if (item.code === 'd') view.setFloat64(0, value, little[index]);
      if (item.code === 'f' || item.code === 'd') return out.put(new Uint8Array(view.buffer, 0, item.size));
      let integer = BigInt.asUintN(item.size * 8, BigInt(Math.trunc(value)));
      const bytes = new Uint8Array(item.size);
      for (let byte = 0; byte < item.size; byte++) {
        bytes[little[index] ? byte : item.size - 1 - byte] = Number(integer & 0xffn);
        integer >>= 8n;
      }
      out.put(bytes);
    });
    pushBytes(L, out.bytes.slice(0, out.length));
    return 1;
  });
  setFunction(L, 'unpack', (L) => {
    const { items, little } = parseStructFormat(L, Buffer.from(lauxlib.luaL_checklstring(L, 1)).toString('latin1'));
    const data: Uint8Array = lauxlib.luaL_checklstring(L, 2);
    let offset = lauxlib.luaL_optinteger(L, 3, 1) - 1;
    let results = 0;
    let previous = 0;
    const need = (size: number) => {
      if (offset + size > data.length) raise(L, 'data string too short');
    };
    items.forEach((item, index) => {
      lauxlib.luaL_checkstack(L, 2, 'too many results');
      if (item.code === 'x') return void (offset += 1);
      if (item.code === 's') {
        let end = offset;
        while (end < data.length && data[end] !== 0) end++;
        if (end >= data.length) raise(L, 'unfinished string in data');
        pushBytes(L, data.slice(offset, end));
        offset = end + 1;
        return void results++;
      }
      if (item.code === 'c') {
        const size = item.size === 0 ? previous : item.size;
        need(size);
        pushBytes(L, data.slice(offset, offset + size));
        offset += size;
        return void results++;
      }
      need(item.size);
      const view = new DataView(data.buffer, data.byteOffset + offset, item.size);
      let value: number;
      if (item.code === 'f') value = view.getFloat32(0, little[index]);
      else if (item.code === 'd') value = view.getFloat64(0, little[index]);
      else {
        let integer = 0n;
        for (let byte = 0; byte < item.size; byte++) integer = (integer << 8n) | BigInt(data[offset + (little[index] ? item.size - 1 - byte : byte)]!);
        const signed = item.code === 'b' || item.code === 'h' || item.code === 'l' || item.code === 'i';
        value = Number(signed ? BigInt.asIntN(item.size * 8, integer) : integer);
      }
      previous = value;
      offset += item.size;
      lua.lua_pushnumber(L, value);
      results++;
    });
    lua.lua_pushnumber(L, offset + 1);
    return results + 1;
  });
  setFunction(L, 'size', (L) => {
    const { items } = parseStructFormat(L, Buffer.from(lauxlib.luaL_checklstring(L, 1)).toString('latin1'));
    if (items.some((item) => item.code === 's' || (item.code === 'c' && item.size === 0))) raise(L, 'options \'c0\' - \'s\' have undefined sizes');
    lua.lua_pushnumber(L, items.reduce((total, item) => total + item.size, 0));
    return 1;
  });
  lua.lua_setglobal(L, fengari.to_luastring('struct'));
}

/** Open bit, cjson, cmsgpack and struct as globals of the state. */
export function openRedisLibraries(L: LuaState): void {
  openBit(L);
  openCjson(L);
  openCmsgpack(L);
  openStruct(L);
}

// `peerkv get` on a key that is not a string: reads the whole value with the type's own
// command (HGETALL, SMEMBERS, ZRANGE 0 -1 WITHSCORES, LRANGE 0 -1) and prints it for people
// (hash: one `field  value` line per field, set: members sorted, sorted set: `member  score`
// lines by score, list: one element per line in order) or as one JSON document for scripts.
import type { RespReply } from '../wire/resp-reply-parser.js';

export type TypedValue =
  | { readonly type: 'hash'; readonly entries: readonly (readonly [Uint8Array, Uint8Array])[] }
  | { readonly type: 'set'; readonly members: readonly Uint8Array[] }
  | { readonly type: 'zset'; readonly entries: readonly (readonly [Uint8Array, string])[] }
  | { readonly type: 'list'; readonly items: readonly Uint8Array[] };

/** The command that reads a whole value of `type`, or undefined for a type `get` cannot print. */
export function readCommand(type: string, key: string): string[] | undefined {
  switch (type) {
    case 'hash':
      return ['HGETALL', key];
    case 'set':
      return ['SMEMBERS', key];
    case 'zset':
      return ['ZRANGE', key, '0', '-1', 'WITHSCORES'];
    case 'list':
      return ['LRANGE', key, '0', '-1'];
    default:
      return undefined;
  }
}

function compareBytes(left: Uint8Array, right: Uint8Array): number {
  return Buffer.compare(left, right);
}

/** The bulk strings of an array (or RESP3 set/map flattened) reply; undefined when it is not one. */
function bulks(reply: RespReply): Uint8Array[] | undefined {
  let items: readonly RespReply[];
  if (reply.type === 'array' || reply.type === 'set') items = reply.value;
  else if (reply.type === 'map') items = reply.value.flat();
  else return undefined;
  const out: Uint8Array[] = [];
  for (const item of items) {
    if (item.type === 'bulk' || item.type === 'verbatim') out.push(item.value);
    else if (item.type === 'double') out.push(Buffer.from(String(item.value)));
    else if (item.type === 'array') {
      const nested = bulks(item);
      if (nested === undefined) return undefined;
      out.push(...nested);
    } else return undefined;
  }
  return out;
}

function pairs(items: readonly Uint8Array[]): [Uint8Array, Uint8Array][] {
  const out: [Uint8Array, Uint8Array][] = [];
  for (let index = 0; index + 1 < items.length; index += 2) out.push([items[index]!, items[index + 1]!]);
  return out;
}

/** The value from the reply of readCommand(type); undefined when the reply has another shape. */
export function parseTypedValue(type: string, reply: RespReply): TypedValue | undefined {
  const items = bulks(reply);
  if (items === undefined) return undefined;
  switch (type) {
    case 'hash':
      return { type, entries: pairs(items).sort(([left], [right]) => compareBytes(left, right)) };
    case 'set':
      return { type, members: [...items].sort(compareBytes) };
    case 'zset':
      return { type, entries: pairs(items).map(([member, score]) => [member, Buffer.from(score).toString('latin1')] as const) };
    case 'list':
      return { type, items };
    default:
      return undefined;
  }
}

/** Lines of `left  right` with the left column padded to its widest entry (bytes written as stored). */
function columns(rows: readonly (readonly [Uint8Array, Uint8Array])[]): Buffer {
  const width = Math.max(0, ...rows.map(([left]) => Buffer.from(left).toString('utf8').length));
  const parts: Buffer[] = [];
  for (const [left, right] of rows) {
    const pad = width - Buffer.from(left).toString('utf8').length + 2;
    parts.push(Buffer.from(left), Buffer.from(' '.repeat(pad)), Buffer.from(right), Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

function lines(items: readonly Uint8Array[]): Buffer {
  return Buffer.concat(items.flatMap((item) => [Buffer.from(item), Buffer.from('\n')]));
}

/** The value as people read it. */
export function formatTypedValue(value: TypedValue): Buffer {
  switch (value.type) {
    case 'hash':
      return columns(value.entries);
    case 'set':
      return lines(value.members);
    case 'zset':
      return columns(value.entries.map(([member, score]) => [member, Buffer.from(score)] as const));
    case 'list':
      return lines(value.items);
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** An element in JSON: its text when valid UTF-8, else { base64 }. */
function jsonElement(bytes: Uint8Array): string | { base64: string } {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return { base64: Buffer.from(bytes).toString('base64') };
  }
}

/** A JSON number for a score, or its text for inf/-inf (JSON has no infinities). */
function jsonScore(text: string): number | string {
  const value = Number(text);
  return Number.isFinite(value) ? value : text;
}

/**
 * The value for --json: { key, type, value } where a hash is an object (a field that is not
 * UTF-8 is named "base64:..."), a set a sorted array, a sorted set an array of
 * { member, score } by score, a list an array in order.
 */
export function jsonTypedValue(key: string, value: TypedValue): unknown {
  switch (value.type) {
    case 'hash': {
      const object: Record<string, unknown> = {};
      for (const [field, fieldValue] of value.entries) {
        const name = jsonElement(field);
        object[typeof name === 'string' ? name : `base64:${name.base64}`] = jsonElement(fieldValue);
      }
      return { key, type: value.type, value: object };
    }
    case 'set':
      return { key, type: value.type, value: value.members.map(jsonElement) };
    case 'zset':
      return { key, type: value.type, value: value.entries.map(([member, score]) => ({ member: jsonElement(member), score: jsonScore(score) })) };
    case 'list':
      return { key, type: value.type, value: value.items.map(jsonElement) };
  }
}

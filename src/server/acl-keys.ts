// Which arguments of a command are keys (and whether each is read, written or only looked
// at), and which are pub/sub channels: what ACL key and channel patterns are checked
// against. Most commands name their keys by position (firstKey/lastKey/keyStep of the
// table); those with keys elsewhere (a numkeys count, XREAD's STREAMS, SORT's STORE) have a
// function here, as Redis's getKeysFromCommand has. Access follows Redis's key specs:
// ACCESS (the value is returned or used) needs read permission, INSERT/DELETE/UPDATE write
// permission; a key only checked for existence or size (EXISTS, TYPE, LLEN) needs neither.
import type { Buffer } from 'node:buffer';
import { argIs } from './common.js';
import type { CommandSpec } from './command-spec.js';

export const KeyAccess = { None: 0, Read: 1, Write: 2, ReadWrite: 3 } as const;

/** One key argument: its index in args and the access it needs (KeyAccess bits). */
export interface KeyReference {
  readonly index: number;
  readonly access: number;
}

const { None: N, Read: R, Write: W, ReadWrite: RW } = KeyAccess;

/**
 * Access of the key arguments, by ordinal (the last one repeats), where it is not what the
 * command's flags say (readonly: read; write: write).
 */
const KEY_ACCESS: Readonly<Record<string, readonly number[]>> = {
  exists: [N], touch: [N], type: [N], hexists: [N], hlen: [N], hstrlen: [N], llen: [N], scard: [N], sismember: [N], strlen: [N],
  xlen: [N], zcard: [N], watch: [N],
  incr: [RW], decr: [RW], incrby: [RW], decrby: [RW], incrbyfloat: [RW], getdel: [RW], getex: [RW], getset: [RW], setbit: [RW],
  hincrby: [RW], hincrbyfloat: [RW], lpop: [RW], rpop: [RW], spop: [RW], zincrby: [RW], zpopmin: [RW], zpopmax: [RW],
  blpop: [RW], brpop: [RW], bzpopmin: [RW], bzpopmax: [RW], lmpop: [RW], blmpop: [RW], zmpop: [RW], bzmpop: [RW],
  lmove: [RW, W], blmove: [RW, W], rpoplpush: [RW, W], brpoplpush: [RW, W], rename: [RW, W], renamenx: [RW, W], smove: [RW, W],
  copy: [R, W], sort: [R, W], xreadgroup: [R],
  sinterstore: [W, R], sunionstore: [W, R], sdiffstore: [W, R], zunionstore: [W, R], zinterstore: [W, R], zdiffstore: [W, R], zrangestore: [W, R],
  eval: [RW], evalsha: [RW], fcall: [RW], eval_ro: [R], evalsha_ro: [R], fcall_ro: [R],
};

/** Keys follow a count at this index (EVAL numkeys key...; ZUNION numkeys key...). */
const NUMKEYS_AT: Readonly<Record<string, number>> = {
  eval: 2, evalsha: 2, eval_ro: 2, evalsha_ro: 2, fcall: 2, fcall_ro: 2, blmpop: 2, bzmpop: 2,
  sintercard: 1, zintercard: 1, zunion: 1, zinter: 1, zdiff: 1, lmpop: 1, zmpop: 1,
};
/** A destination key at 1, then a count at 2 and that many source keys. */
const STORE_NUMKEYS = new Set(['zunionstore', 'zinterstore', 'zdiffstore']);

function numberAt(args: readonly Buffer[], index: number): number {
  const text = args[index]?.toString('latin1') ?? '';
  return /^\d{1,9}$/.test(text) ? Number(text) : 0;
}

function indexesOf(spec: CommandSpec<never>, args: readonly Buffer[]): number[] {
  const name = spec.name;
  const numkeysAt = NUMKEYS_AT[name];
  const range = (from: number, count: number): number[] => {
    const indexes: number[] = [];
    for (let index = from; index < from + count && index < args.length; index++) indexes.push(index);
    return indexes;
  };
  if (numkeysAt !== undefined) return range(numkeysAt + 1, numberAt(args, numkeysAt));
  if (STORE_NUMKEYS.has(name)) return [1, ...range(3, numberAt(args, 2))];
  if (name === 'xread' || name === 'xreadgroup') {
    const streams = args.findIndex((arg, index) => index > 0 && argIs(arg, 'streams'));
    if (streams < 0) return [];
    return range(streams + 1, Math.floor((args.length - streams - 1) / 2));
  }
  if (name === 'sort') {
    const store = args.findIndex((arg, index) => index > 1 && argIs(arg, 'store'));
    return store > 0 && store + 1 < args.length ? [1, store + 1] : [1];
  }
  if (spec.firstKey <= 0) return [];
  const last = spec.lastKey < 0 ? args.length + spec.lastKey : spec.lastKey;
  const indexes: number[] = [];
  for (let index = spec.firstKey; index <= last && index < args.length; index += Math.max(1, spec.keyStep)) indexes.push(index);
  return indexes;
}

/** The key arguments of a command call and the access each needs. */
export function commandKeys(spec: CommandSpec<never>, args: readonly Buffer[]): KeyReference[] {
  const indexes = indexesOf(spec, args);
  if (indexes.length === 0) return [];
  let accesses = KEY_ACCESS[spec.name];
  // SET reads its key only with GET (Redis's setGetKeys).
  if (spec.name === 'set') accesses = args.some((arg, index) => index > 2 && argIs(arg, 'get')) ? [RW] : [W];
  const byFlags = (spec.flags & 4) !== 0 ? W : R; // CommandFlag.Write
  return indexes.map((index, ordinal) => ({ index, access: accesses === undefined ? byFlags : accesses[Math.min(ordinal, accesses.length - 1)]! }));
}

/** One channel argument: its index, and whether it is a pattern (PSUBSCRIBE: matched literally). */
export interface ChannelReference {
  readonly index: number;
  readonly pattern: boolean;
}

/** Channels a command publishes to or subscribes to (UNSUBSCRIBE is never refused, as in Redis). */
export function commandChannels(spec: CommandSpec<never>, args: readonly Buffer[]): ChannelReference[] {
  switch (spec.name) {
    case 'publish':
      return [{ index: 1, pattern: false }];
    case 'subscribe':
    case 'psubscribe': {
      const channels: ChannelReference[] = [];
      for (let index = 1; index < args.length; index++) channels.push({ index, pattern: spec.name === 'psubscribe' });
      return channels;
    }
    default:
      return [];
  }
}

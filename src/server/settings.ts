// The parameters CONFIG SET may change while the node runs, with Redis 7.0's names,
// aliases, defaults and validation. Everything else is fixed at start (peerkv start
// options) and CONFIG SET says so. Settings are per node, as in Redis.

/** How a parameter's text is checked and normalised. */
type Kind =
  | { readonly kind: 'integer'; readonly min: number; readonly max: number }
  | { readonly kind: 'memory' }
  | { readonly kind: 'enum'; readonly values: readonly string[]; readonly supported: readonly string[]; readonly why: string }
  | { readonly kind: 'keyspace-events' }
  | { readonly kind: 'no-snapshots' };

interface Parameter {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly initial: string;
  readonly type: Kind;
}

const INT32_MAX = 2 ** 31 - 1;
const integer = (min: number, max: number): Kind => ({ kind: 'integer', min, max });

/**
 * Encoding thresholds change what OBJECT ENCODING answers (peerkv stores rows either way);
 * notify-keyspace-events selects the notifications sent. Defaults are Redis 7.0's, but
 * notifications are on (KEA) as peerkv always sent them.
 */
const PARAMETERS: readonly Parameter[] = [
  { name: 'hash-max-listpack-entries', aliases: ['hash-max-ziplist-entries'], initial: '128', type: integer(0, INT32_MAX) },
  { name: 'hash-max-listpack-value', aliases: ['hash-max-ziplist-value'], initial: '64', type: integer(0, INT32_MAX) },
  { name: 'set-max-intset-entries', aliases: [], initial: '512', type: integer(0, INT32_MAX) },
  { name: 'set-max-listpack-entries', aliases: [], initial: '128', type: integer(0, INT32_MAX) },
  { name: 'set-max-listpack-value', aliases: [], initial: '64', type: integer(0, INT32_MAX) },
  { name: 'zset-max-listpack-entries', aliases: ['zset-max-ziplist-entries'], initial: '128', type: integer(0, INT32_MAX) },
  { name: 'zset-max-listpack-value', aliases: ['zset-max-ziplist-value'], initial: '64', type: integer(0, INT32_MAX) },
  { name: 'list-max-listpack-size', aliases: ['list-max-ziplist-size'], initial: '-2', type: integer(-5, INT32_MAX) },
  // Entries per stream node: the unit approximate (~) trimming removes (streams.ts).
  { name: 'stream-node-max-entries', aliases: [], initial: '100', type: integer(0, Number.MAX_SAFE_INTEGER) },
  { name: 'stream-node-max-bytes', aliases: [], initial: '4096', type: integer(0, Number.MAX_SAFE_INTEGER) },
  { name: 'list-compress-depth', aliases: [], initial: '0', type: integer(0, INT32_MAX) },
  // Bytes a sparse HyperLogLog may reach before it is stored dense (hyperloglog.ts).
  { name: 'hll-sparse-max-bytes', aliases: [], initial: '3000', type: integer(0, INT32_MAX) },
  // Milliseconds a script runs before other clients get BUSY and SCRIPT KILL is served.
  { name: 'busy-reply-threshold', aliases: ['lua-time-limit'], initial: '5000', type: integer(0, INT32_MAX) },
  // Entries ACL LOG keeps (acl-log.ts).
  { name: 'acllog-max-len', aliases: [], initial: '128', type: integer(0, INT32_MAX) },
  { name: 'notify-keyspace-events', aliases: [], initial: 'AKE', type: { kind: 'keyspace-events' } },
  // RDB snapshot points: peerkv keeps none (every write is committed to LMDB), so the one
  // value it takes is "" (no snapshots), which clients set to turn snapshots off.
  { name: 'save', aliases: [], initial: '', type: { kind: 'no-snapshots' } },
  // Bytes (Redis's units: 1k = 1000, 1kb = 1024 ...); 0 = no limit. Checked against INFO
  // used_memory (admission.ts) by deny-oom commands.
  { name: 'maxmemory', aliases: [], initial: '0', type: { kind: 'memory' } },
  // Redis's policies are all valid names, but peerkv evicts nothing: an eviction on one
  // node would be a delete replicated to every node (README "maxmemory").
  {
    name: 'maxmemory-policy',
    aliases: [],
    initial: 'noeviction',
    type: {
      kind: 'enum',
      values: ['volatile-lru', 'volatile-lfu', 'volatile-random', 'volatile-ttl', 'allkeys-lru', 'allkeys-lfu', 'allkeys-random', 'noeviction'],
      supported: ['noeviction'],
      why: 'peerkv evicts no keys (an eviction would delete the key on every node): only noeviction is supported',
    },
  },
  // Writes need this many other nodes linked and heard from within min-replicas-max-lag
  // seconds (0 = off; admission.ts), as Redis counts good replicas.
  { name: 'min-replicas-to-write', aliases: ['min-slaves-to-write'], initial: '0', type: integer(0, INT32_MAX) },
  { name: 'min-replicas-max-lag', aliases: ['min-slaves-max-lag'], initial: '10', type: integer(0, INT32_MAX) },
];

const BY_NAME = new Map<string, Parameter>();
for (const parameter of PARAMETERS) for (const name of [parameter.name, ...parameter.aliases]) BY_NAME.set(name, parameter);

/** Event classes of notify-keyspace-events, in Redis's order; A stands for all of them. */
const ALL_CLASSES = 'g$lshzxetd';

/** Parse notify-keyspace-events flags into Redis's canonical text, or undefined when invalid. */
function canonicalEventFlags(text: string): string | undefined {
  const flags = new Set<string>();
  for (const letter of text) {
    if (letter === 'A') for (const each of ALL_CLASSES) flags.add(each);
    else if ('KEmn'.includes(letter) || ALL_CLASSES.includes(letter)) flags.add(letter);
    else return undefined;
  }
  let canonical = [...ALL_CLASSES].every((letter) => flags.has(letter)) ? 'A' : [...ALL_CLASSES].filter((letter) => flags.has(letter)).join('');
  for (const letter of 'KEmn') if (flags.has(letter)) canonical += letter;
  return canonical;
}

export class ServerSettings {
  private readonly values = new Map<string, string>();

  constructor() {
    for (const parameter of PARAMETERS) this.values.set(parameter.name, this.normalise(parameter, parameter.initial)!);
  }

  /** Every parameter and alias with its value (CONFIG GET). */
  view(): Record<string, string> {
    const view: Record<string, string> = {};
    for (const parameter of PARAMETERS) for (const name of [parameter.name, ...parameter.aliases]) view[name] = this.values.get(parameter.name)!;
    return view;
  }

  integer(name: string): number {
    return Number(this.values.get(name));
  }

  text(name: string): string {
    return this.values.get(name)!;
  }

  /** True if a parameter of this name (or alias) may be set at run time. */
  isSettable(name: string): boolean {
    return BY_NAME.has(name);
  }

  /**
   * CONFIG SET of name/value pairs, all or nothing: an error text (Redis's) for the first
   * that is unknown or invalid, else undefined after applying every pair.
   */
  set(pairs: readonly (readonly [string, string])[]): string | undefined {
    const updates = new Map<string, string>();
    for (const [name, value] of pairs) {
      const parameter = BY_NAME.get(name);
      if (parameter === undefined) return `ERR Unknown option or number of arguments for CONFIG SET - '${name}'`;
      if (updates.has(parameter.name)) return `ERR CONFIG SET failed (possibly related to argument '${name}') - duplicate parameter`;
      const normalised = this.normalise(parameter, value);
      if (normalised === undefined) return `ERR CONFIG SET failed (possibly related to argument '${name}') - ${this.invalidReason(parameter, value)}`;
      updates.set(parameter.name, normalised);
    }
    for (const [name, value] of updates) this.values.set(name, value);
    return undefined;
  }

  private normalise(parameter: Parameter, value: string): string | undefined {
    if (parameter.type.kind === 'keyspace-events') return canonicalEventFlags(value);
    if (parameter.type.kind === 'memory') return parseMemory(value)?.toString();
    if (parameter.type.kind === 'enum') {
      const lower = value.toLowerCase();
      return parameter.type.supported.includes(lower) ? lower : undefined;
    }
    if (parameter.type.kind === 'no-snapshots') return value.trim() === '' ? '' : undefined;
    if (!/^-?\d+$/.test(value)) return undefined;
    const number = Number(value);
    return number >= parameter.type.min && number <= parameter.type.max ? String(number) : undefined;
  }

  private invalidReason(parameter: Parameter, value: string): string {
    if (parameter.type.kind === 'keyspace-events') return "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";
    if (parameter.type.kind === 'no-snapshots') return 'peerkv keeps no RDB snapshots (every write is committed to LMDB): only "" (none) is accepted';
    if (parameter.type.kind === 'memory') return 'argument must be a memory value';
    if (parameter.type.kind === 'enum') {
      return parameter.type.values.includes(value.toLowerCase()) ? parameter.type.why : `argument(s) must be one of the following: ${parameter.type.values.join(', ')}`;
    }
    if (!/^-?\d+$/.test(value)) return "argument couldn't be parsed into an integer";
    return `argument must be between ${parameter.type.min} and ${parameter.type.max} inclusive`;
  }
}

/** Multipliers of Redis's memory units (memtoull): k is 1000, kb 1024, and so on. */
const MEMORY_UNITS: Readonly<Record<string, bigint>> = {
  '': 1n, b: 1n, k: 1000n, kb: 1024n, m: 1000n ** 2n, mb: 1024n ** 2n, g: 1000n ** 3n, gb: 1024n ** 3n,
};
const UINT64_MAX = 2n ** 64n - 1n;

/** A memory setting in bytes ("100mb", "1gb", "12345"), or undefined when Redis would refuse it. */
export function parseMemory(text: string): bigint | undefined {
  const match = /^(\d+)([a-z]*)$/i.exec(text);
  const unit = match === null ? undefined : MEMORY_UNITS[match[2]!.toLowerCase()];
  if (match === null || unit === undefined) return undefined;
  const bytes = BigInt(match[1]!) * unit;
  return bytes <= UINT64_MAX ? bytes : undefined;
}

/** The notify-keyspace-events class of a Redis event name. */
const EVENT_CLASS: Readonly<Record<string, string>> = {
  del: 'g', expire: 'g', persist: 'g', rename_from: 'g', rename_to: 'g', copy_to: 'g', restore: 'g',
  set: '$', setrange: '$', append: '$', incrby: '$', incrbyfloat: '$', decrby: '$',
  hset: 'h', hdel: 'h', hincrby: 'h', hincrbyfloat: 'h',
  lpush: 'l', rpush: 'l', lpop: 'l', rpop: 'l', linsert: 'l', lset: 'l', lrem: 'l', ltrim: 'l', lmove: 'l',
  sadd: 's', srem: 's', spop: 's', sinterstore: 's', sunionstore: 's', sdiffstore: 's', smove: 's',
  zadd: 'z', zincr: 'z', zrem: 'z', zremrangebyscore: 'z', zremrangebyrank: 'z', zremrangebylex: 'z', zpopmin: 'z', zpopmax: 'z',
  zunionstore: 'z', zinterstore: 'z', zdiffstore: 'z', zrangestore: 'z',
  expired: 'x', evicted: 'e', new: 'n',
  xadd: 't', xtrim: 't', xdel: 't', xsetid: 't', 'xgroup-create': 't', 'xgroup-createconsumer': 't', 'xgroup-delconsumer': 't', 'xgroup-destroy': 't', 'xgroup-setid': 't',
};

/** Which channels an event goes to under the flags: keyspace (K) and keyevent (E). */
export function notificationChannels(flags: string, event: string): { keyspace: boolean; keyevent: boolean } {
  const eventClass = EVENT_CLASS[event] ?? 'g';
  const selected = flags.includes(eventClass) || (flags.startsWith('A') && ALL_CLASSES.includes(eventClass));
  return { keyspace: selected && flags.includes('K'), keyevent: selected && flags.includes('E') };
}

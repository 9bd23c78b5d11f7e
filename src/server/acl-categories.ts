// ACL command categories (@read @write @string ... as Redis 7.0 names them), in ONE place:
// derived from each command's group and flags the way Redis derives its implicit ones
// (write -> @write, readonly -> @read, admin -> @admin @dangerous, fast or else @slow), plus
// the group's data-type category, plus a small table of exceptions where Redis's command
// files say more (KEYS is @dangerous, FLUSHALL @keyspace, the blocking commands @blocking).
// Container commands (CLIENT, CONFIG, ...) are @slow themselves; each subcommand gets its own
// categories from its container's group and its own flags (SUBCOMMANDS), as Redis's
// subcommand table does. ACL rules, ACL CAT and COMMAND INFO all read them from here.
import { CommandFlag, type CommandSpec } from './command-spec.js';

/** Redis 7.0's categories, in its order (ACL CAT, COMMAND INFO and rule descriptions use it). */
export const ACL_CATEGORIES = [
  'keyspace', 'read', 'write', 'set', 'sortedset', 'list', 'hash', 'string', 'bitmap', 'hyperloglog', 'geo', 'stream',
  'pubsub', 'admin', 'fast', 'slow', 'blocking', 'dangerous', 'connection', 'transaction', 'scripting',
] as const;
export type AclCategory = (typeof ACL_CATEGORIES)[number];

/** Bit of a category in a command's category mask; undefined for an unknown name. */
export function categoryBit(name: string): number | undefined {
  const index = (ACL_CATEGORIES as readonly string[]).indexOf(name.toLowerCase());
  return index < 0 ? undefined : 1 << index;
}

function mask(...names: AclCategory[]): number {
  let bits = 0;
  for (const name of names) bits |= categoryBit(name)!;
  return bits;
}

/** The data-type (or purpose) category each command group implies. */
const GROUP_CATEGORY: Readonly<Record<string, AclCategory | undefined>> = {
  string: 'string',
  hash: 'hash',
  list: 'list',
  set: 'set',
  sorted_set: 'sortedset',
  stream: 'stream',
  bitmap: 'bitmap',
  hyperloglog: 'hyperloglog',
  geo: 'geo',
  generic: 'keyspace',
  pubsub: 'pubsub',
  transactions: 'transaction',
  scripting: 'scripting',
  connection: 'connection',
  server: undefined,
};

/** Where Redis's command files say more (add) or less (remove) than the derivation. */
const EXCEPTIONS: Readonly<Record<string, { readonly add?: number; readonly remove?: number }>> = {
  keys: { add: mask('dangerous') },
  restore: { add: mask('dangerous') },
  flushall: { add: mask('keyspace', 'dangerous') },
  flushdb: { add: mask('keyspace', 'dangerous') },
  dbsize: { add: mask('keyspace') },
  info: { add: mask('dangerous') },
  time: { remove: mask('read') },
  wait: { add: mask('connection'), remove: mask('keyspace') },
  sort: { add: mask('set', 'sortedset', 'list', 'dangerous'), remove: mask('keyspace') },
  sort_ro: { add: mask('set', 'sortedset', 'list', 'dangerous'), remove: mask('keyspace') },
  command: { add: mask('connection') },
  append: { add: mask('fast'), remove: mask('slow') },
  xsetid: { add: mask('fast'), remove: mask('slow') },
  blpop: { add: mask('blocking') },
  brpop: { add: mask('blocking') },
  brpoplpush: { add: mask('blocking') },
  blmove: { add: mask('blocking') },
  blmpop: { add: mask('blocking') },
  bzpopmin: { add: mask('blocking', 'fast'), remove: mask('slow') },
  bzpopmax: { add: mask('blocking', 'fast'), remove: mask('slow') },
  bzmpop: { add: mask('blocking') },
  xread: { add: mask('blocking') },
  xreadgroup: { add: mask('blocking') },
};

const { Write: W, ReadOnly: R, Admin: A } = CommandFlag;

/**
 * Subcommands of container commands with their own flags (Redis's subcommand table): the
 * unit ACL rules name as `+config|get`. Their group is the container's.
 */
export const SUBCOMMANDS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  acl: { cat: 0, deluser: A, dryrun: A, genpass: 0, getuser: A, help: 0, list: A, load: A, log: A, save: A, setuser: A, users: A, whoami: 0 },
  client: {
    caching: 0, getname: 0, getredir: 0, help: 0, id: 0, info: 0, kill: A, list: A, 'no-evict': A, 'no-touch': 0, pause: A, reply: 0,
    setinfo: 0, setname: 0, tracking: 0, trackinginfo: 0, unblock: A, unpause: A,
  },
  command: { count: 0, docs: 0, getkeys: 0, getkeysandflags: 0, help: 0, info: 0, list: 0 },
  config: { get: A, help: 0, resetstat: A, rewrite: A, set: A },
  function: { delete: W, dump: 0, flush: W, help: 0, kill: 0, list: 0, load: W, restore: W, stats: 0 },
  memory: { doctor: 0, help: 0, 'malloc-stats': 0, purge: 0, stats: 0, usage: R },
  object: { encoding: R, freq: R, help: 0, idletime: R, refcount: R },
  pubsub: { channels: 0, help: 0, numpat: 0, numsub: 0, shardchannels: 0, shardnumsub: 0 },
  script: { debug: 0, exists: 0, flush: 0, help: 0, kill: 0, load: 0 },
  xgroup: { create: W, createconsumer: W, delconsumer: W, destroy: W, help: 0, setid: W },
  xinfo: { consumers: R, groups: R, help: 0, stream: R },
};

/** The categories of a command (or subcommand) of `group` with CommandFlag bits `flags`. */
function derive(name: string, group: string, flags: number): number {
  const groupCategory = GROUP_CATEGORY[group];
  let bits = groupCategory === undefined ? 0 : mask(groupCategory);
  if ((flags & CommandFlag.Write) !== 0) bits |= mask('write');
  if ((flags & CommandFlag.ReadOnly) !== 0 && group !== 'scripting') bits |= mask('read');
  if ((flags & CommandFlag.Admin) !== 0) bits |= mask('admin', 'dangerous');
  bits |= (flags & CommandFlag.Fast) !== 0 ? mask('fast') : mask('slow');
  const exception = EXCEPTIONS[name];
  if (exception !== undefined) bits = (bits | (exception.add ?? 0)) & ~(exception.remove ?? 0);
  return bits;
}

/** One unit ACL rules allow or deny: a command, or a subcommand `container|sub`. */
export interface AclCommand {
  /** `name`, or `container|sub` for a subcommand. */
  readonly fullName: string;
  readonly categories: number;
  /** For a container: its subcommands' full names. */
  readonly subcommands: readonly string[];
  /** For a subcommand: its container's name. */
  readonly container: string | undefined;
}

/** Every command and subcommand of a table, by full name (built once per table). */
export function aclCommands(specs: readonly Pick<CommandSpec<never>, 'name' | 'group' | 'flags'>[]): Map<string, AclCommand> {
  const commands = new Map<string, AclCommand>();
  for (const spec of specs) {
    const subs = SUBCOMMANDS[spec.name];
    if (subs === undefined) {
      commands.set(spec.name, { fullName: spec.name, categories: derive(spec.name, spec.group, spec.flags), subcommands: [], container: undefined });
      continue;
    }
    const fullNames = Object.keys(subs).map((sub) => `${spec.name}|${sub}`);
    // A container is @slow itself (plus what an exception adds, as COMMAND's @connection).
    const exception = EXCEPTIONS[spec.name];
    commands.set(spec.name, { fullName: spec.name, categories: mask('slow') | (exception?.add ?? 0), subcommands: fullNames, container: undefined });
    for (const [sub, flags] of Object.entries(subs)) {
      commands.set(`${spec.name}|${sub}`, { fullName: `${spec.name}|${sub}`, categories: derive(spec.name, spec.group, flags), subcommands: [], container: spec.name });
    }
  }
  return commands;
}

/** `@name` of each category in the mask, in Redis's order (COMMAND INFO). */
export function categoryNames(bits: number): string[] {
  const names: string[] = [];
  ACL_CATEGORIES.forEach((name, index) => {
    if ((bits & (1 << index)) !== 0) names.push(`@${name}`);
  });
  return names;
}

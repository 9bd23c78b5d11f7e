// The node's ACL users and where they live. Users are part of the cluster's configuration,
// as function libraries are: the whole user table is ONE replicated row, ACL_USERS_ROW_KEY
// (rows.ts), a key outside the user keyspace, so ACL SETUSER on one node lets the user AUTH
// on every node. Its value is the table as ACL LIST prints it, one `user <name> <rules>`
// line per user (passwords only as #<sha256>), so a node rebuilds users with its own command
// table. Being one last-writer-wins row, two nodes changing users at the same moment keep
// only the later table (README "ACL"). Before the row is first written, a node has only the
// `default` user (with --requirepass as its password); once written, the row is what every
// node uses, `default` included.
//
// Users are objects sessions point at; a new version of the row updates them in place, so
// the check before each command stays a field read. The row is looked at when a client
// authenticates, on ACL commands and once a second (ServerState.sample): a user deleted or
// narrowed on another node loses its connections here within that second.
import { Buffer } from 'node:buffer';
import { ACL_USERS_ROW_KEY } from '../core/rows.js';
import type { VersionedRecord } from '../core/types.js';
import { aclCommands, type AclCommand } from './acl-categories.js';
import { AclUser, defaultUser } from './acl-users.js';
import type { CommandSpec } from './command-spec.js';
import type { Engine } from './engine.js';
import { globMatch } from './glob.js';
import type { Logger } from './state.js';

/** What the registry needs of a connection to enforce a change of its user. */
export interface AclClient {
  user: AclUser;
  authenticated: boolean;
  closing: boolean;
  readonly channels: ReadonlyMap<string, Buffer>;
  readonly patterns: ReadonlyMap<string, Buffer>;
  readonly transport: { close?(): void };
}

export const DEFAULT_USER_NAME = 'default';

/** Encode users as the stored table: `user <name> <rules>` lines, sorted by name. */
export function encodeUsers(users: Iterable<AclUser>, commands: ReadonlyMap<string, AclCommand>): Uint8Array {
  const lines = [...users].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((user) => `user ${user.name} ${user.describe(commands)}\n`);
  return Buffer.from(lines.join(''), 'latin1');
}

/** Users of a stored table; rules this node does not know (a newer node's command) are skipped and reported. */
export function decodeUsers(value: Uint8Array, commands: ReadonlyMap<string, AclCommand>, skipped: (user: string, rule: string, error: string) => void): AclUser[] {
  const users: AclUser[] = [];
  for (const line of Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1').split('\n')) {
    const words = line.split(' ').filter((word) => word.length > 0);
    if (words.length < 2 || words[0] !== 'user') continue;
    const user = new AclUser(words[1]!);
    for (const rule of words.slice(2)) {
      const error = user.applyRule(Buffer.from(rule, 'latin1'), commands);
      if (error !== undefined) skipped(user.name, rule, error);
    }
    users.push(user);
  }
  return users;
}

function versionOf(record: VersionedRecord | undefined): string {
  return record === undefined ? '' : `${record.hlc.wallMs}.${record.hlc.logical}.${record.origin}`;
}

export class AclRegistry {
  /** Every command and subcommand rules can name. */
  readonly commands: ReadonlyMap<string, AclCommand>;
  private readonly users = new Map<string, AclUser>();
  /** Version of the row the users were built from ('' before it exists). */
  private version = '';

  constructor(
    private readonly engine: Engine,
    private readonly requirepass: string | undefined,
    specs: readonly CommandSpec<never>[],
    private readonly logger: Logger,
  ) {
    this.commands = aclCommands(specs);
    this.users.set(DEFAULT_USER_NAME, defaultUser(requirepass, this.commands));
  }

  get defaultUser(): AclUser {
    return this.users.get(DEFAULT_USER_NAME)!;
  }

  /** The user named, after catching up with the stored table. */
  user(name: string, clients: Iterable<AclClient>): AclUser | undefined {
    this.refresh(clients);
    return this.users.get(name);
  }

  /** Users sorted by name (ACL LIST, ACL USERS). */
  all(clients: Iterable<AclClient>): AclUser[] {
    this.refresh(clients);
    return [...this.users.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Adopt the stored table if it changed since last time (another node wrote it, or this one). */
  refresh(clients: Iterable<AclClient>): void {
    const record = this.engine.get(ACL_USERS_ROW_KEY);
    const version = versionOf(record);
    if (version === this.version) return;
    this.version = version;
    if (record?.value === null || record === undefined) return;
    const next = decodeUsers(record.value, this.commands, (user, rule, error) =>
      this.logger.warn({ user, rule, error }, 'ACL rule of the stored user table not understood here; skipped'),
    );
    if (!next.some((user) => user.name === DEFAULT_USER_NAME)) next.push(this.defaultUser.clone());
    this.adopt(next, clients);
  }

  /**
   * Write a new table (ACL SETUSER / DELUSER) and use it at once; the returned write is what
   * the command's reply waits for. `users` are new objects: existing ones are updated from them.
   */
  store(users: readonly AclUser[], clients: Iterable<AclClient>, current: AclClient): Promise<number> {
    const write = this.engine.write([{ key: ACL_USERS_ROW_KEY, value: encodeUsers(users, this.commands), expiresAtMs: 0 }]);
    this.version = versionOf(this.engine.get(ACL_USERS_ROW_KEY));
    this.adopt(users, clients, current);
    return write;
  }

  /** Make `next` the users: changed users are updated in place, removed ones lose their connections. */
  private adopt(next: readonly AclUser[], clients: Iterable<AclClient>, current?: AclClient): void {
    const nextByName = new Map(next.map((user) => [user.name, user]));
    const removed = new Set<AclUser>();
    const narrowed = new Set<AclUser>();
    for (const [name, user] of this.users) {
      const replacement = nextByName.get(name);
      if (replacement === undefined) {
        removed.add(user);
        this.users.delete(name);
        continue;
      }
      if (channelsNarrowed(user, replacement)) narrowed.add(user);
      user.copyFrom(replacement);
    }
    for (const [name, user] of nextByName) if (!this.users.has(name)) this.users.set(name, user);
    if (removed.size === 0 && narrowed.size === 0) return;
    for (const client of clients) {
      if (removed.has(client.user)) {
        // As Redis: the connection goes back to the default user, unauthenticated, and is closed.
        client.user = this.defaultUser;
        client.authenticated = false;
        disconnect(client, current);
      } else if (narrowed.has(client.user) && !subscriptionsAllowed(client)) {
        disconnect(client, current);
      }
    }
  }
}

/** Close a connection: the one running the command after its reply, any other now. */
function disconnect(client: AclClient, current: AclClient | undefined): void {
  client.closing = true;
  if (client !== current) client.transport.close?.();
}

/** Whether the new channel rules may refuse a subscription the old ones allowed (Redis's ACLKillPubsubClientsIfNeeded). */
function channelsNarrowed(before: AclUser, after: AclUser): boolean {
  if (after.allChannels) return false;
  if (before.allChannels) return true;
  return before.channels.some((channel) => !after.channels.some((kept) => kept.equals(channel)));
}

function subscriptionsAllowed(client: AclClient): boolean {
  const user = client.user;
  if (user.allChannels) return true;
  for (const pattern of client.patterns.values()) if (!user.channels.some((allowed) => allowed.equals(pattern))) return false;
  for (const channel of client.channels.values()) if (!user.channels.some((allowed) => globMatch(allowed, channel))) return false;
  return true;
}

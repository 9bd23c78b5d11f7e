// ACL enforcement and the ACL command (Redis 7.0): what a user may run is checked before
// every command (table.ts, only for users not allowed everything), for every redis.call of
// a script (scripting-run.ts) and by redis.acl_check_cmd; denials go to ACL LOG with
// Redis's texts. Users themselves live in acl-users.ts, their cluster-wide table in
// acl-store.ts.
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import {
  appendArrayHeader,
  appendBulkText,
  appendDouble,
  appendError,
  appendInteger,
  appendMapHeader,
  appendNull,
  appendOk,
  appendSimple,
} from '../wire/resp.js';
import { ACL_CATEGORIES, categoryBit } from './acl-categories.js';
import { commandChannels, commandKeys, KeyAccess } from './acl-keys.js';
import type { AclContext, AclDenial } from './acl-log.js';
import { DEFAULT_USER_NAME } from './acl-store.js';
import { AclUser } from './acl-users.js';
import { argIs, argLower, command, CommandFlag, NO_KEYS, NOT_INTEGER_ERROR, parseIntegerArg } from './common.js';
import { arityMatches, type CommandSpec as BaseCommandSpec } from './command-spec.js';
import { clientInfoLine } from './connection.js';
import { globMatch } from './glob.js';
import type { Session } from './session.js';
import type { ServerState } from './state.js';
import type { CommandSpec } from './table.js';

/** Why a command was refused, and the argument (key or channel) that was not allowed. */
export interface AclRefusal {
  readonly reason: Exclude<AclDenial, 'auth'>;
  /** Index in args of the key or channel refused (reason key or channel). */
  readonly index: number;
  /** Full name of the command (`config|get` for a subcommand). */
  readonly fullName: string;
}

/** `name`, or `container|sub` when the command has that subcommand. */
function fullNameOf(server: ServerState, spec: BaseCommandSpec<never>, args: readonly Buffer[]): string {
  const commands = server.acl.commands;
  if (args.length < 2 || commands.get(spec.name)?.subcommands.length === 0) return spec.name;
  const sub = `${spec.name}|${argLower(args[1]!)}`;
  return commands.has(sub) ? sub : spec.name;
}

function keyAllowed(user: AclUser, key: Buffer, access: number): boolean {
  for (const { pattern, access: granted } of user.keyPatterns) {
    if ((granted & access) === access && globMatch(pattern, key)) return true;
  }
  return false;
}

function channelAllowed(user: AclUser, channel: Buffer, pattern: boolean): boolean {
  for (const allowed of user.channels) {
    if (pattern ? allowed.equals(channel) : globMatch(allowed, channel)) return true;
  }
  return false;
}

/** Whether `user` may run the command (Redis's ACLCheckAllUserCommandPerm); undefined when allowed. */
export function checkCommand(server: ServerState, user: AclUser, spec: BaseCommandSpec<never>, args: readonly Buffer[]): AclRefusal | undefined {
  if (user.unrestricted) return undefined;
  const fullName = fullNameOf(server, spec, args);
  if (!user.allCommands && (spec.flags & CommandFlag.NoAuth) === 0 && !user.allowed.has(fullName)) {
    const firstArgs = user.firstArgs.get(fullName);
    const firstArg = args[1];
    if (firstArgs === undefined || firstArg === undefined || !firstArgs.includes(argLower(firstArg))) return { reason: 'command', index: 0, fullName };
  }
  if (!user.allKeys) {
    for (const { index, access } of commandKeys(spec, args)) {
      if (!keyAllowed(user, args[index]!, access)) return { reason: 'key', index, fullName };
    }
  }
  if (!user.allChannels) {
    for (const { index, pattern } of commandChannels(spec, args)) {
      if (!channelAllowed(user, args[index]!, pattern)) return { reason: 'channel', index, fullName };
    }
  }
  return undefined;
}

/** Whether the user may read every key (~*, %R~* or allkeys): SORT's BY and GET need it. */
function readsEveryKey(user: AclUser): boolean {
  return user.allKeys || user.keyPatterns.some(({ pattern, access }) => (access & KeyAccess.Read) !== 0 && pattern.length === 1 && pattern[0] === 0x2a);
}

/** SORT BY <pattern> / GET reach keys no argument names: Redis refuses them without full key access. */
function sortRefusal(user: AclUser, spec: CommandSpec, args: readonly Buffer[]): string | undefined {
  if ((spec.name !== 'sort' && spec.name !== 'sort_ro') || readsEveryKey(user)) return undefined;
  for (let index = 2; index < args.length - 1; index++) {
    if (argIs(args[index]!, 'by') && args[index + 1]!.includes(0x2a)) return 'ERR BY option of SORT denied due to insufficient ACL permissions.';
    if (argIs(args[index]!, 'get')) return 'ERR GET option of SORT denied due to insufficient ACL permissions.';
  }
  return undefined;
}

function logRefusal(session: Session, refusal: AclRefusal, context: AclContext, args: readonly Buffer[], client: Session): void {
  session.server.aclLog.add({
    reason: refusal.reason,
    context,
    object: refusal.reason === 'command' ? refusal.fullName : args[refusal.index]!.toString('latin1'),
    username: session.user.name,
    timeMs: Date.now(),
    clientInfo: clientInfoLine(client, Date.now()).trimEnd(),
  });
}

/**
 * The dispatcher's check (table.ts calls it only for users not allowed everything): the
 * NOPERM error to reply, logged in ACL LOG, or undefined when the command may run.
 */
export function aclRefusal(session: Session, spec: CommandSpec, args: Buffer[]): string | undefined {
  const refusal = checkCommand(session.server, session.user, spec, args);
  if (refusal === undefined) return sortRefusal(session.user, spec, args);
  logRefusal(session, refusal, session.transaction === undefined ? 'toplevel' : 'multi', args, session);
  switch (refusal.reason) {
    case 'command':
      return `NOPERM this user has no permissions to run the '${refusal.fullName}' command`;
    case 'key':
      return 'NOPERM this user has no permissions to access one of the keys used as arguments';
    case 'channel':
      return 'NOPERM this user has no permissions to access one of the channels used as arguments';
  }
}

/** The check of a command a script calls, as the script's caller: the error redis.call raises, or undefined. */
export function aclScriptRefusal(caller: Session, spec: BaseCommandSpec<never>, args: Buffer[]): string | undefined {
  if (caller.user.unrestricted) return undefined;
  const refusal = checkCommand(caller.server, caller.user, spec, args);
  if (refusal === undefined) return undefined;
  logRefusal(caller, refusal, 'lua', args, caller);
  switch (refusal.reason) {
    case 'command':
      return "ERR The user executing the script can't run this command or subcommand";
    case 'key':
      return "ERR The user executing the script can't access at least one of the keys mentioned in the command arguments";
    case 'channel':
      return "ERR The user executing the script can't publish to the channel mentioned in the command";
  }
}

/** redis.acl_check_cmd: whether the caller may run args; undefined when no such command. */
export function scriptMayRun(caller: Session, args: Buffer[]): boolean | undefined {
  const spec = caller.server.table.lookup(args[0]!);
  if (spec === undefined) return undefined;
  return checkCommand(caller.server, caller.user, spec, args) === undefined;
}

// ---- The ACL command ----

const GENPASS_BITS_MAX = 4096;
const GENPASS_BITS_DEFAULT = 256;
const ACL_LOG_DEFAULT_COUNT = 10;

const HELP = [
  'ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CAT [<category>]',
  '    List all commands that belong to <category>, or all command categories',
  '    when no category is specified.',
  'DELUSER <username> [<username> ...]',
  '    Delete a list of users.',
  'DRYRUN <username> <command> [<arg> ...]',
  '    Returns whether the user can execute the given command without executing the command.',
  'GETUSER <username>',
  "    Get the user's details.",
  'GENPASS [<bits>]',
  '    Generate a secure 256-bit user password. The optional `bits` argument can',
  '    be used to specify a different size.',
  'LIST',
  '    Show users details in config file format.',
  'LOAD',
  '    Reload users from the ACL file.',
  'LOG [<count> | RESET]',
  '    Show the ACL log entries.',
  'SAVE',
  '    Save the current config to the ACL file.',
  'SETUSER <username> <attribute> [<attribute> ...]',
  '    Create or modify a user with the specified attributes.',
  'USERS',
  '    List all the registered usernames.',
  'WHOAMI',
  '    Return the current connection username.',
  'HELP',
  '    Print this help.',
];

/** Arity of each subcommand (Redis's acl|<sub> entries). */
const SUBCOMMAND_ARITY: Readonly<Record<string, number>> = {
  cat: -2, deluser: -3, dryrun: -4, genpass: -2, getuser: 3, help: 2, list: 2, load: 2, log: -2, save: 2, setuser: -3, users: 2, whoami: 2,
};

/** Redis's reply to a subcommand given arguments it does not take (addReplySubcommandSyntaxError). */
function syntaxError(session: Session, args: Buffer[]): void {
  appendError(session.out, `ERR unknown subcommand or wrong number of arguments for '${args[1]!.toString('utf8', 0, 128)}'. Try ACL HELP.`);
}

function hasSpaces(bytes: Buffer): boolean {
  for (const byte of bytes) if (byte === 0x20 || (byte >= 0x09 && byte <= 0x0d) || byte === 0) return true;
  return false;
}

/** Copies of every user, to stage a change on (ACL SETUSER and DELUSER are all or nothing). */
function stagedUsers(session: Session): AclUser[] {
  return session.server.acl.all(session.server.sessions.values()).map((user) => user.clone());
}

function storeUsers(session: Session, users: AclUser[], start: number): void {
  const server = session.server;
  session.deferWrite(server.acl.store(users, server.sessions.values(), session), start);
}

function setUser(session: Session, args: Buffer[]): void {
  const name = args[2]!;
  if (hasSpaces(name)) return void appendError(session.out, "ERR Usernames can't contain spaces or null characters");
  const users = stagedUsers(session);
  const nameText = name.toString('latin1');
  let user = users.find((known) => known.name === nameText);
  if (user === undefined) users.push((user = new AclUser(nameText)));
  for (const rule of args.slice(3)) {
    const error = user.applyRule(rule, session.server.acl.commands);
    if (error !== undefined) return void appendError(session.out, `ERR Error in ACL SETUSER modifier '${rule.toString('utf8')}': ${error}`);
  }
  const start = session.out.length;
  appendOk(session.out);
  storeUsers(session, users, start);
}

function delUser(session: Session, args: Buffer[]): void {
  const names = new Set(args.slice(2).map((arg) => arg.toString('latin1')));
  if (names.has(DEFAULT_USER_NAME)) return void appendError(session.out, "ERR The 'default' user cannot be removed");
  const users = stagedUsers(session);
  const kept = users.filter((user) => !names.has(user.name));
  const deleted = users.length - kept.length;
  const start = session.out.length;
  appendInteger(session.out, deleted);
  if (deleted > 0) storeUsers(session, kept, start);
}

function getUser(session: Session, args: Buffer[]): void {
  const out = session.out;
  const server = session.server;
  const user = server.acl.user(args[2]!.toString('latin1'), server.sessions.values());
  if (user === undefined) return void appendNull(out, session.protocol);
  appendMapHeader(out, 6, session.protocol);
  appendBulkText(out, 'flags');
  const flags = user.flagNames();
  appendArrayHeader(out, flags.length);
  for (const flag of flags) appendBulkText(out, flag);
  appendBulkText(out, 'passwords');
  appendArrayHeader(out, user.passwords.length);
  for (const hash of user.passwords) appendBulkText(out, hash);
  appendBulkText(out, 'commands');
  appendBulkText(out, user.describeCommands(server.acl.commands));
  appendBulkText(out, 'keys');
  appendBulkText(out, user.describeKeys().join(' '));
  appendBulkText(out, 'channels');
  appendBulkText(out, user.describeChannels().join(' '));
  appendBulkText(out, 'selectors');
  appendArrayHeader(out, 0);
}

function catCommand(session: Session, args: Buffer[]): void {
  const out = session.out;
  if (args.length === 2) {
    appendArrayHeader(out, ACL_CATEGORIES.length);
    for (const name of ACL_CATEGORIES) appendBulkText(out, name);
    return;
  }
  if (args.length !== 3) return syntaxError(session, args);
  const bit = categoryBit(args[2]!.toString('latin1'));
  if (bit === undefined) return void appendError(out, `ERR Unknown category '${args[2]!.toString('utf8', 0, 128)}'`);
  const names = [...session.server.acl.commands.values()].filter((entry) => (entry.categories & bit) !== 0).map((entry) => entry.fullName);
  appendArrayHeader(out, names.length);
  for (const name of names) appendBulkText(out, name);
}

function genpass(session: Session, args: Buffer[]): void {
  const out = session.out;
  if (args.length > 3) return syntaxError(session, args);
  let bits = GENPASS_BITS_DEFAULT;
  if (args.length === 3) {
    const parsed = parseIntegerArg(args[2]!);
    if (parsed === undefined) return void appendError(out, NOT_INTEGER_ERROR);
    bits = parsed;
  }
  if (bits <= 0 || bits > GENPASS_BITS_MAX) {
    return void appendError(out, `ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to ${GENPASS_BITS_MAX}`);
  }
  const chars = Math.floor((bits + 3) / 4);
  appendBulkText(out, randomBytes(Math.ceil(chars / 2)).toString('hex').slice(0, chars));
}

function logCommand(session: Session, args: Buffer[]): void {
  const out = session.out;
  if (args.length > 3) return syntaxError(session, args);
  let count = ACL_LOG_DEFAULT_COUNT;
  if (args.length === 3) {
    if (argIs(args[2]!, 'reset')) {
      session.server.aclLog.reset();
      return void appendOk(out);
    }
    const parsed = parseIntegerArg(args[2]!);
    if (parsed === undefined) return void appendError(out, NOT_INTEGER_ERROR);
    count = Math.max(0, parsed);
  }
  const entries = session.server.aclLog.newest(count);
  const nowMs = Date.now();
  appendArrayHeader(out, entries.length);
  for (const entry of entries) {
    appendMapHeader(out, 7, session.protocol);
    appendBulkText(out, 'count');
    appendInteger(out, entry.count);
    appendBulkText(out, 'reason');
    appendBulkText(out, entry.reason);
    appendBulkText(out, 'context');
    appendBulkText(out, entry.context);
    appendBulkText(out, 'object');
    appendBulkText(out, entry.object);
    appendBulkText(out, 'username');
    appendBulkText(out, entry.username);
    appendBulkText(out, 'age-seconds');
    appendDouble(out, (nowMs - entry.timeMs) / 1000, session.protocol);
    appendBulkText(out, 'client-info');
    appendBulkText(out, entry.clientInfo);
  }
}

function dryrun(session: Session, args: Buffer[]): void {
  const out = session.out;
  const server = session.server;
  const user = server.acl.user(args[2]!.toString('latin1'), server.sessions.values());
  if (user === undefined) return void appendError(out, `ERR User '${args[2]!.toString('utf8')}' not found`);
  const commandArgs = args.slice(3);
  const spec = server.table.lookup(commandArgs[0]!);
  if (spec === undefined) return void appendError(out, `ERR Command '${commandArgs[0]!.toString('utf8')}' not found`);
  const fullName = fullNameOf(server, spec, commandArgs);
  if (!arityMatches(spec.arity, commandArgs.length)) {
    return void appendError(out, `ERR wrong number of arguments for '${fullName}' command`);
  }
  const refusal = checkCommand(server, user, spec, commandArgs);
  if (refusal === undefined) return void appendOk(out);
  const named = commandArgs[refusal.index]?.toString('utf8') ?? '';
  if (refusal.reason === 'command') appendBulkText(out, `This user has no permissions to run the '${refusal.fullName}' command`);
  else appendBulkText(out, `This user has no permissions to access the '${named}' ${refusal.reason}`);
}

function aclCommand(session: Session, args: Buffer[]): void {
  const out = session.out;
  const sub = argLower(args[1]!);
  const arity = SUBCOMMAND_ARITY[sub];
  if (arity === undefined) return void appendError(out, `ERR unknown subcommand '${args[1]!.toString('utf8', 0, 128)}'. Try ACL HELP.`);
  if (!arityMatches(arity, args.length)) return void appendError(out, `ERR wrong number of arguments for 'acl|${sub}' command`);
  const server = session.server;
  switch (sub) {
    case 'setuser':
      return setUser(session, args);
    case 'deluser':
      return delUser(session, args);
    case 'getuser':
      return getUser(session, args);
    case 'list':
    case 'users': {
      const users = server.acl.all(server.sessions.values());
      appendArrayHeader(out, users.length);
      for (const user of users) appendBulkText(out, sub === 'users' ? user.name : `user ${user.name} ${user.describe(server.acl.commands)}`);
      return;
    }
    case 'whoami':
      return void appendBulkText(out, session.user.name);
    case 'cat':
      return catCommand(session, args);
    case 'genpass':
      return genpass(session, args);
    case 'log':
      return logCommand(session, args);
    case 'dryrun':
      return dryrun(session, args);
    case 'load':
    case 'save':
      return void appendError(
        out,
        'ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.',
      );
    case 'help':
      appendArrayHeader(out, HELP.length);
      for (const line of HELP) appendSimple(out, line);
      return;
  }
}

export const ACL_COMMANDS: readonly CommandSpec[] = [
  command('acl', -2, 0, NO_KEYS, 'server', 'Users and their permissions (SETUSER GETUSER DELUSER LIST USERS WHOAMI CAT GENPASS DRYRUN LOG)', aclCommand),
];

// Connection commands: ECHO QUIT HELLO AUTH SELECT CLIENT RESET (PING lives with pub/sub,
// whose mode changes its reply).
import { Buffer } from 'node:buffer';
import {
  appendArrayHeader,
  appendBulk,
  appendBulkText,
  appendError,
  appendInteger,
  appendMapHeader,
  appendNull,
  appendOk,
  appendSimple,
} from '../wire/resp.js';
import { CommandFlag, NOT_INTEGER_ERROR, NO_KEYS, SYNTAX_ERROR, argIs, argLower, command, parseIntegerArg } from './common.js';
import type { Session } from './session.js';
import type { CommandSpec } from './table.js';
import { discardTransaction } from './transaction-queue.js';

/** Redis version we answer as: clients gate features on it. */
export const REDIS_COMPATIBLE_VERSION = '7.2.0';

const WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.';
const DEFAULT_USER = 'default';

/**
 * AUTH user password (HELLO's AUTH too): on success the connection runs as that user; a
 * failure is logged in ACL LOG (reason auth), as Redis does.
 */
function authenticate(session: Session, user: Buffer, password: Buffer, commandName: Buffer): boolean {
  const server = session.server;
  const name = user.toString('latin1');
  const found = server.acl.user(name, server.sessions.values());
  if (found !== undefined && found.checkPassword(password)) {
    session.user = found;
    session.authenticated = true;
    return true;
  }
  const nowMs = Date.now();
  server.aclLog.add({
    reason: 'auth',
    context: session.transaction === undefined ? 'toplevel' : 'multi',
    object: commandName.toString('latin1'),
    username: name,
    timeMs: nowMs,
    clientInfo: clientInfoLine(session, nowMs).trimEnd(),
  });
  return false;
}

function authCommand(session: Session, args: Buffer[]): void {
  if (args.length > 3) return void appendError(session.out, SYNTAX_ERROR);
  if (args.length === 2 && session.server.acl.user(DEFAULT_USER, session.server.sessions.values())!.noPass) {
    return void appendError(
      session.out,
      'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
    );
  }
  const user = args.length === 3 ? args[1]! : Buffer.from(DEFAULT_USER);
  const password = args[args.length - 1]!;
  if (!authenticate(session, user, password, args[0]!)) return void appendError(session.out, WRONGPASS);
  appendOk(session.out);
}

function helloCommand(session: Session, args: Buffer[]): void {
  let version = session.protocol;
  if (args.length >= 2) {
    const requested = parseIntegerArg(args[1]!);
    if (requested === undefined) return void appendError(session.out, 'ERR Protocol version is not an integer or out of range');
    if (requested !== 2 && requested !== 3) return void appendError(session.out, 'NOPROTO unsupported protocol version');
    version = requested;
  }
  let credentials: [Buffer, Buffer] | undefined;
  let name: Buffer | undefined;
  for (let index = 2; index < args.length; index++) {
    const remaining = args.length - 1 - index;
    if (argIs(args[index]!, 'auth') && remaining >= 2) {
      credentials = [args[index + 1]!, args[index + 2]!];
      index += 2;
    } else if (argIs(args[index]!, 'setname') && remaining >= 1) {
      name = args[++index]!;
    } else {
      return void appendError(session.out, `ERR Syntax error in HELLO option '${args[index]!.toString('utf8', 0, 64)}'`);
    }
  }
  if (credentials !== undefined) {
    if (!authenticate(session, credentials[0], credentials[1], args[0]!)) return void appendError(session.out, WRONGPASS);
  }
  if (!session.authenticated) {
    return void appendError(
      session.out,
      'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
    );
  }
  if (name !== undefined && !setName(session, name)) return;
  session.protocol = version;
  const out = session.out;
  appendMapHeader(out, 7, version);
  appendBulkText(out, 'server');
  appendBulkText(out, 'redis');
  appendBulkText(out, 'version');
  appendBulkText(out, REDIS_COMPATIBLE_VERSION);
  appendBulkText(out, 'proto');
  appendInteger(out, version);
  appendBulkText(out, 'id');
  appendInteger(out, session.id);
  appendBulkText(out, 'mode');
  appendBulkText(out, 'standalone');
  appendBulkText(out, 'role');
  appendBulkText(out, 'master');
  appendBulkText(out, 'modules');
  appendArrayHeader(out, 0);
}

/** CLIENT SETNAME rules: printable ASCII without spaces. Replies with the error on failure. */
function setName(session: Session, name: Buffer): boolean {
  for (const byte of name) {
    if (byte < 0x21 || byte > 0x7e) {
      appendError(session.out, 'ERR Client names cannot contain spaces, newlines or special characters.');
      return false;
    }
  }
  session.name = name.toString('latin1');
  return true;
}

/** One CLIENT INFO / CLIENT LIST line, in Redis's field order for the fields we have. */
export function clientInfoLine(session: Session, nowMs: number): string {
  const subscribed = session.subscriptionCount() > 0;
  return (
    `id=${session.id} addr=${session.transport.remoteAddress} laddr=${session.transport.localAddress} fd=-1 name=${session.name} ` +
    `age=${Math.floor((nowMs - session.createdAtMs) / 1000)} idle=${Math.floor((nowMs - session.lastActiveMs) / 1000)} ` +
    `flags=${subscribed ? 'P' : session.transaction !== undefined ? 'x' : 'N'} db=0 sub=${session.channels.size} psub=${session.patterns.size} ssub=0 ` +
    `multi=${session.transaction === undefined ? -1 : session.transaction.commands.length} ` +
    `cmd=${session.lastCommand || 'NULL'} user=${session.user.name} redir=-1 resp=${session.protocol} ` +
    `lib-name=${session.libraryName} lib-ver=${session.libraryVersion}\n`
  );
}

const CLIENT_HELP = [
  'CLIENT <subcommand> [<arg> ...]. Subcommands are:',
  'ID', '    Return the ID of the current connection.',
  'GETNAME', '    Return the name of the current connection.',
  'SETNAME <name>', '    Assign the name <name> to the current connection.',
  'INFO', '    Return information about the current client connection.',
  'LIST', '    Return information about client connections.',
  'REPLY (ON|OFF|SKIP)', '    Control the replies sent to the current connection.',
  'SETINFO <LIB-NAME|LIB-VER> <value>', '    Set client library name or version.',
  'UNBLOCK <clientid> [TIMEOUT|ERROR]', '    Unblock the specified blocked client.',
  'HELP', '    Print this help.',
];

function clientCommand(session: Session, args: Buffer[]): void {
  const sub = argLower(args[1]!);
  const out = session.out;
  const arityError = () => appendError(out, `ERR wrong number of arguments for 'client|${sub}' command`);
  switch (sub) {
    case 'id':
      return args.length === 2 ? void appendInteger(out, session.id) : void arityError();
    case 'getname':
      if (args.length !== 2) return void arityError();
      return session.name === '' ? void appendNull(out, session.protocol) : void appendBulkText(out, session.name);
    case 'setname':
      if (args.length !== 3) return void arityError();
      if (setName(session, args[2]!)) appendOk(out);
      return;
    case 'info':
      return args.length === 2 ? void appendBulkText(out, clientInfoLine(session, Date.now())) : void arityError();
    case 'list': {
      const nowMs = Date.now();
      let text = '';
      for (const other of session.server.sessions.values()) text += clientInfoLine(other, nowMs);
      return void appendBulkText(out, text);
    }
    case 'setinfo': {
      if (args.length !== 4) return void arityError();
      const field = argLower(args[2]!);
      const value = args[3]!.toString('latin1');
      if (/[^\x21-\x7e]/.test(value)) return void appendError(out, `ERR ${field} cannot contain spaces, newlines or special characters.`);
      if (field === 'lib-name') session.libraryName = value;
      else if (field === 'lib-ver') session.libraryVersion = value;
      else return void appendError(out, `ERR Unrecognized option '${args[2]!.toString('utf8', 0, 64)}'`);
      return void appendOk(out);
    }
    case 'unblock': {
      if (args.length !== 3 && args.length !== 4) return void arityError();
      const id = parseIntegerArg(args[2]!);
      if (id === undefined) return void appendError(out, NOT_INTEGER_ERROR);
      let error = false;
      if (args.length === 4) {
        const reason = argLower(args[3]!);
        if (reason === 'error') error = true;
        else if (reason !== 'timeout') return void appendError(out, 'ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR');
      }
      const unblock = session.server.unblockers.get(id);
      if (unblock !== undefined) unblock(error);
      return void appendInteger(out, unblock === undefined ? 0 : 1);
    }
    case 'no-evict':
    case 'no-touch':
      return void appendOk(out);
    case 'reply': {
      if (args.length !== 3) return void arityError();
      const mode = argLower(args[2]!);
      if (mode !== 'on' && mode !== 'off' && mode !== 'skip') return void appendError(out, 'ERR syntax error');
      session.replyMode = mode;
      session.replyModeChanged = true;
      return void appendOk(out); // dropped by the dispatcher unless the mode is ON
    }
    case 'help':
      appendArrayHeader(out, CLIENT_HELP.length);
      for (const line of CLIENT_HELP) appendSimple(out, line);
      return;
    default:
      return void appendError(out, `ERR unknown subcommand '${args[1]!.toString('utf8', 0, 64)}'. Try CLIENT HELP.`);
  }
}

function echoCommand(session: Session, args: Buffer[]): void {
  appendBulk(session.out, args[1]!);
}

function quitCommand(session: Session): void {
  appendOk(session.out);
  session.closing = true;
}

function selectCommand(session: Session, args: Buffer[]): void {
  const index = parseIntegerArg(args[1]!);
  if (index === undefined) return void appendError(session.out, NOT_INTEGER_ERROR);
  if (index !== 0) return void appendError(session.out, 'ERR DB index is out of range');
  appendOk(session.out);
}

/** RESET: back to a fresh connection's state (RESP2, no name, no subscriptions, no transaction or watches, re-auth if needed). */
function resetCommand(session: Session): void {
  discardTransaction(session);
  session.server.pubsub.dropSession(session);
  session.protocol = 2;
  session.name = '';
  session.user = session.server.acl.defaultUser;
  session.authenticated = session.user.noPass && session.user.enabled;
  appendSimple(session.out, 'RESET');
}

const { NoAuth, PubSub, Fast, Admin, MultiControl } = CommandFlag;

export const CONNECTION_COMMANDS: readonly CommandSpec[] = [
  command('echo', 2, Fast, NO_KEYS, 'connection', 'Echo the given string', echoCommand),
  command('quit', -1, NoAuth | PubSub | Fast | MultiControl, NO_KEYS, 'connection', 'Close the connection', quitCommand),
  command('hello', -1, NoAuth | Fast, NO_KEYS, 'connection', 'Handshake: protocol version, AUTH, SETNAME', helloCommand),
  command('auth', -2, NoAuth | Fast, NO_KEYS, 'connection', 'Authenticate the connection', authCommand),
  command('select', 2, Fast, NO_KEYS, 'connection', 'Select the database (only 0 exists)', selectCommand),
  command('client', -2, Admin, NO_KEYS, 'connection', 'Client connection introspection (ID GETNAME SETNAME INFO LIST SETINFO)', clientCommand),
  command('reset', 1, NoAuth | PubSub | Fast | MultiControl, NO_KEYS, 'connection', 'Reset the connection', resetCommand),
];

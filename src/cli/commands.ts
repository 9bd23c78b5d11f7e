// The client commands of `peerkv` (set, get, type, del, keys, ttl, members, status, ping): each
// opens one RESP connection, runs its requests, prints, and returns the exit code. `get`
// prints a value of any type (typed-value.ts for hashes, sets, sorted sets and lists).
// Output: plain text for people, or one JSON document with --json.
import { performance } from 'node:perf_hooks';
import { ClientError, RespClient } from './client.js';
import { formatAgo, formatDuration, formatTable, infoField, keyCount, parseInfo, parseMembers } from './info.js';
import { replyText, type RespReply } from '../wire/resp-reply-parser.js';
import { formatTypedValue, jsonTypedValue, parseTypedValue, readCommand } from './typed-value.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export interface ClientContext {
  readonly host: string;
  readonly port: number;
  readonly password: string | undefined;
  readonly json: boolean;
  readonly timeoutMs: number;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** A failure the user must see: one stderr line, then this exit code. */
export class CommandFailure extends Error {
  constructor(message: string, readonly exitCode: number = EXIT_FAILED) {
    super(message);
  }
}

/** Keys fetched per SCAN round trip: large enough to be quick, small enough to stay responsive. */
const SCAN_COUNT = 1000;

export async function withClient(context: ClientContext, action: (client: RespClient) => Promise<number>): Promise<number> {
  let client: RespClient | undefined;
  try {
    client = await RespClient.connect({ host: context.host, port: context.port, timeoutMs: context.timeoutMs });
    if (context.password !== undefined) expectOk(await client.command(['AUTH', context.password]), 'AUTH');
    return await action(client);
  } catch (error) {
    if (error instanceof CommandFailure || error instanceof ClientError) {
      context.stderr.write(`peerkv: ${error.message}\n`);
      return error instanceof CommandFailure ? error.exitCode : EXIT_FAILED;
    }
    throw error;
  } finally {
    client?.close();
  }
}

/** Turns an error reply into a CommandFailure with a hint where one helps. */
export function checkReply(reply: RespReply, command: string): RespReply {
  if (reply.type !== 'error') return reply;
  let hint = '';
  if (/^NOAUTH/.test(reply.value)) hint = ' (pass -a PASSWORD, or set PEERKV_PASSWORD)';
  else if (/^WRONGPASS|invalid password/i.test(reply.value)) hint = ' (check -a or PEERKV_PASSWORD)';
  else if (/^MISCONF/.test(reply.value)) hint = ' (free space on that node\'s disk; it takes writes again by itself)';
  throw new CommandFailure(`${command} failed: ${reply.value}${hint}`);
}

function expectOk(reply: RespReply, command: string): void {
  checkReply(reply, command);
}

function expectInteger(reply: RespReply, command: string): number {
  checkReply(reply, command);
  if (reply.type !== 'integer') throw new CommandFailure(`${command}: unexpected reply type ${reply.type}`);
  return Number(reply.value);
}

function print(context: ClientContext, text: string): void {
  context.stdout.write(`${text}\n`);
}

function printJson(context: ClientContext, value: unknown): void {
  context.stdout.write(`${JSON.stringify(value)}\n`);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** JSON form of a binary value: text when it is valid UTF-8, base64 otherwise. */
export function jsonBytes(bytes: Uint8Array): { value: string } | { valueBase64: string } {
  try {
    return { value: strictUtf8.decode(bytes) };
  } catch {
    return { valueBase64: Buffer.from(bytes).toString('base64') };
  }
}

export interface SetOptions {
  readonly ttlSeconds: number | undefined;
  /** Other nodes that must store the write before we report success; 'all' = every alive peer. */
  readonly ack: number | 'all' | undefined;
}

export function runSet(context: ClientContext, key: string, value: string, options: SetOptions): Promise<number> {
  return withClient(context, async (client) => {
    const args = ['SET', key, value];
    if (options.ttlSeconds !== undefined) args.push('EX', String(options.ttlSeconds));
    checkReply(await client.command(args), 'SET');
    if (options.ack === undefined) {
      if (context.json) printJson(context, { ok: true });
      else print(context, 'OK');
      return EXIT_OK;
    }
    const wanted = options.ack === 'all' ? await alivePeerCount(client) : options.ack;
    // WAIT blocks server-side up to its timeout; give the socket a little longer than that.
    const replicas = expectInteger(await client.command(['WAIT', String(wanted), String(context.timeoutMs)], context.timeoutMs + 1000), 'WAIT');
    if (context.json) printJson(context, { ok: replicas >= wanted, replicas, wanted });
    else print(context, `OK, stored on ${replicas} other node${replicas === 1 ? '' : 's'}`);
    if (replicas < wanted) {
      throw new CommandFailure(`only ${replicas} of ${wanted} other nodes stored the write within ${context.timeoutMs} ms (the write is kept and will still replicate; raise --timeout to wait longer)`);
    }
    return EXIT_OK;
  });
}

async function alivePeerCount(client: RespClient): Promise<number> {
  const info = parseInfo(replyText(checkReply(await client.command(['INFO', 'cluster']), 'INFO')) ?? '');
  const alive = Number(infoField(info, 'members_alive') ?? '1');
  return Number.isFinite(alive) && alive > 1 ? alive - 1 : 0;
}

export function runGet(context: ClientContext, key: string, quorum: boolean): Promise<number> {
  return withClient(context, async (client) => {
    const command = quorum ? 'PEERKV.QGET' : 'GET';
    let raw = await client.command([command, key]);
    if (raw.type === 'error' && raw.value.startsWith('WRONGTYPE')) {
      const printed = await printTypedValue(context, client, key, quorum);
      if (printed !== undefined) return printed;
      raw = await client.command([command, key]); // it became a string meanwhile
    }
    const reply = checkReply(raw, command);
    if (reply.type === 'null' && quorum) {
      // PEERKV.QGET answers null for a key of another type: read it here.
      const printed = await printTypedValue(context, client, key, quorum);
      if (printed !== undefined) return printed;
    }
    if (reply.type === 'null') {
      if (context.json) printJson(context, { key, value: null });
      throw new CommandFailure(`key not found: ${key}`);
    }
    if (reply.type !== 'bulk' && reply.type !== 'verbatim') throw new CommandFailure(`GET: unexpected reply type ${reply.type}`);
    if (context.json) printJson(context, { key, ...jsonBytes(reply.value) });
    else {
      context.stdout.write(reply.value);
      context.stdout.write('\n');
    }
    return EXIT_OK;
  });
}

/**
 * `get` of a key that is not a string: its whole value read with its type's command and
 * printed (typed-value.ts); undefined when the key is a string again by the time of TYPE.
 */
async function printTypedValue(context: ClientContext, client: RespClient, key: string, quorum: boolean): Promise<number | undefined> {
  const type = replyText(checkReply(await client.command(['TYPE', key]), 'TYPE')) ?? '';
  if (type === 'string') return undefined;
  if (type === 'none') {
    if (context.json) printJson(context, { key, value: null });
    throw new CommandFailure(`key not found: ${key}`);
  }
  const read = readCommand(type, key);
  if (read === undefined) throw new CommandFailure(`${key} holds a ${type}, which get cannot print (peerkv type KEY names the type)`);
  if (quorum) context.stderr.write(`peerkv: note: --quorum reads strings only; ${key} is a ${type}, read from this node\n`);
  const value = parseTypedValue(type, checkReply(await client.command(read), read[0]!));
  if (value === undefined) throw new CommandFailure(`${read[0]}: unexpected reply shape`);
  const count = value.type === 'hash' || value.type === 'zset' ? value.entries.length : value.type === 'set' ? value.members.length : value.items.length;
  // Removed between TYPE and the read: as missing.
  if (count === 0) {
    if (context.json) printJson(context, { key, value: null });
    throw new CommandFailure(`key not found: ${key}`);
  }
  if (context.json) printJson(context, jsonTypedValue(key, value));
  else context.stdout.write(formatTypedValue(value));
  return EXIT_OK;
}

export function runType(context: ClientContext, key: string): Promise<number> {
  return withClient(context, async (client) => {
    const type = replyText(checkReply(await client.command(['TYPE', key]), 'TYPE')) ?? '';
    if (context.json) printJson(context, { key, type });
    else print(context, type);
    return EXIT_OK;
  });
}

export function runDel(context: ClientContext, keys: readonly string[]): Promise<number> {
  return withClient(context, async (client) => {
    const deleted = expectInteger(await client.command(['DEL', ...keys]), 'DEL');
    if (context.json) printJson(context, { deleted });
    else print(context, String(deleted));
    return EXIT_OK;
  });
}

export function runKeys(context: ClientContext, pattern: string): Promise<number> {
  return withClient(context, async (client) => {
    // SCAN, not KEYS: a large keyspace is walked in steps and never stalls the node.
    const found = new Map<string, Uint8Array>();
    let cursor = '0';
    do {
      const reply = checkReply(await client.command(['SCAN', cursor, 'MATCH', pattern, 'COUNT', String(SCAN_COUNT)]), 'SCAN');
      const [next, batch] = reply.type === 'array' ? reply.value : [];
      if (next === undefined || batch === undefined || batch.type !== 'array') throw new CommandFailure('SCAN: unexpected reply shape');
      cursor = replyText(next) ?? '0';
      // SCAN may return a key twice; the map keeps one of each.
      for (const item of batch.value) if (item.type === 'bulk') found.set(Buffer.from(item.value).toString('latin1'), item.value);
    } while (cursor !== '0');
    const keys = [...found.entries()].sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0)).map(([, bytes]) => bytes);
    if (context.json) {
      printJson(context, keys.map((bytes) => { const decoded = jsonBytes(bytes); return 'value' in decoded ? decoded.value : { base64: decoded.valueBase64 }; }));
    } else {
      for (const bytes of keys) {
        context.stdout.write(bytes);
        context.stdout.write('\n');
      }
    }
    return EXIT_OK;
  });
}

export function runTtl(context: ClientContext, key: string): Promise<number> {
  return withClient(context, async (client) => {
    const ttl = expectInteger(await client.command(['TTL', key]), 'TTL');
    if (context.json) printJson(context, { key, ttl });
    else print(context, String(ttl));
    return EXIT_OK;
  });
}

export function runPing(context: ClientContext): Promise<number> {
  return withClient(context, async (client) => {
    const startedMs = performance.now();
    const reply = checkReply(await client.command(['PING']), 'PING');
    const latencyMs = Math.round((performance.now() - startedMs) * 1000) / 1000;
    const text = replyText(reply) ?? '';
    if (context.json) printJson(context, { reply: text, latencyMs });
    else print(context, `${text} (${latencyMs} ms)`);
    return EXIT_OK;
  });
}

async function fetchInfo(client: RespClient, section?: string) {
  const reply = checkReply(await client.command(section === undefined ? ['INFO'] : ['INFO', section]), 'INFO');
  return parseInfo(replyText(reply) ?? '');
}

export function runMembers(context: ClientContext): Promise<number> {
  return withClient(context, async (client) => {
    const members = parseMembers(await fetchInfo(client, 'cluster'), Date.now());
    if (context.json) {
      printJson(context, members);
      return EXIT_OK;
    }
    const rows = members.map((member) => [member.name, member.id.slice(0, 8), member.address, member.state, formatAgo(member.lastSeenAgoMs)]);
    print(context, formatTable(['NAME', 'ID', 'ADDRESS', 'STATE', 'LAST SEEN'], rows));
    return EXIT_OK;
  });
}

export function runStatus(context: ClientContext): Promise<number> {
  return withClient(context, async (client) => {
    const info = await fetchInfo(client);
    const field = (name: string) => infoField(info, name);
    const count = (name: string) => Number(field(name) ?? 0);
    const uptimeSeconds = field('uptime_in_seconds');
    const status = {
      name: field('node_name') ?? '',
      nodeId: field('node_id') ?? '',
      members: { alive: count('members_alive'), suspect: count('members_suspect'), dead: count('members_dead') },
      keys: keyCount(info),
      sync: field('sync_state') ?? null,
      uptimeSeconds: uptimeSeconds === undefined ? null : Number(uptimeSeconds),
      memory: field('used_memory_human') ?? null,
      version: field('peerkv_version') ?? field('redis_version') ?? null,
    };
    if (context.json) {
      printJson(context, status);
      return EXIT_OK;
    }
    const rows = [
      ['node', `${status.name} (${status.nodeId.slice(0, 8)})`],
      ['members', `${status.members.alive} alive, ${status.members.suspect} suspect, ${status.members.dead} dead`],
      ['keys', String(status.keys)],
      ['sync', status.sync ?? '-'],
      ['uptime', status.uptimeSeconds === null ? '-' : formatDuration(status.uptimeSeconds)],
      ['memory', status.memory ?? '-'],
    ];
    if (status.version !== null) rows.push(['version', status.version]);
    for (const [label, value] of rows) print(context, `${label!.padEnd(8)}  ${value}`);
    return EXIT_OK;
  });
}

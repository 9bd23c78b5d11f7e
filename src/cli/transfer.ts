// `peerkv export [--match PATTERN]` and `peerkv import FILE`: every key of every type as
// one JSON document a line (dump.jsonl), expiry kept as an absolute Unix time in ms, and
// the way back, pipelined. Binary-safe: a key, field or value that is not valid UTF-8 is
// written as {"base64": "..."}.
//
//   {"peerkv":"dump","version":1}                                first line (optional on import)
//   {"key":"k","type":"string","value":"v","expireAtMs":1767225600000}
//   {"key":"h","type":"hash","value":[["field","value"],...]}
//   {"key":"s","type":"set","value":["member",...]}
//   {"key":"z","type":"zset","value":[["member",1.5],["m2","inf"],...]}
//   {"key":"l","type":"list","value":["first","second",...]}
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { type ClientContext, CommandFailure, EXIT_FAILED, EXIT_OK, EXIT_USAGE, checkReply } from './commands.js';
import { ClientError, type RespArgument } from './client.js';
import { PipelineConnection } from './pipeline.js';
import { replyText, type RespReply } from '../wire/resp-reply-parser.js';

export const DUMP_HEADER = { peerkv: 'dump', version: 1 } as const;
export const DUMP_TYPES = ['string', 'hash', 'set', 'zset', 'list', 'stream'] as const;
export type DumpType = (typeof DUMP_TYPES)[number];
/** Text when the bytes are valid UTF-8, base64 otherwise. */
export type DumpBytes = string | { readonly base64: string };
export type DumpScore = number | 'inf' | '-inf';

export type DumpEntry =
  | { readonly key: DumpBytes; readonly type: 'string'; readonly value: DumpBytes; readonly expireAtMs?: number }
  | { readonly key: DumpBytes; readonly type: 'hash'; readonly value: readonly (readonly [DumpBytes, DumpBytes])[]; readonly expireAtMs?: number }
  | { readonly key: DumpBytes; readonly type: 'set' | 'list'; readonly value: readonly DumpBytes[]; readonly expireAtMs?: number }
  | { readonly key: DumpBytes; readonly type: 'zset'; readonly value: readonly (readonly [DumpBytes, DumpScore])[]; readonly expireAtMs?: number }
  /** A stream's entries as [id, [field, value, ...]] (consumer groups are not exported). */
  | { readonly key: DumpBytes; readonly type: 'stream'; readonly value: readonly (readonly [string, readonly DumpBytes[]])[]; readonly expireAtMs?: number };

/** Keys per SCAN round trip of the export. */
const EXPORT_SCAN_COUNT = 1000;
/** Replies an import lets be outstanding: deep enough to keep the node busy, bounded memory. */
const IMPORT_WINDOW = 16_384;
/** Elements per HSET/SADD/ZADD/RPUSH of a large collection. */
const IMPORT_ELEMENTS_PER_COMMAND = 512;
/** A progress bar redraws at most this often. */
const PROGRESS_FPS = 10;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function dumpBytes(bytes: Uint8Array): DumpBytes {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return { base64: Buffer.from(bytes).toString('base64') };
  }
}

export function argumentOf(value: DumpBytes): RespArgument {
  return typeof value === 'string' ? value : Buffer.from(value.base64, 'base64');
}

function scoreOf(text: string): DumpScore {
  const lower = text.toLowerCase();
  if (lower === 'inf' || lower === '+inf') return 'inf';
  if (lower === '-inf') return '-inf';
  return Number(text);
}

/** The commands that recreate one entry (a replace: the key's old value goes first). */
export function importCommands(entry: DumpEntry): RespArgument[][] {
  const key = argumentOf(entry.key);
  const expireAtMs = entry.expireAtMs;
  if (entry.type === 'string') {
    const set: RespArgument[] = ['SET', key, argumentOf(entry.value)];
    if (expireAtMs !== undefined) set.push('PXAT', String(expireAtMs));
    return [set];
  }
  const commands: RespArgument[][] = [['DEL', key]];
  if (entry.type === 'stream') {
    for (const [id, fields] of entry.value) commands.push(['XADD', key, id, ...fields.map(argumentOf)]);
    if (expireAtMs !== undefined) commands.push(['PEXPIREAT', key, String(expireAtMs)]);
    return commands;
  }
  const name = entry.type === 'hash' ? 'HSET' : entry.type === 'set' ? 'SADD' : entry.type === 'zset' ? 'ZADD' : 'RPUSH';
  const values = entry.value;
  for (let start = 0; start < values.length; start += IMPORT_ELEMENTS_PER_COMMAND) {
    const command: RespArgument[] = [name, key];
    for (const item of values.slice(start, start + IMPORT_ELEMENTS_PER_COMMAND)) {
      if (entry.type === 'hash') {
        const [field, value] = item as readonly [DumpBytes, DumpBytes];
        command.push(argumentOf(field), argumentOf(value));
      } else if (entry.type === 'zset') {
        const [member, score] = item as readonly [DumpBytes, DumpScore];
        command.push(String(score), argumentOf(member));
      } else {
        command.push(argumentOf(item as DumpBytes));
      }
    }
    commands.push(command);
  }
  if (expireAtMs !== undefined) commands.push(['PEXPIREAT', key, String(expireAtMs)]);
  return commands;
}

/** Parses one dump line; a string says what is wrong with it. */
export function parseDumpLine(line: string): DumpEntry | 'header' | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return `not JSON (${(error as Error).message})`;
  }
  if (typeof value !== 'object' || value === null) return 'not a JSON object';
  const record = value as Record<string, unknown>;
  if (record.peerkv === 'dump') return record.version === 1 ? 'header' : `dump version ${String(record.version)} is not supported (this peerkv reads version 1)`;
  if (!isDumpBytes(record.key)) return 'no "key"';
  if (!(DUMP_TYPES as readonly unknown[]).includes(record.type)) return `unknown "type" ${JSON.stringify(record.type)} (expected ${DUMP_TYPES.join(', ')})`;
  if (record.expireAtMs !== undefined && !(typeof record.expireAtMs === 'number' && Number.isSafeInteger(record.expireAtMs) && record.expireAtMs > 0)) return '"expireAtMs" must be a positive integer';
  const items = record.value;
  switch (record.type) {
    case 'string':
      if (!isDumpBytes(items)) return 'a string needs a "value"';
      break;
    case 'hash':
      if (!Array.isArray(items) || !items.every((pair) => Array.isArray(pair) && pair.length === 2 && isDumpBytes(pair[0]) && isDumpBytes(pair[1]))) return 'a hash needs "value": [[field, value], ...]';
      break;
    case 'zset':
      if (!Array.isArray(items) || !items.every((pair) => Array.isArray(pair) && pair.length === 2 && isDumpBytes(pair[0]) && (typeof pair[1] === 'number' || pair[1] === 'inf' || pair[1] === '-inf'))) return 'a zset needs "value": [[member, score], ...]';
      break;
    case 'stream':
      if (!Array.isArray(items) || !items.every((entry) => Array.isArray(entry) && entry.length === 2 && typeof entry[0] === 'string' && /^\d+-\d+$/.test(entry[0]) && Array.isArray(entry[1]) && entry[1].length % 2 === 0 && entry[1].length > 0 && entry[1].every(isDumpBytes))) {
        return 'a stream needs "value": [["ms-seq", [field, value, ...]], ...]';
      }
      break;
    default:
      if (!Array.isArray(items) || !items.every(isDumpBytes)) return `a ${String(record.type)} needs "value": [element, ...]`;
  }
  return record as unknown as DumpEntry;
}

function isDumpBytes(value: unknown): value is DumpBytes {
  return typeof value === 'string' || (typeof value === 'object' && value !== null && typeof (value as { base64?: unknown }).base64 === 'string');
}

async function connectPipeline(context: ClientContext): Promise<PipelineConnection> {
  const connection = await PipelineConnection.connect(context.host, context.port, context.timeoutMs);
  if (context.password !== undefined) checkReply(await connection.request(['AUTH', context.password]), 'AUTH');
  return connection;
}

async function withPipeline(context: ClientContext, action: (connection: PipelineConnection) => Promise<number>): Promise<number> {
  let connection: PipelineConnection | undefined;
  try {
    connection = await connectPipeline(context);
    return await action(connection);
  } catch (error) {
    if (error instanceof CommandFailure || error instanceof ClientError) {
      context.stderr.write(`peerkv: ${error.message}\n`);
      return error instanceof CommandFailure ? error.exitCode : EXIT_FAILED;
    }
    throw error;
  } finally {
    connection?.close();
  }
}

interface Progress {
  update(value: number): void;
  stop(): void;
}

/** A cli-progress bar on a terminal (stderr), nothing otherwise. */
async function progressBar(stream: NodeJS.WritableStream, label: string, total: number, unit: string): Promise<Progress> {
  if ((stream as NodeJS.WriteStream).isTTY !== true || total <= 0) return { update: () => undefined, stop: () => undefined };
  const { SingleBar, Presets } = await import('cli-progress');
  const bar = new SingleBar({
    stream: stream as NodeJS.WriteStream,
    format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {eta_formatted} left`,
    fps: PROGRESS_FPS,
    hideCursor: true,
    clearOnComplete: true,
  }, Presets.shades_classic);
  bar.start(total, 0);
  return { update: (value) => bar.update(Math.min(value, total)), stop: () => bar.stop() };
}

function array(reply: RespReply, command: string): readonly RespReply[] {
  checkReply(reply, command);
  if (reply.type === 'array' || reply.type === 'set') return reply.value;
  if (reply.type === 'map') return reply.value.flatMap(([left, right]) => [left, right]);
  throw new CommandFailure(`${command}: unexpected reply type ${reply.type}`);
}

function bytesOf(reply: RespReply): Uint8Array {
  if (reply.type === 'bulk' || reply.type === 'verbatim') return reply.value;
  if (reply.type === 'simple') return Buffer.from(reply.value);
  if (reply.type === 'integer' || reply.type === 'double') return Buffer.from(String(reply.value));
  throw new CommandFailure(`unexpected reply type ${reply.type}`);
}

function valueCommand(type: DumpType, key: Uint8Array): RespArgument[] {
  switch (type) {
    case 'string': return ['GET', key];
    case 'hash': return ['HGETALL', key];
    case 'set': return ['SMEMBERS', key];
    case 'zset': return ['ZRANGE', key, '0', '-1', 'WITHSCORES'];
    case 'list': return ['LRANGE', key, '0', '-1'];
    case 'stream': return ['XRANGE', key, '-', '+'];
  }
}

/** The dump entry of one key from its value reply; undefined when the key went away meanwhile. */
function entryOf(key: Uint8Array, type: DumpType, reply: RespReply, expireAtMs: number | undefined): DumpEntry | undefined {
  if (reply.type === 'null') return undefined;
  const expiry = expireAtMs === undefined ? {} : { expireAtMs };
  const name = dumpBytes(key);
  if (type === 'string') {
    checkReply(reply, 'GET');
    return { key: name, type, value: dumpBytes(bytesOf(reply)), ...expiry };
  }
  const items = array(reply, valueCommand(type, key)[0] as string);
  if (items.length === 0) return undefined;
  if (type === 'stream') {
    const entries = items.map((item) => {
      const [id, fields] = array(item, 'XRANGE');
      return [Buffer.from(bytesOf(id!)).toString('latin1'), array(fields!, 'XRANGE').map((field) => dumpBytes(bytesOf(field)))] as const;
    });
    return { key: name, type, value: entries, ...expiry };
  }
  if (type === 'set' || type === 'list') return { key: name, type, value: items.map((item) => dumpBytes(bytesOf(item))), ...expiry };
  const pairs: [DumpBytes, DumpBytes][] = [];
  for (let index = 0; index + 1 < items.length; index += 2) pairs.push([dumpBytes(bytesOf(items[index]!)), dumpBytes(bytesOf(items[index + 1]!))]);
  if (type === 'hash') return { key: name, type, value: pairs, ...expiry };
  const scored = pairs.map(([member, score]) => [member, scoreOf(typeof score === 'string' ? score : Buffer.from(score.base64, 'base64').toString())] as const);
  return { key: name, type, value: scored, ...expiry };
}

export interface ExportSummary {
  readonly keys: number;
  readonly byType: Record<string, number>;
  readonly skipped: number;
}

export function runExport(context: ClientContext, pattern: string): Promise<number> {
  return withPipeline(context, async (connection) => {
    const out = context.stdout;
    const write = async (text: string) => {
      if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    };
    const dbsize = await connection.request(['DBSIZE']);
    const progress = await progressBar(context.stderr, 'export', dbsize.type === 'integer' ? Number(dbsize.value) : 0, 'keys');
    const byType: Record<string, number> = {};
    let exported = 0;
    let scanned = 0;
    let skipped = 0;
    try {
      await write(`${JSON.stringify(DUMP_HEADER)}\n`);
      let cursor = '0';
      do {
        const scan = array(await connection.request(['SCAN', cursor, 'MATCH', pattern, 'COUNT', String(EXPORT_SCAN_COUNT)]), 'SCAN');
        cursor = replyText(scan[0] ?? { type: 'null' }) ?? '0';
        const keys = array(scan[1] ?? { type: 'null' }, 'SCAN').map(bytesOf);
        scanned += keys.length;
        const [types, expiries] = await Promise.all([
          Promise.all(keys.map((key) => connection.request(['TYPE', key]))),
          Promise.all(keys.map((key) => connection.request(['PEXPIRETIME', key]))),
        ]);
        const values = await Promise.all(keys.map((key, index) => {
          const type = replyText(checkReply(types[index]!, 'TYPE')) as DumpType;
          return (DUMP_TYPES as readonly string[]).includes(type) ? connection.request(valueCommand(type, key)) : undefined;
        }));
        let text = '';
        keys.forEach((key, index) => {
          const type = replyText(types[index]!) as DumpType;
          const value = values[index];
          if (value === undefined) {
            // A type this dump format does not carry yet (e.g. a stream), or a key gone meanwhile.
            if (type !== 'none' as string) {
              skipped++;
              context.stderr.write(`peerkv: export skips ${JSON.stringify(dumpBytes(key))}: type ${type} is not in the dump format\n`);
            }
            return;
          }
          const expiry = checkReply(expiries[index]!, 'PEXPIRETIME');
          const expireAtMs = expiry.type === 'integer' && Number(expiry.value) > 0 ? Number(expiry.value) : undefined;
          const entry = entryOf(key, type, value, expireAtMs);
          if (entry === undefined) return;
          text += `${JSON.stringify(entry)}\n`;
          byType[type] = (byType[type] ?? 0) + 1;
          exported++;
        });
        if (text !== '') await write(text);
        progress.update(scanned);
      } while (cursor !== '0');
    } finally {
      progress.stop();
    }
    const summary: ExportSummary = { keys: exported, byType, skipped };
    context.stderr.write(context.json ? `${JSON.stringify(summary)}\n` : `exported ${exported} keys (${Object.entries(byType).map(([type, count]) => `${count} ${type}`).join(', ') || 'none'})\n`);
    return skipped > 0 ? EXIT_FAILED : EXIT_OK;
  });
}

export interface ImportSummary {
  readonly keys: number;
  readonly commands: number;
  readonly expiredSkipped: number;
  readonly errors: number;
  readonly seconds: number;
}

export function runImport(context: ClientContext, file: string): Promise<number> {
  let size = 0;
  if (file !== '-') {
    try {
      size = statSync(file).size;
    } catch (error) {
      context.stderr.write(`peerkv: cannot read ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message} (give a file written by peerkv export, or - for stdin)\n`);
      return Promise.resolve(EXIT_USAGE);
    }
  }
  return withPipeline(context, async (connection) => {
    const startedMs = performance.now();
    const progress = await progressBar(context.stderr, 'import', size, 'bytes');
    // Nothing may await between opening the stream and reading its lines, or data (and its end) go unread.
    const input = file === '-' ? process.stdin : createReadStream(file, { highWaterMark: 1 << 20 });
    const lines = createInterface({ input, crlfDelay: Infinity });
    const bytesRead = () => ('bytesRead' in input ? input.bytesRead : 0);
    let lineNumber = 0;
    let keys = 0;
    let commands = 0;
    let expiredSkipped = 0;
    try {
      for await (const line of lines) {
        lineNumber++;
        if (line.trim() === '') continue;
        const entry = parseDumpLine(line);
        if (entry === 'header') continue;
        if (typeof entry === 'string') throw new CommandFailure(`${file}:${lineNumber}: ${entry}; nothing after this line was imported (was the file written by peerkv export?)`);
        if (entry.expireAtMs !== undefined && entry.expireAtMs <= Date.now()) {
          expiredSkipped++;
          continue;
        }
        const entryCommands = importCommands(entry);
        for (const command of entryCommands) connection.post(command);
        commands += entryCommands.length;
        keys++;
        if (connection.inFlight >= IMPORT_WINDOW) {
          await connection.throttle(IMPORT_WINDOW / 2);
          progress.update(bytesRead());
        }
      }
      await connection.settle();
      progress.update(size);
    } finally {
      progress.stop();
      lines.close();
    }
    const seconds = (performance.now() - startedMs) / 1000;
    const summary: ImportSummary = { keys, commands, expiredSkipped, errors: connection.errorCount, seconds };
    if (context.json) context.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      context.stdout.write(`imported ${keys} keys in ${seconds.toFixed(2)} s (${Math.round(keys / Math.max(seconds, 1e-6))} keys/s)${expiredSkipped > 0 ? `, ${expiredSkipped} already expired and skipped` : ''}\n`);
    }
    if (connection.errorCount > 0) {
      throw new CommandFailure(`${connection.errorCount} commands failed, first: ${connection.errors[0]}${/^MISCONF/.test(connection.errors[0] ?? '') ? '' : ' (a key of another type that was written during the import?)'}`);
    }
    return EXIT_OK;
  });
}

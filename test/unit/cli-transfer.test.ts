// Proves `peerkv export` and `peerkv import` round-trip any keys of every type (binary keys and values, scores, expiry) through dump.jsonl, and that bad dump lines are refused with one line naming the line.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { RespClient } from '../../src/cli/client.js';
import { main } from '../../src/cli/main.js';
import { DUMP_HEADER, parseDumpLine, type DumpBytes, type DumpEntry } from '../../src/cli/transfer.js';
import type { RespServer } from '../../src/net/resp-listener.js';
import { MemoryEngine, startMemoryServer } from '../support/memory-engine.js';

let server: RespServer;
let dir: string;
const clockMs = Date.now();

before(async () => {
  ({ server } = await startMemoryServer({ engine: new MemoryEngine({ nowMs: () => clockMs }) }));
  dir = mkdtempSync(join(tmpdir(), 'peerkv-transfer-'));
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

/** A terminal as cli-progress sees one. */
class TerminalCapture extends Capture {
  readonly isTTY = true;
  readonly columns = 100;
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return cliWith(new Capture(), ...args);
}

async function cliWith(stderr: Capture, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Capture();
  const code = await main(['node', 'peerkv', '-p', String(server.port), ...args], { env: {}, stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** Entries of an export, keyed by their key's JSON, element order normalised where the type has none. */
function normalise(lines: string): Map<string, unknown> {
  const entries = new Map<string, unknown>();
  for (const line of lines.split('\n')) {
    if (line === '') continue;
    const entry = JSON.parse(line) as Record<string, unknown> & { value: unknown };
    if (entry.peerkv === 'dump') continue;
    const value = entry.type === 'set' || entry.type === 'hash' ? [...(entry.value as unknown[])].map((item) => JSON.stringify(item)).sort() : entry.value;
    entries.set(JSON.stringify(entry.key), { ...entry, value });
  }
  return entries;
}

const bytes: fc.Arbitrary<DumpBytes> = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.uint8Array({ minLength: 1, maxLength: 8 }).map((raw) => {
    const text = Buffer.from(raw).toString('utf8');
    return Buffer.from(text, 'utf8').equals(Buffer.from(raw)) ? text : { base64: Buffer.from(raw).toString('base64') };
  }),
);

const entry = (key: DumpBytes): fc.Arbitrary<DumpEntry> => {
  const expiry = fc.option(fc.integer({ min: clockMs + 60_000, max: clockMs + 1e10 }), { nil: undefined }).map((at) => (at === undefined ? {} : { expireAtMs: at }));
  const distinct = <T>(items: fc.Arbitrary<T>, by: (item: T) => string) => fc.uniqueArray(items, { minLength: 1, maxLength: 6, selector: (item) => by(item) });
  return fc.oneof(
    fc.tuple(bytes, expiry).map(([value, at]) => ({ key, type: 'string' as const, value, ...at })),
    fc.tuple(distinct(fc.tuple(bytes, bytes), ([field]) => JSON.stringify(field)), expiry).map(([value, at]) => ({ key, type: 'hash' as const, value, ...at })),
    fc.tuple(distinct(bytes, (member) => JSON.stringify(member)), expiry).map(([value, at]) => ({ key, type: 'set' as const, value, ...at })),
    fc.tuple(fc.array(bytes, { minLength: 1, maxLength: 6 }), expiry).map(([value, at]) => ({ key, type: 'list' as const, value, ...at })),
    fc.tuple(
      distinct(fc.tuple(bytes, fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).map((score) => (Object.is(score, -0) ? 0 : score)), fc.constantFrom('inf' as const, '-inf' as const))), ([member]) => JSON.stringify(member)),
      expiry,
    ).map(([value, at]) => ({ key, type: 'zset' as const, value: [...value].sort((left, right) => score(left[1]) - score(right[1]) || compareMembers(left[0], right[0])), ...at })),
    // A stream's entries: ascending ids, each with field/value pairs.
    fc.tuple(fc.array(fc.tuple(fc.integer({ min: 1, max: 1000 }), fc.array(bytes, { minLength: 1, maxLength: 3 })), { minLength: 1, maxLength: 5 }), expiry).map(([items, at]) => {
      let ms = 0;
      const value = items.map(([step, fields]) => [`${(ms += step)}-0`, fields.flatMap((field) => [field, field])] as const);
      return { key, type: 'stream' as const, value, ...at };
    }),
  );
};

function score(value: number | 'inf' | '-inf'): number {
  return value === 'inf' ? Infinity : value === '-inf' ? -Infinity : value;
}

function compareMembers(left: DumpBytes, right: DumpBytes): number {
  const raw = (value: DumpBytes) => (typeof value === 'string' ? Buffer.from(value) : Buffer.from(value.base64, 'base64'));
  return Buffer.compare(raw(left), raw(right));
}

test('import then export reproduces every entry: all types (streams too), binary keys and values, scores, expiry', async () => {
  const dumps = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 10 }), { minLength: 1, maxLength: 12 }).chain((keys) => fc.tuple(...keys.map((key) => entry(key))));
  let round = 0;
  await fc.assert(fc.asyncProperty(dumps, async (entries) => {
    const client = await RespClient.connect({ host: '127.0.0.1', port: server.port, timeoutMs: 5_000 });
    assert.equal((await client.command(['FLUSHALL'])).type, 'simple');
    client.close();
    const file = join(dir, `dump-${round++}.jsonl`);
    writeFileSync(file, [JSON.stringify(DUMP_HEADER), ...entries.map((item) => JSON.stringify(item))].join('\n') + '\n');
    const imported = await cli('import', file);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, new RegExp(`^imported ${entries.length} keys`));
    const exported = await cli('export');
    assert.equal(exported.code, 0, exported.stderr);
    const expected = normalise(entries.map((item) => JSON.stringify(item)).join('\n'));
    const actual = normalise(exported.stdout);
    for (const [key, value] of expected) assert.deepEqual(actual.get(key), value);
  }), { numRuns: 40 });
});

test('export --match narrows by glob; an expired entry is skipped on import', async () => {
  assert.equal((await cli('set', 'match:a', '1')).code, 0);
  assert.equal((await cli('set', 'other:b', '2')).code, 0);
  const exported = await cli('export', '--match', 'match:*');
  assert.equal(exported.code, 0);
  assert.deepEqual([...normalise(exported.stdout).keys()], ['"match:a"']);
  const file = join(dir, 'expired.jsonl');
  writeFileSync(file, `${JSON.stringify({ key: 'gone', type: 'string', value: 'x', expireAtMs: clockMs - 1000 })}\n`);
  const imported = await cli('import', file);
  assert.equal(imported.code, 0, imported.stderr);
  assert.match(imported.stdout, /imported 0 keys .*1 already expired and skipped/);
});

test('a bad dump line or a missing file is one line that says what to do', async () => {
  const file = join(dir, 'bad.jsonl');
  writeFileSync(file, `${JSON.stringify({ key: 'k', type: 'string', value: 'v' })}\n{"key":"x","type":"vectorset","value":[]}\n`);
  const bad = await cli('import', file);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^peerkv: .*bad\.jsonl:2: unknown "type" "vectorset" .*nothing after this line was imported/);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
  const missing = await cli('import', join(dir, 'nope.jsonl'));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^peerkv: cannot read .*nope\.jsonl: no such file \(give a file written by peerkv export, or - for stdin\)\n$/);
  assert.equal(parseDumpLine('{"peerkv":"dump","version":2}'), 'dump version 2 is not supported (this peerkv reads version 1)');
});

test('on a terminal, export and import draw a progress bar on stderr and still move every key', async () => {
  const client = await RespClient.connect({ host: '127.0.0.1', port: server.port, timeoutMs: 5_000 });
  await client.command(['FLUSHALL']);
  await client.command(['MSET', ...Array.from({ length: 300 }, (_, index) => [`tty:${index}`, String(index)]).flat()]);
  await client.command(['HSET', 'tty:h', 'f', 'v']);
  const exported = await cliWith(new TerminalCapture(), 'export');
  assert.equal(exported.code, 0, exported.stderr);
  assert.match(exported.stderr, /export \[.*\] \d+% \| \d+\/301 keys/);
  const file = join(dir, 'tty.jsonl');
  writeFileSync(file, exported.stdout);
  await client.command(['FLUSHALL']);
  // The bar is set up (an await) before the file is opened: no line may be lost meanwhile.
  const imported = await cliWith(new TerminalCapture(), 'import', file);
  assert.equal(imported.code, 0, imported.stderr);
  assert.match(imported.stdout, /^imported 301 keys/);
  assert.match(imported.stderr, /import \[/);
  const size = await client.command(['DBSIZE']);
  client.close();
  assert.deepEqual(size, { type: 'integer', value: 301 });
});

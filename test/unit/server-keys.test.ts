// Proves the generic key commands through a real listener with ioredis, with Redis 7.0's replies and errors: FLUSHALL/FLUSHDB (one flush row, no per-key events), RENAME/RENAMENX/COPY (every row kind re-keyed, counters copied by value, expiry kept), RANDOMKEY, TOUCH, OBJECT, TIME, EXPIRE's 64-bit arithmetic and NX/XX/GT/LT, EXPIRETIME, SCAN TYPE, KEYS, and INFO's type_conflicts, commandstats and errorstats.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { Redis } from 'ioredis';
import { MemoryEngine, startMemoryServer } from '../support/memory-engine.js';
import type { RespServer } from '../../src/net/resp-listener.js';
import type { ClientWrite } from '../../src/core/io.js';
import {
  encodeFieldValue,
  encodeHeader,
  encodeSlotTotal,
  encodeStringHeader,
  FLUSH_ROW_KEY,
  headerRowKey,
  keyPrefix,
  KeyType,
  parseRow,
  rowKey,
  RowKind,
  slotElement,
} from '../../src/core/rows.js';

let server: RespServer;
let engine: MemoryEngine;
let clockMs = Date.now();
const clients: Redis[] = [];
const OTHER_ORIGIN = 'ffffffffffffffffffffffffffffffff';

function client(): Redis {
  const redis = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 0, retryStrategy: () => null });
  clients.push(redis);
  return redis;
}

before(async () => {
  engine = new MemoryEngine({ nowMs: () => clockMs });
  ({ server } = await startMemoryServer({ engine }));
});

after(async () => {
  for (const redis of clients) redis.disconnect();
  await server.close();
});

const bytes = (text: string) => Buffer.from(text);

/** A hash as its rows (hash commands live elsewhere): header, fields, and optionally a counter slot of another node on one field. */
async function writeHash(key: string, fields: Record<string, string>, counted?: { field: string; increments: bigint }): Promise<void> {
  const writes: ClientWrite[] = [{ key: headerRowKey(bytes(key)), value: encodeHeader({ type: KeyType.Hash, base: undefined }), expiresAtMs: 0 }];
  for (const [field, value] of Object.entries(fields)) {
    writes.push({ key: rowKey(bytes(key), RowKind.Field, bytes(field)), value: encodeFieldValue({ bytes: bytes(value), observed: new Map() }), expiresAtMs: 0 });
  }
  if (counted !== undefined) {
    const element = slotElement(bytes(counted.field), OTHER_ORIGIN);
    writes.push({ key: rowKey(bytes(key), RowKind.Slot, element), value: encodeSlotTotal({ integer: counted.increments, float: 0 }), expiresAtMs: 0 });
  }
  await engine.write(writes);
}

/** A string counter: base value and another node's increments, as INCR on that node leaves them. */
async function writeCountedString(key: string, base: string, increments: bigint): Promise<void> {
  await engine.write([
    { key: headerRowKey(bytes(key)), value: encodeHeader({ type: KeyType.String, base: { bytes: bytes(base), observed: new Map() } }), expiresAtMs: 0 },
    { key: rowKey(bytes(key), RowKind.Slot, slotElement(new Uint8Array(0), OTHER_ORIGIN)), value: encodeSlotTotal({ integer: increments, float: 0 }), expiresAtMs: 0 },
  ]);
}

/** Live rows of a key by kind name, e.g. ['header', 'field:a', 'slot']. */
function rowsOf(key: string): string[] {
  const page = engine.scanRows(keyPrefix(bytes(key)), undefined, 10_000);
  return page.records
    .filter((record) => record.value !== null)
    .map((record) => {
      const row = parseRow(record.key)!;
      if (row.kind === RowKind.Header) return 'header';
      if (row.kind === RowKind.Field) return `field:${Buffer.from(row.element).toString()}`;
      return row.kind === RowKind.Slot ? 'slot' : `kind${row.kind}`;
    });
}

test('FLUSHALL and FLUSHDB [SYNC|ASYNC] write one flush row, empty the keyspace, and send no per-key events', async () => {
  const redis = client();
  const subscriber = client();
  const events: string[] = [];
  subscriber.on('pmessage', (_pattern: string, channel: string, event: string) => events.push(`${channel} ${event}`));
  await subscriber.psubscribe('__key*@0__:*');
  for (const form of [['flushall'], ['flushall', 'sync'], ['flushall', 'ASYNC'], ['flushdb'], ['flushdb', 'sync'], ['FLUSHDB', 'async']]) {
    await redis.mset('f1', 'a', 'f2', 'b');
    await writeHash('fh', { x: '1' });
    assert.equal(await redis.dbsize(), 3);
    const before = engine.writeCalls;
    assert.equal(await redis.call(form[0]!, ...form.slice(1)), 'OK', form.join(' '));
    assert.equal(engine.writeCalls, before + 1);
    assert.deepEqual(engine.lastWrites, [{ key: FLUSH_ROW_KEY, value: null, expiresAtMs: 0 }]);
    assert.equal(await redis.dbsize(), 0);
    assert.deepEqual(await redis.keys('*'), []);
    assert.deepEqual(rowsOf('fh'), []);
  }
  await assert.rejects(redis.call('flushall', 'now'), /^ReplyError: ERR syntax error$/);
  await assert.rejects(redis.call('flushdb', 'sync', 'async'), /^ReplyError: ERR syntax error$/);
  await redis.set('after', 'v');
  assert.equal(await redis.get('after'), 'v', 'writes after a flush live');
  await redis.ping(); // let the subscriber's events arrive
  await subscriber.ping();
  assert.ok(events.every((event) => !event.startsWith('__keyevent@0__:del') && !event.endsWith(' del')), `no del events: ${events.join(', ')}`);
  await subscriber.punsubscribe();
  await redis.flushall();
});

test('RENAME and RENAMENX: value and TTL move, the destination is replaced, same-key and missing-key answers as Redis', async () => {
  const redis = client();
  await redis.set('src', 'hello', 'EX', 100);
  assert.equal(await redis.rename('src', 'dst'), 'OK');
  assert.equal(await redis.get('dst'), 'hello');
  assert.equal(await redis.exists('src'), 0);
  assert.equal(await redis.ttl('dst'), 100);
  // The destination's TTL is not inherited.
  await redis.set('a', 'va');
  await redis.set('b', 'vb', 'EX', 100);
  await redis.rename('a', 'b');
  assert.equal(await redis.get('b'), 'va');
  assert.equal(await redis.ttl('b'), -1);
  await assert.rejects(redis.rename('nokey', 'x'), /^ReplyError: ERR no such key$/);
  await assert.rejects(redis.renamenx('nokey', 'x'), /^ReplyError: ERR no such key$/);
  assert.equal(await redis.rename('b', 'b'), 'OK');
  assert.equal(await redis.renamenx('b', 'b'), 0);
  await redis.del('b');
  await assert.rejects(redis.rename('b', 'b'), /^ReplyError: ERR no such key$/);
  await redis.mset('n1', 'foo', 'n2', 'bar');
  assert.equal(await redis.renamenx('n1', 'n2'), 0);
  assert.deepEqual(await redis.mget('n1', 'n2'), ['foo', 'bar']);
  assert.equal(await redis.renamenx('n1', 'n3'), 1);
  assert.deepEqual(await redis.mget('n1', 'n3'), [null, 'foo']);
  // Expired source: no such key.
  await redis.set('brief', 'v', 'PX', 10);
  clockMs += 10;
  await assert.rejects(redis.rename('brief', 'later'), /no such key/);
});

test('RENAME writes the destination clear, the re-keyed rows and the source clear in one write; other types and counters too', async () => {
  const redis = client();
  await writeHash('h', { a: '1', b: 'two' }, { field: 'a', increments: 5n });
  assert.equal(await redis.type('h'), 'hash');
  await redis.set('target', 'old');
  const before = engine.writeCalls;
  assert.equal(await redis.rename('h', 'target'), 'OK');
  assert.equal(engine.writeCalls, before + 1, 'one write() call: one batch');
  const keys = engine.lastWrites.map((write) => {
    const row = parseRow(write.key)!;
    return `${Buffer.from(row.key).toString()}:${row.kind}:${Buffer.from(row.element).toString()}`;
  });
  assert.deepEqual(keys, ['target:0:', 'target:1:', 'target:2:a', 'target:2:b', 'h:0:']);
  assert.equal(await redis.type('target'), 'hash');
  assert.equal(await redis.exists('h'), 0);
  assert.deepEqual(rowsOf('target'), ['header', 'field:a', 'field:b'], 'no slot rows: the counter is copied as its value');
  const fieldA = engine.get(rowKey(bytes('target'), RowKind.Field, bytes('a')))!;
  assert.deepEqual(fieldA.value, encodeFieldValue({ bytes: bytes('6'), observed: new Map() }), 'base 1 plus 5 counted elsewhere');
  // A counted string: the copy reads the same number and owns no other node's slot.
  await writeCountedString('counter', '10', 32n);
  assert.equal(await redis.get('counter'), '42');
  await redis.rename('counter', 'renamed');
  assert.equal(await redis.get('renamed'), '42');
  assert.deepEqual(rowsOf('renamed'), ['header']);
  assert.deepEqual(rowsOf('counter'), []);
  // A string that won a creation race over a hash: the hash's rows stay behind, dead, and are not copied.
  await writeHash('mixed', { a: '1' });
  await engine.write([{ key: headerRowKey(bytes('mixed')), value: encodeStringHeader(bytes('s')), expiresAtMs: 0 }]);
  assert.deepEqual(rowsOf('mixed'), ['header', 'field:a']);
  await redis.rename('mixed', 'mixed2');
  assert.deepEqual(rowsOf('mixed2'), ['header']);
  assert.equal(await redis.get('mixed2'), 's');
});

test('COPY: REPLACE, DB 0 only, same-key and missing-source answers, expiry copied, copies independent', async () => {
  const redis = client();
  await redis.set('c1', 'foobar');
  assert.equal(await redis.copy('c1', 'c2'), 1);
  assert.equal(await redis.get('c2'), 'foobar');
  await redis.set('c1', 'changed');
  assert.equal(await redis.get('c2'), 'foobar', 'the copy is independent');
  assert.equal(await redis.copy('c1', 'c2'), 0, 'no REPLACE: the destination stays');
  assert.equal(await redis.get('c2'), 'foobar');
  assert.equal(await redis.copy('c1', 'c2', 'REPLACE'), 1);
  assert.equal(await redis.get('c2'), 'changed');
  assert.equal(await redis.call('copy', 'c1', 'c3', 'DB', '0'), 1);
  await assert.rejects(redis.call('copy', 'c1', 'c4', 'DB', '1'), /^ReplyError: ERR DB index is out of range$/);
  await assert.rejects(redis.call('copy', 'c1', 'c4', 'DB', 'notanumber'), /^ReplyError: ERR value is not an integer or out of range$/);
  await assert.rejects(redis.call('copy', 'c1', 'c4', 'DB'), /^ReplyError: ERR syntax error$/);
  await assert.rejects(redis.call('copy', 'c1', 'c4', 'BOGUS'), /^ReplyError: ERR syntax error$/);
  await assert.rejects(redis.call('copy', 'c1', 'c1'), /^ReplyError: ERR source and destination objects are the same$/);
  assert.equal(await redis.copy('missing', 'c5'), 0);
  await redis.set('ex', 'v', 'EX', 100);
  await redis.copy('ex', 'ex-copy');
  assert.equal(await redis.ttl('ex-copy'), 100);
  assert.equal(await redis.copy('c1', 'ex-copy', 'REPLACE'), 1);
  assert.equal(await redis.ttl('ex-copy'), -1, 'no expiry when the source has none');
  await writeHash('hc', { f: 'v' }, { field: 'f', increments: 3n });
  assert.equal(await redis.copy('hc', 'hc2'), 1);
  assert.equal(await redis.type('hc'), 'hash');
  assert.deepEqual(rowsOf('hc2'), ['header', 'field:f']);
  assert.deepEqual(rowsOf('hc'), ['header', 'field:f', 'slot'], 'the source keeps its rows');
});

test('RENAME and COPY name row-derived keyspace events (not rename_from/rename_to/copy_to)', async () => {
  const redis = client();
  const subscriber = client();
  const events: string[] = [];
  subscriber.on('pmessage', (_pattern: string, channel: string, event: string) => events.push(`${channel.slice('__keyspace@0__:'.length)} ${event}`));
  await subscriber.psubscribe('__keyspace@0__:ev*');
  await redis.set('ev1', 'v');
  await redis.rename('ev1', 'ev2');
  await redis.copy('ev2', 'ev3');
  await redis.ping();
  const deadline = Date.now() + 2_000;
  while (events.length < 6 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.deepEqual(events, ['ev1 set', 'ev2 del', 'ev2 set', 'ev1 del', 'ev3 del', 'ev3 set']);
  await subscriber.punsubscribe();
});

test('RANDOMKEY and TOUCH', async () => {
  const redis = client();
  await redis.flushall();
  assert.equal(await redis.randomkey(), null);
  await redis.set('x', '10');
  await redis.del('x');
  assert.equal(await redis.randomkey(), null, 'a deleted key is never returned');
  await redis.mset('foo', 'x', 'bar', 'y');
  const seen = new Set<string>();
  for (let round = 0; round < 100; round++) seen.add((await redis.randomkey())!);
  assert.deepEqual([...seen].sort(), ['bar', 'foo']);
  assert.equal(await redis.call('touch', 'foo', 'bar', 'nope', 'foo'), 3);
  await assert.rejects(redis.call('touch'), /wrong number of arguments for 'touch'/);
});

test('OBJECT ENCODING REFCOUNT IDLETIME FREQ HELP', async () => {
  const redis = client();
  await redis.mset('int', '12345', 'neg', '-7', 'lead0', '012', 'short', 'hello', 'long', 'x'.repeat(45), 'edge', 'y'.repeat(44));
  const encoding = (key: string) => redis.call('object', 'encoding', key);
  assert.equal(await encoding('int'), 'int');
  assert.equal(await encoding('neg'), 'int');
  assert.equal(await encoding('lead0'), 'embstr');
  assert.equal(await encoding('short'), 'embstr');
  assert.equal(await encoding('edge'), 'embstr');
  assert.equal(await encoding('long'), 'raw');
  assert.equal(await encoding('missing'), null);
  await writeHash('small', { a: '1', b: '2' });
  assert.equal(await encoding('small'), 'listpack');
  await writeHash('wide', Object.fromEntries(Array.from({ length: 129 }, (_, index) => [`f${index}`, 'v'])));
  assert.equal(await encoding('wide'), 'hashtable');
  await writeHash('bigvalue', { a: 'z'.repeat(65) });
  assert.equal(await encoding('bigvalue'), 'hashtable');
  assert.equal(await redis.call('object', 'refcount', 'short'), 1);
  assert.equal(await redis.call('object', 'idletime', 'short'), 0);
  assert.equal(await redis.call('object', 'refcount', 'missing'), null);
  await assert.rejects(redis.call('object', 'freq', 'short'), /^ReplyError: ERR An LFU maxmemory policy is not selected, access frequency not tracked/);
  const help = (await redis.call('object', 'help')) as string[];
  assert.equal(help[0], 'OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:');
  assert.equal(help.at(-1), '    Print this help.');
  await assert.rejects(redis.call('object', 'bogus', 'k'), /^ReplyError: ERR unknown subcommand 'bogus'. Try OBJECT HELP.$/);
  await assert.rejects(redis.call('object', 'encoding'), /^ReplyError: ERR wrong number of arguments for 'object\|encoding' command$/);
  await assert.rejects(redis.call('object'), /^ReplyError: ERR wrong number of arguments for 'object' command$/);
});

test('TIME answers the node clock as seconds and microseconds', async () => {
  const redis = client();
  const [seconds, micros] = (await redis.call('time')) as [string, string];
  assert.equal(Number(seconds) * 1000 + Number(micros) / 1000, clockMs);
});

test('EXPIRE family: 64-bit overflow errors, option errors before the number, NX XX GT LT, past times delete', async () => {
  const redis = client();
  await redis.set('foo', 'bar');
  for (const amount of ['9223370399119966', '9223372036854776', '10000000000000000', '18446744073709561', '-9223372036854776', '-9999999999999999']) {
    await assert.rejects(redis.call('expire', 'foo', amount), /^ReplyError: ERR invalid expire time in 'expire' command$/, amount);
  }
  await assert.rejects(redis.call('pexpire', 'foo', '9223372036854770000'), /^ReplyError: ERR invalid expire time in 'pexpire' command$/);
  await assert.rejects(redis.call('expire', 'foo', ''), /^ReplyError: ERR value is not an integer or out of range$/);
  await assert.rejects(redis.call('expire', 'foo', 'abc', 'BOGUS'), /^ReplyError: ERR Unsupported option BOGUS$/);
  await assert.rejects(redis.call('expire', 'foo', '10', 'NX', 'XX'), /^ReplyError: ERR NX and XX, GT or LT options at the same time are not compatible$/);
  await assert.rejects(redis.call('expire', 'foo', '10', 'GT', 'LT'), /^ReplyError: ERR GT and LT options at the same time are not compatible$/);
  assert.equal(await redis.ttl('foo'), -1);
  assert.equal(await redis.call('pexpireat', 'foo', '9223372036854770000'), 1, 'far future: kept, as far as a record can say');
  assert.ok((await redis.pttl('foo')) > 1e15);
  assert.equal(await redis.call('pexpireat', 'foo', '-9223372036854770000'), 1);
  assert.equal(await redis.ttl('foo'), -2, 'a time in the past deletes');
  await redis.set('foo', 'bar', 'EX', 100);
  assert.equal(await redis.call('expire', 'foo', 200, 'NX'), 0);
  assert.equal(await redis.call('expire', 'foo', 200, 'XX'), 1);
  assert.equal(await redis.ttl('foo'), 200);
  assert.equal(await redis.call('expire', 'foo', 100, 'GT'), 0);
  assert.equal(await redis.call('expire', 'foo', 300, 'GT'), 1);
  assert.equal(await redis.call('expire', 'foo', 400, 'LT'), 0);
  assert.equal(await redis.call('expire', 'foo', 50, 'LT', 'XX'), 1);
  assert.equal(await redis.ttl('foo'), 50);
  await redis.set('plain', 'v');
  assert.equal(await redis.call('expire', 'plain', 100, 'GT'), 0, 'no expiry counts as infinite for GT');
  assert.equal(await redis.call('expire', 'plain', 100, 'LT'), 1, '...and for LT');
  for (const option of ['NX', 'XX', 'GT', 'LT']) assert.equal(await redis.call('expire', 'none', 100, option), 0);
  assert.equal(await redis.call('expire', 'foo', -10, 'LT'), 1);
  assert.equal(await redis.ttl('foo'), -2);
});

test('EXPIRETIME and PEXPIRETIME: absolute times, -1 without expiry, -2 when missing', async () => {
  const redis = client();
  const atSeconds = Math.floor(clockMs / 1000) + 100;
  await redis.set('x', 'v', 'EXAT', atSeconds);
  assert.equal(await redis.call('expiretime', 'x'), atSeconds);
  assert.equal(await redis.call('pexpiretime', 'x'), atSeconds * 1000);
  await redis.set('x', 'v', 'PXAT', clockMs + 123_456);
  assert.equal(await redis.call('pexpiretime', 'x'), clockMs + 123_456);
  await redis.set('y', 'v');
  assert.deepEqual([await redis.call('expiretime', 'y'), await redis.call('pexpiretime', 'y')], [-1, -1]);
  assert.deepEqual([await redis.call('expiretime', 'nope'), await redis.call('pexpiretime', 'nope')], [-2, -2]);
});

test('SCAN TYPE and MATCH, KEYS with patterns', async () => {
  const redis = client();
  await redis.flushall();
  for (let index = 0; index < 50; index++) await redis.set(`s:${index}`, 'v');
  await writeHash('h:1', { a: '1' });
  await writeHash('h:2', { a: '1' });
  const scanAll = async (...options: string[]) => {
    const found = new Set<string>();
    let cursor = '0';
    do {
      const [next, keys] = (await redis.call('scan', cursor, ...options)) as [string, string[]];
      for (const key of keys) found.add(key);
      cursor = next;
    } while (cursor !== '0');
    return [...found].sort();
  };
  assert.equal((await scanAll('TYPE', 'string')).length, 50);
  assert.deepEqual(await scanAll('TYPE', 'hash'), ['h:1', 'h:2']);
  assert.deepEqual(await scanAll('TYPE', 'list'), []);
  assert.deepEqual(await scanAll('TYPE', 'string', 'MATCH', 's:1?', 'COUNT', '3'), Array.from({ length: 10 }, (_, index) => `s:1${index}`).sort());
  assert.deepEqual(await redis.call('scan', '18446744073709551615', 'COUNT', '10000000000000000'), ['0', []], 'a cursor past the end');
  await assert.rejects(redis.call('scan', '18446744073709551616'), /^ReplyError: ERR invalid cursor$/);
  await assert.rejects(redis.call('scan', '-1'), /^ReplyError: ERR invalid cursor$/);
  await assert.rejects(redis.call('scan', '0', 'COUNT', '0'), /^ReplyError: ERR syntax error$/);
  await assert.rejects(redis.call('scan', '0', 'COUNT', 'x'), /^ReplyError: ERR value is not an integer or out of range$/);
  await assert.rejects(redis.call('scan', '0', 'TYPE'), /^ReplyError: ERR syntax error$/);
  assert.deepEqual((await redis.keys('h:*')).sort(), ['h:1', 'h:2']);
  assert.equal((await redis.keys('*')).length, 52);
  assert.deepEqual(await redis.keys('a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b'), []);
});

test('INFO: type_conflicts in # Stats; commandstats and errorstats only when asked for', async () => {
  const redis = client();
  await redis.get('k');
  await assert.rejects(redis.call('get'), /wrong number of arguments/);
  const stats = await redis.info('stats');
  assert.match(stats, /\r\ntype_conflicts:0\r\n/);
  const everything = await redis.info('everything');
  assert.match(everything, /# Commandstats\r\n/);
  assert.match(everything, /\r\ncmdstat_get:calls=\d+,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=1,failed_calls=0\r\n/);
  assert.match(everything, /\r\nerrorstat_ERR:count=\d+\r\n/);
  assert.doesNotMatch(await redis.info(), /cmdstat_|rejected_calls/);
  assert.doesNotMatch(await redis.info('default'), /cmdstat_/);
  assert.match(await redis.info('commandSTATS'), /^# Commandstats\r\ncmdstat_/);
});

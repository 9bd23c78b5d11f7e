// Proves MULTI/EXEC/DISCARD/WATCH/UNWATCH through a real listener with Redis 7.0's replies: queued commands run back to back and see each other, their writes reach the engine as ONE write whose failure fails the whole EXEC, queueing errors abort with EXECABORT, and WATCH aborts EXEC on local writes, rows applied from peers, lazy expiry and FLUSHALL, but not on deleting keys that were absent or already expired.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis, type RedisOptions } from 'ioredis';
import { MemoryEngine, RawClient, startMemoryServer } from '../support/memory-engine.js';
import type { RespServer } from '../../src/net/resp-listener.js';
import { clearRowKey, encodeStringHeader, FLUSH_ROW_KEY, headerRowKey } from '../../src/core/rows.js';
import { utf8 } from '../../src/core/bytes.js';
import type { VersionedRecord } from '../../src/core/types.js';

let server: RespServer;
let engine: MemoryEngine;
let clockMs = Date.now();
const clients: Redis[] = [];
const raws: RawClient[] = [];

function client(options: RedisOptions = {}): Redis {
  const redis = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 0, retryStrategy: () => null, ...options });
  clients.push(redis);
  return redis;
}

async function raw(): Promise<RawClient> {
  const connection = new RawClient(server.port);
  raws.push(connection);
  await connection.connected;
  return connection;
}

/** Send inline commands one per line; wait until `replies` CRLF-terminated lines arrived after what was there. */
async function exchange(connection: RawClient, lines: string[], until: (text: string) => boolean): Promise<string> {
  const before = connection.text().length;
  connection.send(lines.map((line) => `${line}\r\n`).join(''));
  const text = await connection.waitFor((all) => until(all.slice(before)));
  return text.slice(before);
}

/** A row written on another node, newer than anything here. */
function remoteRow(key: Uint8Array, value: Uint8Array | null): VersionedRecord {
  return { key, value, hlc: { wallMs: clockMs + 1, logical: 0 }, origin: 'f'.repeat(32), expiresAtMs: 0 };
}

before(async () => {
  engine = new MemoryEngine({ nowMs: () => clockMs });
  ({ server } = await startMemoryServer({ engine }));
});

after(async () => {
  for (const redis of clients) redis.disconnect();
  for (const connection of raws) connection.destroy();
  await server.close();
});

test('MULTI queues, EXEC runs in order and later commands see earlier ones', async () => {
  const redis = client();
  await redis.set('t:old', 'x');
  const result = await redis
    .multi()
    .set('t:k', '1')
    .get('t:k')
    .set('t:k', '2', 'GET')
    .mget('t:k', 't:old', 't:none')
    .getdel('t:old')
    .exists('t:old', 't:k')
    .setnx('t:k', 'no')
    .del('t:k')
    .get('t:k')
    .set('t:k', '3', 'EX', 100)
    .ttl('t:k')
    .type('t:k')
    .exec();
  assert.deepEqual(result, [
    [null, 'OK'],
    [null, '1'],
    [null, '1'],
    [null, ['2', 'x', null]],
    [null, 'x'],
    [null, 1],
    [null, 0],
    [null, 1],
    [null, null],
    [null, 'OK'],
    [null, 100],
    [null, 'string'],
  ]);
  assert.equal(await redis.get('t:k'), '3');
  assert.equal(await redis.exists('t:old'), 0);
});

test('every write of an EXEC reaches the engine as one write call', async () => {
  const redis = client();
  const before = engine.writeCalls;
  await redis.multi().set('one:a', '1').mset('one:b', '2', 'one:c', '3').del('one:a').expire('one:b', 50).get('one:c').exec();
  assert.equal(engine.writeCalls - before, 1, 'one client write for the whole transaction');
  assert.ok(engine.lastWrites.length >= 4, 'with every row of it, in order');
  assert.deepEqual(await redis.mget('one:a', 'one:b', 'one:c'), [null, '2', '3']);
  const readOnly = engine.writeCalls;
  await redis.multi().get('one:b').ping().exec();
  assert.equal(engine.writeCalls, readOnly, 'a transaction without writes writes nothing');
});

test('KEYS, SCAN and DBSIZE inside EXEC see the transaction\'s own keys', async () => {
  const redis = client();
  await redis.set('scan:gone', 'x');
  const keys = await redis.keys('scan:*');
  assert.deepEqual(keys, ['scan:gone']);
  const size = await redis.dbsize();
  const result = await redis.multi().set('scan:new', '1').del('scan:gone').keys('scan:*').dbsize().exec();
  assert.deepEqual(result![2], [null, ['scan:new']]);
  assert.deepEqual(result![3], [null, size]);
});

test('errors of commands inside EXEC are elements of its reply; the others run', async () => {
  const redis = client();
  const result = await redis.multi().set('e:k', 'v').set('e:k', 'v', 'EX', 'soon').get('e:k').exec();
  assert.equal(result![0]![1], 'OK');
  assert.match(String(result![1]![0]), /ERR value is not an integer/);
  assert.equal(result![2]![1], 'v');
});

test('queueing errors, nesting and misplaced commands reply as Redis 7.0', async () => {
  const connection = await raw();
  assert.equal(await exchange(connection, ['EXEC'], (text) => text.endsWith('\r\n')), '-ERR EXEC without MULTI\r\n');
  assert.equal(await exchange(connection, ['DISCARD'], (text) => text.endsWith('\r\n')), '-ERR DISCARD without MULTI\r\n');
  const nested = await exchange(connection, ['MULTI', 'MULTI', 'WATCH x', 'SET q:a 1', 'EXEC'], (text) => text.split('\r\n').length >= 7);
  assert.equal(nested, '+OK\r\n-ERR MULTI calls can not be nested\r\n-ERR WATCH inside MULTI is not allowed\r\n+QUEUED\r\n*1\r\n+OK\r\n');
  const aborted = await exchange(connection, ['MULTI', 'SET q:b 1', 'NOSUCHCOMMAND x', 'SET q:c 1', 'GET', 'EXEC'], (text) => text.includes('EXECABORT'));
  assert.equal(
    aborted,
    "+OK\r\n+QUEUED\r\n-ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'x' \r\n+QUEUED\r\n" +
      "-ERR wrong number of arguments for 'get' command\r\n-EXECABORT Transaction discarded because of previous errors.\r\n",
  );
  assert.equal(await exchange(connection, ['EXISTS q:b q:c', 'PING'], (text) => text.includes('PONG')), ':0\r\n+PONG\r\n', 'nothing ran; MULTI state cleared');
});

test('DISCARD drops the queue; QUIT and RESET act at once inside MULTI', async () => {
  const redis = client();
  await redis.set('d:k', 'kept');
  const connection = await raw();
  const discarded = await exchange(connection, ['MULTI', 'DEL d:k', 'DISCARD', 'GET d:k'], (text) => text.includes('kept'));
  assert.equal(discarded, '+OK\r\n+QUEUED\r\n+OK\r\n$4\r\nkept\r\n');
  const reset = await exchange(connection, ['MULTI', 'DEL d:k', 'RESET', 'EXEC'], (text) => text.includes('EXEC without'));
  assert.equal(reset, '+OK\r\n+QUEUED\r\n+RESET\r\n-ERR EXEC without MULTI\r\n');
  assert.equal(await redis.get('d:k'), 'kept');
  const quitting = await exchange(connection, ['MULTI', 'QUIT'], (text) => text.split('\r\n').length >= 3);
  assert.equal(quitting, '+OK\r\n+OK\r\n');
  assert.equal(await connection.waitClosed(), true);
});

test('CLIENT LIST shows a connection inside MULTI and how many commands it queued', async () => {
  const redis = client();
  await redis.multi({ pipeline: false });
  await redis.get('x');
  await redis.get('y');
  const line = (await client().client('LIST')) as string;
  const own = line.split('\n').find((entry) => entry.includes('cmd=get') && entry.includes('flags=x'));
  assert.ok(own?.includes('multi=2'), line);
  await redis.discard();
});

test('a failed commit fails the whole EXEC with one error, after every command ran', async () => {
  const connection = await raw();
  await exchange(connection, ['MULTI', 'SET f:a 1', 'GET f:a', 'SET f:b 2'], (text) => text.split('\r\n').length >= 5);
  engine.failNextWrite = new Error('disk full');
  const reply = await exchange(connection, ['EXEC', 'PING'], (text) => text.includes('PONG'));
  assert.equal(reply, '-ERR write not committed: disk full\r\n+PONG\r\n');
});

test('WATCH: EXEC runs when nothing changed, returns null when another client wrote a watched key', async () => {
  const redis = client();
  const other = client();
  await redis.set('w:x', '30');
  await redis.watch('w:a', 'w:x', 'w:z');
  assert.deepEqual(await redis.multi().ping().exec(), [[null, 'PONG']], 'unchanged');
  await redis.watch('w:x');
  await other.set('w:x', '40');
  assert.equal(await redis.multi().ping().exec(), null, 'changed by another client');
  await redis.watch('w:x');
  await other.expire('w:x', 100);
  assert.equal(await redis.multi().ping().exec(), null, 'EXPIRE touches the key');
  await redis.watch('w:x');
  await other.set('w:x', '50');
  await redis.unwatch();
  assert.deepEqual(await redis.multi().ping().exec(), [[null, 'PONG']], 'UNWATCH forgets');
  await redis.watch('w:x');
  await other.set('w:x', '60');
  await redis.multi({ pipeline: false });
  await redis.discard();
  assert.deepEqual(await redis.multi().set('w:x', '70').exec(), [[null, 'OK']], 'DISCARD unwatches and clears the dirty mark');
  await redis.watch('w:x');
  await redis.multi().ping().exec();
  await other.set('w:x', '80');
  assert.deepEqual(await redis.multi().ping().exec(), [[null, 'PONG']], 'EXEC unwatches');
});

test('WATCH sees rows applied from a peer, but not a peer deleting a key that was absent here', async () => {
  const redis = client();
  await redis.set('r:x', '1');
  await redis.watch('r:x');
  engine.applyRemote([remoteRow(headerRowKey(utf8('r:x')), encodeStringHeader(utf8('remote')))]);
  assert.equal(await redis.multi().get('r:x').exec(), null);
  await redis.watch('r:absent');
  engine.applyRemote([remoteRow(clearRowKey(utf8('r:absent')), null)]);
  assert.deepEqual(await redis.multi().ping().exec(), [[null, 'PONG']]);
  await redis.watch('r:x');
  engine.applyRemote([{ ...remoteRow(clearRowKey(utf8('r:x')), null), hlc: { wallMs: clockMs + 2, logical: 0 } }]);
  assert.equal(await redis.multi().ping().exec(), null, 'a peer deleted a watched key');
});

test('WATCH and expiry: a key that expires after WATCH aborts EXEC, one already expired does not', async () => {
  const redis = client();
  await redis.set('x:lazy', '1', 'PX', 100);
  await redis.watch('x:lazy');
  clockMs += 200; // expired, not swept
  assert.equal(await redis.multi().ping().exec(), null, 'lazy expiry counts as a change');
  await redis.set('x:swept', '1', 'PX', 100);
  await redis.watch('x:swept');
  clockMs += 200;
  engine.sweepExpired();
  assert.equal(await redis.multi().ping().exec(), null, 'the sweep\'s expired event counts too');
  await redis.set('x:stale', 'foo', 'PX', 1);
  clockMs += 2;
  await redis.watch('x:stale');
  engine.sweepExpired();
  assert.equal(await redis.exists('x:stale'), 0);
  assert.deepEqual(await redis.multi().ping().exec(), [[null, 'PONG']], 'watching a stale key: its removal is no change');
});

test('FLUSHALL touches watched keys that existed, not absent ones', async () => {
  const redis = client();
  await redis.set('fl:x', '30');
  await redis.watch('fl:x');
  await engine.write([{ key: FLUSH_ROW_KEY, value: null, expiresAtMs: 0 }]); // FLUSHALL by another client
  assert.equal(await redis.multi().ping().exec(), null);
  await redis.watch('fl:absent');
  await engine.write([{ key: FLUSH_ROW_KEY, value: null, expiresAtMs: 0 }]);
  assert.deepEqual(await redis.multi().ping().exec(), [[null, 'PONG']]);
});

test('a closing connection drops its watches and its transaction; nobody listens for events after', async () => {
  const listenersBefore = engine.listenerCount();
  const redis = client();
  await redis.watch('c:a', 'c:b');
  assert.equal(engine.listenerCount(), listenersBefore + 1, 'watching listens to keyspace events');
  await redis.multi({ pipeline: false });
  await redis.set('c:a', '1');
  redis.disconnect();
  for (let attempt = 0; attempt < 100 && engine.listenerCount() !== listenersBefore; attempt++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(engine.listenerCount(), listenersBefore);
  assert.equal(await client().exists('c:a'), 0, 'the queued SET never ran');
});

test('RESP3: an EXEC aborted by WATCH replies with the RESP3 null', async () => {
  const connection = await raw();
  const other = client();
  await exchange(connection, ['HELLO 3'], (text) => text.includes('modules'));
  await exchange(connection, ['WATCH r3:k'], (text) => text.includes('+OK'));
  await other.set('r3:k', '1');
  const reply = await exchange(connection, ['MULTI', 'PING', 'EXEC'], (text) => text.split('\r\n').length >= 4);
  assert.equal(reply, '+OK\r\n+QUEUED\r\n_\r\n');
});

test('a pipeline of MULTI, commands, EXEC and reads after it sees the transaction whole', async () => {
  const connection = await raw();
  const reply = await exchange(connection, ['MULTI', 'SET p:a 1', 'SET p:b 2', 'EXEC', 'MGET p:a p:b'], (text) => text.split('\r\n').length >= 13);
  assert.equal(reply, '+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n+OK\r\n*2\r\n$1\r\n1\r\n$1\r\n2\r\n');
});

test('a reply deferred inside EXEC (WAIT) fills in; a failed commit replaces it with the rest of the EXEC reply', async () => {
  const connection = await raw();
  engine.waitReplicas = 0;
  const ok = await exchange(connection, ['MULTI', 'SET dw:a 1', 'WAIT 0 0', 'EXEC'], (text) => text.split('\r\n').length >= 7);
  assert.equal(ok, '+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n:0\r\n');
  await exchange(connection, ['MULTI', 'SET dw:b 1', 'WAIT 0 0'], (text) => text.split('\r\n').length >= 4);
  engine.failNextWrite = new Error('disk gone');
  const failed = await exchange(connection, ['EXEC', 'PING'], (text) => text.includes('PONG'));
  assert.equal(failed, '-ERR write not committed: disk gone\r\n+PONG\r\n');
});

// Proves every command group works through a real listener with ioredis (RESP2 and RESP3): strings, keys, TTLs, WAIT, connection, CONFIG/INFO/COMMAND, binary values, pipelining and error replies.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { Redis, type RedisOptions } from 'ioredis';
import { MemoryEngine, RawClient, startMemoryServer } from '../support/memory-engine.js';
import type { RespServer } from '../../src/net/resp-listener.js';

let server: RespServer;
let engine: MemoryEngine;
let clockMs = Date.now();
const clients: Redis[] = [];

function client(options: RedisOptions = {}): Redis {
  const redis = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 0, retryStrategy: () => null, ...options });
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

test('GET SET MGET MSET with binary keys and values', async () => {
  const redis = client();
  const key = Buffer.from([0, 1, 2, 0xff, 13, 10]);
  const value = Buffer.from([0xde, 0xad, 0, 0xbe, 0xef, 13, 10, 0]);
  assert.equal(await redis.set(key, value), 'OK');
  assert.ok((await redis.getBuffer(key))?.equals(value));
  assert.equal(await redis.get('absent'), null);
  assert.equal(await redis.mset('m1', 'a', 'm2', 'b'), 'OK');
  assert.deepEqual(await redis.mget('m1', 'nope', 'm2'), ['a', null, 'b']);
  assert.equal(await redis.strlen('m1'), 1);
  assert.equal(await redis.set('empty', ''), 'OK');
  assert.equal(await redis.get('empty'), '');
  const big = Buffer.alloc(3 * 1024 * 1024, 'x');
  await redis.set('big', big);
  assert.equal((await redis.getBuffer('big'))?.length, big.length);
});

test('SET options: NX XX GET KEEPTTL EX PX EXAT PXAT', async () => {
  const redis = client();
  assert.equal(await redis.set('s1', 'v1', 'NX'), 'OK');
  assert.equal(await redis.set('s1', 'v2', 'NX'), null);
  assert.equal(await redis.set('s-absent', 'v', 'XX'), null);
  assert.equal(await redis.set('s1', 'v3', 'XX', 'GET'), 'v1');
  assert.equal(await redis.get('s1'), 'v3');
  assert.equal(await redis.set('s1', 'v4', 'EX', 100), 'OK');
  assert.equal(await redis.ttl('s1'), 100);
  assert.equal(await redis.set('s1', 'v5', 'KEEPTTL'), 'OK');
  assert.equal(await redis.pttl('s1'), 100_000);
  assert.equal(await redis.set('s1', 'v6'), 'OK');
  assert.equal(await redis.ttl('s1'), -1);
  await redis.set('s2', 'v', 'PX', 1500);
  assert.equal(await redis.pttl('s2'), 1500);
  await redis.set('s3', 'v', 'PXAT', clockMs + 5000);
  assert.equal(await redis.pttl('s3'), 5000);
  await redis.call('SET', 's4', 'v', 'EXAT', Math.floor(clockMs / 1000) - 10);
  assert.equal(await redis.exists('s4'), 0);
  await assert.rejects(redis.call('SET', 's1', 'v', 'EX', 0), /invalid expire time in 'set' command/);
  await assert.rejects(redis.call('SET', 's1', 'v', 'EX', 'abc'), /value is not an integer/);
  await assert.rejects(redis.call('SET', 's1', 'v', 'NX', 'XX'), /syntax error/);
  await assert.rejects(redis.call('SET', 's1', 'v', 'EX', 10, 'PX', 10), /syntax error/);
  await assert.rejects(redis.call('SET', 's1', 'v', 'BOGUS'), /syntax error/);
});

test('expiry: keys read as absent once their time passes', async () => {
  const redis = client();
  await redis.set('e1', 'v', 'PX', 1000);
  assert.equal(await redis.get('e1'), 'v');
  clockMs += 1000;
  assert.equal(await redis.get('e1'), null);
  assert.equal(await redis.ttl('e1'), -2);
  assert.equal(await redis.exists('e1'), 0);
  assert.equal(await redis.type('e1'), 'none');
});

test('EXPIRE PEXPIRE PERSIST with NX XX GT LT, and expiry in the past deletes', async () => {
  const redis = client();
  await redis.set('t1', 'v');
  assert.equal(await redis.expire('t-absent', 10), 0);
  assert.equal(await redis.call('EXPIRE', 't1', 100, 'XX'), 0);
  assert.equal(await redis.call('EXPIRE', 't1', 100, 'NX'), 1);
  assert.equal(await redis.call('EXPIRE', 't1', 50, 'GT'), 0);
  assert.equal(await redis.call('EXPIRE', 't1', 200, 'GT'), 1);
  assert.equal(await redis.call('EXPIRE', 't1', 300, 'LT'), 0);
  assert.equal(await redis.call('PEXPIRE', 't1', 5000, 'LT'), 1);
  assert.equal(await redis.pttl('t1'), 5000);
  assert.equal(await redis.call('PEXPIRETIME', 't1'), clockMs + 5000);
  assert.equal(await redis.persist('t1'), 1);
  assert.equal(await redis.persist('t1'), 0);
  assert.equal(await redis.ttl('t1'), -1);
  assert.equal(await redis.get('t1'), 'v');
  await assert.rejects(redis.call('EXPIRE', 't1', 10, 'NX', 'XX'), /not compatible/);
  await assert.rejects(redis.call('EXPIRE', 't1', 10, 'GT', 'LT'), /not compatible/);
  assert.equal(await redis.expire('t1', -1), 1);
  assert.equal(await redis.exists('t1'), 0);
  assert.equal(engine.lastWrites[0]!.value, null);
});

test('DEL UNLINK EXISTS TYPE DBSIZE KEYS SCAN', async () => {
  const redis = client();
  await redis.mset('k:a', '1', 'k:b', '2', 'k:c', '3', 'other', '4');
  assert.equal(await redis.exists('k:a', 'k:a', 'nope'), 2);
  assert.equal(await redis.type('k:a'), 'string');
  assert.deepEqual((await redis.keys('k:*')).sort(), ['k:a', 'k:b', 'k:c']);
  assert.deepEqual((await redis.keys('k:[ab]')).sort(), ['k:a', 'k:b']);
  const seen = new Set<string>();
  let cursor = '0';
  let rounds = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', 'k:*', 'COUNT', 1);
    for (const key of keys) seen.add(key);
    cursor = next;
    rounds++;
  } while (cursor !== '0' && rounds < 1000);
  assert.deepEqual([...seen].sort(), ['k:a', 'k:b', 'k:c']);
  await assert.rejects(redis.call('SCAN', 'x'), /invalid cursor/);
  const before = await redis.dbsize();
  assert.equal(await redis.del('k:a', 'k:a', 'nope'), 1);
  assert.equal(await redis.unlink('k:b', 'k:c'), 2);
  assert.equal(await redis.dbsize(), before - 3);
});

test('pipelining: many commands in one write, replies in order, one reply write', async () => {
  const redis = client();
  await redis.ping();
  const pipeline = redis.pipeline();
  for (let index = 0; index < 200; index++) {
    pipeline.set(`p${index}`, `v${index}`);
    pipeline.get(`p${index}`);
    pipeline.call('NOSUCHCOMMAND', 'unknown-command-for-peerkv');
  }
  const results = (await pipeline.exec())!;
  for (let index = 0; index < 200; index++) {
    assert.deepEqual(results[index * 3], [null, 'OK']);
    assert.deepEqual(results[index * 3 + 1], [null, `v${index}`]);
    assert.match(String(results[index * 3 + 2]![0]), /unknown command 'NOSUCHCOMMAND'/);
  }
  // The same through a raw socket so we know the bytes went out in one write.
  const raw = new RawClient(server.port);
  await raw.connected;
  const writesBefore = server.stats().replyWrites!;
  raw.send('*3\r\n$3\r\nSET\r\n$2\r\nr1\r\n$1\r\nx\r\n*2\r\n$3\r\nGET\r\n$2\r\nr1\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n');
  const text = await raw.waitFor((received) => received.endsWith('$2\r\nhi\r\n'));
  assert.equal(text, '+OK\r\n$1\r\nx\r\n+PONG\r\n$2\r\nhi\r\n');
  assert.equal(server.stats().replyWrites! - writesBefore, 1);
  raw.destroy();
});

test('PEERKV.QGET reads through engine.quorumGet, in order with the pipeline', async () => {
  const redis = client();
  const results = (await redis.pipeline().set('q', 'quorum').call('PEERKV.QGET', 'q').call('PEERKV.QGET', 'q-absent', 50).get('q').exec())!;
  assert.deepEqual(results, [[null, 'OK'], [null, 'quorum'], [null, null], [null, 'quorum']]);
  await assert.rejects(redis.call('PEERKV.QGET', 'q', 0), /timeout/);
});

test('a failed commit turns only that reply into an error', async () => {
  const redis = client();
  engine.failNextWrite = new Error('disk full');
  const results = (await redis.pipeline().set('f1', 'a').set('f2', 'b').get('f2').exec())!;
  assert.match(String(results[0]![0]), /write not committed: disk full/);
  assert.deepEqual(results[1], [null, 'OK']);
  assert.deepEqual(results[2], [null, 'b']);
});

test('WAIT resolves with what the engine reports, after this connection\'s writes', async () => {
  const redis = client();
  engine.waitReplicas = 2;
  const results = (await redis.pipeline().set('w', '1').call('WAIT', 2, 100).exec())!;
  assert.deepEqual(results[1], [null, 2]);
  await assert.rejects(redis.call('WAIT', 1, -1), /timeout is negative/);
  engine.waitReplicas = 0;
});

test('connection commands: PING ECHO SELECT CLIENT HELLO QUIT', async () => {
  const redis = client({ protocol: 2 });
  assert.equal(await redis.ping(), 'PONG');
  assert.equal(await redis.ping('hey'), 'hey');
  assert.equal(await redis.echo('bin\0ary'), 'bin\0ary');
  assert.equal(await redis.select(0), 'OK');
  await assert.rejects(redis.select(1), /DB index is out of range/);
  assert.equal(await redis.client('SETNAME', 'worker-1'), 'OK');
  assert.equal(await redis.client('GETNAME'), 'worker-1');
  await assert.rejects(redis.client('SETNAME', 'bad name'), /cannot contain spaces/);
  const id = (await redis.client('ID')) as number;
  assert.ok(id > 0);
  const info = (await redis.client('INFO')) as string;
  assert.match(info, new RegExp(`^id=${id} addr=127\\.0\\.0\\.1:\\d+ .*name=worker-1 .*resp=2`));
  assert.match((await redis.client('LIST')) as string, /name=worker-1/);
  const hello = (await redis.call('HELLO', 2)) as unknown[];
  assert.deepEqual(hello.slice(0, 6), ['server', 'redis', 'version', '7.2.0', 'proto', 2]);
  await assert.rejects(redis.call('HELLO', 4), /NOPROTO/);
  assert.equal(await redis.quit(), 'OK');
});

test('RESP3 after HELLO 3: maps, nulls and HELLO fields', async () => {
  const redis = client({ protocol: 3, replyMapping: 'resp3' });
  const hello = (await redis.call('HELLO', 3, 'SETNAME', 'three')) as Record<string, unknown>;
  assert.equal(hello.proto, 3);
  assert.equal(hello.server, 'redis');
  assert.equal(hello.role, 'master');
  assert.equal(await redis.get('resp3-absent'), null);
  const config = (await redis.call('CONFIG', 'GET', 'save', 'appendonly')) as Record<string, string>;
  assert.deepEqual(config, { appendonly: 'no', save: '' });
  assert.equal(await redis.client('GETNAME'), 'three');
});

test('CONFIG GET globs, CONFIG SET of start-time settings refused, COMMAND and INFO sections', async () => {
  const redis = client({ protocol: 2 });
  assert.deepEqual(await redis.call('CONFIG', 'GET', 'save'), ['save', '']);
  assert.deepEqual(await redis.call('CONFIG', 'GET', 'APPEND*'), ['appendfsync', 'no', 'appendonly', 'no']);
  await assert.rejects(redis.call('CONFIG', 'SET', 'appendonly', 'no'), /can't set immutable config/);
  assert.equal(await redis.call('CONFIG', 'SET', 'save', ''), 'OK');
  await assert.rejects(redis.call('CONFIG', 'SET', 'save', '900 1'), /keeps no RDB snapshots/);
  await assert.rejects(redis.call('CONFIG', 'SET', 'no-such-option', '1'), /Unknown option or number of arguments for CONFIG SET - 'no-such-option'/);
  const count = (await redis.call('COMMAND', 'COUNT')) as number;
  const all = (await redis.call('COMMAND')) as unknown[][];
  assert.equal(all.length, count);
  const get = all.find((entry) => entry[0] === 'get')!;
  assert.deepEqual(get.slice(0, 6), ['get', 2, ['readonly', 'fast'], 1, 1, 1]);
  assert.deepEqual(await redis.call('COMMAND', 'INFO', 'nosuch'), [null]);
  const docs = (await redis.call('COMMAND', 'DOCS', 'set')) as unknown[];
  assert.equal(docs[0], 'set');
  const info = await redis.info();
  for (const section of ['Server', 'Clients', 'Memory', 'Persistence', 'Stats', 'Replication', 'Keyspace', 'Cluster']) {
    assert.match(info, new RegExp(`^# ${section}\\r$`, 'm'));
  }
  assert.match(info, /^redis_version:7\.2\.0\r$/m);
  assert.match(info, /^loading:0\r$/m);
  assert.match(info, /^role:master\r$/m);
  assert.match(info, /^db0:keys=\d+,expires=\d+,avg_ttl=0\r$/m);
  const cluster = await redis.info('cluster');
  assert.ok(!cluster.includes('# Server'));
  assert.match(cluster, /^node_id:0123456789abcdef0123456789abcdef\r$/m);
  assert.match(cluster, /^members_alive:1\r$/m);
  assert.match(cluster, /^members_suspect:0\r$/m);
  assert.match(cluster, /^members_dead:0\r$/m);
  assert.match(cluster, /^member0:id=0123456789abcdef0123456789abcdef,name=memory,addr=127\.0\.0\.1:0,state=alive,last_seen_ms=\d+,incarnation=\d+\r$/m);
  assert.match(cluster, /^sync0:peer=f{32},in_progress=0,keys_sent=3,keys_received=4,rounds=5\r$/m);
  assert.match(cluster, /^clock_offset_drops:0\r$/m);
});

test('error replies: unknown command, wrong arity, and the connection stays usable', async () => {
  const redis = client();
  await assert.rejects(redis.call('FROB', 'a', 'b'), /^ReplyError: ERR unknown command 'FROB', with args beginning with: 'a' 'b' $/);
  await assert.rejects(redis.call('GET'), /ERR wrong number of arguments for 'get' command/);
  await assert.rejects(redis.call('GET', 'a', 'b'), /ERR wrong number of arguments for 'get' command/);
  await assert.rejects(redis.call('MSET', 'a'), /wrong number of arguments for 'mset'/);
  await assert.rejects(redis.call('CLIENT', 'NOPE'), /unknown subcommand 'NOPE'/);
  assert.equal(await redis.ping(), 'PONG');
});

test('a key over 64 KiB is refused and nothing is stored', async () => {
  const redis = client();
  const writesBefore = engine.writeCalls;
  await assert.rejects(redis.set(Buffer.alloc(64 * 1024 + 1, 'k'), 'v'), /key is 65537 bytes/);
  assert.equal(engine.writeCalls, writesBefore);
});

test('CONFIG SET changes run-time settings all or nothing; notify-keyspace-events selects the notifications', async () => {
  const redis = client({ protocol: 2 });
  assert.equal(await redis.call('CONFIG', 'SET', 'hash-max-ziplist-entries', '32', 'hash-max-listpack-value', '10'), 'OK');
  assert.deepEqual(await redis.call('CONFIG', 'GET', 'hash-max-*-entries'), ['hash-max-listpack-entries', '32', 'hash-max-ziplist-entries', '32']);
  await assert.rejects(redis.call('CONFIG', 'SET', 'hash-max-listpack-value', '5', 'hash-max-listpack-entries', 'many'), /couldn't be parsed into an integer/);
  assert.deepEqual(await redis.call('CONFIG', 'GET', 'hash-max-listpack-value'), ['hash-max-listpack-value', '10'], 'nothing changed by a failed CONFIG SET');
  await assert.rejects(redis.call('CONFIG', 'SET', 'notify-keyspace-events', 'KQ'), /Invalid event class character/);
  const subscriber = client({ protocol: 2 });
  const seen: string[] = [];
  subscriber.on('pmessage', (_pattern: string, channel: string, message: string) => seen.push(`${channel} ${message}`));
  await subscriber.psubscribe('__key*__:*');
  assert.equal(await redis.call('CONFIG', 'SET', 'notify-keyspace-events', 'Eh'), 'OK');
  assert.deepEqual(await redis.call('CONFIG', 'GET', 'notify-keyspace-events'), ['notify-keyspace-events', 'hE']);
  await redis.set('nk', 'v');
  await redis.hset('nk:hash', 'f', 'v');
  await redis.ping();
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(seen, ['__keyevent@0__:hset nk:hash'], 'only hash events, only on the keyevent channel');
  assert.equal(await redis.call('CONFIG', 'SET', 'notify-keyspace-events', 'AKE'), 'OK');
});

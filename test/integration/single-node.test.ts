// Proves one node started by `bin/peerkv start` serves real Redis clients (ioredis and
// redis-cli): every command group, binary values, pipelining, TTL expiry, SCAN over
// 10,000 keys exactly once, acknowledged writes surviving kill -9, and bad input that
// only ever affects the client that sent it.
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { KEY_BUCKET_COUNT } from '../../src/core/bytes.js';
import { compareHlc } from '../../src/core/hlc.js';
import { META_HLC, decodeHlc } from '../../src/runtime/identity.js';
import { openLmdbStore } from '../../src/storage/lmdb-store.js';
import { cleanupAll, parseInfo, redisCli, sleep, spawnNode, type NodeProcess } from '../support/processes.js';

after(cleanupAll);

/** Send raw bytes, collect whatever comes back until the server closes or timeoutMs. */
function rawExchange(port: number, payload: Buffer, timeoutMs = 2_000): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    let closed = false;
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ reply, closed });
    }, timeoutMs);
    socket.on('data', (chunk) => (reply += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed = true;
      clearTimeout(timer);
      resolve({ reply, closed });
    });
    socket.write(payload);
  });
}

describe('single node through real clients', { concurrency: false }, () => {
  let node: NodeProcess;
  let redis: Redis;

  before(async () => {
    node = await spawnNode();
    redis = new Redis({ port: node.port, host: '127.0.0.1' });
  });
  after(() => redis?.disconnect());

  test('strings, keys and TTL commands behave as in Redis', async () => {
    assert.equal(await redis.ping(), 'PONG');
    assert.equal(await redis.set('a', '1'), 'OK');
    assert.equal(await redis.get('a'), '1');
    assert.equal(await redis.set('a', '2', 'NX'), null);
    assert.equal(await redis.set('b', '2', 'XX'), null);
    assert.equal(await redis.set('a', '3', 'GET'), '1');
    assert.equal(await redis.mset('m1', 'x', 'm2', 'y'), 'OK');
    assert.deepEqual(await redis.mget('m1', 'm2', 'missing'), ['x', 'y', null]);
    assert.equal(await redis.exists('a', 'm1', 'missing'), 2);
    assert.equal(await redis.type('a'), 'string');
    assert.equal(await redis.type('missing'), 'none');
    assert.equal(await redis.del('m1', 'm2', 'missing'), 2);
    assert.equal(await redis.unlink('a'), 1);
    assert.equal(await redis.set('t', 'v', 'EX', 100), 'OK');
    const ttl = await redis.ttl('t');
    assert.ok(ttl > 98 && ttl <= 100, `ttl ${ttl}`);
    assert.equal(await redis.persist('t'), 1);
    assert.equal(await redis.ttl('t'), -1);
    assert.equal(await redis.expire('t', 50), 1);
    assert.ok((await redis.pttl('t')) > 49_000);
    assert.equal(await redis.set('t', 'w', 'KEEPTTL'), 'OK');
    assert.ok((await redis.ttl('t')) > 40);
    assert.equal(await redis.ttl('missing'), -2);
    assert.equal(await redis.dbsize(), 1);
    assert.equal(await redis.echo('hi'), 'hi');
    assert.equal(await redis.select(0), 'OK');
    await assert.rejects(redis.select(1));
    await assert.rejects(redis.call('NOSUCHCOMMAND', 'x'), /unknown command/);
    assert.equal(await redis.ping(), 'PONG', 'connection usable after an error');
  });

  test('TTL expiry: PX keys vanish on time, on every read path', async () => {
    // Long enough that the first GET comes before the expiry even on a loaded machine.
    const ttlMs = 1_500;
    const setAt = Date.now();
    await redis.set('short', 'v', 'PX', ttlMs);
    await redis.set('short-at', 'v', 'PXAT', setAt + ttlMs);
    const value = await redis.get('short');
    if (Date.now() - setAt < ttlMs) assert.equal(value, 'v');
    await sleep(setAt + ttlMs + 100 - Date.now());
    assert.equal(await redis.get('short'), null);
    assert.equal(await redis.exists('short-at'), 0);
    assert.equal(await redis.ttl('short'), -2);
    assert.ok(!(await redis.keys('short*')).length);
  });

  test('binary keys and values round-trip exactly', async () => {
    const key = Buffer.from([0, 1, 2, 255, 13, 10]);
    const value = Buffer.alloc(256 * 1024);
    for (let index = 0; index < value.length; index++) value[index] = (index * 7) & 0xff;
    await redis.set(key, value);
    assert.deepEqual(await redis.getBuffer(key), value);
    await redis.del(key);
  });

  test('reads never change what is stored: BITPOS with a BIT range after SETBIT, then SETBIT back (Redis bitops fuzzy test)', async () => {
    // The store remembers the rows it last wrote; BITPOS once masked the bits outside its
    // range in a Buffer slice() of the value, a view, and so changed the remembered row.
    await redis.del('bits');
    await redis.setbit('bits', 79, 0);
    await redis.call('bitop', 'not', 'bits', 'bits');
    for (let bit = 0; bit < 16; bit++) {
      assert.equal(await redis.setbit('bits', bit, 0), 1);
      assert.equal(await redis.call('bitpos', 'bits', 0, 0, 43, 'bit'), bit);
      assert.equal(await redis.call('bitpos', 'bits', 1, bit, 43, 'bit'), bit + 1);
      assert.equal(await redis.setbit('bits', bit, 1), 0);
      assert.deepEqual(await redis.getBuffer('bits'), Buffer.alloc(10, 0xff), `after bit ${bit}`);
    }
    await redis.del('bits');
  });

  test('pipelining 10,000 SETs then SCAN returns each key exactly once', async () => {
    const pipeline = redis.pipeline();
    for (let index = 0; index < 10_000; index++) pipeline.set(`scan:${index}`, String(index));
    const results = await pipeline.exec();
    assert.equal(results?.length, 10_000);
    assert.ok(results!.every(([error, reply]) => error === null && reply === 'OK'));
    const seen = new Map<string, number>();
    let cursor = '0';
    let calls = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 'scan:*', 'COUNT', 100);
      for (const key of keys) seen.set(key, (seen.get(key) ?? 0) + 1);
      cursor = next;
      calls++;
    } while (cursor !== '0');
    assert.equal(seen.size, 10_000);
    assert.ok([...seen.values()].every((count) => count === 1), 'each key exactly once');
    assert.ok(calls > 1);
    const cliKeys = redisCli(node.port, ['--scan', '--pattern', 'scan:1*']).split('\n');
    assert.equal(cliKeys.length, 1_111);
  });

  test('redis-cli works: INFO sections, CONFIG GET, HELLO 3', async () => {
    const info = redisCli(node.port, ['info']);
    for (const section of ['# Server', '# Clients', '# Memory', '# Persistence', '# Stats', '# Keyspace', '# Cluster']) assert.ok(info.includes(section), section);
    const fields = parseInfo(info);
    assert.equal(fields.get('members_alive'), '1');
    assert.match(fields.get('node_id') ?? '', /^[0-9a-f]{32}$/);
    assert.match(redisCli(node.port, ['config', 'get', 'appendonly']), /appendonly\nyes/);
    assert.match(redisCli(node.port, ['-3', 'hello', '3']), /proto/);
    assert.equal(redisCli(node.port, ['set', 'cli-key', 'cli value']), 'OK');
    assert.equal(redisCli(node.port, ['get', 'cli-key']), 'cli value');
  });

  test('bad input: errors or closes that client only; others and stored data unaffected', async () => {
    await redis.set('precious', 'intact');
    // Live keys, not DBSIZE: DBSIZE (as in Redis) still counts expired keys until the sweep.
    const keysBefore = (await redis.keys('*')).length;
    const cases: Buffer[] = [
      Buffer.from('*1\r\n$99999999999\r\n'),
      Buffer.from('*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva'),
      Buffer.from('*-5\r\n$x\r\n'),
      Buffer.from('*2000000000\r\n'),
      Buffer.alloc(8 * 1024 * 1024, 0x61),
      Buffer.from(Array.from({ length: 4096 }, (_, index) => (index * 131 + 7) & 0xff)),
    ];
    for (const payload of cases) {
      const { reply } = await rawExchange(node.port, payload);
      assert.ok(reply === '' || reply.startsWith('-'), `reply ${JSON.stringify(reply.slice(0, 80))}`);
      assert.equal(await redis.ping(), 'PONG');
    }
    assert.equal(await redis.get('precious'), 'intact');
    assert.equal((await redis.keys('*')).length, keysBefore);
    assert.equal(await redis.exists('key'), 0, 'a truncated SET stored nothing');
  });

  test('acknowledged writes survive kill -9', async () => {
    const writer = new Redis({ port: node.port, host: '127.0.0.1' });
    const pipeline = writer.pipeline();
    for (let index = 0; index < 10_000; index++) pipeline.set(`durable:${index}`, `value-${index}`);
    const results = await pipeline.exec();
    assert.ok(results!.every(([error]) => error === null));
    writer.disconnect();
    redis.disconnect();
    await node.stop('SIGKILL');
    await assertClockBoundCoversRecords(node.dataDir);
    node = await spawnNode({ dataDir: node.dataDir, port: node.port, peerPort: node.peerPort });
    redis = new Redis({ port: node.port, host: '127.0.0.1' });
    const check = redis.pipeline();
    for (let index = 0; index < 10_000; index++) check.get(`durable:${index}`);
    const values = await check.exec();
    const missing = values!.filter(([, value], index) => value !== `value-${index}`).length;
    assert.equal(missing, 0, `${missing} acknowledged keys lost`);
    assert.equal(await redis.get('precious'), 'intact');
  });

  test('SIGTERM shuts down cleanly with exit code 0', async () => {
    redis.disconnect();
    assert.equal(await node.stop('SIGTERM'), 0);
  });
});

/** The clock saved on disk lies above every stored stamp, so a restart never reuses one. */
async function assertClockBoundCoversRecords(dataDir: string): Promise<void> {
  const store = await openLmdbStore({ dir: dataDir, fsync: 'no' });
  try {
    const bound = decodeHlc(store.getMeta(META_HLC));
    let records = 0;
    for (let bucket = 0; bucket < KEY_BUCKET_COUNT; ) {
      const page = store.scanBuckets(bucket, KEY_BUCKET_COUNT, 4096);
      for (const record of page.records) {
        records++;
        assert.ok(compareHlc(record.hlc, bound) < 0, `record stamped ${JSON.stringify(record.hlc)} not below saved clock ${JSON.stringify(bound)}`);
      }
      bucket = page.nextBucket;
    }
    assert.ok(records >= 10_000);
  } finally {
    await store.close();
  }
}

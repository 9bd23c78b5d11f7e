// Proves maxmemory, min-replicas-to-write and MISCONF for scripts through a real listener with Redis 7.0's replies: CONFIG SET/GET with memory units and policies, OOM for deny-oom commands (alone, while queueing in MULTI, inside scripts with and without shebang flags, FCALL by function flags), NOREPLICAS for writes and write scripts while too few peers are good, INFO used_memory as the figure checked, and errors of commands called by scripts counted once in INFO errorstats.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { MemoryEngine, startMemoryServer } from '../support/memory-engine.js';
import type { RespServer } from '../../src/net/resp-listener.js';
import type { LinkedPeer } from '../../src/server/engine.js';

let server: RespServer;
let engine: MemoryEngine;
let peers: LinkedPeer[] = [];
let storageFailure: string | undefined;
const clients: Redis[] = [];

function client(): Redis {
  const redis = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 0, retryStrategy: () => null });
  clients.push(redis);
  return redis;
}

before(async () => {
  engine = new MemoryEngine();
  Object.assign(engine, { linkedPeers: () => peers, storageFailure: () => storageFailure });
  ({ server } = await startMemoryServer({ engine }));
});

beforeEach(async () => {
  const redis = client();
  await redis.config('SET', 'maxmemory', '0');
  await redis.config('SET', 'min-replicas-to-write', '0');
  await redis.config('RESETSTAT');
  peers = [];
  storageFailure = undefined;
});

after(async () => {
  for (const redis of clients) redis.disconnect();
  await server.close();
});

const OOM = /^ReplyError: OOM command not allowed when used memory > 'maxmemory'\./;

function infoField(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)\\r$`, 'm').exec(info)?.[1];
}

test('CONFIG SET maxmemory takes Redis memory units; maxmemory-policy accepts noeviction only, with a reason', async () => {
  const redis = client();
  for (const [text, bytes] of [['1gb', '1073741824'], ['100mb', '104857600'], ['2k', '2000'], ['3KB', '3072'], ['12345', '12345']]) {
    assert.equal(await redis.config('SET', 'maxmemory', text!), 'OK');
    assert.deepEqual(await redis.config('GET', 'maxmemory'), ['maxmemory', bytes]);
  }
  await assert.rejects(redis.config('SET', 'maxmemory', '10xb'), /argument must be a memory value/);
  await assert.rejects(redis.config('SET', 'maxmemory', '-1'), /argument must be a memory value/);
  await assert.rejects(redis.config('SET', 'maxmemory-policy', 'allkeys-lru'), /only noeviction is supported/);
  await assert.rejects(redis.config('SET', 'maxmemory-policy', 'sometimes'), /must be one of the following: volatile-lru/);
  assert.equal(await redis.config('SET', 'maxmemory-policy', 'NoEviction'), 'OK');
  assert.deepEqual(await redis.config('GET', 'maxmemory-policy'), ['maxmemory-policy', 'noeviction']);
  await redis.config('SET', 'maxmemory', '0');
  const memory = await redis.info('memory');
  assert.equal(infoField(memory, 'maxmemory'), '0');
  const used = Number(infoField(memory, 'used_memory'));
  assert.equal(used, Number(infoField(memory, 'used_memory_overhead')) + Number(infoField(memory, 'used_memory_dataset')));
});

test('over maxmemory: deny-oom commands get OOM, reads and deletes run, COMMAND INFO shows denyoom', async () => {
  const redis = client();
  await redis.set('oom:x', '123');
  await redis.config('SET', 'maxmemory', '1');
  await assert.rejects(redis.set('oom:x', '1'), OOM);
  await assert.rejects(redis.incr('oom:n'), OOM);
  await assert.rejects(redis.hset('oom:h', 'f', 'v'), OOM);
  await assert.rejects(redis.call('function', 'load', "#!lua name=oomlib\nredis.register_function('f', function() return 1 end)"), OOM);
  await assert.rejects(redis.call('xgroup', 'create', 'oom:stream', 'g', '$', 'MKSTREAM'), OOM);
  assert.deepEqual(await redis.call('function', 'list'), []);
  assert.equal(await redis.get('oom:x'), '123');
  assert.equal(await redis.del('oom:x'), 1);
  const info = (await redis.command('INFO', 'set')) as unknown[][];
  assert.ok((info[0]![2] as string[]).includes('denyoom'));
  await redis.config('SET', 'maxmemory', '0');
  assert.equal(await redis.set('oom:x', '1'), 'OK');
  // A limit above what the node uses lets everything run.
  await redis.config('SET', 'maxmemory', '100gb');
  assert.equal(await redis.set('oom:x', '2'), 'OK');
});

test('over maxmemory inside MULTI: every queued command is refused and EXEC aborts; DISCARD works', async () => {
  const redis = client();
  await redis.config('SET', 'maxmemory', '1');
  assert.equal(await redis.call('multi'), 'OK');
  await assert.rejects(redis.call('get', 'oom:m'), OOM);
  await assert.rejects(redis.call('exec'), /^ReplyError: EXECABORT Transaction discarded because of previous errors/);
  assert.equal(await redis.call('multi'), 'OK');
  assert.equal(await redis.call('discard'), 'OK');
  // A transaction queued before the limit was crossed: EXEC of a deny-oom command is refused.
  const other = client();
  await redis.config('SET', 'maxmemory', '0');
  assert.equal(await other.call('multi'), 'OK');
  assert.equal(await other.call('set', 'oom:m', '1'), 'QUEUED');
  await redis.config('SET', 'maxmemory', '1');
  await assert.rejects(other.call('exec'), /^ReplyError: EXECABORT Transaction discarded because of: OOM command not allowed/);
  assert.equal(await other.get('oom:m'), null);
});

test('over maxmemory: scripts as Redis (no shebang: the deny-oom call fails; shebang: refused unless allow-oom or no-writes)', async () => {
  const redis = client();
  await redis.set('oom:s', '123');
  await redis.config('SET', 'maxmemory', '1');
  await assert.rejects(redis.eval("redis.call('set', KEYS[1], 1) return 1", 1, 'oom:s'), /^ReplyError: OOM command not allowed when used memory > 'maxmemory'\. script: /);
  assert.equal(await redis.eval("return redis.call('get', KEYS[1])", 1, 'oom:s'), '123');
  await assert.rejects(redis.eval('#!lua flags=\nreturn 1', 0), OOM);
  assert.equal(await redis.eval("#!lua flags=allow-oom\nredis.call('set', KEYS[1], 1) return 1", 1, 'oom:s'), 1);
  assert.equal(await redis.eval("#!lua flags=no-writes\nredis.call('get', 'oom:s') return 1", 0), 1);
  assert.equal(await redis.call('eval_ro', "#!lua flags=no-writes\nredis.call('get', KEYS[1]) return 1", 1, 'oom:s'), 1);
  assert.equal(await redis.call('eval_ro', "redis.call('get', KEYS[1]) return 1", 1, 'oom:s'), 1);
  assert.equal(await redis.eval("local t = redis.pcall('set', KEYS[1], 'y') return t['err']", 1, 'oom:s'), "OOM command not allowed when used memory > 'maxmemory'.");
  // Fifty refused runs leave the Lua state usable.
  for (let run = 0; run < 50; run++) await assert.rejects(redis.eval('#!lua\nreturn 1', 0), /^ReplyError: OOM /);
  await redis.config('SET', 'maxmemory', '0');
  assert.equal(await redis.eval('#!lua\nreturn 1', 0), 1);
});

test('over maxmemory: FCALL follows the function flags', async () => {
  const redis = client();
  await redis.call('function', 'load', 'replace', [
    '#!lua name=admission',
    "redis.register_function('writer', function(keys) return redis.call('set', keys[1], 1) end)",
    "redis.register_function{function_name='oomok', callback=function(keys) return redis.call('set', keys[1], 2) end, flags={'allow-oom'}}",
    "redis.register_function{function_name='reader', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}}",
  ].join('\n'));
  await redis.config('SET', 'maxmemory', '1');
  await assert.rejects(redis.call('fcall', 'writer', 1, 'oom:f'), OOM);
  assert.equal(await redis.call('fcall', 'oomok', 1, 'oom:f'), 'OK');
  assert.equal(await redis.call('fcall_ro', 'reader', 1, 'oom:f'), '2');
  await redis.config('SET', 'maxmemory', '0');
  await redis.call('function', 'delete', 'admission');
});

test('an error of a command a script calls is counted once in errorstats, the script counted as failed', async () => {
  const redis = client();
  await redis.config('SET', 'maxmemory', '1');
  await assert.rejects(redis.eval("return redis.call('set', 'x', 'y')", 1, 'x'), OOM);
  let stats = await redis.info('errorstats');
  assert.equal(infoField(stats, 'errorstat_OOM'), 'count=1');
  assert.equal(infoField(await redis.info('stats'), 'total_error_replies'), '1');
  let commands = await redis.info('commandstats');
  assert.match(infoField(commands, 'cmdstat_set') ?? '', /calls=0.*rejected_calls=1,failed_calls=0/);
  assert.match(infoField(commands, 'cmdstat_eval') ?? '', /calls=1.*rejected_calls=0,failed_calls=1/);
  await redis.config('RESETSTAT');
  await assert.rejects(redis.eval("return redis.pcall('set', 'x', 'y')", 1, 'x'), OOM);
  stats = await redis.info('errorstats');
  assert.equal(infoField(stats, 'errorstat_OOM'), 'count=1');
  assert.equal(infoField(stats, 'errorstat_ERR'), undefined);
  await redis.config('SET', 'maxmemory', '0');
  await redis.config('RESETSTAT');
  await assert.rejects(redis.eval("return redis.call('select', 99)", 0), /ERR DB index is out of range/);
  stats = await redis.info('errorstats');
  assert.equal(infoField(stats, 'errorstat_ERR'), 'count=1');
  assert.equal(infoField(await redis.info('stats'), 'total_error_replies'), '1');
  commands = await redis.info('commandstats');
  assert.match(infoField(commands, 'cmdstat_select') ?? '', /calls=1.*failed_calls=1/);
  assert.match(infoField(commands, 'cmdstat_eval') ?? '', /calls=1.*failed_calls=1/);
  // A returned table whose metatable refuses unknown fields is read without touching them.
  assert.deepEqual(await redis.eval('return setmetatable({1}, {__index = function() error("no such field") end})', 0), [1]);
  // An error the script makes itself is counted when it answers.
  await redis.config('RESETSTAT');
  await assert.rejects(redis.eval("return redis.error_reply('MY failure')", 0), /MY failure/);
  assert.equal(infoField(await redis.info('errorstats'), 'errorstat_MY'), 'count=1');
});

test('min-replicas-to-write: writes and write scripts get NOREPLICAS while fewer peers are good; reads run', async () => {
  const redis = client();
  await redis.set('rep:x', 'some value');
  await redis.config('SET', 'min-replicas-to-write', '1');
  await assert.rejects(redis.set('rep:x', '1'), /^ReplyError: NOREPLICAS Not enough good replicas to write\.$/);
  assert.equal(await redis.get('rep:x'), 'some value');
  assert.equal(await redis.eval("#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", 1, 'rep:x'), 'some value');
  assert.equal(await redis.eval("return redis.call('get', KEYS[1])", 1, 'rep:x'), 'some value');
  await assert.rejects(redis.eval("#!lua\nreturn redis.call('get', KEYS[1])", 1, 'rep:x'), /^ReplyError: NOREPLICAS /);
  await assert.rejects(redis.eval("return redis.call('set', KEYS[1], 1)", 1, 'rep:x'), /^ReplyError: NOREPLICAS /);
  const queued = await redis.multi().set('rep:x', '2').exec().catch((error: Error) => error);
  assert.match(String(queued), /EXECABORT/);
  let replication = await redis.info('replication');
  assert.equal(infoField(replication, 'connected_slaves'), '0');
  assert.equal(infoField(replication, 'min_slaves_good_slaves'), '0');

  // A peer heard from long ago is linked but not good.
  peers = [{ id: 'aa', addr: '127.0.0.1:7380', lagMs: 60_000 }];
  await redis.config('SET', 'min-replicas-max-lag', '10');
  await assert.rejects(redis.set('rep:x', '1'), /NOREPLICAS/);
  peers = [{ id: 'aa', addr: '127.0.0.1:7380', lagMs: 200 }];
  await redis.config('SET', 'min-replicas-max-lag', '10');
  assert.equal(await redis.set('rep:x', '3'), 'OK');
  replication = await redis.info('replication');
  assert.equal(infoField(replication, 'connected_slaves'), '1');
  assert.equal(infoField(replication, 'min_slaves_good_slaves'), '1');
  assert.equal(infoField(replication, 'slave0'), 'ip=127.0.0.1,port=7380,state=online,offset=0,lag=0,node_id=aa');
  await redis.config('SET', 'min-replicas-to-write', '2');
  await assert.rejects(redis.set('rep:x', '1'), /NOREPLICAS/);
  await redis.config('SET', 'min-replicas-max-lag', '0'); // 0 turns the check off, as in Redis
  assert.equal(await redis.set('rep:x', '4'), 'OK');
  await redis.config('SET', 'min-replicas-max-lag', '10');
});

test('while storage fails: scripts that may write are refused at start (shebang) or at their first write (none), as Redis', async () => {
  const redis = client();
  await redis.set('disk:x', 'v');
  storageFailure = 'disk full';
  await assert.rejects(redis.set('disk:x', '1'), /^ReplyError: MISCONF /);
  await assert.rejects(redis.eval('#!lua\nreturn 1', 0), /^ReplyError: MISCONF peerkv cannot write to its data directory: disk full/);
  await assert.rejects(redis.eval("redis.call('set', KEYS[1], 1) return 1", 1, 'disk:x'), /^ReplyError: MISCONF .* script: /);
  assert.equal(await redis.eval("return redis.call('get', KEYS[1])", 1, 'disk:x'), 'v');
  assert.equal(await redis.eval("#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", 1, 'disk:x'), 'v');
  storageFailure = undefined;
  assert.equal(await redis.eval("return redis.call('set', KEYS[1], 2)", 1, 'disk:x'), 'OK');
});

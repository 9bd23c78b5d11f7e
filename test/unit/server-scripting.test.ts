// Proves EVAL/EVALSHA/SCRIPT and FUNCTION/FCALL through a real listener with Redis 7.0's replies: conversions both ways, Lua 5.1 number behaviour, the sandbox, a script's writes reaching the engine as ONE write (all-or-nothing for peers) with the writes before an error kept, NOSCRIPT for an unknown sha, a runaway script answered BUSY to others and ended by SCRIPT KILL, libraries kept across FLUSHALL and hidden from KEYS/DBSIZE.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { MemoryEngine, startMemoryServer } from '../support/memory-engine.js';
import type { RespServer } from '../../src/net/resp-listener.js';

let server: RespServer;
let engine: MemoryEngine;
const clients: Redis[] = [];

function client(): Redis {
  const redis = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 0, retryStrategy: () => null });
  clients.push(redis);
  return redis;
}

before(async () => {
  engine = new MemoryEngine({ keepBatches: true });
  ({ server } = await startMemoryServer({ engine }));
});

after(async () => {
  for (const redis of clients) redis.disconnect();
  await server.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('EVAL converts Lua values to replies and replies to Lua values as Redis does', async () => {
  const redis = client();
  assert.equal(await redis.eval("return 'hello'", 0), 'hello');
  assert.equal(await redis.eval('return 100.5', 0), 100);
  assert.equal(await redis.eval('return true', 0), 1);
  assert.equal(await redis.eval('return false', 0), null);
  assert.equal(await redis.eval("return {ok='fine'}", 0), 'fine');
  await assert.rejects(redis.eval("return {err='ERR this is an error'}", 0), /^ReplyError: ERR this is an error$/);
  assert.deepEqual(await redis.eval("return {1,2,3,'ciao',{1,2}}", 0), [1, 2, 3, 'ciao', [1, 2]]);
  assert.deepEqual(await redis.eval('return {KEYS[1],KEYS[2],ARGV[1],ARGV[2]}', 2, 'a', 'b', 'c', 'd'), ['a', 'b', 'c', 'd']);
  await redis.set('s:x', '0');
  assert.deepEqual(await redis.eval("local v = redis.pcall('incr', KEYS[1]) return {type(v), v}", 1, 's:x'), ['number', 1]);
  assert.deepEqual(await redis.eval("local v = redis.pcall('get', 'nosuchkey') return {type(v), v == false}", 0), ['boolean', 1]);
  assert.deepEqual(await redis.eval("local v = redis.pcall('set', 's:y', 'v') return {type(v), v['ok']}", 0), ['table', 'OK']);
  assert.deepEqual(await redis.eval("local v = redis.pcall('incr', 's:y') return v['err']", 0), 'ERR value is not an integer or out of range');
});

test('numbers behave as in Lua 5.1: doubles, printed without .0, passed to commands at full precision', async () => {
  const redis = client();
  assert.equal(await redis.eval('return tostring(10/2) .. " " .. (2147483647 + 1) .. " " .. tostring(0.1)', 0), '5 2147483648 0.1');
  assert.equal(await redis.eval("redis.call('set', 's:n', 9007199254740991) return redis.call('get', 's:n')", 0), '9007199254740991');
  assert.equal(await redis.eval("redis.call('set', 's:f', 3.5) return redis.call('get', 's:f')", 0), '3.5');
  // A SET over a counter, read back in the same script (the view records the slots it observed).
  await redis.set('s:counter', '5');
  await redis.decr('s:counter');
  assert.equal(await redis.eval("redis.call('set', 's:counter', '100') return redis.call('get', 's:counter')", 0), '100');
  assert.equal(await redis.get('s:counter'), '100');
  assert.equal(await redis.eval('return unpack({1, 2, 3})', 0), 1);
  assert.equal(await redis.eval('return table.getn({1, 2, 3}) + math.pow(2, 3)', 0), 11);
});

test('the sandbox: no undeclared globals, read-only libraries, no file access', async () => {
  const redis = client();
  await assert.rejects(redis.eval('return a', 0), /Script attempted to access nonexistent global variable 'a'/);
  await assert.rejects(redis.eval('a = 10', 0), /Attempt to modify a readonly table/);
  await assert.rejects(redis.eval('redis.call = function() return 1 end', 0), /Attempt to modify a readonly table/);
  await assert.rejects(redis.eval('cjson.encode = nil', 0), /Attempt to modify a readonly table/);
  await assert.rejects(redis.eval('setmetatable(_G, {})', 0), /Attempt to modify a readonly table/);
  await assert.rejects(redis.eval("loadfile('x')", 0), /nonexistent global variable 'loadfile'/);
  await assert.rejects(redis.eval('return loadstring(string.dump(function() return 1 end))()', 0), /attempt to call a nil value/);
  await assert.rejects(redis.eval("return redis.call('blpop', 'l', 0)", 0), /This Redis command is not allowed from script/);
  await assert.rejects(redis.eval("return redis.call('nosuch')", 0), /Unknown Redis command called from script script: \w{40}, on @user_script:1\./);
});

test('cjson, cmsgpack, bit and struct behave like the C libraries Redis embeds', async () => {
  const redis = client();
  assert.equal(await redis.eval('return cjson.encode({1, 2, {a = "x/y"}})', 0), '[1,2,{"a":"x\\/y"}]');
  assert.equal(await redis.eval('return table.concat(cjson.decode("[0.0, -5e3, -1, 0.3e-3, 1023.2, 0e10]"), " ")', 0), '0 -5000 -1 0.0003 1023.2 0');
  const hex = "local e = cmsgpack.pack(ARGV[1] + 0) local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h";
  assert.equal(await redis.eval(hex, 0, '0.1'), 'cb3fb999999999999a');
  assert.equal(await redis.eval(hex, 0, '-1099511627776'), 'd3ffffff0000000000');
  assert.deepEqual(await redis.eval('return cmsgpack.unpack(cmsgpack.pack({1, "a", {x = 2}}))[3].x', 0), 2);
  assert.equal(await redis.eval('return bit.bor(1, 2, 4, 8) + bit.band(0xff, 0x0f) + bit.bxor(1, 3)', 0), 32);
  assert.equal(await redis.eval('return bit.tohex(255)', 0), '000000ff');
  const packed = "local s = struct.pack('>I2i4c3sd', 258, -5, 'abc', 'zz', 1.5) local a, b, c, d, e, n = struct.unpack('>I2i4c3sd', s) return {#s, a, b, c, d, tostring(e), n, struct.size('<hhl')}";
  assert.deepEqual(await redis.eval(packed, 0), [20, 258, -5, 'abc', 'zz', '1.5', 21, 12]);
});

test("a script's rows reach the engine as ONE write; an error part-way keeps the writes before it", async () => {
  const redis = client();
  engine.batches.length = 0;
  const script = "redis.call('set', 's:a', '1') redis.call('hset', 's:h', 'f', 'v') redis.call('sadd', 's:set', 'm') redis.call('rpush', 's:l', 'e') return redis.call('incr', 's:a')";
  assert.equal(await redis.eval(script, 0), 2);
  assert.equal(engine.batches.length, 1, 'one batch for the whole script');
  assert.ok(engine.batches[0]!.length >= 4);
  assert.deepEqual(await redis.hgetall('s:h'), { f: 'v' });
  engine.batches.length = 0;
  await assert.rejects(redis.eval("redis.call('set', 's:b', '1') redis.call('hset', 's:b', 'f', 'v') redis.call('set', 's:c', '1')", 0), /WRONGTYPE/);
  assert.equal(await redis.get('s:b'), '1', 'the write before the error stays');
  assert.equal(await redis.get('s:c'), null, 'nothing after the error ran');
  assert.equal(engine.batches.length, 1);
});

test('EVALSHA of a script this node never saw is NOSCRIPT; SCRIPT LOAD, EXISTS and FLUSH', async () => {
  const redis = client();
  await assert.rejects(redis.evalsha('ffd632c7d33e571e9f24556ebed26c3479a87130', 0), /^ReplyError: NOSCRIPT No matching script\. Please use EVAL\.$/);
  const sha = (await redis.script('LOAD', "return 'loaded'")) as string;
  assert.equal(sha, 'b534286061d4b9e4026607613b95c06c06015ae8');
  assert.equal(await redis.evalsha(sha.toUpperCase(), 0), 'loaded');
  assert.deepEqual(await redis.script('EXISTS', sha, 'a'.repeat(40)), [1, 0]);
  assert.equal(await redis.script('FLUSH'), 'OK');
  await assert.rejects(redis.evalsha(sha, 0), /NOSCRIPT/);
  await assert.rejects(redis.eval('return +', 0), /^ReplyError: ERR Error compiling script \(new function\): user_script:1:/);
});

test('EVAL_RO and no-writes scripts refuse write commands', async () => {
  const redis = client();
  await redis.set('s:ro', 'v');
  assert.equal(await redis.call('eval_ro', "return redis.call('get', KEYS[1])", 1, 's:ro'), 'v');
  await assert.rejects(redis.call('eval_ro', "return redis.call('del', KEYS[1])", 1, 's:ro'), /Write commands are not allowed from read-only scripts/);
  await assert.rejects(redis.eval("#!lua flags=no-writes\nreturn redis.call('del', KEYS[1])", 1, 's:ro'), /Write commands are not allowed from read-only scripts/);
});

test('a runaway script: BUSY for other clients, SCRIPT KILL ends it, the node goes on', async () => {
  const admin = client();
  const runner = client();
  await admin.config('SET', 'busy-reply-threshold', '50');
  const running = runner.eval('local i = 0 while true do i = i + 1 end', 0).then(
    () => 'returned',
    (error: Error) => error.message,
  );
  await sleep(200);
  await assert.rejects(admin.ping(), /^ReplyError: BUSY Redis is busy running a script\. You can only call SCRIPT KILL or SHUTDOWN NOSAVE\.$/);
  await assert.rejects(admin.call('function', 'kill'), /BUSY/);
  // The run ends inside SCRIPT KILL: a command pipelined right after it is served, not BUSY.
  const [[killError, killed], [pingError, pong]] = (await admin.pipeline().script('KILL').ping().exec())!;
  assert.deepEqual([killError, killed, pingError, pong], [null, 'OK', null, 'PONG']);
  assert.match(await running, /Script killed by user with SCRIPT KILL/);
  assert.equal(await admin.ping(), 'PONG');
  assert.equal(await runner.ping(), 'PONG');
  await assert.rejects(admin.script('KILL'), /NOTBUSY/);
  // A script that wrote cannot be killed; it ends by itself.
  const writer = runner.eval("redis.call('set', 's:busy', '1') local t = redis.call('time') local i = 0 while i < 3000000 do i = i + 1 end return 'done'", 0);
  await sleep(120);
  await assert.rejects(admin.script('KILL'), /UNKILLABLE/);
  assert.equal(await writer, 'done');
  assert.equal(await admin.get('s:busy'), '1');
  await admin.config('SET', 'busy-reply-threshold', '5000');
});

test('FUNCTION LOAD, FCALL, LIST, DELETE, DUMP/RESTORE; libraries survive FLUSHALL and are not keys', async () => {
  const redis = client();
  const code = "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return redis.call('set', keys[1], args[1]) end)\nredis.register_function{function_name='ro', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}}";
  assert.equal(await redis.call('function', 'load', code), 'mylib');
  await assert.rejects(redis.call('function', 'load', code), /ERR Library 'mylib' already exists/);
  assert.equal(await redis.call('fcall', 'myfunc', 1, 'f:k', 'v'), 'OK');
  assert.equal(await redis.call('fcall_ro', 'ro', 1, 'f:k'), 'v');
  assert.deepEqual(await redis.call('command', 'getkeys', 'fcall', 'myfunc', 1, 'f:k', 'v'), ['f:k']);
  await assert.rejects(redis.call('fcall_ro', 'myfunc', 1, 'f:k', 'v'), /Can not execute a script with write flag using \*_ro command/);
  await assert.rejects(redis.call('fcall', 'nosuch', 0), /ERR Function not found/);
  assert.deepEqual(await redis.call('function', 'list'), [
    ['library_name', 'mylib', 'engine', 'LUA', 'functions', [['name', 'myfunc', 'description', null, 'flags', []], ['name', 'ro', 'description', null, 'flags', ['no-writes']]]],
  ]);
  await redis.flushall();
  assert.equal(await redis.dbsize(), 0);
  assert.deepEqual(await redis.keys('*'), []);
  assert.equal(await redis.call('fcall', 'myfunc', 1, 'f:k', 'w'), 'OK');
  const dump = (await redis.callBuffer('function', 'dump')) as Buffer;
  assert.equal(await redis.call('function', 'delete', 'mylib'), 'OK');
  await assert.rejects(redis.call('fcall', 'myfunc', 1, 'f:k', 'v'), /Function not found/);
  assert.equal(await redis.call('function', 'restore', dump), 'OK');
  assert.equal(await redis.call('fcall', 'ro', 1, 'f:k'), 'w');
  await assert.rejects(redis.call('function', 'load', '#!lua name=bad\nreturn 1'), /ERR No functions registered/);
  await assert.rejects(redis.call('function', 'load', "#!lua name=bad\nredis.call('ping')"), /nonexistent global variable 'call'/);
  assert.equal(await redis.call('function', 'flush'), 'OK');
  assert.deepEqual(await redis.call('function', 'list'), []);
});

// Proves Lua on a real loopback cluster: a library loaded with FUNCTION LOAD on node A is callable with FCALL on node C, a script cached on A is NOSCRIPT through EVALSHA on B (the cache is per node, as Redis's), and a script writing keys of several types reaches peers all-or-nothing (an atomic read on a peer never sees part of one run).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { cleanupAll, waitFor } from '../support/processes.js';
import { Clients, startCluster } from '../support/cluster.js';

after(cleanupAll);

const { client, closeAll } = new Clients();
after(closeAll);

/** Writes round ARGV[1] into a string, a hash field, a set member and a list, in one run. */
const WRITE_ALL = `
local round = ARGV[1]
redis.call('set', 'sc:string', round)
redis.call('hset', 'sc:hash', 'round', round)
redis.call('del', 'sc:set')
redis.call('sadd', 'sc:set', round)
redis.call('del', 'sc:list')
redis.call('rpush', 'sc:list', round)
return round`;

/** Reads the four keys atomically on a node: their rounds as one string. */
const READ_ALL = `
local set = redis.call('smembers', 'sc:set')
local list = redis.call('lrange', 'sc:list', 0, -1)
return {redis.call('get', 'sc:string') or '', redis.call('hget', 'sc:hash', 'round') or '', set[1] or '', list[1] or ''}`;

describe('Lua scripting on a loopback cluster', { concurrency: false }, () => {
  test('FUNCTION LOAD on A, FCALL on C; EVALSHA of a script only A saw is NOSCRIPT on B', async () => {
    const [a, b, c] = await startCluster(3);
    const code = "#!lua name=counters\nredis.register_function('bump', function(keys, args) return redis.call('incrby', keys[1], args[1]) end)";
    assert.equal(await client(a!).call('function', 'load', code), 'counters');
    const third = client(c!);
    await waitFor(async () => Array.isArray(await third.call('function', 'list')) && ((await third.call('function', 'list')) as unknown[]).length === 1, {
      timeoutMs: 10_000,
      what: 'the library replicated to C',
    });
    assert.equal(await third.call('fcall', 'bump', 1, 'fn:counter', 5), 5);
    await third.flushall();
    assert.equal(await third.call('fcall', 'bump', 1, 'fn:counter', 2), 2, 'FLUSHALL keeps libraries');

    const sha = (await client(a!).script('LOAD', 'return 1')) as string;
    assert.equal(await client(a!).evalsha(sha, 0), 1);
    await assert.rejects(client(b!).evalsha(sha, 0), /^ReplyError: NOSCRIPT No matching script\. Please use EVAL\.$/);
  });

  test('a script writing several types reaches peers whole', async () => {
    const [a, b] = await startCluster(2);
    const writer = client(a!);
    const reader = client(b!);
    const rounds = 200;
    let polling = true;
    const torn: string[] = [];
    let polls = 0;
    const poller = (async () => {
      while (polling) {
        const values = (await reader.call('eval_ro', READ_ALL, 0)) as string[];
        polls++;
        if (new Set(values).size > 1 && torn.length < 5) torn.push(values.join(','));
      }
    })();
    for (let round = 1; round <= rounds; round++) assert.equal(await writer.eval(WRITE_ALL, 0, String(round)), String(round));
    await waitFor(async () => ((await reader.call('eval_ro', READ_ALL, 0)) as string[]).every((value) => value === String(rounds)), {
      timeoutMs: 20_000,
      what: 'the last run on B',
    });
    polling = false;
    await poller;
    assert.deepEqual(torn, [], 'no read on B saw part of a run');
    assert.ok(polls > 20, `polled often enough (${polls})`);
  });
});

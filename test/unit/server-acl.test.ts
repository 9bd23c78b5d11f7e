// Proves Redis 7.0 ACLs through a real listener: SETUSER rules and their error texts, AUTH/HELLO as users, command, category, subcommand, key (~ %R~ %W~) and channel rules with Redis's NOPERM texts, key positions of numkeys/STREAMS/STORE commands, checks inside scripts and redis.acl_check_cmd, ACL LOG/DRYRUN/CAT/GENPASS, clients of deleted users disconnected, and a user table written by one server adopted by another over the same store.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { MemoryEngine, startMemoryServer } from '../support/memory-engine.js';
import type { RespServer } from '../../src/net/resp-listener.js';

let server: RespServer;
let engine: MemoryEngine;
const clients: Redis[] = [];

function client(port = server.port, options: { username?: string; password?: string; enableReadyCheck?: boolean } = {}): Redis {
  const redis = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, retryStrategy: () => null, ...options });
  clients.push(redis);
  return redis;
}

/** A client authenticated as `user`. */
async function login(user: string, password: string): Promise<Redis> {
  const redis = client();
  assert.equal(await redis.auth(user, password), 'OK');
  return redis;
}

before(async () => {
  engine = new MemoryEngine();
  ({ server } = await startMemoryServer({ engine }));
});

after(async () => {
  for (const redis of clients) redis.disconnect();
  await server.close();
});

test('the default user runs everything; SETUSER creates users that GETUSER and LIST describe as Redis does', async () => {
  const redis = client();
  assert.equal(await redis.acl('WHOAMI'), 'default');
  assert.deepEqual(await redis.acl('LIST'), ['user default on nopass ~* &* +@all']);
  assert.equal(await redis.acl('SETUSER', 'u1', 'on', '>pw', '~obj:*', '%R~ro:*', '%W~wo:*', '&chan:*', '+@read', '-@dangerous', '+set'), 'OK');
  const described = (await redis.acl('LIST')) as string[];
  assert.ok(described.includes('user u1 on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~obj:* %R~ro:* %W~wo:* resetchannels &chan:* -@all +@read -keys +set -sort_ro'), described.join('\n'));
  const user = (await redis.call('ACL', 'GETUSER', 'u1')) as unknown[];
  assert.deepEqual(user.slice(0, 4), ['flags', ['on'], 'passwords', ['30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4']]);
  assert.deepEqual(user.slice(6), ['keys', '~obj:* %R~ro:* %W~wo:*', 'channels', '&chan:*', 'selectors', []]);
  assert.equal(await redis.call('ACL', 'GETUSER', 'nobody'), null);
  assert.deepEqual(await redis.acl('USERS'), ['default', 'u1']);
  // A new user starts off, without passwords, commands, keys or channels.
  await redis.acl('SETUSER', 'fresh');
  assert.ok(((await redis.acl('LIST')) as string[]).includes('user fresh off resetchannels -@all'));
  await redis.acl('SETUSER', 'fresh', 'on', 'nopass', '+@all', '-get', 'allkeys', 'allchannels');
  assert.ok(((await redis.acl('LIST')) as string[]).includes('user fresh on nopass ~* &* +@all -get'));
  await redis.acl('SETUSER', 'fresh', 'reset');
  assert.ok(((await redis.acl('LIST')) as string[]).includes('user fresh off sanitize-payload resetchannels -@all'));
});

test('bad rules are refused with Redis texts and change nothing', async () => {
  const redis = client();
  await redis.acl('SETUSER', 'u2', 'on', 'nopass', '+get', '~k');
  const before = await redis.acl('LIST');
  await assert.rejects(redis.acl('SETUSER', 'u2', '+set', '+nosuchcommand'), /^ReplyError: ERR Error in ACL SETUSER modifier '\+nosuchcommand': Unknown command or category name in ACL$/);
  await assert.rejects(redis.acl('SETUSER', 'u2', '+@nosuchcategory'), /Unknown command or category name in ACL/);
  await assert.rejects(redis.acl('SETUSER', 'u2', 'bogus'), /modifier 'bogus': Syntax error$/);
  await assert.rejects(redis.acl('SETUSER', 'u2', '#abc'), /The password hash must be exactly 64 characters/);
  await assert.rejects(redis.acl('SETUSER', 'u2', '<nope'), /The password you are trying to remove from the user does not exist/);
  await assert.rejects(redis.acl('SETUSER', 'u2', 'allkeys', '~x'), /Adding a pattern after the \* pattern \(or the 'allkeys' flag\)/);
  await assert.rejects(redis.acl('SETUSER', 'u2', '+config|get|x'), /Allowing first-arg of a subcommand is not supported/);
  await assert.rejects(redis.acl('SETUSER', 'bad name'), /^ReplyError: ERR Usernames can't contain spaces or null characters$/);
  assert.deepEqual(await redis.acl('LIST'), before);
  await assert.rejects(redis.acl('DELUSER', 'default'), /^ReplyError: ERR The 'default' user cannot be removed$/);
  await assert.rejects(redis.call('ACL', 'NOSUCH'), /^ReplyError: ERR unknown subcommand 'NOSUCH'. Try ACL HELP.$/);
  await assert.rejects(redis.call('ACL', 'GETUSER'), /^ReplyError: ERR wrong number of arguments for 'acl\|getuser' command$/);
});

test('AUTH and HELLO authenticate as a user; wrong passwords and disabled users get WRONGPASS and an ACL LOG entry', async () => {
  const admin = client();
  await admin.acl('SETUSER', 'alice', 'on', '>secret', '+@all', '~*');
  await admin.acl('LOG', 'RESET');
  const redis = client();
  await assert.rejects(redis.auth('alice', 'wrong'), /^ReplyError: WRONGPASS invalid username-password pair or user is disabled.$/);
  await assert.rejects(redis.auth('nobody', 'x'), /WRONGPASS/);
  await assert.rejects(redis.auth('secret'), /AUTH <password> called without any password configured for the default user/);
  assert.equal(await redis.auth('alice', 'secret'), 'OK');
  assert.equal(await redis.acl('WHOAMI'), 'alice');
  assert.match((await redis.client('INFO')) as string, / user=alice /);
  const hello = client();
  await assert.rejects(hello.call('HELLO', '3', 'AUTH', 'alice', 'nope'), /WRONGPASS/);
  const reply = (await hello.call('HELLO', '2', 'AUTH', 'alice', 'secret')) as unknown[];
  assert.equal(reply[0], 'server');
  assert.equal(await hello.acl('WHOAMI'), 'alice');
  const log = (await admin.acl('LOG')) as unknown[][];
  assert.equal(log.length, 3);
  assert.deepEqual(log[0]!.slice(0, 10), ['count', 1, 'reason', 'auth', 'context', 'toplevel', 'object', 'HELLO', 'username', 'alice']);
  assert.deepEqual(log[1]!.slice(6, 10), ['object', 'auth', 'username', 'nobody']);
  await admin.acl('SETUSER', 'alice', 'off');
  await assert.rejects(client().auth('alice', 'secret'), /WRONGPASS/);
  assert.equal(await redis.acl('WHOAMI'), 'alice'); // already authenticated connections go on, as in Redis
  await admin.acl('SETUSER', 'alice', 'on');
});

test('command, category and subcommand rules: NOPERM with the full command name, logged', async () => {
  const admin = client();
  await admin.acl('SETUSER', 'cmds', 'on', '>p', '~*', '+@read', '-@hash', '+hset', '+config|get', '+select|0', '+client', '+@transaction');
  await admin.acl('LOG', 'RESET');
  const redis = await login('cmds', 'p');
  assert.equal(await redis.get('k'), null);
  await assert.rejects(redis.set('k', 'v'), /^ReplyError: NOPERM this user has no permissions to run the 'set' command$/);
  await assert.rejects(redis.hget('h', 'f'), /run the 'hget' command/);
  assert.equal(await redis.hset('h', 'f', 'v'), 1);
  assert.ok(Array.isArray(await redis.config('GET', 'maxmemory')));
  await assert.rejects(redis.config('SET', 'maxmemory', '0'), /run the 'config\|set' command/);
  assert.equal(await redis.select(0), 'OK');
  await assert.rejects(redis.select(1), /run the 'select' command/);
  assert.equal(typeof (await redis.client('ID')), 'number');
  // Inside MULTI the refusal dooms the transaction, as any refused command.
  await assert.rejects(redis.multi().set('k', 'v').exec(), /EXECABORT/);
  const log = (await admin.acl('LOG', '1')) as unknown[][];
  assert.deepEqual(log[0]!.slice(2, 10), ['reason', 'command', 'context', 'multi', 'object', 'set', 'username', 'cmds']);
  assert.equal(await admin.acl('DRYRUN', 'cmds', 'get', 'x'), 'OK');
  assert.equal(await admin.acl('DRYRUN', 'cmds', 'set', 'x', 'y'), "This user has no permissions to run the 'set' command");
  await assert.rejects(admin.acl('DRYRUN', 'nobody', 'get', 'x'), /^ReplyError: ERR User 'nobody' not found$/);
  await assert.rejects(admin.acl('DRYRUN', 'cmds', 'nosuch'), /^ReplyError: ERR Command 'nosuch' not found$/);
});

test('key patterns: ~ for both, %R~ reads, %W~ writes, by each command key position and access', async () => {
  const admin = client();
  await admin.acl('SETUSER', 'keys', 'on', '>p', '+@all', '~own:*', '%R~ro:*', '%W~wo:*');
  const redis = await login('keys', 'p');
  const keyError = /^ReplyError: NOPERM this user has no permissions to access one of the keys used as arguments$/;
  assert.equal(await redis.set('own:a', '1'), 'OK');
  await assert.rejects(redis.set('other', '1'), keyError);
  assert.equal(await redis.get('ro:a'), null);
  await assert.rejects(redis.set('ro:a', '1'), keyError);
  assert.equal(await redis.set('wo:a', '1'), 'OK'); // SET without GET only writes
  await assert.rejects(redis.set('wo:a', '1', 'GET'), keyError);
  await assert.rejects(redis.get('wo:a'), keyError);
  await assert.rejects(redis.incr('wo:a'), keyError); // INCR reads its key too
  assert.equal(await redis.exists('wo:a', 'ro:a'), 1); // existence needs neither
  await assert.rejects(redis.exists('other'), keyError);
  assert.equal(await redis.lmove('own:l', 'wo:l', 'LEFT', 'LEFT'), null);
  await assert.rejects(redis.lmove('wo:l', 'own:l', 'LEFT', 'LEFT'), keyError);
  assert.equal(await redis.eval('return 1', 1, 'own:x'), 1);
  await assert.rejects(redis.eval('return 1', 1, 'other'), keyError);
  assert.equal(await redis.zunionstore('own:z', 2, 'ro:a', 'own:b'), 0);
  await assert.rejects(redis.zunionstore('own:z', 2, 'ro:a', 'other'), keyError);
  await assert.rejects(redis.zunionstore('ro:z', 1, 'own:a'), keyError);
  assert.equal(await redis.xread('STREAMS', 'own:s', 'ro:s', '0', '0'), null);
  await assert.rejects(redis.xread('STREAMS', 'own:s', 'other', '0', '0'), keyError);
  await assert.rejects(redis.call('SORT', 'own:l', 'STORE', 'ro:x'), keyError);
  await assert.rejects(redis.call('SORT', 'own:l', 'GET', '*'), /^ReplyError: ERR GET option of SORT denied due to insufficient ACL permissions.$/);
  assert.deepEqual(await redis.call('SORT', 'own:l', 'BY', 'nosort'), []);
  assert.equal(await admin.acl('DRYRUN', 'keys', 'get', 'other'), "This user has no permissions to access the 'other' key");
});

test('channel patterns: PUBLISH and SUBSCRIBE match them, PSUBSCRIBE must name one literally', async () => {
  const admin = client();
  await admin.acl('SETUSER', 'chans', 'on', '>p', '+@all', '~*', 'resetchannels', '&news.*');
  const redis = await login('chans', 'p');
  const channelError = /^ReplyError: NOPERM this user has no permissions to access one of the channels used as arguments$/;
  assert.equal(await redis.publish('news.tech', 'hi'), 0);
  await assert.rejects(redis.publish('other', 'hi'), channelError);
  const subscriber = await login('chans', 'p');
  await assert.rejects(subscriber.subscribe('news.a', 'other'), channelError);
  await assert.rejects(subscriber.psubscribe('news.a*'), channelError);
  await subscriber.psubscribe('news.*');
  assert.equal(await admin.acl('DRYRUN', 'chans', 'publish', 'other', 'x'), "This user has no permissions to access the 'other' channel");
  // Narrowing the user's channels disconnects its subscribers that no longer fit (Redis 7.0).
  const closed = new Promise<void>((resolve) => subscriber.once('end', () => resolve()));
  await admin.acl('SETUSER', 'chans', 'resetchannels', '&sports');
  await closed;
});

test('scripts run redis.call as their caller: ACL errors inside the script, redis.acl_check_cmd answers', async () => {
  const admin = client();
  await admin.acl('SETUSER', 'bob', 'on', '>123', '+@scripting', '+set', '~x*');
  const redis = await login('bob', '123');
  assert.equal(await redis.eval("return redis.acl_check_cmd('set','xx',1)", 1, 'xx'), 1);
  assert.equal(await redis.eval("return redis.acl_check_cmd('hset','xx','f',1)", 1, 'xx'), null);
  assert.equal(await redis.eval("return redis.acl_check_cmd('set','yy',1)", 0), null);
  await assert.rejects(redis.eval("return redis.acl_check_cmd('invalid-cmd','arg')", 0), /ERR Invalid command passed to redis.acl_check_cmd\(\)/);
  await assert.rejects(redis.eval("return redis.call('set','yy',1)", 0), /ERR The user executing the script can't access at least one of the keys mentioned in the command arguments/);
  await assert.rejects(redis.eval("return redis.call('get','xx')", 0), /ERR The user executing the script can't run this command or subcommand/);
  assert.deepEqual(await redis.eval("return redis.pcall('get','xx')['err']", 0), "ERR The user executing the script can't run this command or subcommand");
  assert.equal(await redis.eval("return redis.call('set','xx','v')", 0), 'OK');
  const log = (await admin.acl('LOG', '1')) as unknown[][];
  assert.deepEqual(log[0]!.slice(2, 10), ['reason', 'command', 'context', 'lua', 'object', 'get', 'username', 'bob']);
});

test('deleting a user disconnects its clients; ACL CAT and GENPASS answer as Redis', async () => {
  const admin = client();
  await admin.acl('SETUSER', 'gone', 'on', '>p', '+@all', '~*');
  const redis = await login('gone', 'p');
  const closed = new Promise<void>((resolve) => redis.once('end', () => resolve()));
  assert.equal(await admin.acl('DELUSER', 'gone', 'never-was'), 1);
  await closed;
  await assert.rejects(client().auth('gone', 'p'), /WRONGPASS/);
  const categories = (await admin.acl('CAT')) as string[];
  assert.equal(categories.length, 21);
  assert.equal(categories[0], 'keyspace');
  const scripting = (await admin.acl('CAT', 'scripting')) as string[];
  assert.ok(scripting.includes('eval') && scripting.includes('function|load') && !scripting.includes('get'));
  assert.ok(((await admin.acl('CAT', 'blocking')) as string[]).includes('blpop'));
  await assert.rejects(admin.acl('CAT', 'nope'), /^ReplyError: ERR Unknown category 'nope'$/);
  assert.match((await admin.acl('GENPASS')) as string, /^[0-9a-f]{64}$/);
  assert.match((await admin.acl('GENPASS', '5')) as string, /^[0-9a-f]{2}$/);
  await assert.rejects(admin.acl('GENPASS', '0'), /ACL GENPASS argument must be the number of bits/);
  // COMMAND INFO prints the same categories.
  const [info] = (await admin.command('INFO', 'get')) as unknown[][];
  assert.deepEqual(info![6], ['@read', '@string', '@fast']);
});

test('requirepass is the default user password; a table written through one server is adopted by another over the same store', async () => {
  const shared = new MemoryEngine();
  const first = await startMemoryServer({ engine: shared, requirepass: 'pass' });
  const second = await startMemoryServer({ engine: shared, requirepass: 'pass' });
  try {
    const one = client(first.server.port, { password: 'pass' });
    await assert.rejects(one.auth('default', 'nope'), /WRONGPASS/);
    assert.equal(await one.auth('pass'), 'OK');
    assert.equal(await one.acl('SETUSER', 'carol', 'on', '>c', '+get', '~*'), 'OK');
    const two = client(second.server.port, { username: 'carol', password: 'c', enableReadyCheck: false });
    assert.equal(await two.get('k'), null);
    await assert.rejects(two.set('k', 'v'), /NOPERM/);
    assert.equal(await two.auth('default', 'pass'), 'OK'); // the default user came along, password included
    assert.deepEqual(await two.acl('USERS'), ['carol', 'default']);
  } finally {
    await first.server.close();
    await second.server.close();
  }
});

// Proves each client command sends the right RESP requests and prints the right output and exit code (against a scripted fake server), get on every type included.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { RespClient } from '../../src/cli/client.js';
import { RespReplyParser, replyText } from '../../src/wire/resp-reply-parser.js';

type Handler = (args: string[], socket: Socket) => string | undefined;

interface FakeServer {
  readonly port: number;
  readonly requests: string[][];
  close(): Promise<void>;
}

const servers: Server[] = [];
after(() => Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))))); // stop all

/** A RESP server on loopback that answers each request with handler's raw reply text. */
function fakeServer(handler: Handler): Promise<FakeServer> {
  const requests: string[][] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const parser = new RespReplyParser();
    socket.on('data', (chunk) => {
      for (const request of parser.feed(chunk).replies) {
        const args = request.type === 'array' ? request.value.map((item) => replyText(item) ?? '') : [];
        requests.push(args);
        const reply = handler(args, socket);
        if (reply !== undefined) socket.write(Buffer.from(reply, 'latin1'));
      }
    });
  });
  servers.push(server);
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : 0,
        requests,
        close: () => new Promise<void>((done) => {
          for (const socket of sockets) socket.destroy();
          server.close(() => done());
        }),
      });
    });
  });
}

class Capture extends Writable {
  chunks: Buffer[] = [];
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.chunks.push(Buffer.from(chunk));
    callback();
  }
  get text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

async function run(port: number, args: string[], env: Record<string, string> = {}) {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await main(['node', 'peerkv', '-p', String(port), ...args], { env, stdout, stderr });
  return { code, stdout: stdout.text, stdoutBytes: stdout.bytes, stderr: stderr.text };
}

const bulk = (text: string | Buffer) => {
  const bytes = Buffer.from(text);
  return `$${bytes.length}\r\n${bytes.toString('latin1')}\r\n`;
};
function bulkText(text: string): string {
  return bulk(text);
}

const INFO_CLUSTER = [
  '# Cluster', 'node_id:0123456789abcdef0123456789abcdef', 'node_name:alpha', 'members_alive:3', 'members_suspect:0', 'members_dead:1',
  'member0:id=0123456789abcdef0123456789abcdef,name=alpha,addr=127.0.0.1:7380,state=alive,last_seen_ms=0',
  'member1:id=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb,name=beta,addr=127.0.0.1:7480,state=alive,last_seen_ms=120',
  'member2:id=cccccccccccccccccccccccccccccccc,name=gamma,addr=127.0.0.1:7580,state=dead,last_seen_ms=45000',
  '',
].join('\r\n');

const store = new Map<string, string>([['a', 'apple'], ['bin', '\u00ff\u0000\u0001']]);
/** Keys of other types: their TYPE and the reply of the command that reads them whole. */
const typed = new Map<string, { type: string; command: string; reply: string }>([
  ['h', { type: 'hash', command: 'HGETALL', reply: `*4\r\n${bulkText('name')}${bulkText('ada')}${bulkText('id')}${bulkText('7')}` }],
  ['s', { type: 'set', command: 'SMEMBERS', reply: `*3\r\n${bulkText('pear')}${bulkText('apple')}${bulkText('fig')}` }],
  ['z', { type: 'zset', command: 'ZRANGE', reply: `*4\r\n${bulkText('bob')}${bulkText('1.5')}${bulkText('alice')}${bulkText('20')}` }],
  ['l', { type: 'list', command: 'LRANGE', reply: `*3\r\n${bulkText('c')}${bulkText('a')}${bulkText('b')}` }],
  ['x', { type: 'stream', command: 'XRANGE', reply: '*0\r\n' }],
]);

function redisLike(args: string[]): string | undefined {
  const [name, ...rest] = args;
  switch (name?.toUpperCase()) {
    case 'PING': return '+PONG\r\n';
    case 'AUTH': return rest[0] === 'pw' ? '+OK\r\n' : '-WRONGPASS invalid username-password pair\r\n';
    case 'SET': return '+OK\r\n';
    case 'HGETALL':
    case 'SMEMBERS':
    case 'ZRANGE':
    case 'LRANGE': {
      const value = typed.get(rest[0]!);
      return value?.command === name.toUpperCase() ? value.reply : '*0\r\n';
    }
    case 'PEERKV.QGET':
      // A real node answers null for a key of another type; strings are not scripted here.
      return typed.has(rest[0]!) ? '$-1\r\n' : `-ERR unknown command '${name}'\r\n`;
    case 'GET': {
      if (typed.has(rest[0]!)) return '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n';
      const value = store.get(rest[0]!);
      return value === undefined ? '$-1\r\n' : bulk(Buffer.from(value, 'latin1'));
    }
    case 'TYPE': return typed.has(rest[0]!) ? `+${typed.get(rest[0]!)!.type}\r\n` : store.has(rest[0]!) ? '+string\r\n' : '+none\r\n';
    case 'DEL': return `:${rest.filter((key) => store.has(key)).length}\r\n`;
    case 'TTL': return store.has(rest[0]!) ? ':-1\r\n' : ':-2\r\n';
    case 'WAIT': return `:${Math.min(Number(rest[0]), 2)}\r\n`;
    case 'INFO': return bulk(INFO_CLUSTER + '# Server\r\nuptime_in_seconds:65\r\n# Memory\r\nused_memory_human:1.2M\r\n# Keyspace\r\ndb0:keys=2,expires=0\r\n');
    case 'SCAN':
      return rest[0] === '0'
        ? `*2\r\n${bulk('7')}*2\r\n${bulk('b')}${bulk('a')}`
        : `*2\r\n${bulk('0')}*2\r\n${bulk('c')}${bulk('a')}`;
    default: return `-ERR unknown command '${name}'\r\n`;
  }
}

test('ping prints PONG with latency; --json prints an object', async () => {
  const server = await fakeServer(redisLike);
  assert.match((await run(server.port, ['ping'])).stdout, /^PONG \(\d+(\.\d+)? ms\)\n$/);
  const json = JSON.parse((await run(server.port, ['ping', '--json'])).stdout);
  assert.equal(json.reply, 'PONG');
  assert.equal(typeof json.latencyMs, 'number');
});

test('set sends SET with EX for --ttl; --ack all waits for every other alive member', async () => {
  const server = await fakeServer(redisLike);
  assert.deepEqual(await run(server.port, ['set', 'k', 'v w', '--ttl', '30']), { code: 0, stdout: 'OK\n', stdoutBytes: Buffer.from('OK\n'), stderr: '' });
  assert.deepEqual(server.requests.at(-1), ['SET', 'k', 'v w', 'EX', '30']);
  const acked = await run(server.port, ['set', 'k', 'v', '--ack', 'all', '--timeout', '1500']);
  assert.equal(acked.stdout, 'OK, stored on 2 other nodes\n');
  assert.deepEqual(server.requests.slice(-3), [['SET', 'k', 'v'], ['INFO', 'cluster'], ['WAIT', '2', '1500']]);
  const short = await run(server.port, ['set', 'k', 'v', '--ack', '3']);
  assert.equal(short.code, 1);
  assert.match(short.stderr, /^peerkv: only 2 of 3 other nodes stored the write/);
});

test('get prints raw bytes; a missing key exits 1 with one line on stderr', async () => {
  const server = await fakeServer(redisLike);
  assert.deepEqual((await run(server.port, ['get', 'bin'])).stdoutBytes, Buffer.from([0xff, 0x00, 0x01, 0x0a]));
  assert.equal((await run(server.port, ['get', 'a'])).stdout, 'apple\n');
  const missing = await run(server.port, ['get', 'nope']);
  assert.deepEqual([missing.code, missing.stdout, missing.stderr], [1, '', 'peerkv: key not found: nope\n']);
  assert.deepEqual(JSON.parse((await run(server.port, ['get', 'a', '--json'])).stdout), { key: 'a', value: 'apple' });
  assert.deepEqual(JSON.parse((await run(server.port, ['get', 'bin', '--json'])).stdout), { key: 'bin', valueBase64: '/wAB' });
});

test('get prints a hash, set, sorted set or list readably and --json for scripts; type prints the type, none when missing', async () => {
  const server = await fakeServer(redisLike);
  assert.deepEqual(await run(server.port, ['get', 'h']), { code: 0, stdout: 'id    7\nname  ada\n', stdoutBytes: Buffer.from('id    7\nname  ada\n'), stderr: '' });
  assert.deepEqual(server.requests.slice(-3), [['GET', 'h'], ['TYPE', 'h'], ['HGETALL', 'h']]);
  assert.equal((await run(server.port, ['get', 's'])).stdout, 'apple\nfig\npear\n', 'a set prints sorted');
  assert.equal((await run(server.port, ['get', 'z'])).stdout, 'bob    1.5\nalice  20\n', 'a sorted set prints by score');
  assert.deepEqual(server.requests.at(-1), ['ZRANGE', 'z', '0', '-1', 'WITHSCORES']);
  assert.equal((await run(server.port, ['get', 'l'])).stdout, 'c\na\nb\n', 'a list prints in order');
  assert.deepEqual(server.requests.at(-1), ['LRANGE', 'l', '0', '-1']);
  assert.deepEqual(JSON.parse((await run(server.port, ['get', 'h', '--json'])).stdout), { key: 'h', type: 'hash', value: { id: '7', name: 'ada' } });
  assert.deepEqual(JSON.parse((await run(server.port, ['get', 's', '--json'])).stdout), { key: 's', type: 'set', value: ['apple', 'fig', 'pear'] });
  assert.deepEqual(JSON.parse((await run(server.port, ['get', 'z', '--json'])).stdout), { key: 'z', type: 'zset', value: [{ member: 'bob', score: 1.5 }, { member: 'alice', score: 20 }] });
  assert.deepEqual(JSON.parse((await run(server.port, ['get', 'l', '--json'])).stdout), { key: 'l', type: 'list', value: ['c', 'a', 'b'] });
  const other = await run(server.port, ['get', 'x']);
  assert.deepEqual([other.code, other.stdout, other.stderr], [1, '', 'peerkv: x holds a stream, which get cannot print (peerkv type KEY names the type)\n']);
  const quorum = await run(server.port, ['get', '--quorum', 'l']);
  assert.deepEqual([quorum.code, quorum.stdout, quorum.stderr], [0, 'c\na\nb\n', 'peerkv: note: --quorum reads strings only; l is a list, read from this node\n']);
  assert.deepEqual(await run(server.port, ['type', 'h']), { code: 0, stdout: 'hash\n', stdoutBytes: Buffer.from('hash\n'), stderr: '' });
  assert.equal((await run(server.port, ['type', 'a'])).stdout, 'string\n');
  assert.equal((await run(server.port, ['type', 'nope'])).stdout, 'none\n');
  assert.deepEqual(JSON.parse((await run(server.port, ['type', 'h', '--json'])).stdout), { key: 'h', type: 'hash' });
  assert.equal((await run(server.port, ['type'])).code, 2, 'KEY is required');
});

test('get --quorum sends PEERKV.QGET and reports a server error as a failed command', async () => {
  const server = await fakeServer(redisLike);
  const result = await run(server.port, ['get', '--quorum', 'a']);
  assert.deepEqual(server.requests.at(-1), ['PEERKV.QGET', 'a']);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "peerkv: PEERKV.QGET failed: ERR unknown command 'PEERKV.QGET'\n");
});

test('del counts, ttl prints seconds, keys walks SCAN pages without duplicates', async () => {
  const server = await fakeServer(redisLike);
  assert.equal((await run(server.port, ['del', 'a', 'x', 'bin'])).stdout, '2\n');
  assert.equal((await run(server.port, ['ttl', 'zzz'])).stdout, '-2\n');
  assert.equal((await run(server.port, ['keys'])).stdout, 'a\nb\nc\n');
  assert.deepEqual(server.requests.filter(([name]) => name === 'SCAN'), [['SCAN', '0', 'MATCH', '*', 'COUNT', '1000'], ['SCAN', '7', 'MATCH', '*', 'COUNT', '1000']]);
  assert.deepEqual(JSON.parse((await run(server.port, ['keys', 'u*', '--json'])).stdout), ['a', 'b', 'c']);
  assert.equal(server.requests.at(-1)![3], 'u*');
});

test('members prints a table and --json an array; status summarises INFO', async () => {
  const server = await fakeServer(redisLike);
  const table = (await run(server.port, ['members'])).stdout.split('\n');
  assert.match(table[0]!, /^NAME\s+ID\s+ADDRESS\s+STATE\s+LAST SEEN$/);
  assert.match(table[2]!, /^beta\s+bbbbbbbb\s+127\.0\.0\.1:7480\s+alive\s+120 ms ago$/);
  const members = JSON.parse((await run(server.port, ['members', '--json'])).stdout);
  assert.equal(members.length, 3);
  assert.equal(members[2].state, 'dead');
  const status = (await run(server.port, ['status'])).stdout;
  assert.match(status, /node\s+alpha \(01234567\)/);
  assert.match(status, /members\s+3 alive, 0 suspect, 1 dead/);
  assert.match(status, /uptime\s+1m 5s/);
  const json = JSON.parse((await run(server.port, ['--json', 'status'])).stdout);
  assert.deepEqual([json.keys, json.memory, json.members.dead], [2, '1.2M', 1]);
});

test('-a and PEERKV_PASSWORD send AUTH first; a refused password exits 1 with a hint', async () => {
  const server = await fakeServer(redisLike);
  assert.equal((await run(server.port, ['ping', '-a', 'pw'])).code, 0);
  assert.deepEqual(server.requests.slice(-2), [['AUTH', 'pw'], ['PING']]);
  assert.equal((await run(server.port, ['ping'], { PEERKV_PASSWORD: 'pw' })).code, 0);
  const refused = await run(server.port, ['ping'], { REDISCLI_AUTH: 'bad' });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^peerkv: AUTH failed: WRONGPASS .*check -a/);
});

test('no server: exit 1 with the documented hint; a silent server: exit 1 after --timeout', async () => {
  const server = await fakeServer(() => undefined);
  const silent = await run(server.port, ['ping', '--timeout', '200']);
  assert.equal(silent.code, 1);
  assert.match(silent.stderr, /no reply from 127\.0\.0\.1:\d+ within 200 ms/);
  await server.close();
  const refused = await run(server.port, ['get', 'a']);
  assert.deepEqual([refused.code, refused.stderr], [1, `peerkv: cannot connect to 127.0.0.1:${server.port} (is a node running? start one with: peerkv start)\n`]);
});

test('usage errors exit 2 without touching the network', async () => {
  const stderr = new Capture();
  const io = { env: {}, stdout: new Capture(), stderr };
  assert.equal(await main(['node', 'peerkv', 'set', 'only-key'], io), 2);
  assert.equal(await main(['node', 'peerkv', 'set', 'k', 'v', '--ttl', '0'], io), 2);
  assert.equal(await main(['node', 'peerkv', 'set', 'k', 'v', '--ack', 'most'], io), 2);
  assert.equal(await main(['node', 'peerkv', 'frobnicate'], io), 2);
  assert.equal(await main(['node', 'peerkv', 'start', '--fsync', 'sometimes'], io), 2);
  assert.equal(await main(['node', 'peerkv', '--help'], io), 0);
  assert.ok(stderr.text.split('\n').filter(Boolean).every((line) => line.startsWith('peerkv: ')), stderr.text);
});

test('watch prints one line per keyspace event until the connection ends', async () => {
  const server = await fakeServer((args, socket) => {
    if (args[0] !== 'PSUBSCRIBE') return redisLike(args);
    setTimeout(() => {
      const message = (key: string, event: string) => `*4\r\n${bulk('pmessage')}${bulk(args[1]!)}${bulk(`__keyspace@0__:${key}`)}${bulk(event)}`;
      socket.write(message('user:1', 'set') + message('user:2', 'del'));
      setTimeout(() => socket.end(), 50);
    }, 20);
    return `*3\r\n${bulk('psubscribe')}${bulk(args[1]!)}:1\r\n`;
  });
  const result = await run(server.port, ['watch', 'user:']);
  assert.equal(result.stdout, 'set user:1\ndel user:2\n');
  assert.deepEqual(server.requests[0], ['PSUBSCRIBE', '__keyspace@0__:user:*']);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /closed by the server/);
  const withValues = await run(server.port, ['watch', '--json', '--values']);
  assert.deepEqual(withValues.stdout.trim().split('\n').map((line) => JSON.parse(line)), [
    { event: 'set', key: 'user:1', value: null },
    { event: 'del', key: 'user:2' },
  ]);
});

test('the client keeps pipelined replies in order and refuses commands once closed', async () => {
  const server = await fakeServer((args) => (args[0] === 'ECHO' ? bulk(args[1]!) : undefined));
  const client = await RespClient.connect({ host: '127.0.0.1', port: server.port, timeoutMs: 2000 });
  const replies = await Promise.all(['one', 'two', 'three'].map((word) => client.command(['ECHO', word])));
  assert.deepEqual(replies.map(replyText), ['one', 'two', 'three']);
  client.close();
  await assert.rejects(client.command(['ECHO', 'x']), { code: 'CLOSED' });
});

test('disk full: a write refused with MISCONF is one stderr line that says to free space', async () => {
  const misconf = '-MISCONF peerkv cannot write to its data directory: free space 12 MB is below the 64 MB reserve. Commands that may modify data are refused until it can (checked every second); reads work.\r\n';
  const server = await fakeServer((args) => (args[0] === 'SET' ? misconf : redisLike(args)));
  const refused = await run(server.port, ['set', 'k', 'v']);
  assert.equal(refused.code, 1);
  assert.equal(refused.stderr.split('\n').filter((line) => line !== '').length, 1, refused.stderr);
  assert.match(refused.stderr, /^peerkv: SET failed: MISCONF .*reserve.*reads work\. \(free space on that node's disk; it takes writes again by itself\)\n$/);
  await server.close();
});

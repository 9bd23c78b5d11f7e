// Proves bad input (truncated frames, absurd lengths, huge inline garbage, random bytes) closes only the offending client, and that AUTH, NOAUTH and pre-AUTH limits behave as Redis.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { MemoryEngine, RawClient, startMemoryServer } from '../support/memory-engine.js';
import type { RespServer } from '../../src/net/resp-listener.js';
import { headerRowKey } from '../../src/core/rows.js';

let open: RespServer;
let locked: RespServer;
const clients: Redis[] = [];

before(async () => {
  ({ server: open } = await startMemoryServer());
  ({ server: locked } = await startMemoryServer({ requirepass: 's3cret' }));
});

after(async () => {
  for (const redis of clients) redis.disconnect();
  await Promise.all([open.close(), locked.close()]);
});

function client(port: number, extra: Record<string, unknown> = {}): Redis {
  const redis = new Redis({ host: '127.0.0.1', port, protocol: 2, maxRetriesPerRequest: 0, retryStrategy: () => null, ...extra });
  clients.push(redis);
  return redis;
}

/** Send bytes on a fresh connection and expect the server to reply with a protocol error and close. */
async function expectProtocolError(bytes: string | Buffer, pattern: RegExp): Promise<void> {
  const raw = new RawClient(open.port);
  await raw.connected;
  raw.send(bytes);
  assert.ok(await raw.waitClosed(), 'server closes the connection');
  assert.match(raw.text(), pattern);
}

test('truncated and absurd frames close only that client', async () => {
  const bystander = client(open.port);
  await bystander.set('still', 'here');
  const errorsBefore = open.stats().protocolErrors!;
  await expectProtocolError('*1\r\n$99999999999\r\n', /^-ERR Protocol error: invalid bulk length\r\n$/);
  await expectProtocolError('*2000000\r\n', /^-ERR Protocol error: invalid multibulk length\r\n$/);
  await expectProtocolError('*1\r\n$3\r\nabcdefgh', /^-ERR Protocol error: expected CRLF after bulk data\r\n$/);
  await expectProtocolError('PING\r\n*1\r\n?oops\r\n', /^\+PONG\r\n-ERR Protocol error: expected '\$', got '\?'\r\n$/);
  assert.equal(open.stats().protocolErrors! - errorsBefore, 4);
  assert.equal(await bystander.get('still'), 'here');
});

test('8 MiB of inline garbage without a newline is cut off at the inline limit', async () => {
  const bystander = client(open.port);
  const raw = new RawClient(open.port);
  await raw.connected;
  const garbage = Buffer.alloc(8 * 1024 * 1024, 'g');
  raw.send(garbage);
  assert.ok(await raw.waitClosed(5_000));
  assert.match(raw.text(), /^-ERR Protocol error: too big inline request\r\n$/);
  assert.equal(await bystander.ping(), 'PONG');
});

test('a truncated frame followed by silence just waits; the client can still finish it', async () => {
  const raw = new RawClient(open.port);
  await raw.connected;
  raw.send('*2\r\n$4\r\nECHO\r\n$5\r\nhel');
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(raw.text(), '');
  raw.send('lo\r\n');
  assert.equal(await raw.waitFor((text) => text.length >= 11), '$5\r\nhello\r\n');
  raw.destroy();
});

test('random bytes never take the server down', async () => {
  const bystander = client(open.port);
  for (let round = 0; round < 20; round++) {
    const raw = new RawClient(open.port);
    await raw.connected;
    raw.send(randomBytes(1 + ((round * 7919) % 4096)));
    raw.send('\r\n');
    await raw.waitFor(() => false, 30);
    raw.destroy();
  }
  assert.equal(await bystander.ping(), 'PONG');
  assert.ok(open.connections() >= 1);
});

test('inline commands and QUIT over a raw socket', async () => {
  const raw = new RawClient(open.port);
  await raw.connected;
  raw.send('SET inline "hello world"\r\nGET inline\r\nQUIT\r\n');
  assert.ok(await raw.waitClosed());
  assert.equal(raw.text(), '+OK\r\n$11\r\nhello world\r\n+OK\r\n');
});

test('client half-close: pending replies are sent before the server closes', async () => {
  const raw = new RawClient(open.port);
  await raw.connected;
  raw.send('PING\r\nPING\r\n');
  (raw as unknown as { socket: { end(): void } }).socket.end();
  assert.ok(await raw.waitClosed());
  assert.equal(raw.text(), '+PONG\r\n+PONG\r\n');
});

test('requirepass: NOAUTH before AUTH, WRONGPASS on a bad password, HELLO AUTH works', async () => {
  const raw = new RawClient(locked.port);
  await raw.connected;
  raw.send('GET k\r\nAUTH wrong\r\nAUTH bob s3cret\r\nAUTH s3cret\r\nGET k\r\n');
  const text = await raw.waitFor((received) => received.split('\r\n').length > 5);
  assert.equal(
    text,
    '-NOAUTH Authentication required.\r\n' +
      '-WRONGPASS invalid username-password pair or user is disabled.\r\n' +
      '-WRONGPASS invalid username-password pair or user is disabled.\r\n' +
      '+OK\r\n$-1\r\n',
  );
  raw.destroy();
  const viaHello = client(locked.port, { protocol: 3, password: 's3cret' });
  assert.equal(await viaHello.set('a', '1'), 'OK');
  const viaAuth = client(locked.port, { password: 's3cret' });
  assert.equal(await viaAuth.get('a'), '1');
  const noPassword = client(locked.port, { enableReadyCheck: false });
  noPassword.on('error', () => {});
  await assert.rejects(noPassword.get('a'), /NOAUTH/);
  const helloRaw = new RawClient(locked.port);
  await helloRaw.connected;
  helloRaw.send('HELLO 3\r\n');
  assert.match(await helloRaw.waitFor((received) => received.endsWith('\r\n')), /^-NOAUTH HELLO must be called with the client already authenticated/);
  helloRaw.destroy();
});

test('AUTH without a configured password is an error; AUTH default anything is fine', async () => {
  const redis = client(open.port);
  await assert.rejects(redis.call('AUTH', 'x'), /called without any password configured/);
  assert.equal(await redis.call('AUTH', 'default', 'x'), 'OK');
});

test('before AUTH at most 10 args of 16 KiB; after AUTH the normal limits', async () => {
  const tooMany = new RawClient(locked.port);
  await tooMany.connected;
  tooMany.send(`*11\r\n${'$1\r\na\r\n'.repeat(11)}`);
  assert.ok(await tooMany.waitClosed());
  assert.equal(tooMany.text(), '-ERR Protocol error: unauthenticated multibulk length\r\n');
  const tooLong = new RawClient(locked.port);
  await tooLong.connected;
  tooLong.send('*2\r\n$4\r\nAUTH\r\n$20000\r\n');
  assert.ok(await tooLong.waitClosed());
  assert.equal(tooLong.text(), '-ERR Protocol error: unauthenticated bulk length\r\n');
  const authed = client(locked.port, { password: 's3cret' });
  const keys = Array.from({ length: 20 }, (_, index) => `many${index}`);
  assert.equal(await authed.del(...keys), 0);
  await authed.set('long', 'x'.repeat(100_000));
  assert.equal((await authed.get('long'))?.length, 100_000);
});

test('pauseReading holds commands until resumeReading', async () => {
  const redis = client(open.port);
  await redis.ping();
  open.pauseReading();
  let answered = false;
  const reply = redis.ping().then((value) => {
    answered = true;
    return value;
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(answered, false);
  open.resumeReading();
  assert.equal(await reply, 'PONG');
});

test('close ends every connection and stops accepting', async () => {
  const { server } = await startMemoryServer();
  const raw = new RawClient(server.port);
  await raw.connected;
  raw.send('PING\r\n');
  await raw.waitFor((text) => text === '+PONG\r\n');
  assert.equal(server.connections(), 1);
  await server.close();
  assert.ok(await raw.waitClosed());
  const late = new RawClient(server.port);
  assert.ok(await late.waitClosed());
});

test('slow commits: replies keep request order across chunks, later chunks wait their turn', async () => {
  const { server } = await startMemoryServer({ engine: new MemoryEngine({ commitDelayMs: 40 }) });
  const raw = new RawClient(server.port);
  await raw.connected;
  raw.send('SET a 1\r\nGET a\r\n');
  await new Promise((resolve) => setTimeout(resolve, 5));
  raw.send('SET a 2\r\n');
  await new Promise((resolve) => setTimeout(resolve, 5));
  raw.send('GET a\r\nPING\r\n');
  const expected = '+OK\r\n$1\r\n1\r\n+OK\r\n$1\r\n2\r\n+PONG\r\n';
  assert.equal(await raw.waitFor((text) => text.length >= expected.length), expected);
  raw.destroy();
  await server.close();
});

test('CLIENT REPLY OFF drops replies until ON; SKIP drops the next one only; writes still happen', async () => {
  const { server, engine } = await startMemoryServer();
  const raw = new RawClient(server.port);
  try {
    await raw.connected;
    raw.send('CLIENT REPLY OFF\r\nSET a 1\r\nGET a\r\nCLIENT REPLY ON\r\nGET a\r\n');
    await raw.waitFor((text) => text.includes('$1\r\n1\r\n'));
    assert.equal(raw.text(), '+OK\r\n$1\r\n1\r\n');
    raw.send('CLIENT REPLY SKIP\r\nINCR n\r\nINCR n\r\nPING\r\n');
    await raw.waitFor((text) => text.endsWith('+PONG\r\n'));
    assert.equal(raw.text(), '+OK\r\n$1\r\n1\r\n:2\r\n+PONG\r\n');
    assert.ok(engine.get(headerRowKey(Buffer.from('a'))) !== undefined, 'the write made under OFF happened');
    raw.send('CLIENT REPLY MAYBE\r\n');
    await raw.waitFor((text) => text.includes('syntax'));
  } finally {
    raw.destroy();
    await server.close();
  }
});

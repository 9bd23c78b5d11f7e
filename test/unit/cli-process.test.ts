// Proves bin/peerkv as a process: usage errors exit 2, help exits 0, an unreachable node or unusable data dir exits 1, and the logger writes JSON lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/runtime/logger.js';

const BIN = join(process.cwd(), 'bin', 'peerkv');

function peerkv(...args: string[]) {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, PEERKV_PASSWORD: '', REDISCLI_AUTH: '' } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('usage errors exit 2 with one stderr line', () => {
  for (const args of [['--bogus'], ['get'], ['set', 'k'], ['start', '--port', 'x'], ['nosuchcommand'], ['-p', 'notaport', 'ping']]) {
    const result = peerkv(...args);
    assert.equal(result.code, 2, `peerkv ${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, /^peerkv: /, args.join(' '));
  }
  const bare = peerkv();
  assert.equal(bare.code, 2, 'no command: usage on stderr');
  assert.match(bare.stderr, /^Usage: peerkv/);
  assert.equal(peerkv('--bogus').stderr, "peerkv: unknown option '--bogus'; see peerkv --help\n");
});

test('--help exits 0 and lists the commands', () => {
  const result = peerkv('--help');
  assert.equal(result.code, 0);
  for (const command of ['start', 'demo', 'set', 'get', 'del', 'keys', 'ttl', 'members', 'status', 'watch', 'ping']) assert.match(result.stdout, new RegExp(`\\n  ${command}\\b`));
});

test('a client command with no node listening exits 1 and says how to start one', () => {
  // Port 1 on loopback: nothing listens there without root.
  const result = peerkv('-p', '1', 'ping');
  assert.equal(result.code, 1);
  assert.equal(result.stderr, 'peerkv: cannot connect to 127.0.0.1:1 (is a node running? start one with: peerkv start)\n');
});

test('an unusable --data exits 1 with one line naming the directory, without hanging', () => {
  // /proc refuses new directories with ENOENT, on which Node's recursive mkdir loops forever.
  for (const [dir, pattern] of [
    ['/proc/peerkv-test-no-such-dir/data', /^peerkv: cannot create data directory \/proc\/peerkv-test-no-such-dir\/data /],
    ['/dev/null/data', /^peerkv: data directory \/dev\/null\/data is not a directory; choose another with --data\n$/],
  ] as const) {
    const result = peerkv('start', '--data', dir, '--port', '0', '--peer-port', '0', '--no-discovery', '--log-level', 'silent');
    assert.equal(result.code, 1, `${dir}: ${result.stderr}`);
    assert.match(result.stderr, pattern);
  }
});

test('createLogger writes JSON lines with the node name and honours the level', () => {
  const destination = new PassThrough();
  let written = '';
  destination.on('data', (chunk: Buffer) => (written += chunk.toString()));
  const logger = createLogger('warn', { name: 'alpha', destination });
  logger.info('hidden');
  logger.warn({ port: 7379 }, 'shown');
  const lines = written.trim().split('\n').map((line) => JSON.parse(line));
  assert.equal(lines.length, 1);
  assert.equal(lines[0].msg, 'shown');
  assert.equal(lines[0].name, 'alpha');
  assert.equal(lines[0].port, 7379);
});

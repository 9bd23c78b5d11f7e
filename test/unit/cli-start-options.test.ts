// Proves `peerkv start` flags, environment and key files map to NodeOptions, and bad input lists every problem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStartOptions, type StartOptionsResult } from '../../src/cli/start-options.js';
import { defaultNodeOptions, type NodeOptions } from '../../src/runtime/options.js';

const noFiles = (path: string): string => {
  throw new Error(`ENOENT: no such file, open '${path}'`);
};

function options(result: StartOptionsResult): NodeOptions {
  assert.ok('options' in result, `expected options, got errors: ${'errors' in result ? result.errors.join(' | ') : ''}`);
  return result.options;
}

function errors(result: StartOptionsResult): string[] {
  assert.ok('errors' in result, 'expected errors');
  return result.errors;
}

test('no flags gives the documented defaults', () => {
  assert.deepEqual(options(parseStartOptions([], {}, noFiles)), defaultNodeOptions());
  const defaults = options(parseStartOptions([], {}, noFiles));
  assert.equal(defaults.port, 7379);
  assert.equal(defaults.peerPort, 7380);
  assert.equal(defaults.dataDir, './data');
  assert.equal(defaults.discoveryPort, 7381);
  assert.equal(defaults.clusterName, 'peerkv');
});

test('every flag lands in its option', () => {
  const result = options(parseStartOptions([
    '--data', '/tmp/d2', '--port', '7479', '--peer-port', '7500', '--bind', '127.0.0.2', '--discovery-port', '9000',
    '--broadcast', '127.255.255.255', '--join', '127.0.0.1:7380,127.0.0.1:7480', '--join', 'localhost:9', '--no-discovery',
    '--name', 'alpha', '--cluster', 'blue', '--cluster-key', 'k'.repeat(16) + ',' + 'o'.repeat(16), '--insecure',
    '--requirepass', 'pw', '--fsync', 'always', '--http-port', '8080', '--log-level', 'debug', '--clock-offset-ms', '-250',
  ], {}, noFiles));
  assert.deepEqual(result, defaultNodeOptions({
    dataDir: '/tmp/d2', port: 7479, peerPort: 7500, bind: '127.0.0.2', discoveryPort: 9000, broadcast: '127.255.255.255',
    join: ['127.0.0.1:7380', '127.0.0.1:7480', 'localhost:9'], discovery: false, name: 'alpha', clusterName: 'blue',
    clusterKeys: ['k'.repeat(16), 'o'.repeat(16)], insecure: true, requirepass: 'pw', fsync: 'always', httpPort: 8080,
    logLevel: 'debug', clockOffsetMs: -250,
  }));
});

test('peer port follows the client port unless given; port 0 picks both', () => {
  assert.equal(options(parseStartOptions(['--port', '7479'], {}, noFiles)).peerPort, 7480);
  const zero = options(parseStartOptions(['--port', '0'], {}, noFiles));
  assert.equal(zero.port, 0);
  assert.equal(zero.peerPort, 0);
});

test('cluster keys and password come from the environment when no flag is given', () => {
  const env = { PEERKV_CLUSTER_KEY: ` ${'a'.repeat(16)} , ${'b'.repeat(16)} `, PEERKV_REQUIREPASS: 'secret' };
  const result = options(parseStartOptions([], env, noFiles));
  assert.deepEqual(result.clusterKeys, ['a'.repeat(16), 'b'.repeat(16)]);
  assert.equal(result.requirepass, 'secret');
  const flagWins = options(parseStartOptions(['--cluster-key', 'c'.repeat(16), '--requirepass', 'flag'], env, noFiles));
  assert.deepEqual(flagWins.clusterKeys, ['c'.repeat(16)]);
  assert.equal(flagWins.requirepass, 'flag');
});

test('a cluster key file holds one key per line or comma-separated; the first seals', () => {
  const file = `# current\n${'n'.repeat(20)}\n\n# previous, still accepted\n${'o'.repeat(20)},${'p'.repeat(20)}\r\n`;
  const result = options(parseStartOptions(['--cluster-key-file', '/keys'], {}, (path) => (path === '/keys' ? file : noFiles(path))));
  assert.deepEqual(result.clusterKeys, ['n'.repeat(20), 'o'.repeat(20), 'p'.repeat(20)]);
  assert.match(errors(parseStartOptions(['--cluster-key-file', '/missing'], {}, noFiles))[0]!, /cannot read --cluster-key-file \/missing/);
  assert.match(errors(parseStartOptions(['--cluster-key-file', '/empty'], {}, () => '# nothing\n'))[0]!, /holds no key/);
});

test('bad values are reported together, one line each', () => {
  const problems = errors(parseStartOptions(['--port', 'abc', '--fsync', 'sometimes', '--log-level', 'loud', '--http-port', '70000'], {}, noFiles));
  assert.equal(problems.length, 4);
  assert.ok(problems.every((problem) => !problem.includes('\n')));
  assert.match(problems.join('|'), /--port must be an integer 0\.\.65535, got 'abc'/);
  assert.match(problems.join('|'), /--fsync/);
  assert.match(problems.join('|'), /--log-level/);
  assert.match(problems.join('|'), /--http-port/);
});

test('option combinations that cannot work are refused by validateNodeOptions', () => {
  assert.match(errors(parseStartOptions(['--bind', '10.1.2.3'], {}, noFiles)).join('|'), /not loopback.*--cluster-key.*--insecure/);
  assert.ok('options' in parseStartOptions(['--bind', '10.1.2.3', '--insecure'], {}, noFiles));
  assert.match(errors(parseStartOptions(['--port', '7000', '--peer-port', '7000'], {}, noFiles)).join('|'), /must differ/);
  assert.match(errors(parseStartOptions(['--join', 'nohostport'], {}, noFiles)).join('|'), /expected HOST:PEERPORT/);
  assert.match(errors(parseStartOptions(['--cluster-key', 'short'], {}, noFiles)).join('|'), /at least 16/);
  assert.match(errors(parseStartOptions(['--name', 'two\nlines'], {}, noFiles)).join('|'), /--name must be 1-255 bytes in UTF-8 without '=' or control characters/);
  assert.match(errors(parseStartOptions(['--name', 'x'.repeat(256)], {}, noFiles)).join('|'), /--name must be/);
  assert.match(errors(parseStartOptions(['--name', 'a=b'], {}, noFiles)).join('|'), /--name must be/);
  assert.ok('options' in parseStartOptions(['--name', 'rack 4, shelf 2'], {}, noFiles), 'spaces and commas are fine');
});

test('unknown flags and stray arguments are usage errors, not crashes', () => {
  assert.match(errors(parseStartOptions(['--bogus'], {}, noFiles))[0]!, /unknown option '--bogus'/);
  assert.match(errors(parseStartOptions(['extra'], {}, noFiles))[0]!, /too many arguments/);
  assert.match(errors(parseStartOptions(['--port'], {}, noFiles))[0]!, /argument missing/);
});

test('--allow-partition (demo and tests) needs --http-port, where POST /partition and /heal are served', () => {
  assert.equal(options(parseStartOptions(['--http-port', '0', '--allow-partition'], {}, noFiles)).allowPartition, true);
  assert.equal(options(parseStartOptions([], {}, noFiles)).allowPartition, false);
  assert.deepEqual(parseStartOptions(['--allow-partition'], {}, noFiles), { errors: ['--allow-partition needs --http-port (POST /partition and /heal are served there)'] });
});

// Proves `peerkv export` and `peerkv import` round-trip 100,000 keys of mixed types with TTLs between two real nodes: what one node holds (loaded by redis-cli --pipe) is exported, imported into an empty node, and exported again identically, expiry times included.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { syntheticEntry } from '../../bench/dump-entries.js';
import { encodeCommand } from '../../src/cli/client.js';
import { importCommands } from '../../src/cli/transfer.js';
import { cleanupAll, PEERKV_BIN, redisCli, spawnNode, tempDir } from '../support/processes.js';

after(cleanupAll);

const KEYS = 100_000;

/** Entries by key, set and hash members sorted (their order is not part of the value). */
function normalise(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const entry = JSON.parse(line) as { key: string; type: string; value: unknown; peerkv?: string };
    if (entry.peerkv !== undefined) continue;
    const value = entry.type === 'set' || entry.type === 'hash' ? (entry.value as unknown[]).map((item) => JSON.stringify(item)).sort() : entry.value;
    entries.set(entry.key, JSON.stringify({ ...entry, value }));
  }
  return entries;
}

function peerkv(port: number, args: readonly string[]): { stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [PEERKV_BIN, '-p', String(port), ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  assert.equal(run.status, 0, run.stderr);
  return { stdout: run.stdout, stderr: run.stderr };
}

test('100,000 keys of every type with TTLs: export, import into an empty node, export again', async () => {
  const dir = tempDir('peerkv-export-');
  const nowMs = Date.now();
  const entries = Array.from({ length: KEYS }, (_, index) => syntheticEntry(index, nowMs));
  const respFile = join(dir, 'load.resp');
  const resp = createWriteStream(respFile);
  for (const entry of entries) resp.write(Buffer.concat(importCommands(entry).map(encodeCommand)));
  await new Promise((resolve) => resp.end(resolve));

  const source = await spawnNode();
  const load = spawnSync('sh', ['-c', `redis-cli -p ${source.port} --pipe < ${respFile}`], { encoding: 'utf8' });
  assert.match(load.stdout, /errors: 0, replies:/, load.stdout + load.stderr);
  assert.equal(redisCli(source.port, ['dbsize']), String(KEYS));

  const first = peerkv(source.port, ['export']);
  assert.match(first.stderr, new RegExp(`exported ${KEYS} keys`));
  const exported = normalise(first.stdout);
  assert.equal(exported.size, KEYS);
  const expected = normalise(entries.map((entry) => JSON.stringify(entry)).join('\n'));
  for (const [key, value] of expected) assert.equal(exported.get(key), value, `key ${key}`);

  const dumpFile = join(dir, 'dump.jsonl');
  writeFileSync(dumpFile, first.stdout);
  const target = await spawnNode();
  const imported = peerkv(target.port, ['import', dumpFile]);
  assert.match(imported.stdout, new RegExp(`^imported ${KEYS} keys`));
  assert.equal(redisCli(target.port, ['dbsize']), String(KEYS));
  assert.equal(redisCli(target.port, ['pexpiretime', 'key:0']), String((entries[0] as { expireAtMs: number }).expireAtMs));
  assert.equal(redisCli(target.port, ['ttl', 'key:1']), '-1');

  const second = normalise(peerkv(target.port, ['export']).stdout);
  assert.equal(second.size, KEYS);
  for (const [key, value] of exported) assert.equal(second.get(key), value, `key ${key}`);
  assert.ok(readFileSync(dumpFile, 'utf8').startsWith('{"peerkv":"dump","version":1}\n'));
  assert.equal(await source.stop(), 0);
  assert.equal(await target.stop(), 0);
});

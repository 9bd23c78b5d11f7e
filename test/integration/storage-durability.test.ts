// Proves every write the LMDB store acknowledged survives kill -9 of the writing process, mid-stream and after it finished.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLmdbStore, type FsyncMode } from '../../src/storage/lmdb-store.js';
import { writerKey, writerValue } from '../support/storage-writer.js';
import { countRecords } from '../support/records.js';
import { NODE_RUNTIME } from '../support/processes.js';

const WRITER_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'support', 'storage-writer.js');
const RECORD_COUNT = 10_000;
const CHILD_TIMEOUT_MS = 30_000;

/**
 * Run the writer and kill -9 it: mid-stream the child kills itself right after its
 * killAfterAcks-th ack (a parent could only react later, after the writes committed);
 * otherwise the parent kills it once it reports done. Returns the acknowledged indexes.
 */
async function writeAndKill(dir: string, fsync: FsyncMode, killAfterAcks: number): Promise<Set<number>> {
  const selfKill = killAfterAcks < RECORD_COUNT ? killAfterAcks : 0;
  const args = [WRITER_SCRIPT, dir, fsync, String(RECORD_COUNT), '20', String(selfKill)];
  const child = spawn(NODE_RUNTIME, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const acked = new Set<number>();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  // 'close', not 'exit': acks may still sit in the stdout pipe when the process is gone.
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('close', (_code, signal) => resolve(signal)));
  const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('ack ')) acked.add(Number(line.slice(4)));
      if (line === 'done') child.kill('SIGKILL');
    }
  });
  const signal = await exited;
  clearTimeout(timer);
  assert.equal(signal, 'SIGKILL', `writer should die by SIGKILL; stderr: ${stderr}`);
  return acked;
}

async function assertAllPresent(dir: string, acked: Set<number>): Promise<void> {
  const store = await openLmdbStore({ dir, fsync: 'no' });
  try {
    for (const index of acked) assert.deepEqual(store.get(writerKey(index))?.value, writerValue(index), `acknowledged write ${index}`);
    assert.ok(countRecords(store) >= acked.size);
  } finally {
    await store.close();
  }
}

for (const [fsync, killAfterAcks] of [
  ['no', 3_000],
  ['everysec', 2_000],
  ['always', 1_000],
  ['no', RECORD_COUNT],
] as const) {
  const when = killAfterAcks === RECORD_COUNT ? 'after it finished' : `after ${killAfterAcks} acks`;
  test(`fsync ${fsync}: acknowledged writes survive kill -9 ${when}`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'peerkv-durability-'));
    try {
      const acked = await writeAndKill(dir, fsync, killAfterAcks);
      assert.equal(acked.size, killAfterAcks);
      await assertAllPresent(dir, acked);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

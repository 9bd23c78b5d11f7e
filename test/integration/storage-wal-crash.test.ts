// Proves writes acknowledged from the write-ahead log survive kill -9 while LMDB is still behind the log, purges included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from 'lmdb';
import { DATA_FILE_NAME, openLmdbStore, type FsyncMode } from '../../src/storage/lmdb-store.js';
import { listSegments } from '../../src/storage/write-ahead-log.js';
import { walWriterKey, walWriterPurged, walWriterValue } from '../support/storage-wal-writer.js';

const WRITER_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'support', 'storage-wal-writer.js');
const RECORD_COUNT = 20_000;
const CHILD_TIMEOUT_MS = 30_000;

/** Run the writer until it kills itself; returns how many records it reported acknowledged. */
async function writeAndCrash(dir: string, fsync: FsyncMode): Promise<number> {
  const child = spawn(process.execPath, [WRITER_SCRIPT, dir, fsync, String(RECORD_COUNT)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, exitSignal) => resolve(exitSignal)));
  clearTimeout(timer);
  assert.equal(signal, 'SIGKILL', `writer should die by SIGKILL; stderr: ${stderr}`);
  const match = /^acked (\d+)$/m.exec(stdout);
  assert.ok(match !== null, `writer acknowledged nothing; stdout: ${stdout} stderr: ${stderr}`);
  return Number(match[1]);
}

async function lmdbEntryCount(dir: string): Promise<number> {
  const root = open({ path: join(dir, DATA_FILE_NAME) });
  try {
    const records = root.openDB({ name: 'records', keyEncoding: 'binary', encoding: 'binary' });
    return (records.getStats() as { entryCount: number }).entryCount;
  } finally {
    await root.close();
  }
}

for (const fsync of ['no', 'always'] as const) {
  test(`fsync ${fsync}: kill -9 with the log ahead of LMDB loses no acknowledged write`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'peerkv-wal-crash-'));
    try {
      const acked = await writeAndCrash(dir, fsync);
      assert.equal(acked, RECORD_COUNT);
      const expected = Array.from({ length: RECORD_COUNT }, (_, index) => index).filter((index) => !walWriterPurged(index));
      assert.ok(listSegments(dir).length > 0, 'the log outlives the crash');
      // With always the ack waits for fdatasync, and LMDB may have caught up by then.
      if (fsync === 'no') assert.ok((await lmdbEntryCount(dir)) !== expected.length, 'LMDB alone is behind the acknowledged state');
      const store = await openLmdbStore({ dir, fsync: 'no' });
      try {
        for (let index = 0; index < RECORD_COUNT; index++) {
          const record = store.get(walWriterKey(index));
          if (walWriterPurged(index)) assert.equal(record, undefined, `purged ${index}`);
          else assert.deepEqual(record?.value, walWriterValue(index), `acknowledged write ${index}`);
        }
        assert.equal(store.countRecords(), expected.length);
      } finally {
        await store.close();
      }
      assert.deepEqual(listSegments(dir), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

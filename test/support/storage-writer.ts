// Child process for the storage durability test: writes numbered records through the
// LMDB store and prints `ack <index>` for each write once its promise resolved, then
// `done` and waits (never closing the store) until the parent kills it. With
// KILL_AFTER_ACKS > 0 it sends itself SIGKILL right after printing that many acks (stdout
// lines go out with a blocking write, so none is lost), so the kill lands with writes still in flight.
// Usage: node storage-writer.js DIR FSYNC COUNT IN_FLIGHT [KILL_AFTER_ACKS]
import { writeSync } from 'node:fs';
import { utf8 } from '../../src/core/bytes.js';
import { openLmdbStore, type FsyncMode } from '../../src/storage/lmdb-store.js';

export const WRITER_ORIGIN = '0102030405060708090a0b0c0d0e0f10';

export function writerKey(index: number): Uint8Array {
  return utf8(`durable:${index}`);
}

export function writerValue(index: number): Uint8Array {
  return utf8(`value-${index}-${'v'.repeat(index % 200)}`);
}

/**
 * Print a line before anything else happens: process.stdout on a pipe may queue a write
 * that a SIGKILL right after would drop. The pipe is non-blocking, so retry while full.
 */
export function printNow(line: string): void {
  const bytes = Buffer.from(`${line}\n`);
  let written = 0;
  while (written < bytes.length) {
    try {
      written += writeSync(1, bytes, written, bytes.length - written);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
    }
  }
}

async function main(): Promise<void> {
  const [dir, fsync, countText, inFlightText, killAfterText] = process.argv.slice(2);
  if (dir === undefined || fsync === undefined) throw new Error('usage: storage-writer DIR FSYNC COUNT IN_FLIGHT');
  const count = Number(countText ?? 10_000);
  const inFlight = Number(inFlightText ?? 20);
  const killAfterAcks = Number(killAfterText ?? 0);
  let ackCount = 0;
  const store = await openLmdbStore({ dir, fsync: fsync as FsyncMode });
  let next = 0;
  const writer = async () => {
    while (next < count) {
      const index = next++;
      const record = { key: writerKey(index), value: writerValue(index), hlc: { wallMs: 1_000 + index, logical: 0 }, origin: WRITER_ORIGIN, expiresAtMs: 0 };
      await store.write({ records: [record], purgeKeys: [] });
      printNow(`ack ${index}`);
      if (++ackCount === killAfterAcks) process.kill(process.pid, 'SIGKILL');
    }
  };
  await Promise.all(Array.from({ length: inFlight }, writer));
  printNow('done');
  setInterval(() => undefined, 60_000); // stay alive, store open, until killed
}

// Only run when executed directly; the test imports the helpers above.
if (process.argv[1]?.endsWith('storage-writer.js') === true) {
  main().catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  });
}

// The data directory and node identity helpers. The directory holds the LMDB files and
// so every key ever written: only its owner may enter it (DESIGN.md section 5).
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

export const DATA_DIR_MODE = 0o700;
export const DATA_FILE_MODE = 0o600;
const NODE_ID_BYTES = 16;

/** Create dir (and parents) if missing and restrict it to the owner, also if it existed. */
export async function prepareDataDir(dir: string): Promise<void> {
  await makeDirectories(resolve(dir));
  await chmod(dir, DATA_DIR_MODE);
}

/**
 * mkdir -p, one level at a time. Node's own recursive mkdir loops forever where mkdir
 * keeps answering ENOENT for an existing parent (a path under /proc); here every
 * failure is an error naming the path.
 */
async function makeDirectories(dir: string): Promise<void> {
  const missing: string[] = [];
  let path = dir;
  for (;;) {
    const exists = await stat(path).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return false;
        throw error;
      },
    );
    if (exists) break;
    missing.push(path);
    const parent = dirname(path);
    if (parent === path) break;
    path = parent;
  }
  for (const level of missing.reverse()) {
    await mkdir(level, { mode: DATA_DIR_MODE }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  }
}

/** A fresh random 128-bit node id as 32 lowercase hex characters. */
export function newNodeId(): string {
  return randomBytes(NODE_ID_BYTES).toString('hex');
}

export const LOCK_FILE_NAME = 'peerkv.lock';

export class DataDirLockedError extends Error {
  readonly code = 'data_dir_locked';
  constructor(dir: string, pid: number) {
    super(`data directory ${dir} is locked by running process ${pid}: stop that node or choose another --data`);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Take the data directory for this process: LMDB itself lets several processes share
 * one environment, but two nodes on one data dir would share an id and corrupt each
 * other's view. A lock left by a dead process (kill -9) is taken over.
 * Returns the function that releases the lock.
 */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE_NAME);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: 'wx', mode: DATA_FILE_MODE });
      return async () => {
        const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
        if (owner === process.pid) await unlink(path).catch(() => undefined);
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) throw new DataDirLockedError(dir, owner);
      await unlink(path).catch(() => undefined);
    }
  }
  throw new Error(`could not lock data directory ${dir}: remove ${path} if no node uses it`);
}

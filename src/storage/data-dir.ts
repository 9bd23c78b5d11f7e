// The data directory and node identity helpers. The directory holds the LMDB files and
// so every key ever written: only its owner may enter it (DESIGN.md section 5).
import { randomBytes } from 'node:crypto';
import { chmod, mkdir } from 'node:fs/promises';

export const DATA_DIR_MODE = 0o700;
export const DATA_FILE_MODE = 0o600;
const NODE_ID_BYTES = 16;

/** Create dir (and parents) if missing and restrict it to the owner, also if it existed. */
export async function prepareDataDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: DATA_DIR_MODE });
  await chmod(dir, DATA_DIR_MODE);
}

/** A fresh random 128-bit node id as 32 lowercase hex characters. */
export function newNodeId(): string {
  return randomBytes(NODE_ID_BYTES).toString('hex');
}

// Node ids (32 lowercase hex characters) as the 16 bytes that records carry on disk and on
// the wire. A cluster has few origins, so both directions are memoized: no hex work per record.
import { toHex } from './bytes.js';
import { isNodeId } from './validate.js';

export const NODE_ID_BYTES = 16;
/** Ids remembered for writing; cleared when full, it refills cheaply. */
const WRITE_CACHE_ENTRIES_MAX = 1024;

const bytesById = new Map<string, Uint8Array>();

/** Writes id's bytes at offset. An id that is not a node id is a bug in the caller: it throws. */
export function writeNodeId(target: Uint8Array, offset: number, id: string): void {
  let bytes = bytesById.get(id);
  if (bytes === undefined) {
    if (!isNodeId(id)) throw new Error(`origin is not a 32-hex node id: ${String(id).slice(0, 40)}`);
    bytes = new Uint8Array(NODE_ID_BYTES);
    for (let index = 0; index < NODE_ID_BYTES; index++) bytes[index] = parseInt(id.slice(index * 2, index * 2 + 2), 16);
    if (bytesById.size >= WRITE_CACHE_ENTRIES_MAX) bytesById.clear();
    bytesById.set(id, bytes);
  }
  target.set(bytes, offset);
}

/** The last id read, and its bytes: consecutive records mostly share an origin. */
const lastReadBytes = new Uint8Array(NODE_ID_BYTES);
let lastReadId = '';

/** The id in source[offset, offset + NODE_ID_BYTES); the caller checks the bytes are there. */
export function readNodeId(source: Uint8Array, offset: number): string {
  let same = lastReadId !== '';
  for (let index = 0; same && index < NODE_ID_BYTES; index++) same = source[offset + index] === lastReadBytes[index];
  if (same) return lastReadId;
  const bytes = source.subarray(offset, offset + NODE_ID_BYTES);
  lastReadId = toHex(bytes);
  lastReadBytes.set(bytes);
  return lastReadId;
}

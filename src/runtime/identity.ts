// Durable identity of a node: its random id, its incarnation (grows on every start,
// so a restarted node refutes stale suspicion) and the last HLC stamp it issued.
import type { Hlc } from '../core/types.js';
import type { Store } from '../storage/store.js';
import { newNodeId } from '../storage/data-dir.js';

export const META_NODE_ID = 'node_id';
export const META_INCARNATION = 'incarnation';
export const META_HLC = 'hlc';
export const META_LAST_UP = 'last_up_ms';

export interface NodeIdentity {
  readonly id: string;
  readonly incarnation: number;
  readonly lastHlc: Hlc;
}

export function encodeHlc(hlc: Hlc): Uint8Array {
  const bytes = new Uint8Array(12);
  const view = new DataView(bytes.buffer);
  view.setFloat64(0, hlc.wallMs);
  view.setUint32(8, hlc.logical);
  return bytes;
}

export function decodeHlc(bytes: Uint8Array | undefined): Hlc {
  if (bytes === undefined || bytes.length !== 12) return { wallMs: 0, logical: 0 };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { wallMs: view.getFloat64(0), logical: view.getUint32(8) };
}

export function encodeMillis(ms: number): Uint8Array {
  return new TextEncoder().encode(String(Math.floor(ms)));
}

export function decodeMillis(bytes: Uint8Array | undefined): number | undefined {
  if (bytes === undefined) return undefined;
  const value = Number(new TextDecoder().decode(bytes));
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/** Load (or create on first start) the identity and record this start's incarnation. */
export async function loadIdentity(store: Store): Promise<NodeIdentity> {
  const decoder = new TextDecoder();
  const storedId = store.getMeta(META_NODE_ID);
  const id = storedId !== undefined ? decoder.decode(storedId) : newNodeId();
  if (storedId === undefined) await store.putMeta(META_NODE_ID, new TextEncoder().encode(id));
  const storedIncarnation = store.getMeta(META_INCARNATION);
  const previous = storedIncarnation === undefined ? 0 : Number(decoder.decode(storedIncarnation)) || 0;
  const incarnation = previous + 1;
  await store.putMeta(META_INCARNATION, new TextEncoder().encode(String(incarnation)));
  return { id, incarnation, lastHlc: decodeHlc(store.getMeta(META_HLC)) };
}

// UDP discovery announcement: one small, versioned binary datagram saying "this node of
// this cluster is at host:peerPort". With a cluster key the body is sealed (the sealer is
// passed in, so this codec stays free of node:crypto). The decoder never throws.
//
// Layout (integers big-endian):
//   header  'PKVD' | format version u8 | flags u8 (bit 0: sealed) | cluster name: u8 length, UTF-8
//   body    node id 16 bytes | incarnation u64 | timestamp ms u64 | peer protocol version u16
//           | name: u8 length, UTF-8 | peer address host:port: u8 length, ASCII
// A sealed datagram carries seal(body) instead of body, with the header as associated data.
import type { PeerHello } from '../core/io.js';
import { fromUtf8, toHex, utf8 } from '../core/bytes.js';
import { isNodeId, isUint } from '../core/validate.js';

/** Fits any path MTU we will meet (IPv6 minimum is 1280), so datagrams never fragment. */
export const DISCOVERY_DATAGRAM_BYTES_MAX = 1200;
export const DISCOVERY_FORMAT_VERSION = 1;
export const DISCOVERY_CLUSTER_NAME_BYTES_MAX = 64;
export const DISCOVERY_NAME_BYTES_MAX = 255;
export const DISCOVERY_ADDR_BYTES_MAX = 255;
/** A sealed announcement older or newer than this is a replay (or a badly wrong clock). */
export const DISCOVERY_TIMESTAMP_WINDOW_MS = 30_000;

const MAGIC = [0x50, 0x4b, 0x56, 0x44]; // 'PKVD'
const FLAG_SEALED = 1;
const NODE_ID_BYTES = 16;
const ADDR_PATTERN = /^[0-9A-Za-z.\-_[\]:]+:\d{1,5}$/;

/** Seals the body with the header as associated data; open returns null on any failure. */
export interface DatagramSealer {
  seal(plaintext: Uint8Array, associatedData: Uint8Array): Uint8Array;
  open(sealed: Uint8Array, associatedData: Uint8Array): Uint8Array | null;
}

export interface DiscoveryAnnounce {
  readonly clusterName: string;
  readonly hello: PeerHello;
  /** Sender's wall clock when it sent this, ms since the epoch. */
  readonly timestampMs: number;
  readonly protocolVersion: number;
}

export type DiscoveryErrorCode = 'oversize' | 'bad_datagram' | 'version' | 'other_cluster' | 'auth_failed' | 'expired';

export type DiscoveryDecodeResult =
  | { readonly ok: true; readonly announce: DiscoveryAnnounce }
  | { readonly ok: false; readonly code: DiscoveryErrorCode; readonly detail: string };

export interface DiscoveryCodecOptions {
  readonly clusterName: string;
  /** null: cluster without keys, datagrams travel in the clear. */
  readonly sealer: DatagramSealer | null;
}

/** Programmer error on bad input: announcements are built from validated options. */
export function encodeAnnounce(announce: DiscoveryAnnounce, options: DiscoveryCodecOptions): Uint8Array {
  const { hello } = announce;
  if (announce.clusterName !== options.clusterName) throw new Error('announce cluster differs from codec cluster');
  if (!isNodeId(hello.id) || !isUint(hello.incarnation) || !isUint(announce.timestampMs)) throw new Error('invalid announce');
  if (!ADDR_PATTERN.test(hello.addr)) throw new Error(`invalid peer address ${hello.addr}`);
  const header = encodeHeader(options.clusterName, options.sealer !== null);
  const name = utf8(hello.name);
  const addr = utf8(hello.addr);
  if (name.length > DISCOVERY_NAME_BYTES_MAX || addr.length > DISCOVERY_ADDR_BYTES_MAX) throw new Error('name or addr too long');
  const body = new Uint8Array(NODE_ID_BYTES + 8 + 8 + 2 + 1 + name.length + 1 + addr.length);
  const view = new DataView(body.buffer);
  for (let index = 0; index < NODE_ID_BYTES; index++) body[index] = parseInt(hello.id.slice(index * 2, index * 2 + 2), 16);
  let offset = NODE_ID_BYTES;
  writeUint64(view, offset, hello.incarnation);
  writeUint64(view, offset + 8, announce.timestampMs);
  view.setUint16(offset + 16, announce.protocolVersion);
  offset += 18;
  body[offset++] = name.length;
  body.set(name, offset);
  offset += name.length;
  body[offset++] = addr.length;
  body.set(addr, offset);
  const sealedBody = options.sealer === null ? body : options.sealer.seal(body, header);
  const datagram = new Uint8Array(header.length + sealedBody.length);
  datagram.set(header, 0);
  datagram.set(sealedBody, header.length);
  if (datagram.length > DISCOVERY_DATAGRAM_BYTES_MAX) throw new Error('announce exceeds DISCOVERY_DATAGRAM_BYTES_MAX');
  return datagram;
}

function encodeHeader(clusterName: string, sealed: boolean): Uint8Array {
  const cluster = utf8(clusterName);
  if (cluster.length === 0 || cluster.length > DISCOVERY_CLUSTER_NAME_BYTES_MAX) throw new Error('cluster name must be 1-64 bytes');
  const header = new Uint8Array(MAGIC.length + 3 + cluster.length);
  header.set(MAGIC, 0);
  header[4] = DISCOVERY_FORMAT_VERSION;
  header[5] = sealed ? FLAG_SEALED : 0;
  header[6] = cluster.length;
  header.set(cluster, 7);
  return header;
}

/**
 * The announcement in a datagram, or why it was dropped. nowMs is only used for sealed
 * datagrams: without a key anyone can forge one, so a replay window would protect nothing.
 */
export function decodeAnnounce(datagram: Uint8Array, options: DiscoveryCodecOptions & { readonly nowMs: number }): DiscoveryDecodeResult {
  if (datagram.length > DISCOVERY_DATAGRAM_BYTES_MAX) return failure('oversize', `${datagram.length} bytes`);
  if (datagram.length < 7 || MAGIC.some((byte, index) => datagram[index] !== byte)) return failure('bad_datagram', 'no magic');
  if (datagram[4] !== DISCOVERY_FORMAT_VERSION) return failure('version', `format version ${datagram[4]}`);
  const clusterLength = datagram[6]!;
  const headerLength = 7 + clusterLength;
  if (clusterLength === 0 || datagram.length < headerLength) return failure('bad_datagram', 'truncated header');
  const clusterName = fromUtf8(datagram.subarray(7, headerLength));
  if (clusterName !== options.clusterName) return failure('other_cluster', clusterName.slice(0, 64));
  const sealed = (datagram[5]! & FLAG_SEALED) !== 0;
  if (sealed !== (options.sealer !== null)) return failure('auth_failed', sealed ? 'sealed but we have no key' : 'plain but we require a key');
  let body = datagram.subarray(headerLength);
  if (options.sealer !== null) {
    const opened = options.sealer.open(body, datagram.subarray(0, headerLength));
    if (opened === null) return failure('auth_failed', 'does not open with any cluster key');
    body = opened;
  }
  const parsed = parseBody(body);
  if (parsed === null) return failure('bad_datagram', 'malformed body');
  if (sealed && Math.abs(parsed.timestampMs - options.nowMs) > DISCOVERY_TIMESTAMP_WINDOW_MS) {
    return failure('expired', `timestamp ${parsed.timestampMs} vs now ${options.nowMs}`);
  }
  return { ok: true, announce: { clusterName, ...parsed } };
}

function parseBody(body: Uint8Array): Omit<DiscoveryAnnounce, 'clusterName'> | null {
  const fixedBytes = NODE_ID_BYTES + 18;
  if (body.length < fixedBytes + 2) return null;
  const view = new DataView(body.buffer, body.byteOffset, body.length);
  const id = toHex(body.subarray(0, NODE_ID_BYTES));
  const incarnation = readUint64(view, NODE_ID_BYTES);
  const timestampMs = readUint64(view, NODE_ID_BYTES + 8);
  const protocolVersion = view.getUint16(NODE_ID_BYTES + 16);
  let offset = fixedBytes;
  const nameLength = body[offset++]!;
  if (offset + nameLength + 1 > body.length) return null;
  const name = fromUtf8(body.subarray(offset, offset + nameLength));
  offset += nameLength;
  const addrLength = body[offset++]!;
  if (offset + addrLength !== body.length) return null;
  const addr = fromUtf8(body.subarray(offset, offset + addrLength));
  if (incarnation === null || timestampMs === null || !ADDR_PATTERN.test(addr)) return null;
  return { hello: { id, name, addr, incarnation }, timestampMs, protocolVersion };
}

function failure(code: DiscoveryErrorCode, detail: string): DiscoveryDecodeResult {
  return { ok: false, code, detail };
}

function writeUint64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, Math.floor(value / 2 ** 32));
  view.setUint32(offset + 4, value >>> 0);
}

/** A u64 as a number, or null when it is beyond Number.MAX_SAFE_INTEGER. */
function readUint64(view: DataView, offset: number): number | null {
  const value = view.getUint32(offset) * 2 ** 32 + view.getUint32(offset + 4);
  return Number.isSafeInteger(value) ? value : null;
}

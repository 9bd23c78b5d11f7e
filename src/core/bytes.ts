// Byte helpers for the pure core: ordering, equality and a fast non-cryptographic hash.
// They exist here because the core may not import node:buffer or node:crypto.

/** Lexicographic byte order: negative if a < b, 0 if equal, positive if a > b. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = a.length < b.length ? a.length : b.length;
  for (let index = 0; index < length; index++) {
    const difference = a[index]! - b[index]!;
    if (difference !== 0) return difference;
  }
  return a.length - b.length;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}

/** MurmurHash3 x86 32-bit of bytes with a seed. Stable across platforms and versions. */
export function murmur3(bytes: Uint8Array, seed: number, start = 0, end = bytes.length): number {
  let hash = seed >>> 0;
  const length = end - start;
  const blockCount = length >>> 2;
  for (let block = 0; block < blockCount; block++) {
    const offset = start + (block << 2);
    let k = bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    hash ^= k;
    hash = (hash << 13) | (hash >>> 19);
    hash = (Math.imul(hash, 5) + 0xe6546b64) | 0;
  }
  const tail = start + (blockCount << 2);
  const remainder = length & 3;
  if (remainder > 0) {
    let k = bytes[tail]!;
    if (remainder > 1) k ^= bytes[tail + 1]! << 8;
    if (remainder > 2) k ^= bytes[tail + 2]! << 16;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    hash ^= k;
  }
  hash ^= length;
  return mix32(hash);
}

/** Murmur3 finaliser: spreads the bits of a 32-bit integer. */
export function mix32(value: number): number {
  let hash = value >>> 0;
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/** Number of key-hash buckets: 16-ary Merkle tree of depth 4 (DESIGN.md section 3). */
export const KEY_BUCKET_COUNT = 65_536;
const KEY_BUCKET_SEED = 0x9e3779b9;

/**
 * The bucket of a key, 0..65535. Storage orders records by (bucket, key), so SCAN cursors
 * and anti-entropy leaves are both plain bucket numbers.
 */
export function keyBucket(key: Uint8Array): number {
  return murmur3(key, KEY_BUCKET_SEED) & (KEY_BUCKET_COUNT - 1);
}

/** keyBucket of bytes[start, end), without a view. */
export function keyBucketOf(bytes: Uint8Array, start: number, end: number): number {
  return murmur3(bytes, KEY_BUCKET_SEED, start, end) & (KEY_BUCKET_COUNT - 1);
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();
/** Texts up to this length that are all ASCII are copied by utf8 itself (TextEncoder's call costs ~1-2 us). */
const ASCII_COPY_CHARS_MAX = 64;

export function utf8(text: string): Uint8Array {
  if (text.length <= ASCII_COPY_CHARS_MAX) {
    const bytes = new Uint8Array(text.length);
    let index = 0;
    for (; index < text.length; index++) {
      const code = text.charCodeAt(index);
      if (code >= 0x80) break;
      bytes[index] = code;
    }
    if (index === text.length) return bytes;
  }
  return textEncoder.encode(text);
}
export function fromUtf8(bytes: Uint8Array): string {
  return textDecoder.decode(bytes);
}

const HEX_DIGITS = '0123456789abcdef';
export function toHex(bytes: Uint8Array): string {
  let text = '';
  for (let index = 0; index < bytes.length; index++) {
    const byte = bytes[index]!;
    text += HEX_DIGITS[byte >>> 4]! + HEX_DIGITS[byte & 15]!;
  }
  return text;
}

/** Key of a byte string for use in a Map: each byte as one latin1 char (cheap, lossless). */
export function bytesToMapKey(bytes: Uint8Array): string {
  // A row key is short: one call, without the subarray view the loop below makes.
  if (bytes.length <= 8192) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  let text = '';
  for (let index = 0; index < bytes.length; index += 8192) {
    // apply takes any array-like: no intermediate Array per key.
    text += String.fromCharCode.apply(null, bytes.subarray(index, index + 8192) as unknown as number[]);
  }
  return text;
}

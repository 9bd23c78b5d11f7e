// Merkle tree over the key-hash buckets, for anti-entropy (DESIGN.md section 3).
// Every node hash is the XOR of the 64-bit hashes of the record versions beneath it, so
// one write changes one path of 5 nodes in place: O(depth), no allocation, no rehash of
// siblings, and the tree is the same whatever order the records arrived in.
import { KEY_BUCKET_COUNT, mix32, murmur3 } from './bytes.js';
import { rowBucket } from './rows.js';
import { scanBucketPage, type StoreView } from './store-view.js';
import type { VersionedRecord } from './types.js';

/** Children per inner node. */
export const MERKLE_FANOUT = 16;
/** Bits of a bucket number consumed per level (log2 of the fan-out). */
const FANOUT_BITS = 4;
/** Level of the leaves; the root is level 0. 16^4 = KEY_BUCKET_COUNT. */
export const MERKLE_LEAF_LEVEL = 4;
export const MERKLE_LEVEL_COUNT = MERKLE_LEAF_LEVEL + 1;
/** Bytes of one node hash on the wire: high then low uint32, big-endian. */
export const MERKLE_HASH_BYTES = 8;

/** Sub-ranges of one big bucket that anti-entropy compares before sending its rows (8 KiB of digests). */
export const BUCKET_DIGEST_COUNT = 1024;
export const BUCKET_DIGEST_BYTES = BUCKET_DIGEST_COUNT * MERKLE_HASH_BYTES;
/** Big buckets whose sub-digests stay cached (16 KiB each). */
const BUCKET_DIGESTS_CACHED_MAX = 256;
const BUCKET_DIGEST_SCAN_PAGE_ROWS = 4096;
const BUCKET_DIGEST_SEED = 0x2545f491;

/** The sub-range of its bucket a row falls in. */
export function bucketDigestIndex(key: Uint8Array): number {
  return murmur3(key, BUCKET_DIGEST_SEED) & (BUCKET_DIGEST_COUNT - 1);
}

/** Indexes (a BUCKET_DIGEST_COUNT-bit bitmap) where two bucketDigests answers differ. */
export function differingDigests(ours: Uint8Array, theirs: Uint8Array): Uint8Array {
  const bitmap = new Uint8Array(BUCKET_DIGEST_COUNT / 8);
  for (let index = 0; index < BUCKET_DIGEST_COUNT; index++) {
    const offset = index * MERKLE_HASH_BYTES;
    for (let byte = 0; byte < MERKLE_HASH_BYTES; byte++) {
      if (ours[offset + byte] !== theirs[offset + byte]) {
        bitmap[index >>> 3] |= 1 << (index & 7);
        break;
      }
    }
  }
  return bitmap;
}

/** Nodes at each level: 1, 16, 256, 4096, 65536. */
const LEVEL_NODE_COUNTS = [1, 16, 256, 4096, 65_536] as const;
/** Position of each level's first node in the flat node array. */
const LEVEL_OFFSETS = [0, 1, 17, 273, 4369] as const;
const NODE_COUNT_TOTAL = 69_905;

if (LEVEL_NODE_COUNTS[MERKLE_LEAF_LEVEL] !== KEY_BUCKET_COUNT) throw new Error('Merkle leaves must equal KEY_BUCKET_COUNT');

/** Number of nodes at a level (0 = root level). */
export function merkleNodeCount(level: number): number {
  assertLevel(level);
  return LEVEL_NODE_COUNTS[level as 0 | 1 | 2 | 3 | 4];
}

// Two seeds make the two halves of a 64-bit version hash independent murmur3 streams.
const VERSION_SEED_HIGH = 0x5bd1e995;
const VERSION_SEED_LOW = 0x27d4eb2f;
const TWO_POW_32 = 0x1_0000_0000;
const ORIGIN_CHARS_PER_WORD = 4;

// Scratch output of hashVersion: the hot write path must not allocate a tuple per call.
// A typed array, not two `let`s: storing a uint32 above 2^30 in a variable boxes it.
const scratch = new Uint32Array(2);

/** One murmur3 block step over a 32-bit word. */
function mixWord(hash: number, word: number): number {
  let k = Math.imul(word, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  hash ^= k;
  hash = (hash << 13) | (hash >>> 19);
  return (Math.imul(hash, 5) + 0xe6546b64) | 0;
}

/** The hash state after the origin, per seed: a cluster has few origins, so they are cached. */
const originStates = new Map<string, Uint32Array>();
const ORIGIN_CACHE_ENTRIES_MAX = 4_096;

function originState(origin: string): Uint32Array {
  let state = originStates.get(origin);
  if (state !== undefined) return state;
  let high = VERSION_SEED_HIGH;
  let low = VERSION_SEED_LOW;
  // Node ids are ASCII hex, so the low byte of each char code carries all of it.
  for (let start = 0; start < origin.length; start += ORIGIN_CHARS_PER_WORD) {
    let word = 0;
    for (let offset = 0; offset < ORIGIN_CHARS_PER_WORD && start + offset < origin.length; offset++) {
      word |= (origin.charCodeAt(start + offset) & 0xff) << (offset * 8);
    }
    high = mixWord(high, word);
    low = mixWord(low, word);
  }
  state = Uint32Array.of(high ^ origin.length, low ^ origin.length);
  if (originStates.size >= ORIGIN_CACHE_ENTRIES_MAX) originStates.clear(); // bounded; refills cheaply
  originStates.set(origin, state);
  return state;
}

/** Finish one half of a version hash from the origin state and the key's murmur3. */
function finishHalf(state: number, keyHash: number, wallMs: number, logical: number): number {
  let hash = mixWord(state, keyHash);
  hash = mixWord(hash, wallMs >>> 0);
  hash = mixWord(hash, Math.floor(wallMs / TWO_POW_32));
  hash = mixWord(hash, logical >>> 0);
  hash = mixWord(hash, Math.floor(logical / TWO_POW_32));
  return mix32(hash);
}

/**
 * murmur3-style 64-bit hash of a version's identity, left in scratch. Only
 * key (given as its two murmur3 hashes), hlc and origin take part, never value, tombstone
 * flag or expiry: (hlc, origin) identifies a version, and an expired record and the
 * tombstone it was swept into must hash alike.
 */
function hashVersion(record: VersionedRecord, keyHashHigh: number, keyHashLow: number): void {
  const state = originState(record.origin);
  scratch[0] = finishHalf(state[0]!, keyHashHigh, record.hlc.wallMs, record.hlc.logical);
  scratch[1] = finishHalf(state[1]!, keyHashLow, record.hlc.wallMs, record.hlc.logical);
}

/** The 64-bit hash of one record version as [high, low] uint32 (for tests and tools). */
export function recordVersionHash(record: VersionedRecord): [number, number] {
  hashVersion(record, murmur3(record.key, VERSION_SEED_HIGH), murmur3(record.key, VERSION_SEED_LOW));
  return [scratch[0]!, scratch[1]!];
}

function assertLevel(level: number): void {
  if (!Number.isInteger(level) || level < 0 || level > MERKLE_LEAF_LEVEL) throw new Error(`Merkle level ${level} out of range`);
}

function assertNode(level: number, index: number): void {
  assertLevel(level);
  if (!Number.isInteger(index) || index < 0 || index >= LEVEL_NODE_COUNTS[level as 0]) {
    throw new Error(`Merkle node ${index} out of range at level ${level}`);
  }
}

function readUint32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}

function writeUint32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value >>> 24;
  bytes[offset + 1] = (value >>> 16) & 0xff;
  bytes[offset + 2] = (value >>> 8) & 0xff;
  bytes[offset + 3] = value & 0xff;
}

/**
 * 16-ary Merkle tree of depth 4 over KEY_BUCKET_COUNT leaves. Leaf b is the XOR of the
 * version hashes of the records whose keyBucket is b; an inner node is the XOR of its
 * children; an empty subtree hashes to 0. Invariant: the tree equals build() of the
 * records the caller has told it about through update().
 */
export class MerkleTree {
  /** Node hashes, level by level, each node as (high, low) uint32: 560 KiB in all. */
  private readonly hashes = new Uint32Array(NODE_COUNT_TOTAL * 2);
  /** Rows per bucket (leaf). */
  private readonly leafRows = new Uint32Array(KEY_BUCKET_COUNT);
  /**
   * Sub-digests of big buckets, built on first use (bucketDigests) and then kept in step
   * by update(): a level below the leaves, only where anti-entropy needs it. Map order is
   * use order, so the least recently used goes first when full.
   */
  private readonly subDigests = new Map<number, Uint32Array>();

  static build(records: Iterable<VersionedRecord>): MerkleTree {
    const tree = new MerkleTree();
    tree.addAll(records);
    return tree;
  }

  addAll(records: Iterable<VersionedRecord>): void {
    for (const record of records) this.update(record.key, undefined, record);
  }

  /**
   * The stored version of key changed from `before` to `after` (undefined = no record);
   * bucket: rowBucket(key), if the caller has it. Called on every write, so it is O(depth)
   * and allocation-free.
   */
  update(key: Uint8Array, before: VersionedRecord | undefined, after: VersionedRecord | undefined, bucket = rowBucket(key)): void {
    if (before === undefined && after === undefined) return;
    // before and after are versions of `key`: its hashes are computed once for both.
    const keyHashHigh = murmur3(key, VERSION_SEED_HIGH);
    const keyHashLow = murmur3(key, VERSION_SEED_LOW);
    let deltaHigh = 0;
    let deltaLow = 0;
    if (before !== undefined) {
      hashVersion(before, keyHashHigh, keyHashLow);
      deltaHigh = scratch[0]!;
      deltaLow = scratch[1]!;
    }
    if (after !== undefined) {
      hashVersion(after, keyHashHigh, keyHashLow);
      deltaHigh ^= scratch[0]!;
      deltaLow ^= scratch[1]!;
    }
    let index = bucket;
    this.leafRows[index] = this.leafRows[index]! + (after === undefined ? 0 : 1) - (before === undefined ? 0 : 1);
    if (deltaHigh === 0 && deltaLow === 0) return; // same version: nothing to do
    const digests = this.subDigests.get(index);
    if (digests !== undefined) {
      const position = bucketDigestIndex(key) * 2;
      digests[position] ^= deltaHigh;
      digests[position + 1] ^= deltaLow;
    }
    for (let level = MERKLE_LEAF_LEVEL; level >= 0; level--) {
      const position = (LEVEL_OFFSETS[level as 0] + index) * 2;
      this.hashes[position] ^= deltaHigh;
      this.hashes[position + 1] ^= deltaLow;
      index >>>= FANOUT_BITS;
    }
  }

  /** Rows stored in a bucket (every kind, tombstones included). */
  rowsInBucket(bucket: number): number {
    return this.leafRows[bucket]!;
  }

  /**
   * The bucket's BUCKET_DIGEST_COUNT sub-digests (XOR of the version hashes of its rows by
   * bucketDigestIndex), 8 bytes each as writeNodeHash writes them. The first call for a
   * bucket reads its rows through `view`; later ones are kept in step by update().
   */
  bucketDigests(bucket: number, view: Pick<StoreView, 'scanFrom'>): Uint8Array {
    let digests = this.subDigests.get(bucket);
    if (digests === undefined) {
      digests = new Uint32Array(BUCKET_DIGEST_COUNT * 2);
      let after: Uint8Array | undefined;
      for (;;) {
        const page = scanBucketPage(view, bucket, after, BUCKET_DIGEST_SCAN_PAGE_ROWS);
        for (const record of page.records) {
          const [high, low] = recordVersionHash(record);
          const position = bucketDigestIndex(record.key) * 2;
          digests[position] ^= high;
          digests[position + 1] ^= low;
        }
        if (page.done || page.records.length === 0) break;
        after = page.records[page.records.length - 1]!.key;
      }
      if (this.subDigests.size >= BUCKET_DIGESTS_CACHED_MAX) this.subDigests.delete(this.subDigests.keys().next().value!);
    } else {
      this.subDigests.delete(bucket); // re-inserted below: most recently used
    }
    this.subDigests.set(bucket, digests);
    const bytes = new Uint8Array(BUCKET_DIGEST_COUNT * MERKLE_HASH_BYTES);
    for (let index = 0; index < BUCKET_DIGEST_COUNT; index++) {
      writeUint32(bytes, index * MERKLE_HASH_BYTES, digests[index * 2]!);
      writeUint32(bytes, index * MERKLE_HASH_BYTES + 4, digests[index * 2 + 1]!);
    }
    return bytes;
  }

  /** Forget every record (for a full resync). */
  clear(): void {
    this.hashes.fill(0);
  }

  root(): [number, number] {
    return [this.hashes[0]!, this.hashes[1]!];
  }

  nodeHash(level: number, index: number): [number, number] {
    assertNode(level, index);
    const position = (LEVEL_OFFSETS[level as 0] + index) * 2;
    return [this.hashes[position]!, this.hashes[position + 1]!];
  }

  /** True if the node hashes to 0, i.e. (barring a 2^-64 accident) holds no record. */
  isEmptyNode(level: number, index: number): boolean {
    assertNode(level, index);
    const position = (LEVEL_OFFSETS[level as 0] + index) * 2;
    return this.hashes[position] === 0 && this.hashes[position + 1] === 0;
  }

  /** The 16 children of node `index` at `level`, as high,low pairs flattened (32 numbers). */
  childHashes(level: number, index: number): number[] {
    assertNode(level, index);
    if (level === MERKLE_LEAF_LEVEL) throw new Error('leaves have no children');
    const start = (LEVEL_OFFSETS[(level + 1) as 0] + index * MERKLE_FANOUT) * 2;
    return Array.from(this.hashes.subarray(start, start + MERKLE_FANOUT * 2));
  }

  /** Write the node's hash as 8 big-endian bytes at offset (the wire form). */
  writeNodeHash(level: number, index: number, out: Uint8Array, offset: number): void {
    assertNode(level, index);
    const position = (LEVEL_OFFSETS[level as 0] + index) * 2;
    writeUint32(out, offset, this.hashes[position]!);
    writeUint32(out, offset + 4, this.hashes[position + 1]!);
  }

  /** True if the wire hash at offset equals this tree's hash of the node. */
  equalsNodeHash(level: number, index: number, bytes: Uint8Array, offset: number): boolean {
    assertNode(level, index);
    const position = (LEVEL_OFFSETS[level as 0] + index) * 2;
    return readUint32(bytes, offset) === this.hashes[position] && readUint32(bytes, offset + 4) === this.hashes[position + 1];
  }

  /** Write the 16 child hashes of a node, 128 bytes, at offset. */
  writeChildHashes(level: number, index: number, out: Uint8Array, offset: number): void {
    assertNode(level, index);
    if (level === MERKLE_LEAF_LEVEL) throw new Error('leaves have no children');
    for (let child = 0; child < MERKLE_FANOUT; child++) {
      this.writeNodeHash(level + 1, index * MERKLE_FANOUT + child, out, offset + child * MERKLE_HASH_BYTES);
    }
  }

  /**
   * Compare the peer's 16 child hashes of a node (128 bytes at offset) with ours; bit c of
   * the result is set when child c differs.
   */
  differingChildren(level: number, index: number, bytes: Uint8Array, offset: number): number {
    assertNode(level, index);
    if (level === MERKLE_LEAF_LEVEL) throw new Error('leaves have no children');
    let mask = 0;
    for (let child = 0; child < MERKLE_FANOUT; child++) {
      if (!this.equalsNodeHash(level + 1, index * MERKLE_FANOUT + child, bytes, offset + child * MERKLE_HASH_BYTES)) mask |= 1 << child;
    }
    return mask;
  }

  /** True if both trees hold exactly the same hashes everywhere. */
  equals(other: MerkleTree): boolean {
    for (let position = 0; position < this.hashes.length; position++) if (this.hashes[position] !== other.hashes[position]) return false;
    return true;
  }
}

// Sets of node indexes at one level (at most KEY_BUCKET_COUNT nodes) as bitmaps: 8 KiB
// holds the differing nodes of any level, so a diff never needs more memory than that.

export function createNodeBitmap(): Uint8Array {
  return new Uint8Array(KEY_BUCKET_COUNT >>> 3);
}

export function setBitmapBit(bitmap: Uint8Array, index: number): void {
  bitmap[index >>> 3] |= 1 << (index & 7);
}

export function clearBitmapBit(bitmap: Uint8Array, index: number): void {
  bitmap[index >>> 3] &= ~(1 << (index & 7));
}

export function isBitmapSet(bitmap: Uint8Array, index: number): boolean {
  return ((bitmap[index >>> 3]! >>> (index & 7)) & 1) === 1;
}

/** First index >= from whose bit is set, or limit if none below limit. */
export function findSetBit(bitmap: Uint8Array, from: number, limit: number): number {
  let index = from;
  while (index < limit) {
    if ((index & 7) === 0 && bitmap[index >>> 3] === 0) index += 8; // skip empty bytes whole
    else if (isBitmapSet(bitmap, index)) return index;
    else index++;
  }
  return limit;
}

/** First index >= from whose bit is clear, or limit if none below limit. */
export function findClearBit(bitmap: Uint8Array, from: number, limit: number): number {
  let index = from;
  while (index < limit) {
    if ((index & 7) === 0 && bitmap[index >>> 3] === 0xff) index += 8;
    else if (!isBitmapSet(bitmap, index)) return index;
    else index++;
  }
  return limit;
}

export function bitmapHasAny(bitmap: Uint8Array, limit: number): boolean {
  return findSetBit(bitmap, 0, limit) < limit;
}

/** The set bits as ascending [from, toExclusive) pairs, flattened. */
export function bitmapToRanges(bitmap: Uint8Array): number[] {
  const ranges: number[] = [];
  for (let from = findSetBit(bitmap, 0, KEY_BUCKET_COUNT); from < KEY_BUCKET_COUNT; ) {
    const toExclusive = findClearBit(bitmap, from, KEY_BUCKET_COUNT);
    ranges.push(from, toExclusive);
    from = findSetBit(bitmap, toExclusive, KEY_BUCKET_COUNT);
  }
  return ranges;
}

/** Replace the bitmap's content with the buckets of validated [from, toExclusive) pairs. */
export function rangesToBitmap(ranges: readonly number[], bitmap: Uint8Array): void {
  bitmap.fill(0);
  for (let pair = 0; pair + 1 < ranges.length; pair += 2) {
    for (let index = ranges[pair]!; index < ranges[pair + 1]!; index++) setBitmapBit(bitmap, index);
  }
}

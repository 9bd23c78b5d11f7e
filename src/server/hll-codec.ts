// Redis's HyperLogLog string format (read from Redis's hyperloglog.c, written anew): a
// 16-byte header ("HYLL", encoding 0 dense / 1 sparse, 3 unused bytes, the cached
// cardinality as 8 little-endian bytes whose top bit marks it stale), then 16384 6-bit
// registers either dense (12288 bytes, register n at bit 6n, least significant bits
// first) or sparse (ZERO 00xxxxxx: x+1 zero registers; XZERO 01xxxxxx yyyyyyyy: 14-bit
// run+1 of zeros; VAL 1vvvvvxx: x+1 registers of value v+1). Elements hash with
// MurmurHash64A seed 0xadc83b19, as Redis, so values move between Redis and peerkv by
// GET/SET or DUMP/RESTORE. Decoders never throw: a bad value decodes to undefined.

export const HLL_REGISTERS = 16384;
const HLL_P = 14;
/** Bits of the hash left after the register index: a register counts at most Q+1. */
const HLL_Q = 64 - HLL_P;
export const HLL_HEADER_BYTES = 16;
export const HLL_DENSE_BYTES = HLL_HEADER_BYTES + (HLL_REGISTERS * 6) / 8;
/** The largest register value the sparse form can hold. */
const SPARSE_VALUE_MAX = 32;
const SPARSE_VALUE_RUN_MAX = 4;
const SPARSE_ZERO_RUN_MAX = 64;
const SPARSE_XZERO_RUN_MAX = 16384;
const MAGIC = [0x48, 0x59, 0x4c, 0x4c]; // "HYLL"
const STALE_BIT = 0x80;
const ALPHA_INF = 0.721347520444481703680;

export const enum HllEncoding {
  Dense = 0,
  Sparse = 1,
}

/** A decoded HyperLogLog: its registers and the form it is stored in. */
export interface Hll {
  readonly registers: Uint8Array;
  dense: boolean;
}

/** The header check of Redis's isHLLObjectOrReply: false means "not a HyperLogLog" (WRONGTYPE). */
export function isHllValue(value: Uint8Array): boolean {
  if (value.length < HLL_HEADER_BYTES) return false;
  for (let index = 0; index < 4; index++) if (value[index] !== MAGIC[index]) return false;
  const encoding = value[4]!;
  if (encoding > HllEncoding.Sparse) return false;
  return encoding !== HllEncoding.Dense || value.length === HLL_DENSE_BYTES;
}

/** The cached cardinality, undefined when stale (the caller checked isHllValue). */
export function cachedCardinality(value: Uint8Array): number | undefined {
  if ((value[15]! & STALE_BIT) !== 0) return undefined;
  let cardinality = 0;
  for (let index = 15; index >= 8; index--) cardinality = cardinality * 256 + value[index]!;
  return cardinality;
}

/** Store a fresh cardinality in the header (in place). */
export function setCachedCardinality(value: Uint8Array, cardinality: number): void {
  let rest = cardinality;
  for (let index = 8; index < 16; index++) {
    value[index] = rest % 256;
    rest = Math.floor(rest / 256);
  }
}

/** The registers of a valid-headed value; undefined when the sparse body is corrupt (INVALIDOBJ). */
export function decodeHll(value: Uint8Array): Hll | undefined {
  const registers = new Uint8Array(HLL_REGISTERS);
  if (value[4] === HllEncoding.Dense) {
    for (let index = 0; index < HLL_REGISTERS; index++) registers[index] = denseRegister(value, index);
    return { registers, dense: true };
  }
  let register = 0;
  let offset = HLL_HEADER_BYTES;
  while (offset < value.length) {
    const opcode = value[offset]!;
    let run: number;
    let registerValue = 0;
    if ((opcode & 0xc0) === 0x00) {
      run = (opcode & 0x3f) + 1;
      offset += 1;
    } else if ((opcode & 0xc0) === 0x40) {
      if (offset + 1 >= value.length) return undefined;
      run = (((opcode & 0x3f) << 8) | value[offset + 1]!) + 1;
      offset += 2;
    } else {
      run = (opcode & 0x03) + 1;
      registerValue = ((opcode >> 2) & 0x1f) + 1;
      offset += 1;
    }
    if (register + run > HLL_REGISTERS) return undefined;
    if (registerValue !== 0) registers.fill(registerValue, register, register + run);
    register += run;
  }
  if (register !== HLL_REGISTERS) return undefined;
  return { registers, dense: false };
}

/** Register `index` of a dense value. */
export function denseRegister(value: Uint8Array, index: number): number {
  const bit = index * 6;
  const byte = HLL_HEADER_BYTES + (bit >> 3);
  const shift = bit & 7;
  const low = value[byte]! >> shift;
  const high = byte + 1 < value.length ? value[byte + 1]! << (8 - shift) : 0;
  return (low | high) & 0x3f;
}

function header(encoding: HllEncoding, bodyBytes: number): Uint8Array {
  const value = new Uint8Array(HLL_HEADER_BYTES + bodyBytes);
  value.set(MAGIC, 0);
  value[4] = encoding;
  value[15] = STALE_BIT;
  return value;
}

/** Set register `index` of a dense value in place. */
export function setDenseRegister(value: Uint8Array, index: number, registerValue: number): void {
  const bit = index * 6;
  const byte = HLL_HEADER_BYTES + (bit >> 3);
  const shift = bit & 7;
  value[byte] = (value[byte]! & ~((0x3f << shift) & 0xff)) | ((registerValue << shift) & 0xff);
  if (shift > 2) value[byte + 1] = (value[byte + 1]! & ~(0x3f >> (8 - shift))) | (registerValue >> (8 - shift));
}

/** Mark the cached cardinality stale (in place), as every register change does. */
export function markCardinalityStale(value: Uint8Array): void {
  value[15] |= STALE_BIT;
}

/** The dense form of registers (cache stale). */
export function encodeDense(registers: Uint8Array): Uint8Array {
  const value = header(HllEncoding.Dense, HLL_DENSE_BYTES - HLL_HEADER_BYTES);
  for (let index = 0; index < HLL_REGISTERS; index++) {
    const registerValue = registers[index]!;
    if (registerValue === 0) continue;
    const bit = index * 6;
    const byte = HLL_HEADER_BYTES + (bit >> 3);
    const shift = bit & 7;
    value[byte] |= (registerValue << shift) & 0xff;
    if (shift > 2) value[byte + 1] |= registerValue >> (8 - shift);
  }
  return value;
}

/** The sparse form of registers (cache stale), undefined when a register is too large for it. */
export function encodeSparse(registers: Uint8Array): Uint8Array | undefined {
  const body: number[] = [];
  let index = 0;
  while (index < HLL_REGISTERS) {
    const registerValue = registers[index]!;
    if (registerValue > SPARSE_VALUE_MAX) return undefined;
    let end = index + 1;
    while (end < HLL_REGISTERS && registers[end] === registerValue) end++;
    let run = end - index;
    if (registerValue === 0) {
      while (run > 0) {
        if (run > SPARSE_ZERO_RUN_MAX) {
          const chunk = Math.min(run, SPARSE_XZERO_RUN_MAX);
          body.push(0x40 | ((chunk - 1) >> 8), (chunk - 1) & 0xff);
          run -= chunk;
        } else {
          body.push(run - 1);
          run = 0;
        }
      }
    } else {
      while (run > 0) {
        const chunk = Math.min(run, SPARSE_VALUE_RUN_MAX);
        body.push(0x80 | ((registerValue - 1) << 2) | (chunk - 1));
        run -= chunk;
      }
    }
    index = end;
  }
  const value = header(HllEncoding.Sparse, body.length);
  value.set(body, HLL_HEADER_BYTES);
  return value;
}

/** The value of an empty HyperLogLog as PFADD creates it: sparse, cardinality 0 cached. */
export function emptyHll(): Uint8Array {
  const value = encodeSparse(new Uint8Array(HLL_REGISTERS))!;
  value[15] = 0;
  return value;
}

/**
 * Encode registers: dense when asked or when the sparse form cannot hold them or would
 * pass sparseBytesMax (Redis's hll-sparse-max-bytes, counted on the whole value).
 */
export function encodeHll(hll: Hll, sparseBytesMax: number): Uint8Array {
  if (!hll.dense) {
    const sparse = encodeSparse(hll.registers);
    if (sparse !== undefined && sparse.length <= sparseBytesMax) return sparse;
    hll.dense = true;
  }
  return encodeDense(hll.registers);
}

const MURMUR_M = 0xc6a4a7935bd1e995n;
const MURMUR_R = 47n;
const MASK_64 = (1n << 64n) - 1n;

/** MurmurHash64A (Austin Appleby) over bytes, blocks read little-endian as Redis does. */
export function murmurHash64A(bytes: Uint8Array, seed: bigint): bigint {
  const length = bytes.length;
  let hash = (seed ^ ((BigInt(length) * MURMUR_M) & MASK_64)) & MASK_64;
  const blocks = length - (length & 7);
  for (let offset = 0; offset < blocks; offset += 8) {
    let low = 0;
    let high = 0;
    for (let byte = 3; byte >= 0; byte--) {
      low = low * 256 + bytes[offset + byte]!;
      high = high * 256 + bytes[offset + 4 + byte]!;
    }
    let block = (BigInt(high) << 32n) | BigInt(low);
    block = (block * MURMUR_M) & MASK_64;
    block ^= block >> MURMUR_R;
    block = (block * MURMUR_M) & MASK_64;
    hash ^= block;
    hash = (hash * MURMUR_M) & MASK_64;
  }
  const tail = length & 7;
  if (tail > 0) {
    for (let byte = tail - 1; byte >= 0; byte--) hash ^= BigInt(bytes[blocks + byte]!) << BigInt(byte * 8);
    hash = (hash * MURMUR_M) & MASK_64;
  }
  hash ^= hash >> MURMUR_R;
  hash = (hash * MURMUR_M) & MASK_64;
  hash ^= hash >> MURMUR_R;
  return hash;
}

const HLL_SEED = 0xadc83b19n;

/** The register an element lands in and the count it gives it (1 + trailing zeros of the rest of the hash, at most Q+1). */
export function hllPosition(element: Uint8Array): { index: number; count: number } {
  const hash = murmurHash64A(element, HLL_SEED);
  const index = Number(hash & BigInt(HLL_REGISTERS - 1));
  let rest = (hash >> BigInt(HLL_P)) | (1n << BigInt(HLL_Q));
  let count = 1;
  while ((rest & 1n) === 0n) {
    count++;
    rest >>= 1n;
  }
  return { index, count };
}

/** Add an element to registers; true when a register grew. */
export function hllAdd(registers: Uint8Array, element: Uint8Array): boolean {
  const { index, count } = hllPosition(element);
  if (registers[index]! >= count) return false;
  registers[index] = count;
  return true;
}

function tau(input: number): number {
  if (input === 0 || input === 1) return 0;
  let x = input;
  let y = 1;
  let z = 1 - x;
  let previous: number;
  do {
    x = Math.sqrt(x);
    previous = z;
    y *= 0.5;
    z -= (1 - x) ** 2 * y;
  } while (previous !== z);
  return z / 3;
}

function sigma(input: number): number {
  if (input === 1) return Infinity;
  let x = input;
  let y = 1;
  let z = x;
  let previous: number;
  do {
    x *= x;
    previous = z;
    z += x * y;
    y += y;
  } while (previous !== z);
  return z;
}

/** The cardinality estimate of registers (Ertl's improved estimator, as Redis 7.0). */
export function hllCount(registers: Uint8Array): number {
  const histogram = new Float64Array(64);
  for (let index = 0; index < HLL_REGISTERS; index++) histogram[registers[index]!]!++;
  const m = HLL_REGISTERS;
  let z = m * tau((m - histogram[HLL_Q + 1]!) / m);
  for (let count = HLL_Q; count >= 1; count--) {
    z += histogram[count]!;
    z *= 0.5;
  }
  z += m * sigma(histogram[0]! / m);
  return Math.round((ALPHA_INF * m * m) / z);
}

/** Redis's PFDEBUG DECODE text of a sparse body: "Z:n", "XZ:n", "v:value,run" joined by spaces. */
export function describeSparse(value: Uint8Array): string | undefined {
  const parts: string[] = [];
  let offset = HLL_HEADER_BYTES;
  while (offset < value.length) {
    const opcode = value[offset]!;
    if ((opcode & 0xc0) === 0x00) {
      parts.push(`z:${(opcode & 0x3f) + 1}`);
      offset += 1;
    } else if ((opcode & 0xc0) === 0x40) {
      if (offset + 1 >= value.length) return undefined;
      parts.push(`Z:${(((opcode & 0x3f) << 8) | value[offset + 1]!) + 1}`);
      offset += 2;
    } else {
      parts.push(`v:${((opcode >> 2) & 0x1f) + 1},${(opcode & 0x03) + 1}`);
      offset += 1;
    }
  }
  return parts.join(' ');
}

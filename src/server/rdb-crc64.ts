// CRC-64/Jones as Redis computes it for DUMP payloads and RDB files (crc64.c): polynomial
// 0xad93d23594c935a9, reflected input and output, initial value 0, no final xor
// (check value of "123456789": 0xe9c6d914c4b8d9ca). Kept as two 32-bit halves so a
// payload of megabytes costs no BigInt work per byte.

/** The reflected polynomial. */
const REFLECTED_POLYNOMIAL = 0x95ac9329ac4bc9b5n;

const TABLE_HIGH = new Uint32Array(256);
const TABLE_LOW = new Uint32Array(256);
for (let byte = 0; byte < 256; byte++) {
  let crc = BigInt(byte);
  for (let bit = 0; bit < 8; bit++) crc = (crc & 1n) === 1n ? (crc >> 1n) ^ REFLECTED_POLYNOMIAL : crc >> 1n;
  TABLE_HIGH[byte] = Number(crc >> 32n);
  TABLE_LOW[byte] = Number(crc & 0xffffffffn);
}

/** The CRC-64 of bytes, as an unsigned 64-bit integer. */
export function crc64(bytes: Uint8Array): bigint {
  let high = 0;
  let low = 0;
  for (let index = 0; index < bytes.length; index++) {
    const slot = (low ^ bytes[index]!) & 0xff;
    // crc >> 8, then xor with the table entry.
    low = ((low >>> 8) | (high << 24)) ^ TABLE_LOW[slot]!;
    high = (high >>> 8) ^ TABLE_HIGH[slot]!;
  }
  return (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
}

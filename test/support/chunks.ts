// Splits a byte stream into chunks at given offsets: the codec tests feed every decoder
// the same bytes in many splits and expect the same result.

/** Chunks of bytes cut at each offset in points (any order, duplicates give empty chunks). */
export function splitAtPoints<T extends Uint8Array>(bytes: T, points: readonly number[]): T[] {
  const sorted = [...points].sort((a, b) => a - b);
  const chunks: T[] = [];
  let start = 0;
  for (const point of sorted) {
    chunks.push(bytes.subarray(start, point) as T);
    start = point;
  }
  chunks.push(bytes.subarray(start) as T);
  return chunks;
}

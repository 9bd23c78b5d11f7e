// LZF decompression (liblzf's lzf_decompress), for the compressed strings of RDB payloads
// that redis-server writes (RDB_ENC_LZF). peerkv's own DUMP writes strings uncompressed,
// which every Redis loads, so only this direction is needed.

/** The `length` bytes that `compressed` expands to, or undefined when it is malformed or expands to another length. */
export function lzfDecompress(compressed: Uint8Array, length: number): Uint8Array | undefined {
  const output = new Uint8Array(length);
  let input = 0;
  let at = 0;
  while (input < compressed.length) {
    const control = compressed[input++]!;
    if (control < 32) {
      // A literal run of control + 1 bytes.
      const run = control + 1;
      if (input + run > compressed.length || at + run > length) return undefined;
      output.set(compressed.subarray(input, input + run), at);
      input += run;
      at += run;
      continue;
    }
    // A back reference: length in the top 3 bits (7: one more length byte), distance in the rest.
    let run = control >> 5;
    if (run === 7) {
      if (input >= compressed.length) return undefined;
      run += compressed[input++]!;
    }
    if (input >= compressed.length) return undefined;
    const from = at - ((control & 0x1f) << 8) - compressed[input++]! - 1;
    run += 2;
    if (from < 0 || at + run > length) return undefined;
    // Byte by byte: a reference may overlap what it writes (a repeated run).
    for (let index = 0; index < run; index++) output[at + index] = output[from + index]!;
    at += run;
  }
  return at === length ? output : undefined;
}

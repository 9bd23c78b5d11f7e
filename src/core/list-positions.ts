// List position ids (DESIGN.md section 6): the element of a list's Item row. Row keys sort
// by position, so a list reads in order; a new element takes a position between its
// neighbours, and a writer's unique suffix (origin + per-origin sequence) makes positions
// from two nodes distinct, so concurrent pushes interleave the same way everywhere.
//
// Position := level0 level*
//   level0 := [sortable integer][fraction digits][0x00][suffix]
//   level  :=                   [fraction digits][0x00][suffix]    (fraction non-empty)
// Fraction digits are bytes 1..255 read as base-256 digits after the point; the 0x00
// terminator sorts below every digit, so byte order is numeric order. A generated
// fraction never ends with digit 1, so there is always room below it. Pushes at the ends
// only move the integer (+1 / -1): a million RPUSHes take 4-byte integers, no fraction.
// Two positions with equal integer and fraction (made at once on two nodes) differ by
// suffix; a position between them extends the lower one with a deeper level.

/** Bytes of a writer's suffix: 16 bytes of origin, 8 of sequence. */
export const POSITION_SUFFIX_BYTES = 24;

const DIGIT_BASE = 256;
/** The first fraction digit of a deeper level made with no upper bound. */
const LEVEL_START_DIGIT = 0x80;

/** The sortable encoding of a safe integer: header byte (sign and length), then big-endian body. */
export function encodeSortableInt(value: number): Uint8Array {
  const negative = value < 0;
  let magnitude = negative ? -value - 1 : value;
  const body: number[] = [];
  while (magnitude > 0) {
    body.unshift(magnitude % DIGIT_BASE);
    magnitude = Math.floor(magnitude / DIGIT_BASE);
  }
  const bytes = new Uint8Array(1 + body.length);
  bytes[0] = negative ? 0x7f - body.length : 0x80 + body.length;
  for (let index = 0; index < body.length; index++) bytes[1 + index] = negative ? 0xff - body[index]! : body[index]!;
  return bytes;
}

/** The integer at offset and where it ends, or undefined when malformed. */
function decodeSortableInt(bytes: Uint8Array, offset: number): { value: number; end: number } | undefined {
  if (offset >= bytes.length) return undefined;
  const header = bytes[offset]!;
  const negative = header < 0x80;
  const length = negative ? 0x7f - header : header - 0x80;
  if (length > 7 || offset + 1 + length > bytes.length) return undefined;
  let magnitude = 0;
  for (let index = 0; index < length; index++) {
    const byte = bytes[offset + 1 + index]!;
    magnitude = magnitude * DIGIT_BASE + (negative ? 0xff - byte : byte);
  }
  return { value: negative ? -magnitude - 1 : magnitude, end: offset + 1 + length };
}

interface Level {
  /** [fracStart, fracEnd): the fraction digits. */
  readonly fracStart: number;
  readonly fracEnd: number;
  /** End of the level (after its suffix). */
  readonly end: number;
}

function parseLevel(bytes: Uint8Array, offset: number): Level | undefined {
  let at = offset;
  while (at < bytes.length && bytes[at] !== 0) at++;
  if (at + 1 + POSITION_SUFFIX_BYTES > bytes.length) return undefined;
  return { fracStart: offset, fracEnd: at, end: at + 1 + POSITION_SUFFIX_BYTES };
}

/** Byte comparison of a[aStart, aEnd) and b[bStart, bEnd). */
function compareRange(a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): number {
  const length = Math.min(aEnd - aStart, bEnd - bStart);
  for (let index = 0; index < length; index++) {
    const diff = a[aStart + index]! - b[bStart + index]!;
    if (diff !== 0) return diff;
  }
  return aEnd - aStart - (bEnd - bStart);
}

/** Byte order of two positions (the order of their rows). */
export function comparePositions(a: Uint8Array, b: Uint8Array): number {
  return compareRange(a, 0, a.length, b, 0, b.length);
}

/**
 * Fraction digits strictly between lo and hi (hi undefined: no upper bound), never ending
 * with digit 1. lo < hi as fractions; lo may be empty, hi never ends with digit 1.
 */
export function fractionBetween(lo: Uint8Array, hi: Uint8Array | undefined): number[] {
  const digits: number[] = [];
  let loTight = true;
  let hiTight = hi !== undefined;
  for (let index = 0; ; index++) {
    const low = loTight && index < lo.length ? lo[index]! : 0;
    const high = hiTight ? (index < hi!.length ? hi![index]! : 0) : DIGIT_BASE;
    const first = Math.max(low + 1, 2);
    const last = high - 1;
    if (first <= last) {
      digits.push((first + last) >> 1);
      return digits;
    }
    if (high === 0 && low === 0) throw new Error('no fraction between equal bounds');
    // No final digit fits here: take one that keeps the result between, and go deeper.
    const digit = low === 0 ? 1 : low;
    digits.push(digit);
    if (digit > low) loTight = false;
    if (digit < high) hiTight = false;
  }
}

function assemble(parts: readonly (Uint8Array | readonly number[])[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
}

const TERMINATOR = [0];

/** A deeper level after the levels of a[from..): above all of them, nothing above it. */
function levelAfter(a: Uint8Array, from: number, suffix: Uint8Array): readonly (Uint8Array | readonly number[])[] {
  if (from >= a.length) return [[LEVEL_START_DIGIT], TERMINATOR, suffix];
  const level = parseLevel(a, from);
  if (level === undefined) throw new Error('malformed list position');
  return [fractionBetween(a.subarray(level.fracStart, level.fracEnd), undefined), TERMINATOR, suffix];
}

/** Levels strictly between a[aFrom..) and b[bFrom..) (a's empty: the lowest), both after one shared prefix. */
function levelsBetween(a: Uint8Array, aFrom: number, b: Uint8Array, bFrom: number, suffix: Uint8Array): (Uint8Array | readonly number[])[] {
  const levelB = parseLevel(b, bFrom);
  if (levelB === undefined) throw new Error('malformed list position');
  const fracB = b.subarray(levelB.fracStart, levelB.fracEnd);
  if (aFrom >= a.length) return [fractionBetween(new Uint8Array(0), fracB), TERMINATOR, suffix];
  const levelA = parseLevel(a, aFrom);
  if (levelA === undefined) throw new Error('malformed list position');
  const fracA = a.subarray(levelA.fracStart, levelA.fracEnd);
  if (compareRange(a, levelA.fracStart, levelA.fracEnd, b, levelB.fracStart, levelB.fracEnd) !== 0) return [fractionBetween(fracA, fracB), TERMINATOR, suffix];
  const suffixOrder = compareRange(a, levelA.fracEnd, levelA.end, b, levelB.fracEnd, levelB.end);
  if (suffixOrder !== 0) return [a.subarray(aFrom, levelA.end), ...levelAfter(a, levelA.end, suffix)];
  return [a.subarray(aFrom, levelA.end), ...levelsBetween(a, levelA.end, b, levelB.end, suffix)];
}

/**
 * A new position strictly between `before` and `after` (undefined: the list's start or
 * end), ending with the writer's unique `suffix` (POSITION_SUFFIX_BYTES). Throws when
 * before >= after or either is malformed.
 */
export function positionBetween(before: Uint8Array | undefined, after: Uint8Array | undefined, suffix: Uint8Array): Uint8Array {
  if (suffix.length !== POSITION_SUFFIX_BYTES) throw new Error('list position suffix must be 24 bytes');
  if (before === undefined && after === undefined) return assemble([encodeSortableInt(0), TERMINATOR, suffix]);
  const a = before === undefined ? undefined : decodeSortableInt(before, 0);
  const b = after === undefined ? undefined : decodeSortableInt(after, 0);
  if ((before !== undefined && a === undefined) || (after !== undefined && b === undefined)) throw new Error('malformed list position');
  if (b === undefined) return assemble([encodeSortableInt(a!.value + 1), TERMINATOR, suffix]);
  if (a === undefined) return assemble([encodeSortableInt(b.value - 1), TERMINATOR, suffix]);
  if (comparePositions(before!, after!) >= 0) throw new Error('list positions out of order');
  if (b.value - a.value >= 2) return assemble([encodeSortableInt(a.value + Math.floor((b.value - a.value) / 2)), TERMINATOR, suffix]);
  const head = before!.subarray(0, a.end);
  if (a.value < b.value) {
    const levelA = parseLevel(before!, a.end);
    if (levelA === undefined) throw new Error('malformed list position');
    return assemble([head, fractionBetween(before!.subarray(levelA.fracStart, levelA.fracEnd), undefined), TERMINATOR, suffix]);
  }
  // Same integer: level 0's fraction may be empty, so compare it as levels do.
  const levelA = parseLevel(before!, a.end);
  const levelB = parseLevel(after!, b.end);
  if (levelA === undefined || levelB === undefined) throw new Error('malformed list position');
  const fracA = before!.subarray(levelA.fracStart, levelA.fracEnd);
  const fracB = after!.subarray(levelB.fracStart, levelB.fracEnd);
  if (compareRange(before!, levelA.fracStart, levelA.fracEnd, after!, levelB.fracStart, levelB.fracEnd) !== 0) {
    return assemble([head, fractionBetween(fracA, fracB), TERMINATOR, suffix]);
  }
  const suffixOrder = compareRange(before!, levelA.fracEnd, levelA.end, after!, levelB.fracEnd, levelB.end);
  const level0 = before!.subarray(0, levelA.end);
  if (suffixOrder !== 0) return assemble([level0, ...levelAfter(before!, levelA.end, suffix)]);
  return assemble([level0, ...levelsBetween(before!, levelA.end, after!, levelB.end, suffix)]);
}

// Redis glob patterns (KEYS, SCAN MATCH, PSUBSCRIBE, CONFIG GET) over bytes:
// `*` any run, `?` one byte, `[abc]` `[^a]` `[a-z]` classes, `\x` a literal x.
// Backtracking remembers only the last `*`, so matching is O(pattern * subject) at worst
// instead of Redis's exponential recursion on patterns like `a*a*a*a*b`.

const STAR = 0x2a;
const QUESTION = 0x3f;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const CARET = 0x5e;
const DASH = 0x2d;
const BACKSLASH = 0x5c;

function fold(byte: number, noCase: boolean): number {
  return noCase && byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte;
}

/**
 * Match subject at a `[` class starting at pattern[open]. Returns the index just past
 * the class when it matches, or -1.
 */
function matchClass(pattern: Uint8Array, open: number, byte: number, noCase: boolean): number {
  let index = open + 1;
  const negate = pattern[index] === CARET;
  if (negate) index++;
  let matched = false;
  const subject = fold(byte, noCase);
  while (index < pattern.length && pattern[index] !== CLOSE) {
    if (pattern[index] === BACKSLASH && index + 1 < pattern.length) {
      index++;
      if (fold(pattern[index]!, noCase) === subject) matched = true;
      index++;
    } else if (index + 2 < pattern.length && pattern[index + 1] === DASH && pattern[index + 2] !== CLOSE) {
      let low = fold(pattern[index]!, noCase);
      let high = fold(pattern[index + 2]!, noCase);
      if (low > high) [low, high] = [high, low];
      if (subject >= low && subject <= high) matched = true;
      index += 3;
    } else {
      if (fold(pattern[index]!, noCase) === subject) matched = true;
      index++;
    }
  }
  // An unterminated class ends with the pattern, as in Redis.
  const after = index < pattern.length ? index + 1 : index;
  return matched !== negate ? after : -1;
}

export function globMatch(pattern: Uint8Array, subject: Uint8Array, noCase = false): boolean {
  let p = 0;
  let s = 0;
  let starPattern = -1;
  let starSubject = 0;
  while (s < subject.length) {
    if (p < pattern.length) {
      const token = pattern[p]!;
      if (token === STAR) {
        while (p < pattern.length && pattern[p] === STAR) p++;
        if (p === pattern.length) return true;
        starPattern = p;
        starSubject = s;
        continue;
      }
      if (token === QUESTION) {
        p++;
        s++;
        continue;
      }
      if (token === OPEN) {
        const after = matchClass(pattern, p, subject[s]!, noCase);
        if (after >= 0) {
          p = after;
          s++;
          continue;
        }
      } else {
        let literal = token;
        let width = 1;
        if (token === BACKSLASH && p + 1 < pattern.length) {
          literal = pattern[p + 1]!;
          width = 2;
        }
        if (fold(literal, noCase) === fold(subject[s]!, noCase)) {
          p += width;
          s++;
          continue;
        }
      }
    }
    if (starPattern < 0) return false;
    starSubject++;
    s = starSubject;
    p = starPattern;
  }
  while (p < pattern.length && pattern[p] === STAR) p++;
  return p === pattern.length;
}

/** True if the pattern matches everything (`*`), so callers can skip matching. */
export function isMatchAll(pattern: Uint8Array): boolean {
  if (pattern.length === 0) return false;
  for (const byte of pattern) if (byte !== STAR) return false;
  return true;
}

// Counters on rows (DESIGN.md section 6): value = base + the sum over origins of
// (slot[origin] - observed[origin]). Only an origin writes its own slot, a running total
// of its increments; a write of a new base (SET, HSET) records the slots it observed, so
// concurrent increments on other nodes all count and only observed ones are reset.
// Integers are exact modulo 2^64: slots are stored as int64 running totals that may wrap,
// and since only differences count, a value read as int64 is exact whenever it lies in
// Redis's range (each node checks an increment's overflow against its own view). A float
// increment (INCRBYFLOAT) makes the value a float.
import { utf8 } from './bytes.js';
import { decodeSlotTotal, OBSERVED_ORIGINS_MAX, parseRow, parseSlotElement, slotPrefix, type BaseValue, type SlotTotal } from './rows.js';
import type { StoreView } from './store-view.js';
import type { NodeId } from './types.js';

/** Slot rows read per page. */
const SLOT_PAGE_ROWS = 256;

/** Every origin's live slot total of a counted element (a hash field, or empty for a string). */
export function readSlotTotals(view: Pick<StoreView, 'scanRows'>, key: Uint8Array, counted: Uint8Array): Map<NodeId, SlotTotal> {
  const slots = new Map<NodeId, SlotTotal>();
  const prefix = slotPrefix(key, counted);
  let after: Uint8Array | undefined;
  for (;;) {
    const page = view.scanRows(prefix, after, SLOT_PAGE_ROWS);
    for (const row of page.records) {
      if (row.value === null) continue;
      const slot = parseSlotElement(parseRow(row.key)!.element);
      const total = decodeSlotTotal(row.value);
      if (slot !== undefined && total !== undefined && slot.counted.length === counted.length) slots.set(slot.origin, total);
    }
    if (page.done || page.records.length === 0) return slots;
    after = page.records[page.records.length - 1]!.key;
  }
}

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

/** A counter's current number: exact integer, or a float once a float increment counts. */
export type CounterNumber = { readonly kind: 'integer'; readonly value: bigint } | { readonly kind: 'float'; readonly value: number };

const INTEGER_PATTERN = /^(0|-?[1-9][0-9]*)$/;
/** Longest decimal Redis parses as a 64-bit integer ("-9223372036854775808"). */
const INTEGER_CHARS_MAX = 20;
/** Longest text Redis parses as a float (MAX_LONG_DOUBLE_CHARS). */
const FLOAT_CHARS_MAX = 5 * 1024;

function latin1(bytes: Uint8Array): string {
  let text = '';
  for (let index = 0; index < bytes.length; index++) text += String.fromCharCode(bytes[index]!);
  return text;
}

/** Digits parsed as a number without a string: below 10^15, so exact in a double. */
const SMALL_INTEGER_CHARS_MAX = 15;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const MINUS = 0x2d;

/** Redis's string2ll: an optional minus, no leading zeros or spaces, within int64. */
export function parseInteger64(bytes: Uint8Array): bigint | undefined {
  if (bytes.length === 0 || bytes.length > INTEGER_CHARS_MAX) return undefined;
  if (bytes.length <= SMALL_INTEGER_CHARS_MAX) {
    // The common short form, read digit by digit (the text, regex and BigInt parse cost more).
    const negative = bytes[0] === MINUS;
    const first = negative ? 1 : 0;
    if (first === bytes.length || (bytes[first] === DIGIT_0 && (bytes.length > first + 1 || negative))) return undefined;
    let value = 0;
    for (let index = first; index < bytes.length; index++) {
      const byte = bytes[index]!;
      if (byte < DIGIT_0 || byte > DIGIT_9) return undefined;
      value = value * 10 + (byte - DIGIT_0);
    }
    return BigInt(negative ? -value : value);
  }
  const text = latin1(bytes);
  if (!INTEGER_PATTERN.test(text)) return undefined;
  const value = BigInt(text);
  return value < INT64_MIN || value > INT64_MAX ? undefined : value;
}

const FLOAT_PATTERN = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Redis's string2ld for a stored value: as parseLongDouble, finite values only. */
export function parseFloatText(bytes: Uint8Array): number | undefined {
  const value = parseLongDouble(bytes);
  return value !== undefined && Number.isFinite(value) ? value : undefined;
}

/** The base as a number: an integer when it is one, else a float, else undefined (not a number). */
export function parseCounterBase(bytes: Uint8Array): CounterNumber | undefined {
  const integer = parseInteger64(bytes);
  if (integer !== undefined) return { kind: 'integer', value: integer };
  const float = parseFloatText(bytes);
  return float === undefined ? undefined : { kind: 'float', value: float };
}

/**
 * The increments counted over the base: sum of slot - observed, per part. Each origin's
 * integer difference is read as int64 (its running total may have wrapped); the sum is
 * exact, and an integer counter takes it modulo 2^64 (applyIncrements).
 */
export function unobservedIncrements(base: BaseValue, slots: ReadonlyMap<NodeId, SlotTotal>): SlotTotal {
  let integer = 0n;
  let float = 0;
  // Sorted origins: float sums come out bit-identical on every node.
  for (const origin of slots.size === 1 ? slots.keys() : [...slots.keys()].sort()) {
    const slot = slots.get(origin)!;
    const seen = base.observed.get(origin);
    integer += BigInt.asIntN(64, slot.integer - (seen?.integer ?? 0n));
    float += slot.float - (seen?.float ?? 0);
  }
  return { integer, float };
}

/** A parsed base with increments applied: int64 arithmetic modulo 2^64 while no float counts. */
function applyIncrements(parsed: CounterNumber, increments: SlotTotal): CounterNumber {
  if (parsed.kind === 'integer' && increments.float === 0) return { kind: 'integer', value: BigInt.asIntN(64, parsed.value + increments.integer) };
  return { kind: 'float', value: Number(parsed.value) + Number(increments.integer) + increments.float };
}

function hasIncrements(increments: SlotTotal): boolean {
  return BigInt.asIntN(64, increments.integer) !== 0n || increments.float !== 0;
}

/** The counter's value, or undefined when the base is not a number (and increments exist). */
export function counterValue(base: BaseValue, slots: ReadonlyMap<NodeId, SlotTotal>): CounterNumber | undefined {
  const parsed = parseCounterBase(base.bytes);
  if (parsed === undefined) return undefined;
  return applyIncrements(parsed, unobservedIncrements(base, slots));
}

/**
 * The bytes a reader sees: the base exactly as written while no unobserved increment
 * counts (SET k 1.50 reads back 1.50 even after resets), else the counter's text. A base
 * that is not a number keeps its bytes (increments cannot apply to it).
 */
export function countedBytes(base: BaseValue, slots: ReadonlyMap<NodeId, SlotTotal>): Uint8Array {
  if (slots.size === 0) return base.bytes;
  const increments = unobservedIncrements(base, slots);
  if (!hasIncrements(increments)) return base.bytes;
  const parsed = parseCounterBase(base.bytes);
  return parsed === undefined ? base.bytes : utf8(formatCounter(applyIncrements(parsed, increments)));
}

/** value + delta, or undefined when the sum leaves the 64-bit range (Redis's overflow error). */
export function addInteger64(value: bigint, delta: bigint): bigint | undefined {
  const sum = value + delta;
  return sum < INT64_MIN || sum > INT64_MAX ? undefined : sum;
}

/** An origin's running total after one increment; the integer part wraps as int64 (only differences count). */
export function incrementSlot(slot: SlotTotal, integerDelta: bigint, floatDelta: number): SlotTotal {
  return { integer: BigInt.asIntN(64, slot.integer + integerDelta), float: slot.float + floatDelta };
}

/**
 * An origin's running total after INCRBYFLOAT's delta. The delta's integral part (and the
 * carry out of the float total) goes to the exact integer total, so the float total stays a
 * fraction in (-1, 1): a float running total that once held 1e20 would swallow every later
 * 0.1, even after a reset observed it. A delta whose integral part does not fit the integer
 * total goes whole to the float total. The sum integer + float changes by the delta exactly
 * up to the rounding of one fraction.
 */
export function incrementSlotByFloat(slot: SlotTotal, delta: number): SlotTotal {
  if (!Number.isFinite(delta)) return { integer: slot.integer, float: slot.float + delta };
  const whole = Math.trunc(delta);
  const fraction = slot.float + (delta - whole);
  const carry = Math.trunc(fraction);
  const integer = slot.integer + BigInt(whole) + BigInt(carry);
  if (integer >= INT64_MIN && integer <= INT64_MAX) return { integer, float: fraction - carry };
  return { integer: slot.integer, float: slot.float + delta };
}

/**
 * The slots a new base records as observed: all of them, or the OBSERVED_ORIGINS_MAX with
 * the largest totals (ties by origin) when there are more; the others keep counting over it.
 */
export function observedSlots(slots: ReadonlyMap<NodeId, SlotTotal>): ReadonlyMap<NodeId, SlotTotal> {
  if (slots.size <= OBSERVED_ORIGINS_MAX) return slots;
  const magnitude = (total: SlotTotal): number => Math.abs(Number(total.integer)) + Math.abs(total.float);
  const kept = [...slots.entries()].sort((a, b) => magnitude(b[1]) - magnitude(a[1]) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return new Map(kept.slice(0, OBSERVED_ORIGINS_MAX));
}

const INFINITY_PATTERN = /^[+-]?inf(inity)?$/i;
const NONZERO_DIGIT_PATTERN = /[1-9a-fA-F]/;
/** strtold's hexadecimal form: 0x, hex digits with an optional point, an optional binary exponent. */
const HEX_FLOAT_PATTERN = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?$/;

function hexFloatValue(match: RegExpExecArray): number {
  let mantissa = 0;
  for (const digit of (match[2] ?? '') + (match[3] ?? '')) mantissa = mantissa * 16 + Number.parseInt(digit, 16);
  const value = mantissa * 2 ** (Number(match[4] ?? '0') - 4 * (match[3] ?? '').length);
  return match[1] === '-' ? -value : value;
}

/** Decimal exponents of long double's range: beyond them strtold reports a range error. */
const LONG_DOUBLE_EXPONENT_MAX = 4932;
const LONG_DOUBLE_EXPONENT_MIN = -4951;

/** The decimal exponent of a decimal text's leading nonzero digit (0 for zero). */
function decimalOrder(text: string): number {
  const [mantissa, exponent] = text.replace(/^[+-]/, '').split(/[eE]/) as [string, string | undefined];
  const [whole, fraction = ''] = mantissa.split('.') as [string, string | undefined];
  const leading = whole.replace(/^0+/, '');
  const order = leading.length > 0 ? leading.length - 1 : -(fraction.search(/[1-9]/) + 1);
  return order + Number(exponent ?? '0');
}

/** Digits a plain integer text may have for plainIntegerValue: its value is exact in a double. */
const PLAIN_INTEGER_DIGITS_MAX = 15;

/**
 * The value of a text of at most PLAIN_INTEGER_DIGITS_MAX decimal digits with an optional
 * sign (the scores and amounts most clients send, and every integer score's stored text),
 * read without the regular expressions of the general case; undefined for any other text.
 */
function plainIntegerValue(bytes: Uint8Array): number | undefined {
  const signed = bytes[0] === 0x2d || bytes[0] === 0x2b;
  const start = signed ? 1 : 0;
  if (bytes.length === start || bytes.length - start > PLAIN_INTEGER_DIGITS_MAX) return undefined;
  let value = 0;
  for (let index = start; index < bytes.length; index++) {
    const digit = bytes[index]! - 0x30;
    if (digit < 0 || digit > 9) return undefined;
    value = value * 10 + digit;
  }
  return bytes[0] === 0x2d ? -value : value;
}

/**
 * A float as Redis's string2ld reads it (strtold into a long double, no spaces, whole
 * text): decimal and hexadecimal (0x1.8p3) forms, "inf"/"infinity" with a sign, never NaN.
 * Texts within long double's range but past a double's read as +-Infinity (which the
 * callers refuse as Redis refuses infinite results) or 0; undefined when the text is not
 * a float or lies beyond long double's range, which Redis refuses too.
 */
export function parseLongDouble(bytes: Uint8Array): number | undefined {
  if (bytes.length === 0 || bytes.length >= FLOAT_CHARS_MAX) return undefined;
  const integer = plainIntegerValue(bytes);
  if (integer !== undefined) return integer;
  const text = latin1(bytes);
  if (INFINITY_PATTERN.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  const hex = HEX_FLOAT_PATTERN.exec(text);
  if (hex !== null) return (hex[2] ?? '') + (hex[3] ?? '') === '' ? undefined : hexFloatValue(hex);
  if (!FLOAT_PATTERN.test(text)) return undefined;
  const value = Number(text);
  if (value !== 0 && Number.isFinite(value)) return value;
  if (value === 0 && !NONZERO_DIGIT_PATTERN.test(text.split(/[eE]/)[0]!)) return value;
  const order = decimalOrder(text);
  return order > LONG_DOUBLE_EXPONENT_MAX || order < LONG_DOUBLE_EXPONENT_MIN ? undefined : value;
}

/**
 * Significant digits a float result is printed with. Redis computes in 80-bit long double
 * and prints %.17Lf, whose extra precision hides the binary noise a double shows
 * (1 - 1.1 is -0.10000000000000009 in a double, -0.1 from Redis); 15 digits are what
 * double arithmetic keeps exact, so sums of decimal amounts print as Redis prints them.
 */
const FLOAT_SIGNIFICANT_DIGITS = 15;
/** Redis's %.17Lf: never more than 17 decimals (1e-20 prints as 0). */
const FLOAT_DECIMALS_MAX = 17;

/**
 * Redis's text of a float result (ld2string LD_STR_HUMAN): fixed notation, no exponent,
 * trailing zeros removed, never "-0"; see FLOAT_SIGNIFICANT_DIGITS.
 */
export function formatFloat(value: number): string {
  if (value === 0) return '0';
  // Past 2^53 every double is an integer; Redis prints a long double's exact digits
  // (2^63 is 9223372036854775808, not the shortest 9223372036854776000).
  if (Math.abs(value) >= 2 ** 53) return BigInt(value).toString();
  const integerDigits = Math.floor(Math.log10(Math.abs(value))) + 1;
  const decimals = Math.min(FLOAT_DECIMALS_MAX, Math.max(0, FLOAT_SIGNIFICANT_DIGITS - integerDigits));
  let text = value.toFixed(decimals);
  if (text.includes('.')) text = text.replace(/0+$/, '').replace(/\.$/, '');
  return text === '-0' ? '0' : text;
}

/** The counter's value as the bytes a GET returns. */
export function formatCounter(value: CounterNumber): string {
  return value.kind === 'integer' ? value.value.toString() : formatFloat(value.value);
}

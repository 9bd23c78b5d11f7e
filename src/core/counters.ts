// Counters on rows (DESIGN.md section 6): value = base + the sum over origins of
// (slot[origin] - observed[origin]). Only an origin writes its own slot, a running total
// of its increments; a write of a new base (SET, HSET) records the slots it observed, so
// concurrent increments on other nodes all count and only observed ones are reset.
// Integers stay exact (bigint); a float increment (INCRBYFLOAT) makes the value a float.
import { decodeSlotTotal, parseRow, parseSlotElement, slotPrefix, type BaseValue, type SlotTotal } from './rows.js';
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

/** Redis's string2ll: an optional minus, no leading zeros or spaces, within int64. */
export function parseInteger64(bytes: Uint8Array): bigint | undefined {
  if (bytes.length === 0 || bytes.length > INTEGER_CHARS_MAX) return undefined;
  const text = latin1(bytes);
  if (!INTEGER_PATTERN.test(text)) return undefined;
  const value = BigInt(text);
  return value < INT64_MIN || value > INT64_MAX ? undefined : value;
}

const FLOAT_PATTERN = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Redis's string2ld: a finite decimal float, no spaces; undefined otherwise. */
export function parseFloatText(bytes: Uint8Array): number | undefined {
  if (bytes.length === 0 || bytes.length > FLOAT_CHARS_MAX) return undefined;
  const text = latin1(bytes);
  if (!FLOAT_PATTERN.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/** The base as a number: an integer when it is one, else a float, else undefined (not a number). */
export function parseCounterBase(bytes: Uint8Array): CounterNumber | undefined {
  const integer = parseInteger64(bytes);
  if (integer !== undefined) return { kind: 'integer', value: integer };
  const float = parseFloatText(bytes);
  return float === undefined ? undefined : { kind: 'float', value: float };
}

/** The increments counted over the base: sum of slot - observed, per part. */
export function unobservedIncrements(base: BaseValue, slots: ReadonlyMap<NodeId, SlotTotal>): SlotTotal {
  let integer = 0n;
  let float = 0;
  // Sorted origins: float sums come out bit-identical on every node.
  for (const origin of [...slots.keys()].sort()) {
    const slot = slots.get(origin)!;
    const seen = base.observed.get(origin);
    integer += slot.integer - (seen?.integer ?? 0n);
    float += slot.float - (seen?.float ?? 0);
  }
  return { integer, float };
}

/** The counter's value, or undefined when the base is not a number (and increments exist). */
export function counterValue(base: BaseValue, slots: ReadonlyMap<NodeId, SlotTotal>): CounterNumber | undefined {
  const parsed = parseCounterBase(base.bytes);
  if (parsed === undefined) return undefined;
  const increments = unobservedIncrements(base, slots);
  if (parsed.kind === 'integer' && increments.float === 0) return { kind: 'integer', value: parsed.value + increments.integer };
  return { kind: 'float', value: Number(parsed.value) + Number(increments.integer) + increments.float };
}

/**
 * Redis's text of a float result (ld2string LD_STR_HUMAN): fixed notation with up to 17
 * significant digits, no exponent, trailing zeros removed, never "-0".
 */
export function formatFloat(value: number): string {
  if (Object.is(value, -0) || value === 0) return '0';
  let text = value.toPrecision(17);
  if (/e/i.test(text)) text = expandExponent(value);
  if (text.includes('.')) text = text.replace(/0+$/, '').replace(/\.$/, '');
  // toPrecision(17) shows binary noise (0.1 + 0.2 -> 0.30000000000000004); Redis uses long double, whose
  // %.17Lg of the sum is the shortest form here: prefer the shortest text that reads back the same.
  const shortest = shortestText(value);
  return shortest.length < text.length ? shortest : text;
}

function shortestText(value: number): string {
  const text = String(value);
  return /e/i.test(text) ? expandExponent(value) : text;
}

function expandExponent(value: number): string {
  const [mantissa, exponentText] = value.toExponential().split('e') as [string, string];
  const exponent = Number(exponentText);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  let text: string;
  if (exponent >= 0) {
    text = digits.length <= exponent + 1 ? digits + '0'.repeat(exponent + 1 - digits.length) : `${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`;
  } else {
    text = `0.${'0'.repeat(-exponent - 1)}${digits}`;
  }
  return negative ? `-${text}` : text;
}

/** The counter's value as the bytes a GET returns. */
export function formatCounter(value: CounterNumber): string {
  return value.kind === 'integer' ? value.value.toString() : formatFloat(value.value);
}

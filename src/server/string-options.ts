// SET's and GETEX's options as Redis 7.0 parses them (parseExtendedStringArgumentsOrReply
// and getExpireMillisecondsOrReply): NX/XX/GET for SET, PERSIST for GETEX, and one expiry
// form. The whole line is parsed before the expiry amount is read, so a syntax error
// anywhere wins over a bad number, as in Redis; repeating the same option is allowed.
import { INT64_MAX, parseInteger64 } from '../core/counters.js';
import { argIs, NOT_INTEGER_ERROR } from './common.js';

export const StringOption = {
  IfAbsent: 1,
  IfPresent: 2,
  ExpireSeconds: 4,
  ExpireMs: 8,
  KeepTtl: 16,
  ReturnOld: 32,
  ExpireAtSeconds: 64,
  ExpireAtMs: 128,
  Persist: 256,
} as const;

const { IfAbsent, IfPresent, ExpireSeconds, ExpireMs, KeepTtl, ReturnOld, ExpireAtSeconds, ExpireAtMs, Persist } = StringOption;
const EXPIRY_FORMS = ExpireSeconds | ExpireMs | ExpireAtSeconds | ExpireAtMs;

export interface StringOptions {
  /** Bit set of StringOption. */
  readonly flags: number;
  /** The amount after EX/PX/EXAT/PXAT (last one given), unparsed. */
  readonly expiryArg: Uint8Array | undefined;
}

const EXPIRY_WORDS: readonly (readonly [string, number])[] = [
  ['ex', ExpireSeconds],
  ['px', ExpireMs],
  ['exat', ExpireAtSeconds],
  ['pxat', ExpireAtMs],
];

/**
 * Options from args[first..]: `forSet` takes NX XX GET KEEPTTL, otherwise PERSIST.
 * Undefined on a syntax error (unknown word, conflicting options, missing amount).
 */
export function parseStringOptions(args: readonly Uint8Array[], first: number, forSet: boolean): StringOptions | undefined {
  let flags = 0;
  let expiryArg: Uint8Array | undefined;
  for (let index = first; index < args.length; index++) {
    const arg = args[index]!;
    const hasNext = index + 1 < args.length;
    if (forSet && argIs(arg, 'nx') && (flags & IfPresent) === 0) flags |= IfAbsent;
    else if (forSet && argIs(arg, 'xx') && (flags & IfAbsent) === 0) flags |= IfPresent;
    else if (forSet && argIs(arg, 'get')) flags |= ReturnOld;
    else if (forSet && argIs(arg, 'keepttl') && (flags & (Persist | EXPIRY_FORMS)) === 0) flags |= KeepTtl;
    else if (!forSet && argIs(arg, 'persist') && (flags & (KeepTtl | EXPIRY_FORMS)) === 0) flags |= Persist;
    else {
      const form = EXPIRY_WORDS.find(([word]) => argIs(arg, word))?.[1];
      // One expiry form only, though the same one may repeat (the last amount counts).
      if (form === undefined || !hasNext || (flags & (KeepTtl | Persist | (EXPIRY_FORMS & ~form))) !== 0) return undefined;
      flags |= form;
      expiryArg = args[++index]!;
    }
  }
  return { flags, expiryArg };
}

/**
 * The absolute expiry in ms that options ask for, or an error reply text. Amounts must be
 * positive; relative ones count from nowMs. Redis takes anything up to 2^63-1 ms; expiry
 * times here are safe integers (2^53 ms, year 285,000), beyond that is an invalid time.
 */
export function expiryAtMs(options: StringOptions, nowMs: number, commandName: string): number | string {
  const invalid = `ERR invalid expire time in '${commandName}' command`;
  const amount = parseInteger64(options.expiryArg!);
  if (amount === undefined) return NOT_INTEGER_ERROR;
  const seconds = (options.flags & (ExpireSeconds | ExpireAtSeconds)) !== 0;
  if (amount <= 0n || (seconds && amount > INT64_MAX / 1000n)) return invalid;
  let atMs = seconds ? amount * 1000n : amount;
  if ((options.flags & (ExpireSeconds | ExpireMs)) !== 0) atMs += BigInt(nowMs);
  return atMs > BigInt(Number.MAX_SAFE_INTEGER) ? invalid : Number(atMs);
}

/** True when the options name an absolute time (EXAT, PXAT), which may already be past. */
export function isAbsoluteExpiry(options: StringOptions): boolean {
  return (options.flags & (ExpireAtSeconds | ExpireAtMs)) !== 0;
}

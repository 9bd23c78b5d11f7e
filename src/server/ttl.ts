// Expiry commands: TTL PTTL EXPIRETIME PEXPIRETIME EXPIRE PEXPIRE EXPIREAT PEXPIREAT PERSIST.
// An expiry change rewrites the key's header row with the new expiresAtMs (LWW on the
// header, DESIGN.md section 6); an expiry in the past deletes the key.
import type { Buffer } from 'node:buffer';
import { appendError, appendInteger } from '../wire/resp.js';
import { INT64_MAX, INT64_MIN, parseInteger64 } from '../core/counters.js';
import { CommandFlag, NOT_INTEGER_ERROR, ONE_KEY, argIs, checkKeyLength, command } from './common.js';
import { deleteWrite, expiryWrite, liveHeader } from './typed-keys.js';
import type { CommandContext } from './context.js';
import type { CommandSpec } from './command-spec.js';

const KEY_MISSING = -2;
const NO_EXPIRY = -1;

/** TTL-like replies: remaining (or absolute) time in `unitMs`, -1 without expiry, -2 if absent. */
function ttlVariant(unitMs: number, absolute: boolean) {
  return (session: CommandContext, args: Buffer[]): void => {
    const engine = session.engine;
    const header = liveHeader(engine, args[1]!);
    const nowMs = engine.nowMs();
    if (header === undefined) return void appendInteger(session.out, KEY_MISSING);
    const expiresAtMs = header.expiresAtMs;
    if (expiresAtMs === 0) return void appendInteger(session.out, NO_EXPIRY);
    const ms = absolute ? expiresAtMs : expiresAtMs - nowMs;
    // Redis rounds TTL to the nearest second, EXPIRETIME down.
    appendInteger(session.out, unitMs === 1 ? ms : absolute ? Math.floor(ms / unitMs) : Math.round(ms / unitMs));
  };
}

/** EXPIRE condition bits (Redis 7 NX XX GT LT); several may be combined. */
const IF_NO_EXPIRY = 1;
const IF_HAS_EXPIRY = 2;
const IF_GREATER = 4;
const IF_LESS = 8;

/** The condition bits of args[3..], or undefined after replying with the error. */
function parseConditions(session: CommandContext, args: Buffer[]): number | undefined {
  let conditions = 0;
  for (let index = 3; index < args.length; index++) {
    const arg = args[index]!;
    if (argIs(arg, 'nx')) conditions |= IF_NO_EXPIRY;
    else if (argIs(arg, 'xx')) conditions |= IF_HAS_EXPIRY;
    else if (argIs(arg, 'gt')) conditions |= IF_GREATER;
    else if (argIs(arg, 'lt')) conditions |= IF_LESS;
    else return void appendError(session.out, `ERR Unsupported option ${arg.toString('utf8', 0, 64)}`);
  }
  if ((conditions & IF_NO_EXPIRY) !== 0 && conditions !== IF_NO_EXPIRY) {
    return void appendError(session.out, 'ERR NX and XX, GT or LT options at the same time are not compatible');
  }
  if ((conditions & IF_GREATER) !== 0 && (conditions & IF_LESS) !== 0) {
    return void appendError(session.out, 'ERR GT and LT options at the same time are not compatible');
  }
  return conditions;
}

/** Whether the conditions let the expiry change from currentMs (0 = none, i.e. infinite) to newMs (Redis 7.0's checks). */
function allowed(conditions: number, currentMs: number, newMs: bigint): boolean {
  if ((conditions & IF_NO_EXPIRY) !== 0 && currentMs !== 0) return false;
  if ((conditions & IF_HAS_EXPIRY) !== 0 && currentMs === 0) return false;
  if ((conditions & IF_GREATER) !== 0 && (currentMs === 0 || newMs <= BigInt(currentMs))) return false;
  if ((conditions & IF_LESS) !== 0 && currentMs !== 0 && newMs >= BigInt(currentMs)) return false;
  return true;
}

/**
 * Redis's expire-time arithmetic on 64-bit integers: `amount` in units of unitMs, plus
 * baseMs (0 for absolute forms), as absolute ms; undefined when it overflows 64 bits
 * ("ERR invalid expire time in '<command>' command").
 */
export function expiryAtMs(amount: bigint, unitMs: number, baseMs: number): bigint | undefined {
  const unit = BigInt(unitMs);
  if (amount > INT64_MAX / unit || amount < INT64_MIN / unit) return undefined;
  const atMs = amount * unit;
  return atMs > INT64_MAX - BigInt(baseMs) ? undefined : atMs + BigInt(baseMs);
}

/**
 * The stored form of an absolute expiry that is in the future: a record keeps whole ms
 * as a double, so times beyond 2^53 ms (285,000 years) are kept as that far.
 */
export function storedExpiryMs(atMs: bigint): number {
  return atMs > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(atMs);
}

function expireVariant(unitMs: number, absolute: boolean, name: string) {
  return (session: CommandContext, args: Buffer[]): void => {
    const key = args[1]!;
    if (!checkKeyLength(session, key)) return;
    const conditions = parseConditions(session, args);
    if (conditions === undefined) return;
    const amount = parseInteger64(args[2]!);
    if (amount === undefined) return void appendError(session.out, NOT_INTEGER_ERROR);
    const engine = session.engine;
    const nowMs = engine.nowMs();
    const atMs = expiryAtMs(amount, unitMs, absolute ? 0 : nowMs);
    if (atMs === undefined) return void appendError(session.out, `ERR invalid expire time in '${name}' command`);
    const header = liveHeader(engine, key);
    if (header === undefined || !allowed(conditions, header.expiresAtMs, atMs)) return void appendInteger(session.out, 0);
    const start = session.out.length;
    appendInteger(session.out, 1);
    session.deferWrite(engine.write([atMs <= BigInt(nowMs) ? deleteWrite(key) : expiryWrite(key, header, storedExpiryMs(atMs))]), start);
  };
}

function persistCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  const engine = session.engine;
  const header = liveHeader(engine, key);
  if (header === undefined || header.expiresAtMs === 0) return void appendInteger(session.out, 0);
  const start = session.out.length;
  appendInteger(session.out, 1);
  session.deferWrite(engine.write([expiryWrite(key, header, 0)]), start);
}

const { Write, ReadOnly, Fast } = CommandFlag;

export const TTL_COMMANDS: readonly CommandSpec[] = [
  command('ttl', 2, ReadOnly | Fast, ONE_KEY, 'generic', 'Remaining time to live in seconds', ttlVariant(1000, false)),
  command('pttl', 2, ReadOnly | Fast, ONE_KEY, 'generic', 'Remaining time to live in milliseconds', ttlVariant(1, false)),
  command('expiretime', 2, ReadOnly | Fast, ONE_KEY, 'generic', 'Expiry as a Unix time in seconds', ttlVariant(1000, true)),
  command('pexpiretime', 2, ReadOnly | Fast, ONE_KEY, 'generic', 'Expiry as a Unix time in milliseconds', ttlVariant(1, true)),
  command('expire', -3, Write | Fast, ONE_KEY, 'generic', 'Set a time to live in seconds', expireVariant(1000, false, 'expire')),
  command('pexpire', -3, Write | Fast, ONE_KEY, 'generic', 'Set a time to live in milliseconds', expireVariant(1, false, 'pexpire')),
  command('expireat', -3, Write | Fast, ONE_KEY, 'generic', 'Set the expiry as a Unix time in seconds', expireVariant(1000, true, 'expireat')),
  command('pexpireat', -3, Write | Fast, ONE_KEY, 'generic', 'Set the expiry as a Unix time in milliseconds', expireVariant(1, true, 'pexpireat')),
  command('persist', 2, Write | Fast, ONE_KEY, 'generic', 'Remove the expiry of a key', persistCommand),
];

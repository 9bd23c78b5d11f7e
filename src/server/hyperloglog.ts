// HyperLogLog commands (Redis 7.0 replies and errors): PFADD PFCOUNT PFMERGE PFDEBUG
// PFSELFTEST on string rows holding Redis's own HLL format (hll-codec.ts). Every write
// rewrites the whole string value (replaceWrite, expiry kept), as SETBIT does: concurrent
// PFADDs of one key on two nodes are last-writer-wins on the value, so the registers one
// of them set are lost until the next add of those elements (README, multi-master).
// PFCOUNT stores the cardinality it computed in the header, as Redis does (a write).
import { Buffer } from 'node:buffer';
import type { ClientWrite } from '../core/io.js';
import { KeyType } from '../core/rows.js';
import type { VersionedRecord } from '../core/types.js';
import { appendArrayHeader, appendError, appendInteger, appendOk, appendSimple } from '../wire/resp.js';
import { ALL_KEYS, CommandFlag, NO_KEYS, ONE_KEY, argIs, argLower, checkKeyLength, command } from './common.js';
import type { CommandSpec } from './command-spec.js';
import {
  cachedCardinality,
  decodeHll,
  denseRegister,
  hllPosition,
  HllEncoding,
  markCardinalityStale,
  setDenseRegister,
  describeSparse,
  emptyHll,
  encodeDense,
  encodeHll,
  encodeSparse,
  hllAdd,
  hllCount,
  HLL_REGISTERS,
  isHllValue,
  setCachedCardinality,
  type Hll,
} from './hll-codec.js';
import type { Session } from './session.js';
import { liveHeader, replaceWrite, stringValue, typeOf, WRONGTYPE_ERROR } from './typed-keys.js';

const NOT_HLL_ERROR = 'WRONGTYPE Key is not a valid HyperLogLog string value.';
const INVALID_HLL_ERROR = 'INVALIDOBJ Corrupted HLL object detected';

/** A key's HLL value: absent (undefined), an error text, or the value with its header. */
type HllRead = { value: Uint8Array; header: VersionedRecord } | undefined | string;

function readHll(session: Session, key: Uint8Array): HllRead {
  const engine = session.engine;
  const header = liveHeader(engine, key);
  if (header === undefined) return undefined;
  if (typeOf(header) !== KeyType.String) return WRONGTYPE_ERROR;
  const value = stringValue(engine, key, header);
  if (!isHllValue(value)) return NOT_HLL_ERROR;
  return { value, header };
}

function sparseBytesMax(session: Session): number {
  return session.server.settings.integer('hll-sparse-max-bytes');
}

/** Write `value` as the key's HLL, keeping the expiry; the reply from `start` waits for it. */
function writeHll(session: Session, key: Uint8Array, value: Uint8Array, header: VersionedRecord | undefined, start: number): void {
  const writes: ClientWrite[] = [replaceWrite(key, value, header?.expiresAtMs ?? 0)];
  session.deferWrite(session.engine.write(writes), start);
}

/** PFADD key [element ...]: 1 when a register changed (or the key was created). */
function pfaddCommand(session: Session, args: Buffer[]): void {
  const out = session.out;
  const key = args[1]!;
  if (!checkKeyLength(session, key)) return;
  const read = readHll(session, key);
  if (typeof read === 'string') return void appendError(out, read);
  if (read !== undefined && read.value[4] === HllEncoding.Dense) return pfaddDense(session, key, read.value, read.header, args);
  const hll: Hll | undefined = read === undefined ? { registers: new Uint8Array(HLL_REGISTERS), dense: false } : decodeHll(read.value);
  if (hll === undefined) return void appendError(out, INVALID_HLL_ERROR);
  let updated = false;
  for (let index = 2; index < args.length; index++) if (hllAdd(hll.registers, args[index]!)) updated = true;
  const start = out.length;
  appendInteger(out, updated || read === undefined ? 1 : 0);
  if (!updated) {
    if (read === undefined) writeHll(session, key, emptyHll(), undefined, start);
    return;
  }
  writeHll(session, key, keepCache(encodeHll(hll, sparseBytesMax(session)), read?.value), read?.header, start);
}

/** As Redis, which edits an HLL in place: the re-encoded value keeps the old cached cardinality bytes, marked stale. */
function keepCache(value: Uint8Array, old: Uint8Array | undefined): Uint8Array {
  if (old !== undefined) value.set(old.subarray(8, 16), 8);
  markCardinalityStale(value);
  return value;
}

/** PFADD to a dense value: registers set in place on a copy (no decoding of the other 16383). */
function pfaddDense(session: Session, key: Uint8Array, value: Uint8Array, header: VersionedRecord, args: Buffer[]): void {
  const copy = Uint8Array.from(value);
  let updated = false;
  for (let index = 2; index < args.length; index++) {
    const position = hllPosition(args[index]!);
    if (denseRegister(copy, position.index) >= position.count) continue;
    setDenseRegister(copy, position.index, position.count);
    updated = true;
  }
  const start = session.out.length;
  appendInteger(session.out, updated ? 1 : 0);
  if (!updated) return;
  markCardinalityStale(copy);
  writeHll(session, key, copy, header, start);
}

/** PFCOUNT key [key ...]: one key uses and refreshes its cached cardinality; several are merged. */
function pfcountCommand(session: Session, args: Buffer[]): void {
  const out = session.out;
  if (args.length === 2) {
    const key = args[1]!;
    const read = readHll(session, key);
    if (typeof read === 'string') return void appendError(out, read);
    if (read === undefined) return void appendInteger(out, 0);
    const cached = cachedCardinality(read.value);
    if (cached !== undefined) return void appendInteger(out, cached);
    const hll = decodeHll(read.value);
    if (hll === undefined) return void appendError(out, INVALID_HLL_ERROR);
    const cardinality = hllCount(hll.registers);
    const start = out.length;
    appendInteger(out, cardinality);
    const value = Uint8Array.from(read.value);
    setCachedCardinality(value, cardinality);
    return writeHll(session, key, value, read.header, start);
  }
  const merged = new Uint8Array(HLL_REGISTERS);
  for (let index = 1; index < args.length; index++) {
    const error = mergeInto(session, args[index]!, merged);
    if (error !== undefined) return void appendError(out, error);
  }
  appendInteger(out, hllCount(merged));
}

/** Max the key's registers into `merged`; an error text, or undefined. Reports whether the key is dense through `dense`. */
function mergeInto(session: Session, key: Uint8Array, merged: Uint8Array, dense?: { any: boolean }): string | undefined {
  const read = readHll(session, key);
  if (typeof read === 'string') return read;
  if (read === undefined) return undefined;
  const hll = decodeHll(read.value);
  if (hll === undefined) return INVALID_HLL_ERROR;
  if (dense !== undefined && hll.dense) dense.any = true;
  const registers = hll.registers;
  for (let index = 0; index < HLL_REGISTERS; index++) if (registers[index]! > merged[index]!) merged[index] = registers[index]!;
  return undefined;
}

/** PFMERGE destkey [sourcekey ...]: destkey gets the register maxima of itself and the sources. */
function pfmergeCommand(session: Session, args: Buffer[]): void {
  const out = session.out;
  const destination = args[1]!;
  if (!checkKeyLength(session, destination)) return;
  const merged = new Uint8Array(HLL_REGISTERS);
  const dense = { any: false };
  for (let index = 1; index < args.length; index++) {
    const error = mergeInto(session, args[index]!, merged, dense);
    if (error !== undefined) return void appendError(out, error);
  }
  const header = liveHeader(session.engine, destination);
  const old = readHll(session, destination);
  const oldValue = typeof old === 'object' ? old.value : undefined;
  // Redis keeps a dense destination dense (it is edited in place).
  const denseTarget = dense.any || oldValue?.[4] === HllEncoding.Dense;
  const start = out.length;
  appendOk(out);
  writeHll(session, destination, keepCache(encodeHll({ registers: merged, dense: denseTarget }, sparseBytesMax(session)), oldValue), header, start);
}

/** PFDEBUG GETREG|DECODE|ENCODING|TODENSE key */
function pfdebugCommand(session: Session, args: Buffer[]): void {
  const out = session.out;
  const subcommand = args[1]!;
  const key = args[2]!;
  const read = readHll(session, key);
  if (read === undefined) return void appendError(out, 'ERR The specified key does not exist');
  if (typeof read === 'string') return void appendError(out, read);
  const sparse = read.value[4] === 1;
  if (argIs(subcommand, 'getreg') || argIs(subcommand, 'todense')) {
    const hll = decodeHll(read.value);
    if (hll === undefined) return void appendError(out, INVALID_HLL_ERROR);
    const start = out.length;
    if (argIs(subcommand, 'getreg')) {
      appendArrayHeader(out, HLL_REGISTERS);
      for (const register of hll.registers) appendInteger(out, register);
    } else {
      appendInteger(out, sparse ? 1 : 0);
    }
    if (!sparse) return;
    const dense = encodeDense(hll.registers);
    dense.set(read.value.subarray(8, 16), 8); // the cached cardinality stays as it was
    return writeHll(session, key, dense, read.header, start);
  }
  if (argIs(subcommand, 'decode')) {
    if (!sparse) return void appendError(out, 'ERR HLL encoding is not sparse');
    const text = describeSparse(read.value);
    if (text === undefined) return void appendError(out, INVALID_HLL_ERROR);
    return void appendSimple(out, text);
  }
  if (argIs(subcommand, 'encoding')) return void appendSimple(out, sparse ? 'sparse' : 'dense');
  appendError(out, `ERR Unknown PFDEBUG subcommand '${argLower(subcommand)}'`);
}

/** Deterministic bytes for the self test (xorshift32). */
function testElement(state: { seed: number }): Uint8Array {
  let seed = state.seed;
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  state.seed = seed >>> 0;
  return Buffer.from(`selftest-${state.seed}`);
}

/** The codec checks of PFSELFTEST: null when they pass, else what failed. */
export function hllSelfTest(): string | null {
  // Every register value in every dense slot reads back as written.
  const registers = new Uint8Array(HLL_REGISTERS);
  for (let round = 0; round < 64; round++) {
    for (let index = 0; index < HLL_REGISTERS; index++) registers[index] = (index + round) & 0x3f;
    const decoded = decodeHll(encodeDense(registers));
    if (decoded === undefined || decoded.registers.some((value, index) => value !== registers[index])) return 'TESTFAILED Register error';
  }
  // Sparse and dense give the same registers, and the estimate stays within bounds.
  const hll = new Uint8Array(HLL_REGISTERS);
  const state = { seed: 2463534242 };
  const relativeError = 1.04 / Math.sqrt(HLL_REGISTERS);
  for (let added = 1; added <= 100000; added++) {
    hllAdd(hll, testElement(state));
    if (added % 1000 !== 0 && added > 100) continue;
    const sparse = encodeSparse(hll);
    if (sparse !== undefined && decodeHll(sparse)!.registers.some((value, index) => value !== hll[index])) return 'TESTFAILED Sparse encoding error';
    const estimate = hllCount(hll);
    const allowed = Math.max(added * relativeError * 5, 2);
    if (Math.abs(estimate - added) > allowed) return `TESTFAILED Too big error. card:${added} abserr:${Math.abs(estimate - added)}`;
  }
  return null;
}

function pfselftestCommand(session: Session): void {
  const failure = hllSelfTest();
  if (failure === null) appendOk(session.out);
  else appendError(session.out, failure);
}

const { Write, ReadOnly, Fast, Admin } = CommandFlag;

export const HYPERLOGLOG_COMMANDS: readonly CommandSpec<Session>[] = [
  command('pfadd', -2, Write | Fast, ONE_KEY, 'hyperloglog', 'Add elements to a HyperLogLog', pfaddCommand),
  command('pfcount', -2, ReadOnly, ALL_KEYS, 'hyperloglog', 'Approximate cardinality of the union of HyperLogLogs', pfcountCommand),
  command('pfmerge', -2, Write, ALL_KEYS, 'hyperloglog', 'Merge HyperLogLogs into one', pfmergeCommand),
  command('pfdebug', -3, Write | Admin, [2, 2, 1], 'hyperloglog', 'Internal commands for debugging HyperLogLog values', pfdebugCommand),
  command('pfselftest', 1, Admin, NO_KEYS, 'hyperloglog', 'An internal command for testing HyperLogLog values', pfselftestCommand),
];

// Blocking list pops (Redis 7.0 replies and errors): BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP,
// waiting through the mechanism they share with the sorted-set pops (blocking.ts): a
// client whose lists are all empty waits until a write here or on a peer gives one of them
// elements. Inside EXEC each acts as its non-blocking form and never waits.
import type { Buffer } from 'node:buffer';
import { KeyType } from '../core/rows.js';
import { appendArrayHeader, appendBulk, appendError, appendNull, appendNullArray, type RespOutput } from '../wire/resp.js';
import { type Attempt, blockOrServe, parseTimeout } from './blocking.js';
import { CommandFlag, SYNTAX_ERROR, command } from './common.js';
import { appendKeyAndItems, moveElement, parseMultiPop, parseSide, popFirstNonEmpty } from './list-edits.js';
import type { Session } from './session.js';
import type { CommandSpec } from './table.js';
import { WRONG_TYPE } from './typed-keys.js';

/** BLPOP BRPOP key [key ...] timeout: [key, element]. */
function blockingPopVariant(left: boolean) {
  return (session: Session, args: Buffer[]): void => {
    const timeout = parseTimeout(args[args.length - 1]!);
    if (typeof timeout === 'string') return void appendError(session.out, timeout);
    blockOrServe(session, {
      keys: args.slice(1, -1),
      type: KeyType.List,
      timeoutMs: timeout,
      attempt: (engine, keys, out) => {
        const popped = popFirstNonEmpty(engine, keys, left, 1);
        if (popped === undefined || popped === WRONG_TYPE) return popped;
        appendArrayHeader(out, 2);
        appendBulk(out, popped.key);
        appendBulk(out, popped.items[0]!.value);
        return popped.writes;
      },
      empty: (out) => appendNullArray(out, session.protocol),
    });
  };
}

function moveAttempt(destination: Uint8Array, fromLeft: boolean, toLeft: boolean): Attempt {
  return (engine, keys, out) => {
    const moved = moveElement(engine, keys[0]!, destination, fromLeft, toLeft);
    if (moved === undefined || moved === WRONG_TYPE) return moved;
    appendBulk(out, moved.value);
    return moved.writes;
  };
}

/** BLMOVE and BRPOPLPUSH: LMOVE once `source` has an element; inside EXEC a null reply. */
function blockingMove(session: Session, source: Uint8Array, destination: Uint8Array, fromLeft: boolean, toLeft: boolean, timeoutArg: Uint8Array): void {
  const timeout = parseTimeout(timeoutArg);
  if (typeof timeout === 'string') return void appendError(session.out, timeout);
  blockOrServe(session, {
    keys: [source],
    type: KeyType.List,
    timeoutMs: timeout,
    attempt: moveAttempt(destination, fromLeft, toLeft),
    empty: (out: RespOutput) => appendNull(out, session.protocol),
  });
}

/** BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout. */
function blmoveCommand(session: Session, args: Buffer[]): void {
  const fromLeft = parseSide(args[3]!);
  const toLeft = parseSide(args[4]!);
  if (fromLeft === undefined || toLeft === undefined) return void appendError(session.out, SYNTAX_ERROR);
  blockingMove(session, args[1]!, args[2]!, fromLeft, toLeft, args[5]!);
}

/** BRPOPLPUSH source destination timeout. */
function brpoplpushCommand(session: Session, args: Buffer[]): void {
  blockingMove(session, args[1]!, args[2]!, false, true, args[3]!);
}

/** BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]. */
function blmpopCommand(session: Session, args: Buffer[]): void {
  const parsed = parseMultiPop(args, 2);
  if (typeof parsed === 'string') return void appendError(session.out, parsed);
  const timeout = parseTimeout(args[1]!); // after the other arguments, as Redis parses them
  if (typeof timeout === 'string') return void appendError(session.out, timeout);
  blockOrServe(session, {
    keys: parsed.keys,
    type: KeyType.List,
    timeoutMs: timeout,
    attempt: (engine, keys, out) => {
      const popped = popFirstNonEmpty(engine, keys, parsed.left, parsed.count);
      if (popped === undefined || popped === WRONG_TYPE) return popped;
      appendKeyAndItems(out, popped.key, popped.items);
      return popped.writes;
    },
    empty: (out) => appendNullArray(out, session.protocol),
  });
}

const { Write } = CommandFlag;

export const LIST_BLOCKING_COMMANDS: readonly CommandSpec[] = [
  command('blpop', -3, Write, [1, -2, 1], 'list', 'Pop the first element of the first non-empty list, waiting for one', blockingPopVariant(true)),
  command('brpop', -3, Write, [1, -2, 1], 'list', 'Pop the last element of the first non-empty list, waiting for one', blockingPopVariant(false)),
  command('blmove', 6, Write, [1, 2, 1], 'list', 'LMOVE, waiting for an element', blmoveCommand),
  command('brpoplpush', 4, Write, [1, 2, 1], 'list', 'RPOPLPUSH, waiting for an element', brpoplpushCommand),
  command('blmpop', -5, Write, [0, 0, 0], 'list', 'LMPOP, waiting for an element', blmpopCommand),
];
